// Roster: the in-memory model of every room and participant, with the indexes the machine and
// the read paths need. It holds state; it decides nothing. RoomMachine reads it to decide an
// input, and Commit applies the decided Outcome. Timers are derived here from the records
// (DESIGN.md §4), so restoring the records restores the timers.
//
// Not thread-safe: the service guards it (one writer, many readers under a shared lock).
#ifndef ROLLCALL_STATE_ROSTER_H_
#define ROLLCALL_STATE_ROSTER_H_

#include <compare>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "state/limits.h"
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
  std::vector<const Participant*> ActiveParticipants(const Sid& room_sid) const override;
  const DedupeEntry* FindDedupe(const Sid& account_sid, absl::string_view event_id) const override;

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

  // Restoring from storage: records in any order, then the revision.
  void Restore(const Participant& participant) { Upsert(participant); }
  void Restore(const Room& room) { Upsert(room); }
  void Restore(const DedupeEntry& entry) { RememberEvent(entry); }
  void RestoreRevision(uint64_t revision) { revision_ = revision; }

  // Forgets event_ids recorded before `cutoff` (--dedupe_window). Returns the forgotten entries.
  std::vector<DedupeEntry> ExpireDedupe(absl::Time cutoff);
  // Removes rooms that ended before `cutoff`, and their participants (--retention).
  // Returns the removed room SIDs and participant SIDs.
  std::pair<std::vector<Sid>, std::vector<Sid>> ExpireRooms(absl::Time cutoff);

 private:
  using NameKey = std::pair<Sid, std::string>;        // (account or room, name or identity)
  using OrderKey = std::tuple<Sid, absl::Time, Sid>;  // (scope, date_created, sid)

  void Upsert(const Participant& participant);
  void Upsert(const Room& room);
  void RememberEvent(const DedupeEntry& entry);
  void AddTimers(const std::vector<Timer>& timers);
  void RemoveTimers(const std::vector<Timer>& timers);
  // Recomputes a room's timers around `mutate`, which may change the room or its activity.
  void UpdateRoomTimers(const Sid& room_sid, const std::function<void()>& mutate);

  Limits limits_;
  uint64_t revision_ = 0;
  size_t active_total_ = 0;

  absl::flat_hash_map<Sid, Participant> participants_;
  absl::flat_hash_map<Sid, Room> rooms_;
  absl::flat_hash_map<Sid, RoomActivity> activity_;
  absl::flat_hash_map<NameKey, Sid> in_progress_by_name_;  // (account, unique_name) -> room
  absl::flat_hash_map<NameKey, Sid> active_by_identity_;   // (room, identity) -> participant
  absl::btree_set<OrderKey> participants_by_account_;
  absl::btree_set<OrderKey> participants_by_room_;
  absl::btree_set<OrderKey> rooms_by_account_;
  absl::btree_set<Timer> timers_;
  absl::flat_hash_map<NameKey, DedupeEntry> dedupe_;  // (account, event_id) -> entry
  // (recorded_at, key), for expiry: ordered by time, whatever order entries arrive in.
  absl::btree_set<std::pair<absl::Time, NameKey>> dedupe_order_;
};

}  // namespace rollcall::state

#endif  // ROLLCALL_STATE_ROSTER_H_
