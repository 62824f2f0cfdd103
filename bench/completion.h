// The load generator's gRPC plumbing: completion queues, each polled by one thread of its own,
// and the Tag every asynchronous operation completes to. An object whose operations all go to
// one queue is only ever touched by that queue's thread once started, so it needs no lock.
#ifndef ROLLCALL_BENCH_COMPLETION_H_
#define ROLLCALL_BENCH_COMPLETION_H_

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace rollcall::bench {

class Tag {
 public:
  virtual ~Tag() = default;
  virtual void Proceed(bool ok) = 0;
};

// A Tag that calls a member (or any callable); for objects with several operations in flight.
template <typename F>
class CallbackTag final : public Tag {
 public:
  explicit CallbackTag(F f) : f_(std::move(f)) {}
  void Proceed(bool ok) override { f_(ok); }

 private:
  F f_;
};
template <typename F>
CallbackTag(F) -> CallbackTag<F>;

// The usual member tag: `Handler read_{[this](bool ok) { OnRead(ok); }};`
using Handler = CallbackTag<std::function<void(bool)>>;

// The four operations of a streaming call on gRPC's generic (bytes) API, completing to one
// queue: a subclass starts them and handles their completions.
class GenericStream {
 public:
  virtual ~GenericStream() = default;

 protected:
  virtual void OnStarted(bool ok) = 0;
  virtual void OnWrote(bool ok) = 0;
  virtual void OnRead(bool ok) = 0;
  virtual void OnFinished(bool ok) = 0;

  Handler started_{[this](bool ok) { OnStarted(ok); }};
  Handler wrote_{[this](bool ok) { OnWrote(ok); }};
  Handler read_{[this](bool ok) { OnRead(ok); }};
  Handler finished_{[this](bool ok) { OnFinished(ok); }};
};

// Counts what is still in flight (calls, streams, timers), so a driver can wait for all of it.
class InFlight {
 public:
  void Enter() {
    absl::MutexLock lock(&mu_);
    ++count_;
  }
  void Leave() {
    absl::MutexLock lock(&mu_);
    --count_;
  }
  // Until nothing is in flight; false on timeout.
  bool Wait(absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    const auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return count_ == 0; };
    return mu_.AwaitWithTimeout(absl::Condition(&idle), timeout);
  }

 private:
  absl::Mutex mu_;
  int count_ ABSL_GUARDED_BY(mu_) = 0;
};

class Pollers {
 public:
  explicit Pollers(int count);
  ~Pollers();
  Pollers(const Pollers&) = delete;
  Pollers& operator=(const Pollers&) = delete;

  size_t size() const { return queues_.size(); }
  grpc::CompletionQueue* queue(size_t i) { return queues_[i % queues_.size()].get(); }
  // Shuts the queues down and joins the threads. Every call must have finished first.
  void Shutdown();

 private:
  std::vector<std::unique_ptr<grpc::CompletionQueue>> queues_;
  std::vector<std::thread> threads_;
};

// `count` channels to `target`, each on a connection of its own.
std::vector<std::shared_ptr<grpc::Channel>> NewChannels(const std::string& target, int count);

}  // namespace rollcall::bench

#endif  // ROLLCALL_BENCH_COMPLETION_H_
