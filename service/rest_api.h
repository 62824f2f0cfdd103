// RestApi: Twilio Video v1's REST paths (docs/rest.md) answered by rollcall's own gRPC services
// through an in-process channel. Every request becomes one or two rollcall.v1 calls carrying the
// request's Authorization header as gRPC metadata, so the REST face has, by construction, the
// gRPC face's state, credentials, roles, validation, audit log and limits: a write through
// either is visible through both at once. This file only translates: form-encoded PascalCase
// parameters in, Twilio's JSON out (service/rest_json.h), gRPC statuses to Twilio's error codes.
#ifndef ROLLCALL_SERVICE_REST_API_H_
#define ROLLCALL_SERVICE_REST_API_H_

#include <grpcpp/channel.h>

#include <memory>

#include "absl/time/time.h"
#include "rollcall/v1/participant_service.grpc.pb.h"
#include "rollcall/v1/room_service.grpc.pb.h"
#include "rollcall/v1/track_service.grpc.pb.h"
#include "service/rest_http.h"

namespace rollcall::service {

class RestApi {
 public:
  // `channel` reaches the gRPC services (Server's in-process channel); each call gets `deadline`.
  RestApi(const std::shared_ptr<grpc::Channel>& channel, absl::Duration deadline);

  // Thread-safe.
  HttpResponse Handle(const HttpRequest& request) const;

  struct Call;

 private:
  HttpResponse Rooms(Call& call) const;
  HttpResponse Room(Call& call) const;
  HttpResponse Participants(Call& call) const;
  HttpResponse Participant(Call& call) const;
  HttpResponse Anonymize(Call& call) const;
  HttpResponse PublishedTracks(Call& call) const;
  HttpResponse SubscribedTracks(Call& call) const;
  HttpResponse SubscribeRules(Call& call) const;

  std::unique_ptr<v1::RoomService::Stub> rooms_;
  std::unique_ptr<v1::ParticipantService::Stub> participants_;
  std::unique_ptr<v1::TrackService::Stub> tracks_;
  const absl::Duration deadline_;
};

}  // namespace rollcall::service

#endif  // ROLLCALL_SERVICE_REST_API_H_
