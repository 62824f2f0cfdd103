#include "state/pending_roster.h"

#include <algorithm>
#include <variant>

namespace rollcall::state {

const Room* PendingRoster::FindRoom(const Sid& room_sid) const {
  auto it = rooms_.find(room_sid);
  return it != rooms_.end() ? &it->second : base_->FindRoom(room_sid);
}

const Room* PendingRoster::FindInProgressRoomByName(const Sid& account_sid,
                                                    absl::string_view name) const {
  auto it = in_progress_by_name_.find(NameView(account_sid, name));
  if (it != in_progress_by_name_.end()) return &rooms_.at(it->second);
  const Room* base = base_->FindInProgressRoomByName(account_sid, name);
  // A base room changed in this batch is in progress here only if indexed above.
  return base != nullptr && !rooms_.contains(base->sid) ? base : nullptr;
}

const Participant* PendingRoster::FindParticipant(const Sid& participant_sid) const {
  auto it = participants_.find(participant_sid);
  return it != participants_.end() ? &it->second : base_->FindParticipant(participant_sid);
}

const Participant* PendingRoster::FindActiveByIdentity(const Sid& room_sid,
                                                       absl::string_view identity) const {
  auto it = active_by_identity_.find(NameView(room_sid, identity));
  if (it != active_by_identity_.end()) return &participants_.at(it->second);
  const Participant* base = base_->FindActiveByIdentity(room_sid, identity);
  return base != nullptr && !participants_.contains(base->sid) ? base : nullptr;
}

RoomActivity PendingRoster::Activity(const Sid& room_sid) const {
  auto it = activity_.find(room_sid);
  return it != activity_.end() ? it->second : base_->Activity(room_sid);
}

AccountUsage PendingRoster::Usage(const Sid& account_sid) const {
  auto it = usage_.find(account_sid);
  return it != usage_.end() ? it->second : base_->Usage(account_sid);
}

std::vector<const Participant*> PendingRoster::ActiveParticipants(const Sid& room_sid) const {
  std::vector<const Participant*> active;
  for (const Participant* participant : base_->ActiveParticipants(room_sid)) {
    if (!participants_.contains(participant->sid)) active.push_back(participant);
  }
  for (const auto& [sid, participant] : participants_) {
    if (participant.room_sid == room_sid && participant.active()) active.push_back(&participant);
  }
  std::sort(active.begin(), active.end(), [](const Participant* a, const Participant* b) {
    return std::tie(a->date_created, a->sid) < std::tie(b->date_created, b->sid);
  });
  return active;
}

std::optional<DedupeEntry> PendingRoster::FindDedupe(const Sid& account_sid,
                                                     absl::string_view event_id) const {
  auto it = dedupe_.find(NameView(account_sid, event_id));
  if (it != dedupe_.end()) return it->second;
  return base_->FindDedupe(account_sid, event_id);
}

const PublishedTrack* PendingRoster::FindTrack(const Sid& track_sid) const {
  auto it = tracks_.find(track_sid);
  return it != tracks_.end() ? &it->second : base_->FindTrack(track_sid);
}

std::vector<const PublishedTrack*> PendingRoster::PublishedTracks(const Sid& room_sid) const {
  std::vector<const PublishedTrack*> published;
  for (const PublishedTrack* track : base_->PublishedTracks(room_sid)) {
    if (!tracks_.contains(track->sid)) published.push_back(track);
  }
  if (auto touched = track_rooms_.find(room_sid); touched != track_rooms_.end()) {
    for (const Sid& sid : touched->second) {
      const PublishedTrack& track = tracks_.at(sid);
      if (track.published()) published.push_back(&track);
    }
  }
  std::sort(published.begin(), published.end(),
            [](const PublishedTrack* a, const PublishedTrack* b) {
              return std::tie(a->date_created, a->sid) < std::tie(b->date_created, b->sid);
            });
  return published;
}

const SubscribeRules* PendingRoster::FindRules(const Sid& participant_sid) const {
  auto it = rules_.find(participant_sid);
  return it != rules_.end() ? &it->second : base_->FindRules(participant_sid);
}

std::vector<const SubscribedTrack*> PendingRoster::SubscribedTracks(
    const Sid& subscriber_sid) const {
  auto it = subscriptions_.find(subscriber_sid);
  if (it == subscriptions_.end()) return base_->SubscribedTracks(subscriber_sid);
  std::vector<const SubscribedTrack*> subscribed;
  subscribed.reserve(it->second.size());
  for (const SubscribedTrack& s : it->second) subscribed.push_back(&s);
  return subscribed;
}

void PendingRoster::Subscribe(const SubscribedTrack& subscribed, bool removed) {
  auto [it, inserted] = subscriptions_.try_emplace(subscribed.participant_sid);
  std::vector<SubscribedTrack>& set = it->second;
  if (inserted) {
    for (const SubscribedTrack* s : base_->SubscribedTracks(subscribed.participant_sid)) {
      set.push_back(*s);
    }
  }
  auto at = std::lower_bound(set.begin(), set.end(), subscribed.sid,
                             [](const SubscribedTrack& s, const Sid& sid) { return s.sid < sid; });
  const bool present = at != set.end() && at->sid == subscribed.sid;
  if (removed) {
    if (present) set.erase(at);
  } else if (present) {
    *at = subscribed;
  } else {
    set.insert(at, subscribed);
  }
}

void PendingRoster::Commit(const Outcome& outcome) {
  for (const Change& change : outcome.changes) {
    if (const auto* s = std::get_if<SubscribedTrack>(&change.resource)) {
      Subscribe(*s, change.type == ChangeType::kSubscribedTrackRemoved);
      continue;
    }
    std::visit([this](const auto& resource) { Upsert(resource); }, change.resource);
  }
  if (outcome.dedupe) {
    dedupe_.insert_or_assign(NameKey(outcome.dedupe->account_sid, outcome.dedupe->event_id),
                             *outcome.dedupe);
  }
  revision_ = outcome.revision;
}

void PendingRoster::Reset() {
  revision_ = base_->revision();
  participants_.clear();
  rooms_.clear();
  activity_.clear();
  usage_.clear();
  in_progress_by_name_.clear();
  active_by_identity_.clear();
  dedupe_.clear();
  tracks_.clear();
  track_rooms_.clear();
  rules_.clear();
  subscriptions_.clear();
}

void PendingRoster::Upsert(const Participant& participant) {
  const Participant* before = FindParticipant(participant.sid);
  const bool existed = before != nullptr;
  const bool was_active = existed && before->active();
  if (was_active) active_by_identity_.erase(NameKey(before->room_sid, before->identity));

  RoomActivity activity = Activity(participant.room_sid);
  if (!existed) ++activity.sessions;
  if (participant.active() != was_active) {
    const int delta = participant.active() ? 1 : -1;
    activity.active += delta;
    AccountUsage usage = Usage(participant.account_sid);
    usage.active_participants += delta;
    usage_[participant.account_sid] = usage;
  }
  if (!participant.active() &&
      (!activity.last_departure || participant.date_updated > *activity.last_departure)) {
    activity.last_departure = participant.date_updated;
  }
  activity_[participant.room_sid] = activity;

  participants_.insert_or_assign(participant.sid, participant);
  if (participant.active()) {
    active_by_identity_[NameKey(participant.room_sid, participant.identity)] = participant.sid;
  }
}

void PendingRoster::Upsert(const Room& room) {
  AccountUsage usage = Usage(room.account_sid);
  if (const Room* before = FindRoom(room.sid);
      before != nullptr && before->status == RoomStatus::kInProgress) {
    in_progress_by_name_.erase(NameKey(before->account_sid, before->unique_name));
    --usage.rooms_in_progress;
  }
  rooms_.insert_or_assign(room.sid, room);
  if (room.status == RoomStatus::kInProgress) {
    in_progress_by_name_[NameKey(room.account_sid, room.unique_name)] = room.sid;
    ++usage.rooms_in_progress;
  }
  usage_[room.account_sid] = usage;
}

}  // namespace rollcall::state
