// Input validation shared by the machine and the edges. Every error is INVALID_ARGUMENT with a
// message "<field>: <rule>", so a caller can tell which field broke which rule.
#ifndef ROLLCALL_STATE_VALIDATION_H_
#define ROLLCALL_STATE_VALIDATION_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "state/limits.h"
#include "state/records.h"

namespace rollcall::state {

// Valid UTF-8 (no overlongs, surrogates or code points past U+10FFFF) without control
// characters (C0, DEL, C1).
bool IsCleanUtf8(absl::string_view text);

// 1..max_bytes bytes of clean UTF-8.
absl::Status ValidateText(absl::string_view text, size_t max_bytes, absl::string_view field);

// Earliest occurred_at accepted: 2000-01-01T00:00:00Z. Anything older is a broken clock.
absl::Time EarliestEventTime();

// Checks an event's fields alone (no state): presence, lengths, formats, enum ranges, time range.
absl::Status ValidateEvent(const Event& event, const Limits& limits, absl::Time now);

// The track_* fields of an event: required and checked on TRACK_* events, absent on others.
absl::Status ValidateTrackFields(const Event& event);

absl::Status ValidateCreateRoom(const CreateRoom& command, const Limits& limits);

// True when `room` has the shape of a room SID (RM + 32 characters), so it is never a name.
bool LooksLikeRoomSid(absl::string_view room);

// `room` as a reference in a request: required; a SID when it looks like one, else a name.
absl::Status ValidateRoomReference(absl::string_view room, absl::string_view field);

}  // namespace rollcall::state

#endif  // ROLLCALL_STATE_VALIDATION_H_
