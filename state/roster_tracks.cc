// Roster's tracks, subscribe rules and subscriptions: kept apart from roster.cc because they
// have their own indexes and no timers.
#include <algorithm>

#include "state/roster.h"

namespace rollcall::state {

const PublishedTrack* Roster::FindTrack(const Sid& track_sid) const {
  auto it = tracks_.find(track_sid);
  return it == tracks_.end() ? nullptr : &it->second;
}

std::vector<const PublishedTrack*> Roster::PublishedTracks(const Sid& room_sid) const {
  std::vector<const PublishedTrack*> published;
  for (auto it = tracks_by_room_.lower_bound(OrderKey::First(room_sid));
       it != tracks_by_room_.end() && it->In(room_sid); ++it) {
    published.push_back(&tracks_.at(it->Record(kTrackPrefix)));
  }
  return published;
}

std::vector<const PublishedTrack*> Roster::TracksOf(const Sid& participant_sid) const {
  std::vector<const PublishedTrack*> tracks;
  for (auto it = tracks_by_participant_.lower_bound(OrderKey::First(participant_sid));
       it != tracks_by_participant_.end() && it->In(participant_sid); ++it) {
    tracks.push_back(&tracks_.at(it->Record(kTrackPrefix)));
  }
  return tracks;
}

const SubscribeRules* Roster::FindRules(const Sid& participant_sid) const {
  auto it = rules_.find(participant_sid);
  return it == rules_.end() ? nullptr : &it->second;
}

std::vector<const SubscribedTrack*> Roster::SubscribedTracks(const Sid& subscriber_sid) const {
  std::vector<const SubscribedTrack*> subscribed;
  for (auto it = subscriptions_.lower_bound({subscriber_sid, Sid()});
       it != subscriptions_.end() && it->first.first == subscriber_sid; ++it) {
    subscribed.push_back(&it->second);
  }
  return subscribed;
}

void Roster::Apply(const Change& change) {
  if (change.type == ChangeType::kSubscribedTrackRemoved) {
    const auto& removed = std::get<SubscribedTrack>(change.resource);
    subscriptions_.erase({removed.participant_sid, removed.sid});
    return;
  }
  std::visit([this](const auto& resource) { Upsert(resource); }, change.resource);
}

void Roster::Upsert(const PublishedTrack& track) {
  auto [it, inserted] = tracks_.try_emplace(track.sid, track);
  PublishedTrack& stored = it->second;
  const bool was_published = !inserted && stored.published();
  if (!inserted) stored = track;
  if (inserted) {
    tracks_by_participant_.insert(
        OrderKey::Of(track.participant_sid, track.date_created, track.sid));
  }
  if (was_published && !stored.published()) {
    tracks_by_room_.erase(OrderKey::Of(track.room_sid, track.date_created, track.sid));
    --published_total_;
  } else if (!was_published && stored.published()) {
    tracks_by_room_.insert(OrderKey::Of(track.room_sid, track.date_created, track.sid));
    ++published_total_;
  }
}

void Roster::Upsert(const SubscribeRules& rules) {
  rules_.insert_or_assign(rules.participant_sid, rules);
}

void Roster::Upsert(const SubscribedTrack& subscribed) {
  subscriptions_.insert_or_assign({subscribed.participant_sid, subscribed.sid}, subscribed);
}

std::pair<std::vector<Sid>, std::vector<Sid>> Roster::ForgetTracks(
    const std::vector<Sid>& participants) {
  std::vector<Sid> tracks;
  std::vector<Sid> rules;
  for (const Sid& participant_sid : participants) {
    for (const PublishedTrack* track : TracksOf(participant_sid)) tracks.push_back(track->sid);
    if (rules_.erase(participant_sid) > 0) rules.push_back(participant_sid);
  }
  for (const Sid& sid : tracks) {
    const PublishedTrack& track = tracks_.at(sid);
    tracks_by_participant_.erase(OrderKey::Of(track.participant_sid, track.date_created, sid));
    if (track.published()) {  // never in an ended room; kept consistent all the same
      tracks_by_room_.erase(OrderKey::Of(track.room_sid, track.date_created, sid));
      --published_total_;
    }
    tracks_.erase(sid);
  }
  return {std::move(tracks), std::move(rules)};
}

}  // namespace rollcall::state
