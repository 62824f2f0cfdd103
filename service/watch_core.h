// WatchCore: the watch fan-out with no transport in it, after etcd's watchable store.
//
// A watcher is a passive record: its scope, `next` (the next revision it will consider) and a
// bounded queue of frames for its stream. Every move between groups happens here, under the
// core's one lock, in Publish (synced → unsynced), CatchUp (unsynced → synced or store read),
// the store-read step (snapshot → unsynced) and Sweep (→ ended):
//
//            initial state sent                     caught up to the head
//   snapshot ──────────────────► unsynced ─────────────────────────────────► synced
//                                  ▲  │ queue drained: fed from the ring             │
//                                  │  └─ or from the stored log (core's thread)      │
//                                  └──────────── queue or total buffer full ─────────┘
//
// - synced: at the head; Publish appends each new in-scope revision to its queue.
// - unsynced: behind. Once its queue has drained it is fed from the ring of recent revisions
//   (under the lock) or from the stored change log (on the core's thread, outside the lock).
// - snapshot: sending the initial state from a store snapshot (store::RecordSnapshot), one
//   chunk at a time as the stream drains; the applier never waits for it.
//
// The change log holds domain changes (store/codec.h); the core renders a revision into a
// rollcall.v1.WatchResponse with the Converter outside the lock, and every watcher sending it
// meanwhile shares that one frame: in Publish, once, for the ring and every synced watcher; on
// a store read, for every watcher catching up over it while one still has it queued. Only a
// revision that has left the ring and that no watcher holds is rendered again, when read again.
//
// The transport (the gRPC reactor) is a WatchStream: the core calls Write (one frame at a
// time) and Finish (once) under its lock; the transport reports back with Written, Cancel and
// Close and never calls into the core from inside Write or Finish.
//
// Every ending the core chooses says why, and all but the refusals at Open carry the trailer
// `rollcall-resume-revision` when the stream is resumable (the first revision it will not
// deliver). The codes: RESOURCE_EXHAUSTED (a limit, named with its flag; or fell too far
// behind), OUT_OF_RANGE (start before the retained log; trailer `rollcall-compact-revision`),
// DATA_LOSS (a revision or snapshot record that cannot be read: never a skip), UNAVAILABLE
// (shutdown), CANCELLED (the client went away), UNAUTHENTICATED or PERMISSION_DENIED (the
// stream's credential was removed or lost the right to watch: Recheck).
#ifndef ROLLCALL_SERVICE_WATCH_CORE_H_
#define ROLLCALL_SERVICE_WATCH_CORE_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "service/clock.h"
#include "service/convert.h"
#include "state/sid.h"
#include "store/store.h"

namespace rollcall::service {

inline constexpr char kCompactRevisionTrailer[] = "rollcall-compact-revision";
inline constexpr char kResumeRevisionTrailer[] = "rollcall-resume-revision";

// One serialized rollcall.v1.WatchResponse in the transport's own form (for gRPC, a
// refcounted ByteBuffer), made once and sent to every stream that wants it.
class Frame {
 public:
  virtual ~Frame() = default;
};
using FramePtr = std::shared_ptr<const Frame>;
using FrameMaker = std::function<FramePtr(std::string serialized)>;

// One committed revision, ready to send; or, when its log entry cannot be read, the reason.
// Published while no watcher is open, it keeps its log entry and is rendered (frame, size, or
// damage) the first time a watcher in its scope takes it, under the core's lock: nobody pays
// for rendering a revision nobody reads. The mutable fields change only then.
struct Revision {
  uint64_t revision = 0;
  state::Sid account_sid;
  state::Sid room_sid;
  mutable FramePtr frame;  // null when damaged, or when read for a watcher it is out of scope for
  mutable size_t size = 0;
  mutable absl::Status damage;
  mutable std::string unrendered;  // the log entry's payload, until rendered
};
using RevisionPtr = std::shared_ptr<const Revision>;

// A change-log entry (domain changes, store/codec.h) as a Revision: its changes rendered by
// `converter` into one rollcall.v1.WatchResponse frame. A damaged Revision when the payload does
// not decode or holds another revision's changes.
RevisionPtr RevisionFromLog(const store::LogEntry& entry, const Converter& converter,
                            const FrameMaker& make_frame);
// The same, rendered later (RenderRevision): only its scope is read now. Damaged at once when
// even the scope does not decode.
RevisionPtr UnrenderedRevision(const store::LogEntry& entry);
// Renders an UnrenderedRevision in place; does nothing to one already rendered.
void RenderRevision(const Revision& revision, const Converter& converter,
                    const FrameMaker& make_frame);

using Trailers = std::vector<std::pair<std::string, std::string>>;

// The transport side of one watch stream. Called under the core's lock: must not block and
// must not call back into the core.
class WatchStream {
 public:
  virtual ~WatchStream() = default;
  // Starts writing `frame`; the transport calls WatchCore::Written when it is done. The core
  // keeps at most one write in flight per stream.
  virtual void Write(const FramePtr& frame) = 0;
  // Ends the stream after the write in flight, if any. Called at most once.
  virtual void Finish(const absl::Status& status, const Trailers& trailers) = 0;
};

struct WatchSpec {
  state::Sid account;
  std::optional<state::Sid> room;  // resolved by the caller; none = every room of the account
  uint64_t start_revision = 0;     // 0: from now (or from the snapshot with initial_state)
  bool initial_state = false;
  // Asked again by WatchCore::Recheck (the credentials changed): an error ends the stream with
  // it. Called under the core's lock: must not block or call into the core. Empty: never asked.
  std::function<absl::Status()> still_allowed;
};

struct WatchOptions {
  absl::Duration progress_interval = absl::Seconds(10);  // --watch_progress_interval
  size_t max_queue_bytes = 4 << 20;                      // --watch_max_queue_bytes
  uint64_t max_lag = 100000;                             // --watch_max_lag (revisions)
  size_t max_watchers = 10000;                           // --watch_max_watchers
  size_t max_watchers_per_account = 1000;                // --watch_max_watchers_per_account
  size_t max_buffered_bytes = 256 << 20;                 // --watch_max_buffered_bytes
  size_t max_snapshots = 4;                              // --watch_max_snapshots
  size_t recent_revisions = 16384;                       // ring kept in memory
  size_t catch_up_chunk = 512;                           // log entries per store read
  size_t snapshot_chunk_records = 500;                   // records per initial_state message
};

struct WatchStats {
  size_t watchers = 0;
  size_t snapshots = 0;       // initial states being sent
  size_t buffered_bytes = 0;  // queued or being written, over every stream
  uint64_t slow_terminations = 0;
};

class WatchCore {
 public:
  WatchCore(const WatchOptions& options, const store::Store& store, const Clock& clock,
            const Converter& converter, FrameMaker make_frame);
  ~WatchCore();
  WatchCore(const WatchCore&) = delete;
  WatchCore& operator=(const WatchCore&) = delete;

  // Starts the core's thread: a sweep every min(1 s, progress interval / 4) on the clock, and
  // the store reads (catch-up, snapshot chunks). Tests may instead call Sweep and
  // ReadStoreOnce themselves.
  void Start();
  // Ends every stream with UNAVAILABLE and refuses new ones; stops the thread.
  void Shutdown();

  // Starts a watch on `stream`, which must stay valid until Close(stream). When the watch
  // cannot start, `stream` is finished at once (and still gets Close).
  void Open(const WatchSpec& spec, WatchStream* stream);
  // From the transport: the write in flight completed (ok=false: the stream broke).
  void Written(WatchStream* stream, bool ok);
  // The client went away: ends the stream CANCELLED.
  void Cancel(WatchStream* stream);
  // The transport is done with the stream; the core forgets it.
  void Close(WatchStream* stream);

  // The applier's commit listener: durable revisions in order. Each is rendered here, once,
  // outside the lock, and the one frame goes to every watcher that wants it.
  void Publish(const std::vector<store::LogEntry>& entries);

  // Asks every open stream's `still_allowed` again and ends those refused with its error (and
  // the resume trailer, unless the stream is still sending its initial state).
  void Recheck();

  // Progress messages for idle synced streams; ends watchers too far behind.
  void Sweep();
  // Does one store read a watcher waits for; false when none was waiting.
  bool ReadStoreOnce();

  WatchStats stats() const;

 private:
  struct Watcher;
  using WatcherPtr = std::shared_ptr<Watcher>;

  void Run();
  void CatchUp(const WatcherPtr& watcher) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ScheduleRead(const WatcherPtr& watcher) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Queues in-scope revisions from [begin, end) within the byte limits; false when a limit
  // stopped it (the rest is left for a later catch-up).
  template <typename It>
  bool Take(Watcher& watcher, It begin, It end) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Queues a message that is not a revision (initial state, its end, progress).
  void EnqueueControl(Watcher& watcher, std::string serialized) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void WriteNext(Watcher& watcher) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void MoveTo(Watcher& watcher, int group) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void End(Watcher& watcher, const absl::Status& status, bool resume_trailer)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EndFallenBehind(Watcher& watcher, uint64_t log_start) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ReadSnapshotChunk(const WatcherPtr& watcher);
  // Reads up to `max` log entries from `next` for a catching-up watcher (on the core's thread).
  void ReadLogChunk(const WatcherPtr& watcher, uint64_t next, size_t max);
  // Keeps the frames rendered for a catch-up read findable while a watcher has them queued.
  void Remember(const std::vector<RevisionPtr>& rendered) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  uint64_t ResumeRevision(const Watcher& watcher) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Release(Watcher& watcher, size_t bytes) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const WatchOptions options_;
  const store::Store& store_;
  const Clock& clock_;
  const Converter& converter_;
  const FrameMaker make_frame_;

  mutable absl::Mutex mu_;
  std::deque<RevisionPtr> ring_ ABSL_GUARDED_BY(mu_);
  // Frames rendered for catch-up reads of the stored log, while any watcher still has one
  // queued: watchers catching up over the same history (e.g. all resuming after a restart)
  // share one rendering and one frame per revision, as live watchers share the ring's.
  struct LoggedFrame {
    std::weak_ptr<const Frame> frame;
    size_t size = 0;
    state::Sid account_sid;
    state::Sid room_sid;
  };
  absl::flat_hash_map<uint64_t, LoggedFrame> from_log_ ABSL_GUARDED_BY(mu_);
  size_t from_log_prune_at_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t head_ ABSL_GUARDED_BY(mu_) = 0;  // last published revision
  absl::flat_hash_map<WatchStream*, WatcherPtr> watchers_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<state::Sid, size_t> per_account_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<Watcher*> synced_ ABSL_GUARDED_BY(mu_);
  std::deque<WatcherPtr> store_reads_ ABSL_GUARDED_BY(mu_);
  size_t snapshots_ ABSL_GUARDED_BY(mu_) = 0;
  size_t buffered_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t slow_terminations_ ABSL_GUARDED_BY(mu_) = 0;
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace rollcall::service

#endif  // ROLLCALL_SERVICE_WATCH_CORE_H_
