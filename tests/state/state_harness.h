// Test support for state/: fixed clock times and SIDs, builders for events and commands, a
// Harness that decides and commits inputs the way the service's applier does (checking the
// revision contract on every step), and Dump, a full snapshot of a Roster used to assert that
// nothing changed and that two rosters are identical. Never reads the real clock.
#ifndef ROLLCALL_TESTS_STATE_STATE_HARNESS_H_
#define ROLLCALL_TESTS_STATE_STATE_HARNESS_H_

#include <cctype>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "state/limits.h"
#include "state/records.h"
#include "state/room_machine.h"
#include "state/roster.h"
#include "state/sid.h"

namespace rollcall::state {

// ---- Printers, so that failures show names and SIDs rather than raw bytes. ----

inline const char* TestName(ParticipantStatus s) {
  switch (s) {
    case ParticipantStatus::kUnspecified:
      return "P_UNSPECIFIED";
    case ParticipantStatus::kConnected:
      return "CONNECTED";
    case ParticipantStatus::kReconnecting:
      return "RECONNECTING";
    case ParticipantStatus::kDisconnected:
      return "DISCONNECTED";
  }
  return "P_OUT_OF_RANGE";
}
inline const char* TestName(RoomStatus s) {
  switch (s) {
    case RoomStatus::kUnspecified:
      return "R_UNSPECIFIED";
    case RoomStatus::kInProgress:
      return "IN_PROGRESS";
    case RoomStatus::kCompleted:
      return "COMPLETED";
    case RoomStatus::kFailed:
      return "FAILED";
  }
  return "R_OUT_OF_RANGE";
}
inline const char* TestName(DisconnectReason r) {
  switch (r) {
    case DisconnectReason::kUnspecified:
      return "NO_REASON";
    case DisconnectReason::kClientInitiated:
      return "CLIENT_INITIATED";
    case DisconnectReason::kDuplicateIdentity:
      return "DUPLICATE_IDENTITY";
    case DisconnectReason::kRemoved:
      return "REMOVED";
    case DisconnectReason::kReconnectTimeout:
      return "RECONNECT_TIMEOUT";
    case DisconnectReason::kSessionLimit:
      return "SESSION_LIMIT";
    case DisconnectReason::kRoomEnded:
      return "ROOM_ENDED";
  }
  return "REASON_OUT_OF_RANGE";
}
inline const char* TestName(EventType t) {
  switch (t) {
    case EventType::kUnspecified:
      return "E_UNSPECIFIED";
    case EventType::kConnected:
      return "E_CONNECTED";
    case EventType::kReconnecting:
      return "E_RECONNECTING";
    case EventType::kReconnected:
      return "E_RECONNECTED";
    case EventType::kDisconnected:
      return "E_DISCONNECTED";
    case EventType::kTrackPublished:
      return "E_TRACK_PUBLISHED";
    case EventType::kTrackUnpublished:
      return "E_TRACK_UNPUBLISHED";
    case EventType::kTrackEnabled:
      return "E_TRACK_ENABLED";
    case EventType::kTrackDisabled:
      return "E_TRACK_DISABLED";
  }
  return "E_OUT_OF_RANGE";
}
inline const char* TestName(ChangeType t) {
  switch (t) {
    case ChangeType::kUnspecified:
      return "C_UNSPECIFIED";
    case ChangeType::kRoomCreated:
      return "ROOM_CREATED";
    case ChangeType::kRoomEnded:
      return "ROOM_ENDED";
    case ChangeType::kParticipantConnected:
      return "PARTICIPANT_CONNECTED";
    case ChangeType::kParticipantReconnecting:
      return "PARTICIPANT_RECONNECTING";
    case ChangeType::kParticipantReconnected:
      return "PARTICIPANT_RECONNECTED";
    case ChangeType::kParticipantDisconnected:
      return "PARTICIPANT_DISCONNECTED";
    case ChangeType::kParticipantAnonymized:
      return "PARTICIPANT_ANONYMIZED";
    case ChangeType::kTrackPublished:
      return "TRACK_PUBLISHED";
    case ChangeType::kTrackUnpublished:
      return "TRACK_UNPUBLISHED";
    case ChangeType::kTrackEnabled:
      return "TRACK_ENABLED";
    case ChangeType::kTrackDisabled:
      return "TRACK_DISABLED";
    case ChangeType::kSubscribeRulesUpdated:
      return "SUBSCRIBE_RULES_UPDATED";
    case ChangeType::kSubscribedTrackAdded:
      return "SUBSCRIBED_TRACK_ADDED";
    case ChangeType::kSubscribedTrackRemoved:
      return "SUBSCRIBED_TRACK_REMOVED";
    case ChangeType::kSubscribedTrackUpdated:
      return "SUBSCRIBED_TRACK_UPDATED";
  }
  return "C_OUT_OF_RANGE";
}
inline const char* TestName(Disposition d) {
  switch (d) {
    case Disposition::kApplied:
      return "APPLIED";
    case Disposition::kDuplicate:
      return "DUPLICATE";
    case Disposition::kIgnored:
      return "IGNORED";
  }
  return "D_OUT_OF_RANGE";
}
inline const char* TestName(TimerKind k) {
  switch (k) {
    case TimerKind::kReconnectTimeout:
      return "RECONNECT_TIMEOUT";
    case TimerKind::kSessionLimit:
      return "SESSION_LIMIT";
    case TimerKind::kRoomIdle:
      return "ROOM_IDLE";
    case TimerKind::kRoomMaxDuration:
      return "ROOM_MAX_DURATION";
  }
  return "T_OUT_OF_RANGE";
}

inline void PrintTo(ParticipantStatus v, std::ostream* os) { *os << TestName(v); }
inline void PrintTo(RoomStatus v, std::ostream* os) { *os << TestName(v); }
inline void PrintTo(DisconnectReason v, std::ostream* os) { *os << TestName(v); }
inline void PrintTo(EventType v, std::ostream* os) { *os << TestName(v); }
inline void PrintTo(ChangeType v, std::ostream* os) { *os << TestName(v); }
inline void PrintTo(Disposition v, std::ostream* os) { *os << TestName(v); }
inline void PrintTo(TimerKind v, std::ostream* os) { *os << TestName(v); }
inline void PrintTo(const Sid& sid, std::ostream* os) {
  *os << (sid.empty() ? std::string("<no sid>") : sid.ToString());
}

namespace test {
template <typename T>
std::string OptText(const std::optional<T>& v) {
  if (!v.has_value()) return "-";
  if constexpr (std::is_same_v<T, absl::Time>) {
    return absl::FormatTime(*v, absl::UTCTimeZone());
  } else {
    return absl::StrCat(*v);
  }
}
inline std::string TimeText(absl::Time t) { return absl::FormatTime(t, absl::UTCTimeZone()); }
}  // namespace test

inline void PrintTo(const Participant& p, std::ostream* os) {
  *os << "Participant{" << p.sid.ToString() << " room=" << p.room_sid.ToString()
      << " acct=" << p.account_sid.ToString() << " identity='" << p.identity << "' "
      << TestName(p.status) << " created=" << test::TimeText(p.date_created)
      << " updated=" << test::TimeText(p.date_updated) << " start=" << test::TimeText(p.start_time)
      << " end=" << test::OptText(p.end_time) << " duration=" << test::OptText(p.duration)
      << " reason=" << TestName(p.disconnect_reason) << " rev=" << p.revision
      << " last_event=" << test::TimeText(p.last_event_time)
      << " reconnecting_since=" << test::OptText(p.reconnecting_since) << "}";
}
inline void PrintTo(const Room& r, std::ostream* os) {
  *os << "Room{" << r.sid.ToString() << " acct=" << r.account_sid.ToString() << " name='"
      << r.unique_name << "' " << TestName(r.status)
      << " created=" << test::TimeText(r.date_created)
      << " updated=" << test::TimeText(r.date_updated) << " end=" << test::OptText(r.end_time)
      << " duration=" << test::OptText(r.duration) << " max=" << r.max_participants
      << " max_dur=" << r.max_participant_duration << " empty_to=" << r.empty_room_timeout
      << " unused_to=" << r.unused_room_timeout << " cb='" << r.status_callback << "' "
      << r.status_callback_method << (r.ad_hoc ? " ad_hoc" : "") << " rev=" << r.revision << "}";
}
inline void PrintTo(const PublishedTrack& t, std::ostream* os) {
  *os << "Track{" << t.sid.ToString() << " of " << t.participant_sid.ToString() << " '" << t.name
      << "' kind=" << static_cast<int>(t.kind) << (t.enabled ? " enabled" : " disabled")
      << (t.published() ? " published" : " unpublished")
      << " created=" << test::TimeText(t.date_created)
      << " last_event=" << test::TimeText(t.last_event_time) << " rev=" << t.revision << "}";
}
inline void PrintTo(const SubscribeRules& r, std::ostream* os) {
  *os << "Rules{" << r.participant_sid.ToString() << " [";
  for (const SubscribeRule& rule : r.rules) {
    *os << (rule.type == RuleType::kInclude ? " +" : " -") << (rule.all ? "all" : "")
        << " k=" << static_cast<int>(rule.kind) << " p='" << rule.publisher << "' t='" << rule.track
        << "'";
  }
  *os << " ] rev=" << r.revision << "}";
}
inline void PrintTo(const SubscribedTrack& s, std::ostream* os) {
  *os << "Subscribed{" << s.participant_sid.ToString() << " <- " << s.sid.ToString() << " of "
      << s.publisher_sid.ToString() << " '" << s.name << "'" << (s.enabled ? " enabled" : "")
      << " rev=" << s.revision << "}";
}
inline void PrintTo(const Timer& t, std::ostream* os) {
  *os << "Timer{" << test::TimeText(t.deadline) << " " << TestName(t.kind) << " "
      << t.sid.ToString() << "}";
}
inline void PrintTo(const Change& c, std::ostream* os) {
  *os << "Change{rev=" << c.revision << " " << TestName(c.type) << " at " << test::TimeText(c.time)
      << " prev=" << TestName(c.previous_status) << " ";
  if (const auto* p = std::get_if<Participant>(&c.resource)) PrintTo(*p, os);
  if (const auto* r = std::get_if<Room>(&c.resource)) PrintTo(*r, os);
  if (const auto* t = std::get_if<PublishedTrack>(&c.resource)) PrintTo(*t, os);
  if (const auto* r = std::get_if<SubscribeRules>(&c.resource)) PrintTo(*r, os);
  if (const auto* s = std::get_if<SubscribedTrack>(&c.resource)) PrintTo(*s, os);
  *os << "}";
}
inline void PrintTo(const DedupeEntry& e, std::ostream* os) {
  *os << "Dedupe{" << e.account_sid.ToString() << " '" << e.event_id << "' fp=" << e.fingerprint
      << " rev=" << e.revision << " " << e.participant_sid.ToString() << " at "
      << test::TimeText(e.recorded_at) << "}";
}
inline void PrintTo(const PageKey& k, std::ostream* os) {
  *os << "PageKey{" << test::TimeText(k.date_created) << " " << k.sid.ToString() << "}";
}

namespace test {

// ---- Fixed times. ----

inline constexpr int64_t kEpochSeconds = 1'700'000'000;  // 2023-11-14T22:13:20Z
// Server and media times in tests: seconds relative to a fixed instant.
inline absl::Time At(int64_t seconds) { return absl::FromUnixSeconds(kEpochSeconds + seconds); }
inline absl::Time AtMillis(int64_t millis) {
  return absl::FromUnixMillis(kEpochSeconds * 1000 + millis);
}
inline absl::Time Utc(int64_t year, int month, int day, int hour = 0, int minute = 0,
                      int second = 0) {
  return absl::FromCivil(absl::CivilSecond(year, month, day, hour, minute, second),
                         absl::UTCTimeZone());
}
inline int64_t FloorSeconds(absl::Duration d) {
  return absl::ToInt64Seconds(absl::Floor(d, absl::Seconds(1)));
}

// ---- Fixed SIDs. SequentialIdSource only fills the low 8 bytes, so fixed SIDs carry 0xfe in
// the first byte and never collide with generated ones. ----

inline Sid FixedSid(absl::string_view prefix, uint64_t n) {
  Sid::Bytes bytes{};
  bytes[0] = 0xfe;
  for (int i = 15; i >= 8; --i) {
    bytes[i] = static_cast<uint8_t>(n & 0xff);
    n >>= 8;
  }
  return Sid(prefix, bytes);
}
inline std::string PaText(uint64_t n) { return FixedSid(kParticipantPrefix, n).ToString(); }
inline std::string RmText(uint64_t n) { return FixedSid(kRoomPrefix, n).ToString(); }
inline std::string MtText(uint64_t n) { return FixedSid(kTrackPrefix, n).ToString(); }
inline Sid MtSid(uint64_t n) { return FixedSid(kTrackPrefix, n); }
inline Sid PaSid(uint64_t n) { return FixedSid(kParticipantPrefix, n); }
inline Sid RmSid(uint64_t n) { return FixedSid(kRoomPrefix, n); }
inline Sid AccountA() { return FixedSid(kAccountPrefix, 1); }
inline Sid AccountB() { return FixedSid(kAccountPrefix, 2); }
// The SID text with its hex digits in upper case.
inline std::string UpperHex(std::string text) {
  for (size_t i = 2; i < text.size(); ++i) {
    text[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(text[i])));
  }
  return text;
}

// ---- Dump: everything observable about a roster. ----

struct RosterDump {
  uint64_t revision = 0;
  std::vector<Room> rooms;
  std::vector<Participant> participants;
  std::optional<Timer> next_timer;
  size_t participant_count = 0;
  size_t room_count = 0;
  size_t active_participant_count = 0;
  size_t in_progress_room_count = 0;
  size_t dedupe_count = 0;
  std::vector<PublishedTrack> tracks;       // per participant, in (date_created, sid) order
  std::vector<SubscribeRules> rules;        // stored sets, per participant
  std::vector<SubscribedTrack> subscribed;  // per subscriber, in track SID order
  size_t published_track_count = 0;

  friend bool operator==(const RosterDump&, const RosterDump&) = default;
};

inline void PrintTo(const RosterDump& d, std::ostream* os) {
  *os << "Dump{rev=" << d.revision << " rooms=" << d.room_count
      << " participants=" << d.participant_count << " active=" << d.active_participant_count
      << " in_progress=" << d.in_progress_room_count << " dedupe=" << d.dedupe_count
      << " next_timer=";
  if (d.next_timer) {
    PrintTo(*d.next_timer, os);
  } else {
    *os << "-";
  }
  for (const Room& r : d.rooms) {
    *os << "\n  ";
    PrintTo(r, os);
  }
  for (const Participant& p : d.participants) {
    *os << "\n  ";
    PrintTo(p, os);
  }
  for (const PublishedTrack& t : d.tracks) {
    *os << "\n  ";
    PrintTo(t, os);
  }
  for (const SubscribeRules& r : d.rules) {
    *os << "\n  ";
    PrintTo(r, os);
  }
  for (const SubscribedTrack& s : d.subscribed) {
    *os << "\n  ";
    PrintTo(s, os);
  }
  *os << "}";
}

inline RosterDump Dump(const Roster& roster,
                       const std::vector<Sid>& accounts = {AccountA(), AccountB()}) {
  RosterDump d;
  d.revision = roster.revision();
  for (const Sid& account : accounts) {
    roster.ForEachRoom(account, std::nullopt, [&](const Room& r) { d.rooms.push_back(r); });
    roster.ForEachParticipant(account, std::nullopt, [&](const Participant& p) {
      d.participants.push_back(p);
      for (const PublishedTrack* t : roster.TracksOf(p.sid)) d.tracks.push_back(*t);
      if (const SubscribeRules* r = roster.FindRules(p.sid)) d.rules.push_back(*r);
      for (const SubscribedTrack* s : roster.SubscribedTracks(p.sid)) d.subscribed.push_back(*s);
    });
  }
  d.published_track_count = roster.published_track_count();
  d.next_timer = roster.NextTimer();
  d.participant_count = roster.participant_count();
  d.room_count = roster.room_count();
  d.active_participant_count = roster.active_participant_count();
  d.in_progress_room_count = roster.in_progress_room_count();
  d.dedupe_count = roster.dedupe_count();
  return d;
}

// ---- Status assertions. ----

// True when `field` occurs in `message` as a whole name (so "participant_sid" does not match
// inside "event.participant_sid").
inline bool NamesField(absl::string_view message, absl::string_view field) {
  auto is_name_char = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '.';
  };
  for (size_t pos = message.find(field); pos != absl::string_view::npos;
       pos = message.find(field, pos + 1)) {
    const bool left_ok = pos == 0 || !is_name_char(message[pos - 1]);
    const size_t end = pos + field.size();
    // A trailing '.' ends a sentence; it does not continue the name.
    const bool right_ok =
        end >= message.size() || !is_name_char(message[end]) ||
        (message[end] == '.' && (end + 1 >= message.size() || !is_name_char(message[end + 1])));
    if (left_ok && right_ok) return true;
  }
  return false;
}

// The status has `code`, and names `field`: INVALID_ARGUMENT messages start "<field>: ", other
// codes mention the field. An empty `field` checks the code only.
inline ::testing::AssertionResult HasError(const absl::Status& status, absl::StatusCode code,
                                           absl::string_view field) {
  if (status.code() != code) {
    return ::testing::AssertionFailure() << "expected " << absl::StatusCodeToString(code)
                                         << " naming '" << field << "', got " << status;
  }
  if (field.empty()) return ::testing::AssertionSuccess();
  if (code == absl::StatusCode::kInvalidArgument &&
      !absl::StartsWith(status.message(), absl::StrCat(field, ": "))) {
    return ::testing::AssertionFailure()
           << "expected the message to start with '" << field << ": ', got " << status;
  }
  if (!NamesField(status.message(), field)) {
    return ::testing::AssertionFailure()
           << "expected the message to name '" << field << "', got " << status;
  }
  return ::testing::AssertionSuccess();
}
template <typename T>
::testing::AssertionResult HasError(const absl::StatusOr<T>& result, absl::StatusCode code,
                                    absl::string_view field) {
  if (result.ok()) {
    return ::testing::AssertionFailure()
           << "expected " << absl::StatusCodeToString(code) << " naming '" << field << "', got OK";
  }
  return HasError(result.status(), code, field);
}

inline std::string Describe(const absl::StatusOr<Outcome>& r) {
  if (!r.ok()) return r.status().ToString();
  std::string out =
      absl::StrCat(TestName(r->disposition), " rev=", r->revision, " changes=", r->changes.size());
  if (r->participant) {
    absl::StrAppend(&out, " participant=", ::testing::PrintToString(*r->participant));
  }
  return out;
}

// ---- Harness: one roster, one machine, a settable server clock and input builders. ----

class Harness {
 public:
  explicit Harness(const Limits& limits = Limits{}, uint64_t first_id = 1)
      : ids_(first_id), roster_(limits), machine_(ids_) {}
  Harness(const Harness&) = delete;
  Harness& operator=(const Harness&) = delete;

  Roster& roster() { return roster_; }
  const Roster& roster() const { return roster_; }
  const RoomMachine& machine() const { return machine_; }
  const Limits& limits() const { return roster_.limits(); }

  absl::Time now() const { return now_; }
  void SetNow(absl::Time now) { now_ = now; }
  void Advance(absl::Duration d) { now_ += d; }

  const Sid& account() const { return account_; }
  void UseAccount(const Sid& account) { account_ = account; }

  RosterDump Dump() const { return test::Dump(roster_); }

  absl::StatusOr<Outcome> Decide(const Input& input) const {
    return machine_.Decide(roster_, input, now_);
  }

  // Decides `input` and commits an APPLIED outcome, checking the revision contract: APPLIED
  // is revision()+1 and stamps every change with it; nothing else moves the revision.
  absl::StatusOr<Outcome> Step(const Input& input) {
    const uint64_t before = roster_.revision();
    absl::StatusOr<Outcome> outcome = Decide(input);
    if (outcome.ok() && outcome->disposition == Disposition::kApplied) {
      EXPECT_EQ(outcome->revision, before + 1);
      EXPECT_FALSE(outcome->changes.empty());
      for (const Change& change : outcome->changes) {
        EXPECT_EQ(change.revision, outcome->revision) << ::testing::PrintToString(change);
      }
      roster_.Commit(*outcome);
      EXPECT_EQ(roster_.revision(), outcome->revision);
    } else {
      if (outcome.ok() && outcome->disposition == Disposition::kIgnored) {
        EXPECT_EQ(outcome->revision, before);
      }
      if (outcome.ok()) {
        EXPECT_TRUE(outcome->changes.empty());
      }
      EXPECT_EQ(roster_.revision(), before);
    }
    return outcome;
  }

  // Steps an input the test expects to succeed with `disposition`.
  Outcome Expect(const Input& input, Disposition disposition) {
    absl::StatusOr<Outcome> outcome = Step(input);
    EXPECT_TRUE(outcome.ok()) << outcome.status();
    if (!outcome.ok()) return Outcome{};
    EXPECT_EQ(outcome->disposition, disposition) << Describe(outcome);
    return *std::move(outcome);
  }
  Outcome Apply(const Input& input) { return Expect(input, Disposition::kApplied); }

  // ---- Builders (in the harness's current account). ----

  std::string NextEventId() { return absl::StrCat("ev-", next_event_++); }

  Event MakeEvent(EventType type, std::string room, std::string participant_sid,
                  absl::Time occurred_at) {
    Event e;
    e.account_sid = account_;
    e.event_id = NextEventId();
    e.type = type;
    e.occurred_at = occurred_at;
    e.room = std::move(room);
    e.participant_sid = std::move(participant_sid);
    return e;
  }
  Event Connected(std::string room, std::string identity, absl::Time at,
                  std::string participant_sid = "") {
    Event e = MakeEvent(EventType::kConnected, std::move(room), std::move(participant_sid), at);
    e.identity = std::move(identity);
    return e;
  }
  Event Reconnecting(std::string room, std::string participant_sid, absl::Time at) {
    return MakeEvent(EventType::kReconnecting, std::move(room), std::move(participant_sid), at);
  }
  Event Reconnected(std::string room, std::string participant_sid, absl::Time at) {
    return MakeEvent(EventType::kReconnected, std::move(room), std::move(participant_sid), at);
  }
  Event Disconnected(std::string room, std::string participant_sid, absl::Time at,
                     DisconnectReason reason = DisconnectReason::kUnspecified) {
    Event e = MakeEvent(EventType::kDisconnected, std::move(room), std::move(participant_sid), at);
    e.reason = reason;
    return e;
  }
  KickParticipant Kick(std::string room, std::string participant_sid) const {
    return KickParticipant{account_, std::move(room), std::move(participant_sid),
                           ParticipantStatus::kDisconnected};
  }
  AnonymizeParticipant Anonymize(std::string room, std::string participant_sid) const {
    return AnonymizeParticipant{account_, std::move(room), std::move(participant_sid)};
  }
  CreateRoom NewRoom(std::string unique_name) const {
    CreateRoom c;
    c.account_sid = account_;
    c.unique_name = std::move(unique_name);
    return c;
  }
  EndRoom End(std::string room) const {
    return EndRoom{account_, std::move(room), RoomStatus::kCompleted};
  }
  static FireTimer Fire(const Timer& timer) { return FireTimer{timer}; }
  Event TrackEvent(EventType type, std::string room, std::string participant_sid,
                   std::string track_sid, absl::Time at) {
    Event e = MakeEvent(type, std::move(room), std::move(participant_sid), at);
    e.track_sid = std::move(track_sid);
    return e;
  }
  Event Published(std::string room, std::string participant_sid, std::string track_sid,
                  std::string name, TrackKind kind, absl::Time at) {
    Event e = TrackEvent(EventType::kTrackPublished, std::move(room), std::move(participant_sid),
                         std::move(track_sid), at);
    e.track_name = std::move(name);
    e.track_kind = kind;
    return e;
  }
  UpdateSubscribeRules Rules(std::string room, std::string participant_sid,
                             std::vector<SubscribeRule> rules) const {
    return UpdateSubscribeRules{account_, std::move(room), std::move(participant_sid),
                                std::move(rules)};
  }

  // ---- Shortcuts that apply and return the record. ----

  Room CreateRoomNamed(std::string unique_name) { return Create(NewRoom(std::move(unique_name))); }
  Room Create(const CreateRoom& command) {
    Outcome o = Apply(command);
    EXPECT_TRUE(o.room.has_value());
    return o.room.value_or(Room{});
  }
  Participant Connect(std::string room, std::string identity, absl::Time at,
                      std::string participant_sid = "") {
    Outcome o =
        Apply(Connected(std::move(room), std::move(identity), at, std::move(participant_sid)));
    EXPECT_TRUE(o.participant.has_value());
    return o.participant.value_or(Participant{});
  }

  // The stored record of a participant / room, or a test failure and an empty record.
  Participant Get(const Sid& participant_sid) const {
    const Participant* p = roster_.FindParticipant(participant_sid);
    EXPECT_NE(p, nullptr) << "no participant " << participant_sid.ToString();
    return p == nullptr ? Participant{} : *p;
  }
  Participant Get(absl::string_view participant_sid) const {
    std::optional<Sid> sid = Sid::TryParse(participant_sid, kParticipantPrefix);
    EXPECT_TRUE(sid.has_value()) << participant_sid;
    return sid ? Get(*sid) : Participant{};
  }
  Room GetRoom(const Sid& room_sid) const {
    const Room* r = roster_.FindRoom(room_sid);
    EXPECT_NE(r, nullptr) << "no room " << room_sid.ToString();
    return r == nullptr ? Room{} : *r;
  }

 private:
  SequentialIdSource ids_;
  Roster roster_;
  RoomMachine machine_;
  Sid account_ = AccountA();
  absl::Time now_ = At(0);
  int next_event_ = 1;
};

// The participant a change carries, or a test failure.
inline Participant ParticipantOf(const Change& change) {
  const auto* p = std::get_if<Participant>(&change.resource);
  EXPECT_NE(p, nullptr) << ::testing::PrintToString(change);
  return p == nullptr ? Participant{} : *p;
}
inline Room RoomOf(const Change& change) {
  const auto* r = std::get_if<Room>(&change.resource);
  EXPECT_NE(r, nullptr) << ::testing::PrintToString(change);
  return r == nullptr ? Room{} : *r;
}
inline std::vector<ChangeType> TypesOf(const std::vector<Change>& changes) {
  std::vector<ChangeType> types;
  types.reserve(changes.size());
  for (const Change& c : changes) types.push_back(c.type);
  return types;
}

}  // namespace test
}  // namespace rollcall::state

#endif  // ROLLCALL_TESTS_STATE_STATE_HARNESS_H_
