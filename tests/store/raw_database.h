// RawDatabase: a data directory opened with RocksDB's own API, behind the store, with the
// store's two column families (store/store.h, "RocksDB layout"): for tests that read or write
// the on-disk layout directly, e.g. to check it or to lay out what an older release wrote.
#ifndef ROLLCALL_TESTS_STORE_RAW_DATABASE_H_
#define ROLLCALL_TESTS_STORE_RAW_DATABASE_H_

#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "rocksdb/options.h"

namespace rollcall::store::test_records {

class RawDatabase {
 public:
  enum class Mode { kReadOnly, kReadWrite, kCreate };

  // Null, with a test failure, when the directory does not open.
  static std::unique_ptr<RawDatabase> Open(const std::string& path, Mode mode) {
    rocksdb::DBOptions options;
    options.create_if_missing = mode == Mode::kCreate;
    options.create_missing_column_families = mode == Mode::kCreate;
    const std::vector<rocksdb::ColumnFamilyDescriptor> families = {
        {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions()},
        {"log", rocksdb::ColumnFamilyOptions()}};
    auto raw = std::unique_ptr<RawDatabase>(new RawDatabase());
    const rocksdb::Status opened =
        mode == Mode::kReadOnly
            ? rocksdb::DB::OpenForReadOnly(options, path, families, &raw->handles_, &raw->db_)
            : rocksdb::DB::Open(options, path, families, &raw->handles_, &raw->db_);
    EXPECT_TRUE(opened.ok()) << path << ": " << opened.ToString();
    if (!opened.ok()) return nullptr;
    return raw;
  }

  ~RawDatabase() {
    for (rocksdb::ColumnFamilyHandle* handle : handles_) {
      EXPECT_TRUE(db_->DestroyColumnFamilyHandle(handle).ok());
    }
    delete db_;
  }
  RawDatabase(const RawDatabase&) = delete;
  RawDatabase& operator=(const RawDatabase&) = delete;

  rocksdb::DB& db() { return *db_; }
  rocksdb::ColumnFamilyHandle* records() const { return handles_[0]; }
  rocksdb::ColumnFamilyHandle* log() const { return handles_[1]; }

 private:
  RawDatabase() = default;

  rocksdb::DB* db_ = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
};

}  // namespace rollcall::store::test_records

#endif  // ROLLCALL_TESTS_STORE_RAW_DATABASE_H_
