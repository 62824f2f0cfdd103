// docs/api.md, state table table, one row per cell: a participant in each starting status
// (including "no such participant") meets each input (the four media events, a kick, an anonymize),
// with the stale / non-stale split where the table makes one. Each row asserts the exact outcome;
// error rows assert the code, the field the message names, and that nothing changed.
#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "state/records.h"
#include "tests/state/state_harness.h"

namespace rollcall::state {
namespace {

using test::At;
using test::Harness;
using test::PaSid;
using test::PaText;

enum class Start { kNone, kConnected, kReconnecting, kDisconnected };
enum class Act { kConnected, kReconnecting, kReconnected, kDisconnected, kKick, kAnonymize };
enum class Timing { kFresh, kStale };

struct Expected {
  absl::StatusCode code = absl::StatusCode::kOk;
  Disposition disposition = Disposition::kIgnored;
  // APPLIED only: the participant's status after, the change, and the disconnect reason.
  ParticipantStatus status = ParticipantStatus::kUnspecified;
  ChangeType change = ChangeType::kUnspecified;
  DisconnectReason reason = DisconnectReason::kUnspecified;
  // Errors only: the field the message must name.
  std::string field;
};

Expected Applied(ParticipantStatus status, ChangeType change,
                 DisconnectReason reason = DisconnectReason::kUnspecified) {
  return Expected{absl::StatusCode::kOk, Disposition::kApplied, status, change, reason, ""};
}
Expected Ignored() { return Expected{}; }
Expected Error(absl::StatusCode code, std::string field) {
  Expected e;
  e.code = code;
  e.field = std::move(field);
  return e;
}

struct Cell {
  Start start;
  Act act;
  Timing timing;
  Expected expected;
};

const char* StartName(Start s) {
  switch (s) {
    case Start::kNone:
      return "NoParticipant";
    case Start::kConnected:
      return "Connected";
    case Start::kReconnecting:
      return "Reconnecting";
    case Start::kDisconnected:
      return "Disconnected";
  }
  return "?";
}
const char* ActName(Act a) {
  switch (a) {
    case Act::kConnected:
      return "ConnectedEvent";
    case Act::kReconnecting:
      return "ReconnectingEvent";
    case Act::kReconnected:
      return "ReconnectedEvent";
    case Act::kDisconnected:
      return "DisconnectedEvent";
    case Act::kKick:
      return "Kick";
    case Act::kAnonymize:
      return "Anonymize";
  }
  return "?";
}

constexpr auto kOk = absl::StatusCode::kOk;
constexpr auto kNotFound = absl::StatusCode::kNotFound;
constexpr auto kFailedPrecondition = absl::StatusCode::kFailedPrecondition;
using PS = ParticipantStatus;
using CT = ChangeType;
using DR = DisconnectReason;

// The participant under test, its room, and the times of the scenario:
// the room is created at -60 s; the participant connects at 0 s, starts reconnecting at 10 s,
// disconnects at 20 s (as far as its starting status goes); the input comes at 25 s (server
// time), "fresh" at 25 s and "stale" 5 s before the participant's last applied event.
const char kRoom[] = "lobby";
const char kIdentity[] = "alice";
constexpr int64_t kNow = 25;

int64_t LastEventSeconds(Start start) {
  switch (start) {
    case Start::kNone:
    case Start::kConnected:
      return 0;
    case Start::kReconnecting:
      return 10;
    case Start::kDisconnected:
      return 20;
  }
  return 0;
}

absl::Time OccurredAt(const Cell& cell) {
  return cell.timing == Timing::kFresh ? At(kNow) : At(LastEventSeconds(cell.start) - 5);
}

const std::vector<Cell>& Cells() {
  static const auto* cells = new std::vector<Cell>{
      // (no such participant)
      {Start::kNone, Act::kConnected, Timing::kFresh,
       Applied(PS::kConnected, CT::kParticipantConnected)},
      {Start::kNone, Act::kReconnecting, Timing::kFresh, Error(kNotFound, "event.participant_sid")},
      {Start::kNone, Act::kReconnected, Timing::kFresh, Error(kNotFound, "event.participant_sid")},
      {Start::kNone, Act::kDisconnected, Timing::kFresh, Error(kNotFound, "event.participant_sid")},
      {Start::kNone, Act::kKick, Timing::kFresh, Error(kNotFound, "participant_sid")},
      {Start::kNone, Act::kAnonymize, Timing::kFresh, Error(kNotFound, "participant_sid")},

      // CONNECTED
      {Start::kConnected, Act::kConnected, Timing::kFresh, Ignored()},
      {Start::kConnected, Act::kConnected, Timing::kStale, Ignored()},
      {Start::kConnected, Act::kReconnecting, Timing::kFresh,
       Applied(PS::kReconnecting, CT::kParticipantReconnecting)},
      {Start::kConnected, Act::kReconnecting, Timing::kStale, Ignored()},
      {Start::kConnected, Act::kReconnected, Timing::kFresh, Ignored()},
      {Start::kConnected, Act::kReconnected, Timing::kStale, Ignored()},
      {Start::kConnected, Act::kDisconnected, Timing::kFresh,
       Applied(PS::kDisconnected, CT::kParticipantDisconnected, DR::kClientInitiated)},
      // DISCONNECTED is terminal: it applies to an active participant even when stale.
      {Start::kConnected, Act::kDisconnected, Timing::kStale,
       Applied(PS::kDisconnected, CT::kParticipantDisconnected, DR::kClientInitiated)},
      {Start::kConnected, Act::kKick, Timing::kFresh,
       Applied(PS::kDisconnected, CT::kParticipantDisconnected, DR::kRemoved)},
      {Start::kConnected, Act::kAnonymize, Timing::kFresh,
       Error(kFailedPrecondition, "participant_sid")},

      // RECONNECTING
      {Start::kReconnecting, Act::kConnected, Timing::kFresh, Ignored()},
      {Start::kReconnecting, Act::kConnected, Timing::kStale, Ignored()},
      {Start::kReconnecting, Act::kReconnecting, Timing::kFresh, Ignored()},
      {Start::kReconnecting, Act::kReconnecting, Timing::kStale, Ignored()},
      {Start::kReconnecting, Act::kReconnected, Timing::kFresh,
       Applied(PS::kConnected, CT::kParticipantReconnected)},
      {Start::kReconnecting, Act::kReconnected, Timing::kStale, Ignored()},
      {Start::kReconnecting, Act::kDisconnected, Timing::kFresh,
       Applied(PS::kDisconnected, CT::kParticipantDisconnected, DR::kClientInitiated)},
      {Start::kReconnecting, Act::kDisconnected, Timing::kStale,
       Applied(PS::kDisconnected, CT::kParticipantDisconnected, DR::kClientInitiated)},
      {Start::kReconnecting, Act::kKick, Timing::kFresh,
       Applied(PS::kDisconnected, CT::kParticipantDisconnected, DR::kRemoved)},
      {Start::kReconnecting, Act::kAnonymize, Timing::kFresh,
       Error(kFailedPrecondition, "participant_sid")},

      // DISCONNECTED
      {Start::kDisconnected, Act::kConnected, Timing::kFresh, Ignored()},
      {Start::kDisconnected, Act::kConnected, Timing::kStale, Ignored()},
      {Start::kDisconnected, Act::kReconnecting, Timing::kStale, Ignored()},
      {Start::kDisconnected, Act::kReconnecting, Timing::kFresh,
       Error(kFailedPrecondition, "event.type")},
      {Start::kDisconnected, Act::kReconnected, Timing::kStale, Ignored()},
      {Start::kDisconnected, Act::kReconnected, Timing::kFresh,
       Error(kFailedPrecondition, "event.type")},
      {Start::kDisconnected, Act::kDisconnected, Timing::kFresh, Ignored()},
      {Start::kDisconnected, Act::kDisconnected, Timing::kStale, Ignored()},
      {Start::kDisconnected, Act::kKick, Timing::kFresh, Error(kFailedPrecondition, "status")},
      {Start::kDisconnected, Act::kAnonymize, Timing::kFresh,
       // The session keeps how it ended.
       Applied(PS::kDisconnected, CT::kParticipantAnonymized, DR::kClientInitiated)},
  };
  return *cells;
}

class RoomMachineTableTest : public ::testing::TestWithParam<Cell> {
 protected:
  // Brings participant PA…01 into the row's starting status in a created room.
  void SetUpStart(Start start) {
    h_.SetNow(At(-60));
    h_.CreateRoomNamed(kRoom);
    if (start != Start::kNone) {
      h_.SetNow(At(0));
      h_.Connect(kRoom, kIdentity, At(0), PaText(1));
    }
    if (start == Start::kReconnecting) {
      h_.SetNow(At(10));
      h_.Apply(h_.Reconnecting(kRoom, PaText(1), At(10)));
    }
    if (start == Start::kDisconnected) {
      h_.SetNow(At(20));
      h_.Apply(h_.Disconnected(kRoom, PaText(1), At(20)));
    }
    h_.SetNow(At(kNow));
  }

  Input MakeInput(const Cell& cell) {
    const absl::Time at = OccurredAt(cell);
    switch (cell.act) {
      case Act::kConnected:
        return h_.Connected(kRoom, kIdentity, at, PaText(1));
      case Act::kReconnecting:
        return h_.Reconnecting(kRoom, PaText(1), at);
      case Act::kReconnected:
        return h_.Reconnected(kRoom, PaText(1), at);
      case Act::kDisconnected:
        return h_.Disconnected(kRoom, PaText(1), at);
      case Act::kKick:
        return h_.Kick(kRoom, PaText(1));
      case Act::kAnonymize:
        return h_.Anonymize(kRoom, PaText(1));
    }
    return Input{};
  }

  Harness h_;
};

TEST_P(RoomMachineTableTest, Cell) {
  const Cell& cell = GetParam();
  SetUpStart(cell.start);
  ASSERT_FALSE(HasFailure()) << "setup failed";

  const test::RosterDump before = h_.Dump();
  const Participant* found = h_.roster().FindParticipant(PaSid(1));
  const std::optional<Participant> previous =
      found == nullptr ? std::nullopt : std::optional<Participant>(*found);
  ASSERT_EQ(previous.has_value(), cell.start != Start::kNone);
  const Input input = MakeInput(cell);
  const absl::Time occurred_at = OccurredAt(cell);

  const absl::StatusOr<Outcome> result = h_.Step(input);

  if (cell.expected.code != kOk) {
    EXPECT_TRUE(test::HasError(result, cell.expected.code, cell.expected.field));
    EXPECT_EQ(h_.Dump(), before) << "an error must change nothing";
    return;
  }
  ASSERT_TRUE(result.ok()) << result.status();
  const Outcome& outcome = *result;
  ASSERT_EQ(outcome.disposition, cell.expected.disposition) << test::Describe(result);
  ASSERT_TRUE(outcome.participant.has_value());

  if (cell.expected.disposition == Disposition::kIgnored) {
    EXPECT_EQ(outcome.revision, before.revision);
    EXPECT_EQ(*outcome.participant, *previous) << "IGNORED carries the current record";
    EXPECT_TRUE(outcome.changes.empty());
    EXPECT_FALSE(outcome.dedupe.has_value()) << "only applied events are remembered";
    EXPECT_EQ(h_.Dump(), before) << "IGNORED must change nothing";
    return;
  }

  // APPLIED.
  const Participant& after = *outcome.participant;
  EXPECT_EQ(outcome.revision, before.revision + 1);
  EXPECT_EQ(after.sid, PaSid(1));
  EXPECT_EQ(after.status, cell.expected.status);
  EXPECT_EQ(after.revision, outcome.revision);
  EXPECT_EQ(after.date_updated, At(kNow));
  EXPECT_EQ(after.disconnect_reason, cell.expected.reason);
  ASSERT_EQ(outcome.changes.size(), 1u) << "a created room does not end with its participants";
  const Change& change = outcome.changes[0];
  EXPECT_EQ(change.type, cell.expected.change);
  EXPECT_EQ(change.time, At(kNow));
  EXPECT_EQ(change.previous_status, previous ? previous->status : ParticipantStatus::kUnspecified);
  EXPECT_EQ(test::ParticipantOf(change), after);
  const Participant* stored = h_.roster().FindParticipant(PaSid(1));
  ASSERT_NE(stored, nullptr);
  EXPECT_EQ(*stored, after);

  const bool is_event = cell.act != Act::kKick && cell.act != Act::kAnonymize;
  EXPECT_EQ(outcome.dedupe.has_value(), is_event);
  if (is_event && outcome.dedupe) {
    EXPECT_EQ(outcome.dedupe->event_id, std::get<Event>(input).event_id);
    EXPECT_EQ(outcome.dedupe->revision, outcome.revision);
    EXPECT_EQ(outcome.dedupe->participant_sid, PaSid(1));
  }

  switch (cell.act) {
    case Act::kConnected:
      EXPECT_EQ(after.identity, kIdentity);
      EXPECT_EQ(after.account_sid, test::AccountA());
      EXPECT_EQ(after.room_sid, h_.roster().FindInProgressRoomByName(test::AccountA(), kRoom)->sid);
      EXPECT_EQ(after.start_time, occurred_at);
      EXPECT_EQ(after.last_event_time, occurred_at);
      EXPECT_EQ(after.date_created, At(kNow));
      EXPECT_FALSE(after.end_time.has_value());
      EXPECT_FALSE(after.duration.has_value());
      break;
    case Act::kReconnecting:
      EXPECT_EQ(after.reconnecting_since, occurred_at);
      EXPECT_EQ(after.last_event_time, occurred_at);
      EXPECT_FALSE(after.end_time.has_value());
      break;
    case Act::kReconnected:
      EXPECT_FALSE(after.reconnecting_since.has_value());
      EXPECT_EQ(after.last_event_time, occurred_at);
      EXPECT_FALSE(after.end_time.has_value());
      break;
    case Act::kDisconnected: {
      const absl::Time end = std::max(occurred_at, previous->start_time);
      EXPECT_EQ(after.end_time, end) << "end_time = occurred_at, clamped to >= start_time";
      EXPECT_EQ(after.duration, test::FloorSeconds(end - previous->start_time));
      EXPECT_EQ(after.last_event_time, std::max(occurred_at, previous->last_event_time));
      break;
    }
    case Act::kKick:
      EXPECT_EQ(after.end_time, At(kNow)) << "a kick ends the session at server time";
      EXPECT_EQ(after.duration, test::FloorSeconds(At(kNow) - previous->start_time));
      EXPECT_EQ(after.last_event_time, previous->last_event_time) << "a kick is not a media event";
      break;
    case Act::kAnonymize:
      EXPECT_EQ(after.identity, PaText(1));
      // Everything but the identity, the revision and date_updated stays.
      Participant expected = *previous;
      expected.identity = PaText(1);
      expected.revision = outcome.revision;
      expected.date_updated = At(kNow);
      EXPECT_EQ(after, expected);
      break;
  }
  // The start of a session never moves.
  if (previous) {
    EXPECT_EQ(after.start_time, previous->start_time);
  }
}

void PrintTo(const Cell& cell, std::ostream* os) {
  *os << StartName(cell.start) << " x " << ActName(cell.act)
      << (cell.timing == Timing::kStale ? " (stale)" : "");
}

std::string CellName(const ::testing::TestParamInfo<Cell>& info) {
  return absl::StrCat(StartName(info.param.start), "_", ActName(info.param.act),
                      info.param.timing == Timing::kStale ? "_Stale" : "");
}

INSTANTIATE_TEST_SUITE_P(DesignTable, RoomMachineTableTest, ::testing::ValuesIn(Cells()), CellName);

// The table covers every (status, input) cell of docs/api.md, state table at least once.
TEST(RoomMachineTableCoverageTest, EveryCellHasARow) {
  for (Start start :
       {Start::kNone, Start::kConnected, Start::kReconnecting, Start::kDisconnected}) {
    for (Act act : {Act::kConnected, Act::kReconnecting, Act::kReconnected, Act::kDisconnected,
                    Act::kKick, Act::kAnonymize}) {
      bool found = false;
      for (const Cell& cell : Cells()) found |= cell.start == start && cell.act == act;
      EXPECT_TRUE(found) << StartName(start) << " x " << ActName(act);
    }
  }
}

}  // namespace
}  // namespace rollcall::state
