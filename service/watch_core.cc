#include "service/watch_core.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "rollcall/v1/watch_service.pb.h"
#include "service/initial_state.h"
#include "state/status_macros.h"
#include "store/codec.h"

namespace rollcall::service {
namespace {

enum Group { kSnapshot, kUnsynced, kSynced, kEnded };

std::string Serialized(const v1::WatchResponse& message) { return message.SerializeAsString(); }

// Decodes `payload` (revision `number`'s entry) and renders it into `revision`.
void Render(uint64_t number, absl::string_view payload, const Converter& converter,
            const FrameMaker& make_frame, const Revision& revision,
            store::LogScope* scope = nullptr) {
  store::LogScope decoded_scope;
  std::vector<state::Change> changes;
  absl::Status decoded = store::DecodeLogPayload(payload, &decoded_scope, &changes);
  if (decoded.ok() && changes.front().revision != number) {
    decoded = absl::DataLossError(
        absl::StrCat("the entry holds the changes of revision ", changes.front().revision));
  }
  if (!decoded.ok()) {
    revision.damage = std::move(decoded);
    return;
  }
  if (scope != nullptr) *scope = decoded_scope;
  std::string rendered = converter.SerializeChangeSet(changes);
  revision.size = rendered.size();
  revision.frame = make_frame(std::move(rendered));
}

}  // namespace

RevisionPtr RevisionFromLog(const store::LogEntry& entry, const Converter& converter,
                            const FrameMaker& make_frame) {
  auto revision = std::make_shared<Revision>();
  revision->revision = entry.revision;
  store::LogScope scope;
  Render(entry.revision, entry.payload, converter, make_frame, *revision, &scope);
  revision->account_sid = scope.account_sid;
  revision->room_sid = scope.room_sid;
  return revision;
}

RevisionPtr UnrenderedRevision(const store::LogEntry& entry) {
  auto revision = std::make_shared<Revision>();
  revision->revision = entry.revision;
  absl::StatusOr<store::LogScope> scope = store::DecodeLogScope(entry.payload);
  if (!scope.ok()) {
    revision->damage = scope.status();
    return revision;
  }
  revision->account_sid = scope->account_sid;
  revision->room_sid = scope->room_sid;
  revision->unrendered = entry.payload;
  return revision;
}

void RenderRevision(const Revision& revision, const Converter& converter,
                    const FrameMaker& make_frame) {
  if (revision.unrendered.empty()) return;
  const std::string payload = std::exchange(revision.unrendered, std::string());
  Render(revision.revision, payload, converter, make_frame, revision);
}

// A watcher: passive; only the core, under its lock, reads or changes it. The exceptions are
// `initial`, which the core's thread uses outside the lock while `reading` is set, and `spec`,
// which never changes after Open.
struct WatchCore::Watcher {
  struct Outgoing {
    FramePtr frame;
    uint64_t revision;  // 0 for control messages
    size_t size;
  };

  bool Matches(const state::Sid& account_sid, const state::Sid& room_sid) const {
    return account_sid == spec.account && (!spec.room || room_sid == *spec.room);
  }
  bool Matches(const Revision& revision) const {
    return Matches(revision.account_sid, revision.room_sid);
  }
  size_t buffered() const { return queued_bytes + in_flight_bytes; }

  WatchStream* stream = nullptr;
  WatchSpec spec;
  int group = kUnsynced;
  uint64_t next = 0;  // the next revision to consider
  std::deque<Outgoing> queue;
  size_t queued_bytes = 0;
  size_t in_flight_bytes = 0;
  bool writing = false;
  uint64_t writing_revision = 0;
  uint64_t last_received = 0;
  bool reading = false;  // waiting for, or in, a store read on the core's thread
  bool closed = false;
  SteadyTime last_write;
  // Revisions behind the head at the previous sweep (none yet: the first sweep spares it).
  uint64_t lag_at_last_sweep = UINT64_MAX;
  uint64_t writes = 0;
  uint64_t writes_at_last_sweep = 0;
  // The limit that last stopped this watcher being fed, for the message if it ends slow.
  const char* held_back_by = nullptr;
  std::unique_ptr<InitialStateReader> initial;
};

WatchCore::WatchCore(const WatchOptions& options, const store::Store& store, const Clock& clock,
                     const Converter& converter, FrameMaker make_frame)
    : options_(options),
      store_(store),
      clock_(clock),
      converter_(converter),
      make_frame_(std::move(make_frame)) {
  head_ = store_.revision();
}

WatchCore::~WatchCore() {
  Shutdown();
  if (thread_.joinable()) thread_.join();
}

void WatchCore::Start() {
  thread_ = std::thread([this] { Run(); });
}

WatchStats WatchCore::stats() const {
  absl::MutexLock lock(&mu_);
  return {.watchers = watchers_.size(),
          .snapshots = snapshots_,
          .buffered_bytes = buffered_bytes_,
          .slow_terminations = slow_terminations_};
}

void WatchCore::Open(const WatchSpec& spec, WatchStream* stream) {
  auto refuse = [stream](absl::Status status, Trailers trailers = {}) {
    stream->Finish(status, trailers);
  };
  const uint64_t log_start = store_.LogStart();
  if (spec.start_revision != 0 && spec.start_revision < log_start) {
    return refuse(
        absl::OutOfRangeError(absl::StrCat(
            "start_revision: ", spec.start_revision,
            " is older than the retained change log; the oldest retained revision is ", log_start)),
        {{kCompactRevisionTrailer, absl::StrCat(log_start)}});
  }
  // Taken before the lock: opening a store snapshot does not wait for the writer either.
  std::unique_ptr<InitialStateReader> initial;
  if (spec.initial_state) {
    absl::StatusOr<std::unique_ptr<store::RecordSnapshot>> snapshot = store_.Snapshot();
    if (!snapshot.ok()) return refuse(snapshot.status());
    initial = std::make_unique<InitialStateReader>(*std::move(snapshot), spec.account, spec.room,
                                                   converter_);
  }

  absl::MutexLock lock(&mu_);
  if (shutting_down_) return refuse(absl::UnavailableError("the server is shutting down"));
  if (watchers_.size() >= options_.max_watchers) {
    return refuse(absl::ResourceExhaustedError(
        absl::StrCat("the server has ", watchers_.size(),
                     " watch streams open, its limit (--watch_max_watchers)")));
  }
  auto of_account = per_account_.find(spec.account);
  const size_t open = of_account == per_account_.end() ? 0 : of_account->second;
  if (open >= options_.max_watchers_per_account) {
    return refuse(absl::ResourceExhaustedError(
        absl::StrCat("account ", spec.account.ToString(), " has ", open,
                     " watch streams open, its limit (--watch_max_watchers_per_account)")));
  }
  if (initial != nullptr && snapshots_ >= options_.max_snapshots) {
    return refuse(absl::ResourceExhaustedError(
        absl::StrCat(snapshots_,
                     " initial-state snapshots are being sent, the limit "
                     "(--watch_max_snapshots); retry later or watch without send_initial_state")));
  }
  ++per_account_[spec.account];
  auto watcher = std::make_shared<Watcher>();
  watcher->stream = stream;
  watcher->spec = spec;
  watcher->last_write = clock_.MonotonicTime();
  watchers_.emplace(stream, watcher);
  if (initial != nullptr) {
    watcher->next = initial->revision() + 1;
    watcher->initial = std::move(initial);
    watcher->group = kSnapshot;
    ++snapshots_;
    ScheduleRead(watcher);
    return;
  }
  watcher->next = spec.start_revision != 0 ? spec.start_revision : head_ + 1;
  CatchUp(watcher);
}

void WatchCore::Written(WatchStream* stream, bool ok) {
  absl::MutexLock lock(&mu_);
  auto it = watchers_.find(stream);
  if (it == watchers_.end()) return;
  const WatcherPtr watcher = it->second;
  watcher->writing = false;
  Release(*watcher, watcher->in_flight_bytes);
  watcher->in_flight_bytes = 0;
  if (watcher->group == kEnded) return;
  if (!ok) return End(*watcher, absl::CancelledError("the stream broke"), false);
  ++watcher->writes;
  if (watcher->writing_revision > 0) watcher->last_received = watcher->writing_revision;
  watcher->last_write = clock_.MonotonicTime();
  WriteNext(*watcher);
  if (watcher->writing || !watcher->queue.empty() || watcher->reading) return;
  if (watcher->group == kUnsynced) CatchUp(watcher);
  if (watcher->group == kSnapshot) ScheduleRead(watcher);
}

void WatchCore::Cancel(WatchStream* stream) {
  absl::MutexLock lock(&mu_);
  auto it = watchers_.find(stream);
  if (it != watchers_.end())
    End(*it->second, absl::CancelledError("cancelled by the client"), false);
}

void WatchCore::Close(WatchStream* stream) {
  absl::MutexLock lock(&mu_);
  auto it = watchers_.find(stream);
  if (it == watchers_.end()) return;
  const WatcherPtr watcher = it->second;
  MoveTo(*watcher, kEnded);
  Release(*watcher, watcher->buffered());
  watcher->queue.clear();
  watcher->queued_bytes = watcher->in_flight_bytes = 0;
  watcher->closed = true;  // a store read in progress drops its result
  if (--per_account_[watcher->spec.account] == 0) per_account_.erase(watcher->spec.account);
  watchers_.erase(it);
}

void WatchCore::Publish(const std::vector<store::LogEntry>& entries) {
  bool watched;
  {
    absl::MutexLock lock(&mu_);
    watched = !watchers_.empty();
  }
  // Rendered here, outside the lock, when someone may take them now; else when first taken.
  std::vector<RevisionPtr> revisions;
  revisions.reserve(entries.size());
  for (const store::LogEntry& entry : entries) {
    revisions.push_back(watched ? RevisionFromLog(entry, converter_, make_frame_)
                                : UnrenderedRevision(entry));
  }
  absl::MutexLock lock(&mu_);
  for (const RevisionPtr& revision : revisions) {
    ring_.push_back(revision);
    head_ = revision->revision;
  }
  while (ring_.size() > options_.recent_revisions) ring_.pop_front();
  std::vector<Watcher*> fell_behind;
  // A copy: a damaged revision ends watchers, which leaves the set.
  for (Watcher* watcher : std::vector<Watcher*>(synced_.begin(), synced_.end())) {
    if (!Take(*watcher, revisions.begin(), revisions.end()) && watcher->group == kSynced) {
      fell_behind.push_back(watcher);
    }
  }
  // It catches up by itself once its queue drains (Written).
  for (Watcher* watcher : fell_behind) MoveTo(*watcher, kUnsynced);
}

void WatchCore::Shutdown() {
  absl::MutexLock lock(&mu_);
  if (shutting_down_) return;
  shutting_down_ = true;
  for (auto& [stream, watcher] : watchers_) {
    End(*watcher,
        absl::UnavailableError(
            "the server is shutting down; resume from the trailer rollcall-resume-revision"),
        true);
  }
  store_reads_.clear();
}

void WatchCore::Recheck() {
  absl::MutexLock lock(&mu_);
  for (auto& [stream, watcher] : watchers_) {
    Watcher& w = *watcher;
    if (w.group == kEnded || !w.spec.still_allowed) continue;
    if (absl::Status allowed = w.spec.still_allowed(); !allowed.ok()) {
      End(w, allowed, w.group != kSnapshot);
    }
  }
}

void WatchCore::Sweep() {
  absl::MutexLock lock(&mu_);
  const SteadyTime now = clock_.MonotonicTime();
  std::vector<WatcherPtr> ending;
  for (auto& [stream, watcher] : watchers_) {
    Watcher& w = *watcher;
    if (w.group == kEnded) continue;
    if (w.group == kSynced) {
      w.lag_at_last_sweep = 0;
      if (w.queue.empty() && !w.writing &&
          Elapsed(w.last_write, now) >= options_.progress_interval) {
        v1::WatchResponse progress;
        // The store's revision, even for a watch waiting for a later start revision.
        progress.mutable_progress()->set_revision(std::min(w.next - 1, head_));
        EnqueueControl(w, Serialized(progress));
      }
      continue;
    }
    // Catching up means closer to the head than at the previous sweep (for a snapshot: it
    // took a chunk since): a watch started far behind may finish as long as it keeps reading,
    // while one that does not read stays put or falls further behind.
    const uint64_t lag = head_ >= w.next ? head_ - w.next + 1 : 0;
    const bool progressing =
        w.group == kSnapshot ? w.writes > w.writes_at_last_sweep : lag < w.lag_at_last_sweep;
    w.lag_at_last_sweep = lag;
    w.writes_at_last_sweep = w.writes;
    if (lag > options_.max_lag && !progressing) ending.push_back(watcher);
  }
  for (const WatcherPtr& watcher : ending) {
    Watcher& w = *watcher;
    const uint64_t received =
        w.writing && w.writing_revision > 0 ? w.writing_revision : w.last_received;
    const std::string why =
        w.group == kSnapshot
            ? absl::StrCat(
                  "watcher stopped reading its initial state while the store moved more "
                  "than ",
                  options_.max_lag,
                  " revisions (--watch_max_lag) past it; start again with "
                  "send_initial_state")
            : absl::StrCat("watcher fell more than ", options_.max_lag,
                           " revisions behind (--watch_max_lag)",
                           w.held_back_by != nullptr
                               ? absl::StrCat(" after its buffer reached ", w.held_back_by)
                               : "",
                           "; last revision received ", received, "; resume from ",
                           ResumeRevision(w));
    End(w, absl::ResourceExhaustedError(why), w.group != kSnapshot);
    ++slow_terminations_;
  }
}

bool WatchCore::ReadStoreOnce() {
  WatcherPtr watcher;
  uint64_t next = 0;
  uint64_t max = options_.catch_up_chunk;
  {
    absl::MutexLock lock(&mu_);
    while (!store_reads_.empty() && watcher == nullptr) {
      watcher = std::move(store_reads_.front());
      store_reads_.pop_front();
      if (watcher->group == kEnded) {
        watcher->reading = false;
        watcher = nullptr;
      }
    }
    if (watcher == nullptr) return false;
    next = watcher->next;
    // Only up to the ring: the ring's revisions are rendered already, and the catch-up goes on
    // from there (CatchUp).
    if (!ring_.empty() && ring_.front()->revision > next) {
      max = std::min<uint64_t>(max, ring_.front()->revision - next);
    }
  }
  if (watcher->group == kSnapshot) {
    ReadSnapshotChunk(watcher);
  } else {
    ReadLogChunk(watcher, next, static_cast<size_t>(max));
  }
  return true;
}

void WatchCore::ReadSnapshotChunk(const WatcherPtr& watcher) {
  absl::StatusOr<std::optional<std::string>> chunk =
      watcher->initial->Next(options_.snapshot_chunk_records);
  absl::MutexLock lock(&mu_);
  Watcher& w = *watcher;
  w.reading = false;
  if (w.group != kSnapshot) return;  // ended meanwhile
  if (!chunk.ok()) {
    return End(
        w,
        absl::DataLossError(absl::StrCat("the initial state at revision ", w.initial->revision(),
                                         " cannot be read (", chunk.status().message(), ")")),
        false);
  }
  if (chunk->has_value()) return EnqueueControl(w, **std::move(chunk));
  v1::WatchResponse end;
  end.mutable_initial_state_end()->set_revision(w.initial->revision());
  w.initial.reset();  // releases the store snapshot
  MoveTo(w, kUnsynced);
  EnqueueControl(w, Serialized(end));  // catch-up from `next` starts when it has been written
}

void WatchCore::ReadLogChunk(const WatcherPtr& watcher, uint64_t next, size_t max) {
  const uint64_t log_start = store_.LogStart();
  absl::StatusOr<std::vector<store::LogEntry>> entries;
  if (next >= log_start) entries = store_.ReadLog(next, max);
  std::vector<RevisionPtr> revisions;
  std::vector<RevisionPtr> rendered;
  if (entries.ok()) {
    revisions.resize(entries->size());
    {
      // Rendered already for another watcher that still holds it: the same frame.
      absl::MutexLock lock(&mu_);
      for (size_t i = 0; i < entries->size(); ++i) {
        auto found = from_log_.find((*entries)[i].revision);
        if (found == from_log_.end()) continue;
        FramePtr frame = found->second.frame.lock();
        if (frame == nullptr) continue;
        auto shared = std::make_shared<Revision>();
        shared->revision = found->first;
        shared->account_sid = found->second.account_sid;
        shared->room_sid = found->second.room_sid;
        shared->frame = std::move(frame);
        shared->size = found->second.size;
        revisions[i] = std::move(shared);
      }
    }
    for (size_t i = 0; i < entries->size(); ++i) {
      if (revisions[i] != nullptr) continue;
      const store::LogEntry& entry = (*entries)[i];
      // The spec never changes after Open. Out of scope: only the revision number matters
      // (Take steps over it), so its changes are neither decoded nor rendered.
      absl::StatusOr<store::LogScope> scope = store::DecodeLogScope(entry.payload);
      if (scope.ok() && !watcher->Matches(scope->account_sid, scope->room_sid)) {
        auto skipped = std::make_shared<Revision>();
        skipped->revision = entry.revision;
        skipped->account_sid = scope->account_sid;
        skipped->room_sid = scope->room_sid;
        revisions[i] = std::move(skipped);
        continue;
      }
      revisions[i] = RevisionFromLog(entry, converter_, make_frame_);
      if (revisions[i]->damage.ok()) rendered.push_back(revisions[i]);
    }
  }
  absl::MutexLock lock(&mu_);
  Remember(rendered);
  Watcher& w = *watcher;
  w.reading = false;
  if (w.group != kUnsynced || w.next != next) return;  // ended meanwhile
  if (next < log_start) return EndFallenBehind(w, log_start);
  if (!entries.ok()) {
    return End(w,
               absl::DataLossError(absl::StrCat("revision ", next,
                                                " cannot be read from the "
                                                "change log (",
                                                entries.status().message(), ")")),
               true);
  }
  // Compaction may run between LogStart() and ReadLog() (store.h): then `next` is gone. Any
  // other missing revision is a hole in the log, never skipped.
  if (revisions.empty() || revisions.front()->revision != next) {
    const uint64_t start_now = store_.LogStart();
    if (next < start_now) return EndFallenBehind(w, start_now);
    return End(
        w, absl::DataLossError(absl::StrCat("revision ", next, " is missing from the change log")),
        true);
  }
  for (size_t i = 1; i < revisions.size(); ++i) {
    if (revisions[i]->revision != next + i) {
      return End(w,
                 absl::DataLossError(
                     absl::StrCat("revision ", next + i, " is missing from the change log")),
                 true);
    }
  }
  Take(w, revisions.begin(), revisions.end());
  if (w.group == kUnsynced && w.queue.empty() && !w.writing) CatchUp(watcher);
}

void WatchCore::Remember(const std::vector<RevisionPtr>& rendered) {
  if (rendered.empty()) return;
  for (const RevisionPtr& r : rendered) {
    // A concurrent read may have rendered it too (only when tests read beside the thread):
    // either frame is right.
    from_log_.insert_or_assign(r->revision,
                               LoggedFrame{r->frame, r->size, r->account_sid, r->room_sid});
  }
  if (from_log_.size() < from_log_prune_at_) return;
  // Forget what no watcher holds any more; what is left is bounded by the watchers' buffers.
  absl::erase_if(from_log_, [](const auto& entry) { return entry.second.frame.expired(); });
  from_log_prune_at_ = std::max<size_t>(4 * options_.catch_up_chunk, 2 * from_log_.size());
}

void WatchCore::Run() {
  const absl::Duration tick = std::min(absl::Seconds(1), options_.progress_interval / 4);
  SteadyTime next_sweep = clock_.MonotonicTime() + absl::ToChronoNanoseconds(tick);
  while (true) {
    bool sweep = false;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return shutting_down_ || !store_reads_.empty();
      };
      clock_.Await(mu_, absl::Condition(&ready), Elapsed(clock_.MonotonicTime(), next_sweep));
      if (shutting_down_) return;
      const SteadyTime now = clock_.MonotonicTime();
      if (now >= next_sweep) {
        sweep = true;
        next_sweep = now + absl::ToChronoNanoseconds(tick);
      }
    }
    if (sweep) Sweep();
    ReadStoreOnce();
  }
}

void WatchCore::CatchUp(const WatcherPtr& watcher) {
  Watcher& w = *watcher;
  if (shutting_down_ || w.group != kUnsynced || w.reading) return;
  const uint64_t oldest = ring_.empty() ? head_ + 1 : ring_.front()->revision;
  if (w.next < oldest) return ScheduleRead(watcher);
  auto from = std::lower_bound(ring_.begin(), ring_.end(), w.next,
                               [](const RevisionPtr& r, uint64_t n) { return r->revision < n; });
  // Everything up to the head taken: synced (nothing can be published meanwhile). Otherwise a
  // limit stopped it, and the drain continues the catch-up.
  if (Take(w, from, ring_.end()) && w.group == kUnsynced) MoveTo(w, kSynced);
}

void WatchCore::ScheduleRead(const WatcherPtr& watcher) {
  if (shutting_down_ || watcher->reading) return;
  watcher->reading = true;
  store_reads_.push_back(watcher);
}

template <typename It>
bool WatchCore::Take(Watcher& w, It begin, It end) {
  for (It it = begin; it != end && w.group != kEnded; ++it) {
    const Revision& revision = **it;
    if (revision.revision < w.next) continue;
    // Published while nobody watched: rendered now that a watcher in its scope takes it (and
    // perhaps found damaged only now).
    if (revision.damage.ok() && w.Matches(revision)) {
      RenderRevision(revision, converter_, make_frame_);
    }
    if (!revision.damage.ok()) {
      // What is queued goes out first; the stream ends when it reaches the damage.
      if (w.buffered() > 0) {
        WriteNext(w);
        return false;
      }
      End(w,
          absl::DataLossError(absl::StrCat("revision ", revision.revision,
                                           " cannot be read from the change log (",
                                           revision.damage.message(), ")")),
          true);
      break;
    }
    if (!w.Matches(revision)) {
      w.next = revision.revision + 1;
      continue;
    }
    if (w.buffered() > 0) {
      if (w.buffered() + revision.size > options_.max_queue_bytes) {
        w.held_back_by = "--watch_max_queue_bytes";
      } else if (buffered_bytes_ + revision.size > options_.max_buffered_bytes) {
        w.held_back_by = "--watch_max_buffered_bytes (all watchers together)";
      } else {
        w.held_back_by = nullptr;
      }
      if (w.held_back_by != nullptr) {
        WriteNext(w);
        return false;
      }
    }
    w.queue.push_back({revision.frame, revision.revision, revision.size});
    w.queued_bytes += revision.size;
    buffered_bytes_ += revision.size;
    w.next = revision.revision + 1;
  }
  WriteNext(w);
  return true;
}

void WatchCore::EnqueueControl(Watcher& w, std::string serialized) {
  const size_t size = serialized.size();
  w.queue.push_back({make_frame_(std::move(serialized)), 0, size});
  w.queued_bytes += size;
  buffered_bytes_ += size;
  WriteNext(w);
}

void WatchCore::WriteNext(Watcher& w) {
  if (w.writing || w.group == kEnded || w.queue.empty()) return;
  Watcher::Outgoing next = std::move(w.queue.front());
  w.queue.pop_front();
  w.queued_bytes -= next.size;
  w.in_flight_bytes = next.size;
  w.writing_revision = next.revision;
  w.writing = true;
  w.stream->Write(next.frame);
}

void WatchCore::MoveTo(Watcher& w, int group) {
  if (w.group == group) return;
  if (w.group == kSynced) synced_.erase(&w);
  if (w.group == kSnapshot && w.initial != nullptr && !w.reading) w.initial.reset();
  if (w.group == kSnapshot) --snapshots_;
  w.group = group;
  if (group == kSynced) synced_.insert(&w);
}

void WatchCore::Release(Watcher& w, size_t bytes) {
  (void)w;
  buffered_bytes_ -= std::min(bytes, buffered_bytes_);
}

uint64_t WatchCore::ResumeRevision(const Watcher& w) const {
  // The first revision still queued (the queue is dropped when the stream ends), else `next`:
  // every in-scope revision before it has been written or is being written, and a write in
  // flight reaches the client before the status does.
  for (const Watcher::Outgoing& outgoing : w.queue) {
    if (outgoing.revision > 0) return outgoing.revision;
  }
  return w.next;
}

void WatchCore::End(Watcher& w, const absl::Status& status, bool resume_trailer) {
  if (w.group == kEnded) return;
  Trailers trailers;
  if (resume_trailer)
    trailers.emplace_back(kResumeRevisionTrailer, absl::StrCat(ResumeRevision(w)));
  MoveTo(w, kEnded);
  Release(w, w.queued_bytes);
  w.queue.clear();
  w.queued_bytes = 0;
  w.stream->Finish(status, trailers);
}

void WatchCore::EndFallenBehind(Watcher& w, uint64_t log_start) {
  End(w,
      absl::ResourceExhaustedError(
          absl::StrCat("watcher fell behind the retained change log (it starts at revision ",
                       log_start, ", --watch_history); last revision received ", w.last_received)),
      true);
  ++slow_terminations_;
}

}  // namespace rollcall::service
