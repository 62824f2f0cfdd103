// The track and subscribe-rule tables of docs/tracks.md, one row per cell: a track in each
// starting state (none, published enabled, published disabled, unpublished; and none with the
// participant gone) meets each track event, fresh and stale; a participant in each state meets
// UpdateSubscribeRules with a new, the same and an invalid set. Each row asserts the exact
// outcome, including the subscribed-track change the other participant sees; error rows
// assert the code, the field the message names, and that nothing changed.
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "state/records.h"
#include "tests/state/state_harness.h"

namespace rollcall::state {
namespace {

using test::At;
using test::Harness;
using test::MtText;

enum class Start { kNone, kNoneLeft, kEnabled, kDisabled, kUnpublished };
enum class Act { kPublished, kUnpublished, kEnabled, kDisabled };
enum class Timing { kFresh, kStale };

struct Expected {
  absl::StatusCode code = absl::StatusCode::kOk;
  Disposition disposition = Disposition::kIgnored;
  ChangeType change = ChangeType::kUnspecified;      // APPLIED: the track's change
  ChangeType subscribed = ChangeType::kUnspecified;  // APPLIED: what the other participant sees
  std::string field;                                 // errors: the field named
};

Expected Applied(ChangeType change, ChangeType subscribed) {
  return Expected{absl::StatusCode::kOk, Disposition::kApplied, change, subscribed, ""};
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

std::string CellName(const Cell& c) {
  static const char* const kStarts[] = {"NoTrack", "NoTrackParticipantLeft", "Enabled", "Disabled",
                                        "Unpublished"};
  static const char* const kActs[] = {"Published", "Unpublished", "Enabled", "Disabled"};
  return std::string(kStarts[static_cast<int>(c.start)]) + "_" + kActs[static_cast<int>(c.act)] +
         (c.timing == Timing::kStale ? "_Stale" : "_Fresh");
}

constexpr auto kOk = absl::StatusCode::kOk;
constexpr auto kNotFound = absl::StatusCode::kNotFound;
constexpr auto kPrecondition = absl::StatusCode::kFailedPrecondition;
constexpr auto kAdded = ChangeType::kSubscribedTrackAdded;
constexpr auto kRemoved = ChangeType::kSubscribedTrackRemoved;
constexpr auto kUpdated = ChangeType::kSubscribedTrackUpdated;

std::vector<Cell> Cells() {
  using S = Start;
  using A = Act;
  using T = Timing;
  const Expected not_found = Error(kNotFound, "event.track_sid");
  const Expected gone = Error(kPrecondition, "event.track_sid");
  std::vector<Cell> cells = {
      {S::kNone, A::kPublished, T::kFresh, Applied(ChangeType::kTrackPublished, kAdded)},
      {S::kNone, A::kPublished, T::kStale, Applied(ChangeType::kTrackPublished, kAdded)},
      {S::kNoneLeft, A::kPublished, T::kFresh, Error(kPrecondition, "event.participant_sid")},
      {S::kNoneLeft, A::kPublished, T::kStale, Ignored()},
      {S::kEnabled, A::kPublished, T::kFresh, Ignored()},
      {S::kEnabled, A::kPublished, T::kStale, Ignored()},
      {S::kDisabled, A::kPublished, T::kFresh, Ignored()},
      {S::kUnpublished, A::kPublished, T::kFresh, Ignored()},
      {S::kEnabled, A::kUnpublished, T::kFresh, Applied(ChangeType::kTrackUnpublished, kRemoved)},
      {S::kEnabled, A::kUnpublished, T::kStale, Applied(ChangeType::kTrackUnpublished, kRemoved)},
      {S::kDisabled, A::kUnpublished, T::kFresh, Applied(ChangeType::kTrackUnpublished, kRemoved)},
      {S::kUnpublished, A::kUnpublished, T::kFresh, Ignored()},
      {S::kEnabled, A::kEnabled, T::kFresh, Ignored()},
      {S::kEnabled, A::kDisabled, T::kFresh, Applied(ChangeType::kTrackDisabled, kUpdated)},
      {S::kEnabled, A::kDisabled, T::kStale, Ignored()},
      {S::kDisabled, A::kEnabled, T::kFresh, Applied(ChangeType::kTrackEnabled, kUpdated)},
      {S::kDisabled, A::kEnabled, T::kStale, Ignored()},
      {S::kDisabled, A::kDisabled, T::kFresh, Ignored()},
      {S::kUnpublished, A::kEnabled, T::kFresh, gone},
      {S::kUnpublished, A::kEnabled, T::kStale, Ignored()},
      {S::kUnpublished, A::kDisabled, T::kFresh, gone},
      {S::kUnpublished, A::kDisabled, T::kStale, Ignored()},
  };
  for (A act : {A::kUnpublished, A::kEnabled, A::kDisabled}) {
    cells.push_back({S::kNone, act, T::kFresh, not_found});
    cells.push_back({S::kNoneLeft, act, T::kFresh, not_found});
  }
  return cells;
}

class TrackTableTest : public ::testing::TestWithParam<Cell> {};

TEST_P(TrackTableTest, Cell) {
  const Cell& cell = GetParam();
  Harness h;
  h.SetNow(At(1));
  const Participant alice = h.Connect("r", "alice", At(0));
  const Participant bob = h.Connect("r", "bob", At(0));
  const std::string room = alice.room_sid.ToString();
  const std::string pa = alice.sid.ToString();
  const std::string mt = MtText(1);
  auto published = [&](absl::Time at) {
    return h.Published(room, pa, mt, "cam", TrackKind::kVideo, at);
  };
  h.SetNow(At(30));
  switch (cell.start) {
    case Start::kNone:
      break;
    case Start::kNoneLeft:
      h.Apply(h.Disconnected(room, pa, At(20)));
      break;
    case Start::kEnabled:
      h.Apply(published(At(10)));
      break;
    case Start::kDisabled:
      h.Apply(published(At(10)));
      h.Apply(h.TrackEvent(EventType::kTrackDisabled, room, pa, mt, At(20)));
      break;
    case Start::kUnpublished:
      h.Apply(published(At(10)));
      h.Apply(h.TrackEvent(EventType::kTrackUnpublished, room, pa, mt, At(20)));
      break;
  }
  h.SetNow(At(100));
  const absl::Time at = cell.timing == Timing::kStale ? At(5) : At(90);
  Event event = published(at);
  if (cell.act != Act::kPublished) {
    static const EventType kTypes[] = {EventType::kTrackPublished, EventType::kTrackUnpublished,
                                       EventType::kTrackEnabled, EventType::kTrackDisabled};
    event = h.TrackEvent(kTypes[static_cast<int>(cell.act)], room, pa, mt, at);
  }
  const test::RosterDump before = h.Dump();
  const absl::StatusOr<Outcome> result = h.Step(event);
  const Expected& want = cell.expected;
  if (want.code != kOk) {
    EXPECT_TRUE(test::HasError(result.status(), want.code, want.field)) << result.status();
    EXPECT_EQ(h.Dump(), before);
    return;
  }
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->disposition, want.disposition) << test::Describe(result);
  if (want.disposition != Disposition::kApplied) {
    EXPECT_EQ(h.Dump(), before);
    return;
  }
  ASSERT_GE(result->changes.size(), 2u);
  EXPECT_EQ(result->changes.front().type, want.change);
  ASSERT_TRUE(result->track.has_value());
  EXPECT_EQ(*result->track, *h.roster().FindTrack(result->track->sid));
  const Change& last = result->changes.back();
  EXPECT_EQ(last.type, want.subscribed);
  const auto& subscribed = std::get<SubscribedTrack>(last.resource);
  EXPECT_EQ(subscribed.participant_sid, bob.sid);
  EXPECT_EQ(subscribed.sid.ToString(), mt);
  EXPECT_EQ(h.roster().SubscribedTracks(bob.sid).size(), want.subscribed == kRemoved ? 0u : 1u);
  EXPECT_TRUE(h.roster().SubscribedTracks(alice.sid).empty()) << "never one's own tracks";
}

INSTANTIATE_TEST_SUITE_P(Tracks, TrackTableTest, ::testing::ValuesIn(Cells()),
                         [](const ::testing::TestParamInfo<Cell>& info) {
                           return CellName(info.param);
                         });

// ---- UpdateSubscribeRules: participant state x rule set. ----

enum class Who { kNone, kActive, kDisconnected };
enum class Set { kNew, kSame, kInvalid };

struct RulesCell {
  Who who;
  Set set;
  absl::StatusCode code;
  Disposition disposition;
  std::string field;
};

class RulesTableTest : public ::testing::TestWithParam<RulesCell> {};

SubscribeRule Rule(RuleType type, TrackKind kind, std::string publisher = "") {
  SubscribeRule rule;
  rule.type = type;
  rule.kind = kind;
  rule.publisher = std::move(publisher);
  return rule;
}

TEST_P(RulesTableTest, Cell) {
  const RulesCell& cell = GetParam();
  Harness h;
  h.SetNow(At(1));
  const Participant alice = h.Connect("r", "alice", At(0));
  const Participant bob = h.Connect("r", "bob", At(0));
  const std::string room = alice.room_sid.ToString();
  h.Apply(h.Published(room, alice.sid.ToString(), MtText(1), "cam", TrackKind::kVideo, At(1)));
  h.Apply(h.Published(room, alice.sid.ToString(), MtText(2), "mic", TrackKind::kAudio, At(1)));
  std::string subject = bob.sid.ToString();
  if (cell.who == Who::kNone) subject = test::PaText(999);
  if (cell.who == Who::kDisconnected) h.Apply(h.Kick(room, subject));
  std::vector<SubscribeRule> rules;
  if (cell.set == Set::kNew) {
    rules = {Rule(RuleType::kInclude, TrackKind::kAudio),
             Rule(RuleType::kExclude, TrackKind::kUnspecified, "alice")};
  } else if (cell.set == Set::kSame) {
    SubscribeRule all;
    all.type = RuleType::kInclude;
    all.all = true;
    rules = {all};
  } else {
    rules = {Rule(RuleType::kInclude, TrackKind::kAudio),
             Rule(RuleType::kExclude, TrackKind::kUnspecified)};  // rules[1] has no filter
  }
  const test::RosterDump before = h.Dump();
  const absl::StatusOr<Outcome> result = h.Step(h.Rules(room, subject, rules));
  if (cell.code != kOk) {
    EXPECT_TRUE(test::HasError(result.status(), cell.code, cell.field)) << result.status();
    EXPECT_EQ(h.Dump(), before);
    return;
  }
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->disposition, cell.disposition);
  ASSERT_TRUE(result->rules.has_value());
  EXPECT_EQ(result->rules->rules, rules);
  if (cell.disposition == Disposition::kIgnored) {
    EXPECT_EQ(h.Dump(), before);
    return;
  }
  // Audio included, then everything of alice's excluded: bob loses both tracks.
  EXPECT_EQ(test::TypesOf(result->changes),
            (std::vector<ChangeType>{ChangeType::kSubscribeRulesUpdated, kRemoved, kRemoved}));
  EXPECT_TRUE(h.roster().SubscribedTracks(bob.sid).empty());
  EXPECT_EQ(h.roster().FindRules(bob.sid)->rules, rules);
}

std::vector<RulesCell> RulesCells() {
  const auto invalid = absl::StatusCode::kInvalidArgument;
  const auto none = Disposition::kIgnored;
  return {
      {Who::kNone, Set::kNew, kNotFound, none, "participant_sid"},
      {Who::kNone, Set::kInvalid, invalid, none, "rules[1]"},
      {Who::kActive, Set::kNew, kOk, Disposition::kApplied, ""},
      {Who::kActive, Set::kSame, kOk, Disposition::kIgnored, ""},
      {Who::kActive, Set::kInvalid, invalid, none, "rules[1]"},
      {Who::kDisconnected, Set::kNew, kPrecondition, none, "participant_sid"},
      {Who::kDisconnected, Set::kSame, kPrecondition, none, "participant_sid"},
      {Who::kDisconnected, Set::kInvalid, invalid, none, "rules[1]"},
  };
}

std::string RulesCellName(const ::testing::TestParamInfo<RulesCell>& info) {
  static const char* const kWho[] = {"NoParticipant", "Active", "Disconnected"};
  static const char* const kSet[] = {"NewSet", "SameSet", "InvalidSet"};
  return std::string(kWho[static_cast<int>(info.param.who)]) + "_" +
         kSet[static_cast<int>(info.param.set)];
}

INSTANTIATE_TEST_SUITE_P(Rules, RulesTableTest, ::testing::ValuesIn(RulesCells()), RulesCellName);

}  // namespace
}  // namespace rollcall::state
