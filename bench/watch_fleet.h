// WatchFleet: N WatchService.Watch streams, each recording which revision arrived when. Reads
// go through gRPC's generic API as raw bytes, and only the ChangeSet's revision is decoded
// (the first field of the first field), so a thousand watchers cost the generator little
// beyond gRPC itself. AckBook holds when each revision was acknowledged to the ingest side;
// together they give the ack → receipt latency of docs/benchmarks.md, targets.
#ifndef ROLLCALL_BENCH_WATCH_FLEET_H_
#define ROLLCALL_BENCH_WATCH_FLEET_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "bench/completion.h"
#include "bench/json.h"
#include "bench/latency.h"

namespace rollcall::bench {

// Revision → when the op that created it was first acknowledged (NowNanos()), and in which
// room it happened.
struct Ack {
  int64_t at = 0;
  std::string room_sid;
};
using Acks = absl::flat_hash_map<uint64_t, Ack>;

class AckBook {
 public:
  void Add(uint64_t revision, int64_t at, absl::string_view room_sid);
  Acks Copy() const;

 private:
  mutable absl::Mutex mu_;
  Acks acks_ ABSL_GUARDED_BY(mu_);
};

struct WatchFleetOptions {
  int watchers = 1000;
  std::string account;             // empty: the server's default account
  std::vector<std::string> rooms;  // watcher i watches rooms[i % size]; none: the account
};

class WatchFleet {
 public:
  WatchFleet(const WatchFleetOptions& options,
             const std::vector<std::shared_ptr<grpc::Channel>>& channels, Pollers& pollers);
  ~WatchFleet();
  WatchFleet(const WatchFleet&) = delete;
  WatchFleet& operator=(const WatchFleet&) = delete;

  void Start();
  // Until every stream has started (or failed to); false on timeout.
  bool WaitStarted(absl::Duration timeout);
  // Until every watcher received a ChangeSet at or after the last acknowledged revision in
  // its scope, or its stream ended.
  bool WaitDelivered(const Acks& acks, absl::Duration timeout);
  // Cancels every stream and waits for them to end.
  void Stop(absl::Duration timeout);

  struct Totals {
    LatencySummary latency;
    int64_t deliveries = 0;
    int64_t missed = 0;
    int64_t out_of_order = 0;
    JsonObject json;
  };
  // After Stop: ack → receipt latency of every (watcher, revision in its scope acknowledged
  // inside [window_start, window_end)) pair, missed deliveries, and stream failures. A
  // delivery still missing when the fleet stopped (at `stopped`) counts with latency
  // stopped − ack, a lower bound, so missing deliveries can only make the percentiles worse.
  Totals Report(const Acks& acks, int64_t window_start, int64_t window_end, int64_t stopped) const;
  int failures() const { return failures_.load(); }

 private:
  class Watcher;
  void Ended(bool failed);

  const WatchFleetOptions options_;
  std::vector<std::unique_ptr<Watcher>> watchers_;
  std::atomic<int> failures_{0};
  mutable absl::Mutex mu_;
  int started_ ABSL_GUARDED_BY(mu_) = 0;
  int running_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace rollcall::bench

#endif  // ROLLCALL_BENCH_WATCH_FLEET_H_
