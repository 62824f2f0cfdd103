#include "service/callback_params.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace rollcall::service {
namespace {

std::string Timestamp(absl::Time time) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", time, absl::UTCTimeZone());
}

absl::string_view RoomStatusName(state::RoomStatus status) {
  switch (status) {
    case state::RoomStatus::kInProgress:
      return "in-progress";
    case state::RoomStatus::kCompleted:
      return "completed";
    case state::RoomStatus::kFailed:
      return "failed";
    case state::RoomStatus::kUnspecified:
      break;
  }
  return "unknown";
}

// Twilio's participant statuses are connected and disconnected; a reconnecting participant is
// still connected to the room as far as its callbacks go.
absl::string_view ParticipantStatusName(state::ParticipantStatus status) {
  return status == state::ParticipantStatus::kDisconnected ? "disconnected" : "connected";
}

absl::string_view TrackKindName(state::TrackKind kind) {
  switch (kind) {
    case state::TrackKind::kAudio:
      return "audio";
    case state::TrackKind::kVideo:
      return "video";
    case state::TrackKind::kData:
      return "data";
    case state::TrackKind::kUnspecified:
      break;
  }
  return "unknown";
}

void AppendEncoded(absl::string_view text, std::string* out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (absl::ascii_isalnum(byte) || c == '-' || c == '.' || c == '_' || c == '~') {
      out->push_back(c);
    } else if (c == ' ') {
      out->push_back('+');
    } else {
      out->push_back('%');
      out->push_back(kHex[byte >> 4]);
      out->push_back(kHex[byte & 0xf]);
    }
  }
}

}  // namespace

FormParams CallbackParams(const state::Callback& callback) {
  const state::Room& room = callback.room;
  FormParams params = {
      {"AccountSid", room.account_sid.ToString()},
      {"RoomSid", room.sid.ToString()},
      // Twilio names a room without a unique name by its SID.
      {"RoomName", room.unique_name.empty() ? room.sid.ToString() : room.unique_name},
      {"RoomStatus", std::string(RoomStatusName(room.status))},
      {"RoomType", "group"},
      {"StatusCallbackEvent", std::string(state::CallbackEventName(callback.event))},
      {"Timestamp", Timestamp(callback.timestamp)},
      {"SequenceNumber", absl::StrCat(callback.sequence)},
  };
  if (callback.event == state::CallbackEvent::kRoomEnded) {
    params.emplace_back("RoomDuration", absl::StrCat(room.duration.value_or(0)));
  }
  if (const auto& participant = callback.participant) {
    params.emplace_back("ParticipantSid", participant->sid.ToString());
    params.emplace_back("ParticipantIdentity", participant->identity);
    params.emplace_back("ParticipantStatus",
                        std::string(ParticipantStatusName(participant->status)));
    if (callback.event == state::CallbackEvent::kParticipantDisconnected) {
      params.emplace_back("ParticipantDuration", absl::StrCat(participant->duration.value_or(0)));
    }
  }
  if (const auto& track = callback.track) {
    params.emplace_back("TrackSid", track->sid.ToString());
    params.emplace_back("TrackName", track->name);
    params.emplace_back("TrackKind", std::string(TrackKindName(track->kind)));
  }
  std::sort(params.begin(), params.end());
  return params;
}

std::string FormEncode(const FormParams& params) {
  std::string out;
  for (const auto& [name, value] : params) {
    if (!out.empty()) out.push_back('&');
    AppendEncoded(name, &out);
    out.push_back('=');
    AppendEncoded(value, &out);
  }
  return out;
}

std::string TwilioSignature(absl::string_view auth_token, absl::string_view url,
                            const FormParams& sorted_params) {
  std::string data(url);
  for (const auto& [name, value] : sorted_params) absl::StrAppend(&data, name, value);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha1(), auth_token.data(), static_cast<int>(auth_token.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest, &length);
  return absl::Base64Escape(
      absl::string_view(reinterpret_cast<const char*>(digest), static_cast<size_t>(length)));
}

}  // namespace rollcall::service
