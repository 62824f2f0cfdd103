// The REST face's wire shapes (docs/rest.md): rollcall.v1 messages rendered as Twilio Video v1
// JSON — snake_case keys in Twilio's order, ISO 8601 UTC dates to the second, lowercase enum
// values, null for what is unset — and Twilio's error body {code, message, more_info, status}.
// Pure functions; the HTTP and routing parts are in service/rest_api.h.
#ifndef ROLLCALL_SERVICE_REST_JSON_H_
#define ROLLCALL_SERVICE_REST_JSON_H_

#include <string>

#include "google/protobuf/timestamp.pb.h"
#include "nlohmann/json.hpp"
#include "rollcall/v1/participant.pb.h"
#include "rollcall/v1/room.pb.h"
#include "rollcall/v1/track.pb.h"
#include "service/rest_http.h"

namespace rollcall::service::rest {

using Json = nlohmann::ordered_json;

// "2015-07-30T20:00:00Z", or null when unset.
Json Date(bool set, const google::protobuf::Timestamp& time);

Json RoomJson(const v1::Room& room);
Json ParticipantJson(const v1::Participant& participant);
// The Anonymize resource: the participant without links.
Json AnonymizeJson(const v1::Participant& participant);
// A PublishedTrack, or a SubscribedTrack (which adds publisher_sid).
template <typename Track>
Json TrackJson(const Track& track);
Json SubscribeRulesJson(const v1::SubscribeRules& rules);

// "in-progress", "connected", "video", … (Twilio's spelling of rollcall's enums).
std::string RoomStatusName(v1::RoomStatus status);
std::string ParticipantStatusName(v1::ParticipantStatus status);
std::string TrackKindName(v1::TrackKind kind);

// Twilio's code for an answer the HTTP layer gives by itself: 403 → 20403, 429 → 20429,
// 503 → 20503, anything else (413) → 20001.
int CodeOfStatus(int status);
// Twilio's error body with `status` as the HTTP status.
HttpResponse ErrorResponse(int status, int code, const std::string& message);
// A JSON body with `status`.
HttpResponse JsonResponse(int status, const Json& body);

}  // namespace rollcall::service::rest

#endif  // ROLLCALL_SERVICE_REST_JSON_H_
