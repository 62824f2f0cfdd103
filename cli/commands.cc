// The `rollcall` subcommands. Each handler validates its flags first (usage errors, exit 2,
// before any RPC), then builds one request, calls the stub with the --timeout deadline and
// prints the result in the chosen output format.
#include "cli/commands.h"

#include <sys/random.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <limits>
#include <optional>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "cli/exit_code.h"
#include "cli/health.grpc.pb.h"
#include "cli/interrupt.h"
#include "cli/watch_resume.h"
#include "google/protobuf/util/time_util.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"
#include "grpcpp/support/client_interceptor.h"
#include "rollcall/v1/admin_service.grpc.pb.h"
#include "rollcall/v1/ingest_service.grpc.pb.h"
#include "rollcall/v1/participant_service.grpc.pb.h"
#include "rollcall/v1/room_service.grpc.pb.h"
#include "rollcall/v1/track_service.grpc.pb.h"
#include "rollcall/v1/watch_service.grpc.pb.h"

namespace rollcall::cli {
namespace {

// ---------------------------------------------------------------------------------------
// Shared helpers.

constexpr Choice<v1::ParticipantStatus> kParticipantStatuses[] = {
    {"connected", v1::PARTICIPANT_STATUS_CONNECTED},
    {"reconnecting", v1::PARTICIPANT_STATUS_RECONNECTING},
    {"disconnected", v1::PARTICIPANT_STATUS_DISCONNECTED},
};

constexpr Choice<v1::RoomStatus> kRoomStatuses[] = {
    {"in-progress", v1::ROOM_STATUS_IN_PROGRESS},
    {"completed", v1::ROOM_STATUS_COMPLETED},
    {"failed", v1::ROOM_STATUS_FAILED},
};

constexpr Choice<v1::DisconnectReason> kDisconnectReasons[] = {
    {"client_initiated", v1::DISCONNECT_REASON_CLIENT_INITIATED},
    {"duplicate_identity", v1::DISCONNECT_REASON_DUPLICATE_IDENTITY},
    {"removed", v1::DISCONNECT_REASON_REMOVED},
    {"reconnect_timeout", v1::DISCONNECT_REASON_RECONNECT_TIMEOUT},
    {"session_limit", v1::DISCONNECT_REASON_SESSION_LIMIT},
    {"room_ended", v1::DISCONNECT_REASON_ROOM_ENDED},
};

constexpr Choice<absl::string_view> kCallbackMethods[] = {{"GET", "GET"}, {"POST", "POST"}};

constexpr int64_t kInt32Max = std::numeric_limits<int32_t>::max();
constexpr int64_t kInt32Min = std::numeric_limits<int32_t>::min();

void SetTimestamp(absl::Time t, google::protobuf::Timestamp* ts) {
  *ts = google::protobuf::util::TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(t));
}

// A fresh idempotency key: "cli-" + 32 hex digits from 128 bits of OS randomness.
absl::StatusOr<std::string> FreshEventId() {
  char bytes[16];
  size_t got = 0;
  while (got < sizeof(bytes)) {
    ssize_t n = getrandom(bytes + got, sizeof(bytes) - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::InternalError(absl::StrCat("getrandom failed (errno ", errno, ")"));
    }
    got += static_cast<size_t>(n);
  }
  return absl::StrCat("cli-", absl::BytesToHexString(absl::string_view(bytes, sizeof(bytes))));
}

void SetDeadline(const CommandEnv& env, grpc::ClientContext* context) {
  context->set_deadline(absl::ToChronoTime(absl::Now() + env.options().timeout));
}

// Prints `rollcall: <CODE>: <message>` (one line) and returns the status's exit code.
int ReportRpcError(const grpc::Status& status, CommandEnv& env, absl::string_view suffix = "") {
  const std::string message = absl::StrReplaceAll(status.error_message(), {{"\n", " "}});
  env.err() << "rollcall: " << StatusCodeName(status.error_code()) << (message.empty() ? "" : ": ")
            << message << suffix << std::endl;
  return ExitCodeFor(status.error_code());
}

int ReportInternal(const absl::Status& status, CommandEnv& env) {
  env.err() << "rollcall: " << status.message() << std::endl;
  return kExitError;
}

// Writes `message` as one JSON line; false (after reporting) if it cannot be rendered.
bool PrintJson(const google::protobuf::Message& message, CommandEnv& env) {
  absl::StatusOr<std::string> line = JsonLine(message);
  if (!line.ok()) {
    ReportInternal(line.status(), env);
    return false;
  }
  env.out() << *line;
  return true;
}

int PrintParticipant(const v1::Participant& p, CommandEnv& env) {
  if (env.options().format == OutputFormat::kJson) return PrintJson(p, env) ? kExitOk : kExitError;
  env.out() << ParticipantTable({p});
  return kExitOk;
}

int PrintRoom(const v1::Room& r, CommandEnv& env) {
  if (env.options().format == OutputFormat::kJson) return PrintJson(r, env) ? kExitOk : kExitError;
  env.out() << RoomTable({r});
  return kExitOk;
}

// Parses an optional flag with `parse`, storing the result through `set`. Returns the
// parse error, if any.
template <typename Parse, typename Set>
absl::Status OptionalFlag(const ParsedArgs& args, absl::string_view flag, Parse parse, Set set) {
  std::optional<std::string> value = args.Get(flag);
  if (!value.has_value()) return absl::OkStatus();
  auto parsed = parse(flag, *value);
  if (!parsed.ok()) return parsed.status();
  set(*std::move(parsed));
  return absl::OkStatus();
}

absl::Status NonEmptyFlag(const ParsedArgs& args, absl::string_view flag) {
  std::optional<std::string> value = args.Get(flag);
  if (value.has_value() && value->empty()) {
    return absl::InvalidArgumentError(absl::StrCat("flag ", flag, " must not be empty"));
  }
  return absl::OkStatus();
}

absl::StatusOr<int32_t> ParseInt32(absl::string_view flag, absl::string_view value) {
  absl::StatusOr<int64_t> n = ParseIntValue(flag, value, kInt32Min, kInt32Max);
  if (!n.ok()) return n.status();
  return static_cast<int32_t>(*n);
}

absl::StatusOr<int64_t> ParseInt64(absl::string_view flag, absl::string_view value) {
  return ParseIntValue(flag, value, std::numeric_limits<int64_t>::min(),
                       std::numeric_limits<int64_t>::max());
}

// Follows pages of a List RPC. Without --all, prints one page (and, in table mode, the next
// page token on stderr). With --all, follows next_page_token to the end: JSON lines are
// printed page by page; a table is printed once, aligned over every row.
template <typename Request, typename Response, typename Record, typename Call, typename Records,
          typename Table>
int ListPages(CommandEnv& env, Request request, bool all, Call call, Records records, Table table) {
  const bool json = env.options().format == OutputFormat::kJson;
  std::vector<Record> rows;
  for (;;) {
    grpc::ClientContext context;
    SetDeadline(env, &context);
    Response response;
    grpc::Status status = call(&context, request, &response);
    if (!status.ok()) return ReportRpcError(status, env);
    for (const Record& record : records(response)) {
      if (json) {
        if (!PrintJson(record, env)) return kExitError;
      } else {
        rows.push_back(record);
      }
    }
    if (!all || response.next_page_token().empty()) {
      if (!json) {
        env.out() << table(absl::MakeConstSpan(rows));
        if (!all && !response.next_page_token().empty()) {
          env.out().flush();
          env.err() << "next page: --page-token " << response.next_page_token() << std::endl;
        }
      }
      return kExitOk;
    }
    request.set_page_token(response.next_page_token());
  }
}

// --created-after, --created-before and --page-size of a List request (both Lists have them).
template <typename Request>
absl::Status ParseListWindow(const ParsedArgs& args, Request& request) {
  absl::Status s = OptionalFlag(args, "--created-after", ParseTimeValue, [&request](absl::Time t) {
    SetTimestamp(t, request.mutable_date_created_after());
  });
  if (s.ok()) {
    s = OptionalFlag(args, "--created-before", ParseTimeValue, [&request](absl::Time t) {
      SetTimestamp(t, request.mutable_date_created_before());
    });
  }
  if (s.ok()) {
    s = OptionalFlag(args, "--page-size", ParseInt32,
                     [&request](int32_t n) { request.set_page_size(n); });
  }
  return s;
}

// ---------------------------------------------------------------------------------------
// event connect | reconnecting | reconnected | disconnect

int RunEvent(v1::EventType type, const ParsedArgs& args, CommandEnv& env) {
  v1::RecordEventRequest request;
  v1::Event* e = request.mutable_event();
  e->set_type(type);
  e->set_account_sid(env.options().account);

  absl::StatusOr<std::string> room = args.GetRequired("--room");
  if (!room.ok()) return env.UsageError(room.status());
  e->set_room(*room);

  if (type == v1::EVENT_TYPE_PARTICIPANT_CONNECTED) {
    absl::StatusOr<std::string> identity = args.GetRequired("--identity");
    if (!identity.ok()) return env.UsageError(identity.status());
    e->set_identity(*identity);
    if (absl::Status s = NonEmptyFlag(args, "--participant"); !s.ok()) return env.UsageError(s);
    e->set_participant_sid(args.GetOr("--participant", ""));
  } else {
    absl::StatusOr<std::string> participant = args.GetRequired("--participant");
    if (!participant.ok()) return env.UsageError(participant.status());
    e->set_participant_sid(*participant);
  }

  if (type == v1::EVENT_TYPE_PARTICIPANT_DISCONNECTED) {
    absl::Status s = OptionalFlag(
        args, "--reason",
        [](absl::string_view f, absl::string_view v) {
          return ParseChoiceValue<v1::DisconnectReason>(f, v, kDisconnectReasons);
        },
        [e](v1::DisconnectReason r) { e->set_reason(r); });
    if (!s.ok()) return env.UsageError(s);
  }

  absl::Time at = absl::Now();
  if (absl::Status s = OptionalFlag(args, "--at", ParseTimeValue, [&at](absl::Time t) { at = t; });
      !s.ok()) {
    return env.UsageError(s);
  }
  SetTimestamp(at, e->mutable_occurred_at());

  if (std::optional<std::string> id = args.Get("--event-id"); id.has_value()) {
    if (id->empty())
      return env.UsageError(absl::InvalidArgumentError("flag --event-id must not be empty"));
    e->set_event_id(*id);
  } else {
    absl::StatusOr<std::string> fresh = FreshEventId();
    if (!fresh.ok()) return ReportInternal(fresh.status(), env);
    e->set_event_id(*fresh);
  }

  auto stub = v1::IngestService::NewStub(env.channel());
  grpc::ClientContext context;
  SetDeadline(env, &context);
  v1::RecordEventResponse response;
  grpc::Status status = stub->RecordEvent(&context, request, &response);
  if (!status.ok()) return ReportRpcError(status, env);
  if (env.options().format == OutputFormat::kJson) {
    return PrintJson(response, env) ? kExitOk : kExitError;
  }
  env.out() << RecordEventTable(response);
  return kExitOk;
}

int RunEventConnect(const ParsedArgs& args, CommandEnv& env) {
  return RunEvent(v1::EVENT_TYPE_PARTICIPANT_CONNECTED, args, env);
}
int RunEventReconnecting(const ParsedArgs& args, CommandEnv& env) {
  return RunEvent(v1::EVENT_TYPE_PARTICIPANT_RECONNECTING, args, env);
}
int RunEventReconnected(const ParsedArgs& args, CommandEnv& env) {
  return RunEvent(v1::EVENT_TYPE_PARTICIPANT_RECONNECTED, args, env);
}
int RunEventDisconnect(const ParsedArgs& args, CommandEnv& env) {
  return RunEvent(v1::EVENT_TYPE_PARTICIPANT_DISCONNECTED, args, env);
}

// ---------------------------------------------------------------------------------------
// participants list | get | kick | anonymize

int RunParticipantsList(const ParsedArgs& args, CommandEnv& env) {
  v1::ListParticipantsRequest request;
  request.set_account_sid(env.options().account);
  request.set_room(args.GetOr("--room", ""));
  request.set_identity(args.GetOr("--identity", ""));
  request.set_page_token(args.GetOr("--page-token", ""));
  for (absl::string_view flag : {"--room", "--identity", "--page-token"}) {
    if (absl::Status s = NonEmptyFlag(args, flag); !s.ok()) return env.UsageError(s);
  }
  absl::Status s = OptionalFlag(
      args, "--status",
      [](absl::string_view f, absl::string_view v) {
        return ParseChoiceListValue<v1::ParticipantStatus>(f, v, kParticipantStatuses);
      },
      [&request](const std::vector<v1::ParticipantStatus>& statuses) {
        for (v1::ParticipantStatus st : statuses) request.add_statuses(st);
      });
  if (s.ok()) s = ParseListWindow(args, request);
  if (!s.ok()) return env.UsageError(s);

  auto stub = v1::ParticipantService::NewStub(env.channel());
  return ListPages<v1::ListParticipantsRequest, v1::ListParticipantsResponse, v1::Participant>(
      env, std::move(request), args.Has("--all"),
      [&stub](grpc::ClientContext* c, const v1::ListParticipantsRequest& req,
              v1::ListParticipantsResponse* resp) { return stub->ListParticipants(c, req, resp); },
      [](const v1::ListParticipantsResponse& resp) -> const auto& { return resp.participants(); },
      [](absl::Span<const v1::Participant> rows) { return ParticipantTable(rows); });
}

// The participant SID from the one positional argument, or a usage error.
absl::StatusOr<std::string> ParticipantArg(const ParsedArgs& args) {
  if (args.positionals().empty()) {
    return absl::InvalidArgumentError("missing participant SID (PA…) argument");
  }
  if (args.positionals()[0].empty()) {
    return absl::InvalidArgumentError("participant SID argument must not be empty");
  }
  return args.positionals()[0];
}

int RunParticipantsGet(const ParsedArgs& args, CommandEnv& env) {
  v1::GetParticipantRequest request;
  request.set_account_sid(env.options().account);
  if (absl::Status s = NonEmptyFlag(args, "--room"); !s.ok()) return env.UsageError(s);
  request.set_room(args.GetOr("--room", ""));
  const bool by_sid = !args.positionals().empty();
  const bool by_identity = args.Has("--identity");
  if (by_sid == by_identity) {
    return env.UsageError(absl::InvalidArgumentError(
        "give either a participant SID (PA…) or --identity with --room, not both"));
  }
  if (by_sid) {
    absl::StatusOr<std::string> sid = ParticipantArg(args);
    if (!sid.ok()) return env.UsageError(sid.status());
    request.set_participant_sid(*sid);
  } else {
    absl::StatusOr<std::string> identity = args.GetRequired("--identity");
    if (!identity.ok()) return env.UsageError(identity.status());
    if (!args.Has("--room")) {
      return env.UsageError(absl::InvalidArgumentError("flag --identity needs --room"));
    }
    request.set_identity(*identity);
  }
  auto stub = v1::ParticipantService::NewStub(env.channel());
  grpc::ClientContext context;
  SetDeadline(env, &context);
  v1::GetParticipantResponse response;
  grpc::Status status = stub->GetParticipant(&context, request, &response);
  if (!status.ok()) return ReportRpcError(status, env);
  return PrintParticipant(response.participant(), env);
}

int RunParticipantsKick(const ParsedArgs& args, CommandEnv& env) {
  v1::UpdateParticipantRequest request;
  request.set_account_sid(env.options().account);
  absl::StatusOr<std::string> sid = ParticipantArg(args);
  if (!sid.ok()) return env.UsageError(sid.status());
  if (absl::Status s = NonEmptyFlag(args, "--room"); !s.ok()) return env.UsageError(s);
  request.set_participant_sid(*sid);
  request.set_room(args.GetOr("--room", ""));
  request.set_status(v1::PARTICIPANT_STATUS_DISCONNECTED);
  auto stub = v1::ParticipantService::NewStub(env.channel());
  grpc::ClientContext context;
  SetDeadline(env, &context);
  v1::UpdateParticipantResponse response;
  grpc::Status status = stub->UpdateParticipant(&context, request, &response);
  if (!status.ok()) return ReportRpcError(status, env);
  return PrintParticipant(response.participant(), env);
}

int RunParticipantsAnonymize(const ParsedArgs& args, CommandEnv& env) {
  v1::AnonymizeParticipantRequest request;
  request.set_account_sid(env.options().account);
  absl::StatusOr<std::string> sid = ParticipantArg(args);
  if (!sid.ok()) return env.UsageError(sid.status());
  if (absl::Status s = NonEmptyFlag(args, "--room"); !s.ok()) return env.UsageError(s);
  request.set_participant_sid(*sid);
  request.set_room(args.GetOr("--room", ""));
  auto stub = v1::ParticipantService::NewStub(env.channel());
  grpc::ClientContext context;
  SetDeadline(env, &context);
  v1::AnonymizeParticipantResponse response;
  grpc::Status status = stub->AnonymizeParticipant(&context, request, &response);
  if (!status.ok()) return ReportRpcError(status, env);
  return PrintParticipant(response.participant(), env);
}

// ---------------------------------------------------------------------------------------
// tracks list | rules get | rules set (TrackService)

// The account, the participant (first positional) and --room of a TrackService request.
template <typename Request>
absl::Status SetParticipantTarget(const ParsedArgs& args, const CommandEnv& env, Request& request) {
  absl::StatusOr<std::string> sid = ParticipantArg(args);
  if (!sid.ok()) return sid.status();
  if (absl::Status s = NonEmptyFlag(args, "--room"); !s.ok()) return s;
  request.set_account_sid(env.options().account);
  request.set_participant_sid(*sid);
  request.set_room(args.GetOr("--room", ""));
  return absl::OkStatus();
}

int RunTracksList(const ParsedArgs& args, CommandEnv& env) {
  if (absl::Status s = NonEmptyFlag(args, "--room"); !s.ok()) return env.UsageError(s);
  if (absl::StatusOr<std::string> sid = ParticipantArg(args); !sid.ok()) {
    return env.UsageError(sid.status());
  }
  int32_t page_size = 0;
  if (absl::Status s =
          OptionalFlag(args, "--page-size", ParseInt32, [&page_size](int32_t n) { page_size = n; });
      !s.ok()) {
    return env.UsageError(s);
  }
  auto stub = v1::TrackService::NewStub(env.channel());
  auto fill = [&](auto& request) {
    (void)SetParticipantTarget(args, env, request);  // checked above
    request.set_page_size(page_size);
    request.set_page_token(args.GetOr("--page-token", ""));
  };
  if (args.Has("--subscribed")) {
    v1::ListSubscribedTracksRequest request;
    fill(request);
    return ListPages<v1::ListSubscribedTracksRequest, v1::ListSubscribedTracksResponse,
                     v1::SubscribedTrack>(
        env, request, args.Has("--all"),
        [&](grpc::ClientContext* c, const v1::ListSubscribedTracksRequest& r,
            v1::ListSubscribedTracksResponse* out) {
          return stub->ListSubscribedTracks(c, r, out);
        },
        [](const v1::ListSubscribedTracksResponse& r) { return r.subscribed_tracks(); },
        SubscribedTrackTable);
  }
  v1::ListPublishedTracksRequest request;
  fill(request);
  return ListPages<v1::ListPublishedTracksRequest, v1::ListPublishedTracksResponse,
                   v1::PublishedTrack>(
      env, request, args.Has("--all"),
      [&](grpc::ClientContext* c, const v1::ListPublishedTracksRequest& r,
          v1::ListPublishedTracksResponse* out) { return stub->ListPublishedTracks(c, r, out); },
      [](const v1::ListPublishedTracksResponse& r) { return r.published_tracks(); },
      PublishedTrackTable);
}

int PrintRules(const v1::SubscribeRules& rules, CommandEnv& env) {
  if (env.options().format == OutputFormat::kJson) {
    return PrintJson(rules, env) ? kExitOk : kExitError;
  }
  env.out() << RulesJson(rules);
  return kExitOk;
}

int RunRulesGet(const ParsedArgs& args, CommandEnv& env) {
  v1::GetSubscribeRulesRequest request;
  if (absl::Status s = SetParticipantTarget(args, env, request); !s.ok()) {
    return env.UsageError(s);
  }
  auto stub = v1::TrackService::NewStub(env.channel());
  grpc::ClientContext context;
  SetDeadline(env, &context);
  v1::GetSubscribeRulesResponse response;
  grpc::Status status = stub->GetSubscribeRules(&context, request, &response);
  if (!status.ok()) return ReportRpcError(status, env);
  return PrintRules(response.subscribe_rules(), env);
}

int RunRulesSet(const ParsedArgs& args, CommandEnv& env) {
  v1::UpdateSubscribeRulesRequest request;
  if (absl::Status s = SetParticipantTarget(args, env, request); !s.ok()) {
    return env.UsageError(s);
  }
  absl::StatusOr<std::string> json = args.GetRequired("--rules");
  if (!json.ok()) return env.UsageError(json.status());
  absl::StatusOr<std::vector<v1::SubscribeRule>> rules = ParseRulesJson(*json);
  if (!rules.ok()) return env.UsageError(rules.status());
  for (v1::SubscribeRule& rule : *rules) *request.add_rules() = std::move(rule);
  auto stub = v1::TrackService::NewStub(env.channel());
  grpc::ClientContext context;
  SetDeadline(env, &context);
  v1::UpdateSubscribeRulesResponse response;
  grpc::Status status = stub->UpdateSubscribeRules(&context, request, &response);
  if (!status.ok()) return ReportRpcError(status, env);
  return PrintRules(response.subscribe_rules(), env);
}

// ---------------------------------------------------------------------------------------
// rooms create | list | get | end

int RunRoomsCreate(const ParsedArgs& args, CommandEnv& env) {
  v1::CreateRoomRequest request;
  request.set_account_sid(env.options().account);
  if (!args.positionals().empty()) request.set_unique_name(args.positionals()[0]);
  absl::Status s = OptionalFlag(args, "--max-participants", ParseInt32,
                                [&request](int32_t n) { request.set_max_participants(n); });
  if (s.ok()) {
    s = OptionalFlag(args, "--max-participant-duration", ParseInt64,
                     [&request](int64_t n) { request.set_max_participant_duration(n); });
  }
  if (s.ok()) {
    s = OptionalFlag(args, "--empty-room-timeout", ParseInt32,
                     [&request](int32_t n) { request.set_empty_room_timeout(n); });
  }
  if (s.ok()) {
    s = OptionalFlag(args, "--unused-room-timeout", ParseInt32,
                     [&request](int32_t n) { request.set_unused_room_timeout(n); });
  }
  if (s.ok()) s = NonEmptyFlag(args, "--status-callback");
  if (s.ok()) {
    s = OptionalFlag(
        args, "--status-callback-method",
        [](absl::string_view f, absl::string_view v) {
          return ParseChoiceValue<absl::string_view>(f, v, kCallbackMethods);
        },
        [&request](absl::string_view m) { request.set_status_callback_method(std::string(m)); });
  }
  if (!s.ok()) return env.UsageError(s);
  request.set_status_callback(args.GetOr("--status-callback", ""));

  auto stub = v1::RoomService::NewStub(env.channel());
  grpc::ClientContext context;
  SetDeadline(env, &context);
  v1::CreateRoomResponse response;
  grpc::Status status = stub->CreateRoom(&context, request, &response);
  if (!status.ok()) return ReportRpcError(status, env);
  return PrintRoom(response.room(), env);
}

int RunRoomsList(const ParsedArgs& args, CommandEnv& env) {
  v1::ListRoomsRequest request;
  request.set_account_sid(env.options().account);
  for (absl::string_view flag : {"--name", "--page-token"}) {
    if (absl::Status s = NonEmptyFlag(args, flag); !s.ok()) return env.UsageError(s);
  }
  request.set_unique_name(args.GetOr("--name", ""));
  request.set_page_token(args.GetOr("--page-token", ""));
  absl::Status s = OptionalFlag(
      args, "--status",
      [](absl::string_view f, absl::string_view v) {
        return ParseChoiceListValue<v1::RoomStatus>(f, v, kRoomStatuses);
      },
      [&request](const std::vector<v1::RoomStatus>& statuses) {
        for (v1::RoomStatus st : statuses) request.add_statuses(st);
      });
  if (s.ok()) s = ParseListWindow(args, request);
  if (!s.ok()) return env.UsageError(s);

  auto stub = v1::RoomService::NewStub(env.channel());
  return ListPages<v1::ListRoomsRequest, v1::ListRoomsResponse, v1::Room>(
      env, std::move(request), args.Has("--all"),
      [&stub](grpc::ClientContext* c, const v1::ListRoomsRequest& req,
              v1::ListRoomsResponse* resp) { return stub->ListRooms(c, req, resp); },
      [](const v1::ListRoomsResponse& resp) -> const auto& { return resp.rooms(); },
      [](absl::Span<const v1::Room> rows) { return RoomTable(rows); });
}

absl::StatusOr<std::string> RoomArg(const ParsedArgs& args) {
  if (args.positionals().empty() || args.positionals()[0].empty()) {
    return absl::InvalidArgumentError("missing ROOM argument (a room SID or unique name)");
  }
  return args.positionals()[0];
}

int RunRoomsGet(const ParsedArgs& args, CommandEnv& env) {
  absl::StatusOr<std::string> room = RoomArg(args);
  if (!room.ok()) return env.UsageError(room.status());
  v1::GetRoomRequest request;
  request.set_account_sid(env.options().account);
  request.set_room(*room);
  auto stub = v1::RoomService::NewStub(env.channel());
  grpc::ClientContext context;
  SetDeadline(env, &context);
  v1::GetRoomResponse response;
  grpc::Status status = stub->GetRoom(&context, request, &response);
  if (!status.ok()) return ReportRpcError(status, env);
  return PrintRoom(response.room(), env);
}

int RunRoomsEnd(const ParsedArgs& args, CommandEnv& env) {
  absl::StatusOr<std::string> room = RoomArg(args);
  if (!room.ok()) return env.UsageError(room.status());
  v1::UpdateRoomRequest request;
  request.set_account_sid(env.options().account);
  request.set_room(*room);
  request.set_status(v1::ROOM_STATUS_COMPLETED);
  auto stub = v1::RoomService::NewStub(env.channel());
  grpc::ClientContext context;
  SetDeadline(env, &context);
  v1::UpdateRoomResponse response;
  grpc::Status status = stub->UpdateRoom(&context, request, &response);
  if (!status.ok()) return ReportRpcError(status, env);
  return PrintRoom(response.room(), env);
}

// ---------------------------------------------------------------------------------------
// callbacks failed

int RunCallbacksFailed(const ParsedArgs& args, CommandEnv& env) {
  v1::ListFailedCallbacksRequest request;
  request.set_account_sid(env.options().account);
  if (absl::Status s = NonEmptyFlag(args, "--page-token"); !s.ok()) return env.UsageError(s);
  request.set_page_token(args.GetOr("--page-token", ""));
  if (absl::Status s = OptionalFlag(args, "--page-size", ParseInt32,
                                    [&request](int32_t n) { request.set_page_size(n); });
      !s.ok()) {
    return env.UsageError(s);
  }
  auto stub = v1::AdminService::NewStub(env.channel());
  return ListPages<v1::ListFailedCallbacksRequest, v1::ListFailedCallbacksResponse,
                   v1::FailedCallback>(
      env, std::move(request), args.Has("--all"),
      [&stub](grpc::ClientContext* c, const v1::ListFailedCallbacksRequest& req,
              v1::ListFailedCallbacksResponse* resp) {
        return stub->ListFailedCallbacks(c, req, resp);
      },
      [](const v1::ListFailedCallbacksResponse& resp) -> const auto& {
        return resp.failed_callbacks();
      },
      [](absl::Span<const v1::FailedCallback> failed) {
        std::vector<std::vector<std::string>> rows;
        for (const v1::FailedCallback& f : failed) {
          rows.push_back({f.room_sid(), absl::StrCat(f.sequence_number()), f.event(),
                          absl::StrCat(f.attempts()),
                          FormatTimestamp(f.has_failed_at(), f.failed_at()), f.last_error()});
        }
        return RenderTable({"ROOM", "SEQUENCE", "EVENT", "ATTEMPTS", "FAILED_AT", "LAST_ERROR"},
                           rows);
      });
}

// ---------------------------------------------------------------------------------------
// watch

// The state a SIGINT must reach: the stream to cancel and the backoff sleep to cut short.
class WatchInterrupt {
 public:
  void Interrupt() {
    absl::MutexLock lock(&mu_);
    interrupted_ = true;
    if (context_ != nullptr) context_->TryCancel();
  }
  bool interrupted() {
    absl::MutexLock lock(&mu_);
    return interrupted_;
  }
  // Registers the context of the running stream (nullptr when none); cancels it at once
  // if an interrupt already arrived.
  void SetContext(grpc::ClientContext* context) {
    absl::MutexLock lock(&mu_);
    context_ = context;
    if (context_ != nullptr && interrupted_) context_->TryCancel();
  }
  // Sleeps for `d` or until interrupted; true when interrupted.
  bool SleepFor(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&interrupted_), d);
    return interrupted_;
  }

 private:
  absl::Mutex mu_;
  bool interrupted_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ClientContext* context_ ABSL_GUARDED_BY(mu_) = nullptr;
};

// Waits until the channel is connected (true) or its first connection attempt fails, the
// deadline passes or an interrupt arrives (false).
bool Connect(grpc::Channel& channel, absl::Time deadline, WatchInterrupt& interrupt) {
  grpc_connectivity_state state = channel.GetState(/*try_to_connect=*/true);
  while (state != GRPC_CHANNEL_READY) {
    if (state == GRPC_CHANNEL_TRANSIENT_FAILURE || state == GRPC_CHANNEL_SHUTDOWN) return false;
    const absl::Time now = absl::Now();
    if (now >= deadline || interrupt.interrupted()) return false;
    // Short slices, so an interrupt is noticed promptly.
    channel.WaitForStateChange(
        state, absl::ToChronoTime(std::min(deadline, now + absl::Milliseconds(100))));
    state = channel.GetState(/*try_to_connect=*/true);
  }
  return true;
}

std::string CompactRevision(const grpc::ClientContext& context) {
  const auto& trailers = context.GetServerTrailingMetadata();
  auto it = trailers.find("rollcall-compact-revision");
  if (it == trailers.end()) return "";
  return {it->second.data(), it->second.size()};
}

// What `rollcall watch` was asked for.
struct WatchSettings {
  v1::WatchRequest request;
  std::optional<int64_t> max_changes;
  bool resume = true;
  bool show_progress = false;
  bool json = false;
};

// The flags of `rollcall watch`; a usage error names the flag.
absl::StatusOr<WatchSettings> ParseWatchFlags(const ParsedArgs& args, CommandEnv& env) {
  WatchSettings settings;
  v1::WatchRequest& request = settings.request;
  request.set_account_sid(env.options().account);
  if (absl::Status s = NonEmptyFlag(args, "--room"); !s.ok()) return s;
  request.set_room(args.GetOr("--room", ""));
  request.set_send_initial_state(args.Has("--initial"));
  if (args.Has("--from") && args.Has("--initial")) {
    return absl::InvalidArgumentError(
        "flag --from cannot be combined with --initial (the snapshot's changes follow it)");
  }
  absl::Status s = OptionalFlag(args, "--from", ParseUintValue,
                                [&request](uint64_t rev) { request.set_start_revision(rev); });
  if (!s.ok()) return s;
  s = OptionalFlag(
      args, "--max-changes",
      [](absl::string_view f, absl::string_view v) {
        return ParseIntValue(f, v, 1, std::numeric_limits<int64_t>::max());
      },
      [&settings](int64_t n) { settings.max_changes = n; });
  if (!s.ok()) return s;
  settings.resume = !args.Has("--no-resume");
  settings.show_progress = args.Has("--progress");
  settings.json = env.options().format == OutputFormat::kJson;
  return settings;
}

// Prints watch responses as table rows or JSON lines, counting changes for --max-changes.
class WatchPrinter {
 public:
  WatchPrinter(const WatchSettings& settings, CommandEnv& env) : settings_(settings), env_(env) {}

  // False when the watch must stop: --max-changes reached, or the output failed (exit_code()
  // says which).
  bool Print(const v1::WatchResponse& response) {
    std::vector<std::string> lines;
    if (settings_.json) {
      absl::StatusOr<std::vector<std::string>> rendered =
          WatchJsonLines(response, settings_.show_progress);
      if (!rendered.ok()) {
        exit_code_ = ReportInternal(rendered.status(), env_);
        return false;
      }
      lines = *std::move(rendered);
    } else {
      lines = WatchTableLines(response, settings_.show_progress);
    }
    // Only changes count towards --max-changes; snapshot and marker lines do not.
    const bool counts = response.kind_case() == v1::WatchResponse::kChanges;
    bool more = true;
    for (const std::string& line : lines) {
      env_.out() << line;
      if (counts && settings_.max_changes.has_value() &&
          ++changes_printed_ >= *settings_.max_changes) {
        more = false;
        break;
      }
    }
    env_.out().flush();
    if (!env_.out()) {  // e.g. a full disk; a closed pipe usually ends us with SIGPIPE first
      env_.err() << "rollcall: cannot write output" << std::endl;
      exit_code_ = kExitError;
      return false;
    }
    return more;
  }

  int exit_code() const { return exit_code_; }

 private:
  const WatchSettings& settings_;
  CommandEnv& env_;
  int64_t changes_printed_ = 0;
  int exit_code_ = kExitOk;
};

// How one Watch call ended.
struct WatchStreamEnd {
  grpc::Status status;
  std::string compact_revision;  // the OUT_OF_RANGE trailer, if any
  bool stopped = false;          // the printer stopped it
};

// One Watch call: reads and prints until the stream ends, the printer stops it or an interrupt
// cancels it.
WatchStreamEnd WatchOnce(v1::WatchService::Stub& stub, const v1::WatchRequest& request,
                         WatchCursor& cursor, Backoff& backoff, WatchPrinter& printer,
                         WatchInterrupt& interrupt) {
  grpc::ClientContext context;
  interrupt.SetContext(&context);
  std::unique_ptr<grpc::ClientReader<v1::WatchResponse>> reader = stub.Watch(&context, request);
  WatchStreamEnd end;
  v1::WatchResponse response;
  while (!end.stopped && reader->Read(&response)) {
    backoff.Reset();
    cursor.Observe(response);
    end.stopped = !printer.Print(response);
  }
  if (end.stopped) context.TryCancel();
  end.status = reader->Finish();
  interrupt.SetContext(nullptr);
  end.compact_revision = CompactRevision(context);
  return end;
}

// After a stream ended on its own: the exit code, or nullopt to resume.
std::optional<int> ExitAfter(const WatchStreamEnd& end, bool resume, CommandEnv& env) {
  const grpc::Status& status = end.status;
  if (status.error_code() == grpc::StatusCode::OUT_OF_RANGE) {
    return ReportRpcError(
        status, env,
        end.compact_revision.empty()
            ? ""
            : absl::StrCat(" (oldest retained revision: ", end.compact_revision, ")"));
  }
  if (resume && IsResumable(status.error_code())) return std::nullopt;
  if (status.ok()) {
    env.err() << "rollcall: watch: the server ended the stream" << std::endl;
    return kExitUnavailable;
  }
  return ReportRpcError(status, env);
}

int RunWatch(const ParsedArgs& args, CommandEnv& env) {
  absl::StatusOr<WatchSettings> settings = ParseWatchFlags(args, env);
  if (!settings.ok()) return env.UsageError(settings.status());

  WatchInterrupt interrupt;
  InterruptHandler on_signal([&interrupt] { interrupt.Interrupt(); });
  std::shared_ptr<grpc::Channel> channel = env.channel();
  if (!Connect(*channel, absl::Now() + env.options().timeout, interrupt)) {
    if (interrupt.interrupted()) return kExitOk;
    env.err() << "rollcall: UNAVAILABLE: cannot connect to " << env.options().server << std::endl;
    return kExitUnavailable;
  }
  auto stub = v1::WatchService::NewStub(channel);

  if (!settings->json) env.out() << WatchTableHeader() << std::flush;
  WatchPrinter printer(*settings, env);
  WatchCursor cursor(settings->request);
  Backoff backoff;
  bool resumed = false;
  for (;;) {
    const WatchStreamEnd end =
        WatchOnce(*stub, resumed ? cursor.ResumeRequest() : settings->request, cursor, backoff,
                  printer, interrupt);
    if (end.stopped) return printer.exit_code();
    if (interrupt.interrupted()) return kExitOk;
    if (std::optional<int> exit_code = ExitAfter(end, settings->resume, env)) return *exit_code;
    const absl::Duration delay = backoff.Next();
    resumed = true;
    env.err() << "rollcall: watch: " << StatusCodeName(end.status.error_code()) << ": "
              << absl::StrReplaceAll(end.status.error_message(), {{"\n", " "}})
              << "; resuming from "
              << (cursor.NextStartRevision() == 0
                      ? std::string("now")
                      : absl::StrCat("revision ", cursor.NextStartRevision()))
              << " in " << absl::FormatDuration(delay) << std::endl;
    if (interrupt.SleepFor(delay)) return kExitOk;
  }
}

// ---------------------------------------------------------------------------------------
// health

constexpr Choice<absl::string_view> kHealthServices[] = {
    {"liveness", "liveness"}, {"readiness", "readiness"}, {"all", ""}};

int RunHealth(const ParsedArgs& args, CommandEnv& env) {
  grpc::health::v1::HealthCheckRequest request;
  absl::Status s = OptionalFlag(
      args, "--service",
      [](absl::string_view f, absl::string_view v) {
        return ParseChoiceValue<absl::string_view>(f, v, kHealthServices);
      },
      [&request](absl::string_view name) { request.set_service(std::string(name)); });
  if (!s.ok()) return env.UsageError(s);
  auto stub = grpc::health::v1::Health::NewStub(env.channel());
  grpc::ClientContext context;
  SetDeadline(env, &context);
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status status = stub->Check(&context, request, &response);
  if (!status.ok()) return ReportRpcError(status, env);
  const bool serving = response.status() == grpc::health::v1::HealthCheckResponse::SERVING;
  env.out() << grpc::health::v1::HealthCheckResponse::ServingStatus_Name(response.status())
            << std::endl;
  return serving ? kExitOk : kExitUnavailable;
}

// Adds the `authorization` metadata to every call of the channel, whichever command makes it.
class Authorizer final : public grpc::experimental::Interceptor {
 public:
  explicit Authorizer(const std::string& value) : value_(value) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->emplace("authorization", value_);
    }
    methods->Proceed();
  }

 private:
  const std::string& value_;
};

class AuthorizerFactory final : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit AuthorizerFactory(std::string value) : value_(std::move(value)) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo* /*info*/) override {
    return new Authorizer(value_);
  }

 private:
  const std::string value_;
};

}  // namespace

// ---------------------------------------------------------------------------------------
// CommandEnv

std::shared_ptr<grpc::Channel> CommandEnv::channel() {
  if (channel_ == nullptr) {
    grpc::ChannelArguments arguments;
    arguments.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    arguments.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
    arguments.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 5000);
    std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
    if (options_.tls) {
      grpc::SslCredentialsOptions tls;
      tls.pem_root_certs = options_.ca_pem;  // empty: the system's roots
      tls.pem_cert_chain = options_.cert_pem;
      tls.pem_private_key = options_.key_pem;
      credentials = grpc::SslCredentials(tls);
    }
    std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>>
        interceptors;
    if (!options_.authorization.empty()) {
      interceptors.push_back(std::make_unique<AuthorizerFactory>(options_.authorization));
    }
    channel_ = grpc::experimental::CreateCustomChannelWithInterceptors(
        options_.server, credentials, arguments, std::move(interceptors));
  }
  return channel_;
}

int CommandEnv::UsageError(const absl::Status& status) {
  err_ << "rollcall: " << status.message() << " (see 'rollcall " << command_.FullName()
       << " --help')" << std::endl;
  return kExitUsage;
}

// ---------------------------------------------------------------------------------------
// The command table.

const std::vector<Command>& Commands() {
  static const auto* commands = [] {
    const FlagSpec room_required{"--room", "ROOM", "room SID (RM…) or unique name (required)"};
    const FlagSpec event_id{"--event-id", "ID",
                            "idempotency key (default: a fresh random \"cli-\" + 32 hex digits)"};
    const FlagSpec at{"--at", "TIME", "when it happened, RFC 3339 (default: now)"};
    const FlagSpec participant_required{"--participant", "PA…", "participant SID (required)"};
    const FlagSpec room_optional{"--room", "ROOM",
                                 "room SID or unique name; the participant must be in it"};
    const FlagSpec page_size{"--page-size", "N", "records per page, 1–1000 (server default 50)"};
    const FlagSpec page_token{"--page-token", "TOKEN", "continue from a previous page"};
    const FlagSpec all{"--all", "", "follow next_page_token to the last page"};
    const FlagSpec created_after{"--created-after", "TIME",
                                 "only records created strictly after TIME (RFC 3339)"};
    const FlagSpec created_before{"--created-before", "TIME",
                                  "only records created strictly before TIME (RFC 3339)"};
    return new std::vector<Command>{
        {"event",
         "connect",
         "--room ROOM --identity IDENTITY [flags]",
         "record PARTICIPANT_CONNECTED (creates the participant, and an ad-hoc room if needed)",
         {room_required,
          {"--identity", "IDENTITY", "the participant's application-defined identity (required)"},
          {"--participant", "PA…", "choose the new participant's SID (default: server-generated)"},
          event_id,
          at},
         0,
         RunEventConnect},
        {"event",
         "reconnecting",
         "--room ROOM --participant PA… [flags]",
         "record PARTICIPANT_RECONNECTING (CONNECTED → RECONNECTING)",
         {room_required, participant_required, event_id, at},
         0,
         RunEventReconnecting},
        {"event",
         "reconnected",
         "--room ROOM --participant PA… [flags]",
         "record PARTICIPANT_RECONNECTED (RECONNECTING → CONNECTED)",
         {room_required, participant_required, event_id, at},
         0,
         RunEventReconnected},
        {"event",
         "disconnect",
         "--room ROOM --participant PA… [flags]",
         "record PARTICIPANT_DISCONNECTED",
         {room_required,
          participant_required,
          {"--reason", "REASON",
           "client_initiated|duplicate_identity|removed|reconnect_timeout|session_limit|"
           "room_ended (default: client_initiated)"},
          event_id,
          at},
         0,
         RunEventDisconnect},
        {"participants",
         "list",
         "[flags]",
         "list participant sessions, oldest first",
         {{"--room", "ROOM", "only this room (SID or unique name)"},
          {"--status", "S[,S…]", "only these statuses: connected,reconnecting,disconnected"},
          {"--identity", "IDENTITY", "only this identity"},
          created_after,
          created_before,
          page_size,
          page_token,
          all},
         0,
         RunParticipantsList},
        {"participants",
         "get",
         "PA… [--room ROOM] | --room ROOM --identity IDENTITY",
         "show one participant, by SID or by the identity of an active participant",
         {room_optional,
          {"--identity", "IDENTITY", "look up the active participant with this identity"}},
         1,
         RunParticipantsGet},
        {"participants",
         "kick",
         "PA… [--room ROOM]",
         "remove an active participant (DISCONNECTED, reason REMOVED)",
         {room_optional},
         1,
         RunParticipantsKick},
        {"participants",
         "anonymize",
         "PA… [--room ROOM]",
         "replace a disconnected participant's identity with its SID",
         {room_optional},
         1,
         RunParticipantsAnonymize},
        {"rooms",
         "create",
         "[UNIQUE_NAME] [flags]",
         "create an in-progress room",
         {{"--max-participants", "N", "most active participants at once (server default 50)"},
          {"--max-participant-duration", "SECONDS", "longest session, 600–86400 (default 14400)"},
          {"--empty-room-timeout", "MINUTES",
           "close this long after the last participant left, 1–60 (default 5)"},
          {"--unused-room-timeout", "MINUTES",
           "close this long after creation if nobody joined, 1–60 (default 5)"},
          {"--status-callback", "URL", "absolute http(s) URL for status callbacks"},
          {"--status-callback-method", "GET|POST",
           "HTTP method of status callbacks (default POST)"}},
         1,
         RunRoomsCreate},
        {"rooms",
         "list",
         "[flags]",
         "list rooms, oldest first",
         {{"--status", "S[,S…]", "only these statuses: in-progress,completed,failed"},
          {"--name", "NAME", "only rooms with this unique name"},
          created_after,
          created_before,
          page_size,
          page_token,
          all},
         0,
         RunRoomsList},
        {"rooms",
         "get",
         "ROOM",
         "show one room (SID, or unique name of an in-progress room)",
         {},
         1,
         RunRoomsGet},
        {"rooms",
         "end",
         "ROOM",
         "end an in-progress room (COMPLETED); its participants are disconnected (ROOM_ENDED)",
         {},
         1,
         RunRoomsEnd},
        {"tracks",
         "list",
         "PA… [--room ROOM] [--subscribed] [flags]",
         "list a participant's published tracks (or, with --subscribed, what it receives)",
         {room_optional,
          {"--subscribed", "", "list subscribed tracks instead of published ones"},
          page_size,
          page_token,
          all},
         1,
         RunTracksList},
        {"rules",
         "get",
         "PA… [--room ROOM]",
         "show a participant's subscribe rules as JSON (Twilio's shape)",
         {room_optional},
         1,
         RunRulesGet},
        {"rules",
         "set",
         "PA… --rules JSON [--room ROOM]",
         "replace a participant's subscribe rules (needs role admin with credentials on)",
         {room_optional,
          {"--rules", "JSON",
           "1–20 rules, e.g. '[{\"type\":\"include\",\"all\":true},{\"type\":\"exclude\","
           "\"kind\":\"video\",\"publisher\":\"alice\"}]' (required)"}},
         1,
         RunRulesSet},
        {"callbacks",
         "failed",
         "[flags]",
         "list status callbacks given up on after --callback_max_age (needs role admin)",
         {page_size, page_token, all},
         0,
         RunCallbacksFailed},
        {"watch",
         "",
         "[flags]",
         "stream changes as they happen; resumes across disconnects without gaps",
         {{"--room", "ROOM", "only this room (default: every room of the account)"},
          {"--from", "REV", "start at revision REV, inclusive (default: from now)"},
          {"--initial", "",
           "first print the current rooms and active participants (INITIAL), then "
           "INITIAL_STATE_END"},
          {"--no-resume", "", "exit when the stream breaks instead of reconnecting"},
          {"--progress", "", "also print the server's idle-stream PROGRESS heartbeats"},
          {"--max-changes", "N", "exit 0 after printing N changes"}},
         0,
         RunWatch},
        {"health",
         "",
         "[--service liveness|readiness|all]",
         "print SERVING or NOT_SERVING (exit 0 only when SERVING), as a health probe would",
         {{"--service", "NAME",
           "liveness, readiness, or all (the server as a whole; default: all)"}},
         0,
         RunHealth},
    };
  }();
  return *commands;
}

}  // namespace rollcall::cli
