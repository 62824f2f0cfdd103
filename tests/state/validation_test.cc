// Validation of every input field: one table row per rule, each asserting INVALID_ARGUMENT, the
// field the message names ("<field>: <rule>") and that the roster did not change; and the
// boundary values that must be accepted. Also the building blocks: IsCleanUtf8, ValidateText,
// LooksLikeRoomSid, ValidateRoomReference and Sid parsing.
#include "state/validation.h"

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "state/limits.h"
#include "state/records.h"
#include "state/sid.h"
#include "tests/state/state_harness.h"

namespace rollcall::state {
namespace {

using test::At;
using test::Harness;
using test::HasError;
using test::PaSid;
using test::PaText;
using test::RmText;
using test::Utc;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr auto kInvalid = absl::StatusCode::kInvalidArgument;

std::string Repeat(absl::string_view piece, size_t times) {
  std::string out;
  for (size_t i = 0; i < times; ++i) out.append(piece.data(), piece.size());
  return out;
}
std::string Hex(size_t digits) { return Repeat("a", digits); }

// The world every row starts from: room "lobby" (created at 0 s) with alice (PA…01)
// connected at 0 s; the server clock at 30 s.
constexpr int64_t kNow = 30;
const char kRoom[] = "lobby";

void SetUpWorld(Harness& h) {
  h.SetNow(At(0));
  h.CreateRoomNamed(kRoom);
  h.Connect(kRoom, "alice", At(0), PaText(1));
  h.SetNow(At(kNow));
}

// ---- Events ----

struct EventRule {
  std::string name;
  EventType base;  // which valid event the row breaks
  std::function<void(Event&)> spoil;
  std::string field;
};
void PrintTo(const EventRule& r, std::ostream* os) { *os << r.name; }

Event BaseEvent(Harness& h, EventType type) {
  switch (type) {
    case EventType::kConnected:
      return h.Connected(kRoom, "bob", At(kNow));
    case EventType::kReconnecting:
      return h.Reconnecting(kRoom, PaText(1), At(kNow));
    case EventType::kReconnected:
      return h.Reconnected(kRoom, PaText(1), At(kNow));
    default:
      return h.Disconnected(kRoom, PaText(1), At(kNow));
  }
}

std::vector<EventRule> EventRules() {
  const auto C = EventType::kConnected;
  const auto RI = EventType::kReconnecting;
  const auto D = EventType::kDisconnected;
  auto set_id = [](std::string v) { return [v](Event& e) { e.event_id = v; }; };
  auto set_at = [](std::optional<absl::Time> v) { return [v](Event& e) { e.occurred_at = v; }; };
  auto set_room = [](std::string v) { return [v](Event& e) { e.room = v; }; };
  auto set_psid = [](std::string v) { return [v](Event& e) { e.participant_sid = v; }; };
  auto set_identity = [](std::string v) { return [v](Event& e) { e.identity = v; }; };
  auto set_reason = [](int v) {
    return [v](Event& e) { e.reason = static_cast<DisconnectReason>(v); };
  };
  auto set_type = [](int v) { return [v](Event& e) { e.type = static_cast<EventType>(v); }; };
  return {
      // event_id: 1–128 bytes of clean UTF-8.
      {"EventIdMissing", C, set_id(""), "event.event_id"},
      {"EventIdTooLong", C, set_id(Repeat("x", 129)), "event.event_id"},
      {"EventIdTooLongMultibyte", D, set_id(Repeat("\xc3\xa9", 65)), "event.event_id"},
      {"EventIdInvalidUtf8", C, set_id("ev\xc0\xaf"), "event.event_id"},
      {"EventIdControlChar", D, set_id("ev\x01"), "event.event_id"},
      {"EventIdNewline", C, set_id("ev\n1"), "event.event_id"},
      // type: not UNSPECIFIED, in range.
      {"TypeUnspecified", C, set_type(0), "event.type"},
      {"TypeOutOfRange", D, set_type(kMaxEventType + 1), "event.type"},
      {"TypeFarOutOfRange", D, set_type(255), "event.type"},
      // occurred_at: required, 2000-01-01 .. now + max_clock_skew.
      {"OccurredAtMissing", C, set_at(std::nullopt), "event.occurred_at"},
      {"OccurredAtMissingOnDisconnect", D, set_at(std::nullopt), "event.occurred_at"},
      {"OccurredAtYear0", C, set_at(Utc(0, 1, 1)), "event.occurred_at"},
      {"OccurredAtYear1970", C, set_at(absl::UnixEpoch()), "event.occurred_at"},
      {"OccurredAtJustBefore2000", D, set_at(Utc(1999, 12, 31, 23, 59, 59)), "event.occurred_at"},
      {"OccurredAtOneNanoBefore2000", C, set_at(Utc(2000, 1, 1) - absl::Nanoseconds(1)),
       "event.occurred_at"},
      {"OccurredAtYear9999", C, set_at(Utc(9999, 12, 31, 23, 59, 59)), "event.occurred_at"},
      {"OccurredAtPastClockSkew", D, set_at(At(kNow) + absl::Minutes(10) + absl::Nanoseconds(1)),
       "event.occurred_at"},
      {"OccurredAtInfiniteFuture", C, set_at(absl::InfiniteFuture()), "event.occurred_at"},
      {"OccurredAtInfinitePast", D, set_at(absl::InfinitePast()), "event.occurred_at"},
      // room: required; SID-shaped must be a SID; otherwise a 1–128 byte clean name.
      {"RoomMissing", C, set_room(""), "event.room"},
      {"RoomMissingOnDisconnect", D, set_room(""), "event.room"},
      {"RoomSidShapedNonHex", C, set_room("RM" + Repeat("g", 32)), "event.room"},
      {"RoomSidShapedOneNonHex", D, set_room("RM" + Hex(31) + "z"), "event.room"},
      {"RoomSidShapedWithSpace", RI, set_room("RM" + Hex(31) + " "), "event.room"},
      {"RoomNameTooLong", C, set_room(Repeat("r", 129)), "event.room"},
      {"RoomNameInvalidUtf8", C, set_room("lobby\xff"), "event.room"},
      {"RoomNameControlChar", D, set_room("lob\tby"), "event.room"},
      // participant_sid: required except on CONNECTED; ^PA[0-9a-fA-F]{32}$.
      {"ParticipantSidMissingOnReconnecting", RI, set_psid(""), "event.participant_sid"},
      {"ParticipantSidMissingOnReconnected", EventType::kReconnected, set_psid(""),
       "event.participant_sid"},
      {"ParticipantSidMissingOnDisconnected", D, set_psid(""), "event.participant_sid"},
      {"ParticipantSidWrongPrefix", D, set_psid("RM" + Hex(32)), "event.participant_sid"},
      {"ParticipantSidLowercasePrefix", D, set_psid("pa" + Hex(32)), "event.participant_sid"},
      {"ParticipantSid31Hex", D, set_psid("PA" + Hex(31)), "event.participant_sid"},
      {"ParticipantSid33Hex", RI, set_psid("PA" + Hex(33)), "event.participant_sid"},
      {"ParticipantSidNonHex", D, set_psid("PA" + Hex(31) + "g"), "event.participant_sid"},
      {"ParticipantSidMalformedOnConnected", C, set_psid("PA" + Hex(31)), "event.participant_sid"},
      {"ParticipantSidWrongPrefixOnConnected", C, set_psid("MT" + Hex(32)),
       "event.participant_sid"},
      // identity: required on CONNECTED; 1–128 bytes of clean UTF-8 wherever given.
      {"IdentityMissingOnConnected", C, set_identity(""), "event.identity"},
      {"IdentityTooLong", C, set_identity(Repeat("i", 129)), "event.identity"},
      {"IdentityTooLongMultibyte", C, set_identity(Repeat("\xe6\x97\xa5", 43)),
       "event.identity"},  // 129 bytes
      {"IdentityOverlong", C, set_identity("a\xc0\xafz"), "event.identity"},
      {"IdentityOverlongThreeBytes", C, set_identity("\xe0\x80\xaf"), "event.identity"},
      {"IdentityOverlongFourBytes", C, set_identity("\xf0\x80\x80\xaf"), "event.identity"},
      {"IdentitySurrogate", C, set_identity("a\xed\xa0\x80"), "event.identity"},
      {"IdentityLowSurrogate", C, set_identity("\xed\xbf\xbf"), "event.identity"},
      {"IdentityTruncated", C, set_identity("a\xe2\x82"), "event.identity"},
      {"IdentityTruncatedFourByte", C, set_identity("\xf0\x9f\x98"), "event.identity"},
      {"IdentityLoneContinuation", C,
       set_identity("\x80"
                    "abc"),
       "event.identity"},
      {"IdentityPastMaxCodePoint", C, set_identity("\xf4\x90\x80\x80"), "event.identity"},
      {"IdentityInvalidLeadByte", C, set_identity("\xf8\x88\x80\x80\x80"), "event.identity"},
      {"IdentityByteFF", C, set_identity("a\xff"), "event.identity"},
      {"IdentityControlChar", C, set_identity("al\x01ice"), "event.identity"},
      {"IdentityTab", C, set_identity("al\tice"), "event.identity"},
      {"IdentityNewline", C, set_identity("alice\n"), "event.identity"},
      {"IdentityNul", C, set_identity(std::string("al\0ice", 6)), "event.identity"},
      {"IdentityDel", C, set_identity("alice\x7f"), "event.identity"},
      {"IdentityC1Control", C, set_identity("al\xc2\x85ice"), "event.identity"},
      {"IdentityC1ControlLast", C, set_identity("\xc2\x9f"), "event.identity"},
      {"IdentityInvalidOnDisconnect", D, set_identity("x\xff"), "event.identity"},
      {"IdentityControlOnReconnecting", RI, set_identity("x\x02"), "event.identity"},
      // reason: only on DISCONNECTED, in range.
      {"ReasonOnConnected", C, set_reason(1), "event.reason"},
      {"ReasonOnReconnecting", RI, set_reason(3), "event.reason"},
      {"ReasonOnReconnected", EventType::kReconnected, set_reason(6), "event.reason"},
      {"ReasonOutOfRange", D, set_reason(7), "event.reason"},
      {"ReasonFarOutOfRange", D, set_reason(200), "event.reason"},
  };
}

class EventValidationTest : public ::testing::TestWithParam<EventRule> {};

TEST_P(EventValidationTest, RejectsWithFieldAndChangesNothing) {
  Harness h;
  SetUpWorld(h);
  ASSERT_FALSE(HasFailure());
  const EventRule& rule = GetParam();
  Event event = BaseEvent(h, rule.base);
  rule.spoil(event);
  const test::RosterDump before = h.Dump();

  EXPECT_TRUE(HasError(h.Step(event), kInvalid, rule.field));
  EXPECT_EQ(h.Dump(), before);
  // The stateless check agrees.
  EXPECT_TRUE(HasError(ValidateEvent(event, h.limits(), h.now()), kInvalid, rule.field));
}

INSTANTIATE_TEST_SUITE_P(Rules, EventValidationTest, ::testing::ValuesIn(EventRules()),
                         [](const auto& info) { return info.param.name; });

// Each row's base event, unspoiled, is accepted: the rows fail for the rule they break.
TEST(EventValidationBaseTest, BaseEventsAreValid) {
  for (EventType type : {EventType::kConnected, EventType::kReconnecting, EventType::kReconnected,
                         EventType::kDisconnected}) {
    Harness h;
    SetUpWorld(h);
    const Event event = BaseEvent(h, type);
    EXPECT_TRUE(ValidateEvent(event, h.limits(), h.now()).ok()) << TestName(type);
    EXPECT_TRUE(h.Step(event).ok()) << TestName(type);
  }
}

// Boundary values that must be accepted.
struct Accepted {
  std::string name;
  EventType base;
  std::function<void(Event&)> adjust;
};
void PrintTo(const Accepted& r, std::ostream* os) { *os << r.name; }

std::vector<Accepted> AcceptedEvents() {
  const auto C = EventType::kConnected;
  const auto D = EventType::kDisconnected;
  return {
      {"EventId128Bytes", C, [](Event& e) { e.event_id = Repeat("x", 128); }},
      {"EventIdOneByte", D, [](Event& e) { e.event_id = "x"; }},
      {"EventIdUnicode", C, [](Event& e) { e.event_id = "\xe6\x97\xa5-\xf0\x9f\x98\x80"; }},
      {"Identity128Bytes", C, [](Event& e) { e.identity = Repeat("i", 128); }},
      {"Identity128BytesMultibyte", C, [](Event& e) { e.identity = Repeat("\xc3\xa9", 64); }},
      {"IdentityNoBreakSpace", C,
       [](Event& e) {
         e.identity =
             "a\xc2\xa0"
             "b";
       }},
      {"IdentityMaxCodePoint", C, [](Event& e) { e.identity = "\xf4\x8f\xbf\xbf"; }},
      {"IdentityEmoji", C, [](Event& e) { e.identity = "\xf0\x9f\x98\x80"; }},
      {"IdentityOneByte", C, [](Event& e) { e.identity = "a"; }},
      {"OccurredAtExactly2000", C, [](Event& e) { e.occurred_at = Utc(2000, 1, 1); }},
      {"OccurredAtExactlyMaxSkew", C,
       [](Event& e) { e.occurred_at = At(kNow) + absl::Minutes(10); }},
      {"RoomName33CharsStartingRM", C, [](Event& e) { e.room = "RM" + Hex(31); }},
      {"RoomName35CharsStartingRM", C, [](Event& e) { e.room = "RM" + Hex(33); }},
      {"RoomName128Bytes", C, [](Event& e) { e.room = Repeat("r", 128); }},
      {"RoomNameUnicode", C, [](Event& e) { e.room = "\xc3\xa9t\xc3\xa9"; }},
      {"RoomWellFormedUnknownSid", C, [](Event& e) { e.room = RmText(77); }},
      {"RoomUppercaseSid", C, [](Event& e) { e.room = test::UpperHex(RmText(0xabcdef)); }},
      {"ParticipantSidGivenOnConnected", C, [](Event& e) { e.participant_sid = PaText(9); }},
      {"ParticipantSidUppercase", C,
       [](Event& e) { e.participant_sid = test::UpperHex(PaText(0xabc)); }},
      {"ReasonOnDisconnected", D, [](Event& e) { e.reason = DisconnectReason::kRemoved; }},
      {"ReasonMaxOnDisconnected", D, [](Event& e) { e.reason = DisconnectReason::kRoomEnded; }},
      {"IdentityOnDisconnected", D, [](Event& e) { e.identity = "alice"; }},
  };
}

class EventAcceptedTest : public ::testing::TestWithParam<Accepted> {};

TEST_P(EventAcceptedTest, IsAccepted) {
  Harness h;
  SetUpWorld(h);
  const Accepted& row = GetParam();
  Event event = BaseEvent(h, row.base);
  row.adjust(event);
  EXPECT_TRUE(ValidateEvent(event, h.limits(), h.now()).ok());
  const absl::StatusOr<Outcome> result = h.Step(event);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->disposition, Disposition::kApplied);
}

INSTANTIATE_TEST_SUITE_P(Boundaries, EventAcceptedTest, ::testing::ValuesIn(AcceptedEvents()),
                         [](const auto& info) { return info.param.name; });

TEST(EventRulesTest, DisconnectReasonDefaultsToClientInitiated) {
  Harness h;
  SetUpWorld(h);
  const Outcome o = h.Apply(h.Disconnected(kRoom, PaText(1), At(kNow)));
  ASSERT_TRUE(o.participant);
  EXPECT_EQ(o.participant->disconnect_reason, DisconnectReason::kClientInitiated);
}

TEST(EventRulesTest, DisconnectReasonGivenIsKept) {
  Harness h;
  SetUpWorld(h);
  const Outcome o =
      h.Apply(h.Disconnected(kRoom, PaText(1), At(kNow), DisconnectReason::kSessionLimit));
  ASSERT_TRUE(o.participant);
  EXPECT_EQ(o.participant->disconnect_reason, DisconnectReason::kSessionLimit);
}

TEST(EventRulesTest, SkewLimitFollowsLimits) {
  Limits limits;
  limits.max_clock_skew = absl::Seconds(5);
  Harness h(limits);
  h.SetNow(At(100));
  EXPECT_TRUE(HasError(h.Step(h.Connected("r", "a", At(106))), kInvalid, "event.occurred_at"));
  EXPECT_TRUE(h.Step(h.Connected("r", "a", At(105))).ok());
}

TEST(EventRulesTest, UppercaseParticipantSidEqualsLowercase) {
  Harness h;
  SetUpWorld(h);
  const std::string lower = PaText(0xabcdef);
  const std::string upper = test::UpperHex(lower);
  ASSERT_NE(lower, upper);
  const Participant p = h.Connect(kRoom, "carol", At(kNow), upper);
  EXPECT_EQ(p.sid, *Sid::TryParse(lower, kParticipantPrefix));
  EXPECT_EQ(p.sid.ToString(), lower) << "SIDs print in lowercase";
  // Later events may spell it either way.
  const Outcome o = h.Apply(h.Reconnecting(kRoom, lower, At(kNow)));
  EXPECT_EQ(o.participant->sid, p.sid);
  const Outcome o2 = h.Apply(h.Disconnected(kRoom, upper, At(kNow)));
  EXPECT_EQ(o2.participant->sid, p.sid);
  EXPECT_EQ(o2.participant->status, ParticipantStatus::kDisconnected);
}

TEST(EventRulesTest, UppercaseRoomSidEqualsLowercase) {
  Harness h;
  h.SetNow(At(0));
  const std::string lower = RmText(0xfedcba);
  const Outcome first = h.Apply(h.Connected(test::UpperHex(lower), "a", At(0)));
  ASSERT_EQ(first.changes.size(), 2u);
  const Room room = test::RoomOf(first.changes[0]);
  EXPECT_EQ(room.sid.ToString(), lower);
  // The lowercase spelling names the same room: no second ROOM_CREATED.
  const Outcome second = h.Apply(h.Connected(lower, "b", At(1)));
  ASSERT_EQ(second.changes.size(), 1u);
  EXPECT_EQ(second.participant->room_sid, room.sid);
  // And an event for a participant may name the room in upper case.
  EXPECT_TRUE(
      h.Step(h.Reconnecting(test::UpperHex(lower), second.participant->sid.ToString(), At(2)))
          .ok());
}

// ---- Commands ----

struct CommandRule {
  std::string name;
  std::function<Input(Harness&)> make;
  std::string field;
};
void PrintTo(const CommandRule& r, std::ostream* os) { *os << r.name; }

KickParticipant KickOf(Harness& h) { return h.Kick(kRoom, PaText(1)); }
AnonymizeParticipant AnonymizeOf(Harness& h) { return h.Anonymize(kRoom, PaText(1)); }

std::vector<CommandRule> CommandRules() {
  auto kick = [](std::function<void(KickParticipant&)> f) {
    return [f](Harness& h) -> Input {
      KickParticipant k = KickOf(h);
      f(k);
      return k;
    };
  };
  auto anon = [](std::function<void(AnonymizeParticipant&)> f) {
    return [f](Harness& h) -> Input {
      AnonymizeParticipant a = AnonymizeOf(h);
      f(a);
      return a;
    };
  };
  auto end = [](std::function<void(EndRoom&)> f) {
    return [f](Harness& h) -> Input {
      EndRoom e = h.End(kRoom);
      f(e);
      return e;
    };
  };
  auto create = [](std::function<void(CreateRoom&)> f) {
    return [f](Harness& h) -> Input {
      CreateRoom c = h.NewRoom("other");
      f(c);
      return c;
    };
  };
  return {
      // KickParticipant (UpdateParticipant)
      {"KickSidMissing", kick([](auto& k) { k.participant_sid = ""; }), "participant_sid"},
      {"KickSidWrongPrefix", kick([](auto& k) { k.participant_sid = RmText(1); }),
       "participant_sid"},
      {"KickSid31Hex", kick([](auto& k) { k.participant_sid = "PA" + Hex(31); }),
       "participant_sid"},
      {"KickSidNonHex", kick([](auto& k) { k.participant_sid = "PA" + Repeat("x", 32); }),
       "participant_sid"},
      {"KickStatusUnspecified", kick([](auto& k) { k.status = ParticipantStatus::kUnspecified; }),
       "status"},
      {"KickStatusConnected", kick([](auto& k) { k.status = ParticipantStatus::kConnected; }),
       "status"},
      {"KickStatusReconnecting", kick([](auto& k) { k.status = ParticipantStatus::kReconnecting; }),
       "status"},
      {"KickStatusOutOfRange", kick([](auto& k) { k.status = static_cast<ParticipantStatus>(9); }),
       "status"},
      {"KickRoomSidShapedNonHex", kick([](auto& k) { k.room = "RM" + Repeat("q", 32); }), "room"},
      {"KickRoomNameTooLong", kick([](auto& k) { k.room = Repeat("r", 129); }), "room"},
      {"KickRoomNameInvalidUtf8", kick([](auto& k) { k.room = "\xc0\xaf"; }), "room"},
      // AnonymizeParticipant
      {"AnonymizeSidMissing", anon([](auto& a) { a.participant_sid = ""; }), "participant_sid"},
      {"AnonymizeSid33Hex", anon([](auto& a) { a.participant_sid = "PA" + Hex(33); }),
       "participant_sid"},
      {"AnonymizeSidWrongPrefix", anon([](auto& a) { a.participant_sid = "AC" + Hex(32); }),
       "participant_sid"},
      {"AnonymizeRoomSidShapedNonHex", anon([](auto& a) { a.room = "RM" + Repeat("-", 32); }),
       "room"},
      {"AnonymizeRoomControlChar", anon([](auto& a) { a.room = "lob\x7f"; }), "room"},
      // EndRoom (UpdateRoom)
      {"EndRoomMissing", end([](auto& e) { e.room = ""; }), "room"},
      {"EndRoomSidShapedNonHex", end([](auto& e) { e.room = "RM" + Repeat("z", 32); }), "room"},
      {"EndRoomNameTooLong", end([](auto& e) { e.room = Repeat("r", 129); }), "room"},
      {"EndRoomStatusUnspecified", end([](auto& e) { e.status = RoomStatus::kUnspecified; }),
       "status"},
      {"EndRoomStatusInProgress", end([](auto& e) { e.status = RoomStatus::kInProgress; }),
       "status"},
      {"EndRoomStatusFailed", end([](auto& e) { e.status = RoomStatus::kFailed; }), "status"},
      {"EndRoomStatusOutOfRange", end([](auto& e) { e.status = static_cast<RoomStatus>(7); }),
       "status"},
      // CreateRoom
      {"MaxParticipantsZero", create([](auto& c) { c.max_participants = 0; }), "max_participants"},
      {"MaxParticipantsNegative", create([](auto& c) { c.max_participants = -1; }),
       "max_participants"},
      {"MaxParticipantsAboveLimit", create([](auto& c) { c.max_participants = 51; }),
       "max_participants"},
      {"MaxParticipantDurationTooShort", create([](auto& c) { c.max_participant_duration = 599; }),
       "max_participant_duration"},
      {"MaxParticipantDurationZero", create([](auto& c) { c.max_participant_duration = 0; }),
       "max_participant_duration"},
      {"MaxParticipantDurationTooLong", create([](auto& c) { c.max_participant_duration = 86401; }),
       "max_participant_duration"},
      {"EmptyRoomTimeoutZero", create([](auto& c) { c.empty_room_timeout = 0; }),
       "empty_room_timeout"},
      {"EmptyRoomTimeoutTooLong", create([](auto& c) { c.empty_room_timeout = 61; }),
       "empty_room_timeout"},
      {"UnusedRoomTimeoutZero", create([](auto& c) { c.unused_room_timeout = 0; }),
       "unused_room_timeout"},
      {"UnusedRoomTimeoutNegative", create([](auto& c) { c.unused_room_timeout = -5; }),
       "unused_room_timeout"},
      {"UnusedRoomTimeoutTooLong", create([](auto& c) { c.unused_room_timeout = 61; }),
       "unused_room_timeout"},
      {"UniqueNameTooLong", create([](auto& c) { c.unique_name = Repeat("n", 129); }),
       "unique_name"},
      {"UniqueNameInvalidUtf8", create([](auto& c) { c.unique_name = "na\xed\xa0\x80me"; }),
       "unique_name"},
      {"UniqueNameControlChar", create([](auto& c) { c.unique_name = "na\nme"; }), "unique_name"},
      {"UniqueNameLooksLikeSid", create([](auto& c) { c.unique_name = RmText(5); }), "unique_name"},
      {"UniqueNameLooksLikeUppercaseSid",
       create([](auto& c) { c.unique_name = test::UpperHex(RmText(0xabc)); }), "unique_name"},
      {"UniqueNameSidShapedNonHex", create([](auto& c) { c.unique_name = "RM" + Repeat("n", 32); }),
       "unique_name"},
      {"StatusCallbackNotUrl", create([](auto& c) { c.status_callback = "not a url"; }),
       "status_callback"},
      {"StatusCallbackRelative", create([](auto& c) { c.status_callback = "/callbacks/rooms"; }),
       "status_callback"},
      {"StatusCallbackNoScheme", create([](auto& c) { c.status_callback = "example.com/cb"; }),
       "status_callback"},
      {"StatusCallbackFtp", create([](auto& c) { c.status_callback = "ftp://example.com/cb"; }),
       "status_callback"},
      {"StatusCallbackJavascript",
       create([](auto& c) { c.status_callback = "javascript:alert(1)"; }), "status_callback"},
      {"StatusCallbackTooLong",
       create([](auto& c) { c.status_callback = "https://example.com/" + Repeat("a", 2049 - 20); }),
       "status_callback"},
      {"StatusCallbackMethodPut", create([](auto& c) { c.status_callback_method = "PUT"; }),
       "status_callback_method"},
      {"StatusCallbackMethodJunk", create([](auto& c) { c.status_callback_method = "FETCH"; }),
       "status_callback_method"},
  };
}

class CommandValidationTest : public ::testing::TestWithParam<CommandRule> {};

TEST_P(CommandValidationTest, RejectsWithFieldAndChangesNothing) {
  Harness h;
  SetUpWorld(h);
  ASSERT_FALSE(HasFailure());
  const CommandRule& rule = GetParam();
  const Input input = rule.make(h);
  const test::RosterDump before = h.Dump();
  EXPECT_TRUE(HasError(h.Step(input), kInvalid, rule.field));
  EXPECT_EQ(h.Dump(), before);
  if (const auto* create = std::get_if<CreateRoom>(&input)) {
    EXPECT_TRUE(HasError(ValidateCreateRoom(*create, h.limits()), kInvalid, rule.field));
  }
}

INSTANTIATE_TEST_SUITE_P(Rules, CommandValidationTest, ::testing::ValuesIn(CommandRules()),
                         [](const auto& info) { return info.param.name; });

TEST(CommandValidationBaseTest, BaseCommandsAreValid) {
  {
    Harness h;
    SetUpWorld(h);
    EXPECT_TRUE(h.Step(KickOf(h)).ok());
    EXPECT_TRUE(h.Step(AnonymizeOf(h)).ok()) << "anonymize after the kick";
  }
  {
    Harness h;
    SetUpWorld(h);
    EXPECT_TRUE(h.Step(h.End(kRoom)).ok());
  }
  {
    Harness h;
    SetUpWorld(h);
    EXPECT_TRUE(h.Step(h.NewRoom("other")).ok());
  }
}

// Accepted CreateRoom values, with what the room records.
TEST(CreateRoomValidationTest, DefaultsAndBoundaries) {
  Harness h;
  h.SetNow(At(7));
  const Room defaults = h.CreateRoomNamed("defaults");
  EXPECT_EQ(defaults.unique_name, "defaults");
  EXPECT_EQ(defaults.status, RoomStatus::kInProgress);
  EXPECT_EQ(defaults.max_participants, kDefaultMaxParticipants);
  EXPECT_EQ(defaults.max_participant_duration, kDefaultMaxParticipantDuration);
  EXPECT_EQ(defaults.empty_room_timeout, kDefaultRoomTimeout);
  EXPECT_EQ(defaults.unused_room_timeout, kDefaultRoomTimeout);
  EXPECT_EQ(defaults.status_callback, "");
  EXPECT_EQ(defaults.status_callback_method, "POST");
  EXPECT_FALSE(defaults.ad_hoc);
  EXPECT_EQ(defaults.date_created, At(7));
  EXPECT_EQ(defaults.date_updated, At(7));
  EXPECT_FALSE(defaults.end_time.has_value());
  EXPECT_FALSE(defaults.duration.has_value());
  EXPECT_EQ(defaults.account_sid, test::AccountA());
  EXPECT_EQ(defaults.sid.prefix(), kRoomPrefix);

  CreateRoom low = h.NewRoom("low");
  low.max_participants = 1;
  low.max_participant_duration = kMinMaxParticipantDuration;
  low.empty_room_timeout = kMinRoomTimeout;
  low.unused_room_timeout = kMinRoomTimeout;
  low.status_callback = "http://example.com/cb";
  low.status_callback_method = "GET";
  const Room lr = h.Create(low);
  EXPECT_EQ(lr.max_participants, 1);
  EXPECT_EQ(lr.max_participant_duration, 600);
  EXPECT_EQ(lr.empty_room_timeout, 1);
  EXPECT_EQ(lr.unused_room_timeout, 1);
  EXPECT_EQ(lr.status_callback, "http://example.com/cb");
  EXPECT_EQ(lr.status_callback_method, "GET");

  CreateRoom high = h.NewRoom(std::string(128, 'n'));
  high.max_participants = 50;
  high.max_participant_duration = kMaxMaxParticipantDuration;
  high.empty_room_timeout = kMaxRoomTimeout;
  high.unused_room_timeout = kMaxRoomTimeout;
  high.status_callback = "https://example.com/" + std::string(2048 - 20, 'a');
  ASSERT_EQ(high.status_callback.size(), 2048u);
  high.status_callback_method = "POST";
  const Room hr = h.Create(high);
  EXPECT_EQ(hr.max_participants, 50);
  EXPECT_EQ(hr.max_participant_duration, 86400);
  EXPECT_EQ(hr.empty_room_timeout, 60);
  EXPECT_EQ(hr.unused_room_timeout, 60);
  EXPECT_EQ(hr.unique_name.size(), 128u);

  // A 33-character name starting "RM" is a name, not a SID.
  EXPECT_TRUE(h.Step(h.NewRoom("RM" + Hex(31))).ok());
}

TEST(CreateRoomValidationTest, EmptyUniqueNameBecomesTheSid) {
  Harness h;
  const Room room = h.CreateRoomNamed("");
  EXPECT_EQ(room.unique_name, room.sid.ToString());
  EXPECT_EQ(h.roster().FindInProgressRoomByName(test::AccountA(), room.sid.ToString()),
            h.roster().FindRoom(room.sid));
  // Two unnamed rooms never clash.
  const Room other = h.CreateRoomNamed("");
  EXPECT_NE(other.sid, room.sid);
}

TEST(CreateRoomValidationTest, MaxParticipantsNeverAboveServerLimit) {
  Limits limits;
  limits.max_room_participants = 10;
  Harness h(limits);
  const Room room = h.CreateRoomNamed("small");
  EXPECT_EQ(room.max_participants, 10) << "the default is capped by the server limit";
  CreateRoom too_many = h.NewRoom("big");
  too_many.max_participants = 11;
  EXPECT_TRUE(HasError(h.Step(too_many), kInvalid, "max_participants"));
  EXPECT_TRUE(HasError(ValidateCreateRoom(too_many, limits), kInvalid, "max_participants"));
  too_many.max_participants = 10;
  EXPECT_TRUE(h.Step(too_many).ok());

  // An ad-hoc room takes the same capped default.
  const Outcome o = h.Apply(h.Connected("adhoc", "a", At(0)));
  ASSERT_FALSE(o.changes.empty());
  EXPECT_EQ(test::RoomOf(o.changes[0]).max_participants, 10);
}

TEST(CreateRoomValidationTest, DuplicateInProgressNameIsAlreadyExists) {
  Harness h;
  h.CreateRoomNamed("dup");
  const test::RosterDump before = h.Dump();
  EXPECT_TRUE(HasError(h.Step(h.NewRoom("dup")), absl::StatusCode::kAlreadyExists, "unique_name"));
  EXPECT_EQ(h.Dump(), before);
  // An ad-hoc room holds its name too.
  h.Apply(h.Connected("adhoc-name", "a", At(0)));
  EXPECT_TRUE(
      HasError(h.Step(h.NewRoom("adhoc-name")), absl::StatusCode::kAlreadyExists, "unique_name"));
  // The same name in another account is fine.
  h.UseAccount(test::AccountB());
  EXPECT_TRUE(h.Step(h.NewRoom("dup")).ok());
}

// ---- Building blocks ----

struct Utf8Case {
  std::string name;
  std::string text;
  bool clean;
};
void PrintTo(const Utf8Case& r, std::ostream* os) { *os << r.name; }

class IsCleanUtf8Test : public ::testing::TestWithParam<Utf8Case> {};

TEST_P(IsCleanUtf8Test, Classifies) { EXPECT_EQ(IsCleanUtf8(GetParam().text), GetParam().clean); }

INSTANTIATE_TEST_SUITE_P(
    Cases, IsCleanUtf8Test,
    ::testing::Values(
        Utf8Case{"Ascii", "hello world", true}, Utf8Case{"TwoByte", "h\xc3\xa9llo", true},
        Utf8Case{"ThreeByte", "\xe6\x97\xa5\xe6\x9c\xac", true},
        Utf8Case{"FourByte", "\xf0\x9f\x98\x80", true},
        Utf8Case{"MaxCodePoint", "\xf4\x8f\xbf\xbf", true},
        Utf8Case{"LastBeforeSurrogates", "\xed\x9f\xbf", true},
        Utf8Case{"FirstAfterSurrogates", "\xee\x80\x80", true},
        Utf8Case{"NoBreakSpace", "\xc2\xa0", true}, Utf8Case{"Tilde", "~", true},
        Utf8Case{"Space", " ", true}, Utf8Case{"OverlongSlash", "\xc0\xaf", false},
        Utf8Case{"OverlongC1", "\xc1\x81", false}, Utf8Case{"OverlongThree", "\xe0\x80\xaf", false},
        Utf8Case{"OverlongThreeMax", "\xe0\x9f\xbf", false},
        Utf8Case{"OverlongFour", "\xf0\x80\x80\xaf", false},
        Utf8Case{"OverlongFourMax", "\xf0\x8f\xbf\xbf", false},
        Utf8Case{"HighSurrogate", "\xed\xa0\x80", false},
        Utf8Case{"LowSurrogate", "\xed\xbf\xbf", false},
        Utf8Case{"PastMax", "\xf4\x90\x80\x80", false},
        Utf8Case{"F5Lead", "\xf5\x80\x80\x80", false}, Utf8Case{"FF", "\xff", false},
        Utf8Case{"FE", "\xfe", false}, Utf8Case{"LoneContinuation", "\x80", false},
        Utf8Case{"TruncatedTwo", "\xc3", false}, Utf8Case{"TruncatedThree", "\xe2\x82", false},
        Utf8Case{"TruncatedFour", "\xf0\x9f\x98", false},
        Utf8Case{"TruncatedThenAscii", "\xe2\x82x", false},
        Utf8Case{"BadContinuation", "\xc3\x28", false},
        Utf8Case{"Nul", std::string("a\0b", 3), false}, Utf8Case{"Soh", "\x01", false},
        Utf8Case{"Tab", "\t", false}, Utf8Case{"Newline", "a\n", false},
        Utf8Case{"CarriageReturn", "\r", false}, Utf8Case{"UnitSeparator", "\x1f", false},
        Utf8Case{"Del", "\x7f", false}, Utf8Case{"C1First", "\xc2\x80", false},
        Utf8Case{"C1Nel", "\xc2\x85", false}, Utf8Case{"C1Last", "\xc2\x9f", false}),
    [](const auto& info) { return info.param.name; });

TEST(ValidateTextTest, LengthBoundsAndField) {
  EXPECT_TRUE(ValidateText("a", 3, "f").ok());
  EXPECT_TRUE(ValidateText("abc", 3, "f").ok());
  EXPECT_TRUE(HasError(ValidateText("abcd", 3, "some.field"), kInvalid, "some.field"));
  EXPECT_TRUE(HasError(ValidateText("", 3, "some.field"), kInvalid, "some.field"));
  EXPECT_TRUE(HasError(ValidateText("a\x01", 3, "x"), kInvalid, "x"));
  // Bytes, not characters: "é" is two bytes.
  EXPECT_TRUE(ValidateText("\xc3\xa9", 2, "f").ok());
  EXPECT_TRUE(HasError(ValidateText("\xc3\xa9\xc3\xa9", 3, "f"), kInvalid, "f"));
}

TEST(LooksLikeRoomSidTest, ShapeOnly) {
  EXPECT_TRUE(LooksLikeRoomSid("RM" + Hex(32)));
  EXPECT_TRUE(LooksLikeRoomSid("RM" + Repeat("z", 32))) << "shape, not content";
  EXPECT_FALSE(LooksLikeRoomSid("RM" + Hex(31)));
  EXPECT_FALSE(LooksLikeRoomSid("RM" + Hex(33)));
  EXPECT_FALSE(LooksLikeRoomSid("PA" + Hex(32)));
  EXPECT_FALSE(LooksLikeRoomSid("lobby"));
  EXPECT_FALSE(LooksLikeRoomSid(""));
}

TEST(ValidateRoomReferenceTest, SidOrName) {
  EXPECT_TRUE(ValidateRoomReference(RmText(1), "room").ok());
  EXPECT_TRUE(ValidateRoomReference(test::UpperHex(RmText(0xabc)), "room").ok());
  EXPECT_TRUE(ValidateRoomReference("lobby", "room").ok());
  EXPECT_TRUE(ValidateRoomReference("RM" + Hex(31), "room").ok());
  EXPECT_TRUE(ValidateRoomReference(Repeat("r", 128), "room").ok());
  EXPECT_TRUE(HasError(ValidateRoomReference("", "event.room"), kInvalid, "event.room"));
  EXPECT_TRUE(HasError(ValidateRoomReference("RM" + Repeat("g", 32), "room"), kInvalid, "room"));
  EXPECT_TRUE(HasError(ValidateRoomReference(Repeat("r", 129), "room"), kInvalid, "room"));
  EXPECT_TRUE(HasError(ValidateRoomReference("a\xff", "room"), kInvalid, "room"));
}

TEST(EarliestEventTimeTest, IsYear2000) {
  EXPECT_EQ(EarliestEventTime(), absl::FromUnixSeconds(946684800));
  EXPECT_EQ(EarliestEventTime(), Utc(2000, 1, 1));
}

TEST(SidTest, ParseAcceptsEitherCaseAndPrintsLowercase) {
  const std::string lower = "PA0123456789abcdef0123456789abcdef";
  const std::string upper = "PA0123456789ABCDEF0123456789ABCDEF";
  const absl::StatusOr<Sid> a = Sid::Parse(lower, kParticipantPrefix, "participant_sid");
  const absl::StatusOr<Sid> b = Sid::Parse(upper, kParticipantPrefix, "participant_sid");
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(a->ToString(), lower);
  EXPECT_EQ(b->ToString(), lower);
  EXPECT_EQ(a->prefix(), "PA");
  EXPECT_FALSE(a->empty());
  EXPECT_EQ(a->bytes()[0], 0x01);
  EXPECT_EQ(a->bytes()[15], 0xef);
}

TEST(SidTest, ParseRejectsMalformed) {
  const std::string field = "participant_sid";
  for (const std::string& bad :
       {std::string("RM0123456789abcdef0123456789abcdef"),
        std::string("pa0123456789abcdef0123456789abcdef"),
        std::string("PA0123456789abcdef0123456789abcde"),
        std::string("PA0123456789abcdef0123456789abcdef0"),
        std::string("PA0123456789abcdef0123456789abcdeg"),
        std::string("PA 123456789abcdef0123456789abcdef"), std::string("PA"), std::string("P")}) {
    EXPECT_TRUE(HasError(Sid::Parse(bad, kParticipantPrefix, field), kInvalid, field)) << bad;
    EXPECT_FALSE(Sid::TryParse(bad, kParticipantPrefix).has_value()) << bad;
  }
  EXPECT_TRUE(HasError(Sid::Parse("", kParticipantPrefix, field), kInvalid, field));
}

TEST(SidTest, EmptyAndOrdering) {
  const Sid empty;
  EXPECT_TRUE(empty.empty());
  EXPECT_EQ(empty.ToString(), "");
  EXPECT_EQ(empty.prefix(), "");
  EXPECT_LT(PaSid(1), PaSid(2));
  EXPECT_NE(PaSid(1), test::FixedSid(kRoomPrefix, 1)) << "the prefix is part of the SID";
}

TEST(SidTest, SequentialIdSourceCounts) {
  SequentialIdSource ids;
  EXPECT_EQ(ids.NewSid(kRoomPrefix).ToString(), "RM00000000000000000000000000000001");
  EXPECT_EQ(ids.NewSid(kParticipantPrefix).ToString(), "PA00000000000000000000000000000002");
  SequentialIdSource from(0x1234);
  EXPECT_EQ(from.NewSid(kParticipantPrefix).ToString(), "PA00000000000000000000000000001234");
}

}  // namespace
}  // namespace rollcall::state
