// The Store contract (store/store.h), run against both implementations: MemoryStore and the
// RocksDB store in a fresh directory. For RocksDB, "reopen" closes the database and opens the
// directory again, and a failed disk is a FileSystem whose writes fail with NoSpace.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "rocksdb/io_status.h"
#include "state/limits.h"
#include "state/roster.h"
#include "store/store.h"
#include "tests/store/fault_file_system.h"
#include "tests/store/records_for_tests.h"
#include "tests/store/scratch_dir.h"

namespace rollcall::store {
namespace {

using test_records::Account;
using test_records::At;
using test_records::ParticipantSid;
using test_records::RoomSid;

class MemoryHarness {
 public:
  MemoryHarness() = default;
  Store& store() { return store_; }
  void Reopen() {}  // nothing to close: the same instance is the whole "disk"
  void BreakDisk() { store_.FailWrites(absl::UnavailableError("simulated full disk")); }
  void HealDisk() { store_.FailWrites(absl::OkStatus()); }

 private:
  MemoryStore store_;
};

class RocksHarness {
 public:
  RocksHarness() : env_(fault_injection::NewFaultEnv()) { Open(); }
  Store& store() { return *store_; }
  void Reopen() {
    store_.reset();
    Open();
  }
  void BreakDisk() { env_.second->FailWrites(rocksdb::IOStatus::NoSpace("simulated full disk")); }
  void HealDisk() { env_.second->Heal(); }

 private:
  void Open() {
    absl::StatusOr<std::unique_ptr<Store>> opened =
        OpenRocksStore(RocksOptions{.path = dir_.Sub("db"), .sync = true, .env = env_.first.get()});
    ASSERT_TRUE(opened.ok()) << opened.status();
    store_ = *std::move(opened);
  }

  test_records::ScratchDir dir_;
  std::pair<std::unique_ptr<rocksdb::Env>, std::shared_ptr<fault_injection::Faults>> env_;
  std::unique_ptr<Store> store_;
};

LogEntry Entry(uint64_t revision) {
  return LogEntry{.revision = revision, .payload = absl::StrCat("changes of revision ", revision)};
}

std::vector<uint64_t> Revisions(const std::vector<LogEntry>& entries) {
  std::vector<uint64_t> revisions;
  revisions.reserve(entries.size());
  for (const LogEntry& entry : entries) revisions.push_back(entry.revision);
  return revisions;
}

// Log entries first..last, and head revision last.
WriteBatch LogBatch(uint64_t first, uint64_t last) {
  WriteBatch batch;
  batch.revision = last;
  for (uint64_t r = first; r <= last; ++r) batch.log.push_back(Entry(r));
  return batch;
}

template <typename Harness>
class StoreContractTest : public ::testing::Test {
 protected:
  Store& store() { return harness_.store(); }

  void WriteOk(const WriteBatch& batch) {
    const absl::Status status = store().Write(batch);
    ASSERT_TRUE(status.ok()) << status;
  }

  std::vector<LogEntry> ReadLogOk(uint64_t from, size_t max) {
    absl::StatusOr<std::vector<LogEntry>> entries = store().ReadLog(from, max);
    EXPECT_TRUE(entries.ok()) << entries.status();
    return entries.ok() ? *std::move(entries) : std::vector<LogEntry>();
  }

  // Loads the store into a fresh roster.
  std::unique_ptr<state::Roster> LoadOk(LoadStats* stats_out = nullptr) {
    auto roster = std::make_unique<state::Roster>(state::Limits{});
    absl::StatusOr<LoadStats> stats = store().Load(*roster);
    EXPECT_TRUE(stats.ok()) << stats.status();
    if (stats.ok() && stats_out != nullptr) *stats_out = *stats;
    return roster;
  }

  // A store holding two rooms, three participants, two dedupe entries, log 1..3, revision 3.
  WriteBatch Populated() {
    WriteBatch batch = LogBatch(1, 3);
    batch.rooms = {test_records::InProgressRoom(1), test_records::CompletedRoom(2)};
    batch.participants = {test_records::ConnectedParticipant(1, 1),
                          test_records::ReconnectingParticipant(2, 1),
                          test_records::DisconnectedParticipant(3, 2)};
    batch.dedupe = {test_records::Dedupe(1, "evt-1", 1, At(1)),
                    test_records::Dedupe(1, "evt-2", 2, At(2))};
    return batch;
  }

  // Every record of `batch` is in `roster`, exactly.
  void ExpectHolds(const state::Roster& roster, const WriteBatch& batch) {
    for (const state::Room& room : batch.rooms) {
      const state::Room* found = roster.FindRoom(room.sid);
      ASSERT_NE(found, nullptr) << room.sid.ToString();
      EXPECT_EQ(*found, room);
    }
    for (const state::Participant& participant : batch.participants) {
      const state::Participant* found = roster.FindParticipant(participant.sid);
      ASSERT_NE(found, nullptr) << participant.sid.ToString();
      EXPECT_EQ(*found, participant);
    }
    for (const state::DedupeEntry& entry : batch.dedupe) {
      const std::optional<state::DedupeEntry> found =
          roster.FindDedupe(entry.account_sid, entry.event_id);
      ASSERT_NE(found, std::nullopt) << entry.event_id;
      EXPECT_EQ(*found, entry);
    }
  }

  Harness harness_;
};

using Harnesses = ::testing::Types<MemoryHarness, RocksHarness>;
class HarnessNames {
 public:
  template <typename T>
  static std::string GetName(int /*index*/) {
    return std::is_same_v<T, MemoryHarness> ? "Memory" : "Rocks";
  }
};
TYPED_TEST_SUITE(StoreContractTest, Harnesses, HarnessNames);

TYPED_TEST(StoreContractTest, EmptyStoreHasNothing) {
  EXPECT_EQ(this->store().revision(), 0u);
  EXPECT_EQ(this->store().LogStart(), 1u);
  EXPECT_TRUE(this->ReadLogOk(0, 100).empty());
  LoadStats stats;
  stats.revision = 99;
  std::unique_ptr<state::Roster> roster = this->LoadOk(&stats);
  EXPECT_EQ(stats.rooms + stats.participants + stats.dedupe, 0u);
  EXPECT_EQ(stats.revision, 0u);
  EXPECT_EQ(roster->participant_count() + roster->room_count() + roster->dedupe_count(), 0u);
  EXPECT_EQ(roster->revision(), 0u);
}

TYPED_TEST(StoreContractTest, LoadRestoresEveryRecordExactly) {
  const WriteBatch batch = this->Populated();
  this->WriteOk(batch);
  EXPECT_EQ(this->store().revision(), 3u);
  LoadStats stats;
  std::unique_ptr<state::Roster> roster = this->LoadOk(&stats);
  EXPECT_EQ(stats.rooms, 2u);
  EXPECT_EQ(stats.participants, 3u);
  EXPECT_EQ(stats.dedupe, 2u);
  EXPECT_EQ(stats.revision, 3u);
  EXPECT_EQ(roster->revision(), 3u);
  EXPECT_EQ(roster->participant_count(), 3u);
  EXPECT_EQ(roster->room_count(), 2u);
  EXPECT_EQ(roster->dedupe_count(), 2u);
  this->ExpectHolds(*roster, batch);
  // The restored roster is a working roster: its indexes know the active participants.
  EXPECT_EQ(roster->active_participant_count(), 2u);
  EXPECT_NE(roster->FindActiveByIdentity(RoomSid(1), batch.participants[0].identity), nullptr);
}

TYPED_TEST(StoreContractTest, LoadNeedsAnEmptyRoster) {
  this->WriteOk(this->Populated());
  std::unique_ptr<state::Roster> roster = this->LoadOk();
  absl::StatusOr<LoadStats> again = this->store().Load(*roster);
  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition);
}

TYPED_TEST(StoreContractTest, UpsertReplacesTheRecord) {
  this->WriteOk(this->Populated());
  WriteBatch update;
  update.revision = 4;
  update.log = {Entry(4)};
  update.participants = {test_records::DisconnectedParticipant(1, 1, 4)};
  update.rooms = {test_records::CompletedRoom(1, 4)};
  this->WriteOk(update);
  std::unique_ptr<state::Roster> roster = this->LoadOk();
  this->ExpectHolds(*roster, update);
  EXPECT_EQ(roster->participant_count(), 3u);
  EXPECT_EQ(roster->room_count(), 2u);
  EXPECT_EQ(roster->revision(), 4u);
}

TYPED_TEST(StoreContractTest, ErasuresRemoveOnlyTheirRecords) {
  const WriteBatch populated = this->Populated();
  this->WriteOk(populated);
  WriteBatch erase;
  erase.erased_participants = {ParticipantSid(3)};
  erase.erased_rooms = {RoomSid(2)};
  erase.dedupe_recorded_before = At(2);  // evt-1, not evt-2 (recorded at 2 s)
  this->WriteOk(erase);
  EXPECT_EQ(this->store().revision(), 3u);  // revision 0 in a batch leaves it unchanged

  LoadStats stats;
  std::unique_ptr<state::Roster> roster = this->LoadOk(&stats);
  EXPECT_EQ(stats.participants, 2u);
  EXPECT_EQ(stats.rooms, 1u);
  EXPECT_EQ(stats.dedupe, 1u);
  EXPECT_EQ(roster->FindParticipant(ParticipantSid(3)), nullptr);
  EXPECT_EQ(roster->FindRoom(RoomSid(2)), nullptr);
  EXPECT_EQ(roster->FindDedupe(Account(1), "evt-1"), std::nullopt);
  ASSERT_NE(roster->FindParticipant(ParticipantSid(1)), nullptr);
  EXPECT_EQ(*roster->FindParticipant(ParticipantSid(1)), populated.participants[0]);
  ASSERT_NE(roster->FindDedupe(Account(1), "evt-2"), std::nullopt);
  EXPECT_EQ(*roster->FindDedupe(Account(1), "evt-2"), populated.dedupe[1]);
}

TYPED_TEST(StoreContractTest, ErasingAnAbsentRecordIsHarmless) {
  WriteBatch erase;
  erase.erased_participants = {ParticipantSid(404)};
  erase.dedupe_recorded_before = At(100);
  this->WriteOk(erase);
  LoadStats stats;
  this->LoadOk(&stats);
  EXPECT_EQ(stats.participants + stats.dedupe, 0u);
}

TYPED_TEST(StoreContractTest, UpsertWinsOverErasureInOneBatch) {
  this->WriteOk(this->Populated());
  WriteBatch batch;
  const state::Participant replacement = test_records::DisconnectedParticipant(1, 1, 4);
  batch.erased_participants = {ParticipantSid(1)};
  batch.participants = {replacement};
  const state::DedupeEntry reused = test_records::Dedupe(1, "evt-1", 4, At(4));
  batch.dedupe_recorded_before = At(5);  // before the reused entry is recorded, after both old
  batch.dedupe = {reused};
  this->WriteOk(batch);
  std::unique_ptr<state::Roster> roster = this->LoadOk();
  ASSERT_NE(roster->FindParticipant(ParticipantSid(1)), nullptr);
  EXPECT_EQ(*roster->FindParticipant(ParticipantSid(1)), replacement);
  ASSERT_NE(roster->FindDedupe(Account(1), "evt-1"), std::nullopt);
  EXPECT_EQ(*roster->FindDedupe(Account(1), "evt-1"), reused);
}

TYPED_TEST(StoreContractTest, ReadLogHonoursRangesAndLimits) {
  this->WriteOk(LogBatch(1, 4));
  this->WriteOk(LogBatch(5, 10));
  const std::vector<LogEntry> all = this->ReadLogOk(1, 100);
  EXPECT_EQ(Revisions(all), (std::vector<uint64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}));
  for (const LogEntry& entry : all) EXPECT_EQ(entry, Entry(entry.revision));
  EXPECT_EQ(Revisions(this->ReadLogOk(0, 2)), (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ(Revisions(this->ReadLogOk(4, 3)), (std::vector<uint64_t>{4, 5, 6}));
  EXPECT_EQ(Revisions(this->ReadLogOk(9, 100)), (std::vector<uint64_t>{9, 10}));
  EXPECT_TRUE(this->ReadLogOk(11, 100).empty());
  EXPECT_TRUE(this->ReadLogOk(3, 0).empty());
  EXPECT_EQ(this->store().LogStart(), 1u);
  EXPECT_EQ(this->store().revision(), 10u);
}

TYPED_TEST(StoreContractTest, PayloadsAreOpaqueBytes) {
  WriteBatch batch;
  batch.revision = 2;
  batch.log = {LogEntry{.revision = 1, .payload = std::string("\0\xff\0", 3)},
               LogEntry{.revision = 2, .payload = ""}};
  this->WriteOk(batch);
  EXPECT_EQ(this->ReadLogOk(1, 10), batch.log);
}

TYPED_TEST(StoreContractTest, CompactionMovesLogStart) {
  this->WriteOk(LogBatch(1, 10));
  WriteBatch compact;
  compact.compact_log_before = 4;
  this->WriteOk(compact);
  EXPECT_EQ(this->store().LogStart(), 4u);
  EXPECT_EQ(Revisions(this->ReadLogOk(1, 3)), (std::vector<uint64_t>{4, 5, 6}));

  compact.compact_log_before = 2;  // behind the start: nothing to do
  this->WriteOk(compact);
  EXPECT_EQ(this->store().LogStart(), 4u);

  compact.compact_log_before = 11;  // everything: the log is empty, start is revision + 1
  this->WriteOk(compact);
  EXPECT_EQ(this->store().LogStart(), 11u);
  EXPECT_TRUE(this->ReadLogOk(0, 100).empty());

  this->WriteOk(LogBatch(11, 12));
  EXPECT_EQ(this->store().LogStart(), 11u);
  EXPECT_EQ(Revisions(this->ReadLogOk(0, 100)), (std::vector<uint64_t>{11, 12}));
}

TYPED_TEST(StoreContractTest, LogStartIsTheFirstSurvivorWhenTheLogHasGaps) {
  WriteBatch batch;
  batch.revision = 9;
  batch.log = {Entry(2), Entry(5), Entry(9)};
  this->WriteOk(batch);
  EXPECT_EQ(this->store().LogStart(), 2u);
  WriteBatch compact;
  compact.compact_log_before = 3;
  this->WriteOk(compact);
  EXPECT_EQ(this->store().LogStart(), 5u);
  EXPECT_EQ(Revisions(this->ReadLogOk(0, 100)), (std::vector<uint64_t>{5, 9}));
}

TYPED_TEST(StoreContractTest, CompactionAppliesAfterTheBatchAppends) {
  this->WriteOk(LogBatch(1, 3));
  WriteBatch batch = LogBatch(4, 6);
  batch.compact_log_before = 5;  // drops 1..3 stored and 4 appended by this very batch
  this->WriteOk(batch);
  EXPECT_EQ(this->store().LogStart(), 5u);
  EXPECT_EQ(Revisions(this->ReadLogOk(0, 100)), (std::vector<uint64_t>{5, 6}));
}

TYPED_TEST(StoreContractTest, RevisionWithoutLogMovesAnEmptyLogsStart) {
  WriteBatch batch;
  batch.revision = 5;
  this->WriteOk(batch);
  EXPECT_EQ(this->store().revision(), 5u);
  EXPECT_EQ(this->store().LogStart(), 6u);
}

TYPED_TEST(StoreContractTest, EmptyBatchChangesNothing) {
  this->WriteOk(LogBatch(1, 2));
  const WriteBatch empty;
  EXPECT_TRUE(empty.empty());
  EXPECT_FALSE(LogBatch(1, 1).empty());
  WriteBatch compact_only;
  compact_only.compact_log_before = 1;
  EXPECT_FALSE(compact_only.empty());
  this->WriteOk(empty);
  EXPECT_EQ(this->store().revision(), 2u);
  EXPECT_EQ(this->store().LogStart(), 1u);
}

TYPED_TEST(StoreContractTest, EverythingSurvivesReopen) {
  const WriteBatch populated = this->Populated();
  this->WriteOk(populated);
  this->WriteOk(LogBatch(4, 8));
  WriteBatch compact;
  compact.compact_log_before = 3;
  compact.erased_participants = {ParticipantSid(2)};
  this->WriteOk(compact);

  this->harness_.Reopen();
  EXPECT_EQ(this->store().revision(), 8u);
  EXPECT_EQ(this->store().LogStart(), 3u);
  EXPECT_EQ(Revisions(this->ReadLogOk(0, 100)), (std::vector<uint64_t>{3, 4, 5, 6, 7, 8}));
  EXPECT_EQ(this->ReadLogOk(3, 1).front(), Entry(3));
  LoadStats stats;
  std::unique_ptr<state::Roster> roster = this->LoadOk(&stats);
  EXPECT_EQ(stats.participants, 2u);
  EXPECT_EQ(roster->revision(), 8u);
  EXPECT_EQ(roster->FindParticipant(ParticipantSid(2)), nullptr);
  WriteBatch expected = populated;
  expected.participants.erase(expected.participants.begin() + 1);
  this->ExpectHolds(*roster, expected);

  // The reopened store keeps its rules: the log continues after 8.
  EXPECT_EQ(this->store().Write(LogBatch(8, 9)).code(), absl::StatusCode::kInvalidArgument);
  this->WriteOk(LogBatch(9, 9));
  EXPECT_EQ(this->store().revision(), 9u);
}

TYPED_TEST(StoreContractTest, FlushKeepsEverything) {
  const WriteBatch populated = this->Populated();
  this->WriteOk(populated);
  const absl::Status flushed = this->store().Flush();
  ASSERT_TRUE(flushed.ok()) << flushed;
  this->harness_.Reopen();
  std::unique_ptr<state::Roster> roster = this->LoadOk();
  this->ExpectHolds(*roster, populated);
  EXPECT_EQ(Revisions(this->ReadLogOk(0, 10)), (std::vector<uint64_t>{1, 2, 3}));
}

TYPED_TEST(StoreContractTest, FailedWriteAppliesNothing) {
  const WriteBatch populated = this->Populated();
  this->WriteOk(populated);

  WriteBatch doomed = LogBatch(4, 5);
  doomed.participants = {test_records::DisconnectedParticipant(1, 1, 5),
                         test_records::ConnectedParticipant(9, 1, 5)};
  doomed.rooms = {test_records::CompletedRoom(1, 5)};
  doomed.dedupe = {test_records::Dedupe(1, "evt-9", 5, At(9))};
  doomed.erased_participants = {ParticipantSid(2)};
  doomed.erased_rooms = {RoomSid(2)};
  doomed.dedupe_recorded_before = At(2);  // evt-1 only
  doomed.compact_log_before = 3;

  this->harness_.BreakDisk();
  const absl::Status failed = this->store().Write(doomed);
  EXPECT_EQ(failed.code(), absl::StatusCode::kUnavailable) << failed;
  EXPECT_EQ(this->store().revision(), 3u);
  EXPECT_EQ(this->store().LogStart(), 1u);
  EXPECT_EQ(Revisions(this->ReadLogOk(0, 100)), (std::vector<uint64_t>{1, 2, 3}));
  {
    LoadStats stats;
    std::unique_ptr<state::Roster> roster = this->LoadOk(&stats);
    EXPECT_EQ(stats.participants, 3u);
    EXPECT_EQ(stats.rooms, 2u);
    EXPECT_EQ(stats.dedupe, 2u);
    EXPECT_EQ(roster->revision(), 3u);
    this->ExpectHolds(*roster, populated);
    EXPECT_EQ(roster->FindParticipant(ParticipantSid(9)), nullptr);
  }
  // Still failing while the disk is full.
  EXPECT_EQ(this->store().Write(doomed).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(this->store().revision(), 3u);

  // With room again (and, for RocksDB, after a reopen: recovery in place is RocksStoreTest's),
  // nothing of the failed batch has come back, and the same batch now goes through in full.
  this->harness_.HealDisk();
  this->harness_.Reopen();
  EXPECT_EQ(this->store().revision(), 3u);
  EXPECT_EQ(this->store().LogStart(), 1u);
  {
    std::unique_ptr<state::Roster> roster = this->LoadOk();
    this->ExpectHolds(*roster, populated);
    EXPECT_EQ(roster->FindParticipant(ParticipantSid(9)), nullptr);
  }
  this->WriteOk(doomed);
  EXPECT_EQ(this->store().revision(), 5u);
  EXPECT_EQ(this->store().LogStart(), 3u);
  this->harness_.Reopen();
  LoadStats stats;
  std::unique_ptr<state::Roster> roster = this->LoadOk(&stats);
  EXPECT_EQ(stats.participants, 3u);  // 1 (updated), 3, 9
  EXPECT_EQ(stats.rooms, 1u);
  EXPECT_EQ(stats.dedupe, 2u);  // evt-2, evt-9
  this->ExpectHolds(*roster, doomed);
  EXPECT_EQ(Revisions(this->ReadLogOk(0, 100)), (std::vector<uint64_t>{3, 4, 5}));
}

TYPED_TEST(StoreContractTest, MalformedBatchesAreRejectedWhole) {
  this->WriteOk(this->Populated());  // revision 3, log 1..3

  WriteBatch backwards = LogBatch(4, 5);
  backwards.revision = 2;
  backwards.participants = {test_records::ConnectedParticipant(9, 1)};
  EXPECT_EQ(this->store().Write(backwards).code(), absl::StatusCode::kInvalidArgument);

  WriteBatch unordered;
  unordered.revision = 6;
  unordered.log = {Entry(5), Entry(4)};
  unordered.participants = {test_records::ConnectedParticipant(9, 1)};
  EXPECT_EQ(this->store().Write(unordered).code(), absl::StatusCode::kInvalidArgument);

  WriteBatch overlapping = LogBatch(3, 4);  // 3 is already stored
  overlapping.participants = {test_records::ConnectedParticipant(9, 1)};
  EXPECT_EQ(this->store().Write(overlapping).code(), absl::StatusCode::kInvalidArgument);

  WriteBatch ahead = LogBatch(4, 5);
  ahead.revision = 4;  // an entry for revision 5 with the head at 4
  ahead.participants = {test_records::ConnectedParticipant(9, 1)};
  EXPECT_EQ(this->store().Write(ahead).code(), absl::StatusCode::kInvalidArgument);

  EXPECT_EQ(this->store().revision(), 3u);
  EXPECT_EQ(Revisions(this->ReadLogOk(0, 100)), (std::vector<uint64_t>{1, 2, 3}));
  std::unique_ptr<state::Roster> roster = this->LoadOk();
  EXPECT_EQ(roster->FindParticipant(ParticipantSid(9)), nullptr);
}

// Loaded event ids expire by their recorded_at, whatever order the store holds them in (here
// key order is the reverse of time order); and the store forgets by the same rule.
TYPED_TEST(StoreContractTest, LoadedDedupeExpiresByTime) {
  WriteBatch batch;
  batch.revision = 3;
  batch.dedupe = {test_records::Dedupe(1, "c", 1, At(1)), test_records::Dedupe(1, "b", 2, At(2)),
                  test_records::Dedupe(1, "a", 3, At(3))};
  this->WriteOk(batch);
  std::unique_ptr<state::Roster> roster = this->LoadOk();
  EXPECT_EQ(roster->ExpireDedupe(At(2, 500000000)), 2u);
  EXPECT_EQ(roster->FindDedupe(Account(1), "c"), std::nullopt);
  EXPECT_EQ(roster->FindDedupe(Account(1), "b"), std::nullopt);
  EXPECT_NE(roster->FindDedupe(Account(1), "a"), std::nullopt);

  WriteBatch expire;
  expire.dedupe_recorded_before = At(2, 500000000);
  this->WriteOk(expire);
  LoadStats stats;
  roster = this->LoadOk(&stats);
  EXPECT_EQ(stats.dedupe, 1u);
  EXPECT_NE(roster->FindDedupe(Account(1), "a"), std::nullopt);
}

// One writer appends while readers follow the log from LogStart(): every read sees a gap-free,
// ascending run of whole entries, and the readers see the last revision once the writer stops.
TYPED_TEST(StoreContractTest, ReadLogRunsConcurrentlyWithWrite) {
  constexpr uint64_t kRevisions = 300;
  std::atomic<bool> writing{true};
  // Returns the highest revision read, or 0 after reading something inconsistent.
  auto follow = [&](uint64_t* highest) {
    auto fail = [highest] { *highest = 0; };
    uint64_t next = 1;
    while (true) {
      const bool last_round = !writing.load();
      const uint64_t start = std::max(next, this->store().LogStart());
      absl::StatusOr<std::vector<LogEntry>> entries = this->store().ReadLog(start, 64);
      if (!entries.ok()) return fail();
      if (!entries->empty() && entries->front().revision != start) {
        // Only a compaction between LogStart() and ReadLog() may skip entries.
        if (this->store().LogStart() > start) continue;
        return fail();
      }
      uint64_t expected = start;
      for (const LogEntry& entry : *entries) {
        if (entry.revision != expected || entry.payload != Entry(entry.revision).payload) {
          return fail();
        }
        ++expected;
      }
      if (!entries->empty()) next = entries->back().revision + 1;
      *highest = next - 1;
      if (last_round && entries->empty()) return;
    }
  };
  uint64_t highest_a = 0;
  uint64_t highest_b = 0;
  std::thread reader_a(follow, &highest_a);
  std::thread reader_b(follow, &highest_b);
  for (uint64_t r = 1; r <= kRevisions; ++r) {
    WriteBatch batch = LogBatch(r, r);
    batch.participants = {test_records::ConnectedParticipant(r, 1, r)};
    if (r % 50 == 0) batch.compact_log_before = r - 20;
    const absl::Status status = this->store().Write(batch);
    if (!status.ok()) {
      ADD_FAILURE() << status;
      break;
    }
  }
  writing.store(false);
  reader_a.join();
  reader_b.join();
  EXPECT_EQ(highest_a, kRevisions);
  EXPECT_EQ(highest_b, kRevisions);
  EXPECT_EQ(this->store().revision(), kRevisions);
  EXPECT_EQ(this->store().LogStart(), kRevisions - 20);  // compacted last at revision 300
}

// Reads every record of one kind from `snapshot`, `per_read` at a time, sorted by `key`; fails
// when a read returns more than `per_read`.
template <typename Record, typename Key>
std::vector<Record> ReadAll(RecordSnapshot& snapshot,
                            absl::Status (RecordSnapshot::*read)(size_t, std::vector<Record>*),
                            size_t per_read, Key key) {
  std::vector<Record> all;
  while (true) {
    std::vector<Record> some;
    const absl::Status status = (snapshot.*read)(per_read, &some);
    EXPECT_TRUE(status.ok()) << status;
    EXPECT_LE(some.size(), per_read) << "at most `max` per read";
    if (!status.ok() || some.empty()) break;
    all.insert(all.end(), some.begin(), some.end());
  }
  std::sort(all.begin(), all.end(),
            [&](const Record& a, const Record& b) { return key(a) < key(b); });
  return all;
}

template <typename Record, typename Key>
std::vector<Record> Sorted(std::vector<Record> records, Key key) {
  std::sort(records.begin(), records.end(),
            [&](const Record& a, const Record& b) { return key(a) < key(b); });
  return records;
}

// Snapshot: every record of every kind as of one revision, read in pieces, unchanged by later
// writes.
TYPED_TEST(StoreContractTest, SnapshotIsOneRevisionReadInPiecesWhileWritesGoOn) {
  WriteBatch populated = this->Populated();
  const state::PublishedTrack cam = test_records::Track(1, 1, 1);
  const state::PublishedTrack gone = [] {
    state::PublishedTrack t = test_records::Track(2, 3, 2, 3);
    t.status = state::TrackStatus::kUnpublished;
    return t;
  }();
  populated.tracks = {cam, gone, test_records::Track(3, 2, 1)};
  populated.rules = {test_records::Rules(2, 1), test_records::Rules(1, 1, 2)};
  populated.subscriptions = {test_records::Subscription(2, cam),
                             test_records::Subscription(1, populated.tracks[2])};
  this->WriteOk(populated);
  absl::StatusOr<std::unique_ptr<RecordSnapshot>> snapshot = this->store().Snapshot();
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_EQ((*snapshot)->revision(), 3u);
  // Later writes change, add and erase records of every kind.
  WriteBatch later = LogBatch(4, 4);
  later.participants = {test_records::DisconnectedParticipant(1, 1, 4)};
  later.rooms = {test_records::InProgressRoom(9, 4)};
  later.erased_rooms = {test_records::RoomSid(2)};
  later.tracks = {test_records::Track(4, 1, 1, 4)};
  later.erased_tracks = {cam.sid};
  later.rules = {test_records::Rules(1, 1, 4)};
  later.erased_rules = {test_records::ParticipantSid(2)};
  later.erased_subscriptions = {{test_records::ParticipantSid(2), cam.sid}};
  this->WriteOk(later);

  auto by_sid = [](const auto& record) { return record.sid; };
  auto by_participant = [](const auto& record) { return record.participant_sid; };
  auto by_key = [](const state::SubscribedTrack& s) {
    return std::make_pair(s.participant_sid, s.sid);
  };
  RecordSnapshot& view = **snapshot;
  EXPECT_EQ(ReadAll(view, &RecordSnapshot::ReadRooms, 1, by_sid), Sorted(populated.rooms, by_sid));
  EXPECT_EQ(ReadAll(view, &RecordSnapshot::ReadParticipants, 2, by_sid),
            Sorted(populated.participants, by_sid));
  EXPECT_EQ(ReadAll(view, &RecordSnapshot::ReadTracks, 2, by_sid),
            Sorted(populated.tracks, by_sid));
  EXPECT_EQ(ReadAll(view, &RecordSnapshot::ReadRules, 1, by_participant),
            Sorted(populated.rules, by_participant));
  EXPECT_EQ(ReadAll(view, &RecordSnapshot::ReadSubscriptions, 1, by_key),
            Sorted(populated.subscriptions, by_key));
  // Restarting the participants reads them again.
  view.RestartParticipants();
  std::vector<state::Participant> again;
  ASSERT_TRUE(view.ReadParticipants(100, &again).ok());
  EXPECT_EQ(again.size(), 3u);
  // A new snapshot sees the later writes.
  absl::StatusOr<std::unique_ptr<RecordSnapshot>> now = this->store().Snapshot();
  ASSERT_TRUE(now.ok());
  EXPECT_EQ((*now)->revision(), 4u);
  std::vector<state::PublishedTrack> tracks =
      ReadAll(**now, &RecordSnapshot::ReadTracks, 10, by_sid);
  EXPECT_EQ(tracks.size(), 3u);
  EXPECT_EQ(ReadAll(**now, &RecordSnapshot::ReadRules, 10, by_participant),
            std::vector<state::SubscribeRules>{test_records::Rules(1, 1, 4)});
  EXPECT_EQ(ReadAll(**now, &RecordSnapshot::ReadSubscriptions, 10, by_key).size(), 1u);
}

// --- Status callbacks (state/callbacks.h) ------------------------------------------------

state::Callback OwedCallback(uint64_t room, uint64_t sequence, state::CallbackEvent event) {
  state::Callback callback;
  callback.room_sid = RoomSid(room);
  callback.sequence = sequence;
  callback.revision = 10 + sequence;
  callback.event = event;
  callback.timestamp = At(static_cast<int64_t>(sequence));
  callback.room = test_records::InProgressRoom(room);
  if (event != state::CallbackEvent::kRoomCreated && event != state::CallbackEvent::kRoomEnded) {
    callback.participant = test_records::ConnectedParticipant(1, room);
  }
  if (event == state::CallbackEvent::kTrackAdded) {
    callback.track = test_records::Track(1, 1, room);
  }
  return callback;
}

TYPED_TEST(StoreContractTest, CallbacksArePendingUntilFinishedAndSurviveReopen) {
  WriteBatch batch = LogBatch(1, 1);
  batch.callbacks = {OwedCallback(1, 0, state::CallbackEvent::kRoomCreated),
                     OwedCallback(1, 1, state::CallbackEvent::kParticipantConnected),
                     OwedCallback(1, 2, state::CallbackEvent::kTrackAdded),
                     OwedCallback(2, 0, state::CallbackEvent::kRoomCreated)};
  batch.callback_sequences = {{RoomSid(1), 3}, {RoomSid(2), 1}};
  this->WriteOk(batch);
  this->harness_.Reopen();

  absl::StatusOr<CallbackBacklog> backlog = this->store().LoadCallbacks();
  ASSERT_TRUE(backlog.ok()) << backlog.status();
  // Each room's callbacks in sequence order, every field as written.
  std::vector<state::Callback> room1, room2;
  for (const state::Callback& callback : backlog->pending) {
    (callback.room_sid == RoomSid(1) ? room1 : room2).push_back(callback);
  }
  ASSERT_EQ(room1.size(), 3u);
  ASSERT_EQ(room2.size(), 1u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(room1[i], batch.callbacks[i]);
  EXPECT_EQ(room2[0], batch.callbacks[3]);
  EXPECT_EQ(backlog->next_sequence.at(RoomSid(1)), 3u);
  EXPECT_EQ(backlog->next_sequence.at(RoomSid(2)), 1u);

  // Delivered: gone. Given up: gone from pending, kept in the failed list.
  ASSERT_TRUE(this->store().FinishCallback(RoomSid(1), 0, nullptr).ok());
  const state::FailedCallback failed{
      .callback = batch.callbacks[1], .failed_at = At(99), .attempts = 7, .last_error = "HTTP 503"};
  ASSERT_TRUE(this->store().FinishCallback(RoomSid(1), 1, &failed).ok());
  // Finishing what is not pending changes nothing and is no error.
  ASSERT_TRUE(this->store().FinishCallback(RoomSid(1), 0, &failed).ok());
  this->harness_.Reopen();

  backlog = this->store().LoadCallbacks();
  ASSERT_TRUE(backlog.ok()) << backlog.status();
  ASSERT_EQ(backlog->pending.size(), 2u);
  for (const state::Callback& callback : backlog->pending) {
    EXPECT_TRUE((callback.room_sid == RoomSid(1) && callback.sequence == 2) ||
                (callback.room_sid == RoomSid(2) && callback.sequence == 0));
  }
  absl::StatusOr<std::vector<state::FailedCallback>> listed =
      this->store().ListFailedCallbacks(state::Sid(), nullptr, 10);
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0], failed);
  // Another account sees none of them.
  listed = this->store().ListFailedCallbacks(Account(2), nullptr, 10);
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed->empty());
}

TYPED_TEST(StoreContractTest, FailedCallbacksPageInRoomAndSequenceOrder) {
  WriteBatch batch = LogBatch(1, 1);
  for (uint64_t room : {1, 2}) {
    for (uint64_t sequence = 0; sequence < 3; ++sequence) {
      batch.callbacks.push_back(OwedCallback(room, sequence, state::CallbackEvent::kRoomCreated));
    }
  }
  this->WriteOk(batch);
  for (const state::Callback& callback : batch.callbacks) {
    const state::FailedCallback failed{
        .callback = callback, .failed_at = At(1), .attempts = 1, .last_error = "HTTP 500"};
    ASSERT_TRUE(this->store().FinishCallback(callback.room_sid, callback.sequence, &failed).ok());
  }
  std::vector<std::pair<state::Sid, uint64_t>> seen;
  const FailedCallbackCursor* after = nullptr;
  FailedCallbackCursor cursor;
  for (int page = 0; page < 10; ++page) {
    absl::StatusOr<std::vector<state::FailedCallback>> listed =
        this->store().ListFailedCallbacks(Account(1), after, 4);
    ASSERT_TRUE(listed.ok()) << listed.status();
    if (listed->empty()) break;
    for (const state::FailedCallback& failed : *listed) {
      seen.emplace_back(failed.callback.room_sid, failed.callback.sequence);
    }
    cursor = {.room_sid = listed->back().callback.room_sid,
              .sequence = listed->back().callback.sequence};
    after = &cursor;
  }
  ASSERT_EQ(seen.size(), 6u);
  for (size_t i = 1; i < seen.size(); ++i) {
    if (seen[i].first == seen[i - 1].first) {
      EXPECT_EQ(seen[i].second, seen[i - 1].second + 1);
    }
  }
}

TYPED_TEST(StoreContractTest, ErasingARoomErasesItsCallbacks) {
  WriteBatch batch = LogBatch(1, 1);
  batch.callbacks = {OwedCallback(1, 0, state::CallbackEvent::kRoomCreated),
                     OwedCallback(1, 1, state::CallbackEvent::kRoomEnded),
                     OwedCallback(2, 0, state::CallbackEvent::kRoomCreated)};
  batch.callback_sequences = {{RoomSid(1), 2}, {RoomSid(2), 1}};
  this->WriteOk(batch);
  const state::FailedCallback failed{
      .callback = batch.callbacks[0], .failed_at = At(5), .attempts = 1, .last_error = "timeout"};
  ASSERT_TRUE(this->store().FinishCallback(RoomSid(1), 0, &failed).ok());

  WriteBatch erase;
  erase.erased_rooms = {RoomSid(1)};
  this->WriteOk(erase);
  this->harness_.Reopen();
  absl::StatusOr<CallbackBacklog> backlog = this->store().LoadCallbacks();
  ASSERT_TRUE(backlog.ok()) << backlog.status();
  ASSERT_EQ(backlog->pending.size(), 1u);
  EXPECT_EQ(backlog->pending[0].room_sid, RoomSid(2));
  EXPECT_FALSE(backlog->next_sequence.contains(RoomSid(1)));
  EXPECT_EQ(backlog->next_sequence.at(RoomSid(2)), 1u);
  absl::StatusOr<std::vector<state::FailedCallback>> listed =
      this->store().ListFailedCallbacks(state::Sid(), nullptr, 10);
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed->empty());
}

}  // namespace
}  // namespace rollcall::store
