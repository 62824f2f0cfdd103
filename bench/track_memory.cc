// rollcall-track-memory: what a published track costs in memory at scale. Builds one Roster
// through RoomMachine, as the server's applier would: N participants in rooms of two, then two
// tracks each (a camera and a microphone), so each participant also subscribes to the other's
// two tracks under the default rules. Prints the resident-set growth of each stage and the
// bytes per published track, including the subscriptions it causes. Bounded: N inputs twice,
// no I/O, no threads; --participants sets N (default 1,000,000).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "state/room_machine.h"
#include "state/roster.h"

namespace {

using namespace rollcall::state;  // NOLINT(build/namespaces): a small tool

// VmRSS of this process in MB (10^6 bytes), from /proc/self/status; 0 if unreadable.
double RssMb() {
  std::ifstream status("/proc/self/status");
  std::string key;
  while (status >> key) {
    if (key == "VmRSS:") {
      double kib = 0;
      status >> kib;
      return kib * 1024 / 1e6;
    }
    std::getline(status, key);
  }
  return 0;
}

void Step(const RoomMachine& machine, Roster& roster, const Input& input, absl::Time now) {
  absl::StatusOr<Outcome> outcome = machine.Decide(roster, input, now);
  if (!outcome.ok() || outcome->disposition != Disposition::kApplied) {
    std::fprintf(stderr, "unexpected: %s\n", outcome.status().ToString().c_str());
    std::exit(1);
  }
  roster.Commit(*outcome);
}

}  // namespace

int main(int argc, char** argv) {
  int64_t participants = 1'000'000;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--participants=", 0) != 0 || !absl::SimpleAtoi(arg.substr(15), &participants) ||
        participants < 2 || participants > 10'000'000) {
      std::fprintf(stderr, "usage: %s [--participants=N]  (2..10,000,000)\n", argv[0]);
      return 2;
    }
  }
  SequentialIdSource ids;
  Limits limits;
  // One account holds them all: lift its quotas (rollcalld's own defaults stop at 10,000).
  limits.max_account_rooms = participants;
  limits.max_account_participants = participants;
  Roster roster(limits);
  RoomMachine machine(ids);
  const Sid account = ids.NewSid(kAccountPrefix);
  const absl::Time now = absl::FromUnixSeconds(1'700'000'000);
  const double start_mb = RssMb();
  std::vector<Sid> sids;
  sids.reserve(static_cast<size_t>(participants));
  for (int64_t i = 0; i < participants; ++i) {
    Event e;
    e.account_sid = account;
    e.event_id = absl::StrCat("c", i);
    e.type = EventType::kConnected;
    e.occurred_at = now;
    e.room = absl::StrCat("room-", i / 2);
    e.identity = absl::StrCat("user-", i);
    absl::StatusOr<Outcome> outcome = machine.Decide(roster, e, now);
    if (!outcome.ok() || outcome->disposition != Disposition::kApplied) {
      std::fprintf(stderr, "unexpected: %s\n", outcome.status().ToString().c_str());
      return 1;
    }
    roster.Commit(*outcome);
    sids.push_back(outcome->participant->sid);
  }
  const double participants_mb = RssMb();
  uint64_t track = 1;
  for (int64_t i = 0; i < participants; ++i) {
    for (const auto& [name, kind] :
         {std::pair{"cam", TrackKind::kVideo}, std::pair{"mic", TrackKind::kAudio}}) {
      Event e;
      e.account_sid = account;
      e.event_id = absl::StrCat("t", track);
      e.type = EventType::kTrackPublished;
      e.occurred_at = now;
      e.room = absl::StrCat("room-", i / 2);
      e.participant_sid = sids[static_cast<size_t>(i)].ToString();
      e.track_sid = Sid(kTrackPrefix, ids.NextBytes()).ToString();
      e.track_name = name;
      e.track_kind = kind;
      Step(machine, roster, e, now);
      ++track;
    }
  }
  const double tracks_mb = RssMb();
  const double tracks = static_cast<double>(roster.published_track_count());
  std::printf("participants %lld, rooms of 2, default rules\n",
              static_cast<long long>(participants));
  std::printf("RSS: start %.0f MB, participants %.0f MB, + tracks %.0f MB\n", start_mb,
              participants_mb, tracks_mb);
  std::printf("published tracks %zu, subscriptions %zu, remembered event ids %zu\n",
              roster.published_track_count(), roster.subscription_count(), roster.dedupe_count());
  std::printf(
      "bytes per published track (its record, indexes, one subscription and its event id): %.0f\n",
      (tracks_mb - participants_mb) * 1e6 / tracks);
  return 0;
}
