#include "service/server_metrics.h"

#include <string>

#include "absl/strings/ascii.h"

namespace rollcall::service {
namespace {

std::string TypeLabel(int type) {
  switch (type) {
    case static_cast<int>(state::EventType::kConnected):
      return "connected";
    case static_cast<int>(state::EventType::kReconnecting):
      return "reconnecting";
    case static_cast<int>(state::EventType::kReconnected):
      return "reconnected";
    case static_cast<int>(state::EventType::kDisconnected):
      return "disconnected";
    default:
      return "unknown";
  }
}

std::string DispositionLabel(state::Disposition disposition) {
  switch (disposition) {
    case state::Disposition::kApplied:
      return "applied";
    case state::Disposition::kDuplicate:
      return "duplicate";
    case state::Disposition::kIgnored:
      return "ignored";
  }
  return "unknown";
}

class RpcCountingInterceptor final : public grpc::experimental::Interceptor {
 public:
  RpcCountingInterceptor(CounterFamily& rpcs, std::string method)
      : rpcs_(rpcs), method_(std::move(method)) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      const grpc::Status status = methods->GetSendStatus();
      rpcs_.With({method_, CodeLabel(static_cast<absl::StatusCode>(status.error_code()))})
          .Increment();
    }
    methods->Proceed();
  }

 private:
  CounterFamily& rpcs_;
  const std::string method_;
};

class RpcCountingFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit RpcCountingFactory(CounterFamily& rpcs) : rpcs_(rpcs) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    std::string method = info->method() != nullptr ? info->method() : "";
    if (!method.empty() && method.front() == '/') method.erase(0, 1);
    return new RpcCountingInterceptor(rpcs_, std::move(method));
  }

 private:
  CounterFamily& rpcs_;
};

}  // namespace

std::string CodeLabel(absl::StatusCode code) {
  return absl::AsciiStrToLower(absl::StatusCodeToString(code));
}

ServiceMetrics::ServiceMetrics()
    : events_(registry_.AddCounterFamily(
          "rollcall_events_total",
          "Participant events ingested, by type and outcome (applied, duplicate, ignored, or "
          "the error code)",
          {"type", "outcome"})),
      rpcs_(registry_.AddCounterFamily("rollcall_rpcs_total",
                                       "RPCs answered, by full method name and status code",
                                       {"method", "code"})),
      ingest_latency_(registry_.AddHistogram(
          "rollcall_ingest_latency_seconds",
          "From receipt of a RecordEvent call or StreamEvents message to its response being "
          "ready (validated, decided, durable, applied)",
          ExponentialBuckets(0.0001, 2, 16))),
      batch_inputs_(registry_.AddHistogram("rollcall_applier_batch_inputs",
                                           "Inputs (events, commands, timers) per group commit",
                                           ExponentialBuckets(1, 4, 8))),
      commit_latency_(registry_.AddHistogram("rollcall_applier_commit_seconds",
                                             "Store write of one group commit, including its fsync",
                                             ExponentialBuckets(0.0001, 2, 14))) {}

void ServiceMetrics::CountEvent(int type, const absl::StatusOr<state::Outcome>& result) {
  if (!result.ok()) {
    CountEvent(type, result.status());
    return;
  }
  events_.With({TypeLabel(type), DispositionLabel(result->disposition)}).Increment();
}

void ServiceMetrics::CountEvent(int type, const absl::Status& rejected) {
  events_.With({TypeLabel(type), CodeLabel(rejected.code())}).Increment();
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
ServiceMetrics::RpcCounter() {
  return std::make_unique<RpcCountingFactory>(rpcs_);
}

}  // namespace rollcall::service
