// RosterView: what RoomMachine reads to decide an input. Roster implements it for committed
// state; PendingRoster implements it for "committed state plus the batch decided so far", so
// the applier can decide a whole batch before one fsync without exposing any of it to readers.
#ifndef ROLLCALL_STATE_ROSTER_VIEW_H_
#define ROLLCALL_STATE_ROSTER_VIEW_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "state/limits.h"
#include "state/records.h"
#include "state/sid.h"

namespace rollcall::state {

// Who is and was in a room, derived from its participants.
struct RoomActivity {
  int32_t active = 0;                        // CONNECTED or RECONNECTING participants
  int64_t sessions = 0;                      // participants ever created in the room
  std::optional<absl::Time> last_departure;  // server time the latest one became inactive
};

// What an account holds now, for its quotas (Limits::max_account_*).
struct AccountUsage {
  int64_t rooms_in_progress = 0;
  int64_t active_participants = 0;
};

class RosterView {
 public:
  virtual ~RosterView() = default;

  virtual const Limits& limits() const = 0;
  virtual uint64_t revision() const = 0;
  virtual const Room* FindRoom(const Sid& room_sid) const = 0;
  virtual const Room* FindInProgressRoomByName(const Sid& account_sid,
                                               absl::string_view name) const = 0;
  virtual const Participant* FindParticipant(const Sid& participant_sid) const = 0;
  virtual const Participant* FindActiveByIdentity(const Sid& room_sid,
                                                  absl::string_view identity) const = 0;
  virtual RoomActivity Activity(const Sid& room_sid) const = 0;
  virtual AccountUsage Usage(const Sid& account_sid) const = 0;
  // Active participants of a room in (date_created, sid) order.
  virtual std::vector<const Participant*> ActiveParticipants(const Sid& room_sid) const = 0;
  // The remembered event (--dedupe_window), by value: the roster keeps them compactly.
  virtual std::optional<DedupeEntry> FindDedupe(const Sid& account_sid,
                                                absl::string_view event_id) const = 0;

  // Tracks and subscriptions (docs/tracks.md).
  virtual const PublishedTrack* FindTrack(const Sid& track_sid) const = 0;
  // The room's published (not unpublished) tracks in (date_created, sid) order.
  virtual std::vector<const PublishedTrack*> PublishedTracks(const Sid& room_sid) const = 0;
  // The participant's stored rules; nullptr when it has the default set.
  virtual const SubscribeRules* FindRules(const Sid& participant_sid) const = 0;
  // The participant's subscribed tracks in track SID order.
  virtual std::vector<const SubscribedTrack*> SubscribedTracks(const Sid& subscriber_sid) const = 0;

  // The timers a record implies (docs/api.md, state table), derived from the records alone.
  std::vector<Timer> TimersOf(const Participant& participant) const;
  std::vector<Timer> TimersOf(const Room& room) const;
};

}  // namespace rollcall::state

#endif  // ROLLCALL_STATE_ROSTER_VIEW_H_
