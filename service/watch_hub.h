// WatchHub: WatchService.Watch over gRPC, a thin adapter on WatchCore (service/watch_core.h).
//
// It parses the request, resolves the room (NOT_FOUND unless the account has it), and gives
// the core one reactor per stream: the reactor writes the frames the core hands it (each a
// refcounted grpc::ByteBuffer made once per revision and shared by every stream) and reports
// write completions, cancellation and the end of the call back. Every rule about what a
// watcher gets, and when it ends, lives in the core.
#ifndef ROLLCALL_SERVICE_WATCH_HUB_H_
#define ROLLCALL_SERVICE_WATCH_HUB_H_

#include <grpcpp/grpcpp.h>

#include <vector>

#include "rollcall/v1/watch_service.grpc.pb.h"
#include "service/applier.h"
#include "service/auth.h"
#include "service/clock.h"
#include "service/convert.h"
#include "service/watch_core.h"
#include "store/store.h"

namespace rollcall::service {

class WatchHub {
 public:
  WatchHub(const WatchOptions& options, store::Store& store, Applier& applier,
           const Converter& converter, const Clock& clock);

  // The applier's commit listener: revisions in order, already durable.
  void Publish(const std::vector<store::LogEntry>& entries) { core_.Publish(entries); }
  // Ends every stream with UNAVAILABLE; new streams are refused.
  void Shutdown() { core_.Shutdown(); }

  // A Watch call, authorized by `auth` (refused with its error when it is not) and checked
  // again at each credentials reload (Recheck). `auth` must outlive the hub.
  grpc::ServerWriteReactor<grpc::ByteBuffer>* Open(grpc::CallbackServerContext* context,
                                                   const grpc::ByteBuffer* request,
                                                   const Authorizer& auth);
  // The credentials changed: ends every stream whose credential no longer allows it
  // (UNAUTHENTICATED: gone or changed; PERMISSION_DENIED: its role or account changed).
  void Recheck() { core_.Recheck(); }
  WatchStats stats() const { return core_.stats(); }

 private:
  Applier& applier_;
  const Converter& converter_;
  WatchCore core_;
};

// WatchService.Watch on the raw (ByteBuffer) API, so changes are never re-serialized.
class WatchService final
    : public v1::WatchService::WithRawCallbackMethod_Watch<v1::WatchService::Service> {
 public:
  WatchService(WatchHub& hub, const Authorizer& auth) : hub_(hub), auth_(auth) {}
  using WithRawCallbackMethod_Watch::Watch;
  // Needs role read (service/auth.h).
  grpc::ServerWriteReactor<grpc::ByteBuffer>* Watch(grpc::CallbackServerContext* context,
                                                    const grpc::ByteBuffer* request) override {
    return hub_.Open(context, request, auth_);
  }

 private:
  WatchHub& hub_;
  const Authorizer& auth_;
};

}  // namespace rollcall::service

#endif  // ROLLCALL_SERVICE_WATCH_HUB_H_
