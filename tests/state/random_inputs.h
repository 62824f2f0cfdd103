// InputGenerator: seeded random inputs for property tests of state/. It produces a plausible
// but adversarial stream over a few rooms (created and ad hoc, small capacities), a handful of
// identities and an advancing server clock: connects, reconnects, disconnects (some reordered,
// stale or duplicated with the same event_id, some reusing an id with other content), kicks,
// anonymizations, room creations and ends, and timer firings (due, early and stale). It learns
// which participants and rooms exist from the outcomes it is shown, so it works against any
// RosterView. Deterministic for a given seed and sequence of outcomes. A fuzzer can steer it:
// given choice bytes, every random choice reads them first and the seeded generator only once
// they run out.
#ifndef ROLLCALL_TESTS_STATE_RANDOM_INPUTS_H_
#define ROLLCALL_TESTS_STATE_RANDOM_INPUTS_H_

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "state/limits.h"
#include "state/records.h"
#include "state/sid.h"
#include "tests/state/state_harness.h"

namespace rollcall::state::test {

// Limits that make every rule reachable in a short sequence.
inline Limits PropertyLimits() {
  Limits limits;
  limits.max_room_participants = 3;
  limits.reconnect_timeout = absl::Seconds(30);
  limits.max_room_duration = absl::Minutes(90);
  return limits;
}

class InputGenerator {
 public:
  struct Step {
    absl::Time now;  // server time to decide the input at
    Input input;
  };

  explicit InputGenerator(uint64_t seed, Sid account = AccountA())
      : rng_(seed), account_(account), now_(At(0)) {}
  InputGenerator(uint64_t seed, absl::string_view choices, Sid account = AccountA())
      : rng_(seed), choices_(choices), account_(account), now_(At(0)) {}

  absl::Time now() const { return now_; }
  // True once the choice bytes are used up (always, without them).
  bool out_of_choices() const { return choices_.empty(); }

  // The next input. `next_timer` is the roster's earliest timer, when the caller knows it.
  Step Next(const std::optional<Timer>& next_timer) {
    AdvanceClock();
    if (Chance(30)) return Step{now_, MakeTrackInput()};
    const int roll = Uniform(0, 99);
    Input input;
    if (roll < 28) {
      input = MakeConnected();
    } else if (roll < 38) {
      input = MakeTransition(EventType::kReconnecting);
    } else if (roll < 47) {
      input = MakeTransition(EventType::kReconnected);
    } else if (roll < 58) {
      input = MakeTransition(EventType::kDisconnected);
    } else if (roll < 66) {
      input = MakeRetry();
    } else if (roll < 70) {
      input = MakeKick();
    } else if (roll < 74) {
      input = MakeAnonymize();
    } else if (roll < 79) {
      input = MakeCreateRoom();
    } else if (roll < 82) {
      input = MakeEndRoom();
    } else {
      input = MakeFireTimer(next_timer);
    }
    return Step{now_, std::move(input)};
  }

  // Shows the generator what the last input did, so later inputs can name what exists.
  void Learn(const absl::StatusOr<Outcome>& result) {
    if (!result.ok() || result->disposition != Disposition::kApplied) return;
    for (const Change& change : result->changes) {
      if (const auto* p = std::get_if<Participant>(&change.resource)) {
        auto [it, inserted] = participants_.try_emplace(p->sid, *p);
        if (inserted) participant_order_.push_back(p->sid);
        it->second = *p;
      } else if (const auto* r = std::get_if<Room>(&change.resource)) {
        auto [it, inserted] = rooms_.try_emplace(r->sid, *r);
        if (inserted) room_order_.push_back(r->sid);
        it->second = *r;
      } else if (const auto* t = std::get_if<PublishedTrack>(&change.resource)) {
        auto [it, inserted] = tracks_.try_emplace(t->sid, *t);
        if (inserted) track_order_.push_back(t->sid);
        it->second = *t;
      }
    }
  }

  // Remembers a timer that was fired, to try it again later (it must then be refused).
  void Fired(const Timer& timer) { fired_.push_back(timer); }

 private:
  int Uniform(int lo, int hi) {
    if (choices_.empty()) return std::uniform_int_distribution<int>(lo, hi)(rng_);
    // Two bytes (one when that is all there is) per choice: enough for every range used here
    // but the longest clock jumps, which then land on fewer values.
    uint32_t value = static_cast<uint8_t>(choices_[0]);
    if (choices_.size() >= 2) value = (value << 8) | static_cast<uint8_t>(choices_[1]);
    choices_.remove_prefix(std::min<size_t>(2, choices_.size()));
    const uint32_t span = static_cast<uint32_t>(hi - lo) + 1;
    return lo + static_cast<int>(value % span);
  }
  bool Chance(int percent) { return Uniform(0, 99) < percent; }
  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[static_cast<size_t>(Uniform(0, static_cast<int>(v.size()) - 1))];
  }

  void AdvanceClock() {
    const int roll = Uniform(0, 99);
    int64_t millis = 0;
    if (roll < 55) {
      millis = Uniform(0, 8000);
    } else if (roll < 90) {
      millis = Uniform(8000, 60000);
    } else {
      millis = Uniform(60000, 900000);
    }
    now_ += absl::Milliseconds(millis);
  }

  // occurred_at: mostly just before now; sometimes much older (stale), sometimes ahead.
  absl::Time OccurredAt() {
    const int roll = Uniform(0, 99);
    if (roll < 65) return now_ - absl::Milliseconds(Uniform(0, 3000));
    if (roll < 85) return now_ - absl::Milliseconds(Uniform(3000, 60000));
    if (roll < 95) return now_ - absl::Milliseconds(Uniform(60000, 600000));
    return now_ + absl::Milliseconds(Uniform(0, 300000));
  }

  Event Base(EventType type) {
    Event e;
    e.account_sid = account_;
    e.event_id = absl::StrCat("e", next_event_++);
    e.type = type;
    e.occurred_at = OccurredAt();
    return e;
  }

  // Any room reference: a known room (by SID or name) or a fresh one.
  std::string AnyRoomReference() {
    const int roll = Uniform(0, 99);
    if (roll < 35 || room_order_.empty()) {
      static const char* const kNames[] = {"c0", "c1", "a0", "a1", "a2"};
      return kNames[Uniform(0, 4)];
    }
    if (roll < 45) return RmText(static_cast<uint64_t>(100 + Uniform(0, 1)));
    const Room& room = rooms_.at(Pick(room_order_));
    if (roll < 75) return room.sid.ToString();
    return room.unique_name;
  }

  Event MakeConnected() {
    Event e = Base(EventType::kConnected);
    e.room = AnyRoomReference();
    e.identity = absl::StrCat("u", Uniform(0, 4));
    const int roll = Uniform(0, 99);
    if (roll < 20) {
      e.participant_sid = PaText(next_fixed_sid_++);
    } else if (roll < 28 && !participant_order_.empty()) {
      const Participant& p = participants_.at(Pick(participant_order_));
      e.participant_sid = p.sid.ToString();
      e.room = Chance(80) ? p.room_sid.ToString() : e.room;
    }
    sent_.push_back(e);
    return e;
  }

  // A participant to act on: usually an active one.
  std::optional<Participant> SomeParticipant() {
    if (participant_order_.empty()) return std::nullopt;
    std::vector<Sid> active;
    for (const Sid& sid : participant_order_) {
      if (participants_.at(sid).active()) active.push_back(sid);
    }
    if (!active.empty() && Chance(75)) return participants_.at(Pick(active));
    return participants_.at(Pick(participant_order_));
  }

  std::string RoomOf(const Participant& p) {
    const int roll = Uniform(0, 99);
    auto it = rooms_.find(p.room_sid);
    if (roll < 45 || it == rooms_.end()) {
      return Chance(85) ? p.room_sid.ToString() : UpperHex(p.room_sid.ToString());
    }
    if (roll < 92) return it->second.unique_name;
    return AnyRoomReference();  // possibly the wrong room
  }

  Event MakeTransition(EventType type) {
    Event e = Base(type);
    std::optional<Participant> p = SomeParticipant();
    if (!p || Chance(4)) {
      e.participant_sid = PaText(9000 + static_cast<uint64_t>(Uniform(0, 9)));  // unknown
      e.room = AnyRoomReference();
    } else {
      e.participant_sid = p->sid.ToString();
      e.room = RoomOf(*p);
    }
    if (type == EventType::kDisconnected && Chance(20)) {
      e.reason = static_cast<DisconnectReason>(Uniform(1, kMaxDisconnectReason));
    }
    sent_.push_back(e);
    return e;
  }

  Input MakeRetry() {
    if (sent_.empty()) return MakeConnected();
    Event e = Pick(sent_);
    if (Chance(20)) {
      *e.occurred_at += absl::Milliseconds(1);  // same id, other content
    }
    return e;
  }

  Input MakeKick() {
    std::optional<Participant> p = SomeParticipant();
    KickParticipant k{account_, "", p ? p->sid.ToString() : PaText(9999),
                      ParticipantStatus::kDisconnected};
    if (p && Chance(50)) k.room = RoomOf(*p);
    if (Chance(3)) k.status = ParticipantStatus::kConnected;  // malformed
    return k;
  }

  Input MakeAnonymize() {
    std::optional<Participant> p;
    // Prefer disconnected participants: anonymizing active ones only fails.
    std::vector<Sid> inactive;
    for (const Sid& sid : participant_order_) {
      if (!participants_.at(sid).active()) inactive.push_back(sid);
    }
    if (!inactive.empty() && Chance(80)) {
      p = participants_.at(Pick(inactive));
    } else {
      p = SomeParticipant();
    }
    AnonymizeParticipant a{account_, "", p ? p->sid.ToString() : PaText(9999)};
    if (p && Chance(40)) a.room = RoomOf(*p);
    return a;
  }

  Input MakeCreateRoom() {
    CreateRoom c;
    c.account_sid = account_;
    static const char* const kNames[] = {"c0", "c1", "c2", ""};
    c.unique_name = kNames[Uniform(0, 3)];
    c.max_participants = Uniform(1, 3);
    c.max_participant_duration = Uniform(600, 1200);
    c.empty_room_timeout = Uniform(1, 3);
    c.unused_room_timeout = Uniform(1, 3);
    if (Chance(5)) c.max_participants = 0;  // malformed
    return c;
  }

  Input MakeEndRoom() {
    EndRoom e{account_, AnyRoomReference(), RoomStatus::kCompleted};
    return e;
  }

  Input MakeFireTimer(const std::optional<Timer>& next_timer) {
    const int roll = Uniform(0, 99);
    if (roll < 10 && !fired_.empty()) return FireTimer{Pick(fired_)};  // stale
    if (!next_timer) return MakeTransition(EventType::kReconnecting);
    if (roll < 20) return FireTimer{*next_timer};  // maybe early
    now_ = std::max(now_, next_timer->deadline);
    return FireTimer{*next_timer};
  }

  // Track events and rule updates (docs/tracks.md): publishes with clashing names and kinds,
  // unpublishes, enables and disables (some stale or for unknown tracks), and rule sets.
  Input MakeTrackInput() {
    const int roll = Uniform(0, 99);
    if (roll < 22) return MakeRules();
    static const char* const kTrackNames[] = {"cam", "mic", "screen", "data"};
    std::optional<Participant> p = SomeParticipant();
    if (roll < 60 || track_order_.empty()) {
      Event e = Base(EventType::kTrackPublished);
      e.participant_sid = p ? p->sid.ToString() : PaText(9999);
      e.room = p ? RoomOf(*p) : AnyRoomReference();
      e.track_sid = Chance(90) || track_order_.empty()
                        ? MtText(next_track_++)
                        : Pick(track_order_).ToString();  // an existing SID again
      e.track_name = kTrackNames[Uniform(0, 3)];
      e.track_kind = static_cast<TrackKind>(Uniform(Chance(3) ? 0 : 1, kMaxTrackKind));
      if (Chance(20)) e.track_enabled = Chance(50);
      sent_.push_back(e);
      return e;
    }
    const EventType type = roll < 72   ? EventType::kTrackUnpublished
                           : roll < 86 ? EventType::kTrackEnabled
                                       : EventType::kTrackDisabled;
    Event e = Base(type);
    const PublishedTrack& t = tracks_.at(Pick(track_order_));
    e.track_sid = Chance(96) ? t.sid.ToString() : MtText(9000);  // sometimes unknown
    const auto owner = participants_.find(t.participant_sid);
    if (owner != participants_.end() && Chance(95)) {
      e.participant_sid = t.participant_sid.ToString();
      e.room = RoomOf(owner->second);
    } else {
      e.participant_sid = p ? p->sid.ToString() : PaText(9999);  // maybe not the owner
      e.room = p ? RoomOf(*p) : AnyRoomReference();
    }
    sent_.push_back(e);
    return e;
  }

  SubscribeRule RandomRule() {
    SubscribeRule rule;
    rule.type = Chance(60) ? RuleType::kInclude : RuleType::kExclude;
    if (Chance(25)) {
      rule.all = true;
      if (Chance(3)) rule.kind = TrackKind::kAudio;  // malformed: all with a filter
      return rule;
    }
    if (Chance(50)) rule.kind = static_cast<TrackKind>(Uniform(1, kMaxTrackKind));
    if (Chance(45)) {
      if (Chance(60) || participant_order_.empty()) {
        rule.publisher = absl::StrCat("u", Uniform(0, 4));
      } else {
        rule.publisher = Pick(participant_order_).ToString();
      }
    }
    if (Chance(35)) {
      static const char* const kTrackNames[] = {"cam", "mic", "screen", "data"};
      rule.track = Chance(70) || track_order_.empty() ? std::string(kTrackNames[Uniform(0, 3)])
                                                      : UpperHex(Pick(track_order_).ToString());
    }
    return rule;  // possibly with no filter at all: malformed
  }

  Input MakeRules() {
    std::optional<Participant> p = SomeParticipant();
    UpdateSubscribeRules u{account_, "", p ? p->sid.ToString() : PaText(9999), {}};
    if (p && Chance(50)) u.room = RoomOf(*p);
    const int count = Chance(3) ? 0 : Uniform(1, 3);
    for (int i = 0; i < count; ++i) u.rules.push_back(RandomRule());
    return u;
  }

  std::mt19937_64 rng_;
  absl::string_view choices_;
  Sid account_;
  absl::Time now_;
  uint64_t next_event_ = 1;
  uint64_t next_fixed_sid_ = 1;
  std::map<Sid, Participant> participants_;
  std::vector<Sid> participant_order_;
  std::map<Sid, Room> rooms_;
  std::vector<Sid> room_order_;
  std::map<Sid, PublishedTrack> tracks_;
  std::vector<Sid> track_order_;
  uint64_t next_track_ = 1;
  std::vector<Event> sent_;
  std::vector<Timer> fired_;
};

// What a step did, for comparing a replay with the original run.
struct Observed {
  absl::StatusCode code = absl::StatusCode::kOk;
  std::optional<Disposition> disposition;
  uint64_t revision = 0;
  std::vector<Change> changes;
  std::optional<Participant> participant;
  friend bool operator==(const Observed&, const Observed&) = default;
};

inline Observed Observe(const absl::StatusOr<Outcome>& result) {
  Observed o;
  o.code = result.status().code();
  if (result.ok()) {
    o.disposition = result->disposition;
    o.revision = result->revision;
    o.changes = result->changes;
    o.participant = result->participant;
  }
  return o;
}

inline void PrintTo(const Observed& o, std::ostream* os) {
  *os << absl::StatusCodeToString(o.code);
  if (o.disposition) *os << " " << TestName(*o.disposition) << " rev=" << o.revision;
  for (const Change& c : o.changes) {
    *os << "\n  ";
    PrintTo(c, os);
  }
}

}  // namespace rollcall::state::test

#endif  // ROLLCALL_TESTS_STATE_RANDOM_INPUTS_H_
