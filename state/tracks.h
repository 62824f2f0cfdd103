// The track events (TRACK_PUBLISHED, TRACK_UNPUBLISHED, TRACK_ENABLED, TRACK_DISABLED) and
// UpdateSubscribeRules, decided under RoomMachine's contract (docs/tracks.md has the table).
// RoomMachine validates events and handles event_id deduplication before calling here.
#ifndef ROLLCALL_STATE_TRACKS_H_
#define ROLLCALL_STATE_TRACKS_H_

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "state/records.h"
#include "state/roster_view.h"

namespace rollcall::state {

// A validated TRACK_* event that is not a duplicate. kApplied and kIgnored outcomes carry the
// participant and (when it exists) the track.
absl::StatusOr<Outcome> DecideTrackEvent(const RosterView& roster, const Event& event,
                                         absl::Time now);

// Replaces a participant's whole rule set. kApplied and kIgnored (the same set again) carry
// the participant and the set.
absl::StatusOr<Outcome> DecideUpdateSubscribeRules(const RosterView& roster,
                                                   const UpdateSubscribeRules& command,
                                                   absl::Time now);

}  // namespace rollcall::state

#endif  // ROLLCALL_STATE_TRACKS_H_
