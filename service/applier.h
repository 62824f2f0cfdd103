// Applier: the single writer (docs/architecture.md, the path of an event). One thread owns the
// decisions: RPCs Submit inputs; the applier thread takes everything queued and decides it
// against a PendingRoster (each input sees those before it). A second thread, the writer, writes
// a decided batch to the store with one fsync (group commit) and only then commits it to the
// shared roster, so readers never see state that is not yet durable. The two overlap: while the
// writer syncs batch N, the applier decides batch N+1 on top of N's overlay, and hands it over
// the moment N lands. If N's write fails, nothing of N is applied, and N+1, decided on what N
// would have been, fails with it: every call in both gets UNAVAILABLE.
//
// A third thread, the completer, then tells the commit listener and completes the calls, in
// batch order, so building responses and fanning out to watchers never holds up the writer.
// The change log gets the domain changes through the store's codec; the API messages watchers
// receive are rendered after the commit, on the watch side. Readers use Read(), which never
// waits for an fsync.
//
// Timers (reconnect window, session limit, room timeouts) fire on the applier thread through
// the same path. The maintenance sweeps (dedupe window, retention, change-log history) run there
// too, when nothing is in flight: when one is due the applier lets the pipeline drain (two
// fsyncs) before it sweeps, so no batch is ever decided on records a sweep then forgets.
#ifndef ROLLCALL_SERVICE_APPLIER_H_
#define ROLLCALL_SERVICE_APPLIER_H_

#include <deque>
#include <functional>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "service/clock.h"
#include "service/metrics.h"
#include "state/callbacks.h"
#include "state/records.h"
#include "state/room_machine.h"
#include "state/roster.h"
#include "store/store.h"

namespace rollcall::service {

struct ApplierOptions {
  absl::Duration dedupe_window = absl::Hours(24);   // --dedupe_window
  absl::Duration retention = absl::Hours(24 * 30);  // --retention
  uint64_t watch_history = 1'000'000;               // --watch_history (revisions kept)
  absl::Duration maintenance_interval = absl::Seconds(10);
  size_t max_batch_inputs = 16384;  // one group commit takes at most this many inputs
};

// Counters for metrics and tests; read with Applier::stats().
struct ApplierStats {
  uint64_t batches = 0;
  uint64_t inputs = 0;  // decided (perhaps not yet written)
  uint64_t applied = 0;
  uint64_t failed_writes = 0;
  uint64_t timers_fired = 0;
};

class Applier {
 public:
  using Result = absl::StatusOr<state::Outcome>;
  // Gets one result per submitted input, in order. Runs on the completer thread, after the
  // batch is durable and readable and after the commit listener has seen it.
  using Done = std::function<void(std::vector<Result>)>;
  // After each durable batch: its change-log entries in revision order, as stored (domain
  // changes, store/codec.h's EncodeLogPayload). Runs on the completer thread, one batch at a
  // time in revision order.
  using CommitListener = std::function<void(const std::vector<store::LogEntry>&)>;
  // After each durable batch that owes status callbacks (state/callbacks.h): those callbacks,
  // numbered and already in the store, in order. Runs on the writer thread: must not block.
  using CallbackSink = std::function<void(std::vector<state::Callback>)>;

  // `roster` must already hold what `store` holds (Store::Load).
  Applier(const ApplierOptions& options, store::Store& store, state::Roster& roster,
          state::IdSource& ids, const Clock& clock);
  ~Applier();
  Applier(const Applier&) = delete;
  Applier& operator=(const Applier&) = delete;

  // The service's clock, which the applier stamps and times everything with.
  const Clock& clock() const { return clock_; }

  void SetCommitListener(CommitListener listener);
  // Before Start(): where owed status callbacks go, and each room's next sequence number as
  // stored (store::CallbackBacklog). Without a sink, no callbacks are stored.
  void SetCallbackSink(CallbackSink sink, absl::flat_hash_map<state::Sid, uint64_t> next_sequence);
  // Optional, before Start(): each group commit's input count and store write time.
  void SetMetrics(Histogram* batch_inputs, Histogram* commit_seconds);
  void Start();
  // Completes what is queued, then stops the thread. Later submissions get UNAVAILABLE.
  void Stop();

  // Thread-safe. `done` is always called exactly once.
  void Submit(std::vector<state::Input> inputs, Done done);

  // Runs `read(const state::Roster&)` on the committed state under a shared lock.
  template <typename F>
  auto Read(F&& read) const {
    absl::ReaderMutexLock lock(&roster_mu_);
    return read(static_cast<const state::Roster&>(roster_));
  }

  ApplierStats stats() const;

 private:
  struct Work {
    std::vector<state::Input> inputs;
    Done done;
  };
  // One group commit, from its first decision until it is durable and committed (applier.cc).
  struct Batch;

  // What the completer does for one batch: the listener first, then every call's results.
  // `retired` only rides along, to be freed off the applier and writer threads.
  struct Completion {
    std::vector<store::LogEntry> log;
    std::vector<Done> done;
    std::vector<std::vector<Result>> results;
    std::unique_ptr<Batch> retired;
  };

  void Run();
  void RunWriter();
  void RunCompleter();
  void Complete(Completion completion);
  void PushCompletion(Completion completion);
  // Applier thread: decides `work` (after the timers due) into accumulating_.
  void Decide(std::vector<Work> work, absl::Time now);
  // Nothing is in flight or decided.
  bool Drained() const;
  // Writer thread: makes accumulating_ the batch in flight.
  void HandOver() ABSL_EXCLUSIVE_LOCKS_REQUIRED(batch_mu_);
  // Writer thread: inflight_ was written with `written` (and, if ok, committed).
  void Landed(const absl::Status& written) ABSL_EXCLUSIVE_LOCKS_REQUIRED(batch_mu_);
  // Writer thread: writes `batch` and commits it to the roster, moving what the completer needs
  // into `completion`; on failure the results are UNAVAILABLE and nothing is committed.
  absl::Status Write(Batch& batch, Completion& completion);
  void Maintain(absl::Time now);
  absl::Duration UntilNextWake(absl::Time now) const;

  const ApplierOptions options_;
  store::Store& store_;
  state::IdSource& ids_;
  const Clock& clock_;
  const state::RoomMachine machine_;
  CommitListener listener_;
  CallbackSink callback_sink_;
  Histogram* batch_inputs_ = nullptr;
  Histogram* commit_seconds_ = nullptr;
  absl::Time next_maintenance_;  // applier thread only

  // The batches. The applier thread decides into accumulating_ (on top of inflight_, or of the
  // roster when nothing is in flight); the writer thread takes it as inflight_ when it has
  // nothing to write, and lands it: the next batch then reads through to the roster.
  mutable absl::Mutex batch_mu_ ABSL_ACQUIRED_BEFORE(roster_mu_, queue_mu_);
  std::unique_ptr<Batch> inflight_ ABSL_GUARDED_BY(batch_mu_);
  std::unique_ptr<Batch> accumulating_ ABSL_GUARDED_BY(batch_mu_);
  // Each room's next callback sequence number, as durably stored.
  absl::flat_hash_map<state::Sid, uint64_t> callback_sequences_ ABSL_GUARDED_BY(batch_mu_);
  // The due timers were decided since the batch in flight was handed over: they are not tried
  // again (nor waited for) until it lands.
  bool timers_tried_ ABSL_GUARDED_BY(batch_mu_) = false;
  bool writer_stopping_ ABSL_GUARDED_BY(batch_mu_) = false;

  mutable absl::Mutex roster_mu_;
  // Written only by the writer thread (commits) and by the applier thread when nothing is in
  // flight or decided (maintenance), under the writer lock; read under the reader lock.
  state::Roster& roster_ ABSL_GUARDED_BY(roster_mu_);

  mutable absl::Mutex queue_mu_;
  std::vector<Work> queue_ ABSL_GUARDED_BY(queue_mu_);
  bool stopping_ ABSL_GUARDED_BY(queue_mu_) = false;
  ApplierStats stats_ ABSL_GUARDED_BY(queue_mu_);
  // Inputs taken into the batch being decided (a bound, not an exact count), and whether a
  // batch has landed since the applier last looked (it may be draining for a sweep).
  size_t accumulating_inputs_ ABSL_GUARDED_BY(queue_mu_) = 0;
  bool landed_ ABSL_GUARDED_BY(queue_mu_) = false;

  // Batches durable and committed, waiting for the completer, in order.
  absl::Mutex completion_mu_;
  std::deque<Completion> completions_ ABSL_GUARDED_BY(completion_mu_);
  bool completer_stopping_ ABSL_GUARDED_BY(completion_mu_) = false;

  std::thread thread_;
  std::thread writer_;
  std::thread completer_;
};

}  // namespace rollcall::service

#endif  // ROLLCALL_SERVICE_APPLIER_H_
