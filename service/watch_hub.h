// WatchHub: fans committed revisions out to Watch streams (DESIGN.md §6).
//
// - Each revision is serialized once (by the applier, as the change-log payload) and every
//   watcher sends the same refcounted grpc::ByteBuffer.
// - A watcher is "live" while it keeps up: the hub pushes new revisions into its queue. A
//   watcher whose queue passes --watch_max_queue_bytes stops being fed and later catches up on
//   its own: from the hub's ring of recent revisions, or from the stored change log on the
//   hub's thread. Either way the applier never waits for a watcher.
// - A watcher more than --watch_max_lag revisions behind that is not catching up (no closer
//   to the head than at the previous sweep) ends with RESOURCE_EXHAUSTED and trailer
//   `rollcall-resume-revision`: where a new watch continues with nothing missed or doubled.
// - Start revisions older than the stored log end with OUT_OF_RANGE and trailer
//   `rollcall-compact-revision`. On Shutdown every stream ends with UNAVAILABLE.
//
// Lock order: hub mutex, then a watcher's mutex. Never the other way.
#ifndef ROLLCALL_SERVICE_WATCH_HUB_H_
#define ROLLCALL_SERVICE_WATCH_HUB_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "rollcall/v1/watch_service.grpc.pb.h"
#include "service/applier.h"
#include "service/auth.h"
#include "service/convert.h"
#include "store/store.h"

namespace rollcall::service {

struct WatchOptions {
  absl::Duration progress_interval = absl::Seconds(10);  // --watch_progress_interval
  size_t max_queue_bytes = 4 << 20;                      // --watch_max_queue_bytes
  uint64_t max_lag = 100000;                             // --watch_max_lag (revisions)
  size_t recent_revisions = 16384;                       // ring kept in memory
  size_t catch_up_chunk = 512;                           // log entries per store read
};

// One committed revision, ready to send.
struct Revision {
  uint64_t revision = 0;
  state::Sid account_sid;
  state::Sid room_sid;
  grpc::ByteBuffer bytes;  // a serialized rollcall.v1.WatchResponse
  size_t size = 0;
};
using RevisionPtr = std::shared_ptr<const Revision>;

// Parses a change-log entry's payload (scope header + WatchResponse bytes).
absl::StatusOr<RevisionPtr> RevisionFromLog(const store::LogEntry& entry);

class Watcher;

struct WatchStats {
  size_t watchers = 0;
  uint64_t slow_terminations = 0;
};

class WatchHub {
 public:
  WatchHub(const WatchOptions& options, store::Store& store, Applier& applier,
           const Converter& converter);
  ~WatchHub();

  // The applier's commit listener: revisions in order, already durable.
  void Publish(const std::vector<store::LogEntry>& entries);
  // Ends every stream with UNAVAILABLE; new streams are refused.
  void Shutdown();

  // A Watch call of `caller` (refused with its error when it is not authorized).
  grpc::ServerWriteReactor<grpc::ByteBuffer>* Open(grpc::CallbackServerContext* context,
                                                   const grpc::ByteBuffer* request,
                                                   const absl::StatusOr<Caller>& caller);
  WatchStats stats() const;

 private:
  friend class Watcher;

  // Feeds a non-live watcher from the ring, or schedules a store read; may make it live.
  void CatchUp(const std::shared_ptr<Watcher>& watcher);
  void Remove(Watcher* watcher);
  void RunBackground();

  const WatchOptions options_;
  store::Store& store_;
  Applier& applier_;
  const Converter& converter_;

  mutable absl::Mutex mu_;
  std::deque<RevisionPtr> ring_ ABSL_GUARDED_BY(mu_);
  uint64_t head_ ABSL_GUARDED_BY(mu_) = 0;  // last published revision
  std::vector<std::shared_ptr<Watcher>> watchers_ ABSL_GUARDED_BY(mu_);
  std::deque<std::shared_ptr<Watcher>> store_reads_ ABSL_GUARDED_BY(mu_);
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t slow_terminations_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread background_;
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
    return hub_.Open(context, request, auth_.Authorize(*context, Permission::kRead));
  }

 private:
  WatchHub& hub_;
  const Authorizer& auth_;
};

}  // namespace rollcall::service

#endif  // ROLLCALL_SERVICE_WATCH_HUB_H_
