// How requests name rooms and participants, shared by the machine (writes) and the service's
// read paths, so both resolve a name the same way and fail with the same messages.
#ifndef ROLLCALL_STATE_LOOKUP_H_
#define ROLLCALL_STATE_LOOKUP_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "state/records.h"
#include "state/roster_view.h"
#include "state/sid.h"

namespace rollcall::state {

// Resolves a room reference (SID, or unique name of an in-progress room) within an account.
// INVALID_ARGUMENT for a malformed reference, NOT_FOUND when no such room is visible.
absl::StatusOr<const Room*> FindRoomByReference(const RosterView& roster, const Sid& account_sid,
                                                absl::string_view reference,
                                                absl::string_view field);

// True when `reference` (SID or unique name) names the participant's room.
bool InRoom(const RosterView& roster, const Participant& participant, absl::string_view reference);

// Finds the participant a request names by SID; `room`, when not empty, must be its room.
absl::StatusOr<const Participant*> FindNamedParticipant(
    const RosterView& roster, const Sid& account_sid, absl::string_view room,
    absl::string_view participant_sid, absl::string_view room_field, absl::string_view sid_field);

// A 64-bit FNV-1a hash, length-prefixed, stable across processes: for fingerprints and tokens.
inline constexpr uint64_t kStableHashSeed = 0xcbf29ce484222325ULL;
uint64_t StableHash(absl::string_view bytes, uint64_t hash = kStableHashSeed);

}  // namespace rollcall::state

#endif  // ROLLCALL_STATE_LOOKUP_H_
