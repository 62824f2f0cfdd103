// Metrics: counters, gauges and histograms rendered in the Prometheus text exposition format
// (version 0.0.4). Debian ships no Prometheus client library for C++, so this is the small
// subset rollcall needs; the HTTP side is cpp-httplib (metrics_http.h).
//
// Updates are lock-free atomics on the hot path; a labelled family takes its mutex only to
// find or create a child, so callers keep the child (Counter&) when the labels are fixed.
// Names and label names are checked once, at registration.
#ifndef ROLLCALL_SERVICE_METRICS_H_
#define ROLLCALL_SERVICE_METRICS_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace rollcall::service {

class Counter {
 public:
  void Increment(uint64_t by = 1) { value_.fetch_add(by, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// Cumulative buckets with the given upper bounds (strictly increasing), plus +Inf.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);

  void Observe(double value);

  struct Snapshot {
    std::vector<double> bounds;
    std::vector<uint64_t> cumulative;  // one per bound, then +Inf (== count)
    double sum = 0;
    uint64_t count = 0;
  };
  Snapshot snapshot() const;

 private:
  const std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // per bucket, not cumulative
  std::atomic<double> sum_{0};
};

// Children of one counter name, one per combination of label values.
class CounterFamily {
 public:
  explicit CounterFamily(std::vector<std::string> label_names)
      : label_names_(std::move(label_names)) {}

  // The child for these label values (as many as label names), created at zero.
  Counter& With(const std::vector<std::string>& label_values);

  const std::vector<std::string>& label_names() const { return label_names_; }
  // Every child's labels and value, ordered by labels.
  std::vector<std::pair<std::vector<std::string>, uint64_t>> values() const;

 private:
  const std::vector<std::string> label_names_;
  mutable absl::Mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<Counter>> children_ ABSL_GUARDED_BY(mu_);
};

class MetricsRegistry {
 public:
  MetricsRegistry();
  ~MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // Registration aborts on an invalid or repeated name: it is a programming error, found at
  // start-up. Returned references live as long as the registry.
  Counter& AddCounter(const std::string& name, const std::string& help);
  CounterFamily& AddCounterFamily(const std::string& name, const std::string& help,
                                  std::vector<std::string> label_names);
  Histogram& AddHistogram(const std::string& name, const std::string& help,
                          std::vector<double> bounds);
  // A gauge read when rendered (from the running server's state, say).
  void AddGauge(const std::string& name, const std::string& help, std::function<double()> read);
  // A counter kept elsewhere (a component's own statistics), read when rendered.
  void AddCounterFunction(const std::string& name, const std::string& help,
                          std::function<double()> read);

  // Every metric in registration order, in the text exposition format.
  std::string Render() const;

 private:
  struct Entry;
  Entry& Add(const std::string& name, const std::string& help, const char* type);

  mutable absl::Mutex mu_;
  std::vector<std::unique_ptr<Entry>> entries_ ABSL_GUARDED_BY(mu_);
};

// Exposition details, exposed for tests.
std::string EscapeLabelValue(const std::string& value);
std::string FormatSample(double value);
bool IsValidMetricName(const std::string& name);

// Buckets growing by `factor` from `start`, `count` of them.
std::vector<double> ExponentialBuckets(double start, double factor, int count);

}  // namespace rollcall::service

#endif  // ROLLCALL_SERVICE_METRICS_H_
