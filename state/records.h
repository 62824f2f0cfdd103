// The domain records of docs/api.md as plain structs: participants, rooms, the inputs that
// change them (media events and commands) and the changes they produce. No protobuf here; the
// service and the store each convert in one place. Enum values equal their rollcall.v1
// counterparts so the conversion is a range check and a cast.
#ifndef ROLLCALL_STATE_RECORDS_H_
#define ROLLCALL_STATE_RECORDS_H_

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/time/time.h"
#include "state/sid.h"

namespace rollcall::state {

enum class ParticipantStatus : uint8_t {
  kUnspecified = 0,
  kConnected = 1,
  kReconnecting = 2,
  kDisconnected = 3,
};
inline constexpr int kMaxParticipantStatus = 3;

enum class DisconnectReason : uint8_t {
  kUnspecified = 0,  // still active
  kClientInitiated = 1,
  kDuplicateIdentity = 2,
  kRemoved = 3,
  kReconnectTimeout = 4,
  kSessionLimit = 5,
  kRoomEnded = 6,
};
inline constexpr int kMaxDisconnectReason = 6;

enum class RoomStatus : uint8_t {
  kUnspecified = 0,
  kInProgress = 1,
  kCompleted = 2,
  kFailed = 3,
};
inline constexpr int kMaxRoomStatus = 3;

enum class EventType : uint8_t {
  kUnspecified = 0,
  kConnected = 1,
  kReconnecting = 2,
  kReconnected = 3,
  kDisconnected = 4,
  kTrackPublished = 5,
  kTrackUnpublished = 6,
  kTrackEnabled = 7,
  kTrackDisabled = 8,
};
inline constexpr int kMaxEventType = 8;

inline bool IsTrackEvent(EventType type) { return type >= EventType::kTrackPublished; }

enum class TrackKind : uint8_t {
  kUnspecified = 0,
  kAudio = 1,
  kVideo = 2,
  kData = 3,
};
inline constexpr int kMaxTrackKind = 3;

enum class TrackStatus : uint8_t {
  kUnspecified = 0,
  kPublished = 1,
  kUnpublished = 2,
};
inline constexpr int kMaxTrackStatus = 2;

enum class RuleType : uint8_t {
  kUnspecified = 0,
  kInclude = 1,
  kExclude = 2,
};
inline constexpr int kMaxRuleType = 2;

enum class ChangeType : uint8_t {
  kUnspecified = 0,
  kRoomCreated = 1,
  kRoomEnded = 2,
  kParticipantConnected = 3,
  kParticipantReconnecting = 4,
  kParticipantReconnected = 5,
  kParticipantDisconnected = 6,
  kParticipantAnonymized = 7,
  kTrackPublished = 8,
  kTrackUnpublished = 9,
  kTrackEnabled = 10,
  kTrackDisabled = 11,
  kSubscribeRulesUpdated = 12,
  kSubscribedTrackAdded = 13,
  kSubscribedTrackRemoved = 14,
  kSubscribedTrackUpdated = 15,
};
inline constexpr int kMaxChangeType = 15;

// What a well-formed input did (docs/api.md, state table).
enum class Disposition : uint8_t {
  kApplied = 1,    // state changed under a new revision
  kDuplicate = 2,  // the event_id was applied before; its original result is returned
  kIgnored = 3,    // stale or a no-op; nothing changed
};

// One participant session. Times are absolute; `duration` is whole seconds.
struct Participant {
  Sid sid;
  Sid account_sid;
  Sid room_sid;
  std::string identity;
  ParticipantStatus status = ParticipantStatus::kUnspecified;
  absl::Time date_created;  // server time
  absl::Time date_updated;  // server time
  absl::Time start_time;    // the CONNECTED event's occurred_at
  std::optional<absl::Time> end_time;
  std::optional<int64_t> duration;
  DisconnectReason disconnect_reason = DisconnectReason::kUnspecified;
  uint64_t revision = 0;
  // Not in the API. occurred_at of the newest media event applied: older ones are stale.
  absl::Time last_event_time;
  // Not in the API. When the current RECONNECTING spell began (its occurred_at).
  std::optional<absl::Time> reconnecting_since;

  bool active() const {
    return status == ParticipantStatus::kConnected || status == ParticipantStatus::kReconnecting;
  }
  friend bool operator==(const Participant&, const Participant&) = default;
};

struct Room {
  Sid sid;
  Sid account_sid;
  std::string unique_name;
  RoomStatus status = RoomStatus::kUnspecified;
  absl::Time date_created;
  absl::Time date_updated;
  std::optional<absl::Time> end_time;
  std::optional<int64_t> duration;  // whole seconds, set when the room ends
  int32_t max_participants = 0;
  int64_t max_participant_duration = 0;  // seconds
  int32_t empty_room_timeout = 0;        // minutes
  int32_t unused_room_timeout = 0;       // minutes
  std::string status_callback;
  std::string status_callback_method;
  bool ad_hoc = false;  // created by a CONNECTED event rather than CreateRoom
  uint64_t revision = 0;

  friend bool operator==(const Room&, const Room&) = default;
};

// A track a participant publishes (docs/tracks.md). Kept after it is unpublished, like a
// disconnected participant, until its room is forgotten (--retention).
struct PublishedTrack {
  Sid sid;  // MT…, chosen by the media server
  Sid account_sid;
  Sid room_sid;
  Sid participant_sid;
  std::string name;  // unique among the participant's published tracks
  TrackKind kind = TrackKind::kUnspecified;
  bool enabled = true;
  TrackStatus status = TrackStatus::kUnspecified;
  absl::Time date_created;  // server time
  absl::Time date_updated;  // server time
  uint64_t revision = 0;
  // Not in the API. occurred_at of the newest event applied to the track: older ones are stale.
  absl::Time last_event_time;

  bool published() const { return status == TrackStatus::kPublished; }
  friend bool operator==(const PublishedTrack&, const PublishedTrack&) = default;
};

// One subscribe rule. Unset filters (kind kUnspecified, empty publisher or track, all false)
// do not constrain; the set filters are ANDed.
struct SubscribeRule {
  RuleType type = RuleType::kUnspecified;
  bool all = false;
  TrackKind kind = TrackKind::kUnspecified;
  std::string publisher;  // identity or PA…
  std::string track;      // name or MT…

  friend bool operator==(const SubscribeRule&, const SubscribeRule&) = default;
};

// A participant's subscribe rules. A participant without a stored set has the default one,
// [{type: include, all: true}] (DefaultSubscribeRules in state/subscriptions.h).
struct SubscribeRules {
  Sid participant_sid;
  Sid account_sid;
  Sid room_sid;
  std::vector<SubscribeRule> rules;
  absl::Time date_created;
  absl::Time date_updated;
  uint64_t revision = 0;

  friend bool operator==(const SubscribeRules&, const SubscribeRules&) = default;
};

// A track a participant receives: derived from the published tracks, the room's active
// participants and the subscriber's rules, never reported.
struct SubscribedTrack {
  Sid sid;              // the published track's
  Sid participant_sid;  // the subscriber
  Sid publisher_sid;
  Sid account_sid;
  Sid room_sid;
  std::string name;
  TrackKind kind = TrackKind::kUnspecified;
  bool enabled = true;
  absl::Time date_created;  // when the subscription began
  absl::Time date_updated;
  uint64_t revision = 0;

  friend bool operator==(const SubscribedTrack&, const SubscribedTrack&) = default;
};

// A media server's report (docs/api.md, state table). Strings are as received; the machine parses
// them.
struct Event {
  Sid account_sid;  // resolved by the edge: the named account or the default one
  std::string event_id;
  EventType type = EventType::kUnspecified;
  std::optional<absl::Time> occurred_at;
  std::string room;             // SID or unique name
  std::string participant_sid;  // may be empty on CONNECTED
  std::string identity;
  DisconnectReason reason = DisconnectReason::kUnspecified;
  // Track events only (TRACK_*). Name, kind and enabled are read on TRACK_PUBLISHED.
  std::string track_sid;
  std::string track_name;
  TrackKind track_kind = TrackKind::kUnspecified;
  std::optional<bool> track_enabled;  // unset: enabled
};

// UpdateSubscribeRules: replaces the participant's whole set.
struct UpdateSubscribeRules {
  Sid account_sid;
  std::string room;
  std::string participant_sid;
  std::vector<SubscribeRule> rules;
};

// UpdateParticipant: only status=DISCONNECTED (a kick) is a valid request.
struct KickParticipant {
  Sid account_sid;
  std::string room;
  std::string participant_sid;
  ParticipantStatus status = ParticipantStatus::kUnspecified;
};

struct AnonymizeParticipant {
  Sid account_sid;
  std::string room;
  std::string participant_sid;
};

struct CreateRoom {
  Sid account_sid;
  std::string unique_name;  // empty: the room's SID is its name, as in Twilio
  std::optional<int32_t> max_participants;
  std::optional<int64_t> max_participant_duration;
  std::optional<int32_t> empty_room_timeout;
  std::optional<int32_t> unused_room_timeout;
  std::string status_callback;
  std::string status_callback_method;
};

// UpdateRoom: only status=COMPLETED (ending the room) is a valid request.
struct EndRoom {
  Sid account_sid;
  std::string room;
  RoomStatus status = RoomStatus::kUnspecified;
};

// What a timer does when it fires (docs/api.md, resources and state table).
enum class TimerKind : uint8_t {
  kReconnectTimeout = 1,  // participant: RECONNECTING for too long
  kSessionLimit = 2,      // participant: max_participant_duration reached
  kRoomIdle = 3,          // created room: empty_room_timeout or unused_room_timeout
  kRoomMaxDuration = 4,   // any room: --max_room_duration reached
};

// A deadline derived from a record. Timers are never stored on their own: they follow from
// the records, so persisting the records persists the timers.
struct Timer {
  absl::Time deadline;
  TimerKind kind = TimerKind::kReconnectTimeout;
  Sid sid;  // the participant or room it belongs to

  friend std::strong_ordering operator<=>(const Timer&, const Timer&) = default;
  friend bool operator==(const Timer&, const Timer&) = default;
};

// Asks the machine to fire one due timer, as returned by Roster::NextTimer.
struct FireTimer {
  Timer timer;
};

using Input = std::variant<Event, KickParticipant, AnonymizeParticipant, CreateRoom, EndRoom,
                           FireTimer, UpdateSubscribeRules>;

// One change inside a revision: the resource after it, and for participants the status before.
struct Change {
  uint64_t revision = 0;
  ChangeType type = ChangeType::kUnspecified;
  absl::Time time;  // server time
  std::variant<Participant, Room, PublishedTrack, SubscribeRules, SubscribedTrack> resource;
  ParticipantStatus previous_status = ParticipantStatus::kUnspecified;

  friend bool operator==(const Change&, const Change&) = default;
};

// Remembers an applied event_id (per account) for --dedupe_window.
struct DedupeEntry {
  Sid account_sid;
  std::string event_id;
  uint64_t fingerprint = 0;  // of the event's content, to tell a retry from a reused id
  uint64_t revision = 0;     // the revision the event was applied in
  Sid participant_sid;       // the participant it applied to
  absl::Time recorded_at;    // server time

  friend bool operator==(const DedupeEntry&, const DedupeEntry&) = default;
};

// The result of deciding one input. For kApplied, `changes` holds everything the revision
// does, in order; committing them is all there is to applying the outcome.
struct Outcome {
  Disposition disposition = Disposition::kIgnored;
  // kApplied: the new revision. kDuplicate: the original one. kIgnored: the current one.
  uint64_t revision = 0;
  std::optional<Participant> participant;  // the subject participant, after the change
  std::optional<Room> room;                // the subject room (room commands), after the change
  std::optional<PublishedTrack> track;     // the subject track (track events), after the change
  std::optional<SubscribeRules> rules;     // UpdateSubscribeRules: the set after the change
  std::vector<Change> changes;
  std::optional<DedupeEntry> dedupe;  // kApplied events: the key to remember
};

}  // namespace rollcall::state

#endif  // ROLLCALL_STATE_RECORDS_H_
