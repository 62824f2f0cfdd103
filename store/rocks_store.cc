// RocksStore: the Store contract on an embedded RocksDB, with the layout documented in store.h.
// Every Write is one rocksdb::WriteBatch across both column families, so the WAL makes it
// atomic; the head revision and log bounds live in the same batch as the records they describe.
#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "rocksdb/cache.h"
#include "rocksdb/convenience.h"
#include "rocksdb/db.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/options.h"
#include "rocksdb/table.h"
#include "rocksdb/write_batch.h"
#include "state/status_macros.h"
#include "store/codec.h"
#include "store/contract.h"
#include "store/keys.h"
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
  if (bloom) table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));

  rocksdb::ColumnFamilyOptions family;
  family.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  family.write_buffer_size = kWriteBufferBytes;
  family.max_write_buffer_number = 3;
  family.level_compaction_dynamic_level_bytes = true;
  family.compression = FastestCompression();
  return family;
}

class RocksStore final : public Store {
 public:
  // Takes ownership of the database and its column family handles.
  RocksStore(const RocksOptions& options, std::unique_ptr<rocksdb::DB> db,
             std::vector<rocksdb::ColumnFamilyHandle*> handles)
      : db_(std::move(db)), handles_(std::move(handles)) {
    write_options_.sync = options.sync;
  }

  ~RocksStore() override {
    for (rocksdb::ColumnFamilyHandle* handle : handles_) {
      db_->DestroyColumnFamilyHandle(handle).PermitUncheckedError();
    }
    db_->Close().PermitUncheckedError();
  }

  RocksStore(const RocksStore&) = delete;
  RocksStore& operator=(const RocksStore&) = delete;

  // Reads the metadata into memory; called once, before the store is shared.
  absl::Status Init();

  absl::Status Write(const WriteBatch& batch) override;
  absl::StatusOr<LoadStats> Load(state::Roster& roster) override;
  absl::StatusOr<std::vector<LogEntry>> ReadLog(uint64_t from, size_t max_entries) const override;
  uint64_t LogStart() const override;
  absl::StatusOr<std::unique_ptr<RecordSnapshot>> Snapshot() const override;
  uint64_t revision() const override;
  absl::Status Flush() override;

 private:
  rocksdb::ColumnFamilyHandle* records() const { return handles_[0]; }
  rocksdb::ColumnFamilyHandle* log() const { return handles_[1]; }

  // After a failed write RocksDB refuses writes until it is resumed: by its own recovery after
  // a full disk, or not at all after errors it cannot recover from in place.
  absl::Status Resume() ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // The oldest stored log entry at or after `revision`, 0 if none (reads the database).
  absl::StatusOr<uint64_t> FirstLogEntryAtOrAfter(uint64_t revision) const;
  // Scans one key prefix of the records family, handing each key and value to `visit`.
  template <typename Visit>
  absl::Status ScanPrefix(const rocksdb::Snapshot* snapshot, absl::string_view prefix,
                          Visit visit) const;

  const std::unique_ptr<rocksdb::DB> db_;
  const std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // {default, log}
  rocksdb::WriteOptions write_options_;

  // The writer's state: only Write and Flush touch it, and the lock makes a second caller safe.
  absl::Mutex write_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  bool failed_ ABSL_GUARDED_BY(write_mu_) = false;      // the last Write or Flush hit an error
  uint64_t newest_log_ ABSL_GUARDED_BY(write_mu_) = 0;  // 0: the log is empty
  rocksdb::WriteBatch scratch_ ABSL_GUARDED_BY(write_mu_);
  std::string key_ ABSL_GUARDED_BY(write_mu_);
  std::string value_ ABSL_GUARDED_BY(write_mu_);

  // What readers see, moved only after a successful Write.
  mutable absl::Mutex mu_;
  uint64_t revision_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t log_start_ ABSL_GUARDED_BY(mu_) = 0;  // 0: the log is empty
};

absl::Status RocksStore::Init() {
  absl::MutexLock write_lock(&write_mu_);
  absl::MutexLock lock(&mu_);
  std::string value;
  const rocksdb::ReadOptions read;
  for (auto [key, field] :
       {std::pair{keys::kRevision, &revision_}, std::pair{keys::kLogStart, &log_start_}}) {
    rocksdb::Status status = db_->Get(read, records(), ToSlice(key), &value);
    if (status.IsNotFound()) continue;
    RETURN_IF_ERROR(FromRocks(status, "reading store metadata"));
    if (!keys::ParseUint64(value, field)) {
      return absl::DataLossError(absl::StrCat("stored ", key, " is malformed"));
    }
  }
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read, log()));
  it->SeekToLast();
  RETURN_IF_ERROR(FromRocks(it->status(), "reading the change log"));
  if (it->Valid() && !keys::ParseUint64(ToView(it->key()), &newest_log_)) {
    return absl::DataLossError("stored change log key is malformed");
  }
  if ((newest_log_ == 0) != (log_start_ == 0) || log_start_ > newest_log_) {
    return absl::DataLossError(absl::StrCat("stored log start ", log_start_,
                                            " disagrees with the newest log entry ", newest_log_));
  }
  return absl::OkStatus();
}

absl::Status RocksStore::Resume() {
  const rocksdb::Status resumed = db_->Resume();
  if (resumed.IsBusy()) {
    // A full disk: RocksDB's own recovery polls for free space and resumes by itself.
    return absl::UnavailableError(
        "store is waiting for disk space after a failed write; it resumes on its own");
  }
  if (!resumed.ok()) {
    // Not recoverable in place (e.g. a failed fsync): the WAL's state is unknown.
    return FromRocks(resumed, "store stopped after an I/O error; reopen it to recover");
  }
  failed_ = false;
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> RocksStore::FirstLogEntryAtOrAfter(uint64_t revision) const {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), log()));
  it->Seek(keys::Uint64(revision));
  RETURN_IF_ERROR(FromRocks(it->status(), "reading the change log"));
  uint64_t found = 0;
  if (it->Valid() && !keys::ParseUint64(ToView(it->key()), &found)) {
    return absl::DataLossError("stored change log key is malformed");
  }
  return found;
}

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
  if (failed_) RETURN_IF_ERROR(Resume());

  // The log bounds after this batch: appends move the newest entry, compaction the oldest.
  uint64_t new_start = log_start;
  uint64_t new_newest = newest_log_;
  if (!batch.log.empty()) {
    if (new_start == 0) new_start = batch.log.front().revision;
    new_newest = batch.log.back().revision;
  }
  const uint64_t compact = batch.compact_log_before;
  const bool compacts = compact != 0 && new_start != 0 && new_start < compact;
  if (compacts) {
    if (compact > new_newest) {
      new_start = new_newest = 0;
    } else {
      // Entries need not be contiguous: the new start is the first survivor, stored or new.
      ASSIGN_OR_RETURN(uint64_t stored, FirstLogEntryAtOrAfter(compact));
      auto appended = std::lower_bound(
          batch.log.begin(), batch.log.end(), compact,
          [](const LogEntry& entry, uint64_t bound) { return entry.revision < bound; });
      new_start = stored;
      if (appended != batch.log.end() && (stored == 0 || appended->revision < stored)) {
        new_start = appended->revision;
      }
    }
  }

  rocksdb::WriteBatch& wb = scratch_;
  wb.Clear();
  // Building a batch fails only past a size limit (none is set); keep the first error anyway.
  rocksdb::Status status;
  auto add = [&status](const rocksdb::Status& added) {
    if (status.ok()) status = added;
  };
  for (const state::Sid& sid : batch.erased_participants) {
    keys::ParticipantKey(sid, &key_);
    add(wb.Delete(records(), key_));
  }
  for (const state::Sid& sid : batch.erased_rooms) {
    keys::RoomKey(sid, &key_);
    add(wb.Delete(records(), key_));
  }
  for (const auto& [account_sid, event_id] : batch.erased_dedupe) {
    keys::DedupeKey(account_sid, event_id, &key_);
    add(wb.Delete(records(), key_));
  }
  for (const state::Sid& sid : batch.erased_tracks) {
    keys::TrackKey(sid, &key_);
    add(wb.Delete(records(), key_));
  }
  for (const state::Sid& sid : batch.erased_rules) {
    keys::RulesKey(sid, &key_);
    add(wb.Delete(records(), key_));
  }
  for (const auto& [subscriber, track] : batch.erased_subscriptions) {
    keys::SubscriptionKey(subscriber, track, &key_);
    add(wb.Delete(records(), key_));
  }
  for (const state::PublishedTrack& track : batch.tracks) {
    keys::TrackKey(track.sid, &key_);
    Encode(track, &value_);
    add(wb.Put(records(), key_, value_));
  }
  for (const state::SubscribeRules& rules : batch.rules) {
    keys::RulesKey(rules.participant_sid, &key_);
    Encode(rules, &value_);
    add(wb.Put(records(), key_, value_));
  }
  for (const state::SubscribedTrack& subscribed : batch.subscriptions) {
    keys::SubscriptionKey(subscribed.participant_sid, subscribed.sid, &key_);
    Encode(subscribed, &value_);
    add(wb.Put(records(), key_, value_));
  }
  for (const state::Room& room : batch.rooms) {
    keys::RoomKey(room.sid, &key_);
    Encode(room, &value_);
    add(wb.Put(records(), key_, value_));
  }
  for (const state::Participant& participant : batch.participants) {
    keys::ParticipantKey(participant.sid, &key_);
    Encode(participant, &value_);
    add(wb.Put(records(), key_, value_));
  }
  for (const state::DedupeEntry& entry : batch.dedupe) {
    keys::DedupeKey(entry.account_sid, entry.event_id, &key_);
    Encode(entry, &value_);
    add(wb.Put(records(), key_, value_));
  }
  for (const LogEntry& entry : batch.log) {
    keys::LogKey(entry.revision, &key_);
    add(wb.Put(log(), key_, entry.payload));
  }
  if (compacts) {
    keys::LogKey(compact, &key_);
    add(wb.DeleteRange(log(), keys::Uint64(0), key_));
  }
  if (batch.revision != 0 && batch.revision != revision) {
    add(wb.Put(records(), ToSlice(keys::kRevision), keys::Uint64(batch.revision)));
  }
  if (new_start != log_start) {
    add(new_start == 0 ? wb.Delete(records(), ToSlice(keys::kLogStart))
                       : wb.Put(records(), ToSlice(keys::kLogStart), keys::Uint64(new_start)));
  }
  RETURN_IF_ERROR(FromRocks(status, "building the write batch"));

  if (wb.Count() == 0) return absl::OkStatus();  // e.g. compaction of nothing: skip the fsync

  status = db_->Write(write_options_, &wb);
  if (wb.GetDataSize() > kMaxRetainedBatchBytes) scratch_ = rocksdb::WriteBatch();
  if (!status.ok()) {
    failed_ = true;
    return FromRocks(status, "writing to the store");
  }
  newest_log_ = new_newest;
  absl::MutexLock lock(&mu_);
  if (batch.revision != 0) revision_ = batch.revision;
  log_start_ = new_start;
  return absl::OkStatus();
}

template <typename Visit>
absl::Status RocksStore::ScanPrefix(const rocksdb::Snapshot* snapshot, absl::string_view prefix,
                                    Visit visit) const {
  const std::string end = keys::PrefixEnd(prefix);
  const rocksdb::Slice upper_bound(end);
  rocksdb::ReadOptions read;
  read.snapshot = snapshot;
  read.fill_cache = false;  // a one-off scan: keep the cache for the blocks reads will want
  read.readahead_size = kLoadReadaheadBytes;
  read.iterate_upper_bound = &upper_bound;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read, records()));
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
  rocksdb::ManagedSnapshot snapshot(db_.get());
  LoadStats stats;
  stats.revision = revision();

  // A record must sit under its own key: a mismatch is damage the codec cannot see.
  std::string expected;
  auto check_key = [&expected](absl::string_view key) {
    if (key == expected) return absl::OkStatus();
    return absl::DataLossError("stored record does not match its key");
  };
  // Rooms first: the roster re-derives a room's participants' timers when a room arrives after
  // them, which costs nothing when none are there yet.
  state::Room room;
  RETURN_IF_ERROR(ScanPrefix(snapshot.snapshot(), keys::kRoomPrefix,
                             [&](absl::string_view key, absl::string_view value) {
                               RETURN_IF_ERROR(Decode(value, &room));
                               keys::RoomKey(room.sid, &expected);
                               RETURN_IF_ERROR(check_key(key));
                               roster.Restore(room);
                               ++stats.rooms;
                               return absl::OkStatus();
                             }));
  state::Participant participant;
  RETURN_IF_ERROR(ScanPrefix(snapshot.snapshot(), keys::kParticipantPrefix,
                             [&](absl::string_view key, absl::string_view value) {
                               RETURN_IF_ERROR(Decode(value, &participant));
                               keys::ParticipantKey(participant.sid, &expected);
                               RETURN_IF_ERROR(check_key(key));
                               roster.Restore(participant);
                               ++stats.participants;
                               return absl::OkStatus();
                             }));
  // Tracks, rule sets and subscriptions: each keyed by its own SIDs, restored in any order.
  auto load = [&]<typename Record>(absl::string_view prefix, Record& record, auto key_of,
                                   size_t& count) {
    return ScanPrefix(snapshot.snapshot(), prefix,
                      [&](absl::string_view key, absl::string_view value) {
                        RETURN_IF_ERROR(Decode(value, &record));
                        key_of(record, &expected);
                        RETURN_IF_ERROR(check_key(key));
                        roster.Restore(record);
                        ++count;
                        return absl::OkStatus();
                      });
  };
  state::PublishedTrack track;
  RETURN_IF_ERROR(load(
      keys::kTrackPrefix, track,
      [](const state::PublishedTrack& t, std::string* out) { keys::TrackKey(t.sid, out); },
      stats.tracks));
  state::SubscribeRules rules;
  RETURN_IF_ERROR(load(
      keys::kRulesPrefix, rules,
      [](const state::SubscribeRules& r, std::string* out) {
        keys::RulesKey(r.participant_sid, out);
      },
      stats.rules));
  state::SubscribedTrack subscribed;
  RETURN_IF_ERROR(load(
      keys::kSubscriptionPrefix, subscribed,
      [](const state::SubscribedTrack& s, std::string* out) {
        keys::SubscriptionKey(s.participant_sid, s.sid, out);
      },
      stats.subscriptions));
  std::vector<state::DedupeEntry> dedupe;
  RETURN_IF_ERROR(ScanPrefix(snapshot.snapshot(), keys::kDedupePrefix,
                             [&](absl::string_view key, absl::string_view value) {
                               state::DedupeEntry& entry = dedupe.emplace_back();
                               RETURN_IF_ERROR(Decode(value, &entry));
                               keys::DedupeKey(entry.account_sid, entry.event_id, &expected);
                               return check_key(key);
                             }));
  internal::SortForRestore(dedupe);
  for (const state::DedupeEntry& entry : dedupe) roster.Restore(entry);
  stats.dedupe = dedupe.size();
  roster.FinishRestore();
  roster.RestoreRevision(stats.revision);
  return stats;
}

absl::StatusOr<std::vector<LogEntry>> RocksStore::ReadLog(uint64_t from, size_t max_entries) const {
  std::vector<LogEntry> entries;
  if (max_entries == 0) return entries;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), log()));
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

// The records at one RocksDB snapshot, read through one iterator per record kind.
class RocksSnapshot final : public RecordSnapshot {
 public:
  RocksSnapshot(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* records)
      : db_(db),
        records_(records),
        snapshot_(db),
        room_end_(keys::PrefixEnd(keys::kRoomPrefix)),
        participant_end_(keys::PrefixEnd(keys::kParticipantPrefix)),
        room_bound_(room_end_),
        participant_bound_(participant_end_) {}

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
    return Read(rooms_, keys::kRoomPrefix, &room_bound_, max, out);
  }
  absl::Status ReadParticipants(size_t max, std::vector<state::Participant>* out) override {
    return Read(participants_, keys::kParticipantPrefix, &participant_bound_, max, out);
  }
  void RestartParticipants() override { participants_.reset(); }

 private:
  template <typename Record>
  absl::Status Read(std::unique_ptr<rocksdb::Iterator>& it, absl::string_view prefix,
                    const rocksdb::Slice* end, size_t max, std::vector<Record>* out) {
    if (it == nullptr) {
      rocksdb::ReadOptions read;
      read.snapshot = snapshot_.snapshot();
      read.fill_cache = false;
      read.iterate_upper_bound = end;  // outlives the iterator: a member
      it.reset(db_->NewIterator(read, records_));
      it->Seek(ToSlice(prefix));
    }
    for (; it->Valid() && max > 0; it->Next(), --max) {
      RETURN_IF_ERROR(Decode(ToView(it->value()), &out->emplace_back()));
    }
    return FromRocks(it->status(), absl::StrCat("reading ", prefix, " records"));
  }

  rocksdb::DB* const db_;
  rocksdb::ColumnFamilyHandle* const records_;
  rocksdb::ManagedSnapshot snapshot_;
  const std::string room_end_;
  const std::string participant_end_;
  const rocksdb::Slice room_bound_;
  const rocksdb::Slice participant_bound_;
  uint64_t revision_ = 0;
  std::unique_ptr<rocksdb::Iterator> rooms_;
  std::unique_ptr<rocksdb::Iterator> participants_;
};

absl::StatusOr<std::unique_ptr<RecordSnapshot>> RocksStore::Snapshot() const {
  auto snapshot = std::make_unique<RocksSnapshot>(db_.get(), records());
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
  rocksdb::FlushOptions flush;
  flush.wait = true;
  rocksdb::Status status = db_->Flush(flush, handles_);
  if (!status.ok()) failed_ = true;
  return FromRocks(status, "flushing the store");
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

  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.max_background_jobs = 2;
  db_options.max_total_wal_size = kMaxTotalWalBytes;
  db_options.bytes_per_sync = 1 << 20;  // smooths flush and compaction writeback
  db_options.keep_log_file_num = 4;
  db_options.max_log_file_size = 8 << 20;
  if (options.env != nullptr) db_options.env = options.env;

  const std::shared_ptr<rocksdb::Cache> cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  const std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, FamilyOptions(cache, /*bloom=*/true)},
      {std::string(keys::kLogColumnFamily), FamilyOptions(cache, /*bloom=*/false)},
  };
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  RETURN_IF_ERROR(FromRocks(rocksdb::DB::Open(db_options, options.path, families, &handles, &raw),
                            absl::StrCat("opening store ", options.path)));
  auto store =
      std::make_unique<RocksStore>(options, std::unique_ptr<rocksdb::DB>(raw), std::move(handles));
  RETURN_IF_ERROR(store->Init());
  return store;
}

}  // namespace rollcall::store
