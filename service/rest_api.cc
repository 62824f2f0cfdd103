#include "service/rest_api.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <climits>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "service/rest_json.h"

namespace rollcall::service {

using rest::ErrorResponse;
using rest::Json;
using rest::JsonResponse;
using Pairs = std::vector<std::pair<std::string, std::string>>;

namespace {

// Twilio's codes (https://www.twilio.com/docs/api/errors) that rollcall answers.
constexpr int kInvalidParameter = 20001;  // no more specific code fits
constexpr int kAuthenticate = 20003;
constexpr int kMethodNotAllowed = 20004;
constexpr int kForbidden = 20403;
constexpr int kNotFound = 20404;
constexpr int kTooManyRequests = 20429;
constexpr int kInternal = 20500;
constexpr int kUnavailable = 20503;
constexpr int kRoomNameInvalid = 53100;
constexpr int kMaxParticipantsOutOfRange = 53107;
constexpr int kStatusCallbackMethodInvalid = 53110;
constexpr int kStatusCallbackInvalid = 53111;
constexpr int kRoomStatusInvalid = 53112;
constexpr int kRoomExists = 53113;
constexpr int kIdentityInvalid = 53200;
constexpr int kParticipantStatusInvalid = 53209;
constexpr int kSubscribeRulesInvalid = 53215;
constexpr int kDefaultPageSize = 50;

// A rollcall.v1 field an error message starts with, its REST parameter, and Twilio's code.
struct Field {
  absl::string_view grpc;
  absl::string_view rest;
  int code;
};
constexpr Field kFields[] = {
    {"unique_name", "UniqueName", kRoomNameInvalid},
    {"max_participants", "MaxParticipants", kMaxParticipantsOutOfRange},
    {"max_participant_duration", "MaxParticipantDuration", kInvalidParameter},
    {"empty_room_timeout", "EmptyRoomTimeout", kInvalidParameter},
    {"unused_room_timeout", "UnusedRoomTimeout", kInvalidParameter},
    {"status_callback_method", "StatusCallbackMethod", kStatusCallbackMethodInvalid},
    {"status_callback", "StatusCallback", kStatusCallbackInvalid},
    {"statuses", "Status", kInvalidParameter},
    {"status", "Status", kRoomStatusInvalid},  // kParticipantStatusInvalid on participants
    {"identity", "Identity", kIdentityInvalid},
    {"rules", "Rules", kSubscribeRulesInvalid},
    {"date_created_after", "DateCreatedAfter", kInvalidParameter},
    {"date_created_before", "DateCreatedBefore", kInvalidParameter},
    {"page_size", "PageSize", kInvalidParameter},
    {"page_token", "PageToken", kInvalidParameter},
    {"room", "RoomSid", kInvalidParameter},
    {"participant_sid", "ParticipantSid", kInvalidParameter},
    {"track_sid", "Sid", kInvalidParameter},
    {"track", "Sid", kInvalidParameter},
};

std::string UrlEncode(absl::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    if (absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
        c == '~') {
      out.push_back(c);
    } else {
      const auto byte = static_cast<unsigned char>(c);
      out.push_back('%');
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 15]);
    }
  }
  return out;
}

HttpResponse BadParameter(int code, absl::string_view message) {
  return ErrorResponse(400, code, std::string(message));
}

bool IsSid(absl::string_view text, absl::string_view prefix) {
  if (text.size() != 34 || !absl::StartsWith(text, prefix)) return false;
  for (const char c : text.substr(2)) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

}  // namespace

// One REST request on its way through: the path split after /v1/, the parameters (query, and
// the form body of a POST), and how its gRPC calls are made.
struct RestApi::Call {
  const HttpRequest& http;
  std::vector<std::string> segments;
  Pairs params;
  absl::Duration deadline;
  int status_code = kRoomStatusInvalid;  // Twilio's code for a bad `Status`

  std::optional<std::string> Param(absl::string_view name) const {
    for (const auto& [key, value] : params) {
      if (key == name) return value;
    }
    return std::nullopt;
  }

  void Prepare(grpc::ClientContext& context) const {
    context.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
    if (!http.authorization.empty()) context.AddMetadata("authorization", http.authorization);
  }

  // scheme://host as the client addressed this port: page URLs lead back here.
  std::string Origin() const {
    return absl::StrCat(http.tls ? "https://" : "http://",
                        http.host.empty() ? "localhost" : http.host);
  }

  // A gRPC status as Twilio's error.
  HttpResponse Failure(const grpc::Status& status) const {
    switch (status.error_code()) {
      case grpc::StatusCode::NOT_FOUND:
        return ErrorResponse(404, kNotFound,
                             absl::StrCat("The requested resource ", http.path, " was not found"));
      case grpc::StatusCode::UNAUTHENTICATED:
        return ErrorResponse(401, kAuthenticate, "Authenticate");
      case grpc::StatusCode::PERMISSION_DENIED:
        return ErrorResponse(403, kForbidden, status.error_message());
      case grpc::StatusCode::ALREADY_EXISTS:
        return ErrorResponse(400, kRoomExists, RestMessage(status.error_message()).first);
      case grpc::StatusCode::RESOURCE_EXHAUSTED:
        return ErrorResponse(429, kTooManyRequests, status.error_message());
      case grpc::StatusCode::INVALID_ARGUMENT:
      case grpc::StatusCode::FAILED_PRECONDITION:
      case grpc::StatusCode::OUT_OF_RANGE: {
        auto [message, code] = RestMessage(status.error_message());
        return ErrorResponse(400, code, message);
      }
      case grpc::StatusCode::UNAVAILABLE:
      case grpc::StatusCode::DEADLINE_EXCEEDED:
        return ErrorResponse(503, kUnavailable, status.error_message());
      default:
        return ErrorResponse(500, kInternal, status.error_message());
    }
  }

  // A rollcall.v1 message naming its field ("max_participants: must be …") renamed to the
  // REST parameter ("MaxParticipants: must be …"), with the parameter's Twilio code.
  std::pair<std::string, int> RestMessage(const std::string& message) const {
    for (const Field& field : kFields) {
      if (!absl::StartsWith(message, field.grpc)) continue;
      const absl::string_view rest = absl::string_view(message).substr(field.grpc.size());
      if (rest.empty() || (rest[0] != ':' && rest[0] != '[' && rest[0] != ' ')) continue;
      const int code = field.grpc == "status" ? status_code : field.code;
      return {absl::StrCat(field.rest, rest), code};
    }
    return {message, kInvalidParameter};
  }

  // The paging part of a list request: page_size, page number and token.
  struct Paging {
    int page = 0;
    int page_size = kDefaultPageSize;
    std::string token;
  };
  std::optional<HttpResponse> ParsePaging(Paging& paging) const {
    if (auto size = Param("PageSize")) {
      if (!absl::SimpleAtoi(*size, &paging.page_size) || paging.page_size < 1 ||
          paging.page_size > 1000) {
        return BadParameter(kInvalidParameter, "PageSize: must be an integer from 1 to 1000");
      }
    }
    if (auto page = Param("Page")) {
      if (!absl::SimpleAtoi(*page, &paging.page) || paging.page < 0) {
        return BadParameter(kInvalidParameter, "Page: must be a non-negative integer");
      }
    }
    if (auto token = Param("PageToken")) paging.token = *token;
    return std::nullopt;
  }

  // Twilio's list page: the items under `key` and `meta` with absolute page URLs that keep the
  // filters (the page token is bound to them).
  HttpResponse Page(absl::string_view key, Json items, const Pairs& filters, const Paging& paging,
                    const std::string& next_token) const {
    const std::string base = absl::StrCat(Origin(), http.path);
    auto url = [&](int page, const std::string& token) {
      std::string query;
      for (const auto& [name, value] : filters) {
        absl::StrAppend(&query, name, "=", UrlEncode(value), "&");
      }
      absl::StrAppend(&query, "PageSize=", paging.page_size, "&Page=", page);
      if (!token.empty()) absl::StrAppend(&query, "&PageToken=", UrlEncode(token));
      return absl::StrCat(base, "?", query);
    };
    Json meta;
    meta["page"] = paging.page;
    meta["page_size"] = paging.page_size;
    meta["first_page_url"] = url(0, "");
    meta["previous_page_url"] = nullptr;  // page tokens only go forward
    meta["url"] = url(paging.page, paging.token);
    meta["next_page_url"] =
        next_token.empty() ? Json(nullptr) : Json(url(paging.page + 1, next_token));
    meta["key"] = key;
    Json body;
    body[std::string(key)] = std::move(items);
    body["meta"] = std::move(meta);
    return JsonResponse(200, body);
  }

  // DateCreatedAfter / DateCreatedBefore: ISO 8601 ("2015-07-30T20:00:00Z") or a date.
  std::optional<HttpResponse> ParseDate(absl::string_view name, bool& set,
                                        google::protobuf::Timestamp& out) const {
    const std::optional<std::string> text = Param(name);
    if (!text) return std::nullopt;
    absl::Time time;
    std::string error;
    if (!absl::ParseTime(absl::RFC3339_full, *text, &time, &error) &&
        !absl::ParseTime("%Y-%m-%d", *text, absl::UTCTimeZone(), &time, &error)) {
      return BadParameter(kInvalidParameter, absl::StrCat(name,
                                                          ": must be an ISO 8601 date-time such as "
                                                          "2015-07-30T20:00:00Z, got ",
                                                          *text));
    }
    set = true;
    out.set_seconds(absl::ToUnixSeconds(time));
    return std::nullopt;
  }

  // DateCreatedAfter, DateCreatedBefore and paging of a ListRooms or ListParticipants request;
  // the dates given join `filters`.
  template <typename Request>
  std::optional<HttpResponse> ParseListWindow(Request& request, Pairs& filters,
                                              Paging& paging) const {
    bool after = false, before = false;
    if (auto bad = ParseDate("DateCreatedAfter", after, *request.mutable_date_created_after())) {
      return bad;
    }
    if (auto bad = ParseDate("DateCreatedBefore", before, *request.mutable_date_created_before())) {
      return bad;
    }
    if (after) {
      filters.emplace_back("DateCreatedAfter", *Param("DateCreatedAfter"));
    } else {
      request.clear_date_created_after();
    }
    if (before) {
      filters.emplace_back("DateCreatedBefore", *Param("DateCreatedBefore"));
    } else {
      request.clear_date_created_before();
    }
    if (auto bad = ParsePaging(paging)) return bad;
    request.set_page_size(paging.page_size);
    request.set_page_token(paging.token);
    return std::nullopt;
  }

  std::optional<HttpResponse> ParseInt(absl::string_view name, int code,
                                       std::optional<int64_t>& out) const {
    const std::optional<std::string> text = Param(name);
    if (!text) return std::nullopt;
    int64_t value = 0;
    if (!absl::SimpleAtoi(*text, &value)) {
      return BadParameter(code, absl::StrCat(name, ": must be an integer, got ", *text));
    }
    out = value;
    return std::nullopt;
  }

  template <typename Stub, typename Request, typename Response>
  grpc::Status Invoke(Stub& stub,
                      grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Response*),
                      const Request& request, Response* response) const {
    grpc::ClientContext context;
    Prepare(context);
    return (stub.*method)(&context, request, response);
  }
};

RestApi::RestApi(const std::shared_ptr<grpc::Channel>& channel, absl::Duration deadline)
    : rooms_(v1::RoomService::NewStub(channel)),
      participants_(v1::ParticipantService::NewStub(channel)),
      tracks_(v1::TrackService::NewStub(channel)),
      deadline_(deadline) {}

HttpResponse RestApi::Handle(const HttpRequest& request) const {
  Call call{request, {}, {}, deadline_};
  if (!absl::StartsWith(request.path, "/v1/")) {
    return call.Failure(grpc::Status(grpc::StatusCode::NOT_FOUND, ""));
  }
  for (absl::string_view segment :
       absl::StrSplit(absl::string_view(request.path).substr(4), '/', absl::SkipEmpty())) {
    call.segments.emplace_back(segment);
  }
  if (request.method != "GET" && request.method != "POST") {
    return ErrorResponse(405, kMethodNotAllowed,
                         absl::StrCat("Method not allowed: ", request.method, " ", request.path));
  }
  call.params = request.query;
  if (request.method == "POST") {
    for (auto& pair : ParseFormEncoded(request.body)) call.params.push_back(std::move(pair));
  }
  const std::vector<std::string>& s = call.segments;
  const size_t n = s.size();
  if (n >= 1 && s[0] == "Rooms") {
    if (n == 1) return Rooms(call);
    if (n == 2) return Room(call);
    if (s[2] == "Participants") {
      if (n == 3) return Participants(call);
      if (n == 4) return Participant(call);
      if (n == 5 && s[4] == "Anonymize") return Anonymize(call);
      if (n == 5 && s[4] == "SubscribeRules") return SubscribeRules(call);
      if ((n == 5 || n == 6) && s[4] == "PublishedTracks") return PublishedTracks(call);
      if ((n == 5 || n == 6) && s[4] == "SubscribedTracks") return SubscribedTracks(call);
    }
  }
  return call.Failure(grpc::Status(grpc::StatusCode::NOT_FOUND, ""));
}

namespace {

HttpResponse WrongMethod(const HttpRequest& request) {
  return ErrorResponse(405, kMethodNotAllowed,
                       absl::StrCat("Method not allowed: ", request.method, " ", request.path));
}

// The participant a path segment names: a PA… SID as it is, anything else the identity of a
// connected participant of the room, looked up.
std::variant<std::string, grpc::Status> ParticipantSid(const RestApi::Call& call,
                                                       v1::ParticipantService::Stub& stub,
                                                       const std::string& room,
                                                       const std::string& segment);

}  // namespace

HttpResponse RestApi::Rooms(Call& call) const {
  if (call.http.method == "POST") {
    v1::CreateRoomRequest request;
    if (auto name = call.Param("UniqueName")) request.set_unique_name(*name);
    if (auto url = call.Param("StatusCallback")) request.set_status_callback(*url);
    if (auto method = call.Param("StatusCallbackMethod")) {
      request.set_status_callback_method(*method);
    }
    std::optional<int64_t> max_participants, duration, empty, unused;
    if (auto bad = call.ParseInt("MaxParticipants", kMaxParticipantsOutOfRange, max_participants))
      return *bad;
    if (auto bad = call.ParseInt("MaxParticipantDuration", kInvalidParameter, duration))
      return *bad;
    if (auto bad = call.ParseInt("EmptyRoomTimeout", kInvalidParameter, empty)) return *bad;
    if (auto bad = call.ParseInt("UnusedRoomTimeout", kInvalidParameter, unused)) return *bad;
    auto int32 = [](int64_t value) {
      return static_cast<int32_t>(std::clamp<int64_t>(value, INT32_MIN, INT32_MAX));
    };
    if (max_participants) request.set_max_participants(int32(*max_participants));
    if (duration) request.set_max_participant_duration(*duration);
    if (empty) request.set_empty_room_timeout(int32(*empty));
    if (unused) request.set_unused_room_timeout(int32(*unused));
    v1::CreateRoomResponse response;
    const grpc::Status status =
        call.Invoke(*rooms_, &v1::RoomService::Stub::CreateRoom, request, &response);
    if (!status.ok()) return call.Failure(status);
    return JsonResponse(201, rest::RoomJson(response.room()));
  }
  v1::ListRoomsRequest request;
  Pairs filters;
  if (auto status = call.Param("Status")) {
    filters.emplace_back("Status", *status);
    if (*status == "in-progress") {
      request.add_statuses(v1::ROOM_STATUS_IN_PROGRESS);
    } else if (*status == "completed") {
      request.add_statuses(v1::ROOM_STATUS_COMPLETED);
    } else if (*status == "failed") {
      request.add_statuses(v1::ROOM_STATUS_FAILED);
    } else {
      return BadParameter(
          kRoomStatusInvalid,
          absl::StrCat("Status: must be in-progress, completed or failed, got ", *status));
    }
  }
  if (auto name = call.Param("UniqueName")) {
    filters.emplace_back("UniqueName", *name);
    request.set_unique_name(*name);
  }
  Call::Paging paging;
  if (auto bad = call.ParseListWindow(request, filters, paging)) return *bad;
  v1::ListRoomsResponse response;
  const grpc::Status status =
      call.Invoke(*rooms_, &v1::RoomService::Stub::ListRooms, request, &response);
  if (!status.ok()) return call.Failure(status);
  Json items = Json::array();
  for (const v1::Room& room : response.rooms()) items.push_back(rest::RoomJson(room));
  return call.Page("rooms", std::move(items), filters, paging, response.next_page_token());
}

HttpResponse RestApi::Room(Call& call) const {
  const std::string& room = call.segments[1];
  if (call.http.method == "POST") {
    v1::UpdateRoomRequest request;
    request.set_room(room);
    const std::optional<std::string> status = call.Param("Status");
    if (!status || *status != "completed") {
      return BadParameter(kRoomStatusInvalid,
                          absl::StrCat("Status: must be completed, got ",
                                       status ? *status : std::string("nothing")));
    }
    request.set_status(v1::ROOM_STATUS_COMPLETED);
    v1::UpdateRoomResponse response;
    const grpc::Status result =
        call.Invoke(*rooms_, &v1::RoomService::Stub::UpdateRoom, request, &response);
    if (!result.ok()) return call.Failure(result);
    return JsonResponse(200, rest::RoomJson(response.room()));
  }
  v1::GetRoomRequest request;
  request.set_room(room);
  v1::GetRoomResponse response;
  const grpc::Status status =
      call.Invoke(*rooms_, &v1::RoomService::Stub::GetRoom, request, &response);
  if (!status.ok()) return call.Failure(status);
  return JsonResponse(200, rest::RoomJson(response.room()));
}

HttpResponse RestApi::Participants(Call& call) const {
  if (call.http.method != "GET") return WrongMethod(call.http);
  call.status_code = kInvalidParameter;
  v1::ListParticipantsRequest request;
  request.set_room(call.segments[1]);
  Pairs filters;
  if (auto status = call.Param("Status")) {
    filters.emplace_back("Status", *status);
    if (*status == "connected") {
      request.add_statuses(v1::PARTICIPANT_STATUS_CONNECTED);
    } else if (*status == "reconnecting") {
      request.add_statuses(v1::PARTICIPANT_STATUS_RECONNECTING);
    } else if (*status == "disconnected") {
      request.add_statuses(v1::PARTICIPANT_STATUS_DISCONNECTED);
    } else {
      return BadParameter(kInvalidParameter,
                          absl::StrCat("Status: must be connected, reconnecting or disconnected, "
                                       "got ",
                                       *status));
    }
  }
  if (auto identity = call.Param("Identity")) {
    filters.emplace_back("Identity", *identity);
    request.set_identity(*identity);
  }
  Call::Paging paging;
  if (auto bad = call.ParseListWindow(request, filters, paging)) return *bad;
  v1::ListParticipantsResponse response;
  const grpc::Status status = call.Invoke(
      *participants_, &v1::ParticipantService::Stub::ListParticipants, request, &response);
  if (!status.ok()) return call.Failure(status);
  Json items = Json::array();
  for (const v1::Participant& participant : response.participants()) {
    items.push_back(rest::ParticipantJson(participant));
  }
  return call.Page("participants", std::move(items), filters, paging, response.next_page_token());
}

namespace {

std::variant<std::string, grpc::Status> ParticipantSid(const RestApi::Call& call,
                                                       v1::ParticipantService::Stub& stub,
                                                       const std::string& room,
                                                       const std::string& segment) {
  if (IsSid(segment, "PA")) return segment;
  v1::GetParticipantRequest request;
  request.set_room(room);
  request.set_identity(segment);
  v1::GetParticipantResponse response;
  const grpc::Status status =
      call.Invoke(stub, &v1::ParticipantService::Stub::GetParticipant, request, &response);
  if (!status.ok()) return status;
  return response.participant().sid();
}

}  // namespace

HttpResponse RestApi::Participant(Call& call) const {
  const std::string& room = call.segments[1];
  const std::string& named = call.segments[3];
  if (call.http.method == "GET") {
    v1::GetParticipantRequest request;
    request.set_room(room);
    if (IsSid(named, "PA")) {
      request.set_participant_sid(named);
    } else {
      request.set_identity(named);
    }
    v1::GetParticipantResponse response;
    const grpc::Status status = call.Invoke(
        *participants_, &v1::ParticipantService::Stub::GetParticipant, request, &response);
    if (!status.ok()) return call.Failure(status);
    return JsonResponse(200, rest::ParticipantJson(response.participant()));
  }
  const std::optional<std::string> status = call.Param("Status");
  if (!status || *status != "disconnected") {
    return BadParameter(kParticipantStatusInvalid,
                        absl::StrCat("Status: must be disconnected, got ",
                                     status ? *status : std::string("nothing")));
  }
  auto sid = ParticipantSid(call, *participants_, room, named);
  if (auto* failed = std::get_if<grpc::Status>(&sid)) return call.Failure(*failed);
  call.status_code = kParticipantStatusInvalid;
  v1::UpdateParticipantRequest request;
  request.set_room(room);
  request.set_participant_sid(std::get<std::string>(sid));
  request.set_status(v1::PARTICIPANT_STATUS_DISCONNECTED);
  v1::UpdateParticipantResponse response;
  const grpc::Status result = call.Invoke(
      *participants_, &v1::ParticipantService::Stub::UpdateParticipant, request, &response);
  if (!result.ok()) return call.Failure(result);
  return JsonResponse(202, rest::ParticipantJson(response.participant()));
}

HttpResponse RestApi::Anonymize(Call& call) const {
  if (call.http.method != "POST") return WrongMethod(call.http);
  const std::string& room = call.segments[1];
  auto sid = ParticipantSid(call, *participants_, room, call.segments[3]);
  if (auto* failed = std::get_if<grpc::Status>(&sid)) return call.Failure(*failed);
  v1::AnonymizeParticipantRequest request;
  request.set_room(room);
  request.set_participant_sid(std::get<std::string>(sid));
  v1::AnonymizeParticipantResponse response;
  const grpc::Status status = call.Invoke(
      *participants_, &v1::ParticipantService::Stub::AnonymizeParticipant, request, &response);
  if (!status.ok()) return call.Failure(status);
  return JsonResponse(202, rest::AnonymizeJson(response.participant()));
}

namespace {

// What tells the PublishedTracks and SubscribedTracks collections apart.
struct PublishedKind {
  using GetRequest = v1::GetPublishedTrackRequest;
  using GetResponse = v1::GetPublishedTrackResponse;
  using ListRequest = v1::ListPublishedTracksRequest;
  using ListResponse = v1::ListPublishedTracksResponse;
  static constexpr auto kGet = &v1::TrackService::Stub::GetPublishedTrack;
  static constexpr auto kList = &v1::TrackService::Stub::ListPublishedTracks;
  static constexpr absl::string_view kKey = "published_tracks";
  static void SetTrack(GetRequest& request, const std::string& track) { request.set_track(track); }
  static const v1::PublishedTrack& One(const GetResponse& response) {
    return response.published_track();
  }
  static const auto& All(const ListResponse& response) { return response.published_tracks(); }
};

struct SubscribedKind {
  using GetRequest = v1::GetSubscribedTrackRequest;
  using GetResponse = v1::GetSubscribedTrackResponse;
  using ListRequest = v1::ListSubscribedTracksRequest;
  using ListResponse = v1::ListSubscribedTracksResponse;
  static constexpr auto kGet = &v1::TrackService::Stub::GetSubscribedTrack;
  static constexpr auto kList = &v1::TrackService::Stub::ListSubscribedTracks;
  static constexpr absl::string_view kKey = "subscribed_tracks";
  static void SetTrack(GetRequest& request, const std::string& track) {
    request.set_track_sid(track);
  }
  static const v1::SubscribedTrack& One(const GetResponse& response) {
    return response.subscribed_track();
  }
  static const auto& All(const ListResponse& response) { return response.subscribed_tracks(); }
};

// GET …/{Kind} (a page) or …/{Kind}/{Track} (one).
template <typename Kind>
HttpResponse TrackCollection(const RestApi::Call& call, v1::ParticipantService::Stub& participants,
                             v1::TrackService::Stub& tracks) {
  if (call.http.method != "GET") return WrongMethod(call.http);
  const std::string& room = call.segments[1];
  auto sid = ParticipantSid(call, participants, room, call.segments[3]);
  if (auto* failed = std::get_if<grpc::Status>(&sid)) return call.Failure(*failed);
  if (call.segments.size() == 6) {
    typename Kind::GetRequest request;
    request.set_room(room);
    request.set_participant_sid(std::get<std::string>(sid));
    Kind::SetTrack(request, call.segments[5]);
    typename Kind::GetResponse response;
    const grpc::Status status = call.Invoke(tracks, Kind::kGet, request, &response);
    if (!status.ok()) return call.Failure(status);
    return JsonResponse(200, rest::TrackJson(Kind::One(response)));
  }
  RestApi::Call::Paging paging;
  if (auto bad = call.ParsePaging(paging)) return *bad;
  typename Kind::ListRequest request;
  request.set_room(room);
  request.set_participant_sid(std::get<std::string>(sid));
  request.set_page_size(paging.page_size);
  request.set_page_token(paging.token);
  typename Kind::ListResponse response;
  const grpc::Status status = call.Invoke(tracks, Kind::kList, request, &response);
  if (!status.ok()) return call.Failure(status);
  Json items = Json::array();
  for (const auto& track : Kind::All(response)) items.push_back(rest::TrackJson(track));
  return call.Page(Kind::kKey, std::move(items), {}, paging, response.next_page_token());
}

}  // namespace

HttpResponse RestApi::PublishedTracks(Call& call) const {
  return TrackCollection<PublishedKind>(call, *participants_, *tracks_);
}

HttpResponse RestApi::SubscribedTracks(Call& call) const {
  return TrackCollection<SubscribedKind>(call, *participants_, *tracks_);
}

namespace {

// The `Rules` form field: a JSON array of {type, all, kind, publisher, track[, priority]}.
std::variant<std::vector<v1::SubscribeRule>, HttpResponse> ParseRules(absl::string_view text) {
  auto bad = [](const std::string& message) {
    return BadParameter(kSubscribeRulesInvalid, message);
  };
  const Json parsed = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_array()) {
    return bad("Rules: must be a JSON array of rules, e.g. [{\"type\":\"include\",\"all\":true}]");
  }
  std::vector<v1::SubscribeRule> rules;
  for (size_t i = 0; i < parsed.size(); ++i) {
    const Json& item = parsed[i];
    const std::string at = absl::StrCat("Rules[", i, "]");
    if (!item.is_object()) return bad(absl::StrCat(at, ": must be a JSON object"));
    v1::SubscribeRule rule;
    for (const auto& [key, value] : item.items()) {
      const std::string field = absl::StrCat(at, ".", key);
      if (key == "priority") continue;  // accepted; rollcall does not rank tracks
      if (key == "all") {
        if (!value.is_boolean()) return bad(absl::StrCat(field, ": must be true or false"));
        rule.set_all(value.get<bool>());
        continue;
      }
      if (!value.is_string()) return bad(absl::StrCat(field, ": must be a string"));
      const std::string text_value = value.get<std::string>();
      if (key == "type") {
        if (text_value == "include") {
          rule.set_type(v1::SUBSCRIBE_RULE_TYPE_INCLUDE);
        } else if (text_value == "exclude") {
          rule.set_type(v1::SUBSCRIBE_RULE_TYPE_EXCLUDE);
        } else {
          return bad(absl::StrCat(field, ": must be include or exclude, got ", text_value));
        }
      } else if (key == "kind") {
        if (text_value == "audio") {
          rule.set_kind(v1::TRACK_KIND_AUDIO);
        } else if (text_value == "video") {
          rule.set_kind(v1::TRACK_KIND_VIDEO);
        } else if (text_value == "data") {
          rule.set_kind(v1::TRACK_KIND_DATA);
        } else {
          return bad(absl::StrCat(field, ": must be audio, video or data, got ", text_value));
        }
      } else if (key == "publisher") {
        rule.set_publisher(text_value);
      } else if (key == "track") {
        rule.set_track(text_value);
      } else {
        return bad(absl::StrCat(field,
                                ": unknown filter (type, all, kind, publisher, track, "
                                "priority)"));
      }
    }
    rules.push_back(std::move(rule));
  }
  return rules;
}

}  // namespace

HttpResponse RestApi::SubscribeRules(Call& call) const {
  const std::string& room = call.segments[1];
  auto sid = ParticipantSid(call, *participants_, room, call.segments[3]);
  if (auto* failed = std::get_if<grpc::Status>(&sid)) return call.Failure(*failed);
  if (call.http.method == "GET") {
    v1::GetSubscribeRulesRequest request;
    request.set_room(room);
    request.set_participant_sid(std::get<std::string>(sid));
    v1::GetSubscribeRulesResponse response;
    const grpc::Status status =
        call.Invoke(*tracks_, &v1::TrackService::Stub::GetSubscribeRules, request, &response);
    if (!status.ok()) return call.Failure(status);
    return JsonResponse(200, rest::SubscribeRulesJson(response.subscribe_rules()));
  }
  const std::optional<std::string> text = call.Param("Rules");
  if (!text) return BadParameter(kSubscribeRulesInvalid, "Rules: is required");
  auto rules = ParseRules(*text);
  if (auto* bad = std::get_if<HttpResponse>(&rules)) return *bad;
  v1::UpdateSubscribeRulesRequest request;
  request.set_room(room);
  request.set_participant_sid(std::get<std::string>(sid));
  for (v1::SubscribeRule& rule : std::get<std::vector<v1::SubscribeRule>>(rules)) {
    *request.add_rules() = std::move(rule);
  }
  v1::UpdateSubscribeRulesResponse response;
  const grpc::Status status =
      call.Invoke(*tracks_, &v1::TrackService::Stub::UpdateSubscribeRules, request, &response);
  if (!status.ok()) return call.Failure(status);
  return JsonResponse(202, rest::SubscribeRulesJson(response.subscribe_rules()));
}

}  // namespace rollcall::service
