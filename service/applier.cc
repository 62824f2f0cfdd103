#include "service/applier.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"
#include "state/pending_roster.h"
#include "store/codec.h"

namespace rollcall::service {
namespace {

// Collects what one batch writes, keeping only the last version of each record.
class BatchWriter {
 public:
  void Add(const state::Outcome& outcome) {
    for (const state::Change& change : outcome.changes) {
      if (const auto* participant = std::get_if<state::Participant>(&change.resource)) {
        Put(participant_index_, batch_.participants, *participant);
      } else if (const auto* room = std::get_if<state::Room>(&change.resource)) {
        Put(room_index_, batch_.rooms, *room);
      } else if (const auto* track = std::get_if<state::PublishedTrack>(&change.resource)) {
        Put(track_index_, batch_.tracks, *track);
      } else if (const auto* rules = std::get_if<state::SubscribeRules>(&change.resource)) {
        Put(rules_index_, batch_.rules, *rules, rules->participant_sid);
      } else {
        // A subscription may come and go within one batch: only its last state is written.
        const auto& subscribed = std::get<state::SubscribedTrack>(change.resource);
        std::optional<state::SubscribedTrack>& last =
            subscriptions_[{subscribed.participant_sid, subscribed.sid}];
        if (change.type == state::ChangeType::kSubscribedTrackRemoved) {
          last.reset();
        } else {
          last = subscribed;
        }
      }
    }
    if (outcome.dedupe) batch_.dedupe.push_back(*outcome.dedupe);
    // The domain changes, encoded by the store's codec: no API rendering on this thread (the
    // watch side renders each revision once, at the edge).
    store::LogEntry& entry = batch_.log.emplace_back();
    entry.revision = outcome.revision;
    store::EncodeLogPayload(outcome.changes, &entry.payload);
    batch_.revision = outcome.revision;
  }

  store::WriteBatch& batch() {
    for (auto& [key, last] : subscriptions_) {
      if (last) {
        batch_.subscriptions.push_back(*std::move(last));
      } else {
        batch_.erased_subscriptions.push_back(key);
      }
    }
    subscriptions_.clear();
    return batch_;
  }

 private:
  template <typename Record>
  static void Put(absl::flat_hash_map<state::Sid, size_t>& index, std::vector<Record>& records,
                  const Record& record) {
    Put(index, records, record, record.sid);
  }
  template <typename Record>
  static void Put(absl::flat_hash_map<state::Sid, size_t>& index, std::vector<Record>& records,
                  const Record& record, const state::Sid& key) {
    auto [it, inserted] = index.try_emplace(key, records.size());
    if (inserted) {
      records.push_back(record);
    } else {
      records[it->second] = record;
    }
  }

  store::WriteBatch batch_;
  absl::flat_hash_map<state::Sid, size_t> participant_index_;
  absl::flat_hash_map<state::Sid, size_t> room_index_;
  absl::flat_hash_map<state::Sid, size_t> track_index_;
  absl::flat_hash_map<state::Sid, size_t> rules_index_;
  absl::flat_hash_map<std::pair<state::Sid, state::Sid>, std::optional<state::SubscribedTrack>>
      subscriptions_;
};

std::vector<Applier::Result> Failed(size_t count, const absl::Status& status) {
  return std::vector<Applier::Result>(count, status);
}

}  // namespace

struct Applier::Batch {
  explicit Batch(const state::RosterView& base) : pending(base) {}

  bool empty() const { return done.empty() && applied.empty(); }

  // The roster as it will be once this batch (and the one under it) commits.
  state::PendingRoster pending;
  // One entry per submission, each reserved to its size before the first result goes in, so
  // the pointers in `applied` stay valid until the roster commit (as do those into `fired`).
  std::vector<std::vector<Result>> results;
  std::vector<Done> done;
  std::deque<Result> fired;
  // The applied outcomes in order: committed to the roster after the write, never copied.
  std::vector<const state::Outcome*> applied;
  BatchWriter writer;
  // The callbacks this batch owes, and the rooms' next sequence numbers after it.
  std::vector<state::Callback> callbacks;
  absl::flat_hash_map<state::Sid, uint64_t> sequences;
  size_t inputs = 0;
  uint64_t timers_fired = 0;
};

Applier::Applier(const ApplierOptions& options, store::Store& store, state::Roster& roster,
                 state::IdSource& ids, const Clock& clock)
    : options_(options), store_(store), ids_(ids), clock_(clock), machine_(ids_), roster_(roster) {}

Applier::~Applier() { Stop(); }

void Applier::SetCommitListener(CommitListener listener) { listener_ = std::move(listener); }

void Applier::SetCallbackSink(CallbackSink sink,
                              absl::flat_hash_map<state::Sid, uint64_t> next_sequence) {
  callback_sink_ = std::move(sink);
  absl::MutexLock lock(&batch_mu_);
  callback_sequences_ = std::move(next_sequence);
}

void Applier::SetMetrics(Histogram* batch_inputs, Histogram* commit_seconds) {
  batch_inputs_ = batch_inputs;
  commit_seconds_ = commit_seconds;
}

void Applier::Start() {
  next_maintenance_ = clock_.SystemTime();
  {
    absl::MutexLock lock(&batch_mu_);
    accumulating_ = std::make_unique<Batch>(roster_);
  }
  completer_ = std::thread([this] { RunCompleter(); });
  writer_ = std::thread([this] { RunWriter(); });
  thread_ = std::thread([this] { Run(); });
}

void Applier::Stop() {
  {
    absl::MutexLock lock(&queue_mu_);
    stopping_ = true;
  }
  // The applier returns once everything it took has landed.
  if (thread_.joinable()) thread_.join();
  {
    absl::MutexLock lock(&batch_mu_);
    writer_stopping_ = true;
  }
  if (writer_.joinable()) writer_.join();
  // The writer has queued its last batch; the completer finishes them, then stops.
  {
    absl::MutexLock lock(&completion_mu_);
    completer_stopping_ = true;
  }
  if (completer_.joinable()) completer_.join();
  // Anything submitted after the thread drained its last batch.
  std::vector<Work> left;
  {
    absl::MutexLock lock(&queue_mu_);
    left.swap(queue_);
  }
  for (Work& work : left) {
    work.done(Failed(work.inputs.size(), absl::UnavailableError("the server is shutting down")));
  }
}

void Applier::Submit(std::vector<state::Input> inputs, Done done) {
  {
    absl::MutexLock lock(&queue_mu_);
    if (!stopping_) {
      queue_.push_back({std::move(inputs), std::move(done)});
      return;
    }
  }
  done(Failed(inputs.size(), absl::UnavailableError("the server is shutting down")));
}

ApplierStats Applier::stats() const {
  absl::MutexLock lock(&queue_mu_);
  return stats_;
}

absl::Duration Applier::UntilNextWake(absl::Time now) const {
  absl::Time wake = next_maintenance_;
  bool timers_tried;
  {
    absl::MutexLock lock(&batch_mu_);
    timers_tried = timers_tried_;
  }
  if (!timers_tried) {
    absl::ReaderMutexLock lock(&roster_mu_);
    if (std::optional<state::Timer> timer = roster_.NextTimer()) {
      wake = std::min(wake, timer->deadline);
    }
  }
  return std::max(wake - now, absl::ZeroDuration());
}

bool Applier::Drained() const {
  absl::MutexLock lock(&batch_mu_);
  return !inflight_ && accumulating_->empty();
}

void Applier::Run() {
  bool stopping = false;
  while (true) {
    const absl::Time now = clock_.SystemTime();
    const bool drained = Drained();
    if (drained && now >= next_maintenance_) {
      Maintain(now);
      next_maintenance_ = now + options_.maintenance_interval;
    }
    // A sweep is due: decide nothing more until what is decided has landed.
    const bool draining = now >= next_maintenance_;
    std::vector<Work> work;
    {
      // Draining waits for a landing, which needs no timeout: the interval only bounds the wait
      // (a simulated clock cannot add an infinite one). The deadline is an instant on the
      // monotonic clock, read before the time it is computed from: a clock that moves in
      // between makes it early, never late.
      const SteadyTime from = clock_.MonotonicTime();
      const absl::Duration wait =
          draining ? options_.maintenance_interval : UntilNextWake(clock_.SystemTime());
      const SteadyTime deadline = from + absl::ToChronoNanoseconds(wait);
      absl::MutexLock lock(&queue_mu_);
      if (stopping && drained && queue_.empty()) return;
      const size_t room =
          options_.max_batch_inputs - std::min(options_.max_batch_inputs, accumulating_inputs_);
      auto ready = [this, draining, drained, room]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(queue_mu_) {
        return landed_ || (stopping_ && drained) || (!draining && room > 0 && !queue_.empty());
      };
      clock_.AwaitUntil(queue_mu_, absl::Condition(&ready), deadline);
      stopping = stopping_;
      landed_ = false;
      // Whole submissions up to the batch limit; the rest waits for the next round.
      size_t inputs = 0;
      size_t taken = 0;
      while (!draining && taken < queue_.size() &&
             (taken == 0 ? room > 0 : inputs + queue_[taken].inputs.size() <= room)) {
        inputs += queue_[taken].inputs.size();
        ++taken;
      }
      work.assign(std::make_move_iterator(queue_.begin()),
                  std::make_move_iterator(queue_.begin() + static_cast<ptrdiff_t>(taken)));
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<ptrdiff_t>(taken));
      accumulating_inputs_ += inputs;
    }
    if (!draining) Decide(std::move(work), clock_.SystemTime());
  }
}

void Applier::Decide(std::vector<Work> work, absl::Time now) {
  // batch_mu_ is held per submission, not per round, so the writer can land the batch in flight
  // and take this one in between; the next submission then goes into the next batch.
  auto decide = [&](Batch& batch,
                    const state::Input& input) ABSL_EXCLUSIVE_LOCKS_REQUIRED(batch_mu_) {
    Result result = machine_.Decide(batch.pending, input, now);
    if (result.ok() && result->disposition == state::Disposition::kApplied) {
      if (callback_sink_) {
        for (state::Callback& callback : state::CallbacksOf(*result, batch.pending)) {
          // After the batch in flight, if it numbered this room's callbacks; else as stored.
          auto [next, added] = batch.sequences.try_emplace(callback.room_sid, 0);
          if (added) {
            const absl::flat_hash_map<state::Sid, uint64_t>& numbered =
                inflight_ && inflight_->sequences.contains(callback.room_sid) ? inflight_->sequences
                                                                              : callback_sequences_;
            if (auto found = numbered.find(callback.room_sid); found != numbered.end()) {
              next->second = found->second;
            }
          }
          callback.sequence = next->second++;
          batch.callbacks.push_back(std::move(callback));
        }
      }
      batch.pending.Commit(*result);
      batch.writer.Add(*result);
    }
    // An applied outcome stays where it is; `applied` points at it until the roster commit.
    return result;
  };
  auto keep = [](Batch& batch, Result& result) {
    if (result.ok() && result->disposition == state::Disposition::kApplied) {
      batch.applied.push_back(&*result);
    }
  };
  {
    absl::MutexLock lock(&batch_mu_);
    if (!timers_tried_) {
      // Due timers first: they happened before anything in this round was submitted. One fired
      // in a batch not yet committed is stale here (its record moved on) and is refused.
      Batch& batch = *accumulating_;
      absl::ReaderMutexLock roster_lock(&roster_mu_);
      for (const state::Timer& timer : roster_.DueTimers(now, options_.max_batch_inputs)) {
        keep(batch, batch.fired.emplace_back(decide(batch, state::FireTimer{timer})));
        if (batch.fired.back().ok()) ++batch.timers_fired;  // else superseded by an earlier one
      }
      timers_tried_ = inflight_ != nullptr;
    }
  }
  size_t decided = 0;
  for (Work& submission : work) {
    absl::MutexLock lock(&batch_mu_);
    Batch& batch = *accumulating_;
    std::vector<Result>& results = batch.results.emplace_back();
    results.reserve(submission.inputs.size());
    {
      absl::ReaderMutexLock roster_lock(&roster_mu_);
      for (const state::Input& input : submission.inputs) {
        keep(batch, results.emplace_back(decide(batch, input)));
      }
    }
    batch.inputs += submission.inputs.size();
    batch.done.push_back(std::move(submission.done));
    decided += submission.inputs.size();
  }
  absl::MutexLock lock(&queue_mu_);
  stats_.inputs += decided;
}

void Applier::HandOver() {
  Batch& batch = *accumulating_;
  if (batch_inputs_ != nullptr && batch.inputs + batch.timers_fired > 0) {
    batch_inputs_->Observe(static_cast<double>(batch.inputs + batch.timers_fired));
  }
  inflight_ = std::move(accumulating_);
  accumulating_ = std::make_unique<Batch>(inflight_->pending);
  timers_tried_ = false;
}

void Applier::Landed(const absl::Status& written) {
  std::unique_ptr<Batch> landed = std::move(inflight_);
  if (written.ok()) {
    for (const auto& [room_sid, next] : landed->sequences) callback_sequences_[room_sid] = next;
    accumulating_->pending.Rebase(roster_);
  } else {
    // Everything in accumulating_ was decided on what the failed batch would have been.
    const absl::Status unavailable = absl::UnavailableError(
        absl::StrCat("the store could not durably write an earlier batch this one was decided on: ",
                     written.message()));
    Completion completion;
    completion.done = std::move(accumulating_->done);
    for (std::vector<Result>& results : accumulating_->results) {
      completion.results.push_back(Failed(results.size(), unavailable));
    }
    completion.retired = std::move(accumulating_);
    accumulating_ = std::make_unique<Batch>(roster_);
    PushCompletion(std::move(completion));
  }
  timers_tried_ = false;
  // Freed on the completer thread: a large overlay takes a while to free.
  Completion retired;
  retired.retired = std::move(landed);
  PushCompletion(std::move(retired));
}

void Applier::RunWriter() {
  while (true) {
    Batch* batch = nullptr;
    {
      absl::MutexLock lock(&batch_mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(batch_mu_) {
        return !accumulating_->empty() || writer_stopping_;
      };
      batch_mu_.Await(absl::Condition(&ready));
      if (accumulating_->empty()) return;  // stopping, and the applier has decided everything
      HandOver();
      batch = inflight_.get();
    }
    {
      absl::MutexLock lock(&queue_mu_);
      accumulating_inputs_ = 0;
    }
    const size_t inputs = batch->inputs;
    const size_t applied = batch->applied.size();
    const uint64_t timers_fired = batch->timers_fired;
    Completion completion;
    const absl::Status written = Write(*batch, completion);
    {
      // The batch's completion and what its landing changes, as one step for the applier: a
      // call submitted after the caller of a failed batch heard of the failure is decided on
      // the roster, never doomed with the batch built on the failed one.
      absl::MutexLock lock(&batch_mu_);
      PushCompletion(std::move(completion));
      Landed(written);
    }
    absl::MutexLock lock(&queue_mu_);
    landed_ = true;
    if (!written.ok()) {
      ++stats_.failed_writes;
      continue;
    }
    if (inputs > 0 || applied > 0) ++stats_.batches;
    stats_.applied += applied;
    stats_.timers_fired += timers_fired;
  }
}

absl::Status Applier::Write(Batch& batch, Completion& completion) {
  completion.done = std::move(batch.done);
  absl::Status written;
  if (!batch.applied.empty()) {
    store::WriteBatch& write = batch.writer.batch();
    write.callbacks = std::move(batch.callbacks);
    write.callback_sequences.assign(batch.sequences.begin(), batch.sequences.end());
    const SteadyTime write_start = clock_.MonotonicTime();
    written = store_.Write(write);
    if (commit_seconds_ != nullptr) {
      commit_seconds_->Observe(absl::ToDoubleSeconds(Elapsed(write_start, clock_.MonotonicTime())));
    }
    if (!written.ok()) {
      spdlog::error("store write of {} revisions failed: {}", batch.applied.size(),
                    written.ToString());
      const absl::Status unavailable = absl::UnavailableError(
          absl::StrCat("the store could not durably write the batch: ", written.message()));
      for (std::vector<Result>& results : batch.results) {
        results = Failed(results.size(), unavailable);
      }
    } else {
      {
        absl::WriterMutexLock lock(&roster_mu_);
        for (const state::Outcome* outcome : batch.applied) roster_.Commit(*outcome);
      }
      completion.log = std::move(write.log);
      if (!write.callbacks.empty()) callback_sink_(std::move(write.callbacks));
    }
  }
  // Through the completer even when failed: each caller's results arrive in submission order.
  completion.results = std::move(batch.results);
  return written;
}

void Applier::PushCompletion(Completion completion) {
  if (completion.done.empty() && completion.log.empty() && !completion.retired) return;
  absl::MutexLock lock(&completion_mu_);
  completions_.push_back(std::move(completion));
}

void Applier::RunCompleter() {
  while (true) {
    std::deque<Completion> ready;
    {
      absl::MutexLock lock(&completion_mu_);
      auto available = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(completion_mu_) {
        return !completions_.empty() || completer_stopping_;
      };
      completion_mu_.Await(absl::Condition(&available));
      if (completions_.empty()) return;  // stopping, and nothing is left
      ready.swap(completions_);
    }
    for (Completion& completion : ready) Complete(std::move(completion));
  }
}

void Applier::Complete(Completion completion) {
  // Watchers first: a caller that has its acknowledgement and then starts watching "from now"
  // must not be placed before its own change.
  if (!completion.log.empty() && listener_) listener_(completion.log);
  for (size_t i = 0; i < completion.done.size(); ++i) {
    completion.done[i](std::move(completion.results[i]));
  }
}

void Applier::Maintain(absl::Time now) {
  store::WriteBatch erase;
  size_t forgotten_events = 0;
  {
    absl::WriterMutexLock lock(&roster_mu_);
    // The store finds the same event ids by the same rule, a slice per round (store.h): set
    // every round, so it keeps sweeping what the roster forgot in earlier ones.
    erase.dedupe_recorded_before = now - options_.dedupe_window;
    forgotten_events = roster_.ExpireDedupe(erase.dedupe_recorded_before);
    auto [rooms, participants] = roster_.ExpireRooms(now - options_.retention);
    auto [tracks, rules] = roster_.ForgetTracks(participants);
    erase.erased_rooms = std::move(rooms);
    erase.erased_participants = std::move(participants);
    erase.erased_tracks = std::move(tracks);
    erase.erased_rules = std::move(rules);
  }
  {
    absl::MutexLock lock(&batch_mu_);
    for (const state::Sid& room_sid : erase.erased_rooms) callback_sequences_.erase(room_sid);
  }
  const uint64_t head = store_.revision();
  if (head >= options_.watch_history && store_.LogStart() + options_.watch_history <= head) {
    erase.compact_log_before = head - options_.watch_history + 1;
  }
  if (erase.empty()) return;
  // Losing this write only delays the sweep: the records are expired either way and the next
  // start-up expires them again.
  if (absl::Status written = store_.Write(erase); !written.ok()) {
    spdlog::warn("maintenance write failed: {}", written.ToString());
  } else if (forgotten_events > 0 || !erase.erased_rooms.empty() || erase.compact_log_before != 0) {
    spdlog::info("maintenance: forgot {} event ids, {} rooms, {} participants; log starts at {}",
                 forgotten_events, erase.erased_rooms.size(), erase.erased_participants.size(),
                 store_.LogStart());
  }
}

}  // namespace rollcall::service
