// Metrics: counters, gauges and histograms kept in a prometheus-cpp registry and rendered with its
// text serializer (exposition format 0.0.4). The HTTP side is cpp-httplib (metrics_http.h;
// docs/decisions.md says why not prometheus-cpp's civetweb exposer).
//
// This wrapper adds what rollcall relies on around prometheus-cpp's core: registration errors
// abort at start-up with the reason; gauges and counters kept elsewhere are read by callbacks just
// before each render; and the text keeps a stable shape — metrics in registration order, children
// ordered by label values, labels in the order they were declared.
//
// Updates are prometheus-cpp's lock-free atomics; a labelled family takes its mutex only to find
// or create a child, so callers keep the child (Counter&) when the labels are fixed.
#ifndef ROLLCALL_SERVICE_METRICS_H_
#define ROLLCALL_SERVICE_METRICS_H_

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace rollcall::service {

using Counter = prometheus::Counter;      // Increment(by), Value()
using Histogram = prometheus::Histogram;  // Observe(value)

// Children of one counter name, one per combination of label values.
class CounterFamily {
 public:
  CounterFamily(prometheus::Family<Counter>& family, std::vector<std::string> label_names)
      : family_(family), label_names_(std::move(label_names)) {}

  // The child for these label values (as many as label names), created at zero.
  Counter& With(const std::vector<std::string>& label_values);

  const std::vector<std::string>& label_names() const { return label_names_; }

 private:
  prometheus::Family<Counter>& family_;
  const std::vector<std::string> label_names_;
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
  // Labelled gauges read when rendered: `read` returns every child's label values (as many as
  // `label_names`) and value; a child it no longer returns is removed.
  using GaugeChildren = std::vector<std::pair<std::vector<std::string>, double>>;
  void AddGaugeFamily(const std::string& name, const std::string& help,
                      std::vector<std::string> label_names, std::function<GaugeChildren()> read);
  // A counter kept elsewhere (a component's own statistics), read when rendered.
  void AddCounterFunction(const std::string& name, const std::string& help,
                          std::function<double()> read);

  // Every metric in registration order, in the text exposition format.
  std::string Render() const;

 private:
  struct Entry;
  // Checks the name and remembers its place in the rendering order.
  Entry& Add(const std::string& name) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Brings every callback-backed gauge and counter up to date.
  void ReadCallbacks() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  prometheus::Registry registry_;
  std::vector<std::unique_ptr<Entry>> entries_ ABSL_GUARDED_BY(mu_);
};

bool IsValidMetricName(const std::string& name);

// Buckets growing by `factor` from `start`, `count` of them.
std::vector<double> ExponentialBuckets(double start, double factor, int count);

}  // namespace rollcall::service

#endif  // ROLLCALL_SERVICE_METRICS_H_
