#include "service/query_services.h"

#include "absl/strings/str_cat.h"
#include "service/audit.h"
#include "service/grpc_status.h"
#include "service/unary_call.h"
#include "service/unparsable_request.h"
#include "state/lookup.h"
#include "state/status_macros.h"
#include "state/validation.h"

namespace rollcall::service {
namespace {

// The date window and page size that ListParticipants and ListRooms requests share.
template <typename Request, typename Query>
absl::Status ParseListWindow(const Request& request, Query& query) {
  ASSIGN_OR_RETURN(query.created_after,
                   FromProto(request.date_created_after(), request.has_date_created_after(),
                             "date_created_after"));
  ASSIGN_OR_RETURN(query.created_before,
                   FromProto(request.date_created_before(), request.has_date_created_before(),
                             "date_created_before"));
  ASSIGN_OR_RETURN(query.page_size, PageSize(request.page_size()));
  return absl::OkStatus();
}

// The filter part of a list query, hashed into its page tokens.
uint64_t FilterHash(absl::string_view scope, const std::vector<int>& statuses,
                    absl::string_view name, const std::optional<absl::Time>& after,
                    const std::optional<absl::Time>& before) {
  uint64_t hash = state::StableHash(scope);
  for (int status : statuses) hash = state::StableHash(absl::StrCat(status), hash);
  hash = state::StableHash(name, hash);
  hash = state::StableHash(after ? absl::FormatTime(*after) : "-", hash);
  return state::StableHash(before ? absl::FormatTime(*before) : "-", hash);
}

}  // namespace

ParticipantService::ParticipantService(Applier& applier, const Converter& converter,
                                       const Authorizer& auth)
    : applier_(applier), converter_(converter), auth_(auth) {
  const char* service = v1::ParticipantService::service_full_name();
  MarkMethodCallback(MethodIndex(service, "GetParticipant"),
                     NamingBadFields(this, &ParticipantService::GetParticipant));
  MarkMethodCallback(MethodIndex(service, "ListParticipants"),
                     NamingBadFields(this, &ParticipantService::ListParticipants));
  MarkMethodCallback(MethodIndex(service, "UpdateParticipant"),
                     NamingBadFields(this, &ParticipantService::UpdateParticipant));
  MarkMethodCallback(MethodIndex(service, "AnonymizeParticipant"),
                     NamingBadFields(this, &ParticipantService::AnonymizeParticipant));
}

grpc::ServerUnaryReactor* ParticipantService::GetParticipant(
    grpc::CallbackServerContext* context, const v1::GetParticipantRequest* request,
    v1::GetParticipantResponse* response) {
  return Answer(context, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(state::Sid account,
                     auth_.Account(*context, Permission::kRead, request->account_sid()));
    // Exactly one of participant_sid and identity; a malformed identity is INVALID_ARGUMENT
    // as in ListParticipants, not a lookup that finds nothing.
    if (!request->participant_sid().empty() && !request->identity().empty()) {
      return absl::InvalidArgumentError(
          "identity: must not be set together with participant_sid (set exactly one)");
    }
    if (!request->identity().empty()) {
      RETURN_IF_ERROR(
          state::ValidateText(request->identity(), state::kMaxIdentityBytes, "identity"));
    }
    return applier_.Read([&](const state::Roster& roster) -> absl::Status {
      const state::Participant* participant = nullptr;
      if (!request->participant_sid().empty()) {
        ASSIGN_OR_RETURN(participant, state::FindNamedParticipant(roster, account, request->room(),
                                                                  request->participant_sid(),
                                                                  "room", "participant_sid"));
      } else if (!request->identity().empty()) {
        if (request->room().empty()) {
          return absl::InvalidArgumentError("room: is required when looking up by identity");
        }
        ASSIGN_OR_RETURN(const state::Room* room,
                         state::FindRoomByReference(roster, account, request->room(), "room"));
        participant = roster.FindActiveByIdentity(room->sid, request->identity());
        if (participant == nullptr) {
          return absl::NotFoundError(absl::StrCat("identity: no active participant ",
                                                  request->identity(), " in room ",
                                                  request->room()));
        }
      } else {
        return absl::InvalidArgumentError("participant_sid: is required (or identity with room)");
      }
      converter_.ToProto(*participant, response->mutable_participant());
      return absl::OkStatus();
    });
  });
}

grpc::ServerUnaryReactor* ParticipantService::ListParticipants(
    grpc::CallbackServerContext* context, const v1::ListParticipantsRequest* request,
    v1::ListParticipantsResponse* response) {
  return Answer(context, [&]() -> absl::Status {
    state::ParticipantQuery query;
    ASSIGN_OR_RETURN(query.account_sid,
                     auth_.Account(*context, Permission::kRead, request->account_sid()));
    std::vector<int> statuses;
    for (int status : request->statuses()) {
      ASSIGN_OR_RETURN(state::ParticipantStatus parsed,
                       ParticipantStatusFromProto(status, "statuses"));
      if (parsed == state::ParticipantStatus::kUnspecified) {
        return absl::InvalidArgumentError(
            "statuses: PARTICIPANT_STATUS_UNSPECIFIED is not a status");
      }
      query.statuses.push_back(parsed);
      statuses.push_back(status);
    }
    if (!request->identity().empty()) {
      RETURN_IF_ERROR(
          state::ValidateText(request->identity(), state::kMaxIdentityBytes, "identity"));
      query.identity = request->identity();
    }
    RETURN_IF_ERROR(ParseListWindow(*request, query));
    return applier_.Read([&](const state::Roster& roster) -> absl::Status {
      if (!request->room().empty()) {
        ASSIGN_OR_RETURN(
            const state::Room* room,
            state::FindRoomByReference(roster, query.account_sid, request->room(), "room"));
        query.room_sid = room->sid;
      }
      const uint64_t filter =
          FilterHash(absl::StrCat(query.account_sid.ToString(), "/",
                                  query.room_sid ? query.room_sid->ToString() : ""),
                     statuses, query.identity, query.created_after, query.created_before);
      if (!request->page_token().empty()) {
        ASSIGN_OR_RETURN(query.after, DecodePageToken(request->page_token(), filter));
      }
      state::Page<state::Participant> page = roster.ListParticipants(query);
      for (const state::Participant& participant : page.items) {
        converter_.ToProto(participant, response->add_participants());
      }
      if (page.next) response->set_next_page_token(EncodePageToken(*page.next, filter));
      return absl::OkStatus();
    });
  });
}

grpc::ServerUnaryReactor* ParticipantService::UpdateParticipant(
    grpc::CallbackServerContext* context, const v1::UpdateParticipantRequest* request,
    v1::UpdateParticipantResponse* response) {
  auto input = [&](const state::Sid& account) -> absl::StatusOr<state::Input> {
    state::KickParticipant kick;
    kick.account_sid = account;
    ASSIGN_OR_RETURN(kick.status, ParticipantStatusFromProto(request->status(), "status"));
    kick.room = request->room();
    kick.participant_sid = request->participant_sid();
    return kick;
  };
  return AdminCommand(context, auth_, applier_, "kick_participant", request->account_sid(),
                      {{"room", request->room()}, {"participant_sid", request->participant_sid()}},
                      input, [this, response](const state::Outcome& outcome) {
                        converter_.ToProto(*outcome.participant, response->mutable_participant());
                        response->set_revision(outcome.revision);
                      });
}

grpc::ServerUnaryReactor* ParticipantService::AnonymizeParticipant(
    grpc::CallbackServerContext* context, const v1::AnonymizeParticipantRequest* request,
    v1::AnonymizeParticipantResponse* response) {
  auto input = [&](const state::Sid& account) -> absl::StatusOr<state::Input> {
    state::AnonymizeParticipant command;
    command.account_sid = account;
    command.room = request->room();
    command.participant_sid = request->participant_sid();
    return command;
  };
  return AdminCommand(context, auth_, applier_, "anonymize_participant", request->account_sid(),
                      {{"room", request->room()}, {"participant_sid", request->participant_sid()}},
                      input, [this, response](const state::Outcome& outcome) {
                        converter_.ToProto(*outcome.participant, response->mutable_participant());
                        response->set_revision(outcome.revision);
                      });
}

RoomService::RoomService(Applier& applier, const Converter& converter, const Authorizer& auth,
                         UrlCheck check_callback_url)
    : applier_(applier),
      converter_(converter),
      auth_(auth),
      check_callback_url_(std::move(check_callback_url)) {
  const char* service = v1::RoomService::service_full_name();
  MarkMethodCallback(MethodIndex(service, "CreateRoom"),
                     NamingBadFields(this, &RoomService::CreateRoom));
  MarkMethodCallback(MethodIndex(service, "GetRoom"), NamingBadFields(this, &RoomService::GetRoom));
  MarkMethodCallback(MethodIndex(service, "ListRooms"),
                     NamingBadFields(this, &RoomService::ListRooms));
  MarkMethodCallback(MethodIndex(service, "UpdateRoom"),
                     NamingBadFields(this, &RoomService::UpdateRoom));
}

grpc::ServerUnaryReactor* RoomService::CreateRoom(grpc::CallbackServerContext* context,
                                                  const v1::CreateRoomRequest* request,
                                                  v1::CreateRoomResponse* response) {
  auto input = [&](const state::Sid& account) -> absl::StatusOr<state::Input> {
    state::CreateRoom command;
    command.account_sid = account;
    command.unique_name = request->unique_name();
    if (request->has_max_participants()) command.max_participants = request->max_participants();
    if (request->has_max_participant_duration()) {
      command.max_participant_duration = request->max_participant_duration();
    }
    if (request->has_empty_room_timeout()) {
      command.empty_room_timeout = request->empty_room_timeout();
    }
    if (request->has_unused_room_timeout()) {
      command.unused_room_timeout = request->unused_room_timeout();
    }
    command.status_callback = request->status_callback();
    command.status_callback_method = request->status_callback_method();
    if (!command.status_callback.empty() && check_callback_url_) {
      RETURN_IF_ERROR(check_callback_url_(command.status_callback));
    }
    return command;
  };
  return AdminCommand(context, auth_, applier_, "create_room", request->account_sid(),
                      {{"unique_name", request->unique_name()}}, input,
                      [this, response](const state::Outcome& outcome) {
                        converter_.ToProto(*outcome.room, 0, response->mutable_room());
                        response->set_revision(outcome.revision);
                      });
}

grpc::ServerUnaryReactor* RoomService::GetRoom(grpc::CallbackServerContext* context,
                                               const v1::GetRoomRequest* request,
                                               v1::GetRoomResponse* response) {
  return Answer(context, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(state::Sid account,
                     auth_.Account(*context, Permission::kRead, request->account_sid()));
    return applier_.Read([&](const state::Roster& roster) -> absl::Status {
      ASSIGN_OR_RETURN(const state::Room* room,
                       state::FindRoomByReference(roster, account, request->room(), "room"));
      converter_.ToProto(*room, roster.Activity(room->sid).active, response->mutable_room());
      return absl::OkStatus();
    });
  });
}

grpc::ServerUnaryReactor* RoomService::ListRooms(grpc::CallbackServerContext* context,
                                                 const v1::ListRoomsRequest* request,
                                                 v1::ListRoomsResponse* response) {
  return Answer(context, [&]() -> absl::Status {
    state::RoomQuery query;
    ASSIGN_OR_RETURN(query.account_sid,
                     auth_.Account(*context, Permission::kRead, request->account_sid()));
    std::vector<int> statuses;
    for (int status : request->statuses()) {
      ASSIGN_OR_RETURN(state::RoomStatus parsed, RoomStatusFromProto(status, "statuses"));
      if (parsed == state::RoomStatus::kUnspecified) {
        return absl::InvalidArgumentError("statuses: ROOM_STATUS_UNSPECIFIED is not a status");
      }
      query.statuses.push_back(parsed);
      statuses.push_back(status);
    }
    if (!request->unique_name().empty()) {
      RETURN_IF_ERROR(
          state::ValidateText(request->unique_name(), state::kMaxUniqueNameBytes, "unique_name"));
      query.unique_name = request->unique_name();
    }
    RETURN_IF_ERROR(ParseListWindow(*request, query));
    const uint64_t filter = FilterHash(query.account_sid.ToString(), statuses, query.unique_name,
                                       query.created_after, query.created_before);
    if (!request->page_token().empty()) {
      ASSIGN_OR_RETURN(query.after, DecodePageToken(request->page_token(), filter));
    }
    return applier_.Read([&](const state::Roster& roster) -> absl::Status {
      state::Page<state::Room> page = roster.ListRooms(query);
      for (const state::Room& room : page.items) {
        converter_.ToProto(room, roster.Activity(room.sid).active, response->add_rooms());
      }
      if (page.next) response->set_next_page_token(EncodePageToken(*page.next, filter));
      return absl::OkStatus();
    });
  });
}

grpc::ServerUnaryReactor* RoomService::UpdateRoom(grpc::CallbackServerContext* context,
                                                  const v1::UpdateRoomRequest* request,
                                                  v1::UpdateRoomResponse* response) {
  auto input = [&](const state::Sid& account) -> absl::StatusOr<state::Input> {
    state::EndRoom command;
    command.account_sid = account;
    ASSIGN_OR_RETURN(command.status, RoomStatusFromProto(request->status(), "status"));
    command.room = request->room();
    return command;
  };
  return AdminCommand(context, auth_, applier_, "end_room", request->account_sid(),
                      {{"room", request->room()}}, input,
                      [this, response](const state::Outcome& outcome) {
                        converter_.ToProto(*outcome.room, 0, response->mutable_room());
                        response->set_revision(outcome.revision);
                      });
}

}  // namespace rollcall::service
