// Scale measurements, DISABLED_ so they never run (or time anything) in CI. Run by hand:
//   store_tests --gtest_also_run_disabled_tests --gtest_filter='StoreScale*'
// They print what they measure; docs/benchmarks.md, targets puts restart-to-serving with 1,000,000
// participants at 5 s, of which Load is the bulk.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "state/limits.h"
#include "state/roster.h"
#include "store/store.h"
#include "tests/store/records_for_tests.h"
#include "tests/store/scratch_dir.h"

namespace rollcall::store {
namespace {

using test_records::CompactBefore;
constexpr uint64_t kParticipants = 1000000;
constexpr uint64_t kBatch = 1000;
constexpr uint64_t kPerRoom = 50;

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// CPU time of the calling thread: on a shared machine, wall time also counts other processes.
double ThreadCpuSeconds() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

// Batch b: participants b*1000+1 .. (b+1)*1000 in rooms of 50, a third of them disconnected,
// their rooms, and one ~200-byte log entry per participant.
WriteBatch ScaleBatch(uint64_t b, uint64_t revision_base) {
  WriteBatch batch;
  for (uint64_t n = b * kBatch + 1; n <= (b + 1) * kBatch; ++n) {
    const uint64_t room = (n - 1) / kPerRoom + 1;
    if ((n - 1) % kPerRoom == 0) batch.rooms.push_back(test_records::InProgressRoom(room, n));
    const uint64_t revision = revision_base + n;
    batch.participants.push_back(n % 3 == 0
                                     ? test_records::DisconnectedParticipant(n, room, revision)
                                     : test_records::ConnectedParticipant(n, room, revision));
    batch.log.push_back({.revision = revision, .payload = std::string(200, 'x')});
    batch.revision = revision;
  }
  return batch;
}

state::Limits ScaleLimits() { return state::Limits{.max_room_participants = 1000}; }

TEST(StoreScale, DISABLED_RocksLoadMillionParticipantsAndSyncedBatchWrite) {
  test_records::ScratchDir dir;
  const std::string path = dir.Sub("db");
  {
    absl::StatusOr<std::unique_ptr<Store>> store = OpenRocksStore({.path = path, .sync = false});
    ASSERT_TRUE(store.ok()) << store.status();
    const auto start = std::chrono::steady_clock::now();
    for (uint64_t b = 0; b < kParticipants / kBatch; ++b) {
      ASSERT_TRUE((*store)->Write(ScaleBatch(b, 0)).ok());
    }
    ASSERT_TRUE((*store)->Write(CompactBefore(kParticipants - 100000)).ok());
    ASSERT_TRUE((*store)->Flush().ok());
    std::printf("fill (sync off): %.2f s\n", SecondsSince(start));
  }
  absl::StatusOr<std::unique_ptr<Store>> store = OpenRocksStore({.path = path, .sync = true});
  ASSERT_TRUE(store.ok()) << store.status();
  {
    state::Roster roster(ScaleLimits());
    const auto start = std::chrono::steady_clock::now();
    const double cpu_start = ThreadCpuSeconds();
    absl::StatusOr<LoadStats> stats = (*store)->Load(roster);
    const double cpu = ThreadCpuSeconds() - cpu_start;
    const double seconds = SecondsSince(start);
    ASSERT_TRUE(stats.ok()) << stats.status();
    EXPECT_EQ(stats->participants, kParticipants);
    EXPECT_EQ(roster.participant_count(), kParticipants);
    std::printf("RocksDB Load of %zu participants, %zu rooms: %.3f s wall, %.3f s CPU\n",
                stats->participants, stats->rooms, seconds, cpu);
    RecordProperty("rocks_load_seconds", absl::StrCat(seconds));
  }
  // Synced group commits: 1,000 participant updates and 1,000 log entries each.
  constexpr int kWrites = 50;
  std::vector<double> millis;
  for (int i = 0; i < kWrites; ++i) {
    const WriteBatch batch = ScaleBatch(static_cast<uint64_t>(i), kParticipants);
    const auto start = std::chrono::steady_clock::now();
    ASSERT_TRUE((*store)->Write(batch).ok());
    millis.push_back(SecondsSince(start) * 1000);
  }
  std::sort(millis.begin(), millis.end());
  double total = 0;
  for (double m : millis) total += m;
  std::printf(
      "synced Write of 1000 participants + 1000 log entries: mean %.2f ms, p50 %.2f ms, "
      "max %.2f ms\n",
      total / kWrites, millis[kWrites / 2], millis.back());
}

// The same Load from MemoryStore: the roster's own restore cost, for comparison with RocksDB.
TEST(StoreScale, DISABLED_MemoryLoadMillionParticipants) {
  MemoryStore store;
  for (uint64_t b = 0; b < kParticipants / kBatch; ++b) {
    ASSERT_TRUE(store.Write(ScaleBatch(b, 0)).ok());
  }
  state::Roster roster(ScaleLimits());
  const auto start = std::chrono::steady_clock::now();
  const double cpu_start = ThreadCpuSeconds();
  absl::StatusOr<LoadStats> stats = store.Load(roster);
  const double cpu = ThreadCpuSeconds() - cpu_start;
  const double seconds = SecondsSince(start);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->participants, kParticipants);
  std::printf(
      "MemoryStore Load of %zu participants (roster restore alone): %.3f s wall, "
      "%.3f s CPU\n",
      stats->participants, seconds, cpu);
}

}  // namespace
}  // namespace rollcall::store
