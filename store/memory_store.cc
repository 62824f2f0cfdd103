// MemoryStore: the Store contract over plain containers, for tests that need no disk.
#include <algorithm>
#include <cstdint>
#include <utility>

#include "state/status_macros.h"
#include "store/contract.h"
#include "store/store.h"

namespace rollcall::store {

absl::Status MemoryStore::Write(const WriteBatch& batch) {
  if (write_hook_) write_hook_(batch);
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(internal::CheckBatch(batch, revision_, log_.empty() ? 0 : log_.rbegin()->first));
  if (!fail_writes_.ok()) return fail_writes_;
  if (batch.empty()) return absl::OkStatus();

  for (const state::Sid& sid : batch.erased_participants) participants_.erase(sid);
  for (const state::Sid& sid : batch.erased_rooms) {
    rooms_.erase(sid);
    callback_sequences_.erase(sid);
    auto room_range = [&sid](auto& map) {
      map.erase(map.lower_bound({sid, 0}), map.upper_bound({sid, UINT64_MAX}));
    };
    room_range(callbacks_);
    room_range(failed_callbacks_);
  }
  if (batch.dedupe_recorded_before != absl::InfinitePast()) {
    absl::erase_if(dedupe_, [&](const auto& entry) {
      return entry.second.recorded_at < batch.dedupe_recorded_before;
    });
  }
  for (const state::Sid& sid : batch.erased_tracks) tracks_.erase(sid);
  for (const state::Sid& sid : batch.erased_rules) rules_.erase(sid);
  for (const auto& key : batch.erased_subscriptions) subscriptions_.erase(key);
  for (const state::PublishedTrack& track : batch.tracks)
    tracks_.insert_or_assign(track.sid, track);
  for (const state::SubscribeRules& rules : batch.rules) {
    rules_.insert_or_assign(rules.participant_sid, rules);
  }
  for (const state::SubscribedTrack& s : batch.subscriptions) {
    subscriptions_.insert_or_assign({s.participant_sid, s.sid}, s);
  }
  for (const state::Room& room : batch.rooms) rooms_.insert_or_assign(room.sid, room);
  for (const state::Participant& participant : batch.participants) {
    participants_.insert_or_assign(participant.sid, participant);
  }
  for (const state::DedupeEntry& entry : batch.dedupe) {
    dedupe_.insert_or_assign(DedupeKey(entry.account_sid, entry.event_id), entry);
  }
  for (const LogEntry& entry : batch.log) {
    log_.emplace_hint(log_.end(), entry.revision, entry.payload);
  }
  for (const state::Callback& callback : batch.callbacks) {
    callbacks_.insert_or_assign({callback.room_sid, callback.sequence}, callback);
  }
  for (const auto& [room_sid, next] : batch.callback_sequences) {
    callback_sequences_.insert_or_assign(room_sid, next);
  }
  if (batch.compact_log_before != 0) {
    log_.erase(log_.begin(), log_.lower_bound(batch.compact_log_before));
  }
  if (batch.revision != 0) revision_ = batch.revision;
  return absl::OkStatus();
}

absl::StatusOr<LoadStats> MemoryStore::Load(state::Roster& roster) {
  absl::ReaderMutexLock lock(&mu_);
  RETURN_IF_ERROR(internal::CheckEmpty(roster));
  roster.BeginRestore();
  for (const auto& [sid, room] : rooms_) roster.Restore(room);
  for (const auto& [sid, participant] : participants_) roster.Restore(participant);
  for (const auto& [sid, track] : tracks_) roster.Restore(track);
  for (const auto& [sid, rules] : rules_) roster.Restore(rules);
  for (const auto& [key, subscribed] : subscriptions_) roster.Restore(subscribed);
  for (const auto& [key, entry] : dedupe_) roster.Restore(entry);
  roster.FinishRestore();
  roster.RestoreRevision(revision_);
  return LoadStats{.rooms = rooms_.size(),
                   .participants = participants_.size(),
                   .dedupe = dedupe_.size(),
                   .tracks = tracks_.size(),
                   .rules = rules_.size(),
                   .subscriptions = subscriptions_.size(),
                   .revision = revision_};
}

absl::StatusOr<std::vector<LogEntry>> MemoryStore::ReadLog(uint64_t from,
                                                           size_t max_entries) const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<LogEntry> entries;
  for (auto it = log_.lower_bound(from); it != log_.end() && entries.size() < max_entries; ++it) {
    entries.push_back(LogEntry{.revision = it->first, .payload = it->second});
  }
  return entries;
}

absl::StatusOr<CallbackBacklog> MemoryStore::LoadCallbacks() const {
  absl::ReaderMutexLock lock(&mu_);
  CallbackBacklog backlog;
  for (const auto& [key, callback] : callbacks_) backlog.pending.push_back(callback);
  backlog.next_sequence = callback_sequences_;
  return backlog;
}

absl::StatusOr<std::vector<state::Callback>> MemoryStore::ReadCallbacks(const state::Sid& room_sid,
                                                                        uint64_t from_sequence,
                                                                        size_t max) const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<state::Callback> out;
  for (auto it = callbacks_.lower_bound({room_sid, from_sequence});
       it != callbacks_.end() && it->first.first == room_sid && out.size() < max; ++it) {
    out.push_back(it->second);
  }
  return out;
}

absl::Status MemoryStore::FinishCallback(const state::Sid& room_sid, uint64_t sequence,
                                         const state::FailedCallback* failed) {
  absl::MutexLock lock(&mu_);
  if (!fail_writes_.ok()) return fail_writes_;
  if (callbacks_.erase({room_sid, sequence}) == 1 && failed != nullptr) {
    failed_callbacks_.insert_or_assign({room_sid, sequence}, *failed);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<state::FailedCallback>> MemoryStore::ListFailedCallbacks(
    const state::Sid& account_sid, const FailedCallbackCursor* after, size_t max) const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<state::FailedCallback> out;
  auto it = after == nullptr ? failed_callbacks_.begin()
                             : failed_callbacks_.upper_bound({after->room_sid, after->sequence});
  for (; it != failed_callbacks_.end() && out.size() < max; ++it) {
    if (account_sid == state::Sid() || it->second.callback.room.account_sid == account_sid) {
      out.push_back(it->second);
    }
  }
  return out;
}

uint64_t MemoryStore::LogStart() const {
  absl::ReaderMutexLock lock(&mu_);
  return log_.empty() ? revision_ + 1 : log_.begin()->first;
}

uint64_t MemoryStore::revision() const {
  absl::ReaderMutexLock lock(&mu_);
  return revision_;
}

namespace {

// A copy of the records, taken under the store's lock.
class MemorySnapshot final : public RecordSnapshot {
 public:
  template <typename Record>
  struct Cursor {
    std::vector<Record> records;
    size_t next = 0;

    absl::Status Take(size_t max, std::vector<Record>* out) {
      for (; next < records.size() && max > 0; ++next, --max) out->push_back(records[next]);
      return absl::OkStatus();
    }
  };

  explicit MemorySnapshot(uint64_t revision) : revision_(revision) {}

  uint64_t revision() const override { return revision_; }
  absl::Status ReadRooms(size_t max, std::vector<state::Room>* out) override {
    return rooms.Take(max, out);
  }
  absl::Status ReadParticipants(size_t max, std::vector<state::Participant>* out) override {
    return participants.Take(max, out);
  }
  void RestartParticipants() override { participants.next = 0; }
  absl::Status ReadTracks(size_t max, std::vector<state::PublishedTrack>* out) override {
    return tracks.Take(max, out);
  }
  absl::Status ReadRules(size_t max, std::vector<state::SubscribeRules>* out) override {
    return rules.Take(max, out);
  }
  absl::Status ReadSubscriptions(size_t max, std::vector<state::SubscribedTrack>* out) override {
    return subscriptions.Take(max, out);
  }

  Cursor<state::Room> rooms;
  Cursor<state::Participant> participants;
  Cursor<state::PublishedTrack> tracks;
  Cursor<state::SubscribeRules> rules;
  Cursor<state::SubscribedTrack> subscriptions;

 private:
  const uint64_t revision_;
};

template <typename Map, typename Record>
void CopyValues(const Map& from, std::vector<Record>* to) {
  to->reserve(from.size());
  for (const auto& [key, record] : from) to->push_back(record);
}

}  // namespace

absl::StatusOr<std::unique_ptr<RecordSnapshot>> MemoryStore::Snapshot() const {
  absl::ReaderMutexLock lock(&mu_);
  auto snapshot = std::make_unique<MemorySnapshot>(revision_);
  CopyValues(rooms_, &snapshot->rooms.records);
  CopyValues(participants_, &snapshot->participants.records);
  CopyValues(tracks_, &snapshot->tracks.records);
  CopyValues(rules_, &snapshot->rules.records);
  CopyValues(subscriptions_, &snapshot->subscriptions.records);
  return snapshot;
}

absl::Status MemoryStore::Flush() { return absl::OkStatus(); }

void MemoryStore::FailWrites(absl::Status status) {
  absl::MutexLock lock(&mu_);
  fail_writes_ = std::move(status);
}

}  // namespace rollcall::store
