#include "state/validation.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "state/sid.h"
#include "state/status_macros.h"

namespace rollcall::state {
namespace {

absl::Status Invalid(absl::string_view field, absl::string_view rule) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", rule));
}

absl::Status ValidateRange(int64_t value, int64_t low, int64_t high, absl::string_view field,
                           absl::string_view unit) {
  if (value < low || value > high) {
    return Invalid(
        field, absl::StrCat("must be between ", low, " and ", high, " ", unit, ", got ", value));
  }
  return absl::OkStatus();
}

}  // namespace

bool IsCleanUtf8(absl::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto byte = static_cast<unsigned char>(text[i]);
    uint32_t code_point = 0;
    size_t length = 0;
    if (byte < 0x80) {
      code_point = byte;
      length = 1;
    } else if ((byte & 0xE0) == 0xC0) {
      code_point = byte & 0x1F;
      length = 2;
    } else if ((byte & 0xF0) == 0xE0) {
      code_point = byte & 0x0F;
      length = 3;
    } else if ((byte & 0xF8) == 0xF0) {
      code_point = byte & 0x07;
      length = 4;
    } else {
      return false;
    }
    if (i + length > text.size()) return false;
    for (size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80) return false;
      code_point = (code_point << 6) | (next & 0x3F);
    }
    static constexpr uint32_t kMinForLength[] = {0, 0, 0x80, 0x800, 0x10000};
    if (code_point < kMinForLength[length]) return false;  // overlong
    if (code_point > 0x10FFFF) return false;
    if (code_point >= 0xD800 && code_point <= 0xDFFF) return false;  // surrogate
    if (code_point < 0x20 || (code_point >= 0x7F && code_point <= 0x9F)) return false;
    i += length;
  }
  return true;
}

absl::Status ValidateText(absl::string_view text, size_t max_bytes, absl::string_view field) {
  if (text.empty()) return Invalid(field, "is required");
  if (text.size() > max_bytes) {
    return Invalid(field, absl::StrCat("must be at most ", max_bytes, " bytes, got ", text.size()));
  }
  if (!IsCleanUtf8(text)) {
    return Invalid(field, "must be valid UTF-8 without control characters");
  }
  return absl::OkStatus();
}

absl::Time EarliestEventTime() { return absl::FromUnixSeconds(946684800); }  // 2000-01-01

bool LooksLikeRoomSid(absl::string_view room) {
  return room.size() == Sid::kTextLength && absl::StartsWith(room, kRoomPrefix);
}

absl::Status ValidateRoomReference(absl::string_view room, absl::string_view field) {
  if (room.empty()) return Invalid(field, "is required (a room SID or unique name)");
  if (LooksLikeRoomSid(room)) return Sid::Parse(room, kRoomPrefix, field).status();
  return ValidateText(room, kMaxUniqueNameBytes, field);
}

absl::Status ValidateEvent(const Event& event, const Limits& limits, absl::Time now) {
  RETURN_IF_ERROR(ValidateText(event.event_id, kMaxEventIdBytes, "event.event_id"));
  if (event.type == EventType::kUnspecified) return Invalid("event.type", "is required");
  if (static_cast<int>(event.type) > kMaxEventType) {
    return Invalid("event.type", "is not a known event type");
  }
  if (!event.occurred_at.has_value()) return Invalid("event.occurred_at", "is required");
  if (*event.occurred_at < EarliestEventTime()) {
    return Invalid("event.occurred_at", "must not be before 2000-01-01T00:00:00Z");
  }
  if (*event.occurred_at > now + limits.max_clock_skew) {
    return Invalid("event.occurred_at", absl::StrCat("must not be more than ",
                                                     absl::FormatDuration(limits.max_clock_skew),
                                                     " ahead of the server clock"));
  }
  RETURN_IF_ERROR(ValidateRoomReference(event.room, "event.room"));
  const bool connected = event.type == EventType::kConnected;
  if (!connected || !event.participant_sid.empty()) {
    RETURN_IF_ERROR(
        Sid::Parse(event.participant_sid, kParticipantPrefix, "event.participant_sid").status());
  }
  if (connected || !event.identity.empty()) {
    RETURN_IF_ERROR(ValidateText(event.identity, kMaxIdentityBytes, "event.identity"));
  }
  if (static_cast<int>(event.reason) > kMaxDisconnectReason) {
    return Invalid("event.reason", "is not a known disconnect reason");
  }
  if (event.reason != DisconnectReason::kUnspecified && event.type != EventType::kDisconnected) {
    return Invalid("event.reason", "is only allowed on PARTICIPANT_DISCONNECTED events");
  }
  return ValidateTrackFields(event);
}

absl::Status ValidateTrackFields(const Event& event) {
  const bool track_event = IsTrackEvent(event.type);
  const bool published = event.type == EventType::kTrackPublished;
  if (!track_event) {
    if (!event.track_sid.empty() || !event.track_name.empty() ||
        event.track_kind != TrackKind::kUnspecified || event.track_enabled.has_value()) {
      return Invalid("event.track_sid", "track fields are only allowed on TRACK_* events");
    }
    return absl::OkStatus();
  }
  RETURN_IF_ERROR(Sid::Parse(event.track_sid, kTrackPrefix, "event.track_sid").status());
  if (published || !event.track_name.empty()) {
    RETURN_IF_ERROR(ValidateText(event.track_name, kMaxTrackNameBytes, "event.track_name"));
  }
  if (static_cast<int>(event.track_kind) > kMaxTrackKind) {
    return Invalid("event.track_kind", "must be audio, video or data");
  }
  if (published && event.track_kind == TrackKind::kUnspecified) {
    return Invalid("event.track_kind", "is required on TRACK_PUBLISHED (audio, video or data)");
  }
  if (!published && event.track_enabled.has_value()) {
    return Invalid("event.track_enabled",
                   "is only allowed on TRACK_PUBLISHED (TRACK_ENABLED and TRACK_DISABLED say it)");
  }
  return absl::OkStatus();
}

absl::Status ValidateCreateRoom(const CreateRoom& command, const Limits& limits) {
  if (!command.unique_name.empty()) {
    RETURN_IF_ERROR(ValidateText(command.unique_name, kMaxUniqueNameBytes, "unique_name"));
    if (LooksLikeRoomSid(command.unique_name)) {
      return Invalid("unique_name", "must not look like a room SID (RM + 32 characters)");
    }
  }
  if (command.max_participants) {
    RETURN_IF_ERROR(ValidateRange(*command.max_participants, 1, limits.max_room_participants,
                                  "max_participants", "participants"));
  }
  if (command.max_participant_duration) {
    RETURN_IF_ERROR(ValidateRange(*command.max_participant_duration, kMinMaxParticipantDuration,
                                  kMaxMaxParticipantDuration, "max_participant_duration",
                                  "seconds"));
  }
  if (command.empty_room_timeout) {
    RETURN_IF_ERROR(ValidateRange(*command.empty_room_timeout, kMinRoomTimeout, kMaxRoomTimeout,
                                  "empty_room_timeout", "minutes"));
  }
  if (command.unused_room_timeout) {
    RETURN_IF_ERROR(ValidateRange(*command.unused_room_timeout, kMinRoomTimeout, kMaxRoomTimeout,
                                  "unused_room_timeout", "minutes"));
  }
  if (!command.status_callback.empty()) {
    const absl::string_view url = command.status_callback;
    if (url.size() > kMaxCallbackUrlBytes) {
      return Invalid("status_callback",
                     absl::StrCat("must be at most ", kMaxCallbackUrlBytes, " bytes"));
    }
    const bool http = absl::StartsWith(url, "http://") && url.size() > 7;
    const bool https = absl::StartsWith(url, "https://") && url.size() > 8;
    if ((!http && !https) || !IsCleanUtf8(url) || absl::StrContains(url, ' ')) {
      return Invalid("status_callback", "must be an absolute http:// or https:// URL");
    }
  }
  if (!command.status_callback_method.empty() && command.status_callback_method != "GET" &&
      command.status_callback_method != "POST") {
    return Invalid("status_callback_method", "must be GET or POST");
  }
  return absl::OkStatus();
}

}  // namespace rollcall::state
