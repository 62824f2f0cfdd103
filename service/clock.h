// Clock: where the service's time comes from, after Envoy's TimeSource. Wall time
// (SystemTime) stamps records and decides timers; monotonic time (MonotonicTime) measures
// intervals (progress heartbeats, watcher sweeps, metrics). Waiting goes through the clock too
// (Await), so a SimulatedClock can fire every timer in a test without the test waiting on the
// wall clock. state/ never reads a clock: the applier passes SystemTime() into the machine.
#ifndef ROLLCALL_SERVICE_CLOCK_H_
#define ROLLCALL_SERVICE_CLOCK_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace rollcall::service {

// A reading of the monotonic clock.
using SteadyTime = std::chrono::steady_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time SystemTime() const = 0;
  virtual SteadyTime MonotonicTime() const = 0;
  // With `mu` held: waits until `condition` holds or `timeout` has passed on this clock.
  // Returns whether `condition` holds.
  virtual bool Await(absl::Mutex& mu, const absl::Condition& condition,
                     absl::Duration timeout) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) = 0;
  // The same until a point on this clock's monotonic time. Prefer it when the wait is for a
  // known instant: a timeout computed from an earlier reading overshoots if the clock moves
  // (a SimulatedClock's Advance) between that reading and the wait.
  virtual bool AwaitUntil(absl::Mutex& mu, const absl::Condition& condition,
                          SteadyTime deadline) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    return Await(mu, condition, absl::FromChrono(deadline - MonotonicTime()));
  }
};

// Monotonic time elapsed between two readings, as an absl::Duration.
inline absl::Duration Elapsed(SteadyTime from, SteadyTime to) {
  return absl::FromChrono(to - from);
}

class RealClock final : public Clock {
 public:
  absl::Time SystemTime() const override { return absl::Now(); }
  SteadyTime MonotonicTime() const override { return std::chrono::steady_clock::now(); }
  bool Await(absl::Mutex& mu, const absl::Condition& condition,
             absl::Duration timeout) const override ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    return mu.AwaitWithTimeout(condition, timeout);
  }
};

// A clock that moves only when told. Advance() wakes every Await whose timeout has passed
// (Await re-checks its condition whenever its mutex is released, and Advance releases each
// waiter's mutex after moving the time), so a test fires timers without sleeping.
class SimulatedClock final : public Clock {
 public:
  explicit SimulatedClock(absl::Time start = absl::FromUnixSeconds(1'700'000'000))
      : system_nanos_(absl::ToUnixNanos(start)) {}

  absl::Time SystemTime() const override { return absl::FromUnixNanos(system_nanos_.load()); }
  SteadyTime MonotonicTime() const override {
    return SteadyTime(std::chrono::nanoseconds(monotonic_nanos_.load()));
  }

  bool Await(absl::Mutex& mu, const absl::Condition& condition,
             absl::Duration timeout) const override ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    return AwaitNanos(mu, condition, monotonic_nanos_.load() + absl::ToInt64Nanoseconds(timeout));
  }
  bool AwaitUntil(absl::Mutex& mu, const absl::Condition& condition,
                  SteadyTime deadline) const override ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    return AwaitNanos(
        mu, condition,
        std::chrono::duration_cast<std::chrono::nanoseconds>(deadline.time_since_epoch()).count());
  }

  // Moves both times forward by `by` and wakes waiters whose timeout has passed.
  void Advance(absl::Duration by) {
    system_nanos_ += absl::ToInt64Nanoseconds(by);
    monotonic_nanos_ += absl::ToInt64Nanoseconds(by);
    std::vector<absl::Mutex*> waiters;
    {
      absl::MutexLock lock(&waiters_mu_);
      waiters = waiters_;
    }
    for (absl::Mutex* mu : waiters) {
      mu->Lock();
      mu->Unlock();  // makes a waiter on `mu` re-evaluate its condition
    }
  }
  // Sets the wall time only (a clock step); monotonic time does not move.
  void SetSystemTime(absl::Time time) { system_nanos_ = absl::ToUnixNanos(time); }

 private:
  bool AwaitNanos(absl::Mutex& mu, const absl::Condition& condition, int64_t deadline) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    auto woken = [&] { return condition.Eval() || monotonic_nanos_.load() >= deadline; };
    {
      absl::MutexLock lock(&waiters_mu_);
      waiters_.push_back(&mu);
    }
    mu.Await(absl::Condition(&woken));
    {
      absl::MutexLock lock(&waiters_mu_);
      std::erase(waiters_, &mu);
    }
    return condition.Eval();
  }

  std::atomic<int64_t> system_nanos_;
  std::atomic<int64_t> monotonic_nanos_{0};
  mutable absl::Mutex waiters_mu_;
  mutable std::vector<absl::Mutex*> waiters_ ABSL_GUARDED_BY(waiters_mu_);
};

}  // namespace rollcall::service

#endif  // ROLLCALL_SERVICE_CLOCK_H_
