#include "state/revision.h"

#include <algorithm>
#include <cstdlib>

#include "state/subscriptions.h"

namespace rollcall::state {

void RevisionDraft::Add(ChangeType type, Participant participant, ParticipantStatus previous) {
  participant.revision = number_;
  participant.date_updated = now_;
  changes_.push_back({number_, type, now_, std::move(participant), previous});
}

void RevisionDraft::Add(ChangeType type, Room room) {
  room.revision = number_;
  room.date_updated = now_;
  changes_.push_back({number_, type, now_, std::move(room), ParticipantStatus::kUnspecified});
}

void RevisionDraft::Add(ChangeType type, PublishedTrack track) {
  track.revision = number_;
  track.date_updated = now_;
  changes_.push_back({number_, type, now_, std::move(track), ParticipantStatus::kUnspecified});
}

void RevisionDraft::Add(ChangeType type, SubscribeRules rules) {
  rules.revision = number_;
  rules.date_updated = now_;
  changes_.push_back({number_, type, now_, std::move(rules), ParticipantStatus::kUnspecified});
}

const Participant& RevisionDraft::LastParticipant() const {
  auto last = std::find_if(changes_.rbegin(), changes_.rend(), [](const Change& change) {
    return std::holds_alternative<Participant>(change.resource);
  });
  if (last == changes_.rend()) std::abort();  // callers add a participant change first
  return std::get<Participant>(last->resource);
}

Outcome RevisionDraft::Applied() && {
  std::vector<Change> primary = std::move(changes_);
  changes_.clear();
  std::vector<Sid> rooms;  // touched, in order of first appearance
  auto touch = [&rooms](const Sid& room_sid) {
    if (std::find(rooms.begin(), rooms.end(), room_sid) == rooms.end()) rooms.push_back(room_sid);
  };
  for (Change& change : primary) {
    const auto* participant = std::get_if<Participant>(&change.resource);
    const bool departed = participant != nullptr && !participant->active() &&
                          (change.previous_status == ParticipantStatus::kConnected ||
                           change.previous_status == ParticipantStatus::kReconnecting);
    std::visit(
        [&touch](const auto& resource) {
          if constexpr (std::is_same_v<std::decay_t<decltype(resource)>, Room>) {
            touch(resource.sid);
          } else {
            touch(resource.room_sid);
          }
        },
        change.resource);
    const Participant left = departed ? *participant : Participant();
    changes_.push_back(std::move(change));
    if (!departed) continue;
    for (const PublishedTrack* track : roster_.PublishedTracks(left.room_sid)) {
      if (track->participant_sid != left.sid) continue;
      PublishedTrack unpublished = *track;
      unpublished.status = TrackStatus::kUnpublished;
      if (left.end_time) {
        unpublished.last_event_time = std::max(unpublished.last_event_time, *left.end_time);
      }
      Add(ChangeType::kTrackUnpublished, std::move(unpublished));
    }
  }
  for (const Sid& room_sid : rooms) {
    for (Change& change : SubscriptionChanges(roster_, room_sid, changes_, number_, now_)) {
      changes_.push_back(std::move(change));
    }
  }
  Outcome outcome;
  outcome.disposition = Disposition::kApplied;
  outcome.revision = number_;
  outcome.changes = std::move(changes_);
  return outcome;
}

const Room& LastRoom(const Outcome& outcome) {
  auto last = std::find_if(outcome.changes.rbegin(), outcome.changes.rend(), [](const Change& c) {
    return std::holds_alternative<Room>(c.resource);
  });
  if (last == outcome.changes.rend()) std::abort();  // callers add a room change
  return std::get<Room>(last->resource);
}

}  // namespace rollcall::state
