// TrackService: a participant's published tracks, subscribed tracks and subscribe rules
// (docs/tracks.md). Reads (role read) come from the applier's committed read view;
// UpdateSubscribeRules (role admin, audited) goes through the applier like events and answers
// once durable.
#ifndef ROLLCALL_SERVICE_TRACK_SERVICE_H_
#define ROLLCALL_SERVICE_TRACK_SERVICE_H_

#include "rollcall/v1/track_service.grpc.pb.h"
#include "service/applier.h"
#include "service/auth.h"
#include "service/convert.h"

namespace rollcall::service {

class TrackService final : public v1::TrackService::CallbackService {
 public:
  TrackService(Applier& applier, const Converter& converter, const Authorizer& auth)
      : applier_(applier), converter_(converter), auth_(auth) {}

  grpc::ServerUnaryReactor* ListPublishedTracks(grpc::CallbackServerContext* context,
                                                const v1::ListPublishedTracksRequest* request,
                                                v1::ListPublishedTracksResponse* response) override;
  grpc::ServerUnaryReactor* GetPublishedTrack(grpc::CallbackServerContext* context,
                                              const v1::GetPublishedTrackRequest* request,
                                              v1::GetPublishedTrackResponse* response) override;
  grpc::ServerUnaryReactor* ListSubscribedTracks(
      grpc::CallbackServerContext* context, const v1::ListSubscribedTracksRequest* request,
      v1::ListSubscribedTracksResponse* response) override;
  grpc::ServerUnaryReactor* GetSubscribedTrack(grpc::CallbackServerContext* context,
                                               const v1::GetSubscribedTrackRequest* request,
                                               v1::GetSubscribedTrackResponse* response) override;
  grpc::ServerUnaryReactor* GetSubscribeRules(grpc::CallbackServerContext* context,
                                              const v1::GetSubscribeRulesRequest* request,
                                              v1::GetSubscribeRulesResponse* response) override;
  grpc::ServerUnaryReactor* UpdateSubscribeRules(
      grpc::CallbackServerContext* context, const v1::UpdateSubscribeRulesRequest* request,
      v1::UpdateSubscribeRulesResponse* response) override;

 private:
  Applier& applier_;
  const Converter& converter_;
  const Authorizer& auth_;
};

}  // namespace rollcall::service

#endif  // ROLLCALL_SERVICE_TRACK_SERVICE_H_
