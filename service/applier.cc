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

Applier::Applier(const ApplierOptions& options, store::Store& store, state::Roster& roster,
                 state::IdSource& ids, const Clock& clock)
    : options_(options), store_(store), ids_(ids), clock_(clock), machine_(ids_), roster_(roster) {}

Applier::~Applier() { Stop(); }

void Applier::SetCommitListener(CommitListener listener) { listener_ = std::move(listener); }

void Applier::SetCallbackSink(CallbackSink sink,
                              absl::flat_hash_map<state::Sid, uint64_t> next_sequence) {
  callback_sink_ = std::move(sink);
  callback_sequences_ = std::move(next_sequence);
}

void Applier::SetMetrics(Histogram* batch_inputs, Histogram* commit_seconds) {
  batch_inputs_ = batch_inputs;
  commit_seconds_ = commit_seconds;
}

void Applier::Start() {
  next_maintenance_ = clock_.SystemTime();
  completer_ = std::thread([this] { RunCompleter(); });
  thread_ = std::thread([this] { Run(); });
}

void Applier::Stop() {
  {
    absl::MutexLock lock(&queue_mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
  // The applier has handed over its last batch; the completer finishes them, then stops.
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
  {
    absl::ReaderMutexLock lock(&roster_mu_);
    if (std::optional<state::Timer> timer = roster_.NextTimer()) {
      wake = std::min(wake, timer->deadline);
    }
  }
  return std::max(wake - now, absl::ZeroDuration());
}

void Applier::Run() {
  while (true) {
    std::vector<Work> batch;
    bool stopping = false;
    {
      const absl::Duration wait = UntilNextWake(clock_.SystemTime());
      absl::MutexLock lock(&queue_mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(queue_mu_) {
        return !queue_.empty() || stopping_;
      };
      clock_.Await(queue_mu_, absl::Condition(&ready), wait);
      stopping = stopping_;
      // Take whole submissions up to the batch limit; the rest waits for the next round.
      size_t inputs = 0;
      size_t taken = 0;
      while (taken < queue_.size() &&
             (taken == 0 || inputs + queue_[taken].inputs.size() <= options_.max_batch_inputs)) {
        inputs += queue_[taken].inputs.size();
        ++taken;
      }
      batch.assign(std::make_move_iterator(queue_.begin()),
                   std::make_move_iterator(queue_.begin() + static_cast<ptrdiff_t>(taken)));
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<ptrdiff_t>(taken));
    }
    ApplyBatch(std::move(batch));
    const absl::Time now = clock_.SystemTime();
    if (now >= next_maintenance_) {
      Maintain(now);
      next_maintenance_ = now + options_.maintenance_interval;
    }
    if (stopping) {
      absl::MutexLock lock(&queue_mu_);
      if (queue_.empty()) return;
    }
  }
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

void Applier::ApplyBatch(std::vector<Work> batch) {
  const absl::Time now = clock_.SystemTime();
  std::vector<std::vector<Result>> results(batch.size());
  // The applied outcomes in order, pointing into `results` (each reserved to its size, so the
  // pointers stay valid) or `fired`: committed to the roster after the write, never copied.
  std::vector<const state::Outcome*> applied;
  std::deque<Result> fired;
  BatchWriter writer;
  uint64_t timers_fired = 0;
  size_t inputs = 0;
  // The callbacks this batch owes, and the rooms' next sequence numbers after it.
  std::vector<state::Callback> callbacks;
  absl::flat_hash_map<state::Sid, uint64_t> sequences;
  {
    // Deciding only reads committed state; readers may share it meanwhile.
    absl::ReaderMutexLock lock(&roster_mu_);
    state::PendingRoster pending(roster_);
    auto decide = [&](const state::Input& input) {
      Result result = machine_.Decide(pending, input, now);
      if (result.ok() && result->disposition == state::Disposition::kApplied) {
        if (callback_sink_) {
          for (state::Callback& callback : state::CallbacksOf(*result, pending)) {
            auto [next, added] = sequences.try_emplace(callback.room_sid, 0);
            if (added) {
              auto stored = callback_sequences_.find(callback.room_sid);
              if (stored != callback_sequences_.end()) next->second = stored->second;
            }
            callback.sequence = next->second++;
            callbacks.push_back(std::move(callback));
          }
        }
        pending.Commit(*result);
        writer.Add(*result);
      }
      return result;
    };
    // An applied outcome stays where it is; `applied` points at it until the roster commit.
    auto keep = [&](Result& result) {
      if (result.ok() && result->disposition == state::Disposition::kApplied) {
        applied.push_back(&*result);
      }
    };
    // Due timers first: they happened before anything in this batch was submitted.
    for (const state::Timer& timer : roster_.DueTimers(now, options_.max_batch_inputs)) {
      keep(fired.emplace_back(decide(state::FireTimer{timer})));
      if (fired.back().ok()) ++timers_fired;  // else superseded by an earlier firing
    }
    for (size_t i = 0; i < batch.size(); ++i) {
      results[i].reserve(batch[i].inputs.size());
      for (const state::Input& input : batch[i].inputs)
        keep(results[i].emplace_back(decide(input)));
      inputs += batch[i].inputs.size();
    }
  }

  Completion completion;
  completion.done.reserve(batch.size());
  for (Work& work : batch) completion.done.push_back(std::move(work.done));
  bool write_failed = false;
  if (batch_inputs_ != nullptr && inputs + timers_fired > 0) {
    batch_inputs_->Observe(static_cast<double>(inputs + timers_fired));
  }
  if (!applied.empty()) {
    store::WriteBatch& write = writer.batch();
    write.callbacks = std::move(callbacks);
    write.callback_sequences.assign(sequences.begin(), sequences.end());
    const SteadyTime write_start = clock_.MonotonicTime();
    absl::Status written = store_.Write(write);
    if (commit_seconds_ != nullptr) {
      commit_seconds_->Observe(absl::ToDoubleSeconds(Elapsed(write_start, clock_.MonotonicTime())));
    }
    if (!written.ok()) {
      spdlog::error("store write of {} revisions failed: {}", applied.size(), written.ToString());
      const absl::Status unavailable = absl::UnavailableError(
          absl::StrCat("the store could not durably write the batch: ", written.message()));
      for (size_t i = 0; i < batch.size(); ++i) {
        results[i] = Failed(batch[i].inputs.size(), unavailable);
      }
      write_failed = true;
    } else {
      absl::WriterMutexLock lock(&roster_mu_);
      for (const state::Outcome* outcome : applied) roster_.Commit(*outcome);
      completion.log = std::move(write.log);
    }
    if (written.ok() && !write.callbacks.empty()) {
      for (const auto& [room_sid, next] : sequences) callback_sequences_[room_sid] = next;
      callback_sink_(std::move(write.callbacks));
    }
  }
  // Through the completer even when failed: each caller's results arrive in submission order.
  completion.results = std::move(results);
  if (!completion.done.empty() || !completion.log.empty()) {
    absl::MutexLock lock(&completion_mu_);
    completions_.push_back(std::move(completion));
  }
  if (write_failed) {
    absl::MutexLock lock(&queue_mu_);
    ++stats_.failed_writes;
    return;
  }
  absl::MutexLock lock(&queue_mu_);
  if (inputs > 0 || !applied.empty()) ++stats_.batches;
  stats_.inputs += inputs;
  stats_.applied += applied.size();
  stats_.timers_fired += timers_fired;
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
    for (const state::Sid& room_sid : rooms) callback_sequences_.erase(room_sid);
    erase.erased_rooms = std::move(rooms);
    erase.erased_participants = std::move(participants);
    erase.erased_tracks = std::move(tracks);
    erase.erased_rules = std::move(rules);
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
