// CallTracker: the gRPC calls in flight when shutdown begins, so the server can wait for them
// to end without gRPC's own Server::Shutdown. That one refuses every call reaching the server
// after it starts — before clients have seen its GOAWAY — by cancelling it: the client gets
// CANCELLED, where rollcall promises UNAVAILABLE. So rollcalld drains through its own gates
// (watch and ingest streams end UNAVAILABLE, the applier refuses writes UNAVAILABLE), waits
// here for the calls that began before, and exits; a call that reaches it later is answered by
// its gate or sees the connection close, UNAVAILABLE either way.
#ifndef ROLLCALL_SERVICE_CALL_TRACKER_H_
#define ROLLCALL_SERVICE_CALL_TRACKER_H_

#include <grpcpp/support/server_interceptor.h>

#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace rollcall::service {

class CallTracker {
 public:
  // Counts every call from its start until gRPC is done with it (its status sent).
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> Interceptor();

  // Calls starting from now on are not counted: the gates answer them at once.
  void StopCounting();
  // Waits until every counted call has ended, or `deadline`; returns how many are still open.
  int AwaitCounted(absl::Time deadline);

  // For the interceptor: a call starts (true when it is counted) and ends.
  bool Begin();
  void End();

 private:
  absl::Mutex mu_;
  int open_ ABSL_GUARDED_BY(mu_) = 0;
  bool counting_ ABSL_GUARDED_BY(mu_) = true;
};

}  // namespace rollcall::service

#endif  // ROLLCALL_SERVICE_CALL_TRACKER_H_
