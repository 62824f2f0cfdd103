#include "bench/latency.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>

namespace rollcall::bench {
namespace {

size_t ShardOfThisThread() {
  static std::atomic<size_t> next{0};
  thread_local const size_t shard = next.fetch_add(1, std::memory_order_relaxed);
  return shard;
}

double Millis(int64_t nanos) { return static_cast<double>(nanos) / 1e6; }

}  // namespace

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

LatencySummary Summarize(std::vector<int64_t> nanos) {
  LatencySummary summary;
  summary.count = nanos.size();
  if (nanos.empty()) return summary;
  std::sort(nanos.begin(), nanos.end());
  const auto rank = [&](double quantile) {
    const double position = std::ceil(quantile * static_cast<double>(nanos.size()));
    const size_t index = position < 1 ? 0 : static_cast<size_t>(position) - 1;
    return Millis(nanos[std::min(index, nanos.size() - 1)]);
  };
  double total = 0;
  for (const int64_t sample : nanos) total += static_cast<double>(sample);
  summary.mean_ms = total / static_cast<double>(nanos.size()) / 1e6;
  summary.p50_ms = rank(0.50);
  summary.p90_ms = rank(0.90);
  summary.p99_ms = rank(0.99);
  summary.p999_ms = rank(0.999);
  summary.max_ms = Millis(nanos.back());
  return summary;
}

JsonObject LatencyJson(const LatencySummary& summary) {
  return JsonObject()
      .Set("count", summary.count)
      .Set("mean", summary.mean_ms)
      .Set("p50", summary.p50_ms)
      .Set("p90", summary.p90_ms)
      .Set("p99", summary.p99_ms)
      .Set("p999", summary.p999_ms)
      .Set("max", summary.max_ms);
}

void LatencySink::Record(int64_t nanos) {
  Shard& shard = shards_[ShardOfThisThread() % kShards];
  absl::MutexLock lock(&shard.mu);
  shard.samples.push_back(nanos);
}

std::vector<int64_t> LatencySink::Samples() const {
  std::vector<int64_t> all;
  for (const Shard& shard : shards_) {
    absl::MutexLock lock(&shard.mu);
    all.insert(all.end(), shard.samples.begin(), shard.samples.end());
  }
  return all;
}

}  // namespace rollcall::bench
