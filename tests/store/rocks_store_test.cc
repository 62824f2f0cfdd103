// What only the RocksDB store has: the on-disk layout documented in store.h, open errors,
// corruption, failing fsyncs, data in SST files as well as memtables, and surviving SIGKILL.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "rocksdb/options.h"
#include "rocksdb/write_batch.h"
#include "state/limits.h"
#include "state/roster.h"
#include "store/codec.h"
#include "store/keys.h"
#include "store/marker.h"
#include "store/store.h"
#include "tests/store/fault_file_system.h"
#include "tests/store/raw_database.h"
#include "tests/store/records_for_tests.h"
#include "tests/store/scratch_dir.h"

namespace rollcall::store {
namespace {

using test_records::Account;
using test_records::At;
using test_records::CompactBefore;
using test_records::ParticipantSid;
using test_records::RevisionOnly;

std::unique_ptr<Store> OpenOk(const RocksOptions& options) {
  absl::StatusOr<std::unique_ptr<Store>> store = OpenRocksStore(options);
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? *std::move(store) : nullptr;
}

std::string Bytes(const state::Sid& sid) {
  return {reinterpret_cast<const char*>(sid.bytes().data()), sid.bytes().size()};
}

// Every key and value of both column families, read with RocksDB's own API.
struct RawContents {
  std::map<std::string, std::string> records;
  std::map<std::string, std::string> log;
};

RawContents ReadRaw(const std::string& path) {
  RawContents contents;
  const std::unique_ptr<test_records::RawDatabase> raw =
      test_records::RawDatabase::Open(path, test_records::RawDatabase::Mode::kReadOnly);
  if (raw == nullptr) return contents;
  for (rocksdb::ColumnFamilyHandle* family : {raw->records(), raw->log()}) {
    std::map<std::string, std::string>& out =
        family == raw->records() ? contents.records : contents.log;
    std::unique_ptr<rocksdb::Iterator> it(raw->db().NewIterator(rocksdb::ReadOptions(), family));
    for (it->SeekToFirst(); it->Valid(); it->Next())
      out[it->key().ToString()] = it->value().ToString();
    EXPECT_TRUE(it->status().ok()) << it->status().ToString();
  }
  return contents;
}

TEST(RocksStoreTest, OnDiskLayoutIsTheDocumentedOne) {
  test_records::ScratchDir dir;
  const std::string path = dir.Sub("db");
  const state::Room room = test_records::InProgressRoom(1);
  const state::Participant participant = test_records::ConnectedParticipant(1, 1);
  const state::DedupeEntry dedupe = test_records::Dedupe(1, "evt-1", 1, At(1));
  {
    std::unique_ptr<Store> store = OpenOk({.path = path});
    ASSERT_NE(store, nullptr);
    WriteBatch batch;
    batch.revision = 3;
    batch.rooms = {room};
    batch.participants = {participant};
    batch.dedupe = {dedupe};
    batch.log = {{.revision = 1, .payload = "one"},
                 {.revision = 2, .payload = "two"},
                 {.revision = 3, .payload = "three"}};
    batch.compact_log_before = 2;
    ASSERT_TRUE(store->Write(batch).ok());
  }
  const RawContents raw = ReadRaw(path);

  std::string participant_value;
  std::string room_value;
  std::string dedupe_value;
  Encode(participant, &participant_value);
  Encode(room, &room_value);
  Encode(dedupe, &dedupe_value);
  const std::map<std::string, std::string> expected_records = {
      {"m:format", keys::Uint64(kStoreFormat)}, {"m:revision", keys::Uint64(3)},
      {"m:log_start", keys::Uint64(2)},         {"p:" + Bytes(participant.sid), participant_value},
      {"r:" + Bytes(room.sid), room_value},     {"d:" + Bytes(Account(1)) + "evt-1", dedupe_value},
  };
  EXPECT_EQ(raw.records, expected_records);
  const std::map<std::string, std::string> expected_log = {
      {std::string("\0\0\0\0\0\0\0\x02", 8), "two"},
      {std::string("\0\0\0\0\0\0\0\x03", 8), "three"},
  };
  EXPECT_EQ(raw.log, expected_log);
}

TEST(RocksStoreTest, EmptyingTheLogRemovesLogStart) {
  test_records::ScratchDir dir;
  const std::string path = dir.Sub("db");
  {
    std::unique_ptr<Store> store = OpenOk({.path = path});
    ASSERT_NE(store, nullptr);
    WriteBatch batch;
    batch.revision = 2;
    batch.log = {{.revision = 1, .payload = "a"}, {.revision = 2, .payload = "b"}};
    ASSERT_TRUE(store->Write(batch).ok());
    ASSERT_TRUE(store->Write(CompactBefore(3)).ok());
    EXPECT_EQ(store->LogStart(), 3u);
  }
  const RawContents raw = ReadRaw(path);
  EXPECT_EQ(raw.records.count("m:log_start"), 0u);
  EXPECT_EQ(raw.records.at("m:revision"), keys::Uint64(2));
  EXPECT_TRUE(raw.log.empty());
}

// The store finds expired event ids itself (the roster keeps only digests), a bounded slice
// of "d:" keys per batch: with 3 a slice, 7 stored ids of which 5 are expired take three
// sweeps; a fourth, round again, finds nothing more; the ids that are not due stay.
TEST(RocksStoreTest, ExpiredEventIdsAreSweptASliceAtATime) {
  test_records::ScratchDir dir;
  const std::string path = dir.Sub("db");
  std::unique_ptr<Store> store = OpenOk({.path = path, .dedupe_sweep_keys = 3});
  ASSERT_NE(store, nullptr);
  WriteBatch batch;
  batch.revision = 7;
  for (int i = 0; i < 7; ++i) {
    // Key order (by event id) is not time order: evt-0 and evt-4 are the recent ones.
    const bool recent = i == 0 || i == 4;
    batch.dedupe.push_back(
        test_records::Dedupe(1, absl::StrCat("evt-", i), i + 1, At(recent ? 100 : i + 1)));
  }
  ASSERT_TRUE(store->Write(batch).ok());
  auto stored_ids = [&] {
    std::vector<std::string> ids;
    for (const auto& [key, value] : ReadRaw(path).records) {
      if (key.starts_with("d:")) ids.push_back(key.substr(key.size() - 5));
    }
    return ids;
  };
  WriteBatch sweep;
  sweep.dedupe_recorded_before = At(50);
  ASSERT_TRUE(store->Write(sweep).ok());
  EXPECT_EQ(stored_ids(), (std::vector<std::string>{"evt-0", "evt-3", "evt-4", "evt-5", "evt-6"}));
  ASSERT_TRUE(store->Write(sweep).ok());
  EXPECT_EQ(stored_ids(), (std::vector<std::string>{"evt-0", "evt-4", "evt-6"}));
  ASSERT_TRUE(store->Write(sweep).ok());
  EXPECT_EQ(stored_ids(), (std::vector<std::string>{"evt-0", "evt-4"}));
  ASSERT_TRUE(store->Write(sweep).ok());
  EXPECT_EQ(stored_ids(), (std::vector<std::string>{"evt-0", "evt-4"}));
  EXPECT_EQ(store->revision(), 7u);
}

TEST(RocksStoreTest, CreatesMissingParentDirectories) {
  test_records::ScratchDir dir;
  std::unique_ptr<Store> store = OpenOk({.path = dir.Sub("a/b/c")});
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(store->Write(RevisionOnly(1)).ok());
}

TEST(RocksStoreTest, OpenErrorsAreStatusesNotCrashes) {
  test_records::ScratchDir dir;
  EXPECT_EQ(OpenRocksStore({.path = ""}).status().code(), absl::StatusCode::kInvalidArgument);

  const std::string file = dir.Sub("plain-file");
  std::ofstream(file) << "not a directory";
  EXPECT_EQ(OpenRocksStore({.path = file}).status().code(), absl::StatusCode::kUnavailable);

  // A second process (here: a second open) cannot take the directory's lock.
  std::unique_ptr<Store> first = OpenOk({.path = dir.Sub("db")});
  ASSERT_NE(first, nullptr);
  const absl::StatusOr<std::unique_ptr<Store>> second = OpenRocksStore({.path = dir.Sub("db")});
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable) << second.status();
}

// Writes `value` under `key` in the records family with RocksDB's own API, behind the store.
void PutRaw(const std::string& path, const std::string& key, const std::string& value) {
  const std::unique_ptr<test_records::RawDatabase> raw =
      test_records::RawDatabase::Open(path, test_records::RawDatabase::Mode::kReadWrite);
  ASSERT_NE(raw, nullptr);
  EXPECT_TRUE(raw->db().Put(rocksdb::WriteOptions(), raw->records(), key, value).ok());
}

absl::StatusCode LoadCode(const std::string& path) {
  std::unique_ptr<Store> store = OpenOk({.path = path});
  if (store == nullptr) return absl::StatusCode::kUnknown;
  state::Roster roster{state::Limits{}};
  return store->Load(roster).status().code();
}

TEST(RocksStoreTest, UndecodableRecordIsDataLoss) {
  test_records::ScratchDir dir;
  const std::string path = dir.Sub("db");
  { ASSERT_NE(OpenOk({.path = path}), nullptr); }
  PutRaw(path, "p:" + Bytes(ParticipantSid(1)), "\xff\xff\xff");
  EXPECT_EQ(LoadCode(path), absl::StatusCode::kDataLoss);
}

TEST(RocksStoreTest, RecordUnderAnotherKeyIsDataLoss) {
  test_records::ScratchDir dir;
  const std::string path = dir.Sub("db");
  { ASSERT_NE(OpenOk({.path = path}), nullptr); }
  std::string value;
  Encode(test_records::ConnectedParticipant(2, 1), &value);
  PutRaw(path, "p:" + Bytes(ParticipantSid(1)), value);
  EXPECT_EQ(LoadCode(path), absl::StatusCode::kDataLoss);
}

TEST(RocksStoreTest, MalformedMetadataIsDataLoss) {
  test_records::ScratchDir dir;
  const std::string path = dir.Sub("db");
  { ASSERT_NE(OpenOk({.path = path}), nullptr); }
  PutRaw(path, "m:revision", "seven");
  const absl::StatusOr<std::unique_ptr<Store>> store = OpenRocksStore({.path = path});
  EXPECT_EQ(store.status().code(), absl::StatusCode::kDataLoss) << store.status();
}

// Records in SST files (after a flush) and in the memtable load alike, at a scale that spans
// many data blocks.
TEST(RocksStoreTest, LoadReadsFlushedAndUnflushedRecords) {
  constexpr uint64_t kParticipants = 20000;
  test_records::ScratchDir dir;
  const std::string path = dir.Sub("db");
  {
    std::unique_ptr<Store> store = OpenOk({.path = path, .sync = false});
    ASSERT_NE(store, nullptr);
    for (uint64_t first = 1; first <= kParticipants; first += 1000) {
      WriteBatch batch;
      batch.revision = first + 999;
      if (first == 1) batch.rooms = {test_records::InProgressRoom(1)};
      for (uint64_t n = first; n < first + 1000; ++n) {
        batch.participants.push_back(n % 3 == 0 ? test_records::DisconnectedParticipant(n, 1, n)
                                                : test_records::ConnectedParticipant(n, 1, n));
        batch.log.push_back({.revision = n, .payload = absl::StrCat("payload ", n)});
      }
      ASSERT_TRUE(store->Write(batch).ok());
      if (first == 10001) {
        ASSERT_TRUE(store->Flush().ok());
      }
    }
  }
  std::unique_ptr<Store> store = OpenOk({.path = path});
  ASSERT_NE(store, nullptr);
  state::Roster roster{state::Limits{.max_room_participants = 100000}};
  absl::StatusOr<LoadStats> stats = store->Load(roster);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->participants, kParticipants);
  EXPECT_EQ(stats->revision, kParticipants);
  for (uint64_t n = 1; n <= kParticipants; ++n) {
    const state::Participant* found = roster.FindParticipant(ParticipantSid(n));
    ASSERT_NE(found, nullptr) << n;
    EXPECT_EQ(*found, n % 3 == 0 ? test_records::DisconnectedParticipant(n, 1, n)
                                 : test_records::ConnectedParticipant(n, 1, n));
  }
  absl::StatusOr<std::vector<LogEntry>> log = store->ReadLog(9990, 20);
  ASSERT_TRUE(log.ok());
  ASSERT_EQ(log->size(), 20u);
  EXPECT_EQ(log->front().revision, 9990u);
  EXPECT_EQ(log->back().payload, "payload 10009");
}

// sync off: a clean close (and Flush) still keeps everything.
TEST(RocksStoreTest, UnsyncedWritesSurviveACleanClose) {
  test_records::ScratchDir dir;
  const std::string path = dir.Sub("db");
  {
    std::unique_ptr<Store> store = OpenOk({.path = path, .sync = false});
    ASSERT_NE(store, nullptr);
    WriteBatch batch;
    batch.revision = 1;
    batch.participants = {test_records::ReconnectingParticipant(1, 1, 1)};
    ASSERT_TRUE(store->Write(batch).ok());
    ASSERT_TRUE(store->Flush().ok());
  }
  std::unique_ptr<Store> store = OpenOk({.path = path});
  ASSERT_NE(store, nullptr);
  state::Roster roster{state::Limits{}};
  ASSERT_TRUE(store->Load(roster).ok());
  ASSERT_NE(roster.FindParticipant(ParticipantSid(1)), nullptr);
  EXPECT_EQ(*roster.FindParticipant(ParticipantSid(1)),
            test_records::ReconnectingParticipant(1, 1, 1));
}

// A device whose fsync fails: the write is refused and nothing shows. RocksDB cannot resume from
// that in place (the WAL's state is unknown), so the store reopens itself once the device works;
// here the refused batch's bytes did reach the WAL, so the reopened store is ahead of what was
// acknowledged, and the store stays unwritable, asking for a restart, rather than reuse revision
// 2. A restart (a new open) is the way back.
TEST(RocksStoreTest, FailedFsyncIsUnavailableUntilReopened) {
  test_records::ScratchDir dir;
  const std::string path = dir.Sub("db");
  auto [env, faults] = fault_injection::NewFaultEnv();
  std::unique_ptr<Store> store =
      OpenOk({.path = path, .env = env.get(), .recovery_interval = absl::Milliseconds(20)});
  ASSERT_NE(store, nullptr);
  WriteBatch first;
  first.revision = 1;
  first.log = {{.revision = 1, .payload = "one"}};
  first.participants = {test_records::ConnectedParticipant(1, 1, 1)};
  ASSERT_TRUE(store->Write(first).ok());

  faults->FailSyncs(rocksdb::IOStatus::IOError("simulated fsync failure"));
  WriteBatch second;
  second.revision = 2;
  second.log = {{.revision = 2, .payload = "two"}};
  second.participants = {test_records::ConnectedParticipant(2, 1, 2)};
  const absl::Status failed = store->Write(second);
  EXPECT_EQ(failed.code(), absl::StatusCode::kUnavailable) << failed;
  EXPECT_NE(failed.message().find("simulated fsync failure"), absl::string_view::npos) << failed;
  EXPECT_EQ(store->revision(), 1u);
  absl::StatusOr<std::vector<LogEntry>> log = store->ReadLog(0, 10);
  ASSERT_TRUE(log.ok());
  EXPECT_EQ(log->size(), 1u);
  {
    state::Roster roster{state::Limits{}};
    absl::StatusOr<LoadStats> stats = store->Load(roster);
    ASSERT_TRUE(stats.ok()) << stats.status();
    EXPECT_EQ(stats->participants, 1u);
    EXPECT_EQ(roster.FindParticipant(ParticipantSid(2)), nullptr);
  }

  faults->Heal();
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (store->Writable().message().find("restart") == absl::string_view::npos &&
         absl::Now() < deadline) {
    std::this_thread::yield();
  }
  const absl::Status stuck = store->Writable();
  EXPECT_EQ(stuck.code(), absl::StatusCode::kUnavailable) << stuck;
  EXPECT_NE(stuck.message().find("restart"), absl::string_view::npos) << stuck;
  const absl::Status after = store->Write(second);
  EXPECT_EQ(after.code(), absl::StatusCode::kUnavailable) << after;
  EXPECT_EQ(store->revision(), 1u);

  // Reopening is the way back; the acknowledged batch is there. (The refused one may be too:
  // its bytes reached the WAL before the fsync failed, as after a crash before acknowledging.)
  store.reset();
  store = OpenOk({.path = path, .env = env.get()});
  ASSERT_NE(store, nullptr);
  EXPECT_GE(store->revision(), 1u);
  state::Roster roster{state::Limits{}};
  ASSERT_TRUE(store->Load(roster).ok());
  ASSERT_NE(roster.FindParticipant(ParticipantSid(1)), nullptr);
  EXPECT_EQ(*roster.FindParticipant(ParticipantSid(1)), first.participants[0]);
  second.revision = store->revision() + 1;
  second.log = {{.revision = second.revision, .payload = "again"}};
  EXPECT_TRUE(store->Write(second).ok());
}

// Waits until the store reports itself writable (its recovery thread retries on its own).
bool AwaitWritable(const Store& store, absl::Duration timeout = absl::Seconds(30)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!store.Writable().ok() && absl::Now() < deadline) std::this_thread::yield();
  return store.Writable().ok();
}

// A full disk: writes fail UNAVAILABLE naming the cause without applying anything, Writable()
// says so, and once there is room again the store resumes in place by itself, telling the
// listener both changes.
TEST(RocksStoreTest, FullDiskRecoversInPlaceOnceThereIsRoom) {
  test_records::ScratchDir dir;
  auto [env, faults] = fault_injection::NewFaultEnv();
  std::unique_ptr<Store> store = OpenOk(
      {.path = dir.Sub("db"), .env = env.get(), .recovery_interval = absl::Milliseconds(20)});
  ASSERT_NE(store, nullptr);
  absl::Mutex mu;
  std::vector<bool> heard;
  store->SetWritableListener([&](const absl::Status& writable) {
    absl::MutexLock lock(&mu);
    heard.push_back(writable.ok());
  });
  WriteBatch first;
  first.revision = 1;
  first.log = {{.revision = 1, .payload = "one"}};
  ASSERT_TRUE(store->Write(first).ok());
  EXPECT_TRUE(store->Writable().ok());

  faults->FailWrites(rocksdb::IOStatus::NoSpace("simulated full disk"));
  WriteBatch second;
  second.revision = 2;
  second.log = {{.revision = 2, .payload = "two"}};
  second.participants = {test_records::ConnectedParticipant(2, 1, 2)};
  const absl::Status failed = store->Write(second);
  EXPECT_EQ(failed.code(), absl::StatusCode::kUnavailable) << failed;
  EXPECT_NE(failed.message().find("No space"), absl::string_view::npos) << failed;
  const absl::Status writable = store->Writable();
  EXPECT_EQ(writable.code(), absl::StatusCode::kUnavailable) << writable;
  EXPECT_NE(writable.message().find("No space"), absl::string_view::npos) << writable;
  const absl::Status still = store->Write(second);
  EXPECT_EQ(still.code(), absl::StatusCode::kUnavailable) << still;
  EXPECT_EQ(store->revision(), 1u);
  // Reads go on meanwhile.
  absl::StatusOr<std::vector<LogEntry>> before = store->ReadLog(0, 10);
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_EQ(before->size(), 1u);

  faults->Heal();
  ASSERT_TRUE(AwaitWritable(*store)) << store->Writable();
  ASSERT_TRUE(store->Write(second).ok());
  EXPECT_EQ(store->revision(), 2u);
  absl::StatusOr<std::vector<LogEntry>> log = store->ReadLog(0, 10);
  ASSERT_TRUE(log.ok());
  EXPECT_EQ(log->size(), 2u);
  state::Roster roster{state::Limits{}};
  ASSERT_TRUE(store->Load(roster).ok());
  EXPECT_NE(roster.FindParticipant(ParticipantSid(2)), nullptr);
  store->SetWritableListener(nullptr);
  absl::MutexLock lock(&mu);
  EXPECT_EQ(heard, (std::vector<bool>{false, true}));
}

// Kills a writer process with SIGKILL at an arbitrary moment: every revision it reported as
// acknowledged is in the store afterwards, whole.
TEST(RocksStoreTest, AcknowledgedWritesSurviveSigkill) {
  constexpr int kAcksBeforeKill = 40;
  test_records::ScratchDir dir;
  const std::string path = dir.Sub("db");
  int out[2];
  ASSERT_EQ(pipe(out), 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, out[0]);
  std::string helper = ROLLCALL_STORE_KILL_HELPER;
  char* argv[] = {helper.data(), const_cast<char*>(path.c_str()), nullptr};
  pid_t pid = 0;
  ASSERT_EQ(posix_spawn(&pid, helper.c_str(), &actions, nullptr, argv, environ), 0);
  posix_spawn_file_actions_destroy(&actions);
  close(out[1]);

  // Read acknowledgements until enough have arrived, kill, then drain what was already written.
  std::string output;
  char buffer[4096];
  bool killed = false;
  while (true) {
    const ssize_t n = read(out[0], buffer, sizeof(buffer));
    if (n <= 0) break;
    output.append(buffer, static_cast<size_t>(n));
    if (!killed && std::count(output.begin(), output.end(), '\n') >= kAcksBeforeKill) {
      ASSERT_EQ(kill(pid, SIGKILL), 0);
      killed = true;
    }
  }
  close(out[0]);
  int wait_status = 0;
  ASSERT_EQ(waitpid(pid, &wait_status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(wait_status)) << "helper exited on its own: " << output;
  EXPECT_EQ(WTERMSIG(wait_status), SIGKILL);

  // A line cut short by the kill would be a prefix of a number: only whole lines count.
  output.resize(output.rfind('\n') == std::string::npos ? 0 : output.rfind('\n') + 1);
  uint64_t acknowledged = 0;
  for (absl::string_view line : absl::StrSplit(output, '\n', absl::SkipEmpty())) {
    uint64_t revision = 0;
    ASSERT_TRUE(absl::SimpleAtoi(line, &revision)) << line;
    EXPECT_EQ(revision, acknowledged + 1);
    acknowledged = revision;
  }
  ASSERT_GE(acknowledged, static_cast<uint64_t>(kAcksBeforeKill));

  std::unique_ptr<Store> store = OpenOk({.path = path});
  ASSERT_NE(store, nullptr);
  const uint64_t revision = store->revision();
  EXPECT_GE(revision, acknowledged);
  EXPECT_LE(revision, acknowledged + 1);  // at most the one batch in flight when killed
  state::Roster roster{state::Limits{.max_room_participants = 100000}};
  absl::StatusOr<LoadStats> stats = store->Load(roster);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->participants, revision);
  for (uint64_t r = 1; r <= revision; ++r) {
    const state::Participant* found = roster.FindParticipant(ParticipantSid(r));
    ASSERT_NE(found, nullptr) << r;
    EXPECT_EQ(*found, test_records::ConnectedParticipant(r, 1, r));
  }
  absl::StatusOr<std::vector<LogEntry>> log = store->ReadLog(1, 100000);
  ASSERT_TRUE(log.ok());
  ASSERT_EQ(log->size(), revision);
  EXPECT_EQ(log->back(),
            (LogEntry{.revision = revision, .payload = absl::StrCat("rev ", revision)}));
}

// A data directory of format 1, as rollcalld wrote it before "m:format" existed, made with
// RocksDB's own API: records, the head revision, a change log of rendered API messages behind
// the 36-byte scope header, and the marker of the head revision.
struct Format1Store {
  state::Room room = test_records::InProgressRoom(1, 1);
  state::Participant participant = test_records::ConnectedParticipant(1, 1, 2);
  state::DedupeEntry dedupe = test_records::Dedupe(1, "evt-1", 2, At(1));
  uint64_t head = 7;
  uint64_t log_start = 5;

  void Write(const std::string& path) const {
    {
      const std::unique_ptr<test_records::RawDatabase> raw =
          test_records::RawDatabase::Open(path, test_records::RawDatabase::Mode::kCreate);
      ASSERT_NE(raw, nullptr);
      rocksdb::WriteBatch batch;
      std::string value;
      Encode(room, &value);
      ASSERT_TRUE(batch.Put(raw->records(), "r:" + Bytes(room.sid), value).ok());
      Encode(participant, &value);
      ASSERT_TRUE(batch.Put(raw->records(), "p:" + Bytes(participant.sid), value).ok());
      Encode(dedupe, &value);
      ASSERT_TRUE(
          batch.Put(raw->records(), "d:" + Bytes(dedupe.account_sid) + "evt-1", value).ok());
      ASSERT_TRUE(batch.Put(raw->records(), "m:revision", keys::Uint64(head)).ok());
      ASSERT_TRUE(batch.Put(raw->records(), "m:log_start", keys::Uint64(log_start)).ok());
      for (uint64_t r = log_start; r <= head; ++r) {
        // Scope, then a WatchResponse: changes { revision: r }.
        const std::string payload = EncodeSid(room.account_sid) + EncodeSid(room.sid) +
                                    std::string("\x0a\x02\x08", 3) + static_cast<char>(r);
        ASSERT_TRUE(batch.Put(raw->log(), keys::Uint64(r), payload).ok());
      }
      rocksdb::WriteOptions synced;
      synced.sync = true;
      ASSERT_TRUE(raw->db().Write(synced, &batch).ok());
    }
    ASSERT_TRUE(Marker::WriteNew(path, head).ok());
  }
};

// The migration to format 2: records, dedupe keys and the head revision stay, the old change
// log goes (never served, never decoded), the log starts after the head so older history is
// OUT_OF_RANGE, and the format key is written; opening again changes nothing.
TEST(RocksStoreFormatTest, Format1StoreIsMigratedAtOpenKeepingRecordsAndRevision) {
  test_records::ScratchDir dir;
  const std::string path = dir.Sub("db");
  const Format1Store old;
  ASSERT_NO_FATAL_FAILURE(old.Write(path));
  ASSERT_EQ(ReadRaw(path).log.size(), 3u);
  {
    std::unique_ptr<Store> store = OpenOk({.path = path});
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(store->revision(), old.head);
    EXPECT_EQ(store->LogStart(), old.head + 1);
    absl::StatusOr<std::vector<LogEntry>> log = store->ReadLog(0, 100);
    ASSERT_TRUE(log.ok()) << log.status();
    EXPECT_TRUE(log->empty());
    state::Roster roster{state::Limits{}};
    absl::StatusOr<LoadStats> stats = store->Load(roster);
    ASSERT_TRUE(stats.ok()) << stats.status();
    EXPECT_EQ(stats->revision, old.head);
    EXPECT_EQ(stats->rooms, 1u);
    EXPECT_EQ(stats->participants, 1u);
    EXPECT_EQ(stats->dedupe, 1u);
    ASSERT_NE(roster.FindParticipant(old.participant.sid), nullptr);
    EXPECT_EQ(*roster.FindParticipant(old.participant.sid), old.participant);
  }
  const RawContents migrated = ReadRaw(path);
  EXPECT_TRUE(migrated.log.empty());
  EXPECT_EQ(migrated.records.count("m:log_start"), 0u);
  std::string participant_value;
  Encode(old.participant, &participant_value);
  EXPECT_EQ(migrated.records.at("m:format"), keys::Uint64(kStoreFormat));
  EXPECT_EQ(migrated.records.at("m:revision"), keys::Uint64(old.head));
  EXPECT_EQ(migrated.records.at("p:" + Bytes(old.participant.sid)), participant_value);
  EXPECT_EQ(migrated.records.size(), 5u) << "room, participant, dedupe, revision, format";

  // Opening again is a no-op, and the log grows from the head on, kept across opens.
  { ASSERT_NE(OpenOk({.path = path}), nullptr); }
  const RawContents reopened = ReadRaw(path);
  EXPECT_EQ(reopened.records, migrated.records);
  EXPECT_EQ(reopened.log, migrated.log);
  std::string payload;
  state::Change change;
  change.revision = old.head + 1;
  change.type = state::ChangeType::kParticipantDisconnected;
  change.resource = test_records::DisconnectedParticipant(1, 1, old.head + 1);
  change.previous_status = state::ParticipantStatus::kConnected;
  EncodeLogPayload({change}, &payload);
  {
    std::unique_ptr<Store> store = OpenOk({.path = path});
    ASSERT_NE(store, nullptr);
    WriteBatch next;
    next.revision = old.head + 1;
    next.log = {{.revision = old.head + 1, .payload = payload}};
    ASSERT_TRUE(store->Write(next).ok());
  }
  std::unique_ptr<Store> store = OpenOk({.path = path});
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->LogStart(), old.head + 1);
  absl::StatusOr<std::vector<LogEntry>> log = store->ReadLog(0, 100);
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ(*log, (std::vector<LogEntry>{{.revision = old.head + 1, .payload = payload}}));
  store.reset();
  absl::StatusOr<VerifyReport> report = VerifyRocksStore(path);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->format, kStoreFormat);
  EXPECT_EQ(report->log_entries, 1u);
}

TEST(RocksStoreFormatTest, ANewStoreIsWrittenWithTheFormatKeyOnly) {
  test_records::ScratchDir dir;
  const std::string path = dir.Sub("db");
  { ASSERT_NE(OpenOk({.path = path}), nullptr); }
  const RawContents raw = ReadRaw(path);
  EXPECT_EQ(raw.records,
            (std::map<std::string, std::string>{{"m:format", keys::Uint64(kStoreFormat)}}));
  EXPECT_TRUE(raw.log.empty());
}

// A newer rollcalld's store is refused before anything is written, by Open and by verify.
TEST(RocksStoreFormatTest, ANewerFormatIsRefusedNamingBothFormatsAndLeftAsItIs) {
  test_records::ScratchDir dir;
  const std::string path = dir.Sub("db");
  {
    std::unique_ptr<Store> store = OpenOk({.path = path});
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->Write(RevisionOnly(3)).ok());
  }
  PutRaw(path, "m:format", keys::Uint64(kStoreFormat + 1));
  const RawContents before = ReadRaw(path);
  const absl::StatusOr<std::unique_ptr<Store>> store = OpenRocksStore({.path = path});
  ASSERT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition) << store.status();
  EXPECT_THAT(std::string(store.status().message()),
              ::testing::AllOf(::testing::HasSubstr(absl::StrCat("format ", kStoreFormat + 1)),
                               ::testing::HasSubstr(absl::StrCat("up to ", kStoreFormat)),
                               ::testing::HasSubstr("newer rollcalld")));
  const RawContents after = ReadRaw(path);
  EXPECT_EQ(after.records, before.records);
  EXPECT_EQ(VerifyRocksStore(path).status().code(), absl::StatusCode::kFailedPrecondition);
  PutRaw(path, "m:format", "two");
  EXPECT_EQ(OpenRocksStore({.path = path}).status().code(), absl::StatusCode::kDataLoss);
}

// The damage checks come first: a format 1 store that lost acknowledged revisions is refused,
// not migrated (which would hide what its change log says).
TEST(RocksStoreFormatTest, ADamagedFormat1StoreIsRefusedNotMigrated) {
  test_records::ScratchDir dir;
  const std::string path = dir.Sub("db");
  const Format1Store old;
  ASSERT_NO_FATAL_FAILURE(old.Write(path));
  ASSERT_TRUE(Marker::WriteNew(path, old.head + 2).ok());  // acknowledged past what is there
  const RawContents before = ReadRaw(path);
  const absl::StatusOr<std::unique_ptr<Store>> store = OpenRocksStore({.path = path});
  EXPECT_EQ(store.status().code(), absl::StatusCode::kDataLoss) << store.status();
  const RawContents after = ReadRaw(path);
  EXPECT_EQ(after.records, before.records);
  EXPECT_EQ(after.log, before.log);
  EXPECT_EQ(after.records.count("m:format"), 0u);
}

// verify reads a format 1 store's log without decoding it (Open would drop it) and says which
// format it found.
TEST(RocksStoreFormatTest, VerifyReportsAFormat1StoreAsSuch) {
  test_records::ScratchDir dir;
  const std::string path = dir.Sub("db");
  const Format1Store old;
  ASSERT_NO_FATAL_FAILURE(old.Write(path));
  absl::StatusOr<VerifyReport> report = VerifyRocksStore(path);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->format, 1u);
  EXPECT_EQ(report->log_entries, 3u);
  EXPECT_EQ(report->loaded.revision, old.head);
  EXPECT_EQ(ReadRaw(path).records.count("m:format"), 0u) << "verify changes nothing";
}

// In format 2 verify decodes every entry: one that does not decode, or that holds another
// revision's changes, is DATA_LOSS naming it.
TEST(RocksStoreFormatTest, VerifyDecodesEveryChangeLogEntry) {
  test_records::ScratchDir dir;
  const std::string path = dir.Sub("db");
  auto payload_of = [](uint64_t revision) {
    state::Change change;
    change.revision = revision;
    change.type = state::ChangeType::kParticipantConnected;
    change.resource = test_records::ConnectedParticipant(1, 1, revision);
    std::string payload;
    EncodeLogPayload({change}, &payload);
    return payload;
  };
  {
    std::unique_ptr<Store> store = OpenOk({.path = path});
    ASSERT_NE(store, nullptr);
    WriteBatch batch;
    batch.revision = 3;
    batch.log = {{.revision = 1, .payload = payload_of(1)},
                 {.revision = 2, .payload = payload_of(2)},
                 {.revision = 3, .payload = payload_of(4)}};
    ASSERT_TRUE(store->Write(batch).ok());
  }
  absl::StatusOr<VerifyReport> report = VerifyRocksStore(path);
  EXPECT_EQ(report.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(report.status().message()),
              ::testing::HasSubstr("change log entry 3 holds revision 4"));
  {
    std::unique_ptr<Store> store = OpenOk({.path = path});
    ASSERT_NE(store, nullptr);
    WriteBatch batch;
    batch.revision = 4;
    batch.log = {{.revision = 4, .payload = "not a payload"}};
    ASSERT_TRUE(store->Write(batch).ok());
    ASSERT_TRUE(store->Write(CompactBefore(4)).ok());
  }
  report = VerifyRocksStore(path);
  EXPECT_EQ(report.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(report.status().message()), ::testing::HasSubstr("change log entry 4"));
}

// A format 1 store that opens read-only (a full disk) serves its records but hides its old
// change log, and is migrated by the reopen that makes it writable.
TEST(RocksStoreFormatTest, AFormat1StoreOpenedReadOnlyIsMigratedWhenItCanWrite) {
  test_records::ScratchDir dir;
  const std::string path = dir.Sub("db");
  const Format1Store old;
  ASSERT_NO_FATAL_FAILURE(old.Write(path));
  auto [env, faults] = fault_injection::NewFaultEnv();
  faults->FailWrites(rocksdb::IOStatus::NoSpace("simulated full disk"));
  std::unique_ptr<Store> store =
      OpenOk({.path = path, .env = env.get(), .recovery_interval = absl::Milliseconds(20)});
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->Writable().code(), absl::StatusCode::kUnavailable) << store->Writable();
  EXPECT_EQ(store->revision(), old.head);
  EXPECT_EQ(store->LogStart(), old.head + 1);
  absl::StatusOr<std::vector<LogEntry>> log = store->ReadLog(0, 100);
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_TRUE(log->empty()) << "no entry of the old format is served";
  state::Roster roster{state::Limits{}};
  ASSERT_TRUE(store->Load(roster).ok());
  EXPECT_NE(roster.FindParticipant(old.participant.sid), nullptr);

  faults->Heal();
  ASSERT_TRUE(AwaitWritable(*store)) << store->Writable();
  EXPECT_EQ(store->LogStart(), old.head + 1);
  ASSERT_TRUE(store->Write(RevisionOnly(old.head + 1)).ok());
  store.reset();
  const RawContents raw = ReadRaw(path);
  EXPECT_EQ(raw.records.at("m:format"), keys::Uint64(kStoreFormat));
  EXPECT_TRUE(raw.log.empty());
}

}  // namespace
}  // namespace rollcall::store
