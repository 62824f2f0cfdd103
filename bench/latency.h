// LatencySink: latency samples recorded from many threads at once, and their exact
// percentiles. Samples are kept whole (8 bytes each) rather than bucketed: a run records at
// most a few million, and exact order statistics need no error bars.
#ifndef ROLLCALL_BENCH_LATENCY_H_
#define ROLLCALL_BENCH_LATENCY_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "bench/json.h"

namespace rollcall::bench {

// Order statistics of one set of samples, in milliseconds. Percentiles are nearest-rank: p99
// is the smallest sample that at least 99 % of the samples do not exceed.
struct LatencySummary {
  size_t count = 0;
  double mean_ms = 0;
  double p50_ms = 0;
  double p90_ms = 0;
  double p99_ms = 0;
  double p999_ms = 0;
  double max_ms = 0;
};

LatencySummary Summarize(std::vector<int64_t> nanos);
// {"count", "mean", "p50", "p90", "p99", "p999", "max"}, in milliseconds.
JsonObject LatencyJson(const LatencySummary& summary);

class LatencySink {
 public:
  // Thread-safe; contention is spread over shards picked by the calling thread.
  void Record(int64_t nanos);
  // Every sample recorded so far (a copy).
  std::vector<int64_t> Samples() const;
  LatencySummary Summary() const { return Summarize(Samples()); }

 private:
  static constexpr size_t kShards = 16;
  struct alignas(64) Shard {
    mutable absl::Mutex mu;
    std::vector<int64_t> samples ABSL_GUARDED_BY(mu);
  };
  std::array<Shard, kShards> shards_;
};

// Monotonic clock in nanoseconds, the one time base of the load generator.
int64_t NowNanos();

}  // namespace rollcall::bench

#endif  // ROLLCALL_BENCH_LATENCY_H_
