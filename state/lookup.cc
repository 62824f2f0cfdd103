#include "state/lookup.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "state/status_macros.h"
#include "state/validation.h"

namespace rollcall::state {
namespace {

absl::Status NotFound(absl::string_view field, absl::string_view what, absl::string_view which) {
  return absl::NotFoundError(absl::StrCat(field, ": ", what, " ", which, " not found"));
}

}  // namespace

// Resolves a room reference (SID or in-progress unique name) within an account.
absl::StatusOr<const Room*> FindRoomByReference(const RosterView& roster, const Sid& account_sid,
                                                absl::string_view reference,
                                                absl::string_view field) {
  RETURN_IF_ERROR(ValidateRoomReference(reference, field));
  const Room* room = nullptr;
  if (LooksLikeRoomSid(reference)) {
    ASSIGN_OR_RETURN(Sid sid, Sid::Parse(reference, kRoomPrefix, field));
    room = roster.FindRoom(sid);
  } else {
    room = roster.FindInProgressRoomByName(account_sid, reference);
  }
  if (room == nullptr || room->account_sid != account_sid) {
    return NotFound(field, "room", reference);
  }
  return room;
}

// True when `reference` (SID or unique name) names the participant's room.
bool InRoom(const RosterView& roster, const Participant& participant, absl::string_view reference) {
  if (LooksLikeRoomSid(reference)) {
    std::optional<Sid> sid = Sid::TryParse(reference, kRoomPrefix);
    return sid && *sid == participant.room_sid;
  }
  const Room* room = roster.FindRoom(participant.room_sid);
  return room != nullptr && room->unique_name == reference;
}

// Finds the participant a request names. `room` may be empty (any room) unless required.
absl::StatusOr<const Participant*> FindNamedParticipant(
    const RosterView& roster, const Sid& account_sid, absl::string_view room,
    absl::string_view participant_sid, absl::string_view room_field, absl::string_view sid_field) {
  // Malformed beats missing: validate both fields before looking anything up.
  ASSIGN_OR_RETURN(Sid sid, Sid::Parse(participant_sid, kParticipantPrefix, sid_field));
  if (!room.empty()) RETURN_IF_ERROR(ValidateRoomReference(room, room_field));
  const Participant* participant = roster.FindParticipant(sid);
  if (participant == nullptr || participant->account_sid != account_sid) {
    return NotFound(sid_field, "participant", participant_sid);
  }
  if (!room.empty()) {
    if (!InRoom(roster, *participant, room)) {
      return absl::NotFoundError(
          absl::StrCat(room_field, ": participant ", participant_sid, " is not in room ", room));
    }
  }
  return participant;
}

uint64_t StableHash(absl::string_view bytes, uint64_t hash) {
  // FNV-1a, length-prefixed so field boundaries count. Stable across builds and restarts.
  const uint64_t length = bytes.size();
  for (int i = 0; i < 8; ++i) {
    hash = (hash ^ ((length >> (8 * i)) & 0xff)) * 0x100000001b3ULL;
  }
  for (const char c : bytes) hash = (hash ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
  return hash;
}

}  // namespace rollcall::state
