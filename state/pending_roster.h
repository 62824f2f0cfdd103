// PendingRoster: a Roster as it will be once a batch of decided outcomes commits. The applier
// decides a whole batch against it (each input sees the ones before it), writes the batch to
// the store with one fsync, and only then commits the same outcomes to the shared Roster, so
// readers never see state that is not yet durable. If the write fails, Reset() drops the batch.
//
// It copies only what the batch touches; everything else reads through to its base: the
// roster, or another PendingRoster (the batch being written while this one is decided). The
// base may change while this one is in use only by committing outcomes this one already sees
// through it; then Rebase() moves this overlay onto the roster that now holds them.
#ifndef ROLLCALL_STATE_PENDING_ROSTER_H_
#define ROLLCALL_STATE_PENDING_ROSTER_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "state/name_key.h"
#include "state/roster.h"
#include "state/roster_view.h"

namespace rollcall::state {

class PendingRoster final : public RosterView {
 public:
  explicit PendingRoster(const RosterView& base) : base_(&base), revision_(base.revision()) {}

  // Reads through to `base` from now on. `base` must show what the old base showed (the
  // outcomes it held are committed to it), so nothing decided here changes meaning.
  void Rebase(const RosterView& base) { base_ = &base; }

  const Limits& limits() const override { return base_->limits(); }
  uint64_t revision() const override { return revision_; }
  const Room* FindRoom(const Sid& room_sid) const override;
  const Room* FindInProgressRoomByName(const Sid& account_sid,
                                       absl::string_view name) const override;
  const Participant* FindParticipant(const Sid& participant_sid) const override;
  const Participant* FindActiveByIdentity(const Sid& room_sid,
                                          absl::string_view identity) const override;
  RoomActivity Activity(const Sid& room_sid) const override;
  AccountUsage Usage(const Sid& account_sid) const override;
  std::vector<const Participant*> ActiveParticipants(const Sid& room_sid) const override;
  std::optional<DedupeEntry> FindDedupe(const Sid& account_sid,
                                        absl::string_view event_id) const override;
  const PublishedTrack* FindTrack(const Sid& track_sid) const override;
  std::vector<const PublishedTrack*> PublishedTracks(const Sid& room_sid) const override;
  const SubscribeRules* FindRules(const Sid& participant_sid) const override;
  std::vector<const SubscribedTrack*> SubscribedTracks(const Sid& subscriber_sid) const override;

  // Adds a decided kApplied outcome on top (outcome.revision == revision() + 1).
  void Commit(const Outcome& outcome);
  // Forgets everything committed here: back to the base roster.
  void Reset();

 private:
  void Upsert(const Participant& participant);
  void Upsert(const Room& room);
  void Upsert(const PublishedTrack& track) {
    tracks_.insert_or_assign(track.sid, track);
    track_rooms_[track.room_sid].insert(track.sid);
  }
  void Upsert(const SubscribeRules& rules) {
    rules_.insert_or_assign(rules.participant_sid, rules);
  }
  void Upsert(const SubscribedTrack& subscribed) { Subscribe(subscribed, false); }
  // Adds, updates or (removed) drops one subscription in the subscriber's overlaid set.
  void Subscribe(const SubscribedTrack& subscribed, bool removed);

  const RosterView* base_;
  uint64_t revision_;
  absl::flat_hash_map<Sid, Participant> participants_;
  absl::flat_hash_map<Sid, Room> rooms_;
  absl::flat_hash_map<Sid, RoomActivity> activity_;  // every room touched, in full
  absl::flat_hash_map<Sid, AccountUsage> usage_;     // every account touched, in full
  NameMap<Sid> in_progress_by_name_;                 // overlay rooms in progress
  NameMap<Sid> active_by_identity_;                  // overlay participants active
  NameMap<DedupeEntry> dedupe_;
  absl::flat_hash_map<Sid, PublishedTrack> tracks_;
  absl::flat_hash_map<Sid, absl::flat_hash_set<Sid>> track_rooms_;  // room -> tracks_ keys
  absl::flat_hash_map<Sid, SubscribeRules> rules_;
  // A subscriber's whole set once the batch touches it, in track SID order.
  absl::flat_hash_map<Sid, std::vector<SubscribedTrack>> subscriptions_;
};

}  // namespace rollcall::state

#endif  // ROLLCALL_STATE_PENDING_ROSTER_H_
