// rollcall-microbench: Google Benchmark microbenchmarks of what one ingested event costs
// below gRPC: the room state machine deciding each event type against a Roster holding many
// rooms, deciding and committing a whole session's events, and a Store committing one group
// commit's batch (RocksDB with fsync on and off, and the in-memory store).
//
//   rollcall-microbench                                   (everything; about a minute)
//   rollcall-microbench --benchmark_filter=Decide         (the state machine only)
//   rollcall-microbench --benchmark_min_time=0.01         (a smoke run)
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "state/records.h"
#include "state/room_machine.h"
#include "state/roster.h"
#include "state/sid.h"
#include "store/store.h"

namespace rollcall::bench {
namespace {

using state::Event;
using state::EventType;
using state::Outcome;
using state::RoomMachine;
using state::Roster;
using state::SequentialIdSource;
using state::Sid;

constexpr int kRoomSize = 20;          // participants per room in the prepared rosters
constexpr int kPreparedEvents = 4096;  // distinct inputs a Decide benchmark cycles through
const absl::Time kEpoch = absl::FromUnixSeconds(1700000000);

Sid Account() {
  static const Sid account = *Sid::Parse("AC0123456789abcdef0123456789abcdef", "AC", "account");
  return account;
}

Event MakeEvent(EventType type, std::string event_id, std::string room, std::string participant_sid,
                std::string identity, absl::Time at) {
  Event event;
  event.account_sid = Account();
  event.event_id = std::move(event_id);
  event.type = type;
  event.occurred_at = at;
  event.room = std::move(room);
  event.participant_sid = std::move(participant_sid);
  event.identity = std::move(identity);
  return event;
}

// A roster of `rooms` ad-hoc rooms of kRoomSize participants each, every fourth participant
// RECONNECTING and the rest CONNECTED, built through the machine as the applier would.
// The per-account quotas are lifted: every room is in one account, on purpose.
state::Limits Unquotaed() {
  state::Limits limits;
  limits.max_account_rooms = std::numeric_limits<int64_t>::max();
  limits.max_account_participants = std::numeric_limits<int64_t>::max();
  return limits;
}

struct World {
  explicit World(int rooms) : roster(Unquotaed()), ids(1) {
    RoomMachine machine(ids);
    absl::Time at = kEpoch;
    for (int r = 0; r < rooms; ++r) {
      for (int i = 0; i < kRoomSize; ++i) {
        at += absl::Microseconds(1);
        Event event = MakeEvent(EventType::kConnected, absl::StrCat("join-", r, "-", i),
                                absl::StrCat("room-", r), "", absl::StrCat("user-", r, "-", i), at);
        const Outcome outcome = *machine.Decide(roster, event, at);
        roster.Commit(outcome);
        const state::Participant& participant = *outcome.participant;
        room_sids.push_back(participant.room_sid.ToString());
        if (i % 4 == 3) {
          at += absl::Microseconds(1);
          roster.Commit(
              *machine.Decide(roster,
                              MakeEvent(EventType::kReconnecting, absl::StrCat("lost-", r, "-", i),
                                        room_sids.back(), participant.sid.ToString(), "", at),
                              at));
          reconnecting.push_back(participant);
        } else {
          connected.push_back(participant);
          joins.push_back(std::move(event));
        }
      }
    }
    now = at + absl::Seconds(1);
  }

  Roster roster;
  SequentialIdSource ids;
  std::vector<std::string> room_sids;
  std::vector<state::Participant> connected;
  std::vector<state::Participant> reconnecting;
  std::vector<Event> joins;  // the applied CONNECTED events of `connected`
  absl::Time now;
};

const World& WorldOf(int rooms) {
  static auto* worlds = new std::map<int, std::unique_ptr<World>>;
  auto& world = (*worlds)[rooms];
  if (!world) world = std::make_unique<World>(rooms);
  return *world;
}

enum class Case {
  kConnected,          // a new identity joins an existing room
  kReconnecting,       // CONNECTED → RECONNECTING
  kReconnected,        // RECONNECTING → CONNECTED
  kDisconnected,       // CONNECTED → DISCONNECTED
  kDuplicate,          // an applied event again: DUPLICATE
  kDuplicateIdentity,  // CONNECTED of an active identity: replaces its session
};

std::vector<Event> Inputs(const World& world, Case which) {
  std::vector<Event> inputs;
  const absl::Time at = world.now;
  for (int n = 0; n < kPreparedEvents; ++n) {
    const std::string id = absl::StrCat("bench-", n);
    const state::Participant& live = world.connected[n % world.connected.size()];
    switch (which) {
      case Case::kConnected:
        inputs.push_back(MakeEvent(EventType::kConnected, id,
                                   world.room_sids[n % world.room_sids.size()], "",
                                   absl::StrCat("newcomer-", n), at));
        break;
      case Case::kReconnecting:
      case Case::kDisconnected:
        inputs.push_back(MakeEvent(
            which == Case::kReconnecting ? EventType::kReconnecting : EventType::kDisconnected, id,
            live.room_sid.ToString(), live.sid.ToString(), "", at));
        break;
      case Case::kReconnected: {
        const state::Participant& lost = world.reconnecting[n % world.reconnecting.size()];
        inputs.push_back(MakeEvent(EventType::kReconnected, id, lost.room_sid.ToString(),
                                   lost.sid.ToString(), "", at));
        break;
      }
      case Case::kDuplicate:
        inputs.push_back(world.joins[n % world.joins.size()]);
        break;
      case Case::kDuplicateIdentity:
        inputs.push_back(
            MakeEvent(EventType::kConnected, id, live.room_sid.ToString(), "", live.identity, at));
        break;
    }
  }
  return inputs;
}

// Decide alone: the roster is never changed, so every iteration sees the same state.
void BM_Decide(benchmark::State& bench, Case which) {
  const World& world = WorldOf(static_cast<int>(bench.range(0)));
  const std::vector<Event> inputs = Inputs(world, which);
  SequentialIdSource ids(1ull << 40);
  RoomMachine machine(ids);
  size_t n = 0;
  for (auto _ : bench) {
    absl::StatusOr<Outcome> outcome =
        machine.Decide(world.roster, inputs[n++ % inputs.size()], world.now);
    if (!outcome.ok()) {
      bench.SkipWithError(std::string(outcome.status().message()).c_str());
      break;
    }
    benchmark::DoNotOptimize(outcome);
  }
  bench.SetItemsProcessed(bench.iterations());
  bench.counters["participants"] = static_cast<double>(world.roster.participant_count());
}

// Decide and commit, as the applier does per event: sessions joining, dropping, returning and
// leaving (CONNECTED, RECONNECTING, RECONNECTED, DISCONNECTED), on a copy of the roster.
void BM_DecideCommitCycle(benchmark::State& bench) {
  const World& world = WorldOf(static_cast<int>(bench.range(0)));
  Roster roster = world.roster;
  SequentialIdSource ids(1ull << 40);
  RoomMachine machine(ids);
  absl::Time at = world.now;
  std::string sid;
  std::string room_sid;
  int64_t n = 0;
  for (auto _ : bench) {
    at += absl::Microseconds(1);
    const int step = static_cast<int>(n % 4);
    const std::string id = absl::StrCat("cycle-", n++);
    Event event = step == 0 ? MakeEvent(EventType::kConnected, id,
                                        world.room_sids[(n / 4) % world.room_sids.size()], "",
                                        absl::StrCat("cycler-", n / 4), at)
                            : MakeEvent(step == 1   ? EventType::kReconnecting
                                        : step == 2 ? EventType::kReconnected
                                                    : EventType::kDisconnected,
                                        id, room_sid, sid, "", at);
    absl::StatusOr<Outcome> outcome = machine.Decide(roster, event, at);
    if (!outcome.ok()) {
      bench.SkipWithError(std::string(outcome.status().message()).c_str());
      break;
    }
    roster.Commit(*outcome);
    if (step == 0) {
      sid = outcome->participant->sid.ToString();
      room_sid = outcome->participant->room_sid.ToString();
    }
  }
  bench.SetItemsProcessed(bench.iterations());
}

// One group commit: `batch` participant upserts, dedupe entries and change-log entries.
void WriteBatches(benchmark::State& bench, store::Store& store) {
  const int batch = static_cast<int>(bench.range(0));
  SequentialIdSource ids(1);
  const Sid room = ids.NewSid("RM");
  const std::string payload(300, 'x');  // about one serialized change
  uint64_t revision = store.revision();
  for (auto _ : bench) {
    store::WriteBatch write;
    for (int i = 0; i < batch; ++i) {
      ++revision;
      state::Participant participant;
      participant.sid = ids.NewSid("PA");
      participant.account_sid = Account();
      participant.room_sid = room;
      participant.identity = absl::StrCat("user-", revision);
      participant.status = state::ParticipantStatus::kConnected;
      participant.date_created = participant.date_updated = participant.start_time =
          participant.last_event_time = kEpoch;
      participant.revision = revision;
      write.dedupe.push_back({Account(), absl::StrCat("event-", revision), revision, revision,
                              participant.sid, kEpoch});
      write.participants.push_back(std::move(participant));
      write.log.push_back({revision, payload});
    }
    write.revision = revision;
    if (absl::Status status = store.Write(write); !status.ok()) {
      bench.SkipWithError(std::string(status.message()).c_str());
      break;
    }
  }
  bench.SetItemsProcessed(bench.iterations() * batch);
}

void BM_RocksWrite(benchmark::State& bench) {
  std::string dir =
      (std::filesystem::temp_directory_path() / "rollcall-microbench-XXXXXX").string();
  if (mkdtemp(dir.data()) == nullptr) {
    bench.SkipWithError("mkdtemp failed");
    return;
  }
  {
    store::RocksOptions options;
    options.path = dir;
    options.sync = bench.range(1) != 0;
    absl::StatusOr<std::unique_ptr<store::Store>> store = store::OpenRocksStore(options);
    if (!store.ok()) {
      bench.SkipWithError(std::string(store.status().message()).c_str());
    } else {
      WriteBatches(bench, **store);
    }
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}

void BM_MemoryWrite(benchmark::State& bench) {
  store::MemoryStore store;
  WriteBatches(bench, store);
}

void RosterSizes(benchmark::internal::Benchmark* bench) {
  bench->ArgName("rooms")->Arg(1000)->Arg(10000);
}

BENCHMARK_CAPTURE(BM_Decide, connected, Case::kConnected)->Apply(RosterSizes);
BENCHMARK_CAPTURE(BM_Decide, reconnecting, Case::kReconnecting)->Apply(RosterSizes);
BENCHMARK_CAPTURE(BM_Decide, reconnected, Case::kReconnected)->Apply(RosterSizes);
BENCHMARK_CAPTURE(BM_Decide, disconnected, Case::kDisconnected)->Apply(RosterSizes);
BENCHMARK_CAPTURE(BM_Decide, duplicate, Case::kDuplicate)->Apply(RosterSizes);
BENCHMARK_CAPTURE(BM_Decide, duplicate_identity, Case::kDuplicateIdentity)->Apply(RosterSizes);
BENCHMARK(BM_DecideCommitCycle)->Apply(RosterSizes);
BENCHMARK(BM_RocksWrite)
    ->ArgNames({"batch", "sync"})
    ->ArgsProduct({{1, 64, 1000}, {0, 1}})
    ->UseRealTime();
BENCHMARK(BM_MemoryWrite)->ArgName("batch")->Arg(1)->Arg(64)->Arg(1000);

}  // namespace
}  // namespace rollcall::bench

BENCHMARK_MAIN();
