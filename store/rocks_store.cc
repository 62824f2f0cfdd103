// RocksStore: the Store contract on an embedded RocksDB, with the layout documented in store.h.
// Every Write is one rocksdb::WriteBatch across both column families, so the WAL makes it
// atomic; the head revision and log bounds live in the same batch as the records they describe.
// Write errors, recovery without a restart, damage checks at open and backups: see store.h.
#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "rocksdb/cache.h"
#include "rocksdb/convenience.h"
#include "rocksdb/db.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/listener.h"
#include "rocksdb/options.h"
#include "rocksdb/table.h"
#include "rocksdb/utilities/checkpoint.h"
#include "rocksdb/write_batch.h"
#include "spdlog/spdlog.h"
#include "state/limits.h"
#include "state/status_macros.h"
#include "store/codec.h"
#include "store/contract.h"
#include "store/keys.h"
#include "store/marker.h"
#include "store/store.h"

namespace rollcall::store {
namespace {

constexpr size_t kWriteBufferBytes = 32 << 20;
constexpr size_t kLoadReadaheadBytes = 8 << 20;
// Bounds the WAL (and so the replay after a crash) when one column family is quiet.
constexpr uint64_t kMaxTotalWalBytes = 128 << 20;
// A batch buffer grown past this by an unusually large batch is released after the write.
constexpr size_t kMaxRetainedBatchBytes = 16 << 20;

// RocksDB's errors become absl ones here and nowhere else. Corruption is DATA_LOSS; every other
// failure (I/O, a full disk, a held lock, a database stopped by an earlier error) is UNAVAILABLE.
absl::Status FromRocks(const rocksdb::Status& status, absl::string_view what) {
  if (status.ok()) return absl::OkStatus();
  std::string message = absl::StrCat(what, ": ", status.ToString());
  if (status.IsCorruption()) return absl::DataLossError(message);
  return absl::UnavailableError(message);
}

rocksdb::Slice ToSlice(absl::string_view view) { return {view.data(), view.size()}; }
absl::string_view ToView(const rocksdb::Slice& slice) { return {slice.data(), slice.size()}; }

rocksdb::CompressionType FastestCompression() {
  const std::vector<rocksdb::CompressionType> supported = rocksdb::GetSupportedCompressions();
  const bool lz4 =
      std::find(supported.begin(), supported.end(), rocksdb::kLZ4Compression) != supported.end();
  return lz4 ? rocksdb::kLZ4Compression : rocksdb::kNoCompression;
}

// Column family options. Records are point-written and scanned whole at start-up: bloom filters
// spare the (rare) reads of absent keys. The log is only ever sought and scanned: no filter.
rocksdb::ColumnFamilyOptions FamilyOptions(const std::shared_ptr<rocksdb::Cache>& cache,
                                           bool bloom) {
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  table.block_size = 16 << 10;
  table.cache_index_and_filter_blocks = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  table.format_version = 5;
  // Debian's RocksDB computes CRC32C in software (its Slow_CRC32 showed in the ingest profile);
  // XXH3 is several times cheaper for table blocks. The WAL keeps its CRC32C (its format).
  table.checksum = rocksdb::kXXH3;
  if (bloom) table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));

  rocksdb::ColumnFamilyOptions family;
  family.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  family.write_buffer_size = kWriteBufferBytes;
  family.max_write_buffer_number = 3;
  family.level_compaction_dynamic_level_bytes = true;
  // Flushes compress too, although LZ4 costs the background job some CPU: the recovery flush
  // after a full disk must fit in the room that was freed (uncompressed tables failed the 64 MiB
  // tmpfs FullDiskTest, whose reopen then never found room).
  family.compression = FastestCompression();
  return family;
}

// RocksDB's diagnostics go to rollcalld's log instead of a LOG file in the data directory. That
// file would sit on the same disk as the data: when the disk fills, an append to it fails, and
// RocksDB 7.8 (built with assertions, as Debian's is) aborts the process on the next log line
// (WritableFileWriter's `sync_without_flush_called_` assertion). Warnings are also kept, so an
// open that finds damage can say which file RocksDB complained about.
class RocksLogger final : public rocksdb::Logger {
 public:
  RocksLogger() : Logger(rocksdb::InfoLogLevel::WARN_LEVEL) {}

  void Logv(const char* format, va_list ap) override {
    Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, ap);
  }
  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override {
    if (level < GetInfoLogLevel()) return;
    char buffer[1024];
    std::vsnprintf(buffer, sizeof(buffer), format, ap);
    spdlog::level::level_enum to = spdlog::level::info;
    if (level == rocksdb::InfoLogLevel::DEBUG_LEVEL) to = spdlog::level::debug;
    if (level == rocksdb::InfoLogLevel::WARN_LEVEL) to = spdlog::level::warn;
    if (level == rocksdb::InfoLogLevel::ERROR_LEVEL) to = spdlog::level::err;
    if (level == rocksdb::InfoLogLevel::FATAL_LEVEL) to = spdlog::level::critical;
    spdlog::log(to, "rocksdb: {}", buffer);
    if (level >= rocksdb::InfoLogLevel::WARN_LEVEL) {
      absl::MutexLock lock(&mu_);
      warnings_.emplace_back(buffer);
      if (warnings_.size() > kKeptWarnings) warnings_.pop_front();
    }
  }

  // The warnings logged since the last call, oldest first, joined by "; ".
  std::string TakeWarnings() {
    absl::MutexLock lock(&mu_);
    std::string joined = absl::StrJoin(warnings_, "; ");
    warnings_.clear();
    return joined;
  }

 private:
  static constexpr size_t kKeptWarnings = 4;
  absl::Mutex mu_;
  std::deque<std::string> warnings_ ABSL_GUARDED_BY(mu_);
};

// RocksDB's automatic recovery from a full disk waits until a whole write buffer (32 MiB here)
// is free before it tries, which a small volume may never have again; its retries of other
// errors are not wanted either. The store's own recovery thread calls DB::Resume instead.
class ManualRecovery final : public rocksdb::EventListener {
 public:
  void OnErrorRecoveryBegin(rocksdb::BackgroundErrorReason /*reason*/, rocksdb::Status bg_error,
                            bool* auto_recovery) override {
    bg_error.PermitUncheckedError();
    *auto_recovery = false;
  }
};

// One open RocksDB and its column family handles {default, log}.
struct Database {
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  bool read_only = false;

  Database() = default;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  ~Database() {
    if (db == nullptr) return;
    for (rocksdb::ColumnFamilyHandle* handle : handles) {
      db->DestroyColumnFamilyHandle(handle).PermitUncheckedError();
    }
    db->Close().PermitUncheckedError();
  }
  rocksdb::ColumnFamilyHandle* records() const { return handles[0]; }
  rocksdb::ColumnFamilyHandle* log() const { return handles[1]; }
};

// What every open of one store shares.
struct OpenContext {
  RocksOptions options;
  std::shared_ptr<RocksLogger> logger = std::make_shared<RocksLogger>();
  std::shared_ptr<rocksdb::Cache> cache;
};

// `no_room`, when given, tells whether the open failed for want of disk space.
absl::StatusOr<std::unique_ptr<Database>> OpenDatabase(const OpenContext& context,
                                                       const std::string& path, bool read_only,
                                                       bool* no_room = nullptr) {
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = !read_only;
  db_options.create_missing_column_families = !read_only;
  db_options.max_background_jobs = 2;
  db_options.max_total_wal_size = kMaxTotalWalBytes;
  db_options.bytes_per_sync = 1 << 20;  // smooths flush and compaction writeback
  db_options.info_log = context.logger;
  // A damaged or torn record ends recovery there (what a crash leaves is a torn tail); whether
  // that lost something acknowledged is the marker's question (store.h, "Damage").
  db_options.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  db_options.paranoid_checks = true;
  db_options.listeners.push_back(std::make_shared<ManualRecovery>());
  db_options.max_bgerror_resume_count = 0;
  if (context.options.env != nullptr) db_options.env = context.options.env;

  const std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, FamilyOptions(context.cache, /*bloom=*/true)},
      {std::string(keys::kLogColumnFamily), FamilyOptions(context.cache, /*bloom=*/false)},
  };
  auto database = std::make_unique<Database>();
  database->read_only = read_only;
  rocksdb::DB* raw = nullptr;
  const rocksdb::Status opened =
      read_only ? rocksdb::DB::OpenForReadOnly(db_options, path, families, &database->handles, &raw)
                : rocksdb::DB::Open(db_options, path, families, &database->handles, &raw);
  if (no_room != nullptr) *no_room = opened.IsNoSpace();
  if (!opened.ok()) {
    std::string message =
        absl::StrCat(read_only ? "opening store read-only " : "opening store ", path);
    if (opened.IsCorruption()) {
      const std::string warnings = context.logger->TakeWarnings();
      if (!warnings.empty()) absl::StrAppend(&message, " (RocksDB: ", warnings, ")");
      absl::StrAppend(&message,
                      "; the store is damaged: restore the data directory from a backup "
                      "(docs/operations.md)");
    }
    return FromRocks(opened, message);
  }
  database->db.reset(raw);
  return database;
}

// The stored head revision (0 when none).
absl::StatusOr<uint64_t> StoredRevision(const Database& database) {
  std::string value;
  const rocksdb::Status status = database.db->Get(rocksdb::ReadOptions(), database.records(),
                                                  ToSlice(keys::kRevision), &value);
  if (status.IsNotFound()) return 0;
  RETURN_IF_ERROR(FromRocks(status, "reading the stored revision"));
  uint64_t revision = 0;
  if (!keys::ParseUint64(value, &revision)) {
    return absl::DataLossError(absl::StrCat("stored ", keys::kRevision, " is malformed"));
  }
  return revision;
}

// Stores written before "m:format" existed (store.h, "Format").
constexpr uint64_t kFirstFormat = 1;

// The stored layout version: kFirstFormat when the key is absent.
absl::StatusOr<uint64_t> StoredFormat(const Database& database) {
  std::string value;
  const rocksdb::Status status =
      database.db->Get(rocksdb::ReadOptions(), database.records(), ToSlice(keys::kFormat), &value);
  if (status.IsNotFound()) return kFirstFormat;
  RETURN_IF_ERROR(FromRocks(status, "reading the store's format"));
  uint64_t format = 0;
  if (!keys::ParseUint64(value, &format) || format < kFirstFormat) {
    return absl::DataLossError(absl::StrCat("stored ", keys::kFormat, " is malformed"));
  }
  return format;
}

// A format this code cannot read is refused before anything is written.
absl::Status CheckFormat(const std::string& path, uint64_t format) {
  if (format <= kStoreFormat) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat("the store in ", path, " has format ", format,
                                                    ", but this rollcalld reads formats up to ",
                                                    kStoreFormat, ": run a newer rollcalld on it"));
}

class RocksStore final : public Store {
 public:
  RocksStore(OpenContext context, std::unique_ptr<Database> database, std::optional<Marker> marker,
             absl::Status writable)
      : context_(std::move(context)),
        db_(std::move(database)),
        marker_(std::move(marker)),
        failure_(writable),
        writable_(std::move(writable)) {
    write_options_.sync = context_.options.sync;
  }

  ~RocksStore() override {
    {
      absl::MutexLock lock(&health_mu_);
      stopping_ = true;
    }
    if (recovery_.joinable()) recovery_.join();
  }

  RocksStore(const RocksStore&) = delete;
  RocksStore& operator=(const RocksStore&) = delete;

  // Reads the metadata into memory and checks it against the change log, then starts the
  // recovery thread; called once, before the store is shared. With `accept_data_loss` a
  // disagreement is logged and the bounds taken from the log as found.
  absl::Status Init(bool accept_data_loss);
  // Brings an older format up to kStoreFormat (store.h, "Format"); a no-op when current. On a
  // store that cannot write (read-only, or the migration's write failed), hides the old change
  // log until the recovery that makes it writable migrates it (FinishUpgrade).
  absl::Status Upgrade();
  // The format read by Init (kStoreFormat once upgraded).
  uint64_t format() const;

  absl::Status Write(const WriteBatch& batch) override;
  absl::StatusOr<LoadStats> Load(state::Roster& roster) override;
  absl::StatusOr<std::vector<LogEntry>> ReadLog(uint64_t from, size_t max_entries) const override;
  uint64_t LogStart() const override;
  absl::StatusOr<std::unique_ptr<RecordSnapshot>> Snapshot() const override;
  uint64_t revision() const override;
  absl::Status Flush() override;
  absl::Status Writable() const override;
  void SetWritableListener(std::function<void(const absl::Status&)> listener) override;
  absl::StatusOr<uint64_t> Backup(const std::string& directory) override;
  absl::StatusOr<CallbackBacklog> LoadCallbacks() const override;
  absl::StatusOr<std::vector<state::Callback>> ReadCallbacks(const state::Sid& room_sid,
                                                             uint64_t from_sequence,
                                                             size_t max) const override;
  absl::Status FinishCallback(const state::Sid& room_sid, uint64_t sequence,
                              const state::FailedCallback* failed) override;
  absl::StatusOr<std::vector<state::FailedCallback>> ListFailedCallbacks(
      const state::Sid& account_sid, const FailedCallbackCursor* after, size_t max) const override;

 private:
  // Records a write failure (or recovery, with OK): Write fails fast with it, Writable() and
  // the listener see it, the recovery thread wakes.
  void SetWritable(absl::Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  void RunRecovery();
  // One recovery attempt: DB::Resume in place, else a reopen.
  void TryRecover() ABSL_LOCKS_EXCLUDED(write_mu_);
  // Closes the database and opens it for writing; on failure opens it read-only again so reads
  // go on. Writable only when the reopened store holds exactly what was acknowledged.
  absl::Status Reopen() ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // The change log's bounds after a batch: appends move the newest entry, compaction the
  // oldest (0: the log is empty).
  struct LogBounds {
    uint64_t start = 0;
    uint64_t newest = 0;
    bool compacts = false;  // the batch's compact_log_before deletes entries
  };
  absl::StatusOr<LogBounds> LogBoundsAfter(const WriteBatch& batch, uint64_t log_start) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // Fills scratch_ with everything the batch writes.
  absl::Status FillBatch(const WriteBatch& batch, uint64_t revision, uint64_t log_start,
                         const LogBounds& bounds) ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_)
      ABSL_SHARED_LOCKS_REQUIRED(db_mu_);
  // Adds to scratch_ the deletion of each "d:" key recorded before `cutoff` among the next
  // RocksOptions::dedupe_sweep_keys from where the last sweep stopped (WriteBatch's
  // dedupe_recorded_before); past the last key the next sweep starts again at the first.
  absl::Status SweepDedupe(absl::Time cutoff) ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_)
      ABSL_SHARED_LOCKS_REQUIRED(db_mu_);
  // After a successful write: what readers see moves, and the marker follows.
  void Acknowledge(const WriteBatch& batch, const LogBounds& bounds)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // After a recovery, before the store is writable again: the migration Upgrade could not
  // write, so no Write ever puts an entry of this format beside the old ones. UNAVAILABLE when
  // it fails (the recovery retries).
  absl::Status FinishUpgrade() ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // The migration's one write batch: drops the change log, writes "m:format", logs what was
  // dropped. Needs a database open for writing.
  absl::Status MigrateLog() ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_)
      ABSL_SHARED_LOCKS_REQUIRED(db_mu_);
  // The oldest stored log entry at or after `revision`, 0 if none (reads the database).
  absl::StatusOr<uint64_t> FirstLogEntryAtOrAfter(uint64_t revision) const;
  // Scans one key prefix of the records family, handing each key and value to `visit`.
  template <typename Visit>
  absl::Status ScanPrefix(const Database& database, const rocksdb::Snapshot* snapshot,
                          absl::string_view prefix, Visit visit) const;

  const OpenContext context_;
  rocksdb::WriteOptions write_options_;

  // The writer's state: only Write, Flush and recovery touch it.
  absl::Mutex write_mu_ ABSL_ACQUIRED_BEFORE(db_mu_, mu_, health_mu_);
  uint64_t newest_log_ ABSL_GUARDED_BY(write_mu_) = 0;  // 0: the log is empty
  rocksdb::WriteBatch scratch_ ABSL_GUARDED_BY(write_mu_);
  std::string key_ ABSL_GUARDED_BY(write_mu_);
  std::string value_ ABSL_GUARDED_BY(write_mu_);
  std::string dedupe_sweep_from_ ABSL_GUARDED_BY(write_mu_);  // the next sweep's first key
  // The database is replaced only by a reopen, with readers excluded.
  mutable absl::Mutex db_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  // Shared so that an open RecordSnapshot keeps its database alive across a Reopen (which then
  // waits, retrying, until the snapshot is done: the old instance holds the lock file).
  std::shared_ptr<Database> db_ ABSL_GUARDED_BY(db_mu_);
  std::optional<Marker> marker_ ABSL_GUARDED_BY(write_mu_);
  absl::Status failure_ ABSL_GUARDED_BY(write_mu_);  // OK while writes can succeed
  bool stuck_ ABSL_GUARDED_BY(write_mu_) = false;    // recovery cannot help: restart
  int reopen_failures_ ABSL_GUARDED_BY(write_mu_) = 0;

  // What readers see, moved only after a successful Write.
  mutable absl::Mutex mu_;
  uint64_t revision_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t log_start_ ABSL_GUARDED_BY(mu_) = 0;  // 0: the log is empty
  uint64_t format_ ABSL_GUARDED_BY(mu_) = kStoreFormat;
  // An older format's change log not migrated yet (the store could not write): hidden from
  // ReadLog and LogStart; its bounds, for the migration's log line.
  struct HiddenLog {
    uint64_t start = 0;
    uint64_t newest = 0;
  };
  std::optional<HiddenLog> hidden_log_ ABSL_GUARDED_BY(mu_);

  // failure_ as others see it, and the recovery thread's schedule.
  mutable absl::Mutex health_mu_;
  absl::Status writable_ ABSL_GUARDED_BY(health_mu_);
  std::function<void(const absl::Status&)> listener_ ABSL_GUARDED_BY(health_mu_);
  bool stopping_ ABSL_GUARDED_BY(health_mu_) = false;
  std::thread recovery_;
};

absl::Status RocksStore::Init(bool accept_data_loss) {
  {
    absl::MutexLock write_lock(&write_mu_);
    absl::ReaderMutexLock db_lock(&db_mu_);
    absl::MutexLock lock(&mu_);
    std::string value;
    const rocksdb::ReadOptions read;
    for (auto [key, field] :
         {std::pair{keys::kRevision, &revision_}, std::pair{keys::kLogStart, &log_start_}}) {
      rocksdb::Status status = db_->db->Get(read, db_->records(), ToSlice(key), &value);
      if (status.IsNotFound()) continue;
      RETURN_IF_ERROR(FromRocks(status, "reading store metadata"));
      if (!keys::ParseUint64(value, field)) {
        return absl::DataLossError(absl::StrCat("stored ", key, " is malformed"));
      }
    }
    std::unique_ptr<rocksdb::Iterator> it(db_->db->NewIterator(read, db_->log()));
    it->SeekToLast();
    RETURN_IF_ERROR(FromRocks(it->status(), "reading the change log"));
    if (it->Valid() && !keys::ParseUint64(ToView(it->key()), &newest_log_)) {
      return absl::DataLossError("stored change log key is malformed");
    }
    // The metadata and the log must agree: the first entry where the start says, the newest
    // not past the head. A lost table file or MANIFEST entry shows here.
    uint64_t first = 0;
    it->SeekToFirst();
    RETURN_IF_ERROR(FromRocks(it->status(), "reading the change log"));
    if (it->Valid() && !keys::ParseUint64(ToView(it->key()), &first)) {
      return absl::DataLossError("stored change log key is malformed");
    }
    ASSIGN_OR_RETURN(format_, StoredFormat(*db_));
    RETURN_IF_ERROR(CheckFormat(context_.options.path, format_));
    if (first != log_start_ || newest_log_ > revision_) {
      const absl::Status disagree = absl::DataLossError(absl::StrCat(
          "the stored head revision ", revision_, " and log start ", log_start_,
          " disagree with the change log, which holds revisions ", first, " to ", newest_log_));
      if (!accept_data_loss) return disagree;
      spdlog::error("store: {}; going on (--accept_data_loss)", std::string(disagree.message()));
      log_start_ = first;
      revision_ = std::max(revision_, newest_log_);
    }
  }
  if (context_.options.recovery_interval > absl::ZeroDuration()) {
    recovery_ = std::thread([this] { RunRecovery(); });
  }
  return absl::OkStatus();
}

uint64_t RocksStore::format() const {
  absl::ReaderMutexLock lock(&mu_);
  return format_;
}

absl::Status RocksStore::Upgrade() {
  absl::MutexLock write_lock(&write_mu_);
  if (format() == kStoreFormat) return absl::OkStatus();
  if (failure_.ok()) {
    absl::ReaderMutexLock db_lock(&db_mu_);
    const absl::Status migrated = MigrateLog();
    if (migrated.ok()) return absl::OkStatus();
    SetWritable(absl::UnavailableError(
        absl::StrCat("the store cannot write: ", migrated.message(), " (it retries by itself)")));
  }
  // Not writable for now (a full disk): readers must not get entries this code cannot decode,
  // and the migration waits for the recovery that makes the store writable (FinishUpgrade).
  absl::MutexLock lock(&mu_);
  hidden_log_ = HiddenLog{.start = log_start_, .newest = newest_log_};
  log_start_ = 0;
  newest_log_ = 0;
  spdlog::warn(
      "store: {} has format {}; its change log is hidden until the store can write and "
      "migrates it to format {}",
      context_.options.path, format_, kStoreFormat);
  return absl::OkStatus();
}

absl::Status RocksStore::FinishUpgrade() {
  if (format() == kStoreFormat) return absl::OkStatus();
  absl::ReaderMutexLock db_lock(&db_mu_);
  const absl::Status migrated = MigrateLog();
  if (migrated.ok()) return absl::OkStatus();
  return absl::UnavailableError(
      absl::StrCat("the store cannot write: ", migrated.message(), " (it retries by itself)"));
}

absl::Status RocksStore::MigrateLog() {
  uint64_t revision = 0;
  uint64_t from = 0;
  HiddenLog old;
  {
    absl::ReaderMutexLock lock(&mu_);
    revision = revision_;
    from = format_;
    old = hidden_log_.value_or(HiddenLog{.start = log_start_, .newest = newest_log_});
  }
  // One synced batch: a crash leaves either the old store, migrated again at the next start,
  // or the new one. The head revision does not move, so the marker stays right.
  rocksdb::WriteBatch batch;
  rocksdb::Status status;
  if (old.newest != 0 || old.start != 0) {
    std::string end = keys::Uint64(UINT64_MAX);
    end.push_back('\0');  // just past the last possible entry
    status = batch.DeleteRange(db_->log(), keys::Uint64(0), end);
    if (status.ok()) status = batch.Delete(db_->records(), ToSlice(keys::kLogStart));
  }
  if (status.ok()) {
    status = batch.Put(db_->records(), ToSlice(keys::kFormat), keys::Uint64(kStoreFormat));
  }
  rocksdb::WriteOptions synced;
  synced.sync = true;
  if (status.ok()) status = db_->db->Write(synced, &batch);
  RETURN_IF_ERROR(FromRocks(
      status, absl::StrCat("migrating the store from format ", from, " to ", kStoreFormat)));
  newest_log_ = 0;
  {
    absl::MutexLock lock(&mu_);
    log_start_ = 0;
    format_ = kStoreFormat;
    hidden_log_.reset();
  }
  if (revision == 0 && old.newest == 0) return absl::OkStatus();  // a new store
  const uint64_t dropped = old.newest == 0 ? 0 : old.newest - old.start + 1;
  spdlog::warn(
      "store: migrated {} from format {} to {} (its change log held rendered API messages, which "
      "this rollcalld does not read): kept every record, event id and callback and head "
      "revision {}; dropped {} revisions of watch history{}; a watcher resuming from before "
      "revision {} gets OUT_OF_RANGE and re-syncs with an initial state",
      context_.options.path, from, kStoreFormat, revision, dropped,
      dropped == 0 ? "" : absl::StrCat(" (", old.start, " to ", old.newest, ")"), revision + 1);
  return absl::OkStatus();
}

absl::Status RocksStore::Writable() const {
  absl::MutexLock lock(&health_mu_);
  return writable_;
}

void RocksStore::SetWritableListener(std::function<void(const absl::Status&)> listener) {
  // write_mu_ too: SetWritable calls the listener under it, so once this returns the old one
  // is not running and never will again.
  absl::MutexLock write_lock(&write_mu_);
  absl::MutexLock lock(&health_mu_);
  listener_ = std::move(listener);
}

void RocksStore::SetWritable(absl::Status status) {
  failure_ = status;
  std::function<void(const absl::Status&)> listener;
  {
    absl::MutexLock lock(&health_mu_);
    const bool changed = writable_.ok() != status.ok();
    writable_ = status;
    if (changed) listener = listener_;
  }
  if (status.ok()) {
    spdlog::info("store: writable again at revision {}", revision());
  } else {
    spdlog::error("store: not writable: {}", std::string(status.message()));
  }
  // Under write_mu_, so listeners hear the changes in order.
  if (listener) listener(status);
}

void RocksStore::RunRecovery() {
  while (true) {
    absl::Duration wait;
    {
      absl::MutexLock lock(&health_mu_);
      auto failing = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(health_mu_) {
        return stopping_ || !writable_.ok();
      };
      health_mu_.Await(absl::Condition(&failing));
      if (stopping_) return;
      wait = context_.options.recovery_interval;
    }
    {
      // Reopens back off: each replays the write-ahead log.
      absl::MutexLock write_lock(&write_mu_);
      wait *= 1 << std::min(reopen_failures_, 2);
      wait = std::min(wait, 5 * context_.options.recovery_interval);
    }
    {
      // Real time: the store layer has no clock (service/clock.h is above it). Tests shorten
      // RocksOptions::recovery_interval, or wait for the writable listener.
      absl::MutexLock lock(&health_mu_);
      if (health_mu_.AwaitWithTimeout(absl::Condition(&stopping_), wait)) return;
    }
    TryRecover();
  }
}

void RocksStore::TryRecover() {
  absl::MutexLock write_lock(&write_mu_);
  if (failure_.ok() || stuck_) return;
  bool read_only = true;
  rocksdb::Status resumed;
  {
    absl::ReaderMutexLock db_lock(&db_mu_);
    read_only = db_ == nullptr || db_->read_only;
    if (!read_only) resumed = db_->db->Resume();
  }
  if (!read_only && resumed.ok()) {
    // Resume succeeds trivially when there was nothing to flush, full disk or not: only a synced
    // write shows that writes work again (else readiness would flap on a full disk).
    absl::ReaderMutexLock db_lock(&db_mu_);
    resumed = db_->db->Put(write_options_, db_->records(), ToSlice(keys::kProbe), "");
  }
  if (!read_only) {
    if (resumed.ok()) {
      reopen_failures_ = 0;
      SetWritable(FinishUpgrade());
      return;
    }
    if (resumed.IsNoSpace() || resumed.IsBusy()) {
      // Still full: the memtables could not be flushed. Keep trying in place.
      SetWritable(
          absl::UnavailableError(absl::StrCat("the store cannot write: ", resumed.ToString(),
                                              " (it resumes by itself once there is room)")));
      return;
    }
    spdlog::warn("store: cannot resume in place ({}); reopening it", resumed.ToString());
  }
  if (absl::Status reopened = Reopen(); !reopened.ok()) {
    ++reopen_failures_;
    SetWritable(reopened);
    return;
  }
  reopen_failures_ = 0;
  SetWritable(FinishUpgrade());
}

absl::Status RocksStore::Reopen() {
  const std::string& path = context_.options.path;
  absl::WriterMutexLock db_lock(&db_mu_);
  db_.reset();  // a read-write database must be closed first: it holds the lock file
  absl::StatusOr<std::unique_ptr<Database>> writable = OpenDatabase(context_, path, false);
  if (!writable.ok()) {
    // Keep serving reads from a read-only open; it changes nothing on disk.
    absl::StatusOr<std::unique_ptr<Database>> readable = OpenDatabase(context_, path, true);
    if (readable.ok()) db_ = *std::move(readable);
    return absl::UnavailableError(absl::StrCat(
        "the store cannot write: ", writable.status().message(), " (it retries by itself)"));
  }
  db_ = *std::move(writable);
  absl::StatusOr<uint64_t> reopened = StoredRevision(*db_);
  if (!reopened.ok() || *reopened != revision()) {
    stuck_ = true;
    return absl::UnavailableError(absl::StrCat(
        "the store reopened at revision ",
        reopened.ok() ? absl::StrCat(*reopened) : reopened.status().ToString(), " but revision ",
        revision(),
        " was the last acknowledged (a failed write reached the disk after all); restart "
        "rollcalld to load it"));
  }
  if (!marker_.has_value()) {
    absl::StatusOr<Marker> marker = Marker::Open(path, revision());
    if (!marker.ok()) return marker.status();
    marker_ = *std::move(marker);
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> RocksStore::FirstLogEntryAtOrAfter(uint64_t revision) const {
  absl::ReaderMutexLock db_lock(&db_mu_);
  if (db_ == nullptr) return absl::UnavailableError("the store is not open");
  std::unique_ptr<rocksdb::Iterator> it(db_->db->NewIterator(rocksdb::ReadOptions(), db_->log()));
  it->Seek(keys::Uint64(revision));
  RETURN_IF_ERROR(FromRocks(it->status(), "reading the change log"));
  uint64_t found = 0;
  if (it->Valid() && !keys::ParseUint64(ToView(it->key()), &found)) {
    return absl::DataLossError("stored change log key is malformed");
  }
  return found;
}

namespace {

// The key each kind of record is stored under.
void KeyOf(const state::Room& room, std::string* out) { keys::RoomKey(room.sid, out); }
void KeyOf(const state::Participant& participant, std::string* out) {
  keys::ParticipantKey(participant.sid, out);
}
void KeyOf(const state::DedupeEntry& entry, std::string* out) {
  keys::DedupeKey(entry.account_sid, entry.event_id, out);
}
void KeyOf(const state::PublishedTrack& track, std::string* out) { keys::TrackKey(track.sid, out); }
void KeyOf(const state::SubscribeRules& rules, std::string* out) {
  keys::RulesKey(rules.participant_sid, out);
}
void KeyOf(const state::Callback& callback, std::string* out) {
  keys::CallbackKey(keys::kCallbackPrefix, callback.room_sid, callback.sequence, out);
}
void KeyOf(const state::SubscribedTrack& subscribed, std::string* out) {
  keys::SubscriptionKey(subscribed.participant_sid, subscribed.sid, out);
}
// The overload set as one callable.
constexpr auto kKeyOf = [](const auto& record, std::string* out) { KeyOf(record, out); };

// Builds one rocksdb::WriteBatch of records, keeping the first error (building fails only past
// a size limit, and none is set).
class BatchBuilder {
 public:
  BatchBuilder(rocksdb::WriteBatch& batch, rocksdb::ColumnFamilyHandle* records, std::string& key,
               std::string& value)
      : batch_(batch), records_(records), key_(key), value_(value) {}

  // Deletes the key `key_of` makes of each item.
  template <typename Item, typename KeyOf>
  void EraseAll(const std::vector<Item>& items, KeyOf key_of) {
    for (const Item& item : items) {
      key_of(item, &key_);
      Add(batch_.Delete(records_, key_));
    }
  }
  // Stores each record, encoded, under the key `key_of` makes of it.
  template <typename Record, typename KeyOf>
  void PutAll(const std::vector<Record>& records, KeyOf key_of) {
    for (const Record& record : records) {
      key_of(record, &key_);
      Encode(record, &value_);
      Add(batch_.Put(records_, key_, value_));
    }
  }
  void Add(const rocksdb::Status& added) {
    if (status_.ok()) status_ = added;
  }
  const rocksdb::Status& status() const { return status_; }

 private:
  rocksdb::WriteBatch& batch_;
  rocksdb::ColumnFamilyHandle* const records_;
  std::string& key_;
  std::string& value_;
  rocksdb::Status status_;
};

}  // namespace

absl::Status RocksStore::Write(const WriteBatch& batch) {
  absl::MutexLock write_lock(&write_mu_);
  uint64_t revision = 0;
  uint64_t log_start = 0;
  {
    absl::ReaderMutexLock lock(&mu_);
    revision = revision_;
    log_start = log_start_;
  }
  RETURN_IF_ERROR(internal::CheckBatch(batch, revision, newest_log_));
  if (batch.empty()) return absl::OkStatus();
  if (!failure_.ok()) return failure_;
  ASSIGN_OR_RETURN(const LogBounds bounds, LogBoundsAfter(batch, log_start));

  absl::ReaderMutexLock db_lock(&db_mu_);
  RETURN_IF_ERROR(FillBatch(batch, revision, log_start, bounds));
  if (scratch_.Count() == 0) return absl::OkStatus();  // e.g. compaction of nothing: no fsync

  const rocksdb::Status status = db_->db->Write(write_options_, &scratch_);
  if (scratch_.GetDataSize() > kMaxRetainedBatchBytes) scratch_ = rocksdb::WriteBatch();
  if (!status.ok()) {
    // Always UNAVAILABLE: the batch was not applied, and a retry after recovery may succeed.
    SetWritable(absl::UnavailableError(absl::StrCat("writing to the store: ", status.ToString())));
    return failure_;
  }
  Acknowledge(batch, bounds);
  return absl::OkStatus();
}

absl::StatusOr<RocksStore::LogBounds> RocksStore::LogBoundsAfter(const WriteBatch& batch,
                                                                 uint64_t log_start) const {
  LogBounds bounds{.start = log_start, .newest = newest_log_};
  if (!batch.log.empty()) {
    if (bounds.start == 0) bounds.start = batch.log.front().revision;
    bounds.newest = batch.log.back().revision;
  }
  const uint64_t compact = batch.compact_log_before;
  bounds.compacts = compact != 0 && bounds.start != 0 && bounds.start < compact;
  if (!bounds.compacts) return bounds;
  if (compact > bounds.newest) {
    bounds.start = bounds.newest = 0;
    return bounds;
  }
  // Entries need not be contiguous: the new start is the first survivor, stored or new.
  ASSIGN_OR_RETURN(uint64_t stored, FirstLogEntryAtOrAfter(compact));
  auto appended = std::lower_bound(
      batch.log.begin(), batch.log.end(), compact,
      [](const LogEntry& entry, uint64_t bound) { return entry.revision < bound; });
  bounds.start = stored;
  if (appended != batch.log.end() && (stored == 0 || appended->revision < stored)) {
    bounds.start = appended->revision;
  }
  return bounds;
}

absl::Status RocksStore::FillBatch(const WriteBatch& batch, uint64_t revision, uint64_t log_start,
                                   const LogBounds& bounds) {
  rocksdb::ColumnFamilyHandle* const records = db_->records();
  rocksdb::ColumnFamilyHandle* const log = db_->log();
  scratch_.Clear();
  BatchBuilder b(scratch_, records, key_, value_);
  // Erasures first, then upserts (store.h: a key both erased and upserted ends up upserted).
  b.EraseAll(batch.erased_participants, keys::ParticipantKey);
  b.EraseAll(batch.erased_rooms, keys::RoomKey);
  for (const state::Sid& room_sid : batch.erased_rooms) {
    // A room's callbacks, pending and failed: every sequence under its SID.
    for (absl::string_view prefix : {keys::kCallbackPrefix, keys::kFailedCallbackPrefix}) {
      std::string end;
      keys::CallbackKey(prefix, room_sid, UINT64_MAX, &end);
      end.push_back('\0');
      keys::CallbackKey(prefix, room_sid, 0, &key_);
      b.Add(scratch_.DeleteRange(records, key_, end));
    }
    keys::CallbackSequenceKey(room_sid, &key_);
    b.Add(scratch_.Delete(records, key_));
  }
  if (batch.dedupe_recorded_before != absl::InfinitePast()) {
    RETURN_IF_ERROR(SweepDedupe(batch.dedupe_recorded_before));
  }
  b.EraseAll(batch.erased_tracks, keys::TrackKey);
  b.EraseAll(batch.erased_rules, keys::RulesKey);
  b.EraseAll(batch.erased_subscriptions, [](const auto& key, std::string* out) {
    keys::SubscriptionKey(key.first, key.second, out);
  });
  b.PutAll(batch.tracks, kKeyOf);
  b.PutAll(batch.rules, kKeyOf);
  b.PutAll(batch.subscriptions, kKeyOf);
  b.PutAll(batch.rooms, kKeyOf);
  b.PutAll(batch.participants, kKeyOf);
  b.PutAll(batch.dedupe, kKeyOf);
  b.PutAll(batch.callbacks, kKeyOf);
  for (const auto& [room_sid, next] : batch.callback_sequences) {
    keys::CallbackSequenceKey(room_sid, &key_);
    b.Add(scratch_.Put(records, key_, keys::Uint64(next)));
  }
  for (const LogEntry& entry : batch.log) {
    keys::LogKey(entry.revision, &key_);
    b.Add(scratch_.Put(log, key_, entry.payload));
  }
  if (bounds.compacts) {
    keys::LogKey(batch.compact_log_before, &key_);
    b.Add(scratch_.DeleteRange(log, keys::Uint64(0), key_));
  }
  if (batch.revision != 0 && batch.revision != revision) {
    b.Add(scratch_.Put(records, ToSlice(keys::kRevision), keys::Uint64(batch.revision)));
  }
  if (bounds.start != log_start) {
    b.Add(bounds.start == 0
              ? scratch_.Delete(records, ToSlice(keys::kLogStart))
              : scratch_.Put(records, ToSlice(keys::kLogStart), keys::Uint64(bounds.start)));
  }
  return FromRocks(b.status(), "building the write batch");
}

absl::Status RocksStore::SweepDedupe(absl::Time cutoff) {
  rocksdb::ReadOptions read;
  read.fill_cache = false;  // a sweep reads each key once a round: keep the cache for reads
  std::unique_ptr<rocksdb::Iterator> it(db_->db->NewIterator(read, db_->records()));
  const std::string from =
      dedupe_sweep_from_.empty() ? std::string(keys::kDedupePrefix) : dedupe_sweep_from_;
  size_t visited = 0;
  state::DedupeEntry entry;
  for (it->Seek(from); it->Valid() && it->key().starts_with(ToSlice(keys::kDedupePrefix));
       it->Next()) {
    if (visited++ == context_.options.dedupe_sweep_keys) {
      dedupe_sweep_from_.assign(it->key().data(), it->key().size());
      return absl::OkStatus();
    }
    // A record that does not decode is left for Load to report: a sweep never hides damage.
    if (Decode(ToView(it->value()), &entry).ok() && entry.recorded_at < cutoff) {
      const rocksdb::Status deleted = scratch_.Delete(db_->records(), it->key());
      if (!deleted.ok()) return FromRocks(deleted, "sweeping expired event ids");
    }
  }
  dedupe_sweep_from_.clear();  // round again
  return FromRocks(it->status(), "sweeping expired event ids");
}

void RocksStore::Acknowledge(const WriteBatch& batch, const LogBounds& bounds) {
  newest_log_ = bounds.newest;
  {
    absl::MutexLock lock(&mu_);
    if (batch.revision != 0) revision_ = batch.revision;
    log_start_ = bounds.start;
  }
  // Synced, so the marker may say so; losing this update only weakens the damage check.
  if (write_options_.sync && batch.revision != 0 && marker_.has_value()) {
    if (absl::Status marked = marker_->Update(batch.revision); !marked.ok()) {
      spdlog::warn("store: {}", std::string(marked.message()));
    }
  }
}

template <typename Visit>
absl::Status RocksStore::ScanPrefix(const Database& database, const rocksdb::Snapshot* snapshot,
                                    absl::string_view prefix, Visit visit) const {
  const std::string end = keys::PrefixEnd(prefix);
  const rocksdb::Slice upper_bound(end);
  rocksdb::ReadOptions read;
  read.snapshot = snapshot;
  read.fill_cache = false;  // a one-off scan: keep the cache for the blocks reads will want
  read.readahead_size = kLoadReadaheadBytes;
  read.iterate_upper_bound = &upper_bound;
  std::unique_ptr<rocksdb::Iterator> it(database.db->NewIterator(read, database.records()));
  for (it->Seek(ToSlice(prefix)); it->Valid(); it->Next()) {
    RETURN_IF_ERROR(visit(ToView(it->key()), ToView(it->value())));
  }
  return FromRocks(it->status(), absl::StrCat("scanning ", prefix, " records"));
}

absl::StatusOr<LoadStats> RocksStore::Load(state::Roster& roster) {
  RETURN_IF_ERROR(internal::CheckEmpty(roster));
  roster.BeginRestore();
  // One snapshot for every prefix and the revision, so the roster is one point in time even if
  // a Write races the Load.
  absl::MutexLock write_lock(&write_mu_);
  absl::ReaderMutexLock db_lock(&db_mu_);
  if (db_ == nullptr) return absl::UnavailableError("the store is not open");
  rocksdb::ManagedSnapshot snapshot(db_->db.get());
  LoadStats stats;
  stats.revision = revision();

  // A record must sit under its own key: a mismatch is damage the codec cannot see.
  std::string expected;
  auto check_key = [&expected](absl::string_view key) {
    if (key == expected) return absl::OkStatus();
    return absl::DataLossError("stored record does not match its key");
  };
  // Each record kind: decoded, checked against its key, restored.
  auto load = [&]<typename Record>(absl::string_view prefix, Record& record, size_t& count) {
    return ScanPrefix(*db_, snapshot.snapshot(), prefix,
                      [&](absl::string_view key, absl::string_view value) {
                        RETURN_IF_ERROR(Decode(value, &record));
                        KeyOf(record, &expected);
                        RETURN_IF_ERROR(check_key(key));
                        roster.Restore(record);
                        ++count;
                        return absl::OkStatus();
                      });
  };
  // Rooms first: the roster re-derives a room's participants' timers when a room arrives after
  // them, which costs nothing when none are there yet. Then participants; tracks, rule sets and
  // subscriptions, each keyed by its own SIDs, in any order after them.
  state::Room room;
  RETURN_IF_ERROR(load(keys::kRoomPrefix, room, stats.rooms));
  state::Participant participant;
  RETURN_IF_ERROR(load(keys::kParticipantPrefix, participant, stats.participants));
  state::PublishedTrack track;
  RETURN_IF_ERROR(load(keys::kTrackPrefix, track, stats.tracks));
  state::SubscribeRules rules;
  RETURN_IF_ERROR(load(keys::kRulesPrefix, rules, stats.rules));
  state::SubscribedTrack subscribed;
  RETURN_IF_ERROR(load(keys::kSubscriptionPrefix, subscribed, stats.subscriptions));
  // Remembered events in key order: the roster expires them by time, whatever the order.
  state::DedupeEntry dedupe;
  RETURN_IF_ERROR(load(keys::kDedupePrefix, dedupe, stats.dedupe));
  roster.FinishRestore();
  roster.RestoreRevision(stats.revision);
  return stats;
}

absl::StatusOr<CallbackBacklog> RocksStore::LoadCallbacks() const {
  absl::ReaderMutexLock db_lock(&db_mu_);
  if (db_ == nullptr) return absl::UnavailableError("the store is not open");
  rocksdb::ManagedSnapshot snapshot(db_->db.get());
  CallbackBacklog backlog;
  std::string expected;
  RETURN_IF_ERROR(ScanPrefix(*db_, snapshot.snapshot(), keys::kCallbackPrefix,
                             [&](absl::string_view key, absl::string_view value) {
                               state::Callback& callback = backlog.pending.emplace_back();
                               RETURN_IF_ERROR(Decode(value, &callback));
                               KeyOf(callback, &expected);
                               if (key != expected) {
                                 return absl::DataLossError(
                                     "stored callback does not match its key");
                               }
                               return absl::OkStatus();
                             }));
  RETURN_IF_ERROR(ScanPrefix(
      *db_, snapshot.snapshot(), keys::kCallbackSequencePrefix,
      [&](absl::string_view key, absl::string_view value) {
        const absl::string_view sid_bytes = key.substr(keys::kCallbackSequencePrefix.size());
        uint64_t next = 0;
        if (sid_bytes.size() != kSidBytes || !keys::ParseUint64(value, &next)) {
          return absl::DataLossError("stored callback sequence is malformed");
        }
        state::Sid::Bytes raw;
        std::copy(sid_bytes.begin(), sid_bytes.end(), raw.begin());
        backlog.next_sequence[state::Sid("RM", raw)] = next;
        return absl::OkStatus();
      }));
  return backlog;
}

absl::StatusOr<std::vector<state::Callback>> RocksStore::ReadCallbacks(const state::Sid& room_sid,
                                                                       uint64_t from_sequence,
                                                                       size_t max) const {
  std::vector<state::Callback> out;
  absl::ReaderMutexLock db_lock(&db_mu_);
  if (db_ == nullptr) return absl::UnavailableError("the store is not open");
  std::string start;
  std::string end;
  keys::CallbackKey(keys::kCallbackPrefix, room_sid, from_sequence, &start);
  keys::CallbackKey(keys::kCallbackPrefix, room_sid, UINT64_MAX, &end);
  end.push_back('\0');
  const rocksdb::Slice upper_bound(end);
  rocksdb::ReadOptions read;
  read.iterate_upper_bound = &upper_bound;
  std::unique_ptr<rocksdb::Iterator> it(db_->db->NewIterator(read, db_->records()));
  for (it->Seek(start); it->Valid() && out.size() < max; it->Next()) {
    RETURN_IF_ERROR(Decode(ToView(it->value()), &out.emplace_back()));
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "reading a room's callbacks"));
  return out;
}

absl::Status RocksStore::FinishCallback(const state::Sid& room_sid, uint64_t sequence,
                                        const state::FailedCallback* failed) {
  // Not under write_mu_: the applier's fsync must not hold up deliveries. RocksDB orders this
  // write with the applier's; a failure here is left to the applier's next write to notice.
  absl::ReaderMutexLock db_lock(&db_mu_);
  if (db_ == nullptr || db_->read_only) {
    return absl::UnavailableError("the store cannot write now");
  }
  rocksdb::WriteBatch batch;
  std::string key;
  keys::CallbackKey(keys::kCallbackPrefix, room_sid, sequence, &key);
  rocksdb::Status status = batch.Delete(db_->records(), key);
  if (status.ok() && failed != nullptr) {
    // Kept as failed only if it was pending: a second finish changes nothing.
    std::string pending;
    status = db_->db->Get(rocksdb::ReadOptions(), db_->records(), key, &pending);
    if (status.IsNotFound()) return absl::OkStatus();
  }
  if (status.ok() && failed != nullptr) {
    std::string value;
    Encode(*failed, &value);
    keys::CallbackKey(keys::kFailedCallbackPrefix, room_sid, sequence, &key);
    status = batch.Put(db_->records(), key, value);
  }
  rocksdb::WriteOptions unsynced;
  unsynced.sync = false;
  if (status.ok()) status = db_->db->Write(unsynced, &batch);
  return FromRocks(status, "finishing a callback");
}

absl::StatusOr<std::vector<state::FailedCallback>> RocksStore::ListFailedCallbacks(
    const state::Sid& account_sid, const FailedCallbackCursor* after, size_t max) const {
  std::vector<state::FailedCallback> out;
  absl::ReaderMutexLock db_lock(&db_mu_);
  if (db_ == nullptr) return absl::UnavailableError("the store is not open");
  const std::string end = keys::PrefixEnd(keys::kFailedCallbackPrefix);
  const rocksdb::Slice upper_bound(end);
  rocksdb::ReadOptions read;
  read.iterate_upper_bound = &upper_bound;
  std::unique_ptr<rocksdb::Iterator> it(db_->db->NewIterator(read, db_->records()));
  std::string start(keys::kFailedCallbackPrefix);
  if (after != nullptr) {
    keys::CallbackKey(keys::kFailedCallbackPrefix, after->room_sid, after->sequence, &start);
    start.push_back('\0');  // just after it
  }
  for (it->Seek(start); it->Valid() && out.size() < max; it->Next()) {
    state::FailedCallback failed;
    RETURN_IF_ERROR(Decode(ToView(it->value()), &failed));
    if (account_sid == state::Sid() || failed.callback.room.account_sid == account_sid) {
      out.push_back(std::move(failed));
    }
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "listing failed callbacks"));
  return out;
}

absl::StatusOr<std::vector<LogEntry>> RocksStore::ReadLog(uint64_t from, size_t max_entries) const {
  std::vector<LogEntry> entries;
  if (max_entries == 0) return entries;
  {
    absl::ReaderMutexLock lock(&mu_);
    if (hidden_log_.has_value()) return entries;  // an older format's: see Upgrade
  }
  absl::ReaderMutexLock db_lock(&db_mu_);
  if (db_ == nullptr) return absl::UnavailableError("the store is not open");
  std::unique_ptr<rocksdb::Iterator> it(db_->db->NewIterator(rocksdb::ReadOptions(), db_->log()));
  for (it->Seek(keys::Uint64(from)); it->Valid() && entries.size() < max_entries; it->Next()) {
    LogEntry& entry = entries.emplace_back();
    if (!keys::ParseUint64(ToView(it->key()), &entry.revision)) {
      return absl::DataLossError("stored change log key is malformed");
    }
    entry.payload.assign(it->value().data(), it->value().size());
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "reading the change log"));
  return entries;
}

// The records at one RocksDB snapshot, read through one iterator per record kind. It holds the
// database it reads, so a Reopen of the store cannot close it underneath.
class RocksSnapshot final : public RecordSnapshot {
 public:
  explicit RocksSnapshot(std::shared_ptr<Database> database)
      : database_(std::move(database)),
        db_(database_->db.get()),
        records_(database_->records()),
        snapshot_(db_),
        rooms_(keys::kRoomPrefix),
        participants_(keys::kParticipantPrefix),
        tracks_(keys::kTrackPrefix),
        rules_(keys::kRulesPrefix),
        subscriptions_(keys::kSubscriptionPrefix) {}

  // Reads the head revision as of the snapshot (it is written in the same batch as records).
  absl::Status Init() {
    rocksdb::ReadOptions read;
    read.snapshot = snapshot_.snapshot();
    std::string value;
    rocksdb::Status status = db_->Get(read, records_, ToSlice(keys::kRevision), &value);
    if (status.IsNotFound()) return absl::OkStatus();
    RETURN_IF_ERROR(FromRocks(status, "reading the revision"));
    if (!keys::ParseUint64(value, &revision_)) {
      return absl::DataLossError("stored revision is malformed");
    }
    return absl::OkStatus();
  }

  uint64_t revision() const override { return revision_; }

  absl::Status ReadRooms(size_t max, std::vector<state::Room>* out) override {
    return Read(rooms_, max, out);
  }
  absl::Status ReadParticipants(size_t max, std::vector<state::Participant>* out) override {
    return Read(participants_, max, out);
  }
  void RestartParticipants() override { participants_.it.reset(); }
  absl::Status ReadTracks(size_t max, std::vector<state::PublishedTrack>* out) override {
    return Read(tracks_, max, out);
  }
  absl::Status ReadRules(size_t max, std::vector<state::SubscribeRules>* out) override {
    return Read(rules_, max, out);
  }
  absl::Status ReadSubscriptions(size_t max, std::vector<state::SubscribedTrack>* out) override {
    return Read(subscriptions_, max, out);
  }

 private:
  // A scan of one key prefix. Neither copied nor moved: the iterator's upper bound points into
  // `end`.
  struct Cursor {
    explicit Cursor(absl::string_view prefix)
        : prefix(prefix), end(keys::PrefixEnd(prefix)), bound(end) {}
    Cursor(const Cursor&) = delete;
    Cursor& operator=(const Cursor&) = delete;

    const absl::string_view prefix;
    const std::string end;
    const rocksdb::Slice bound;
    std::unique_ptr<rocksdb::Iterator> it;  // null until the first read
  };

  template <typename Record>
  absl::Status Read(Cursor& cursor, size_t max, std::vector<Record>* out) {
    if (cursor.it == nullptr) {
      rocksdb::ReadOptions read;
      read.snapshot = snapshot_.snapshot();
      read.fill_cache = false;
      read.iterate_upper_bound = &cursor.bound;
      cursor.it.reset(db_->NewIterator(read, records_));
      cursor.it->Seek(ToSlice(cursor.prefix));
    }
    rocksdb::Iterator& it = *cursor.it;
    for (; it.Valid() && max > 0; it.Next(), --max) {
      RETURN_IF_ERROR(Decode(ToView(it.value()), &out->emplace_back()));
    }
    return FromRocks(it.status(), absl::StrCat("reading ", cursor.prefix, " records"));
  }

  const std::shared_ptr<Database> database_;
  rocksdb::DB* const db_;
  rocksdb::ColumnFamilyHandle* const records_;
  rocksdb::ManagedSnapshot snapshot_;
  uint64_t revision_ = 0;
  Cursor rooms_;
  Cursor participants_;
  Cursor tracks_;
  Cursor rules_;
  Cursor subscriptions_;
};

absl::StatusOr<std::unique_ptr<RecordSnapshot>> RocksStore::Snapshot() const {
  std::shared_ptr<Database> database;
  {
    absl::ReaderMutexLock db_lock(&db_mu_);
    if (db_ == nullptr) return absl::UnavailableError("the store is not open");
    database = db_;
  }
  auto snapshot = std::make_unique<RocksSnapshot>(std::move(database));
  RETURN_IF_ERROR(snapshot->Init());
  return snapshot;
}

uint64_t RocksStore::LogStart() const {
  absl::ReaderMutexLock lock(&mu_);
  return log_start_ != 0 ? log_start_ : revision_ + 1;
}

uint64_t RocksStore::revision() const {
  absl::ReaderMutexLock lock(&mu_);
  return revision_;
}

absl::Status RocksStore::Flush() {
  absl::MutexLock write_lock(&write_mu_);
  if (!failure_.ok()) return failure_;
  absl::ReaderMutexLock db_lock(&db_mu_);
  rocksdb::FlushOptions flush;
  flush.wait = true;
  const rocksdb::Status status = db_->db->Flush(flush, db_->handles);
  if (!status.ok()) {
    SetWritable(absl::UnavailableError(absl::StrCat("flushing the store: ", status.ToString())));
    return failure_;
  }
  // Everything up to here is in synced table files now, with or without --sync.
  if (marker_.has_value()) {
    absl::Status marked = marker_->Update(revision());
    if (marked.ok()) marked = marker_->Sync();
    if (!marked.ok()) spdlog::warn("store: {}", std::string(marked.message()));
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> RocksStore::Backup(const std::string& directory) {
  if (std::filesystem::exists(directory)) {
    return absl::AlreadyExistsError(absl::StrCat("backup directory ", directory, " exists"));
  }
  {
    absl::ReaderMutexLock db_lock(&db_mu_);
    if (db_ == nullptr) return absl::UnavailableError("the store is not open");
    rocksdb::Checkpoint* raw = nullptr;
    RETURN_IF_ERROR(
        FromRocks(rocksdb::Checkpoint::Create(db_->db.get(), &raw), "starting a backup"));
    std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
    // Table files are hard-linked when on the same file system, else copied; the memtables are
    // flushed first (or, read-only, the write-ahead logs copied), so the copy is one point in
    // time of the whole database.
    RETURN_IF_ERROR(FromRocks(checkpoint->CreateCheckpoint(directory),
                              absl::StrCat("writing backup ", directory)));
  }
  // The backup's own revision, read from the backup, goes into its marker.
  OpenContext context;
  context.options.path = directory;
  context.cache = rocksdb::NewLRUCache(1 << 20);
  ASSIGN_OR_RETURN(std::unique_ptr<Database> copy, OpenDatabase(context, directory, true));
  ASSIGN_OR_RETURN(uint64_t revision, StoredRevision(*copy));
  copy.reset();
  RETURN_IF_ERROR(Marker::WriteNew(directory, revision));
  spdlog::info("store: backup of revision {} written to {}", revision, directory);
  return revision;
}

bool DatabaseExists(const RocksOptions& options) {
  rocksdb::Env* env = options.env != nullptr ? options.env : rocksdb::Env::Default();
  return env->FileExists(options.path + "/CURRENT").ok();
}

constexpr absl::string_view kDamageAdvice =
    "restore the data directory from a backup (docs/operations.md), or start rollcalld with "
    "--accept_data_loss to go on without what is lost";

// OK unless the marker shows that the store lost acknowledged revisions: `recovered` is what a
// read-only open found (0 when `exists` is false).
absl::Status CheckMarker(const OpenContext& context, bool exists, uint64_t recovered,
                         std::optional<uint64_t> marker) {
  if (!marker.has_value() || *marker <= recovered) return absl::OkStatus();
  const std::string& path = context.options.path;
  std::string message =
      exists ? absl::StrCat("the store in ", path, " recovered revision ", recovered,
                            " but revision ", *marker, " was acknowledged (", MarkerPath(path),
                            "): its write-ahead log (*.log) or its MANIFEST is damaged")
             : absl::StrCat("the data directory ", path, " holds a marker of revision ", *marker,
                            " (", MarkerPath(path), ") but no database (CURRENT is missing)");
  if (const std::string warnings = context.logger->TakeWarnings(); !warnings.empty()) {
    absl::StrAppend(&message, " (RocksDB: ", warnings, ")");
  }
  return absl::DataLossError(message);
}

// DATA_LOSS from reading the store gets the advice; other errors stay as they are.
absl::Status WithAdvice(absl::Status status) {
  if (status.code() != absl::StatusCode::kDataLoss) return status;
  return absl::DataLossError(absl::StrCat(status.message(), "; ", kDamageAdvice));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Store>> OpenRocksStore(const RocksOptions& options) {
  if (options.path.empty()) return absl::InvalidArgumentError("store path is empty");
  if (options.env == nullptr) {
    // RocksDB creates only the last path component; a fresh volume may lack the parents.
    std::error_code error;
    std::filesystem::create_directories(options.path, error);
    if (error) {
      return absl::UnavailableError(
          absl::StrCat("creating store directory ", options.path, ": ", error.message()));
    }
  }
  OpenContext context;
  context.options = options;
  context.cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  const std::string& path = options.path;

  // First read-only, which changes no file: a read-write open of a damaged store would flush
  // what it recovered and delete the files its MANIFEST no longer names.
  ASSIGN_OR_RETURN(const std::optional<uint64_t> marker, ReadMarker(path));
  const bool exists = DatabaseExists(options);
  uint64_t recovered = 0;
  if (exists) {
    absl::StatusOr<std::unique_ptr<Database>> readable = OpenDatabase(context, path, true);
    if (!readable.ok()) return WithAdvice(readable.status());
    ASSIGN_OR_RETURN(recovered, StoredRevision(**readable));
    // Before anything is written: a newer rollcalld's store is left as it is.
    const absl::StatusOr<uint64_t> format = StoredFormat(**readable);
    if (!format.ok()) return WithAdvice(format.status());
    RETURN_IF_ERROR(CheckFormat(path, *format));
    if (options.verify_table_files) {
      // Load reads every record, but the change log only where watchers ask: a damaged block
      // there would otherwise surface only then. Every block of every table file, once.
      rocksdb::ReadOptions read;
      read.fill_cache = false;
      // Real time for a log line only: the store layer has no clock (service/clock.h is above
      // it), and nothing waits on this.
      const absl::Time start = absl::Now();
      RETURN_IF_ERROR(WithAdvice(
          FromRocks((*readable)->db->VerifyChecksum(read), "verifying the store's table files")));
      spdlog::info("store: table file checksums verified in {}",
                   absl::FormatDuration(absl::Now() - start));
    }
  }
  std::optional<uint64_t> lost_after;
  if (absl::Status checked = CheckMarker(context, exists, recovered, marker); !checked.ok()) {
    if (!options.accept_data_loss) return WithAdvice(checked);
    spdlog::error("{}; starting anyway (--accept_data_loss): revisions {} to {} are gone",
                  std::string(checked.message()), recovered + 1, *marker);
    lost_after = *marker;
  }

  std::unique_ptr<Database> database;
  std::optional<Marker> opened_marker;
  absl::Status writable;
  bool no_room = false;
  absl::StatusOr<std::unique_ptr<Database>> read_write =
      OpenDatabase(context, path, false, &no_room);
  if (read_write.ok()) {
    database = *std::move(read_write);
    ASSIGN_OR_RETURN(const uint64_t now, StoredRevision(*database));
    if (exists && now != recovered) {
      return WithAdvice(
          absl::DataLossError(absl::StrCat("the store in ", path, " opened at revision ", now,
                                           " for writing but at ", recovered, " read-only")));
    }
    ASSIGN_OR_RETURN(Marker created, Marker::Open(path, now));
    opened_marker = std::move(created);
  } else if (exists && no_room) {
    // E.g. a full disk: opening for writing flushes and creates files. Serve reads meanwhile.
    ASSIGN_OR_RETURN(database, OpenDatabase(context, path, true));
    writable = absl::UnavailableError(absl::StrCat(
        "the store is read-only: ", read_write.status().message(), " (it retries by itself)"));
    spdlog::error("store: {}", std::string(writable.message()));
  } else {
    return WithAdvice(read_write.status());
  }

  auto store = std::make_unique<RocksStore>(std::move(context), std::move(database),
                                            std::move(opened_marker), writable);
  RETURN_IF_ERROR(WithAdvice(store->Init(options.accept_data_loss)));
  RETURN_IF_ERROR(store->Upgrade());
  if (lost_after.has_value() && writable.ok()) {
    // Move past every revision that was acknowledged, and forget the change log, so no
    // revision number is given to a second, different change.
    WriteBatch forget;
    forget.revision = std::max(*lost_after, store->revision());
    forget.compact_log_before = forget.revision + 1;
    RETURN_IF_ERROR(store->Write(forget));
  }
  return store;
}

absl::StatusOr<VerifyReport> VerifyRocksStore(const std::string& path) {
  OpenContext context;
  context.options.path = path;
  context.options.recovery_interval = absl::ZeroDuration();
  context.cache = rocksdb::NewLRUCache(8 << 20);
  VerifyReport report;
  ASSIGN_OR_RETURN(const std::optional<uint64_t> marker, ReadMarker(path));
  report.marker_revision = marker.value_or(0);
  if (!DatabaseExists(context.options)) {
    return absl::NotFoundError(absl::StrCat("no store in ", path, " (CURRENT is missing)"));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<Database> database, OpenDatabase(context, path, true));
  ASSIGN_OR_RETURN(const uint64_t recovered, StoredRevision(*database));
  RETURN_IF_ERROR(CheckMarker(context, true, recovered, marker));

  rocksdb::ReadOptions read;
  read.verify_checksums = true;
  read.fill_cache = false;
  RETURN_IF_ERROR(FromRocks(database->db->VerifyChecksum(read), "verifying table files"));
  std::vector<rocksdb::LiveFileMetaData> files;
  database->db->GetLiveFilesMetaData(&files);
  report.table_files = files.size();

  RocksStore store(std::move(context), std::move(database), std::nullopt,
                   absl::UnavailableError("verifying"));
  RETURN_IF_ERROR(store.Init(/*accept_data_loss=*/false));
  report.format = store.format();
  state::Limits limits;
  limits.max_room_participants = std::numeric_limits<int32_t>::max();
  state::Roster roster(limits);
  ASSIGN_OR_RETURN(report.loaded, store.Load(roster));
  // Every pending and failed status callback decodes.
  ASSIGN_OR_RETURN(const CallbackBacklog backlog, store.LoadCallbacks());
  report.pending_callbacks = backlog.pending.size();
  ASSIGN_OR_RETURN(const std::vector<state::FailedCallback> failed,
                   store.ListFailedCallbacks(state::Sid(), nullptr, SIZE_MAX));
  report.failed_callbacks = failed.size();
  // The whole change log, in chunks: ascending, from the stored start to at most the head.
  report.log_start = store.LogStart();
  uint64_t next = 0;
  LogScope scope;
  std::vector<state::Change> changes;
  while (true) {
    ASSIGN_OR_RETURN(std::vector<LogEntry> entries, store.ReadLog(next, 4096));
    if (entries.empty()) break;
    for (const LogEntry& entry : entries) {
      if (report.log_entries == 0 && entry.revision != report.log_start) {
        return absl::DataLossError(absl::StrCat("the change log starts at ", entry.revision,
                                                ", not at the stored start ", report.log_start));
      }
      if (entry.revision < next || entry.revision > report.loaded.revision) {
        return absl::DataLossError(absl::StrCat("change log entry ", entry.revision,
                                                " is out of order or past the head ",
                                                report.loaded.revision));
      }
      if (report.format == kStoreFormat) {
        // Older formats' entries are not decodable here; Open drops them (store.h, "Format").
        if (absl::Status decoded = DecodeLogPayload(entry.payload, &scope, &changes);
            !decoded.ok()) {
          return absl::DataLossError(
              absl::StrCat("change log entry ", entry.revision, ": ", decoded.message()));
        }
        if (changes.front().revision != entry.revision) {
          return absl::DataLossError(absl::StrCat("change log entry ", entry.revision,
                                                  " holds revision ", changes.front().revision));
        }
      }
      next = entry.revision + 1;
      report.log_newest = entry.revision;
      ++report.log_entries;
    }
  }
  return report;
}

}  // namespace rollcall::store
