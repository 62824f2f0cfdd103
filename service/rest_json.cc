#include "service/rest_json.h"

#include <type_traits>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/time.h"

namespace rollcall::service::rest {
namespace {

Json TextOrNull(const std::string& text) { return text.empty() ? Json(nullptr) : Json(text); }

// "ROOM_STATUS_IN_PROGRESS" with prefix "ROOM_STATUS_" → "in-progress".
std::string EnumName(const std::string& full, absl::string_view prefix) {
  std::string name = full.substr(std::min(full.size(), prefix.size()));
  absl::AsciiStrToLower(&name);
  return absl::StrReplaceAll(name, {{"_", "-"}});
}

}  // namespace

Json Date(bool set, const google::protobuf::Timestamp& time) {
  if (!set) return nullptr;
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixSeconds(time.seconds()),
                          absl::UTCTimeZone());
}

std::string RoomStatusName(v1::RoomStatus status) {
  return EnumName(v1::RoomStatus_Name(status), "ROOM_STATUS_");
}

std::string ParticipantStatusName(v1::ParticipantStatus status) {
  return EnumName(v1::ParticipantStatus_Name(status), "PARTICIPANT_STATUS_");
}

std::string TrackKindName(v1::TrackKind kind) {
  return EnumName(v1::TrackKind_Name(kind), "TRACK_KIND_");
}

Json RoomJson(const v1::Room& room) {
  Json json;
  json["sid"] = room.sid();
  json["status"] = RoomStatusName(room.status());
  json["date_created"] = Date(room.has_date_created(), room.date_created());
  json["date_updated"] = Date(room.has_date_updated(), room.date_updated());
  json["account_sid"] = room.account_sid();
  json["enable_turn"] = true;
  // Twilio names a room without a unique name by its SID.
  json["unique_name"] = room.unique_name().empty() ? room.sid() : room.unique_name();
  json["status_callback"] = TextOrNull(room.status_callback());
  json["status_callback_method"] =
      room.status_callback_method().empty() ? "POST" : room.status_callback_method();
  json["end_time"] = Date(room.has_end_time(), room.end_time());
  json["duration"] = room.has_duration() ? Json(room.duration()) : Json(nullptr);
  json["type"] = "group";
  json["max_participants"] = room.max_participants();
  json["max_participant_duration"] = room.max_participant_duration();
  json["max_concurrent_published_tracks"] = nullptr;
  json["record_participants_on_connect"] = false;
  json["video_codecs"] = nullptr;
  json["media_region"] = nullptr;
  json["audio_only"] = false;
  json["empty_room_timeout"] = room.empty_room_timeout();
  json["unused_room_timeout"] = room.unused_room_timeout();
  json["large_room"] = false;
  json["url"] = room.url();
  json["links"] = {{"participants", room.links().participants()}};
  return json;
}

Json AnonymizeJson(const v1::Participant& participant) {
  Json json;
  json["sid"] = participant.sid();
  json["room_sid"] = participant.room_sid();
  json["account_sid"] = participant.account_sid();
  json["status"] = ParticipantStatusName(participant.status());
  json["identity"] = participant.identity();
  json["date_created"] = Date(participant.has_date_created(), participant.date_created());
  json["date_updated"] = Date(participant.has_date_updated(), participant.date_updated());
  json["start_time"] = Date(participant.has_start_time(), participant.start_time());
  json["end_time"] = Date(participant.has_end_time(), participant.end_time());
  json["duration"] = participant.has_duration() ? Json(participant.duration()) : Json(nullptr);
  json["url"] = participant.url();
  return json;
}

Json ParticipantJson(const v1::Participant& participant) {
  Json json = AnonymizeJson(participant);
  const v1::ParticipantLinks& links = participant.links();
  json["links"] = {{"published_tracks", links.published_tracks()},
                   {"subscribed_tracks", links.subscribed_tracks()},
                   {"subscribe_rules", links.subscribe_rules()},
                   {"anonymize", links.anonymize()}};
  return json;
}

template <typename Track>
Json TrackJson(const Track& track) {
  Json json;
  json["sid"] = track.sid();
  json["participant_sid"] = track.participant_sid();
  if constexpr (std::is_same_v<Track, v1::SubscribedTrack>) {
    json["publisher_sid"] = track.publisher_sid();
  }
  json["room_sid"] = track.room_sid();
  json["name"] = track.name();
  json["date_created"] = Date(track.has_date_created(), track.date_created());
  json["date_updated"] = Date(track.has_date_updated(), track.date_updated());
  json["enabled"] = track.enabled();
  json["kind"] = TrackKindName(track.kind());
  json["url"] = track.url();
  return json;
}
template Json TrackJson(const v1::PublishedTrack& track);
template Json TrackJson(const v1::SubscribedTrack& track);

Json SubscribeRulesJson(const v1::SubscribeRules& rules) {
  Json list = Json::array();
  for (const v1::SubscribeRule& rule : rules.rules()) {
    Json item;
    item["type"] = rule.type() == v1::SUBSCRIBE_RULE_TYPE_EXCLUDE ? "exclude" : "include";
    if (rule.all()) item["all"] = true;
    if (rule.kind() != v1::TRACK_KIND_UNSPECIFIED) item["kind"] = TrackKindName(rule.kind());
    if (!rule.publisher().empty()) item["publisher"] = rule.publisher();
    if (!rule.track().empty()) item["track"] = rule.track();
    list.push_back(std::move(item));
  }
  Json json;
  json["participant_sid"] = rules.participant_sid();
  json["room_sid"] = rules.room_sid();
  json["rules"] = std::move(list);
  json["date_created"] = Date(rules.has_date_created(), rules.date_created());
  json["date_updated"] = Date(rules.has_date_updated(), rules.date_updated());
  return json;
}

HttpResponse JsonResponse(int status, const Json& body) {
  HttpResponse response;
  response.status = status;
  response.body = body.dump();
  return response;
}

int CodeOfStatus(int status) {
  switch (status) {
    case 403:
      return 20403;
    case 429:
      return 20429;
    case 503:
      return 20503;
    default:
      return 20001;
  }
}

HttpResponse ErrorResponse(int status, int code, const std::string& message) {
  Json body;
  body["code"] = code;
  body["message"] = message;
  body["more_info"] = absl::StrCat("https://www.twilio.com/docs/errors/", code);
  body["status"] = status;
  HttpResponse response = JsonResponse(status, body);
  if (status == 401) {
    response.headers.emplace_back("WWW-Authenticate", "Basic realm=\"rollcall\"");
  }
  return response;
}

}  // namespace rollcall::service::rest
