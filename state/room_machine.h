// RoomMachine: the rules of docs/api.md, state table as one decision function.
//
// Contract:
// - Decide(roster, input, now) reads the roster and returns either an error status or an
//   Outcome. It never modifies the roster; Roster::Commit (or PendingRoster::Commit) applies a
//   kApplied outcome.
// - Deterministic: the same roster, input, `now` and IdSource sequence give the same result.
//   The only side effect is drawing new SIDs from the IdSource.
// - All-or-nothing: on error nothing is to be applied, and the roster is untouched anyway.
//   Errors carry the gRPC-style code of §4 (INVALID_ARGUMENT naming the field and rule,
//   NOT_FOUND, FAILED_PRECONDITION, RESOURCE_EXHAUSTED, ALREADY_EXISTS).
// - Outcomes: kApplied has revision = roster.revision() + 1 and every change in order (for a
//   duplicate identity the old session's disconnect comes first; for a room end every
//   participant's disconnect, then the room's). kDuplicate returns the original revision and
//   the participant's current record. kIgnored returns the current revision and record.
//
// Decisions beyond the state table of docs/api.md, recorded in docs/decisions.md:
// - DISCONNECTED is terminal: it applies to an active participant even when its occurred_at
//   is older than the last applied event (it is never "stale" while the session is live).
// - end_time is never before start_time: it is clamped, so duration is never negative.
// - Only applied events are remembered for deduplication; an ignored event may be retried and
//   is ignored again.
#ifndef ROLLCALL_STATE_ROOM_MACHINE_H_
#define ROLLCALL_STATE_ROOM_MACHINE_H_

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "state/records.h"
#include "state/roster_view.h"
#include "state/sid.h"

namespace rollcall::state {

class RoomMachine {
 public:
  explicit RoomMachine(IdSource& ids) : ids_(ids) {}

  absl::StatusOr<Outcome> Decide(const RosterView& roster, const Input& input,
                                 absl::Time now) const;

  // The content hash stored with a dedupe key: equal for a retry, different for a reused id.
  static uint64_t Fingerprint(const Event& event);

 private:
  IdSource& ids_;
};

}  // namespace rollcall::state

#endif  // ROLLCALL_STATE_ROOM_MACHINE_H_
