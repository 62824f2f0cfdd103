// Server-wide rules the machine enforces: the flags of docs/api.md, resources and state table and
// §7 that shape state.
#ifndef ROLLCALL_STATE_LIMITS_H_
#define ROLLCALL_STATE_LIMITS_H_

#include <cstdint>

#include "absl/time/time.h"

namespace rollcall::state {

struct Limits {
  int32_t max_room_participants = 50;  // --max_room_participants: ceiling of max_participants
  absl::Duration reconnect_timeout = absl::Seconds(30);  // --reconnect_timeout
  absl::Duration max_room_duration = absl::Hours(24);    // --max_room_duration
  // How far ahead of the server clock an event's occurred_at may be (media servers' clocks skew).
  absl::Duration max_clock_skew = absl::Minutes(10);
  // Per-account quotas (Twilio's are 10,000 each): past them a new room or a new active
  // participant is RESOURCE_EXHAUSTED, so one tenant cannot fill the server's memory.
  int64_t max_account_rooms = 10000;         // --max_account_rooms: rooms in progress
  int64_t max_account_participants = 10000;  // --max_account_participants: active participants
  int32_t max_tracks_per_participant = 64;   // --max_tracks_per_participant: published at once
};

// Room defaults and bounds (docs/api.md, resources).
inline constexpr int32_t kDefaultMaxParticipants = 50;
inline constexpr int64_t kDefaultMaxParticipantDuration = 14400;  // seconds
inline constexpr int64_t kMinMaxParticipantDuration = 600;
inline constexpr int64_t kMaxMaxParticipantDuration = 86400;
inline constexpr int32_t kDefaultRoomTimeout = 5;  // minutes, empty and unused alike
inline constexpr int32_t kMinRoomTimeout = 1;
inline constexpr int32_t kMaxRoomTimeout = 60;
inline constexpr size_t kMaxIdentityBytes = 128;
inline constexpr size_t kMaxUniqueNameBytes = 128;
inline constexpr size_t kMaxEventIdBytes = 128;
inline constexpr size_t kMaxCallbackUrlBytes = 2048;
inline constexpr size_t kMaxTrackNameBytes = 128;
inline constexpr size_t kMaxSubscribeRules = 20;  // an UpdateSubscribeRules set holds 1..20

}  // namespace rollcall::state

#endif  // ROLLCALL_STATE_LIMITS_H_
