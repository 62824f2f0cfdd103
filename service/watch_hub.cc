#include "service/watch_hub.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "service/byte_buffers.h"
#include "service/grpc_status.h"
#include "spdlog/spdlog.h"
#include "state/lookup.h"
#include "state/status_macros.h"
#include "state/validation.h"

namespace rollcall::service {
namespace {

constexpr char kCompactRevisionTrailer[] = "rollcall-compact-revision";
constexpr char kResumeRevisionTrailer[] = "rollcall-resume-revision";
constexpr size_t kInitialStateRecordsPerMessage = 500;

// A stream that failed before it started: finishes at once and deletes itself when done.
class FailedWatch final : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
 public:
  explicit FailedWatch(const grpc::Status& status) { Finish(status); }
  void OnDone() override { delete this; }
};

}  // namespace

absl::StatusOr<RevisionPtr> RevisionFromLog(const store::LogEntry& entry) {
  ASSIGN_OR_RETURN(LogScope scope, DecodeLogPayload(entry.payload));
  auto revision = std::make_shared<Revision>();
  revision->revision = entry.revision;
  revision->account_sid = scope.account_sid;
  revision->room_sid = scope.room_sid;
  revision->size = scope.response.size();
  revision->bytes = ToByteBuffer(std::string(scope.response));
  return revision;
}

// One Watch stream. Owned by the hub (shared_ptr) until gRPC is done with it.
class Watcher final : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
 public:
  Watcher(WatchHub& hub, grpc::CallbackServerContext* context, state::Sid account,
          std::optional<state::Sid> room, uint64_t next)
      : hub_(hub), context_(context), account_(account), room_(room), next_(next) {}

  void set_self(std::weak_ptr<Watcher> self) { self_ = std::move(self); }

  bool Matches(const Revision& revision) const {
    return revision.account_sid == account_ && (!room_ || revision.room_sid == *room_);
  }

  // Queues a control message (initial state, its end marker, progress).
  void EnqueueControl(grpc::ByteBuffer bytes) {
    absl::MutexLock lock(&mu_);
    queue_.push_back({std::move(bytes), 0, 0});
    WriteNextLocked();
  }

  // From the hub (hub mutex held): new revisions for a live watcher.
  void Offer(const std::vector<RevisionPtr>& revisions, size_t max_bytes) {
    absl::MutexLock lock(&mu_);
    if (!live_ || finished_) return;
    TakeLocked(revisions.begin(), revisions.end(), max_bytes);
    if (taken_all_) return;
    live_ = false;  // fell behind: catch up on its own once the queue drains
  }

  // Revisions read for catch-up, from the ring or the store. Returns whether all were taken.
  template <typename It>
  bool Feed(It begin, It end, size_t max_bytes) {
    absl::MutexLock lock(&mu_);
    if (finished_) return true;
    TakeLocked(begin, end, max_bytes);
    return taken_all_;
  }

  // Ends the stream (once). Safe from any thread, with or without the hub mutex held.
  void End(const grpc::Status& status, bool with_resume_trailer) {
    absl::MutexLock lock(&mu_);
    EndLocked(status, with_resume_trailer);
  }

  void OnWriteDone(bool ok) override {
    bool catch_up = false;
    {
      absl::MutexLock lock(&mu_);
      writing_ = false;
      if (!ok) {
        EndLocked(grpc::Status::CANCELLED, false);
        return;
      }
      if (current_revision_ > 0) last_received_ = current_revision_;
      last_write_ = absl::Now();
      WriteNextLocked();
      catch_up = NeedsCatchUpLocked();
      if (catch_up) catching_up_ = true;
    }
    if (catch_up) {
      if (std::shared_ptr<Watcher> self = self_.lock()) hub_.CatchUp(self);
    }
  }

  void OnCancel() override { End(grpc::Status::CANCELLED, false); }

  void OnDone() override {
    absl::MutexLock lock(&mu_);
    done_ = true;  // the hub drops its reference on its next sweep
  }

  // For the hub.
  uint64_t next() const {
    absl::MutexLock lock(&mu_);
    return next_;
  }
  bool done() const {
    absl::MutexLock lock(&mu_);
    return done_;
  }
  // From the hub (hub mutex held): catch-up from the ring. Taking everything to the head makes
  // the watcher live (nothing can be published meanwhile); otherwise its queue is full and the
  // drain continues the catch-up. One critical section: a drain finishing right after the take
  // must see catching_up_ cleared, or nobody would resume the catch-up.
  template <typename It>
  void CatchUpFrom(It begin, It end, size_t max_bytes) {
    absl::MutexLock lock(&mu_);
    catching_up_ = false;
    if (finished_) return;
    TakeLocked(begin, end, max_bytes);
    live_ = taken_all_;
  }
  void CatchUpFinished() {
    bool again = false;
    {
      absl::MutexLock lock(&mu_);
      catching_up_ = false;
      again = NeedsCatchUpLocked();
      if (again) catching_up_ = true;
    }
    if (again) {
      if (std::shared_ptr<Watcher> self = self_.lock()) hub_.CatchUp(self);
    }
  }
  bool NeedsCatchUp() {
    absl::MutexLock lock(&mu_);
    const bool needs = NeedsCatchUpLocked();
    if (needs) catching_up_ = true;
    return needs;
  }
  // Watchers past the lag limit that are not catching up end; idle ones get a progress
  // message. Catching up means closer to the head than at the previous sweep: a watch started
  // (or resumed from a trailer) far behind gets to catch up as long as it keeps consuming,
  // while one that does not read stays put or falls further behind.
  void Tick(uint64_t head, const WatchOptions& options, absl::Time now, bool& ended_slow) {
    absl::MutexLock lock(&mu_);
    if (finished_) return;
    const uint64_t lag = !live_ && head >= next_ ? head - next_ + 1 : 0;
    const bool catching_up = lag < lag_at_last_tick_;
    lag_at_last_tick_ = lag;
    if (lag > options.max_lag && !catching_up) {
      const uint64_t resume = ResumeRevisionLocked();
      EndLocked(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                             absl::StrCat("watcher fell more than ", options.max_lag,
                                          " revisions behind; last revision received ",
                                          writing_ && current_revision_ > 0 ? current_revision_
                                                                            : last_received_,
                                          "; resume from ", resume)),
                true);
      ended_slow = true;
      return;
    }
    if (live_ && queue_.empty() && !writing_ && now - last_write_ >= options.progress_interval) {
      v1::WatchResponse progress;
      // The store's revision, even for a watch waiting for a later start revision.
      progress.mutable_progress()->set_revision(std::min(next_ - 1, head));
      queue_.push_back({ToByteBuffer(progress.SerializeAsString()), 0, 0});
      WriteNextLocked();
    }
  }

 private:
  struct Outgoing {
    grpc::ByteBuffer bytes;
    uint64_t revision;  // 0 for control messages
    size_t size;
  };

  template <typename It>
  void TakeLocked(It begin, It end, size_t max_bytes) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    taken_all_ = true;
    for (It it = begin; it != end; ++it) {
      const Revision& revision = **it;
      if (revision.revision < next_) continue;
      if (!Matches(revision)) {
        next_ = revision.revision + 1;
        continue;
      }
      if (queued_bytes_ + revision.size > max_bytes && !queue_.empty()) {
        taken_all_ = false;
        break;
      }
      queue_.push_back({revision.bytes, revision.revision, revision.size});
      queued_bytes_ += revision.size;
      next_ = revision.revision + 1;
    }
    WriteNextLocked();
  }

  bool NeedsCatchUpLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !live_ && !finished_ && !catching_up_ && queue_.empty() && !writing_;
  }

  void WriteNextLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (writing_ || finished_ || queue_.empty()) return;
    Outgoing& next = queue_.front();
    current_ = std::move(next.bytes);
    current_revision_ = next.revision;
    queued_bytes_ -= next.size;
    queue_.pop_front();
    writing_ = true;
    StartWrite(&current_);
  }

  // Where a new watch should start to get exactly what this one will not deliver: the first
  // revision still queued (the queue is dropped when the stream ends), else `next_`. Every
  // in-scope revision before it has been written or is being written, and a write in flight
  // reaches the client before the status does; those between that are out of scope.
  uint64_t ResumeRevisionLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (const Outgoing& outgoing : queue_) {
      if (outgoing.revision > 0) return outgoing.revision;
    }
    return next_;
  }

  void EndLocked(const grpc::Status& status, bool with_resume_trailer)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_) return;
    finished_ = true;
    if (with_resume_trailer) {
      context_->AddTrailingMetadata(kResumeRevisionTrailer, absl::StrCat(ResumeRevisionLocked()));
    }
    queue_.clear();
    queued_bytes_ = 0;
    Finish(status);
  }

  WatchHub& hub_;
  grpc::CallbackServerContext* context_;
  const state::Sid account_;
  const std::optional<state::Sid> room_;
  std::weak_ptr<Watcher> self_;

  mutable absl::Mutex mu_;
  uint64_t next_ ABSL_GUARDED_BY(mu_);  // the next revision to consider
  uint64_t last_received_ ABSL_GUARDED_BY(mu_) = 0;
  // Revisions behind the head at the previous sweep (none yet: the first sweep spares it).
  uint64_t lag_at_last_tick_ ABSL_GUARDED_BY(mu_) = UINT64_MAX;
  std::deque<Outgoing> queue_ ABSL_GUARDED_BY(mu_);
  size_t queued_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  grpc::ByteBuffer current_ ABSL_GUARDED_BY(mu_);
  uint64_t current_revision_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time last_write_ ABSL_GUARDED_BY(mu_) = absl::Now();
  bool live_ ABSL_GUARDED_BY(mu_) = false;
  bool catching_up_ ABSL_GUARDED_BY(mu_) = false;
  bool taken_all_ ABSL_GUARDED_BY(mu_) = true;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
};

WatchHub::WatchHub(const WatchOptions& options, store::Store& store, Applier& applier,
                   const Converter& converter)
    : options_(options), store_(store), applier_(applier), converter_(converter) {
  head_ = store_.revision();
  background_ = std::thread([this] { RunBackground(); });
}

WatchHub::~WatchHub() {
  Shutdown();
  if (background_.joinable()) background_.join();
}

WatchStats WatchHub::stats() const {
  absl::MutexLock lock(&mu_);
  return {watchers_.size(), slow_terminations_};
}

void WatchHub::Publish(const std::vector<store::LogEntry>& entries) {
  std::vector<RevisionPtr> revisions;
  revisions.reserve(entries.size());
  for (const store::LogEntry& entry : entries) {
    absl::StatusOr<RevisionPtr> revision = RevisionFromLog(entry);
    if (!revision.ok()) {
      spdlog::error("cannot publish revision {}: {}", entry.revision, revision.status().ToString());
      continue;
    }
    revisions.push_back(*std::move(revision));
  }
  absl::MutexLock lock(&mu_);
  for (const RevisionPtr& revision : revisions) {
    ring_.push_back(revision);
    head_ = revision->revision;
  }
  while (ring_.size() > options_.recent_revisions) ring_.pop_front();
  for (const std::shared_ptr<Watcher>& watcher : watchers_) {
    watcher->Offer(revisions, options_.max_queue_bytes);
  }
}

void WatchHub::CatchUp(const std::shared_ptr<Watcher>& watcher) {
  absl::MutexLock lock(&mu_);
  if (shutting_down_) return;
  const uint64_t next = watcher->next();
  const uint64_t oldest = ring_.empty() ? head_ + 1 : ring_.front()->revision;
  if (next < oldest) {
    store_reads_.push_back(watcher);  // the background thread reads the stored log
    return;
  }
  auto from = std::lower_bound(ring_.begin(), ring_.end(), next,
                               [](const RevisionPtr& r, uint64_t n) { return r->revision < n; });
  watcher->CatchUpFrom(from, ring_.end(), options_.max_queue_bytes);
}

void WatchHub::Shutdown() {
  absl::MutexLock lock(&mu_);
  if (shutting_down_) return;
  shutting_down_ = true;
  for (const std::shared_ptr<Watcher>& watcher : watchers_) {
    watcher->End(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                              "the server is shutting down; resume from the trailer "
                              "rollcall-resume-revision"),
                 true);
  }
  store_reads_.clear();
}

void WatchHub::RunBackground() {
  const absl::Duration tick = std::min(absl::Seconds(1), options_.progress_interval / 4);
  absl::Time next_tick = absl::Now() + tick;
  while (true) {
    std::shared_ptr<Watcher> reader;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return shutting_down_ || !store_reads_.empty();
      };
      mu_.AwaitWithDeadline(absl::Condition(&ready), next_tick);
      if (shutting_down_) return;
      if (!store_reads_.empty()) {
        reader = std::move(store_reads_.front());
        store_reads_.pop_front();
      }
      const absl::Time now = absl::Now();
      if (now >= next_tick) {
        next_tick = now + tick;
        std::erase_if(watchers_, [](const std::shared_ptr<Watcher>& w) { return w->done(); });
        for (const std::shared_ptr<Watcher>& watcher : watchers_) {
          bool ended_slow = false;
          watcher->Tick(head_, options_, now, ended_slow);
          if (ended_slow) ++slow_terminations_;
        }
      }
    }
    if (reader == nullptr) continue;
    // Catch-up from the stored change log, outside the hub lock.
    auto EndFallenBehind = [this](Watcher& watcher) {
      watcher.End(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                               absl::StrCat("watcher fell behind the retained change log (it "
                                            "starts at revision ",
                                            store_.LogStart(), ")")),
                  true);
      absl::MutexLock lock(&mu_);
      ++slow_terminations_;
    };
    const uint64_t next = reader->next();
    if (next < store_.LogStart()) {
      EndFallenBehind(*reader);
      continue;
    }
    absl::StatusOr<std::vector<store::LogEntry>> entries =
        store_.ReadLog(next, options_.catch_up_chunk);
    if (!entries.ok()) {
      reader->End(ToGrpcStatus(entries.status()), true);
      continue;
    }
    // Compaction may run between LogStart() and ReadLog() (store.h): then the entries from
    // `next` are gone, and feeding what follows would skip them silently.
    if (entries->empty() || entries->front().revision != next) {
      EndFallenBehind(*reader);
      continue;
    }
    std::vector<RevisionPtr> revisions;
    for (const store::LogEntry& entry : *entries) {
      absl::StatusOr<RevisionPtr> revision = RevisionFromLog(entry);
      if (revision.ok()) revisions.push_back(*std::move(revision));
    }
    reader->Feed(revisions.begin(), revisions.end(), SIZE_MAX);
    reader->CatchUpFinished();
  }
}

grpc::ServerWriteReactor<grpc::ByteBuffer>* WatchHub::Open(grpc::CallbackServerContext* context,
                                                           const grpc::ByteBuffer* request_bytes,
                                                           const absl::StatusOr<Caller>& caller) {
  if (!caller.ok()) return new FailedWatch(ToGrpcStatus(caller.status()));
  v1::WatchRequest request;
  if (!ParseFrom(*request_bytes, &request)) {
    return new FailedWatch(
        grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "request: is not a WatchRequest"));
  }
  absl::StatusOr<state::Sid> account = caller->Account(request.account_sid());
  if (!account.ok()) return new FailedWatch(ToGrpcStatus(account.status()));
  std::optional<state::Sid> room;
  if (!request.room().empty()) {
    if (state::LooksLikeRoomSid(request.room())) {
      // A room SID may be watched before the room exists (its ROOM_CREATED comes through),
      // but not when it is another account's room: that is NOT_FOUND, as for GetRoom.
      absl::StatusOr<state::Sid> sid =
          state::Sid::Parse(request.room(), state::kRoomPrefix, "room");
      if (!sid.ok()) return new FailedWatch(ToGrpcStatus(sid.status()));
      const bool foreign = applier_.Read([&](const state::Roster& roster) {
        const state::Room* found = roster.FindRoom(*sid);
        return found != nullptr && found->account_sid != *account;
      });
      if (foreign) {
        return new FailedWatch(
            grpc::Status(grpc::StatusCode::NOT_FOUND,
                         absl::StrCat("room: room ", request.room(), " not found")));
      }
      room = *sid;
    } else {
      absl::StatusOr<state::Sid> sid =
          applier_.Read([&](const state::Roster& roster) -> absl::StatusOr<state::Sid> {
            ASSIGN_OR_RETURN(const state::Room* found,
                             state::FindRoomByReference(roster, *account, request.room(), "room"));
            return found->sid;
          });
      if (!sid.ok()) return new FailedWatch(ToGrpcStatus(sid.status()));
      room = *sid;
    }
  }
  if (request.send_initial_state() && request.start_revision() != 0) {
    return new FailedWatch(grpc::Status(
        grpc::StatusCode::INVALID_ARGUMENT,
        "start_revision: must be 0 with send_initial_state (the snapshot sets the start)"));
  }
  const uint64_t log_start = store_.LogStart();
  if (request.start_revision() != 0 && request.start_revision() < log_start) {
    context->AddTrailingMetadata(kCompactRevisionTrailer, absl::StrCat(log_start));
    return new FailedWatch(grpc::Status(
        grpc::StatusCode::OUT_OF_RANGE,
        absl::StrCat("start_revision: ", request.start_revision(),
                     " is older than the retained change log; the oldest retained revision is ",
                     log_start)));
  }

  // The snapshot (if asked for) and the start revision are taken together.
  std::vector<grpc::ByteBuffer> initial;
  uint64_t next = request.start_revision();
  if (request.send_initial_state()) {
    applier_.Read([&](const state::Roster& roster) {
      v1::WatchResponse message;
      auto flush = [&] {
        initial.push_back(ToByteBuffer(message.SerializeAsString()));
        message.Clear();
      };
      size_t in_message = 0;
      roster.ForEachRoom(*account, room, [&](const state::Room& r) {
        converter_.ToProto(r, roster.Activity(r.sid).active,
                           message.mutable_initial_state()->add_rooms());
        if (++in_message % kInitialStateRecordsPerMessage == 0) flush();
      });
      roster.ForEachParticipant(*account, room, [&](const state::Participant& p) {
        converter_.ToProto(p, message.mutable_initial_state()->add_participants());
        if (++in_message % kInitialStateRecordsPerMessage == 0) flush();
        // The participant's sub-resources (docs/tracks.md), so a media server starts from them.
        for (const state::PublishedTrack* t : roster.TracksOf(p.sid)) {
          converter_.ToProto(*t, message.mutable_initial_state()->add_published_tracks());
          if (++in_message % kInitialStateRecordsPerMessage == 0) flush();
        }
        if (const state::SubscribeRules* rules = roster.FindRules(p.sid)) {
          Converter::ToProto(*rules, message.mutable_initial_state()->add_subscribe_rules());
          if (++in_message % kInitialStateRecordsPerMessage == 0) flush();
        }
        for (const state::SubscribedTrack* s : roster.SubscribedTracks(p.sid)) {
          converter_.ToProto(*s, message.mutable_initial_state()->add_subscribed_tracks());
          if (++in_message % kInitialStateRecordsPerMessage == 0) flush();
        }
      });
      if (message.has_initial_state()) flush();
      message.mutable_initial_state_end()->set_revision(roster.revision());
      flush();
      next = roster.revision() + 1;
    });
  }

  std::shared_ptr<Watcher> watcher;
  {
    absl::MutexLock lock(&mu_);
    if (shutting_down_) {
      return new FailedWatch(
          grpc::Status(grpc::StatusCode::UNAVAILABLE, "the server is shutting down"));
    }
    if (next == 0) next = head_ + 1;  // "from now"
    // Not live yet, so Publish skips it until CatchUp below brings it to the head.
    watcher = std::make_shared<Watcher>(*this, context, *account, room, next);
    watcher->set_self(watcher);
    watchers_.push_back(watcher);
  }
  // The snapshot goes first; catching up from `next` starts when it has been written.
  for (grpc::ByteBuffer& message : initial) watcher->EnqueueControl(std::move(message));
  if (watcher->NeedsCatchUp()) CatchUp(watcher);
  return watcher.get();
}

}  // namespace rollcall::service
