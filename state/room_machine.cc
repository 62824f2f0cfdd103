#include "state/room_machine.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "state/check.h"
#include "state/lookup.h"
#include "state/revision.h"
#include "state/status_macros.h"
#include "state/tracks.h"
#include "state/validation.h"

namespace rollcall::state {
namespace {

absl::string_view StatusName(ParticipantStatus status) {
  switch (status) {
    case ParticipantStatus::kConnected:
      return "CONNECTED";
    case ParticipantStatus::kReconnecting:
      return "RECONNECTING";
    case ParticipantStatus::kDisconnected:
      return "DISCONNECTED";
    case ParticipantStatus::kUnspecified:
      break;
  }
  return "UNSPECIFIED";
}

// Stale after a session ended (docs/decisions.md): an event for a DISCONNECTED participant
// dated before whatever ended its session (a newer CONNECTED of its identity, a kick, its
// room's end, a timer) was on its way before that end, so it is IGNORED rather than refused as
// a rejoin. A reconnect timeout ends the session when the window runs out, though end_time
// records when reconnecting began.
bool PredatesSessionEnd(const Participant& participant, absl::Time at, const Limits& limits) {
  if (participant.status != ParticipantStatus::kDisconnected || !participant.end_time) {
    return false;
  }
  absl::Time ended = *participant.end_time;
  if (participant.disconnect_reason == DisconnectReason::kReconnectTimeout) {
    ended += limits.reconnect_timeout;
  }
  return at < ended;
}

// Whole seconds of a non-negative span (floor).
int64_t WholeSeconds(absl::Duration span) { return absl::ToInt64Seconds(span); }

Participant Disconnected(const Participant& participant, absl::Time end, DisconnectReason reason) {
  Participant next = participant;
  next.status = ParticipantStatus::kDisconnected;
  next.end_time = std::max(end, participant.start_time);
  next.duration = WholeSeconds(*next.end_time - participant.start_time);
  next.disconnect_reason = reason;
  next.reconnecting_since.reset();
  return next;
}

Outcome Ignored(const RosterView& roster, const Participant* participant) {
  Outcome outcome;
  outcome.disposition = Disposition::kIgnored;
  outcome.revision = roster.revision();
  if (participant) outcome.participant = *participant;
  return outcome;
}

// Ends an ad-hoc room in the same revision when `departures` leave it with nobody active.
void EndAdHocRoomIfEmpty(const RosterView& roster, const Sid& room_sid, int32_t departures,
                         RevisionDraft& revision) {
  const Room* room = roster.FindRoom(room_sid);
  if (room == nullptr || !room->ad_hoc || room->status != RoomStatus::kInProgress) return;
  if (roster.Activity(room_sid).active - departures > 0) return;
  Room ended = *room;
  ended.status = RoomStatus::kCompleted;
  ended.end_time = std::max(revision.now(), room->date_created);
  ended.duration = WholeSeconds(*ended.end_time - room->date_created);
  revision.Add(ChangeType::kRoomEnded, std::move(ended));
}

// Ends a room: every active participant leaves with ROOM_ENDED, then the room completes.
Outcome EndRoomAt(const RosterView& roster, const Room& room, absl::Time end_time, absl::Time now) {
  RevisionDraft revision(roster, now);
  const absl::Time end = std::max(end_time, room.date_created);
  for (const Participant* participant : roster.ActiveParticipants(room.sid)) {
    revision.Add(ChangeType::kParticipantDisconnected,
                 Disconnected(*participant, end, DisconnectReason::kRoomEnded),
                 participant->status);
  }
  Room ended = room;
  ended.status = RoomStatus::kCompleted;
  ended.end_time = end;
  ended.duration = WholeSeconds(end - room.date_created);
  revision.Add(ChangeType::kRoomEnded, ended);
  Outcome outcome = std::move(revision).Applied();
  outcome.room = LastRoom(outcome);
  return outcome;
}

// Disconnects one active participant, ending its room too if that was an ad-hoc room's last.
Outcome DisconnectOne(const RosterView& roster, const Participant& participant, absl::Time end,
                      DisconnectReason reason, absl::Time now) {
  RevisionDraft revision(roster, now);
  revision.Add(ChangeType::kParticipantDisconnected, Disconnected(participant, end, reason),
               participant.status);
  Participant after = revision.LastParticipant();
  EndAdHocRoomIfEmpty(roster, participant.room_sid, 1, revision);
  Outcome outcome = std::move(revision).Applied();
  outcome.participant = std::move(after);
  return outcome;
}

Room NewRoom(const Sid& sid, const Sid& account_sid, std::string unique_name, const Limits& limits,
             absl::Time now) {
  Room room;
  room.sid = sid;
  room.account_sid = account_sid;
  room.unique_name = unique_name.empty() ? sid.ToString() : std::move(unique_name);
  room.status = RoomStatus::kInProgress;
  room.date_created = now;
  room.date_updated = now;
  room.max_participants = std::min(kDefaultMaxParticipants, limits.max_room_participants);
  room.max_participant_duration = kDefaultMaxParticipantDuration;
  room.empty_room_timeout = kDefaultRoomTimeout;
  room.unused_room_timeout = kDefaultRoomTimeout;
  room.status_callback_method = "POST";
  return room;
}

// The account's quotas (Limits::max_account_*), for a decision that would open a room and/or
// make one more participant active.
absl::Status CheckAccountQuotas(const RosterView& roster, const Sid& account_sid, bool new_room,
                                bool new_participant, absl::string_view field) {
  const AccountUsage usage = roster.Usage(account_sid);
  const Limits& limits = roster.limits();
  if (new_room && usage.rooms_in_progress >= limits.max_account_rooms) {
    return absl::ResourceExhaustedError(
        absl::StrCat(field, ": account ", account_sid.ToString(), " has ", usage.rooms_in_progress,
                     " rooms in progress, the most --max_account_rooms allows"));
  }
  if (new_participant && usage.active_participants >= limits.max_account_participants) {
    return absl::ResourceExhaustedError(absl::StrCat(
        field, ": account ", account_sid.ToString(), " has ", usage.active_participants,
        " active participants, the most --max_account_participants allows"));
  }
  return absl::OkStatus();
}

class Decider {
 public:
  Decider(const RosterView& roster, IdSource& ids, absl::Time now)
      : roster_(roster), ids_(ids), now_(now) {}

  absl::StatusOr<Outcome> operator()(const Event& event) {
    RETURN_IF_ERROR(ValidateEvent(event, roster_.limits(), now_));
    const uint64_t fingerprint = RoomMachine::Fingerprint(event);
    if (const std::optional<DedupeEntry> seen =
            roster_.FindDedupe(event.account_sid, event.event_id)) {
      if (seen->fingerprint != fingerprint) {
        return absl::AlreadyExistsError(absl::StrCat(
            "event.event_id: ", event.event_id,
            " was already used for a different event (applied in revision ", seen->revision, ")"));
      }
      Outcome outcome;
      outcome.disposition = Disposition::kDuplicate;
      outcome.revision = seen->revision;
      if (const Participant* p = roster_.FindParticipant(seen->participant_sid)) {
        outcome.participant = *p;
      }
      // A retry has the same content, so its track_sid names the track it applied to.
      if (std::optional<Sid> track = Sid::TryParse(event.track_sid, kTrackPrefix)) {
        if (const PublishedTrack* t = roster_.FindTrack(*track)) outcome.track = *t;
      }
      return outcome;
    }
    absl::StatusOr<Outcome> outcome = IsTrackEvent(event.type)
                                          ? DecideTrackEvent(roster_, event, now_)
                                      : event.type == EventType::kConnected ? Connected(event)
                                                                            : Transition(event);
    if (outcome.ok() && outcome->disposition == Disposition::kApplied) {
      outcome->dedupe = DedupeEntry{event.account_sid,
                                    event.event_id,
                                    fingerprint,
                                    outcome->revision,
                                    outcome->participant->sid,
                                    now_};
    }
    return outcome;
  }

  absl::StatusOr<Outcome> operator()(const KickParticipant& kick) {
    if (kick.status != ParticipantStatus::kDisconnected) {
      return absl::InvalidArgumentError(
          "status: only PARTICIPANT_STATUS_DISCONNECTED is accepted (it removes the participant)");
    }
    ASSIGN_OR_RETURN(const Participant* participant,
                     FindNamedParticipant(roster_, kick.account_sid, kick.room,
                                          kick.participant_sid, "room", "participant_sid"));
    if (!participant->active()) {
      return absl::FailedPreconditionError(
          absl::StrCat("status: participant ", kick.participant_sid, " is already DISCONNECTED"));
    }
    return DisconnectOne(roster_, *participant, now_, DisconnectReason::kRemoved, now_);
  }

  absl::StatusOr<Outcome> operator()(const AnonymizeParticipant& command) {
    ASSIGN_OR_RETURN(const Participant* participant,
                     FindNamedParticipant(roster_, command.account_sid, command.room,
                                          command.participant_sid, "room", "participant_sid"));
    if (participant->active()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "participant_sid: participant ", command.participant_sid, " is ",
          StatusName(participant->status), "; only DISCONNECTED participants can be anonymized"));
    }
    std::string anonymous = participant->sid.ToString();
    if (participant->identity == anonymous) return Ignored(roster_, participant);
    RevisionDraft revision(roster_, now_);
    Participant next = *participant;
    next.identity = std::move(anonymous);
    revision.Add(ChangeType::kParticipantAnonymized, std::move(next), participant->status);
    Participant after = revision.LastParticipant();
    Outcome outcome = std::move(revision).Applied();
    outcome.participant = std::move(after);
    return outcome;
  }

  absl::StatusOr<Outcome> operator()(const CreateRoom& command) {
    RETURN_IF_ERROR(ValidateCreateRoom(command, roster_.limits()));
    const Sid sid = ids_.NewSid(kRoomPrefix);
    Room room = NewRoom(sid, command.account_sid, command.unique_name, roster_.limits(), now_);
    if (roster_.FindInProgressRoomByName(command.account_sid, room.unique_name) != nullptr) {
      return absl::AlreadyExistsError(absl::StrCat("unique_name: an in-progress room named ",
                                                   room.unique_name, " already exists"));
    }
    RETURN_IF_ERROR(CheckAccountQuotas(roster_, command.account_sid, /*new_room=*/true,
                                       /*new_participant=*/false, "unique_name"));
    room.max_participants = command.max_participants.value_or(room.max_participants);
    room.max_participant_duration =
        command.max_participant_duration.value_or(room.max_participant_duration);
    room.empty_room_timeout = command.empty_room_timeout.value_or(room.empty_room_timeout);
    room.unused_room_timeout = command.unused_room_timeout.value_or(room.unused_room_timeout);
    room.status_callback = command.status_callback;
    if (!command.status_callback_method.empty()) {
      room.status_callback_method = command.status_callback_method;
    }
    RevisionDraft revision(roster_, now_);
    revision.Add(ChangeType::kRoomCreated, std::move(room));
    Outcome outcome = std::move(revision).Applied();
    outcome.room = LastRoom(outcome);
    return outcome;
  }

  absl::StatusOr<Outcome> operator()(const EndRoom& command) {
    if (command.status != RoomStatus::kCompleted) {
      return absl::InvalidArgumentError(
          "status: only ROOM_STATUS_COMPLETED is accepted (it ends the room)");
    }
    ASSIGN_OR_RETURN(const Room* room,
                     FindRoomByReference(roster_, command.account_sid, command.room, "room"));
    if (room->status != RoomStatus::kInProgress) {
      return absl::FailedPreconditionError(
          absl::StrCat("room: room ", command.room, " is already completed"));
    }
    return EndRoomAt(roster_, *room, now_, now_);
  }

  absl::StatusOr<Outcome> operator()(const UpdateSubscribeRules& command) {
    return DecideUpdateSubscribeRules(roster_, command, now_);
  }

  absl::StatusOr<Outcome> operator()(const FireTimer& fire) {
    const Timer& timer = fire.timer;
    if (timer.deadline > now_) {
      return absl::FailedPreconditionError("timer: is not due yet");
    }
    const absl::Status stale = absl::FailedPreconditionError("timer: is no longer pending");
    switch (timer.kind) {
      case TimerKind::kReconnectTimeout:
      case TimerKind::kSessionLimit: {
        const Participant* participant = roster_.FindParticipant(timer.sid);
        if (participant == nullptr || !IsPending(roster_.TimersOf(*participant), timer)) {
          return stale;
        }
        if (timer.kind == TimerKind::kReconnectTimeout) {
          ROLLCALL_CHECK(participant->reconnecting_since.has_value(),
                         "a pending reconnect timer implies a RECONNECTING participant");
          return DisconnectOne(roster_, *participant, *participant->reconnecting_since,
                               DisconnectReason::kReconnectTimeout, now_);
        }
        const Room* room = roster_.FindRoom(participant->room_sid);
        ROLLCALL_CHECK(room != nullptr, "every participant's room is in the roster");
        return DisconnectOne(
            roster_, *participant,
            participant->start_time + absl::Seconds(room->max_participant_duration),
            DisconnectReason::kSessionLimit, now_);
      }
      case TimerKind::kRoomIdle:
      case TimerKind::kRoomMaxDuration: {
        const Room* room = roster_.FindRoom(timer.sid);
        if (room == nullptr || !IsPending(roster_.TimersOf(*room), timer)) return stale;
        return EndRoomAt(roster_, *room, timer.deadline, now_);
      }
    }
    return absl::InvalidArgumentError("timer: unknown kind");
  }

 private:
  static bool IsPending(const std::vector<Timer>& timers, const Timer& timer) {
    return std::find(timers.begin(), timers.end(), timer) != timers.end();
  }

  absl::StatusOr<Outcome> Connected(const Event& event) {
    const Room* room = nullptr;
    std::optional<Sid> named_sid;
    if (LooksLikeRoomSid(event.room)) {
      ASSIGN_OR_RETURN(named_sid, Sid::Parse(event.room, kRoomPrefix, "event.room"));
      room = roster_.FindRoom(*named_sid);
      if (room != nullptr && room->account_sid != event.account_sid) {
        // PERMISSION_DENIED, not ALREADY_EXISTS: SIDs are global, and one account may not
        // name another's resources (docs/security.md).
        return absl::PermissionDeniedError(
            absl::StrCat("event.room: room SID ", event.room, " belongs to another account"));
      }
    } else {
      room = roster_.FindInProgressRoomByName(event.account_sid, event.room);
    }
    // An existing SID is IGNORED whatever its status (docs/api.md, state table), so this comes
    // before the completed-room check: a disconnected session's ad-hoc room has usually completed.
    std::optional<Sid> chosen_sid;
    if (!event.participant_sid.empty()) {
      ASSIGN_OR_RETURN(chosen_sid, Sid::Parse(event.participant_sid, kParticipantPrefix,
                                              "event.participant_sid"));
      if (const Participant* existing = roster_.FindParticipant(*chosen_sid)) {
        if (existing->account_sid != event.account_sid) {
          return absl::PermissionDeniedError(absl::StrCat(
              "event.participant_sid: ", event.participant_sid, " belongs to another account"));
        }
        if (!InRoom(roster_, *existing, event.room)) {
          return absl::FailedPreconditionError(absl::StrCat("event.participant_sid: participant ",
                                                            event.participant_sid,
                                                            " already exists in another room"));
        }
        return Ignored(roster_, existing);
      }
    }
    if (room != nullptr && room->status != RoomStatus::kInProgress) {
      return absl::FailedPreconditionError(
          absl::StrCat("event.room: room ", event.room, " is completed; nobody can join it"));
    }

    const Participant* replaced =
        room != nullptr ? roster_.FindActiveByIdentity(room->sid, event.identity) : nullptr;
    if (room != nullptr) {
      const int32_t active = roster_.Activity(room->sid).active - (replaced != nullptr ? 1 : 0);
      if (active >= room->max_participants) {
        return absl::ResourceExhaustedError(absl::StrCat("event.room: room ", event.room,
                                                         " is full (max_participants ",
                                                         room->max_participants, ")"));
      }
    }
    RETURN_IF_ERROR(CheckAccountQuotas(roster_, event.account_sid, room == nullptr,
                                       replaced == nullptr, "event.room"));

    RevisionDraft revision(roster_, now_);
    Sid room_sid;
    if (room != nullptr) {
      room_sid = room->sid;
    } else {
      room_sid = named_sid ? *named_sid : ids_.NewSid(kRoomPrefix);
      Room created =
          NewRoom(room_sid, event.account_sid, named_sid ? "" : event.room, roster_.limits(), now_);
      created.ad_hoc = true;
      revision.Add(ChangeType::kRoomCreated, std::move(created));
    }
    if (replaced != nullptr) {
      ROLLCALL_CHECK(event.occurred_at.has_value(), "validation requires occurred_at");
      revision.Add(
          ChangeType::kParticipantDisconnected,
          Disconnected(*replaced, *event.occurred_at, DisconnectReason::kDuplicateIdentity),
          replaced->status);
    }
    Participant participant;
    participant.sid = chosen_sid ? *chosen_sid : ids_.NewSid(kParticipantPrefix);
    participant.account_sid = event.account_sid;
    participant.room_sid = room_sid;
    participant.identity = event.identity;
    participant.status = ParticipantStatus::kConnected;
    participant.date_created = now_;
    participant.start_time = *event.occurred_at;
    participant.last_event_time = *event.occurred_at;
    revision.Add(ChangeType::kParticipantConnected, std::move(participant),
                 ParticipantStatus::kUnspecified);
    Participant after = revision.LastParticipant();
    Outcome outcome = std::move(revision).Applied();
    outcome.participant = std::move(after);
    return outcome;
  }

  absl::StatusOr<Outcome> Transition(const Event& event) {
    ASSIGN_OR_RETURN(
        const Participant* participant,
        FindNamedParticipant(roster_, event.account_sid, event.room, event.participant_sid,
                             "event.room", "event.participant_sid"));
    ROLLCALL_CHECK(event.occurred_at.has_value(), "validation requires occurred_at");
    const absl::Time at = *event.occurred_at;
    const bool stale = at < participant->last_event_time;
    const ParticipantStatus status = participant->status;

    if (event.type == EventType::kDisconnected) {
      // Terminal: applies to a live session even when reordered behind a later event.
      if (!participant->active()) return Ignored(roster_, participant);
      const DisconnectReason reason = event.reason == DisconnectReason::kUnspecified
                                          ? DisconnectReason::kClientInitiated
                                          : event.reason;
      Outcome outcome = DisconnectOne(roster_, *participant, at, reason, now_);
      SetLastEventTime(outcome, std::max(at, participant->last_event_time));
      return outcome;
    }
    if (stale || PredatesSessionEnd(*participant, at, roster_.limits())) {
      return Ignored(roster_, participant);
    }
    if (status == ParticipantStatus::kDisconnected) {
      return absl::FailedPreconditionError(absl::StrCat(
          "event.type: participant ", event.participant_sid,
          " is DISCONNECTED; rejoining needs a new session (a new PARTICIPANT_CONNECTED)"));
    }
    const bool reconnecting = event.type == EventType::kReconnecting;
    if (reconnecting == (status == ParticipantStatus::kReconnecting)) {
      return Ignored(roster_, participant);  // already in the state the event reports
    }
    RevisionDraft revision(roster_, now_);
    Participant next = *participant;
    next.status = reconnecting ? ParticipantStatus::kReconnecting : ParticipantStatus::kConnected;
    next.reconnecting_since = reconnecting ? std::optional<absl::Time>(at) : std::nullopt;
    next.last_event_time = at;
    revision.Add(
        reconnecting ? ChangeType::kParticipantReconnecting : ChangeType::kParticipantReconnected,
        std::move(next), status);
    Participant after = revision.LastParticipant();
    Outcome outcome = std::move(revision).Applied();
    outcome.participant = std::move(after);
    return outcome;
  }

  // Records the applied event's time on the subject participant, in its change too.
  static void SetLastEventTime(Outcome& outcome, absl::Time at) {
    outcome.participant->last_event_time = at;
    for (Change& change : outcome.changes) {
      if (auto* p = std::get_if<Participant>(&change.resource);
          p != nullptr && p->sid == outcome.participant->sid) {
        p->last_event_time = at;
      }
    }
  }

  const RosterView& roster_;
  IdSource& ids_;
  absl::Time now_;
};

}  // namespace

absl::StatusOr<Outcome> RoomMachine::Decide(const RosterView& roster, const Input& input,
                                            absl::Time now) const {
  return std::visit(Decider(roster, ids_, now), input);
}

uint64_t RoomMachine::Fingerprint(const Event& event) {
  uint64_t hash = kStableHashSeed;
  hash =
      StableHash(absl::StrCat(static_cast<int>(event.type), ":", static_cast<int>(event.reason),
                              ":", event.occurred_at ? absl::ToUnixNanos(*event.occurred_at) : 0),
                 hash);
  hash = StableHash(event.room, hash);
  hash = StableHash(event.participant_sid, hash);
  hash = StableHash(event.identity, hash);
  if (IsTrackEvent(event.type)) {
    hash = StableHash(event.track_sid, hash);
    hash = StableHash(event.track_name, hash);
    hash =
        StableHash(absl::StrCat(static_cast<int>(event.track_kind), ":",
                                event.track_enabled ? static_cast<int>(*event.track_enabled) : -1),
                   hash);
  }
  return hash;
}

}  // namespace rollcall::state
