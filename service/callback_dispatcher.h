// CallbackDispatcher: delivers status callbacks (docs/callbacks.md) in order per room, at least
// once, from the store's durable outbox.
//
// The applier stores each callback in the same atomic batch as the change that owes it and hands
// it here once durable (Enqueue); at start-up the store's backlog is handed over first (Start).
// One thread owns the queues:
//  - per room, one delivery in flight at a time, in sequence order; the next waits for it;
//  - a delivery that fails (not a 2xx, a timeout, a refused connection) is retried after an
//    exponential backoff with jitter (between half and all of retry_initial·2^(attempt-1),
//    capped at retry_max); once the callback is older than max_age it is given up on: recorded
//    in the store's failed list, counted and logged, and the room goes on with the next one;
//  - a delivered or given-up callback is removed from the store (Store::FinishCallback), so a
//    crash repeats at most the deliveries in flight;
//  - at most `concurrency` deliveries in flight in all, and `host_concurrency` per receiver
//    (scheme, host and port): a slow or dead receiver holds only its own slots and rooms.
// Backoff and ages are measured on the service's Clock, so a SimulatedClock drives them in tests.
// The HTTP side is a CallbackTransport (callback_http.h in production).
#ifndef ROLLCALL_SERVICE_CALLBACK_DISPATCHER_H_
#define ROLLCALL_SERVICE_CALLBACK_DISPATCHER_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "service/clock.h"
#include "service/metrics.h"
#include "state/callbacks.h"
#include "store/store.h"

namespace rollcall::service {

// One HTTP request of a delivery.
struct CallbackRequest {
  std::string method;     // "GET" or "POST"
  std::string url;        // a GET's carries the parameters in its query
  std::string body;       // a POST's form-encoded parameters
  std::string signature;  // X-Twilio-Signature; empty when the account has no auth token
};

// How a delivery ended: delivered (a 2xx answer), or the reason it was not.
struct CallbackResult {
  bool delivered = false;
  std::string error;  // "HTTP 500", "timed out after 10s", …
};

class CallbackTransport {
 public:
  virtual ~CallbackTransport() = default;
  // Sends `request`; calls `done` exactly once, from any thread (possibly before returning).
  virtual void Send(CallbackRequest request, std::function<void(CallbackResult)> done) = 0;
};

struct CallbackOptions {
  absl::Duration max_age = absl::Hours(1);          // --callback_max_age
  absl::Duration retry_initial = absl::Seconds(1);  // --callback_retry_initial
  absl::Duration retry_max = absl::Minutes(5);      // --callback_retry_max
  size_t concurrency = 64;                          // --callback_concurrency
  size_t host_concurrency = 4;                      // --callback_host_concurrency
  // Callbacks of one room held in memory; the rest wait in the store and are read back as the
  // room's queue drains, so a dead receiver's backlog costs disk, not memory.
  size_t max_held_per_room = 32;
  // Receivers named in metric labels; callbacks to any other are counted under "other".
  size_t max_metric_hosts = 100;
};

struct CallbackStats {
  uint64_t delivered = 0;
  uint64_t retried = 0;  // failed attempts followed by another
  uint64_t failed = 0;   // given up on
  uint64_t pending = 0;  // not yet delivered or given up on (held in memory or in the store)
  uint64_t in_flight = 0;
};

class CallbackDispatcher {
 public:
  // The auth token callbacks of an account are signed with, if it has one.
  using TokenSource = std::function<std::optional<std::string>(const state::Sid& account_sid)>;

  CallbackDispatcher(const CallbackOptions& options, store::Store& store,
                     CallbackTransport& transport, TokenSource tokens, const Clock& clock);
  ~CallbackDispatcher();
  CallbackDispatcher(const CallbackDispatcher&) = delete;
  CallbackDispatcher& operator=(const CallbackDispatcher&) = delete;

  // Optional, before Start(): rollcall_callbacks_* metrics (docs/operations.md).
  void RegisterMetrics(MetricsRegistry& metrics);
  // Takes over the store's backlog (Store::LoadCallbacks) and starts delivering.
  void Start(std::vector<state::Callback> backlog);
  // Callbacks the applier has just stored, in order. Thread-safe, never blocks for long.
  void Enqueue(std::vector<state::Callback> callbacks);
  // Stops delivering. Deliveries in flight are abandoned, not finished: they are still in the
  // store and go out again after a restart.
  void Stop();

  CallbackStats stats() const;

  // The receiver of a URL as deliveries are limited and counted: "scheme://host:port" in lower
  // case (the default port filled in), or "" when the URL has no host.
  static std::string ReceiverOf(absl::string_view url);

 private:
  struct Room {
    std::deque<state::Callback> pending;  // in sequence order; front() is the next to deliver
    std::string receiver;
    bool in_flight = false;
    bool waiting = false;  // queued in its receiver's ready list, or for a retry
    // Some of its callbacks are only in the store (past max_held_per_room): read them back in
    // order before taking new ones. `dropped` counts those left there, to tell whether a read
    // saw them all.
    bool spilled = false;
    uint64_t dropped = 0;
    // Its last callback is done but not yet out of the store: the next one waits, so that a
    // crash can never send an older callback after a newer one.
    bool finishing = false;
    uint32_t attempts = 0;  // failed attempts of front()
    std::string last_error;
  };
  struct Receiver {
    size_t in_flight = 0;
    std::deque<state::Sid> ready;  // rooms whose next callback is due, waiting for a slot
    std::string label;             // metric label: the receiver, or "other"
  };
  struct Completion {
    state::Sid room_sid;
    uint64_t sequence = 0;
    CallbackResult result;
  };
  struct Send {
    CallbackRequest request;
    state::Sid room_sid;
    uint64_t sequence = 0;
  };

  void Run();
  // Reads back the callbacks of rooms whose queue drained while some were only in the store.
  void Refill();
  void Add(state::Callback callback) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Puts a room whose next callback is due in its receiver's ready list.
  void MakeReady(const state::Sid& room_sid, Room& room) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Handles a finished delivery; returns what to record in the store, if anything.
  void Finish(
      const Completion& completion,
      std::vector<std::pair<state::Callback, std::optional<state::FailedCallback>>>* finished)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // After the store removed a room's finished callback: the room goes on.
  void Release(const state::Sid& room_sid) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Starts every delivery the limits allow.
  std::vector<Send> Pump() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  CallbackRequest Render(const state::Callback& callback) const;
  absl::Duration Backoff(uint32_t attempts) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Receiver& ReceiverFor(const std::string& receiver) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  MetricsRegistry::GaugeChildren Lag() const;

  const CallbackOptions options_;
  store::Store& store_;
  CallbackTransport& transport_;
  const TokenSource tokens_;
  const Clock& clock_;

  mutable absl::Mutex mu_;
  std::vector<state::Callback> incoming_ ABSL_GUARDED_BY(mu_);
  std::vector<Completion> completions_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_map<state::Sid, Room> rooms_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, Receiver> receivers_ ABSL_GUARDED_BY(mu_);
  std::multimap<SteadyTime, state::Sid> retries_ ABSL_GUARDED_BY(mu_);  // rooms backing off
  absl::flat_hash_set<state::Sid> refill_ ABSL_GUARDED_BY(mu_);         // rooms to read back
  // Finished callbacks the store could not remove yet: (callback, failed record if given up).
  std::vector<std::pair<state::Callback, std::optional<state::FailedCallback>>> unfinished_
      ABSL_GUARDED_BY(mu_);
  size_t in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  // A room became ready or a slot came free since the last Pump.
  bool ready_changed_ ABSL_GUARDED_BY(mu_) = false;
  CallbackStats stats_ ABSL_GUARDED_BY(mu_);
  uint64_t random_state_ ABSL_GUARDED_BY(mu_);  // jitter (splitmix64)
  CounterFamily* delivered_ = nullptr;
  CounterFamily* retried_ = nullptr;
  CounterFamily* failed_ = nullptr;
  std::thread thread_;
};

}  // namespace rollcall::service

#endif  // ROLLCALL_SERVICE_CALLBACK_DISPATCHER_H_
