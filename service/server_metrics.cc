#include "service/server_metrics.h"

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_replace.h"
#include "google/protobuf/descriptor.h"

namespace rollcall::service {
namespace {

// Index 0 is "unknown"; 1..4 are the event types.
int TypeIndex(int type) {
  return type >= static_cast<int>(state::EventType::kConnected) &&
                 type <= static_cast<int>(state::EventType::kDisconnected)
             ? type
             : 0;
}

const char* TypeLabel(int index) {
  static constexpr const char* kLabels[] = {"unknown", "connected", "reconnecting", "reconnected",
                                            "disconnected"};
  return kLabels[index];
}

// Outcome indexes: 0..2 the dispositions, 3 + code for a status code.
int DispositionIndex(state::Disposition disposition) {
  switch (disposition) {
    case state::Disposition::kApplied:
      return 0;
    case state::Disposition::kDuplicate:
      return 1;
    case state::Disposition::kIgnored:
      return 2;
  }
  return 2;
}

std::string OutcomeLabel(int index) {
  static constexpr const char* kDispositions[] = {"applied", "duplicate", "ignored"};
  if (index < 3) return kDispositions[index];
  return CodeLabel(static_cast<absl::StatusCode>(index - 3));
}

int CodeIndex(absl::StatusCode code) {
  const int value = static_cast<int>(code);
  return 3 + (value >= 0 && value <= 16 ? value : static_cast<int>(absl::StatusCode::kUnknown));
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

// The method label: the full method name when the server implements it, else "unknown", so a
// client cannot make a new series per made-up name. Known: every method in the linked
// protobuf descriptors (rollcall.v1, reflection) and the health service (not in them).
std::string MethodLabel(const char* path) {
  std::string method = path != nullptr ? path : "";
  if (!method.empty() && method.front() == '/') method.erase(0, 1);
  if (method == "grpc.health.v1.Health/Check" || method == "grpc.health.v1.Health/Watch") {
    return method;
  }
  const google::protobuf::MethodDescriptor* found =
      google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(
          absl::StrReplaceAll(method, {{"/", "."}}));
  return found != nullptr && method.find('/') != std::string::npos ? method : "unknown";
}

class RpcCountingFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit RpcCountingFactory(CounterFamily& rpcs) : rpcs_(rpcs) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new RpcCountingInterceptor(rpcs_, MethodLabel(info->method()));
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
      rpcs_(registry_.AddCounterFamily(
          "rollcall_rpcs_total",
          "RPCs answered, by full method name (\"unknown\" for a method the server "
          "does not have) and status code",
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

Counter& ServiceMetrics::EventCounter(int type, int outcome) {
  const int type_index = TypeIndex(type);
  std::atomic<Counter*>& slot = event_counters_[type_index][outcome];
  Counter* counter = slot.load(std::memory_order_acquire);
  if (counter == nullptr) {  // first of its kind: With() is idempotent, so a race is harmless
    counter = &events_.With({TypeLabel(type_index), OutcomeLabel(outcome)});
    slot.store(counter, std::memory_order_release);
  }
  return *counter;
}

void ServiceMetrics::CountEvent(int type, const absl::StatusOr<state::Outcome>& result) {
  if (!result.ok()) {
    CountEvent(type, result.status());
    return;
  }
  EventCounter(type, DispositionIndex(result->disposition)).Increment();
}

void ServiceMetrics::CountEvent(int type, const absl::Status& rejected) {
  EventCounter(type, CodeIndex(rejected.code())).Increment();
}

void ServiceMetrics::ObserveIngest(absl::Duration latency) {
  ingest_latency_.Observe(absl::ToDoubleSeconds(latency));
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
ServiceMetrics::RpcCounter() {
  return std::make_unique<RpcCountingFactory>(rpcs_);
}

}  // namespace rollcall::service
