// FaultFileSystem: a RocksDB FileSystem over the real one whose file writes can be made to fail
// on demand, the way a full disk or a failing device fails them. RocksDB's own
// fault_injection_fs.h is not installed by the Debian package, so this is the small part of it
// the store's tests need. Switch it with FailWrites / FailSyncs; Heal() restores the disk.
// While writes fail the disk also reports no free space, as a full one does: RocksDB's own
// recovery polls free space (every 5 s) and resumes the database once there is room.
#ifndef ROLLCALL_TESTS_STORE_FAULT_FILE_SYSTEM_H_
#define ROLLCALL_TESTS_STORE_FAULT_FILE_SYSTEM_H_

#include <memory>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "rocksdb/env.h"
#include "rocksdb/file_system.h"
#include "rocksdb/io_status.h"

namespace rollcall::store::fault_injection {

// Shared by the file system and every file it opened (RocksDB writes from background threads).
class Faults {
 public:
  // Every append (and sync) fails with `status` before touching the file: a full disk.
  void FailWrites(rocksdb::IOStatus status) {
    absl::MutexLock lock(&mu_);
    writes_ = std::move(status);
  }
  // Appends land in the page cache but every fsync fails with `status`: a failing device.
  void FailSyncs(rocksdb::IOStatus status) {
    absl::MutexLock lock(&mu_);
    syncs_ = std::move(status);
  }
  void Heal() {
    absl::MutexLock lock(&mu_);
    writes_ = rocksdb::IOStatus::OK();
    syncs_ = rocksdb::IOStatus::OK();
    free_space_queries_since_heal_ = 0;
  }
  // Blocks until RocksDB has asked for the free space at least once since Heal(), i.e. until its
  // recovery has seen the room. False if `timeout` passes first.
  bool AwaitFreeSpaceQuerySinceHeal(absl::Duration timeout) const {
    absl::MutexLock lock(&mu_);
    return mu_.AwaitWithTimeout(
        absl::Condition(
            +[](const int* queries) { return *queries > 0; }, &free_space_queries_since_heal_),
        timeout);
  }
  // Called by the file system: true while the disk is "full".
  bool OnFreeSpaceQuery() {
    absl::MutexLock lock(&mu_);
    ++free_space_queries_since_heal_;
    return !writes_.ok();
  }
  rocksdb::IOStatus OnWrite() const {
    absl::MutexLock lock(&mu_);
    return writes_;
  }
  rocksdb::IOStatus OnSync() const {
    absl::MutexLock lock(&mu_);
    return writes_.ok() ? syncs_ : writes_;
  }

 private:
  mutable absl::Mutex mu_;
  rocksdb::IOStatus writes_ ABSL_GUARDED_BY(mu_);
  rocksdb::IOStatus syncs_ ABSL_GUARDED_BY(mu_);
  int free_space_queries_since_heal_ ABSL_GUARDED_BY(mu_) = 0;
};

class FaultWritableFile final : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  FaultWritableFile(std::unique_ptr<rocksdb::FSWritableFile> file, std::shared_ptr<Faults> faults)
      : FSWritableFileOwnerWrapper(std::move(file)), faults_(std::move(faults)) {}

  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* dbg) override {
    if (rocksdb::IOStatus s = faults_->OnWrite(); !s.ok()) return s;
    return FSWritableFileOwnerWrapper::Append(data, options, dbg);
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           const rocksdb::DataVerificationInfo& info,
                           rocksdb::IODebugContext* dbg) override {
    if (rocksdb::IOStatus s = faults_->OnWrite(); !s.ok()) return s;
    return FSWritableFileOwnerWrapper::Append(data, options, info, dbg);
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, uint64_t offset,
                                     const rocksdb::IOOptions& options,
                                     rocksdb::IODebugContext* dbg) override {
    if (rocksdb::IOStatus s = faults_->OnWrite(); !s.ok()) return s;
    return FSWritableFileOwnerWrapper::PositionedAppend(data, offset, options, dbg);
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, uint64_t offset,
                                     const rocksdb::IOOptions& options,
                                     const rocksdb::DataVerificationInfo& info,
                                     rocksdb::IODebugContext* dbg) override {
    if (rocksdb::IOStatus s = faults_->OnWrite(); !s.ok()) return s;
    return FSWritableFileOwnerWrapper::PositionedAppend(data, offset, options, info, dbg);
  }
  rocksdb::IOStatus Sync(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    if (rocksdb::IOStatus s = faults_->OnSync(); !s.ok()) return s;
    return FSWritableFileOwnerWrapper::Sync(options, dbg);
  }
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& options,
                          rocksdb::IODebugContext* dbg) override {
    if (rocksdb::IOStatus s = faults_->OnSync(); !s.ok()) return s;
    return FSWritableFileOwnerWrapper::Fsync(options, dbg);
  }
  rocksdb::IOStatus RangeSync(uint64_t offset, uint64_t nbytes, const rocksdb::IOOptions& options,
                              rocksdb::IODebugContext* dbg) override {
    if (rocksdb::IOStatus s = faults_->OnSync(); !s.ok()) return s;
    return FSWritableFileOwnerWrapper::RangeSync(offset, nbytes, options, dbg);
  }

 private:
  std::shared_ptr<Faults> faults_;
};

class FaultFileSystem final : public rocksdb::FileSystemWrapper {
 public:
  explicit FaultFileSystem(std::shared_ptr<Faults> faults)
      : FileSystemWrapper(rocksdb::FileSystem::Default()), faults_(std::move(faults)) {}

  static const char* kClassName() { return "RollcallFaultFileSystem"; }
  const char* Name() const override { return kClassName(); }

  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* dbg) override {
    return Wrap(target()->NewWritableFile(name, options, result, dbg), result);
  }
  rocksdb::IOStatus ReopenWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                       std::unique_ptr<rocksdb::FSWritableFile>* result,
                                       rocksdb::IODebugContext* dbg) override {
    return Wrap(target()->ReopenWritableFile(name, options, result, dbg), result);
  }
  rocksdb::IOStatus ReuseWritableFile(const std::string& name, const std::string& old_name,
                                      const rocksdb::FileOptions& options,
                                      std::unique_ptr<rocksdb::FSWritableFile>* result,
                                      rocksdb::IODebugContext* dbg) override {
    return Wrap(target()->ReuseWritableFile(name, old_name, options, result, dbg), result);
  }
  rocksdb::IOStatus GetFreeSpace(const std::string& path, const rocksdb::IOOptions& options,
                                 uint64_t* free, rocksdb::IODebugContext* dbg) override {
    if (faults_->OnFreeSpaceQuery()) {
      *free = 0;
      return rocksdb::IOStatus::OK();
    }
    return target()->GetFreeSpace(path, options, free, dbg);
  }

 private:
  rocksdb::IOStatus Wrap(rocksdb::IOStatus status,
                         std::unique_ptr<rocksdb::FSWritableFile>* result) {
    if (status.ok()) *result = std::make_unique<FaultWritableFile>(std::move(*result), faults_);
    return status;
  }

  std::shared_ptr<Faults> faults_;
};

// An Env whose files go through a FaultFileSystem driven by the returned Faults.
inline std::pair<std::unique_ptr<rocksdb::Env>, std::shared_ptr<Faults>> NewFaultEnv() {
  auto faults = std::make_shared<Faults>();
  std::unique_ptr<rocksdb::Env> env =
      rocksdb::NewCompositeEnv(std::make_shared<FaultFileSystem>(faults));
  return {std::move(env), std::move(faults)};
}

}  // namespace rollcall::store::fault_injection

#endif  // ROLLCALL_TESTS_STORE_FAULT_FILE_SYSTEM_H_
