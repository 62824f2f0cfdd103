#include "state/tracks.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "state/lookup.h"
#include "state/revision.h"
#include "state/status_macros.h"
#include "state/subscriptions.h"

namespace rollcall::state {
namespace {

Outcome Ignored(const RosterView& roster, const Participant& participant,
                const PublishedTrack* track) {
  Outcome outcome;
  outcome.disposition = Disposition::kIgnored;
  outcome.revision = roster.revision();
  outcome.participant = participant;
  if (track != nullptr) outcome.track = *track;
  return outcome;
}

// Finishes a revision whose last change is the subject track's.
Outcome AppliedTrack(RevisionDraft revision, const Participant& participant) {
  Outcome outcome = std::move(revision).Applied();
  for (const Change& change : outcome.changes) {
    if (const auto* track = std::get_if<PublishedTrack>(&change.resource)) {
      outcome.track = *track;
      break;
    }
  }
  outcome.participant = participant;
  return outcome;
}

absl::StatusOr<Outcome> Publish(const RosterView& roster, const Event& event,
                                const Participant& participant, const Sid& track_sid,
                                absl::Time now) {
  const absl::Time at = *event.occurred_at;
  if (!participant.active()) {
    // Published before the participant left: the departure already ended it.
    if (participant.end_time && at <= *participant.end_time) {
      return Ignored(roster, participant, nullptr);
    }
    return absl::FailedPreconditionError(
        absl::StrCat("event.participant_sid: participant ", event.participant_sid,
                     " is DISCONNECTED; only active participants publish tracks"));
  }
  int32_t published = 0;
  for (const PublishedTrack* track : roster.PublishedTracks(participant.room_sid)) {
    if (track->participant_sid != participant.sid) continue;
    ++published;
    if (track->name == event.track_name) {
      return absl::AlreadyExistsError(absl::StrCat(
          "event.track_name: participant ", event.participant_sid,
          " already publishes a track named ", event.track_name, " (", track->sid.ToString(), ")"));
    }
  }
  const int32_t limit = roster.limits().max_tracks_per_participant;
  if (published >= limit) {
    return absl::ResourceExhaustedError(
        absl::StrCat("event.track_sid: participant ", event.participant_sid, " already publishes ",
                     published, " tracks (max_tracks_per_participant ", limit, ")"));
  }
  PublishedTrack track;
  track.sid = track_sid;
  track.account_sid = participant.account_sid;
  track.room_sid = participant.room_sid;
  track.participant_sid = participant.sid;
  track.name = event.track_name;
  track.kind = event.track_kind;
  track.enabled = event.track_enabled.value_or(true);
  track.status = TrackStatus::kPublished;
  track.date_created = now;
  track.last_event_time = at;
  RevisionDraft revision(roster, now);
  revision.Add(ChangeType::kTrackPublished, std::move(track));
  return AppliedTrack(std::move(revision), participant);
}

}  // namespace

absl::StatusOr<Outcome> DecideTrackEvent(const RosterView& roster, const Event& event,
                                         absl::Time now) {
  ASSIGN_OR_RETURN(
      const Participant* participant,
      FindNamedParticipant(roster, event.account_sid, event.room, event.participant_sid,
                           "event.room", "event.participant_sid"));
  ASSIGN_OR_RETURN(const Sid track_sid,
                   Sid::Parse(event.track_sid, kTrackPrefix, "event.track_sid"));
  const PublishedTrack* track = roster.FindTrack(track_sid);
  if (track != nullptr && track->account_sid != event.account_sid) {
    return absl::AlreadyExistsError(
        absl::StrCat("event.track_sid: ", event.track_sid, " is in use by another account"));
  }
  if (track != nullptr && track->participant_sid != participant->sid) {
    return absl::FailedPreconditionError(
        absl::StrCat("event.track_sid: track ", event.track_sid, " belongs to participant ",
                     track->participant_sid.ToString(), ", not ", event.participant_sid));
  }
  if (event.type == EventType::kTrackPublished) {
    if (track != nullptr) return Ignored(roster, *participant, track);  // same SID again
    return Publish(roster, event, *participant, track_sid, now);
  }
  if (track == nullptr) {
    return absl::NotFoundError(absl::StrCat("event.track_sid: participant ", event.participant_sid,
                                            " has no track ", event.track_sid));
  }
  const absl::Time at = *event.occurred_at;
  PublishedTrack next = *track;
  ChangeType type = ChangeType::kTrackUnpublished;
  if (event.type == EventType::kTrackUnpublished) {
    // Terminal, like DISCONNECTED: applies to a published track even when reordered.
    if (!track->published()) return Ignored(roster, *participant, track);
    next.status = TrackStatus::kUnpublished;
    next.last_event_time = std::max(at, track->last_event_time);
  } else {
    if (at < track->last_event_time) return Ignored(roster, *participant, track);  // stale
    if (!track->published()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "event.track_sid: track ", event.track_sid,
          " is UNPUBLISHED; publishing it again needs a new track SID (a new TRACK_PUBLISHED)"));
    }
    const bool enable = event.type == EventType::kTrackEnabled;
    if (track->enabled == enable) return Ignored(roster, *participant, track);
    next.enabled = enable;
    next.last_event_time = at;
    type = enable ? ChangeType::kTrackEnabled : ChangeType::kTrackDisabled;
  }
  RevisionDraft revision(roster, now);
  revision.Add(type, std::move(next));
  return AppliedTrack(std::move(revision), *participant);
}

absl::StatusOr<Outcome> DecideUpdateSubscribeRules(const RosterView& roster,
                                                   const UpdateSubscribeRules& command,
                                                   absl::Time now) {
  RETURN_IF_ERROR(ValidateSubscribeRules(command.rules));
  ASSIGN_OR_RETURN(const Participant* participant,
                   FindNamedParticipant(roster, command.account_sid, command.room,
                                        command.participant_sid, "room", "participant_sid"));
  if (!participant->active()) {
    return absl::FailedPreconditionError(
        absl::StrCat("participant_sid: participant ", command.participant_sid,
                     " is DISCONNECTED; only active participants' rules can change"));
  }
  SubscribeRules next = EffectiveRules(roster, *participant);
  if (next.rules == command.rules) {
    Outcome outcome = Ignored(roster, *participant, nullptr);
    outcome.rules = std::move(next);
    return outcome;
  }
  if (roster.FindRules(participant->sid) == nullptr) next.date_created = now;
  next.rules = command.rules;
  RevisionDraft revision(roster, now);
  revision.Add(ChangeType::kSubscribeRulesUpdated, std::move(next));
  Outcome outcome = std::move(revision).Applied();
  outcome.rules = std::get<SubscribeRules>(outcome.changes.front().resource);
  outcome.participant = *participant;
  return outcome;
}

}  // namespace rollcall::state
