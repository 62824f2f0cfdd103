#include "state/roster.h"

#include <algorithm>

namespace rollcall::state {
namespace {

template <typename Record>
bool CreatedInRange(const Record& record, const std::optional<absl::Time>& after,
                    const std::optional<absl::Time>& before) {
  if (after && record.date_created <= *after) return false;
  if (before && record.date_created >= *before) return false;
  return true;
}

template <typename Enum>
bool StatusMatches(const std::vector<Enum>& statuses, Enum status) {
  return statuses.empty() || std::find(statuses.begin(), statuses.end(), status) != statuses.end();
}

}  // namespace

const Room* Roster::FindRoom(const Sid& room_sid) const {
  auto it = rooms_.find(room_sid);
  return it == rooms_.end() ? nullptr : &it->second;
}

const Room* Roster::FindInProgressRoomByName(const Sid& account_sid, absl::string_view name) const {
  auto it = in_progress_by_name_.find(NameView(account_sid, name));
  return it == in_progress_by_name_.end() ? nullptr : FindRoom(it->second);
}

const Participant* Roster::FindParticipant(const Sid& participant_sid) const {
  auto it = participants_.find(participant_sid);
  return it == participants_.end() ? nullptr : &it->second;
}

const Participant* Roster::FindActiveByIdentity(const Sid& room_sid,
                                                absl::string_view identity) const {
  auto it = active_by_identity_.find(IdentityKey{room_sid, identity});
  return it == active_by_identity_.end() ? nullptr : *it;
}

RoomActivity Roster::Activity(const Sid& room_sid) const {
  auto it = activity_.find(room_sid);
  return it == activity_.end() ? RoomActivity{} : it->second;
}

AccountUsage Roster::Usage(const Sid& account_sid) const {
  auto it = usage_.find(account_sid);
  return it == usage_.end() ? AccountUsage{} : it->second;
}

std::vector<const Participant*> Roster::ActiveParticipants(const Sid& room_sid) const {
  std::vector<const Participant*> active;
  ForEachParticipant(Sid(), room_sid, [&](const Participant& participant) {
    if (participant.active()) active.push_back(&participant);
  });
  return active;
}

Roster::EventDigest Roster::EventDigest::Of(const Sid& account_sid, absl::string_view event_id) {
  using Salted = std::tuple<uint64_t, const Sid&, absl::string_view>;
  return {absl::Hash<Salted>()(Salted(1, account_sid, event_id)),
          absl::Hash<Salted>()(Salted(2, account_sid, event_id))};
}

std::optional<DedupeEntry> Roster::FindDedupe(const Sid& account_sid,
                                              absl::string_view event_id) const {
  auto it = dedupe_.find(EventDigest::Of(account_sid, event_id));
  if (it == dedupe_.end()) return std::nullopt;
  const Remembered& seen = it->second;
  return DedupeEntry{.account_sid = account_sid,
                     .event_id = std::string(event_id),
                     .fingerprint = seen.fingerprint,
                     .revision = seen.revision,
                     .participant_sid = seen.participant == Sid::Bytes{}
                                            ? Sid()
                                            : Sid(kParticipantPrefix, seen.participant),
                     .recorded_at = absl::FromUnixNanos(seen.recorded_at)};
}

std::optional<Timer> Roster::NextTimer() const {
  if (timers_.empty()) return std::nullopt;
  return *timers_.begin();
}

std::vector<Timer> Roster::DueTimers(absl::Time now, size_t limit) const {
  std::vector<Timer> due;
  for (auto it = timers_.begin(); it != timers_.end() && it->deadline <= now && due.size() < limit;
       ++it) {
    due.push_back(*it);
  }
  return due;
}

std::vector<Timer> RosterView::TimersOf(const Participant& participant) const {
  std::vector<Timer> timers;
  if (!participant.active()) return timers;
  if (participant.status == ParticipantStatus::kReconnecting && participant.reconnecting_since) {
    timers.push_back({*participant.reconnecting_since + limits().reconnect_timeout,
                      TimerKind::kReconnectTimeout, participant.sid});
  }
  if (const Room* room = FindRoom(participant.room_sid)) {
    timers.push_back({participant.start_time + absl::Seconds(room->max_participant_duration),
                      TimerKind::kSessionLimit, participant.sid});
  }
  return timers;
}

std::vector<Timer> RosterView::TimersOf(const Room& room) const {
  std::vector<Timer> timers;
  if (room.status != RoomStatus::kInProgress) return timers;
  timers.push_back(
      {room.date_created + limits().max_room_duration, TimerKind::kRoomMaxDuration, room.sid});
  if (!room.ad_hoc) {
    const RoomActivity activity = Activity(room.sid);
    if (activity.sessions == 0) {
      timers.push_back({room.date_created + absl::Minutes(room.unused_room_timeout),
                        TimerKind::kRoomIdle, room.sid});
    } else if (activity.active == 0 && activity.last_departure) {
      timers.push_back({*activity.last_departure + absl::Minutes(room.empty_room_timeout),
                        TimerKind::kRoomIdle, room.sid});
    }
  }
  return timers;
}

Page<Participant> Roster::ListParticipants(const ParticipantQuery& query) const {
  Page<Participant> page;
  const absl::btree_set<OrderKey>& index =
      query.room_sid ? participants_by_room_ : participants_by_account_;
  const Sid& scope = query.room_sid ? *query.room_sid : query.account_sid;
  auto it =
      query.after
          ? index.upper_bound(OrderKey::Of(scope, query.after->date_created, query.after->sid))
          : index.lower_bound(OrderKey::First(scope));
  for (; it != index.end() && it->In(scope); ++it) {
    const Participant& participant = participants_.at(it->Record(kParticipantPrefix));
    if (participant.account_sid != query.account_sid) continue;
    if (query.created_before && participant.date_created >= *query.created_before) break;
    if (!CreatedInRange(participant, query.created_after, query.created_before)) continue;
    if (!StatusMatches(query.statuses, participant.status)) continue;
    if (!query.identity.empty() && participant.identity != query.identity) continue;
    if (page.items.size() == static_cast<size_t>(query.page_size)) {
      const Participant& last = page.items.back();
      page.next = PageKey{last.date_created, last.sid};
      break;
    }
    page.items.push_back(participant);
  }
  return page;
}

Page<Room> Roster::ListRooms(const RoomQuery& query) const {
  Page<Room> page;
  const Sid& scope = query.account_sid;
  auto it = query.after ? rooms_by_account_.upper_bound(
                              OrderKey::Of(scope, query.after->date_created, query.after->sid))
                        : rooms_by_account_.lower_bound(OrderKey::First(scope));
  for (; it != rooms_by_account_.end() && it->In(scope); ++it) {
    const Room& room = rooms_.at(it->Record(kRoomPrefix));
    if (query.created_before && room.date_created >= *query.created_before) break;
    if (!CreatedInRange(room, query.created_after, query.created_before)) continue;
    if (!StatusMatches(query.statuses, room.status)) continue;
    if (!query.unique_name.empty() && room.unique_name != query.unique_name) continue;
    if (page.items.size() == static_cast<size_t>(query.page_size)) {
      const Room& last = page.items.back();
      page.next = PageKey{last.date_created, last.sid};
      break;
    }
    page.items.push_back(room);
  }
  return page;
}

void Roster::ForEachRoom(const Sid& account_sid, const std::optional<Sid>& room_sid,
                         const std::function<void(const Room&)>& visit) const {
  if (room_sid) {
    if (const Room* room = FindRoom(*room_sid); room && room->account_sid == account_sid) {
      visit(*room);
    }
    return;
  }
  for (auto it = rooms_by_account_.lower_bound(OrderKey::First(account_sid));
       it != rooms_by_account_.end() && it->In(account_sid); ++it) {
    visit(rooms_.at(it->Record(kRoomPrefix)));
  }
}

void Roster::ForEachParticipant(const Sid& account_sid, const std::optional<Sid>& room_sid,
                                const std::function<void(const Participant&)>& visit) const {
  const absl::btree_set<OrderKey>& index =
      room_sid ? participants_by_room_ : participants_by_account_;
  const Sid& scope = room_sid ? *room_sid : account_sid;
  for (auto it = index.lower_bound(OrderKey::First(scope)); it != index.end() && it->In(scope);
       ++it) {
    const Participant& participant = participants_.at(it->Record(kParticipantPrefix));
    // An empty account means "any": used internally to walk one room.
    if (account_sid.empty() || participant.account_sid == account_sid) visit(participant);
  }
}

void Roster::Commit(const Outcome& outcome) {
  for (const Change& change : outcome.changes) Apply(change);
  if (outcome.dedupe) RememberEvent(*outcome.dedupe);
  revision_ = outcome.revision;
}

void Roster::AddTimers(const std::vector<Timer>& timers) {
  timers_.insert(timers.begin(), timers.end());
}

void Roster::RemoveTimers(const std::vector<Timer>& timers) {
  for (const Timer& timer : timers) timers_.erase(timer);
}

void Roster::UpdateRoomTimers(const Sid& room_sid, const std::function<void()>& mutate) {
  const Room* before = FindRoom(room_sid);
  if (before) RemoveTimers(TimersOf(*before));
  mutate();
  if (const Room* after = FindRoom(room_sid)) AddTimers(TimersOf(*after));
}

void Roster::Upsert(const Participant& participant) {
  auto [it, inserted] = participants_.try_emplace(participant.sid, participant);
  Participant& stored = it->second;
  const bool was_active = !inserted && stored.active();
  if (!inserted) {
    if (!restoring_) RemoveTimers(TimersOf(stored));
    if (was_active) active_by_identity_.erase(&stored);
    stored = participant;
  } else if (!restoring_) {  // else FinishRestore builds the order indexes in one pass
    participants_by_account_.insert(
        OrderKey::Of(participant.account_sid, participant.date_created, participant.sid));
    participants_by_room_.insert(
        OrderKey::Of(participant.room_sid, participant.date_created, participant.sid));
  }
  if (stored.active()) active_by_identity_.insert(&stored);
  if (!restoring_) AddTimers(TimersOf(stored));

  const bool is_active = stored.active();
  // An inactive record changed later (anonymized) moves last_departure too, as Restore and
  // PendingRoster derive it from date_updated: live and restored timers must agree.
  const std::optional<absl::Time> departed = Activity(stored.room_sid).last_departure;
  const bool later_departure = !is_active && (!departed || stored.date_updated > *departed);
  if (inserted || was_active != is_active || later_departure) {
    const bool created = inserted;  // lambdas cannot capture structured bindings before C++20
    auto update_activity = [&] {
      RoomActivity& activity = activity_[stored.room_sid];
      if (created) ++activity.sessions;
      if (is_active && !was_active) {
        ++activity.active;
        ++active_total_;
        ++usage_[stored.account_sid].active_participants;
      } else if (!is_active && was_active) {
        --activity.active;
        --active_total_;
        --usage_[stored.account_sid].active_participants;
      }
      if (!is_active &&
          (!activity.last_departure || stored.date_updated > *activity.last_departure)) {
        activity.last_departure = stored.date_updated;
      }
    };
    if (restoring_) {
      update_activity();  // timers are derived once, in FinishRestore
    } else {
      UpdateRoomTimers(stored.room_sid, update_activity);
    }
  }
}

void Roster::Upsert(const Room& room) {
  auto upsert = [&] {
    auto [it, inserted] = rooms_.try_emplace(room.sid, room);
    Room& stored = it->second;
    if (!inserted) {
      if (stored.status == RoomStatus::kInProgress) {
        in_progress_by_name_.erase(NameKey(stored.account_sid, stored.unique_name));
        --usage_[stored.account_sid].rooms_in_progress;
      }
      stored = room;
    } else {
      rooms_by_account_.insert(OrderKey::Of(room.account_sid, room.date_created, room.sid));
    }
    if (stored.status == RoomStatus::kInProgress) {
      in_progress_by_name_[NameKey(stored.account_sid, stored.unique_name)] = stored.sid;
      ++usage_[stored.account_sid].rooms_in_progress;
    }
  };
  if (restoring_) {
    upsert();  // FinishRestore derives every timer once the records are all in
    return;
  }
  UpdateRoomTimers(room.sid, upsert);
  // A room's participants' session-limit timers depend on the room; they exist only once the
  // room does, so re-derive them when a room is restored after its participants.
  ForEachParticipant(Sid(), room.sid, [this](const Participant& participant) {
    if (participant.active()) AddTimers(TimersOf(participant));
  });
}

void Roster::BeginRestore() { restoring_ = true; }

void Roster::FinishRestore() {
  if (!restoring_) return;
  restoring_ = false;
  // Sorted, so each insert lands at the end of the btree: linear instead of n log n.
  std::vector<OrderKey> by_account;
  std::vector<OrderKey> by_room;
  by_account.reserve(participants_.size());
  by_room.reserve(participants_.size());
  for (const auto& [sid, participant] : participants_) {
    by_account.push_back(OrderKey::Of(participant.account_sid, participant.date_created, sid));
    by_room.push_back(OrderKey::Of(participant.room_sid, participant.date_created, sid));
  }
  std::sort(by_account.begin(), by_account.end());
  std::sort(by_room.begin(), by_room.end());
  participants_by_account_.insert(by_account.begin(), by_account.end());
  participants_by_room_.insert(by_room.begin(), by_room.end());
  // Every timer, derived from the complete records (rooms need their activity, participants
  // their room), whatever order the records came in.
  std::vector<Timer> timers;
  for (const auto& [sid, room] : rooms_) {
    for (const Timer& timer : TimersOf(room)) timers.push_back(timer);
  }
  for (const auto& [sid, participant] : participants_) {
    for (const Timer& timer : TimersOf(participant)) timers.push_back(timer);
  }
  std::sort(timers.begin(), timers.end());
  timers_.insert(timers.begin(), timers.end());
}

void Roster::RememberEvent(const DedupeEntry& entry) {
  const int64_t recorded_at = absl::ToUnixNanos(entry.recorded_at);
  dedupe_.insert_or_assign(EventDigest::Of(entry.account_sid, entry.event_id),
                           Remembered{.fingerprint = entry.fingerprint,
                                      .revision = entry.revision,
                                      .recorded_at = recorded_at,
                                      .participant = entry.participant_sid.bytes()});
  oldest_event_ = std::min(oldest_event_, recorded_at);
}

size_t Roster::ExpireDedupe(absl::Time cutoff) {
  const int64_t before = absl::ToUnixNanos(cutoff);
  if (oldest_event_ >= before) return 0;
  // One pass over every entry, about a millisecond per 300,000 on the benchmark machine; it
  // runs at most once per maintenance interval, and only when something is due.
  const size_t had = dedupe_.size();
  oldest_event_ = std::numeric_limits<int64_t>::max();
  for (auto it = dedupe_.begin(); it != dedupe_.end();) {
    if (it->second.recorded_at < before) {
      dedupe_.erase(it++);
    } else {
      oldest_event_ = std::min(oldest_event_, it->second.recorded_at);
      ++it;
    }
  }
  return had - dedupe_.size();
}

std::pair<std::vector<Sid>, std::vector<Sid>> Roster::ExpireRooms(absl::Time cutoff) {
  std::vector<Sid> rooms;
  std::vector<Sid> participants;
  for (const auto& [sid, room] : rooms_) {
    if (room.status != RoomStatus::kInProgress && room.end_time && *room.end_time < cutoff) {
      rooms.push_back(sid);
    }
  }
  for (const Sid& room_sid : rooms) {
    std::vector<OrderKey> keys;
    for (auto it = participants_by_room_.lower_bound(OrderKey::First(room_sid));
         it != participants_by_room_.end() && it->In(room_sid); ++it) {
      keys.push_back(*it);
    }
    for (const OrderKey& key : keys) {
      const Participant& participant = participants_.at(key.Record(kParticipantPrefix));
      // A completed room has no active participants, so no timers or identity entries remain.
      participants_by_account_.erase(
          OrderKey::Of(participant.account_sid, participant.date_created, participant.sid));
      participants_by_room_.erase(key);
      participants.push_back(participant.sid);
      participants_.erase(participant.sid);
    }
    const Room& room = rooms_.at(room_sid);
    rooms_by_account_.erase(OrderKey::Of(room.account_sid, room.date_created, room.sid));
    activity_.erase(room_sid);
    rooms_.erase(room_sid);
  }
  return {std::move(rooms), std::move(participants)};
}

}  // namespace rollcall::state
