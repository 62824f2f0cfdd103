// The invariants of RoomMachine + Roster that hold after every input, whatever the input, as
// gtest expectations: shared by the seeded property test and the state-machine fuzzer (which
// turns the first failure into a crash). SequenceChecker also checks what each step did
// against what came before it (revisions, dedupe, timers, the records it returned).
#ifndef ROLLCALL_TESTS_STATE_INVARIANTS_H_
#define ROLLCALL_TESTS_STATE_INVARIANTS_H_

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "state/records.h"
#include "state/room_machine.h"
#include "state/roster.h"
#include "tests/state/random_inputs.h"
#include "tests/state/state_harness.h"

namespace rollcall::state::test {

inline bool IsPendingTimer(const Roster& roster, const Timer& timer) {
  std::vector<Timer> timers;
  if (const Participant* p = roster.FindParticipant(timer.sid)) timers = roster.TimersOf(*p);
  if (const Room* r = roster.FindRoom(timer.sid)) timers = roster.TimersOf(*r);
  return std::find(timers.begin(), timers.end(), timer) != timers.end();
}

// Checks the invariants on the whole roster. `statuses` carries each participant's status
// from the previous check, to catch a status leaving DISCONNECTED.
inline void CheckInvariants(const Roster& roster, std::map<Sid, ParticipantStatus>& statuses) {
  std::map<Sid, int> active_per_room;
  std::set<std::pair<Sid, std::string>> active_identities;
  size_t active_total = 0;
  std::optional<Timer> earliest;
  auto consider = [&](const std::vector<Timer>& timers) {
    for (const Timer& t : timers) {
      if (!earliest || t < *earliest) earliest = t;
    }
  };

  roster.ForEachParticipant(AccountA(), std::nullopt, [&](const Participant& p) {
    // Streamed into failure messages only (building it for every record is too slow).
    auto who = [&p] { return ::testing::PrintToString(p); };
    EXPECT_EQ(roster.FindParticipant(p.sid), &p) << who();
    EXPECT_TRUE(p.status == ParticipantStatus::kConnected ||
                p.status == ParticipantStatus::kReconnecting ||
                p.status == ParticipantStatus::kDisconnected)
        << who();
    const bool disconnected = p.status == ParticipantStatus::kDisconnected;
    EXPECT_EQ(p.end_time.has_value(), disconnected)
        << "end_time set exactly when DISCONNECTED" << who();
    EXPECT_EQ(p.duration.has_value(), disconnected)
        << "duration set exactly when DISCONNECTED" << who();
    EXPECT_EQ(p.disconnect_reason != DisconnectReason::kUnspecified, disconnected) << who();
    if (p.end_time && p.duration) {
      EXPECT_GE(*p.end_time, p.start_time) << who();
      EXPECT_EQ(*p.duration, FloorSeconds(*p.end_time - p.start_time)) << who();
    }
    if (p.active()) {
      EXPECT_TRUE(active_identities.emplace(p.room_sid, p.identity).second)
          << "two active participants with one identity in a room" << who();
      ++active_per_room[p.room_sid];
      ++active_total;
      EXPECT_EQ(p.reconnecting_since.has_value(), p.status == ParticipantStatus::kReconnecting)
          << who();
      const Participant* by_identity = roster.FindActiveByIdentity(p.room_sid, p.identity);
      EXPECT_EQ(by_identity, &p) << who();
    }
    EXPECT_GE(p.last_event_time, p.start_time) << who();
    EXPECT_GE(p.revision, 1u) << who();
    EXPECT_LE(p.revision, roster.revision()) << who();
    EXPECT_NE(roster.FindRoom(p.room_sid), nullptr) << "every participant has its room" << who();
    auto [it, inserted] = statuses.try_emplace(p.sid, p.status);
    if (!inserted) {
      if (it->second == ParticipantStatus::kDisconnected) {
        EXPECT_EQ(p.status, ParticipantStatus::kDisconnected) << "left DISCONNECTED" << who();
      }
      it->second = p.status;
    }
    consider(roster.TimersOf(p));
  });
  EXPECT_EQ(roster.active_participant_count(), active_total);

  size_t in_progress = 0;
  roster.ForEachRoom(AccountA(), std::nullopt, [&](const Room& r) {
    auto who = [&r] { return ::testing::PrintToString(r); };
    const int active = active_per_room[r.sid];
    EXPECT_LE(active, r.max_participants)
        << "more active participants than max_participants" << who();
    EXPECT_EQ(roster.Activity(r.sid).active, active) << who();
    EXPECT_GE(r.revision, 1u) << who();
    EXPECT_LE(r.revision, roster.revision()) << who();
    if (r.status == RoomStatus::kCompleted) {
      EXPECT_EQ(active, 0) << "a completed room has no active participants" << who();
      EXPECT_TRUE(r.end_time.has_value()) << who();
      EXPECT_TRUE(r.duration.has_value()) << who();
      if (r.end_time && r.duration) {
        EXPECT_GE(*r.end_time, r.date_created) << who();
        EXPECT_EQ(*r.duration, FloorSeconds(*r.end_time - r.date_created)) << who();
      }
    } else {
      EXPECT_EQ(r.status, RoomStatus::kInProgress) << who();
      EXPECT_FALSE(r.end_time.has_value()) << who();
      EXPECT_FALSE(r.duration.has_value()) << who();
      EXPECT_EQ(roster.FindInProgressRoomByName(AccountA(), r.unique_name), &r)
          << "in-progress names are unique and indexed" << who();
      ++in_progress;
    }
    consider(roster.TimersOf(r));
  });
  EXPECT_EQ(roster.in_progress_room_count(), in_progress);
  EXPECT_EQ(roster.Usage(AccountA()).rooms_in_progress, static_cast<int64_t>(in_progress));
  EXPECT_EQ(roster.Usage(AccountA()).active_participants, static_cast<int64_t>(active_total));
  EXPECT_EQ(roster.NextTimer(), earliest) << "the timer index matches the records";
}

// Checks one sequence step by step: call Before() with the roster as the step finds it and
// After() with what the step decided (after the harness committed it).
class SequenceChecker {
 public:
  void Before(const Roster& roster, const InputGenerator::Step& step) {
    revision_before_ = roster.revision();
    dedupe_before_ = roster.dedupe_count();
    timer_pending_.reset();
    if (const auto* fire = std::get_if<FireTimer>(&step.input)) {
      timer_pending_ = IsPendingTimer(roster, fire->timer) && fire->timer.deadline <= step.now;
    }
  }

  void After(Harness& h, const InputGenerator::Step& step, const absl::StatusOr<Outcome>& result) {
    const bool applied = result.ok() && result->disposition == Disposition::kApplied;
    EXPECT_EQ(h.roster().revision(), revision_before_ + (applied ? 1 : 0));

    if (const auto* event = std::get_if<Event>(&step.input)) {
      auto seen = applied_events_.find(event->event_id);
      if (seen != applied_events_.end()) {
        if (seen->second.first == RoomMachine::Fingerprint(*event)) {
          EXPECT_TRUE(result.ok() && result->disposition == Disposition::kDuplicate);
          if (result.ok()) {
            EXPECT_EQ(result->revision, seen->second.second);
          }
        } else {
          EXPECT_EQ(result.status().code(), absl::StatusCode::kAlreadyExists);
        }
      } else {
        EXPECT_FALSE(result.ok() && result->disposition == Disposition::kDuplicate);
      }
      if (applied) {
        EXPECT_TRUE(result->dedupe.has_value());
        applied_events_[event->event_id] = {RoomMachine::Fingerprint(*event), result->revision};
        EXPECT_EQ(h.roster().dedupe_count(), dedupe_before_ + 1);
      } else {
        EXPECT_EQ(h.roster().dedupe_count(), dedupe_before_);
      }
    } else if (result.ok()) {
      EXPECT_FALSE(result->dedupe.has_value()) << "only events are deduplicated";
    }
    if (const auto* fire = std::get_if<FireTimer>(&step.input)) {
      EXPECT_EQ(applied, *timer_pending_) << ::testing::PrintToString(fire->timer);
      if (!applied) {
        EXPECT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition);
      }
    }
    if (result.ok() && result->participant && result->disposition != Disposition::kApplied) {
      // DUPLICATE and IGNORED carry the participant's current record.
      EXPECT_EQ(*result->participant, h.Get(result->participant->sid));
    }
    if (applied) {
      // The last change to each record in the revision is what the roster now holds.
      std::map<Sid, const Change*> last;
      for (const Change& c : result->changes) {
        // Tracks, rule sets and subscriptions are checked by the tracks property test.
        if (const auto* p = std::get_if<Participant>(&c.resource)) last[p->sid] = &c;
        if (const auto* r = std::get_if<Room>(&c.resource)) last[r->sid] = &c;
      }
      for (const auto& [sid, change] : last) {
        if (const auto* p = std::get_if<Participant>(&change->resource)) {
          EXPECT_EQ(*p, h.Get(sid));
        } else {
          EXPECT_EQ(std::get<Room>(change->resource), h.GetRoom(sid));
        }
      }
      if (result->participant) {
        EXPECT_EQ(*result->participant, h.Get(result->participant->sid));
      }
    }
    CheckInvariants(h.roster(), statuses_);
  }

 private:
  std::map<Sid, ParticipantStatus> statuses_;
  // event_id -> (fingerprint, revision) of events that were applied.
  std::map<std::string, std::pair<uint64_t, uint64_t>> applied_events_;
  uint64_t revision_before_ = 0;
  size_t dedupe_before_ = 0;
  std::optional<bool> timer_pending_;
};

}  // namespace rollcall::state::test

#endif  // ROLLCALL_TESTS_STATE_INVARIANTS_H_
