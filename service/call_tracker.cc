#include "service/call_tracker.h"

namespace rollcall::service {
namespace {

// Lives as long as its call: gRPC deletes a call's interceptors when the call is destroyed.
class TrackingInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit TrackingInterceptor(CallTracker& tracker)
      : tracker_(tracker), counted_(tracker.Begin()) {}
  ~TrackingInterceptor() override {
    if (counted_) tracker_.End();
  }
  TrackingInterceptor(const TrackingInterceptor&) = delete;
  TrackingInterceptor& operator=(const TrackingInterceptor&) = delete;

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    methods->Proceed();
  }

 private:
  CallTracker& tracker_;
  const bool counted_;
};

class TrackingFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit TrackingFactory(CallTracker& tracker) : tracker_(tracker) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* /*info*/) override {
    return new TrackingInterceptor(tracker_);
  }

 private:
  CallTracker& tracker_;
};

}  // namespace

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> CallTracker::Interceptor() {
  return std::make_unique<TrackingFactory>(*this);
}

void CallTracker::StopCounting() {
  absl::MutexLock lock(&mu_);
  counting_ = false;
}

int CallTracker::AwaitCounted(absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  auto idle = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return open_ == 0; };
  mu_.AwaitWithDeadline(absl::Condition(&idle), deadline);
  return open_;
}

bool CallTracker::Begin() {
  absl::MutexLock lock(&mu_);
  if (!counting_) return false;
  ++open_;
  return true;
}

void CallTracker::End() {
  absl::MutexLock lock(&mu_);
  --open_;
}

}  // namespace rollcall::service
