// ScratchDir: a fresh directory under the test temp dir, removed with its contents at the end.
#ifndef ROLLCALL_TESTS_STORE_SCRATCH_DIR_H_
#define ROLLCALL_TESTS_STORE_SCRATCH_DIR_H_

#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"

namespace rollcall::store::test_records {

class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = absl::StrCat(::testing::TempDir(), "/rollcall_store_XXXXXX");
    if (mkdtemp(pattern.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed for " << pattern;
    path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::string& path() const { return path_; }
  std::string Sub(absl::string_view name) const { return absl::StrCat(path_, "/", name); }

 private:
  std::string path_;
};

}  // namespace rollcall::store::test_records

#endif  // ROLLCALL_TESTS_STORE_SCRATCH_DIR_H_
