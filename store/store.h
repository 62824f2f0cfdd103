// Store: durable storage for rollcall's records, head revision and change log (docs/api.md,
// revisions and watch; docs/architecture.md, the path of an event), behind an interface with two
// implementations: RocksDB, the embedded default, and MemoryStore, an in-memory fake with the same
// semantics for fast tests.
//
// Contract
//  - One writer. The service's applier thread is the only caller of Write, Load and Flush;
//    ReadLog, LogStart and revision may be called from any thread, concurrently with Write.
//  - Write is all-or-nothing: every change of a WriteBatch becomes visible, and survives a
//    crash, together, or none does. Within a batch the erasures apply before the upserts (a key
//    both erased and upserted ends up upserted), and log compaction applies after the appends.
//  - Durability: with `sync` on (the default), a Write that returns OK is in the fsynced
//    write-ahead log and survives a process kill and a power loss. With `sync` off it survives
//    a process kill only.
//  - Failure: an I/O error, including a full disk, returns UNAVAILABLE naming the cause and
//    applies nothing: reads, revision() and LogStart() still show the state before the batch.
//    Writable() then reports the same cause, and every Write fails fast with it, until the store
//    has recovered by itself: a recovery thread retries every RocksOptions::recovery_interval,
//    first in place (DB::Resume: after a full disk, once the memtables fit again), then by closing
//    and reopening the database (after errors RocksDB cannot resume from, e.g. a failed fsync).
//    The writable listener hears each change. A failed batch was never acknowledged, but if its
//    bytes reached the disk before the error (a write that landed, then an fsync that failed), a
//    reopen may recover it, as after a crash just before the acknowledgement; the store then stays
//    UNAVAILABLE until the process restarts and reloads it, so no revision is ever reused.
//  - Reads never stop: a store that cannot be opened for writing at start-up (a full disk) opens
//    read-only, serves Load and ReadLog, and reports not writable until a reopen succeeds.
//  - A stored value that does not decode is DATA_LOSS. A batch that breaks Write's rules (log
//    revisions not ascending, the head revision going backwards) is rejected before any I/O.
//  - Damage is refused at open, never served short (see "Damage" below).
//
// RocksDB layout
//
//   column family "default": records and metadata; a key is a one-byte tag, ':' and a body
//   +-------------------------------------------+--------------------------------------------+
//   | key                                       | value                                      |
//   +-------------------------------------------+--------------------------------------------+
//   | "m:revision"                              | head revision, uint64 big-endian (8 bytes) |
//   | "m:log_start"                             | oldest log entry's revision, uint64 BE;    |
//   |                                           | absent while the change log is empty       |
//   | "m:probe"                                 | empty; written (synced) to test that writes |
//   |                                           | work again after a failure                 |
//   | "m:format"                                | layout version, uint64 big-endian (see     |
//   |                                           | "Format" below)                            |
//   | "d:" | account bytes (16) | event_id (1+) | DedupeRecord                               |
//   | "p:" | participant sid bytes (16)         | ParticipantRecord                          |
//   | "r:" | room sid bytes (16)                | RoomRecord                                 |
//   | "s:" | participant sid bytes (16)         | SubscribeRulesRecord (non-default sets)    |
//   | "t:" | track sid bytes (16)               | TrackRecord                                |
//   | "u:" | subscriber (16) | track sid (16)   | SubscribedTrackRecord                      |
//   +-------------------------------------------+--------------------------------------------+
//   Keys hold a SID's 16 raw bytes only: the tag implies its prefix (AC, PA, RM, MT).
//   TrackRecord, SubscribeRulesRecord and SubscribedTrackRecord follow the conventions below;
//   store/records.proto lists their fields.
//
//   column family "log": the change log, one entry per revision, kept apart so that scanning
//   records at start-up never reads log payloads, and log compaction's range tombstones never
//   sit in front of record reads
//   +-------------------------------------------+--------------------------------------------+
//   | revision, uint64 big-endian (8 bytes)     | LogEntry::payload (see "Change-log         |
//   |                                           | entries" below)                            |
//   +-------------------------------------------+--------------------------------------------+
//   Big-endian, so byte order is revision order: ReadLog is one Seek and a forward scan, and
//   compaction is one DeleteRange.
//
// Record encoding (store/records.proto, proto3; store/codec.cc is the only converter)
//
//   ParticipantRecord               RoomRecord                         DedupeRecord
//   -----------------------------   --------------------------------   -------------------------
//    1 sid                 sid        1 sid                    sid       1 account_sid     sid
//    2 account_sid         sid        2 account_sid            sid       2 event_id        bytes
//    3 room_sid            sid        3 unique_name            bytes     3 fingerprint     fixed64
//    4 identity            bytes      4 status                 enum      4 revision        uint64
//    5 status              enum       5 date_created           time      5 participant_sid sid
//    6 date_created        time       6 date_updated           time      6 recorded_at     time
//    7 date_updated        time       7 end_time               time?
//    8 start_time          time       8 duration               int64?
//    9 end_time            time?      9 max_participants       int32
//   10 duration            int64?    10 max_participant_dur..  int64
//   11 disconnect_reason   enum      11 empty_room_timeout     int32
//   12 revision            uint64    12 unused_room_timeout    int32
//   13 last_event_time     time      13 status_callback        bytes
//   14 reconnecting_since  time?     14 status_callback_method bytes
//                                    15 ad_hoc                 bool
//                                    16 revision               uint64
//
//   sid    bytes: empty for the empty Sid, else prefix (2 ASCII) | raw bytes (16), 18 bytes
//   time   sfixed64 unix nanoseconds; absl::InfinitePast / InfiniteFuture are INT64_MIN / MAX,
//          so every absl::Time made from unix nanoseconds round-trips exactly
//   T?     a proto3 `optional` field, absent for std::nullopt (zero is a value, not absence)
//   enum   uint32 holding the state:: enumerator; out of range reads as DATA_LOSS

// Change-log entries (store/codec.h: EncodeLogPayload, DecodeLogPayload)
//
//   +--------------------+--------------------+----------------------------------------------+
//   | account SID (18)   | room SID (18)      | ChangeSetRecord: the revision's changes       |
//   +--------------------+--------------------+----------------------------------------------+
//   A SID in this header is its 2 prefix bytes (zero when none) and its 16 raw bytes: fixed
//   width, so watchers are filtered by account and room without decoding the changes (every
//   revision touches one room). ChangeSetRecord holds one ChangeRecord per change, in order:
//   revision, type, time, previous_status and the resource after the change as its own record
//   (ParticipantRecord, RoomRecord, TrackRecord, SubscribeRulesRecord or
//   SubscribedTrackRecord, as above). Domain records, never API messages: the service renders
//   rollcall.v1 from them when it sends them (docs/architecture.md), so history and live reads
//   agree whatever the public base URL or the API version. Write and ReadLog carry the payload
//   as bytes; only VerifyRocksStore decodes it here.
//
// Format
//
//   "m:format" holds the layout version, kStoreFormat for what this code writes; Open writes it
//   into a new store. Format 1, the stores written before the key existed, kept rendered
//   rollcall.v1.WatchResponse messages in the change log, which this code cannot decode. Open
//   migrates such a store in one synced write batch: records, head revision, dedupe keys and
//   callbacks stay; the whole change log is deleted and "m:log_start" removed, so LogStart() is
//   the head + 1 and a watcher resuming from older history gets OUT_OF_RANGE (then re-syncs
//   with an initial state) rather than old bytes; "m:format" is written. One WARN line says how
//   many revisions of history were dropped. The damage checks below come first: a damaged store
//   is refused, not migrated. A store that cannot write then (it opened read-only on a full
//   disk, or the migration's write failed) hides its old change log from readers, and the
//   recovery that makes it writable migrates it before any Write. A format newer than
//   kStoreFormat is refused before anything is written, FAILED_PRECONDITION naming both: run a
//   newer rollcalld.
//
// Damage
//
//   RocksDB alone cannot tell a damaged write-ahead log or MANIFEST from a crash: recovery stops
//   at the first bad record (kPointInTimeRecovery) and opens a consistent but older store. So the
//   store keeps a durable marker outside RocksDB, the file ROLLCALL-MARKER in the data directory:
//
//     +----------------+------------------------------+------------------------------+
//     | "RCMARK01" (8) | acknowledged revision, BE (8) | bitwise NOT of it, BE (8)    |
//     +----------------+------------------------------+------------------------------+
//
//   rewritten in place (one 24-byte pwrite, no fsync) after every synced Write, so it never runs
//   ahead of what is durable; with --sync=false only after Flush. Open first opens the database
//   read-only, which changes no file, and refuses (DATA_LOSS naming the files and what to do)
//   when the recovered revision is below the marker's, when the marker exists but the database
//   does not, when a table file fails its checksums (RocksOptions::verify_table_files), or when
//   a record fails to decode while Load reads them all. Only then is it
//   opened for writing (which would flush the recovered state and delete files it no longer
//   references). RocksOptions::accept_data_loss opens a damaged store anyway: the head revision
//   is moved up to the marker's and the change log emptied, so no revision number is reused and
//   watchers resume with a fresh initial state. VerifyRocksStore checks a directory offline.
#ifndef ROLLCALL_STORE_STORE_H_
#define ROLLCALL_STORE_STORE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "state/callbacks.h"
#include "state/records.h"
#include "state/roster.h"
#include "state/sid.h"

namespace rocksdb {
class Env;
}  // namespace rocksdb

namespace rollcall::store {

// The layout version this code reads and writes (see "Format" above).
inline constexpr uint64_t kStoreFormat = 2;

// One change-log entry: a revision and its changes, encoded by store/codec.h's EncodeLogPayload
// (see "Change-log entries" above). The store carries the payload as bytes.
struct LogEntry {
  uint64_t revision = 0;
  std::string payload;

  friend bool operator==(const LogEntry&, const LogEntry&) = default;
};

// Everything one group commit writes, atomically.
struct WriteBatch {
  uint64_t revision = 0;  // the head revision after this batch (0: unchanged)
  std::vector<state::Participant> participants;       // upserts
  std::vector<state::Room> rooms;                     // upserts
  std::vector<state::DedupeEntry> dedupe;             // upserts
  std::vector<state::PublishedTrack> tracks;          // upserts
  std::vector<state::SubscribeRules> rules;           // upserts
  std::vector<state::SubscribedTrack> subscriptions;  // upserts
  std::vector<LogEntry> log;                          // appended, ascending revisions
  // Status callbacks owed (pending until FinishCallback), and each room's next sequence number.
  std::vector<state::Callback> callbacks;
  std::vector<std::pair<state::Sid, uint64_t>> callback_sequences;  // (room, next sequence)
  std::vector<state::Sid> erased_participants;
  std::vector<state::Sid> erased_rooms;  // with their callbacks: pending, failed, sequence
  std::vector<state::Sid> erased_tracks;
  std::vector<state::Sid> erased_rules;                                 // participant SIDs
  std::vector<std::pair<state::Sid, state::Sid>> erased_subscriptions;  // (subscriber, track)
  uint64_t compact_log_before = 0;  // delete log entries with revision < this (0: none)
  // Forget the remembered events recorded before this (--dedupe_window); InfinitePast: none.
  // The roster keeps only digests of event ids (state/roster.h), so the store cannot be told
  // which keys to erase: it finds them by this rule instead. MemoryStore forgets them all at
  // once; RocksStore sweeps a bounded slice of its "d:" keys per batch
  // (RocksOptions::dedupe_sweep_keys) and goes round again, so an expired key outlives its
  // expiry by at most a few maintenance rounds. An id the store still holds past its expiry
  // is forgotten again by the roster after a restart: it never answers DUPLICATE late.
  absl::Time dedupe_recorded_before = absl::InfinitePast();

  // True when the batch would change nothing; writing it does no I/O.
  bool empty() const;
};

// The status callbacks a store holds that are not delivered yet, for the delivering side to
// take over at start-up (Store::LoadCallbacks).
struct CallbackBacklog {
  std::vector<state::Callback> pending;  // by room, each room's in sequence order
  absl::flat_hash_map<state::Sid, uint64_t> next_sequence;  // every room that ever owed one
};

// Where a listing of failed callbacks goes on: after this room and sequence.
struct FailedCallbackCursor {
  state::Sid room_sid;
  uint64_t sequence = 0;
};

struct LoadStats {
  size_t rooms = 0, participants = 0, dedupe = 0;
  size_t tracks = 0, rules = 0, subscriptions = 0;
  uint64_t revision = 0;
};

// A consistent, read-only view of the records at one revision, read piece by piece with no
// lock held between reads: a RocksDB snapshot (a copy in MemoryStore). The writer never waits
// for a reader. Each Read* call continues where the previous one stopped and appends up to
// `max` records to `out`; it appends nothing once the scan is done. The Store must outlive it.
class RecordSnapshot {
 public:
  virtual ~RecordSnapshot() = default;
  // The head revision the view reflects.
  virtual uint64_t revision() const = 0;
  virtual absl::Status ReadRooms(size_t max, std::vector<state::Room>* out) = 0;
  virtual absl::Status ReadParticipants(size_t max, std::vector<state::Participant>* out) = 0;
  // Starts the participant scan again from the first participant.
  virtual void RestartParticipants() = 0;
  // Published tracks of any status.
  virtual absl::Status ReadTracks(size_t max, std::vector<state::PublishedTrack>* out) = 0;
  // The stored rule sets: those replaced from the default (see state::SubscribeRules).
  virtual absl::Status ReadRules(size_t max, std::vector<state::SubscribeRules>* out) = 0;
  virtual absl::Status ReadSubscriptions(size_t max, std::vector<state::SubscribedTrack>* out) = 0;
};

class Store {
 public:
  virtual ~Store() = default;

  // Applies the batch atomically; durable before returning when sync is on. An I/O error
  // (including a full disk) returns UNAVAILABLE and leaves nothing of the batch applied.
  // INVALID_ARGUMENT, writing nothing, when the batch's revision is below revision(), or its
  // log revisions are not ascending, after the newest stored entry and at most the new head.
  virtual absl::Status Write(const WriteBatch& batch) = 0;

  // Restores every room, participant, dedupe entry and the revision into an empty roster
  // (FAILED_PRECONDITION otherwise). Rooms come first, then participants; the rest (dedupe
  // entries among them) in any order.
  virtual absl::StatusOr<LoadStats> Load(state::Roster& roster) = 0;

  // Log entries with revision >= from, ascending, at most max_entries of them. Compaction may
  // run between LogStart() and ReadLog(), so a caller that needs `from` itself checks that the
  // first entry returned is `from`.
  virtual absl::StatusOr<std::vector<LogEntry>> ReadLog(uint64_t from,
                                                        size_t max_entries) const = 0;

  // The oldest revision still in the change log; revision()+1 when the log is empty.
  virtual uint64_t LogStart() const = 0;

  // A consistent view of every record as of the head revision (any thread).
  virtual absl::StatusOr<std::unique_ptr<RecordSnapshot>> Snapshot() const = 0;

  // The head revision written so far.
  virtual uint64_t revision() const = 0;

  // Flushes memtables so a restart replays little; called on clean shutdown.
  virtual absl::Status Flush() = 0;

  // OK when a Write can succeed as far as the store knows, else UNAVAILABLE naming the cause
  // (a full disk, a failed fsync, a store opened read-only). Thread-safe, never blocks on I/O.
  virtual absl::Status Writable() const { return absl::OkStatus(); }
  // Called with the new Writable() each time it changes, from whichever thread changed it.
  // Set before the store is shared.
  virtual void SetWritableListener(std::function<void(const absl::Status&)> listener) {
    (void)listener;
  }

  // Status callbacks (docs/callbacks.md). Write stores the pending ones with the change that
  // owes them; the delivering thread reads them back at start-up and finishes each here,
  // concurrently with Write.
  //
  // Every pending callback and each room's next sequence number.
  virtual absl::StatusOr<CallbackBacklog> LoadCallbacks() const = 0;
  // A room's pending callbacks from `from_sequence` on, in order, at most `max`.
  virtual absl::StatusOr<std::vector<state::Callback>> ReadCallbacks(const state::Sid& room_sid,
                                                                     uint64_t from_sequence,
                                                                     size_t max) const = 0;
  // Removes a pending callback: delivered, or given up on when `failed` is set (then kept in the
  // failed list). Not synced (a crash may lose it, and the callback is delivered once more); not
  // an error when the callback is not pending. UNAVAILABLE when the store cannot write.
  virtual absl::Status FinishCallback(const state::Sid& room_sid, uint64_t sequence,
                                      const state::FailedCallback* failed) = 0;
  // Failed callbacks of `account_sid`'s rooms (every account's when it is empty), in (room,
  // sequence) order after `after` (from the first when null), at most `max`.
  virtual absl::StatusOr<std::vector<state::FailedCallback>> ListFailedCallbacks(
      const state::Sid& account_sid, const FailedCallbackCursor* after, size_t max) const = 0;

  // Writes a consistent copy of the store, as of one revision, into `directory` (which must not
  // exist yet) while writes go on; returns that revision. The copy is a data directory of its
  // own: a server started on it (or on a copy of it) serves that revision.
  virtual absl::StatusOr<uint64_t> Backup(const std::string& directory) {
    (void)directory;
    return absl::UnimplementedError("this store has no backups");
  }
};

struct RocksOptions {
  std::string path;  // directory; created if missing
  bool sync = true;  // fsync the WAL on every Write (--sync)
  size_t block_cache_bytes = 64 << 20;
  rocksdb::Env* env = nullptr;  // for tests (fault injection); nullptr = default
  // How often a store that cannot write tries to recover (reopens back off up to 5 times it).
  absl::Duration recovery_interval = absl::Seconds(1);
  // Open a store whose damage would otherwise be refused (see "Damage" above).
  bool accept_data_loss = false;
  // Verify the checksum of every block of every table file at open (reads the whole store
  // once more; Load alone reads every record but not the change log).
  bool verify_table_files = true;
  // "d:" keys a batch with WriteBatch::dedupe_recorded_before reads (and erases if expired):
  // about 5 ms of the applier's time per maintenance round at the default.
  size_t dedupe_sweep_keys = 16384;
};

// Opens (creating if missing) the RocksDB store at options.path. UNAVAILABLE when the
// directory cannot be opened (another process holds its lock, permissions, I/O errors);
// DATA_LOSS, naming the damaged files and what to do, when the database, its metadata or its
// marker is damaged; FAILED_PRECONDITION when its format is newer than kStoreFormat. An older
// format is migrated (see "Format" above). A store that opens read-only (e.g. on a full disk) is
// returned with Writable() UNAVAILABLE; it becomes writable by itself once a reopen succeeds.
absl::StatusOr<std::unique_ptr<Store>> OpenRocksStore(const RocksOptions& options);

// What VerifyRocksStore found in a data directory that passed.
struct VerifyReport {
  uint64_t format = 0;           // the stored layout version (1: written before "m:format")
  LoadStats loaded;              // records and head revision
  uint64_t marker_revision = 0;  // 0: no marker file
  uint64_t log_entries = 0;      // change-log entries read and checked (decoded, unless format 1)
  uint64_t log_start = 0, log_newest = 0;
  size_t table_files = 0;  // SST files whose every block checksum was verified
  size_t pending_callbacks = 0, failed_callbacks = 0;  // status callbacks, all decoded
};

// Checks a data directory offline, changing nothing: opens it read-only as Open would (the
// marker check included), verifies the checksum of every block of every table file, decodes
// every record, and reads the whole change log (ascending, bounds as stored), decoding each
// entry and checking it holds its own revision. DATA_LOSS naming what is wrong; UNAVAILABLE
// when the directory cannot be read; FAILED_PRECONDITION for a format newer than kStoreFormat.
// A format 1 store passes with its change log read but not decoded (Open would drop it). Run it
// on a stopped server's directory or on a backup.
absl::StatusOr<VerifyReport> VerifyRocksStore(const std::string& path);

// An in-memory Store with the same semantics, for fast tests. FailWrites makes the next
// Write calls fail with `status` (nothing applied) until cleared with OkStatus(). A write hook
// runs at the start of every Write, before anything is checked: a test holds a write there (a
// slow fsync) and may set FailWrites meanwhile.
// Thread-safe: one writer and any number of concurrent readers.
class MemoryStore final : public Store {
 public:
  MemoryStore() = default;

  absl::Status Write(const WriteBatch& batch) override;
  absl::StatusOr<LoadStats> Load(state::Roster& roster) override;
  absl::StatusOr<std::vector<LogEntry>> ReadLog(uint64_t from, size_t max_entries) const override;
  uint64_t LogStart() const override;
  absl::StatusOr<std::unique_ptr<RecordSnapshot>> Snapshot() const override;
  uint64_t revision() const override;
  absl::Status Flush() override;
  absl::StatusOr<CallbackBacklog> LoadCallbacks() const override;
  absl::StatusOr<std::vector<state::Callback>> ReadCallbacks(const state::Sid& room_sid,
                                                             uint64_t from_sequence,
                                                             size_t max) const override;
  absl::Status FinishCallback(const state::Sid& room_sid, uint64_t sequence,
                              const state::FailedCallback* failed) override;
  absl::StatusOr<std::vector<state::FailedCallback>> ListFailedCallbacks(
      const state::Sid& account_sid, const FailedCallbackCursor* after, size_t max) const override;

  void FailWrites(absl::Status status);
  // Before Write is first called.
  void SetWriteHook(std::function<void(const WriteBatch&)> hook) { write_hook_ = std::move(hook); }

 private:
  using DedupeKey = std::pair<state::Sid, std::string>;  // (account, event_id)

  std::function<void(const WriteBatch&)> write_hook_;
  mutable absl::Mutex mu_;
  absl::Status fail_writes_ ABSL_GUARDED_BY(mu_);
  uint64_t revision_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<state::Sid, state::Participant> participants_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<state::Sid, state::Room> rooms_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<DedupeKey, state::DedupeEntry> dedupe_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<state::Sid, state::PublishedTrack> tracks_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<state::Sid, state::SubscribeRules> rules_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::pair<state::Sid, state::Sid>, state::SubscribedTrack> subscriptions_
      ABSL_GUARDED_BY(mu_);
  std::map<uint64_t, std::string> log_ ABSL_GUARDED_BY(mu_);
  using CallbackKey = std::pair<state::Sid, uint64_t>;  // (room, sequence)
  std::map<CallbackKey, state::Callback> callbacks_ ABSL_GUARDED_BY(mu_);
  std::map<CallbackKey, state::FailedCallback> failed_callbacks_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<state::Sid, uint64_t> callback_sequences_ ABSL_GUARDED_BY(mu_);
};

}  // namespace rollcall::store

#endif  // ROLLCALL_STORE_STORE_H_
