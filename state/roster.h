// Roster: the in-memory model of every room and participant, with the indexes the machine and
// the read paths need. It holds state; it decides nothing. RoomMachine reads it to decide an
// input, and Commit applies the decided Outcome. Timers are derived here from the records
// (docs/api.md, state table), so restoring the records restores the timers.
//
// Not thread-safe: the service guards it (one writer, many readers under a shared lock).
#ifndef ROLLCALL_STATE_ROSTER_H_
#define ROLLCALL_STATE_ROSTER_H_

#include <compare>
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/node_hash_map.h"
#include "absl/container/node_hash_set.h"
#include "absl/hash/hash.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "state/limits.h"
#include "state/name_key.h"
#include "state/records.h"
#include "state/roster_view.h"
#include "state/sid.h"

namespace rollcall::state {

// Position in a (date_created, sid) ordered listing; a page resumes strictly after it.
struct PageKey {
  absl::Time date_created;
  Sid sid;
  friend std::strong_ordering operator<=>(const PageKey&, const PageKey&) = default;
  friend bool operator==(const PageKey&, const PageKey&) = default;
};

struct ParticipantQuery {
  Sid account_sid;
  std::optional<Sid> room_sid;               // none: every room of the account
  std::vector<ParticipantStatus> statuses;   // empty: any
  std::string identity;                      // empty: any
  std::optional<absl::Time> created_after;   // exclusive
  std::optional<absl::Time> created_before;  // exclusive
  int32_t page_size = 50;
  std::optional<PageKey> after;  // resume strictly after this key
};

struct RoomQuery {
  Sid account_sid;
  std::vector<RoomStatus> statuses;  // empty: any
  std::string unique_name;           // empty: any
  std::optional<absl::Time> created_after;
  std::optional<absl::Time> created_before;
  int32_t page_size = 50;
  std::optional<PageKey> after;
};

template <typename T>
struct Page {
  std::vector<T> items;
  std::optional<PageKey> next;  // set when more items may follow
};

class Roster final : public RosterView {
 public:
  explicit Roster(const Limits& limits) : limits_(limits) {}

  const Limits& limits() const override { return limits_; }
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

  // Every track the participant ever published (published or not), in (date_created, sid) order.
  std::vector<const PublishedTrack*> TracksOf(const Sid& participant_sid) const;
  size_t track_count() const { return tracks_.size(); }
  size_t published_track_count() const { return published_total_; }
  size_t rules_count() const { return rules_.size(); }
  size_t subscription_count() const { return subscriptions_.size(); }

  // The earliest pending timer, if any.
  std::optional<Timer> NextTimer() const;
  // Pending timers due at or before `now`, earliest first, at most `limit`.
  std::vector<Timer> DueTimers(absl::Time now, size_t limit) const;

  Page<Participant> ListParticipants(const ParticipantQuery& query) const;
  Page<Room> ListRooms(const RoomQuery& query) const;
  // Visits records in (date_created, sid) order; `room_sid` empty means the whole account.
  void ForEachRoom(const Sid& account_sid, const std::optional<Sid>& room_sid,
                   const std::function<void(const Room&)>& visit) const;
  void ForEachParticipant(const Sid& account_sid, const std::optional<Sid>& room_sid,
                          const std::function<void(const Participant&)>& visit) const;

  size_t participant_count() const { return participants_.size(); }
  size_t room_count() const { return rooms_.size(); }
  size_t active_participant_count() const { return active_total_; }
  size_t in_progress_room_count() const { return in_progress_by_name_.size(); }
  size_t dedupe_count() const { return dedupe_.size(); }

  // Applies a decided kApplied outcome. Precondition: it was decided against this roster at
  // its current revision, and outcome.revision == revision() + 1.
  void Commit(const Outcome& outcome);

  // Restoring from storage: records in any order, then the revision. Between BeginRestore and
  // FinishRestore (optional, for bulk loads) the order indexes and timers are not kept up to
  // date record by record but built once at the end, sorted: reads must wait for FinishRestore.
  void BeginRestore();
  void FinishRestore();
  void Restore(const Participant& participant) { Upsert(participant); }
  void Restore(const Room& room) { Upsert(room); }
  void Restore(const DedupeEntry& entry) { RememberEvent(entry); }
  void Restore(const PublishedTrack& track) { Upsert(track); }
  void Restore(const SubscribeRules& rules) { Upsert(rules); }
  void Restore(const SubscribedTrack& subscribed) { Upsert(subscribed); }
  void RestoreRevision(uint64_t revision) { revision_ = revision; }

  // Forgets event_ids recorded before `cutoff` (--dedupe_window). Returns how many it forgot.
  // (The store forgets them by the same rule: WriteBatch::dedupe_recorded_before.)
  size_t ExpireDedupe(absl::Time cutoff);
  // Removes rooms that ended before `cutoff`, and their participants (--retention).
  // Returns the removed room SIDs and participant SIDs.
  std::pair<std::vector<Sid>, std::vector<Sid>> ExpireRooms(absl::Time cutoff);
  // Forgets the tracks and rule sets of `participants`, once ExpireRooms has removed them.
  // Returns the forgotten track SIDs and rule-set participant SIDs.
  std::pair<std::vector<Sid>, std::vector<Sid>> ForgetTracks(const std::vector<Sid>& participants);

 private:
  // (scope, date_created, sid): an entry of an order index, in 40 bytes rather than the 64 of
  // a tuple<Sid, absl::Time, Sid>. Each index holds one kind of scope and one kind of record,
  // so the SIDs' prefixes are implied (as in the store's keys) and only their 16 raw bytes are
  // kept; date_created is whole unix nanoseconds, as every stored time is. At a million
  // participants the two participant indexes are a large share of the roster (absl's btree
  // nodes are 256 bytes: 6 of these per leaf instead of 3).
  struct OrderKey {
    static OrderKey Of(const Sid& scope, absl::Time created, const Sid& sid) {
      return {scope.bytes(), absl::ToUnixNanos(created), sid.bytes()};
    }
    // Before every entry of `scope`.
    static OrderKey First(const Sid& scope) {
      return {scope.bytes(), std::numeric_limits<int64_t>::min(), Sid::Bytes{}};
    }
    bool In(const Sid& scope) const { return this->scope == scope.bytes(); }
    Sid Record(absl::string_view prefix) const { return Sid(prefix, sid); }

    Sid::Bytes scope;
    int64_t created;
    Sid::Bytes sid;

    friend auto operator<=>(const OrderKey&, const OrderKey&) = default;
    friend bool operator==(const OrderKey&, const OrderKey&) = default;
  };

  void Upsert(const Participant& participant);
  void Upsert(const Room& room);
  void Upsert(const PublishedTrack& track);
  void Upsert(const SubscribeRules& rules);
  void Upsert(const SubscribedTrack& subscribed);
  void Apply(const Change& change);  // one committed change (state/roster_tracks.cc for tracks)
  void RememberEvent(const DedupeEntry& entry);
  void AddTimers(const std::vector<Timer>& timers);
  void RemoveTimers(const std::vector<Timer>& timers);
  // Recomputes a room's timers around `mutate`, which may change the room or its activity.
  void UpdateRoomTimers(const Sid& room_sid, const std::function<void()>& mutate);

  // Index entries that point at records instead of copying their keys. The pointed-to
  // containers are node-based, so pointers stay valid until the record is erased.
  //
  // (room_sid, identity) of an active participant, or its record.
  struct IdentityKey {
    const Sid& room_sid;
    absl::string_view identity;
  };
  struct IdentityHash {
    using is_transparent = void;
    size_t operator()(const IdentityKey& key) const {
      return absl::Hash<std::pair<Sid, absl::string_view>>()({key.room_sid, key.identity});
    }
    size_t operator()(const Participant* p) const {
      return (*this)(IdentityKey{p->room_sid, p->identity});
    }
  };
  struct IdentityEq {
    using is_transparent = void;
    static IdentityKey Key(const IdentityKey& key) { return key; }
    static IdentityKey Key(const Participant* p) { return {p->room_sid, p->identity}; }
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      const IdentityKey x = Key(a);
      const IdentityKey y = Key(b);
      return x.room_sid == y.room_sid && x.identity == y.identity;
    }
  };
  // A remembered event (--dedupe_window) in 64 bytes, where a DedupeEntry in a node with its
  // event_id and an expiry index took about 190: at a million participants that is the largest
  // share of the roster after the records themselves. The key is a 128-bit digest of (account,
  // event_id), two independent 64-bit hashes (absl::Hash with different salts), so two ids
  // collide with probability about 2^-128 per pair, and only within one account. The digest need
  // not be stable across restarts: the store keeps the event ids, and Restore digests them again.
  struct EventDigest {
    uint64_t high = 0;
    uint64_t low = 0;
    static EventDigest Of(const Sid& account_sid, absl::string_view event_id);
    template <typename H>
    friend H AbslHashValue(H h, const EventDigest& digest) {
      return H::combine(std::move(h), digest.low);  // already uniformly distributed
    }
    friend bool operator==(const EventDigest&, const EventDigest&) = default;
  };
  struct Remembered {
    uint64_t fingerprint = 0;
    uint64_t revision = 0;
    int64_t recorded_at = 0;   // unix nanoseconds
    Sid::Bytes participant{};  // all zero: none
  };

  Limits limits_;
  uint64_t revision_ = 0;
  size_t active_total_ = 0;
  bool restoring_ = false;  // between BeginRestore and FinishRestore

  // Node-based: a record's address is stable (active_by_identity_ points at them).
  absl::node_hash_map<Sid, Participant> participants_;
  absl::flat_hash_map<Sid, Room> rooms_;
  absl::flat_hash_map<Sid, RoomActivity> activity_;
  absl::flat_hash_map<Sid, AccountUsage> usage_;  // by account
  NameMap<Sid> in_progress_by_name_;              // (account, unique_name) -> room
  // Active participants by (room, identity).
  absl::flat_hash_set<const Participant*, IdentityHash, IdentityEq> active_by_identity_;
  absl::btree_set<OrderKey> participants_by_account_;
  absl::btree_set<OrderKey> participants_by_room_;
  absl::btree_set<OrderKey> rooms_by_account_;
  absl::btree_set<Timer> timers_;
  // Remembered events. Expiry walks them all, but only when the oldest is due (oldest_event_).
  absl::flat_hash_map<EventDigest, Remembered> dedupe_;
  int64_t oldest_event_ = std::numeric_limits<int64_t>::max();  // recorded_at, unix nanoseconds

  // Tracks (state/roster_tracks.cc). Every track, published or not, until its room expires.
  absl::node_hash_map<Sid, PublishedTrack> tracks_;
  absl::btree_set<OrderKey> tracks_by_room_;         // (room, date_created, sid), published only
  absl::btree_set<OrderKey> tracks_by_participant_;  // (participant, date_created, sid), all
  size_t published_total_ = 0;
  absl::flat_hash_map<Sid, SubscribeRules> rules_;  // only participants with a non-default set
  // (subscriber, track) -> subscription.
  absl::btree_map<std::pair<Sid, Sid>, SubscribedTrack> subscriptions_;
};

}  // namespace rollcall::state

#endif  // ROLLCALL_STATE_ROSTER_H_
