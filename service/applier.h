// Applier: the single writer (docs/architecture.md, the path of an event). One thread owns every
// change to the roster: RPCs Submit inputs; the thread takes everything queued, decides it as one
// batch against a PendingRoster (each input sees those before it), writes the batch to the store
// with one fsync (group commit), and only then commits it to the shared roster. A second thread,
// the completer, then tells the commit listener and completes the calls, in batch order, so the
// applier goes on to the next batch meanwhile: building responses and fanning out to watchers
// never holds up the writer. The change log gets the domain changes through the store's codec;
// the API messages watchers receive are rendered after the commit, on the watch side, so this
// thread never renders them. Readers use Read(), which never waits for an fsync.
//
// Timers (reconnect window, session limit, room timeouts) fire on this thread through the
// same path, as do the maintenance sweeps (dedupe window, retention, change-log history).
// If the store write fails, nothing of the batch is applied and every call in it gets
// UNAVAILABLE.
#ifndef ROLLCALL_SERVICE_APPLIER_H_
#define ROLLCALL_SERVICE_APPLIER_H_

#include <deque>
#include <functional>
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
  uint64_t inputs = 0;
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
  // numbered and already in the store, in order. Runs on the applier thread: must not block.
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

  // What the completer does for one batch: the listener first, then every call's results.
  struct Completion {
    std::vector<store::LogEntry> log;
    std::vector<Done> done;
    std::vector<std::vector<Result>> results;
  };

  void Run();
  void RunCompleter();
  void Complete(Completion completion);
  void ApplyBatch(std::vector<Work> batch);
  void Maintain(absl::Time now);
  absl::Duration UntilNextWake(absl::Time now) const;

  const ApplierOptions options_;
  store::Store& store_;
  state::IdSource& ids_;
  const Clock& clock_;
  const state::RoomMachine machine_;
  CommitListener listener_;
  CallbackSink callback_sink_;
  // Applier thread only: each room's next callback sequence number, as durably stored.
  absl::flat_hash_map<state::Sid, uint64_t> callback_sequences_;
  Histogram* batch_inputs_ = nullptr;
  Histogram* commit_seconds_ = nullptr;
  absl::Time next_maintenance_;

  mutable absl::Mutex roster_mu_;
  // Written only by the applier thread, under the writer lock; read under the reader lock.
  state::Roster& roster_ ABSL_GUARDED_BY(roster_mu_);

  mutable absl::Mutex queue_mu_;
  std::vector<Work> queue_ ABSL_GUARDED_BY(queue_mu_);
  bool stopping_ ABSL_GUARDED_BY(queue_mu_) = false;
  bool wake_ ABSL_GUARDED_BY(queue_mu_) = false;
  ApplierStats stats_ ABSL_GUARDED_BY(queue_mu_);

  // Batches durable and committed, waiting for the completer, in order.
  absl::Mutex completion_mu_;
  std::deque<Completion> completions_ ABSL_GUARDED_BY(completion_mu_);
  bool completer_stopping_ ABSL_GUARDED_BY(completion_mu_) = false;

  std::thread thread_;
  std::thread completer_;
};

}  // namespace rollcall::service

#endif  // ROLLCALL_SERVICE_APPLIER_H_
