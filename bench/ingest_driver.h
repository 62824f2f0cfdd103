// IngestDriver: sends a Workload's ops to IngestService (and kicks to ParticipantService) on
// gRPC's asynchronous API, and IngestRecorder counts what came back.
//
// Transports: unary (one RecordEvent per op) or stream (StreamEvents calls, each op an event
// of a `batch`-event message, up to `depth` messages awaiting answers per stream).
// Loops: closed (rate 0: as fast as answers come, `in_flight` unary calls or `streams` ×
// `depth` messages outstanding) or open (a fixed `rate` of ops per second, each op or message
// due at its own time whatever the server does; latency counts from the due time, so a slow
// server is not hidden by the generator waiting for it, and ops that would pass
// `max_outstanding` are shed and counted).
#ifndef ROLLCALL_BENCH_INGEST_DRIVER_H_
#define ROLLCALL_BENCH_INGEST_DRIVER_H_

#include <grpcpp/generic/generic_stub.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "bench/completion.h"
#include "bench/json.h"
#include "bench/latency.h"
#include "bench/workload.h"
#include "rollcall/v1/ingest_service.pb.h"
#include "rollcall/v1/participant_service.pb.h"

namespace rollcall::bench {

// Ops answered inside [start, end) count toward rates and latencies; errors count whenever
// they happen.
struct Window {
  int64_t start = 0;
  int64_t end = std::numeric_limits<int64_t>::max();
  bool Contains(int64_t at) const { return at >= start && at < end; }
};

class IngestRecorder {
 public:
  explicit IngestRecorder(Window window) : window_(window) {}

  // Called with every APPLIED op's revision, answer time and room (set before the driver
  // starts).
  using OnApplied = std::function<void(uint64_t revision, int64_t at, absl::string_view room)>;
  void set_on_applied(OnApplied on_applied) { on_applied_ = std::move(on_applied); }
  // One op's result, answered at `done`.
  void Result(const OpResult& result, int64_t done);
  // One answered call or message holding `ops` ops, sent (open loop: due) at `sent`.
  void Answer(int64_t sent, int64_t done, int ops);

  const Window& window() const { return window_; }
  int64_t ops_in_window() const { return in_window_.load(); }
  int64_t ops_answered() const { return answered_.load(); }
  int64_t errors() const { return errors_.load(); }
  int64_t last_answer() const { return last_answer_.load(); }
  LatencySummary latency() const { return latency_.Summary(); }

  // Ops per second over `seconds`, outcomes, errors by code, latency percentiles.
  JsonObject Report(double seconds) const;

 private:
  const Window window_;
  OnApplied on_applied_;
  std::atomic<int64_t> in_window_{0};
  std::atomic<int64_t> answered_{0};
  std::atomic<int64_t> applied_{0};
  std::atomic<int64_t> duplicate_{0};
  std::atomic<int64_t> ignored_{0};
  std::atomic<int64_t> errors_{0};
  std::atomic<int64_t> last_answer_{0};
  std::array<std::atomic<int64_t>, 17> by_code_{};
  LatencySink latency_;
  mutable absl::Mutex mu_;
  std::vector<std::string> first_errors_ ABSL_GUARDED_BY(mu_);
};

struct IngestOptions {
  bool stream = true;           // StreamEvents; false: RecordEvent
  int in_flight = 64;           // unary, closed loop: calls outstanding
  int streams = 4;              // stream: StreamEvents calls
  int batch = 500;              // stream: events per message
  int depth = 2;                // stream: messages awaiting answers, per stream
  double rate = 0;              // ops per second; 0: closed loop
  int max_outstanding = 20000;  // open loop, unary: calls outstanding before new ones are shed
  absl::Duration call_deadline = absl::Seconds(60);
};

class IngestDriver {
 public:
  IngestDriver(const IngestOptions& options,
               const std::vector<std::shared_ptr<grpc::Channel>>& channels, Pollers& pollers,
               Workload& workload, IngestRecorder& recorder);
  ~IngestDriver();
  IngestDriver(const IngestDriver&) = delete;
  IngestDriver& operator=(const IngestDriver&) = delete;

  // Starts sending; open-loop due times count from `start` (a NowNanos() time).
  void Start(int64_t start);
  // Sends nothing new; what is outstanding is still answered.
  void Stop() { stopping_.store(true); }
  // Until every call, stream and timer has finished — after Stop, or once an exhausted
  // workload's last op was answered. False on timeout.
  bool Wait(absl::Duration timeout);
  // Cancels the streams (unary calls end by their deadline).
  void Cancel();

  // Open loop: ops due but not sent, because too many were outstanding.
  int64_t shed() const { return shed_.load(); }
  int64_t starved() const { return starved_.load(); }  // open loop: due, but no op was ready
  int64_t stream_failures() const { return stream_failures_.load(); }

 private:
  class UnaryCall;
  class Retry;
  class Pacer;
  class StreamCall;
  struct Lane {
    std::unique_ptr<grpc::GenericStub> stub;  // answers are read as bytes (bench/wire.h)
    grpc::CompletionQueue* cq = nullptr;
  };

  // Starts a unary call with the workload's next op; false when there is none.
  bool Launch(Lane& lane, int64_t intended, bool relaunch);
  void LaunchKick(Lane& lane, const Ticket& ticket, const Kick& kick, int64_t intended);
  // A unary call or retry timer ended: closed loop starts the next call.
  void Finished(Lane& lane, bool relaunch);
  void Enter() { in_flight_.Enter(); }
  void Leave() { in_flight_.Leave(); }

  const IngestOptions options_;
  Workload& workload_;
  IngestRecorder& recorder_;
  std::vector<Lane> lanes_;
  std::vector<std::unique_ptr<StreamCall>> streams_;
  std::unique_ptr<Pacer> pacer_;
  int64_t start_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> unary_in_flight_{0};
  std::atomic<int64_t> shed_{0};
  std::atomic<int64_t> starved_{0};
  std::atomic<int64_t> stream_failures_{0};
  InFlight in_flight_;
};

}  // namespace rollcall::bench

#endif  // ROLLCALL_BENCH_INGEST_DRIVER_H_
