// ParticipantService and RoomService: reads come straight from the applier's committed read
// view (never waiting for an fsync); commands (kick, anonymize, create, end) go through the
// applier like events, answer once durable, and are audit-logged. Every handler first
// authorizes its caller (service/auth.h): reads need role read, commands role admin.
#ifndef ROLLCALL_SERVICE_QUERY_SERVICES_H_
#define ROLLCALL_SERVICE_QUERY_SERVICES_H_

#include <functional>

#include "absl/strings/string_view.h"
#include "rollcall/v1/participant_service.grpc.pb.h"
#include "rollcall/v1/room_service.grpc.pb.h"
#include "service/applier.h"
#include "service/auth.h"
#include "service/convert.h"

namespace rollcall::service {

class ParticipantService final : public v1::ParticipantService::CallbackService {
 public:
  // Requests with malformed UTF-8 get INVALID_ARGUMENT naming the field (unparsable_request.h).
  ParticipantService(Applier& applier, const Converter& converter, const Authorizer& auth);

  grpc::ServerUnaryReactor* GetParticipant(grpc::CallbackServerContext* context,
                                           const v1::GetParticipantRequest* request,
                                           v1::GetParticipantResponse* response) override;
  grpc::ServerUnaryReactor* ListParticipants(grpc::CallbackServerContext* context,
                                             const v1::ListParticipantsRequest* request,
                                             v1::ListParticipantsResponse* response) override;
  grpc::ServerUnaryReactor* UpdateParticipant(grpc::CallbackServerContext* context,
                                              const v1::UpdateParticipantRequest* request,
                                              v1::UpdateParticipantResponse* response) override;
  grpc::ServerUnaryReactor* AnonymizeParticipant(
      grpc::CallbackServerContext* context, const v1::AnonymizeParticipantRequest* request,
      v1::AnonymizeParticipantResponse* response) override;

 private:
  Applier& applier_;
  const Converter& converter_;
  const Authorizer& auth_;
};

class RoomService final : public v1::RoomService::CallbackService {
 public:
  // Requests with malformed UTF-8 get INVALID_ARGUMENT naming the field (unparsable_request.h).
  // `check_callback_url` judges a CreateRoom's status_callback beyond the state machine's rules
  // (INVALID_ARGUMENT naming it); null accepts what the machine accepts.
  using UrlCheck = std::function<absl::Status(absl::string_view url)>;
  RoomService(Applier& applier, const Converter& converter, const Authorizer& auth,
              UrlCheck check_callback_url = nullptr);

  grpc::ServerUnaryReactor* CreateRoom(grpc::CallbackServerContext* context,
                                       const v1::CreateRoomRequest* request,
                                       v1::CreateRoomResponse* response) override;
  grpc::ServerUnaryReactor* GetRoom(grpc::CallbackServerContext* context,
                                    const v1::GetRoomRequest* request,
                                    v1::GetRoomResponse* response) override;
  grpc::ServerUnaryReactor* ListRooms(grpc::CallbackServerContext* context,
                                      const v1::ListRoomsRequest* request,
                                      v1::ListRoomsResponse* response) override;
  grpc::ServerUnaryReactor* UpdateRoom(grpc::CallbackServerContext* context,
                                       const v1::UpdateRoomRequest* request,
                                       v1::UpdateRoomResponse* response) override;

 private:
  Applier& applier_;
  const Converter& converter_;
  const Authorizer& auth_;
  const UrlCheck check_callback_url_;
};

}  // namespace rollcall::service

#endif  // ROLLCALL_SERVICE_QUERY_SERVICES_H_
