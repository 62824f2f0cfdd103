// ServiceMetrics: what rollcalld exports at /metrics (docs/operations.md), in one place. Every name
// is listed in deploy/README.md ("Metrics") with what it means.
#ifndef ROLLCALL_SERVICE_SERVER_METRICS_H_
#define ROLLCALL_SERVICE_SERVER_METRICS_H_

#include <grpcpp/support/server_interceptor.h>

#include <array>
#include <atomic>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "service/metrics.h"
#include "state/records.h"

namespace rollcall::service {

class ServiceMetrics {
 public:
  ServiceMetrics();

  MetricsRegistry& registry() { return registry_; }
  const MetricsRegistry& registry() const { return registry_; }

  // rollcall_events_total{type, outcome}: one per ingested event. `type` is the wire value
  // (unknown ones count as "unknown"); outcome is applied/duplicate/ignored or the error code.
  void CountEvent(int type, const absl::StatusOr<state::Outcome>& result);
  void CountEvent(int type, const absl::Status& rejected);

  // rollcall_applier_batch_inputs, rollcall_applier_commit_seconds: each group commit.
  Histogram& batch_inputs() { return batch_inputs_; }
  Histogram& commit_latency() { return commit_latency_; }

  // rollcall_ingest_latency_seconds: a RecordEvent call or a StreamEvents message, from its
  // receipt to its response being ready (durable and applied), measured by the caller on the
  // service's Clock.
  void ObserveIngest(absl::Duration latency);

  // Counts rollcall_rpcs_total{method, code} for every RPC the server answers.
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> RpcCounter();

 private:
  // The events_ child of (type label, outcome label), found once per pair: the hot path then
  // costs one atomic load and one increment, no label strings.
  Counter& EventCounter(int type, int outcome);

  static constexpr int kTypeLabels = 5;          // unknown + four event types
  static constexpr int kOutcomeLabels = 3 + 17;  // dispositions + status codes 0..16
  MetricsRegistry registry_;
  CounterFamily& events_;
  std::array<std::array<std::atomic<Counter*>, kOutcomeLabels>, kTypeLabels> event_counters_{};
  CounterFamily& rpcs_;
  Histogram& ingest_latency_;
  Histogram& batch_inputs_;
  Histogram& commit_latency_;
};

// The label of a status code: "ok", "invalid_argument", ...
std::string CodeLabel(absl::StatusCode code);

}  // namespace rollcall::service

#endif  // ROLLCALL_SERVICE_SERVER_METRICS_H_
