// CredentialsFile: start-up refuses a missing or broken file; a changed file is swapped in;
// a broken or vanished file on reload keeps the old set; a Kubernetes-style symlink swap is
// seen. Reloads are driven by ReloadIfChanged, not by the polling thread's timer.
#include "service/credentials_file.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/service/credentials_for_tests.h"

namespace rollcall::service {
namespace {

using test::kAccount;
using test::Message;
using ::testing::HasSubstr;

constexpr char kOldKey[] = "SK11111111111111111111111111111111";
constexpr char kNewKey[] = "SK22222222222222222222222222222222";
constexpr char kSecret[] = "0123456789abcdef0123456789abcdef";

std::string FileWithKey(const std::string& key) {
  return absl::StrCat(R"({"accounts": [{"sid": ")", kAccount, R"(", "api_keys": [{"sid": ")", key,
                      R"(", "secret": ")", kSecret, R"(", "role": "read"}]}]})");
}

class CredentialsFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "rollcall-credentials-XXXXXX";
    dir_ = mkdtemp(pattern.data());
    path_ = dir_ + "/credentials.json";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Written whole by rename, as an operator's editor or a Secret update would.
  void Write(const std::string& text) {
    const std::string temp = path_ + ".tmp";
    std::ofstream(temp) << text;
    std::filesystem::rename(temp, path_);
  }

  static bool Accepts(const CredentialsFile& file, const char* key) {
    return file.current()->Authenticate(key, kSecret).has_value();
  }

  std::string dir_;
  std::string path_;
};

TEST_F(CredentialsFileTest, MissingOrBrokenFileStopsStartUp) {
  absl::StatusOr<std::unique_ptr<CredentialsFile>> missing =
      CredentialsFile::Open(path_, absl::ZeroDuration());
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(Message(missing.status()), HasSubstr("--credentials_file: cannot read"));

  Write(R"({"accounts": [{"sid": "nope"}]})");
  absl::StatusOr<std::unique_ptr<CredentialsFile>> broken =
      CredentialsFile::Open(path_, absl::ZeroDuration());
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(broken.status()), HasSubstr("accounts[0].sid: must be a SID"));
}

TEST_F(CredentialsFileTest, ChangedFileIsSwappedIn) {
  Write(FileWithKey(kOldKey));
  auto file = CredentialsFile::Open(path_, absl::ZeroDuration());
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_TRUE(Accepts(**file, kOldKey));
  EXPECT_TRUE((*file)->ReloadIfChanged().ok());  // unchanged: nothing happens
  EXPECT_TRUE(Accepts(**file, kOldKey));

  const std::shared_ptr<const Credentials> held = (*file)->current();
  Write(FileWithKey(kNewKey));
  EXPECT_TRUE((*file)->ReloadIfChanged().ok());
  EXPECT_FALSE(Accepts(**file, kOldKey));
  EXPECT_TRUE(Accepts(**file, kNewKey));
  // A snapshot taken before the swap stays valid and unchanged.
  EXPECT_TRUE(held->Authenticate(kOldKey, kSecret).has_value());
}

TEST_F(CredentialsFileTest, BrokenOrMissingFileOnReloadKeepsTheOldSet) {
  Write(FileWithKey(kOldKey));
  auto file = CredentialsFile::Open(path_, absl::ZeroDuration());
  ASSERT_TRUE(file.ok()) << file.status();

  Write(R"({"accounts": [{"sid": ")" + std::string(kAccount) + R"(", "auth_token": "x"}]})");
  const absl::Status broken = (*file)->ReloadIfChanged();
  EXPECT_EQ(broken.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(broken), HasSubstr("accounts[0].auth_token: must be 32 hexadecimal"));
  EXPECT_TRUE(Accepts(**file, kOldKey));
  // The same broken version is not tried again.
  EXPECT_TRUE((*file)->ReloadIfChanged().ok());

  std::filesystem::remove(path_);
  EXPECT_EQ((*file)->ReloadIfChanged().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Accepts(**file, kOldKey));

  Write(FileWithKey(kNewKey));  // fixed: taken at the next look
  EXPECT_TRUE((*file)->ReloadIfChanged().ok());
  EXPECT_TRUE(Accepts(**file, kNewKey));
  EXPECT_FALSE(Accepts(**file, kOldKey));
}

TEST_F(CredentialsFileTest, ReloadListenerRunsAfterEachSuccessfulSwapOnly) {
  Write(FileWithKey(kOldKey));
  auto file = CredentialsFile::Open(path_, absl::ZeroDuration());
  ASSERT_TRUE(file.ok()) << file.status();
  int calls = 0;
  bool saw_new_set = false;
  (*file)->SetReloadListener([&] {
    ++calls;
    saw_new_set = Accepts(**file, kNewKey);  // the new set is in force when it runs
  });
  EXPECT_TRUE((*file)->ReloadIfChanged().ok());  // unchanged
  EXPECT_EQ(calls, 0);

  Write(FileWithKey(kNewKey));
  EXPECT_TRUE((*file)->ReloadIfChanged().ok());
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(saw_new_set);

  Write(R"({"accounts": [{"sid": "nope"}]})");  // broken: the old set stays, nobody is told
  EXPECT_FALSE((*file)->ReloadIfChanged().ok());
  EXPECT_EQ(calls, 1);

  (*file)->SetReloadListener(nullptr);
  Write(FileWithKey(kOldKey));
  EXPECT_TRUE((*file)->ReloadIfChanged().ok());
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(Accepts(**file, kOldKey));
}

// A mounted Secret: the file is a symlink through ..data, and an update swaps ..data to a new
// directory. stat() follows the links, so the new inode is seen.
TEST_F(CredentialsFileTest, SecretVolumeSymlinkSwapIsSeen) {
  namespace fs = std::filesystem;
  fs::create_directory(dir_ + "/..2026_01");
  std::ofstream(dir_ + "/..2026_01/credentials.json") << FileWithKey(kOldKey);
  fs::create_directory_symlink("..2026_01", dir_ + "/..data");
  fs::create_symlink("..data/credentials.json", path_);
  auto file = CredentialsFile::Open(path_, absl::ZeroDuration());
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_TRUE(Accepts(**file, kOldKey));

  fs::create_directory(dir_ + "/..2026_02");
  std::ofstream(dir_ + "/..2026_02/credentials.json") << FileWithKey(kNewKey);
  fs::create_directory_symlink("..2026_02", dir_ + "/..data_tmp");
  fs::rename(dir_ + "/..data_tmp", dir_ + "/..data");
  EXPECT_TRUE((*file)->ReloadIfChanged().ok());
  EXPECT_TRUE(Accepts(**file, kNewKey));
  EXPECT_FALSE(Accepts(**file, kOldKey));
}

// The polling thread reloads on its own (waited for with a deadline, not a fixed sleep).
TEST_F(CredentialsFileTest, PollingThreadReloads) {
  Write(FileWithKey(kOldKey));
  auto file = CredentialsFile::Open(path_, absl::Milliseconds(10));
  ASSERT_TRUE(file.ok()) << file.status();
  Write(FileWithKey(kNewKey));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!Accepts(**file, kNewKey) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_TRUE(Accepts(**file, kNewKey));
  EXPECT_FALSE(Accepts(**file, kOldKey));
}

}  // namespace
}  // namespace rollcall::service
