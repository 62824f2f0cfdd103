#include "state/subscriptions.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "state/limits.h"
#include "state/sid.h"
#include "state/status_macros.h"
#include "state/validation.h"

namespace rollcall::state {
namespace {

absl::Status InvalidRule(size_t index, absl::string_view field, absl::string_view rule) {
  return absl::InvalidArgumentError(absl::StrCat("rules[", index, "]", field, ": ", rule));
}

// A filter naming a resource by SID (when it parses as one with `prefix`) or by name.
bool NamesResource(absl::string_view filter, absl::string_view prefix, const Sid& sid,
                   absl::string_view name) {
  if (filter == name) return true;
  const std::optional<Sid> parsed = Sid::TryParse(filter, prefix);
  return parsed && *parsed == sid;
}

}  // namespace

const std::vector<SubscribeRule>& DefaultSubscribeRules() {
  static const std::vector<SubscribeRule>* const kDefault = [] {
    SubscribeRule include_all;
    include_all.type = RuleType::kInclude;
    include_all.all = true;
    return new std::vector<SubscribeRule>{include_all};
  }();
  return *kDefault;
}

SubscribeRules EffectiveRules(const RosterView& roster, const Participant& participant) {
  if (const SubscribeRules* stored = roster.FindRules(participant.sid)) return *stored;
  SubscribeRules rules;
  rules.participant_sid = participant.sid;
  rules.account_sid = participant.account_sid;
  rules.room_sid = participant.room_sid;
  rules.rules = DefaultSubscribeRules();
  rules.date_created = participant.date_created;
  rules.date_updated = participant.date_created;
  return rules;
}

absl::Status ValidateSubscribeRules(const std::vector<SubscribeRule>& rules) {
  if (rules.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("rules: must hold 1 to ", kMaxSubscribeRules, " rules, got none"));
  }
  if (rules.size() > kMaxSubscribeRules) {
    return absl::InvalidArgumentError(
        absl::StrCat("rules: must hold 1 to ", kMaxSubscribeRules, " rules, got ", rules.size()));
  }
  for (size_t i = 0; i < rules.size(); ++i) {
    const SubscribeRule& rule = rules[i];
    if (rule.type != RuleType::kInclude && rule.type != RuleType::kExclude) {
      return InvalidRule(i, ".type", "must be include or exclude");
    }
    if (static_cast<int>(rule.kind) > kMaxTrackKind) {
      return InvalidRule(i, ".kind", "must be audio, video or data");
    }
    const bool filtered =
        rule.kind != TrackKind::kUnspecified || !rule.publisher.empty() || !rule.track.empty();
    if (rule.all && filtered) {
      return InvalidRule(i, ".all", "must not be combined with kind, publisher or track");
    }
    if (!rule.all && !filtered) {
      return InvalidRule(i, "", "needs a filter: all, kind, publisher or track");
    }
    if (!rule.publisher.empty()) {
      RETURN_IF_ERROR(ValidateText(rule.publisher, kMaxIdentityBytes,
                                   absl::StrCat("rules[", i, "].publisher")));
    }
    if (!rule.track.empty()) {
      RETURN_IF_ERROR(
          ValidateText(rule.track, kMaxTrackNameBytes, absl::StrCat("rules[", i, "].track")));
    }
  }
  return absl::OkStatus();
}

bool Matches(const SubscribeRule& rule, const PublishedTrack& track, absl::string_view identity) {
  if (rule.all) return true;
  if (rule.kind != TrackKind::kUnspecified && rule.kind != track.kind) return false;
  if (!rule.publisher.empty() &&
      !NamesResource(rule.publisher, kParticipantPrefix, track.participant_sid, identity)) {
    return false;
  }
  if (!rule.track.empty() && !NamesResource(rule.track, kTrackPrefix, track.sid, track.name)) {
    return false;
  }
  return true;
}

bool Admits(const std::vector<SubscribeRule>& rules, const PublishedTrack& track,
            absl::string_view publisher_identity) {
  bool admitted = false;
  for (const SubscribeRule& rule : rules) {
    if (Matches(rule, track, publisher_identity)) admitted = rule.type == RuleType::kInclude;
  }
  return admitted;
}

namespace {

// A room as a revision's changes leave it.
struct RoomAfter {
  absl::flat_hash_map<Sid, const Participant*> active;  // its active participants
  // Everyone active before or after: each may gain or lose subscriptions.
  std::vector<const Participant*> subscribers;
  absl::flat_hash_map<Sid, const SubscribeRules*> rules;  // the sets the changes replace
  std::vector<const PublishedTrack*> tracks;  // published, ordered by (date_created, sid)
};

RoomAfter ApplyToRoom(const RosterView& roster, const Sid& room_sid,
                      std::vector<const PublishedTrack*> tracks_before,
                      const std::vector<Change>& changes) {
  RoomAfter room;
  room.subscribers = roster.ActiveParticipants(room_sid);
  for (const Participant* p : room.subscribers) room.active[p->sid] = p;
  room.tracks = std::move(tracks_before);
  for (const Change& change : changes) {
    if (const auto* p = std::get_if<Participant>(&change.resource)) {
      if (p->room_sid != room_sid) continue;
      if (p->active()) {
        if (!room.active.contains(p->sid)) room.subscribers.push_back(p);
        room.active[p->sid] = p;
      } else {
        room.active.erase(p->sid);
      }
    } else if (const auto* r = std::get_if<SubscribeRules>(&change.resource)) {
      if (r->room_sid == room_sid) room.rules[r->participant_sid] = r;
    } else if (const auto* t = std::get_if<PublishedTrack>(&change.resource)) {
      if (t->room_sid != room_sid) continue;
      std::erase_if(room.tracks, [t](const PublishedTrack* old) { return old->sid == t->sid; });
      if (t->published()) room.tracks.push_back(t);
    }
  }
  std::sort(room.tracks.begin(), room.tracks.end(),
            [](const PublishedTrack* a, const PublishedTrack* b) {
              return std::tie(a->date_created, a->sid) < std::tie(b->date_created, b->sid);
            });
  return room;
}

// What an active `subscriber` receives in `room`: the other active participants' published
// tracks its rules admit, as new subscriptions dated `now`.
std::vector<SubscribedTrack> Admitted(const RosterView& roster, const RoomAfter& room,
                                      const Sid& room_sid, const Participant& subscriber,
                                      absl::Time now) {
  const auto stored = room.rules.find(subscriber.sid);
  const SubscribeRules* own =
      stored != room.rules.end() ? stored->second : roster.FindRules(subscriber.sid);
  const std::vector<SubscribeRule>& set = own ? own->rules : DefaultSubscribeRules();
  std::vector<SubscribedTrack> admitted;
  for (const PublishedTrack* track : room.tracks) {
    if (track->participant_sid == subscriber.sid) continue;
    auto publisher = room.active.find(track->participant_sid);
    if (publisher == room.active.end()) continue;
    if (!Admits(set, *track, publisher->second->identity)) continue;
    SubscribedTrack& s = admitted.emplace_back();
    s.sid = track->sid;
    s.participant_sid = subscriber.sid;
    s.publisher_sid = track->participant_sid;
    s.account_sid = track->account_sid;
    s.room_sid = room_sid;
    s.name = track->name;
    s.kind = track->kind;
    s.enabled = track->enabled;
    s.date_created = now;
  }
  return admitted;
}

}  // namespace

std::vector<Change> SubscriptionChanges(const RosterView& roster, const Sid& room_sid,
                                        const std::vector<Change>& changes, uint64_t revision,
                                        absl::Time now) {
  std::vector<Change> out;
  std::vector<const PublishedTrack*> tracks_before = roster.PublishedTracks(room_sid);
  // Without a published track before or after, nobody was or is subscribed to anything: the
  // common case of a room without tracks costs one index lookup.
  const bool tracks_changed =
      std::any_of(changes.begin(), changes.end(), [&room_sid](const Change& change) {
        const auto* t = std::get_if<PublishedTrack>(&change.resource);
        return t != nullptr && t->room_sid == room_sid;
      });
  if (tracks_before.empty() && !tracks_changed) return out;
  const RoomAfter room = ApplyToRoom(roster, room_sid, std::move(tracks_before), changes);

  auto add = [&](ChangeType type, SubscribedTrack subscribed) {
    subscribed.revision = revision;
    subscribed.date_updated = now;
    out.push_back({revision, type, now, std::move(subscribed), ParticipantStatus::kUnspecified});
  };
  for (const Participant* subscriber : room.subscribers) {
    absl::flat_hash_map<Sid, const SubscribedTrack*> before;
    for (const SubscribedTrack* s : roster.SubscribedTracks(subscriber->sid)) before[s->sid] = s;
    std::vector<SubscribedTrack> after;
    if (room.active.contains(subscriber->sid)) {
      after = Admitted(roster, room, room_sid, *subscriber, now);
    }
    // Removals first, in the subscriber's current order, then additions and updates.
    for (const SubscribedTrack* old : roster.SubscribedTracks(subscriber->sid)) {
      const bool kept = std::any_of(after.begin(), after.end(),
                                    [old](const SubscribedTrack& s) { return s.sid == old->sid; });
      if (!kept) add(ChangeType::kSubscribedTrackRemoved, *old);
    }
    for (SubscribedTrack& s : after) {
      auto old = before.find(s.sid);
      if (old == before.end()) {
        add(ChangeType::kSubscribedTrackAdded, std::move(s));
        continue;
      }
      const SubscribedTrack& was = *old->second;
      if (was.enabled == s.enabled && was.name == s.name && was.kind == s.kind) continue;
      s.date_created = was.date_created;
      add(ChangeType::kSubscribedTrackUpdated, std::move(s));
    }
  }
  return out;
}

}  // namespace rollcall::state
