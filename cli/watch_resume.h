// How `rollcall watch` resumes a broken stream without missing or repeating changes.
//
// A WatchCursor remembers the highest revision the stream has vouched for: a ChangeSet's
// revision, the initial snapshot's revision (InitialStateEnd) or a Progress heartbeat's
// revision. Every change up to it has been delivered, so a resumed stream starts at that
// revision + 1. Until anything has been received, the resumed stream starts where the user
// asked (0 = "from now"). A resumed request never asks for the initial state again: the
// snapshot was already printed, and its changes follow from the resumed revision on. A
// one-room watch named by unique name resumes by the room's SID once a record has shown it,
// so it keeps following the same room even after it ends (unique names resolve only among
// in-progress rooms).
#ifndef ROLLCALL_CLI_WATCH_RESUME_H_
#define ROLLCALL_CLI_WATCH_RESUME_H_

#include <cstdint>
#include <optional>
#include <utility>

#include "absl/time/time.h"
#include "grpcpp/support/status.h"
#include "rollcall/v1/watch_service.pb.h"

namespace rollcall::cli {

class WatchCursor {
 public:
  // `original` is the request of the first stream, as the user asked for it.
  explicit WatchCursor(v1::WatchRequest original) : original_(std::move(original)) {}

  // Records what a stream message proves was delivered.
  void Observe(const v1::WatchResponse& response);

  // The highest revision delivered so far, if any.
  std::optional<uint64_t> last_revision() const { return last_revision_; }

  // start_revision for the next stream: last revision + 1, or the original start revision
  // when nothing carrying a revision has been received (or when that is later, as while a
  // future start revision is still awaited).
  uint64_t NextStartRevision() const;

  // The request that resumes the watch: the original scope (by SID when known),
  // NextStartRevision(), and never send_initial_state.
  v1::WatchRequest ResumeRequest() const;

 private:
  void ObserveRoomSid(const std::string& room_sid);

  v1::WatchRequest original_;
  std::optional<uint64_t> last_revision_;
  std::string room_sid_;  // of a one-room watch, once a record has shown it
};

// Whether a stream that ended with `code` (not cancelled by us) should be resumed:
// UNAVAILABLE (server gone or shutting down), RESOURCE_EXHAUSTED (we fell too far behind)
// and OK (the server closed a stream that should not end). Everything else is final,
// notably OUT_OF_RANGE, and CANCELLED: the server never ends a watch that way (a shutdown is
// UNAVAILABLE), so a CANCELLED is a fault to report, not a break to paper over.
bool IsResumable(grpc::StatusCode code);

// Delays between reconnect attempts: `initial`, doubling up to `max`; Reset() after a
// stream delivers a message.
class Backoff {
 public:
  explicit Backoff(absl::Duration initial = absl::Milliseconds(100),
                   absl::Duration max = absl::Seconds(5))
      : initial_(initial), max_(max), next_(initial) {}

  // The delay before the next attempt; each call doubles the following one, up to max.
  absl::Duration Next();
  void Reset() { next_ = initial_; }

 private:
  absl::Duration initial_;
  absl::Duration max_;
  absl::Duration next_;
};

}  // namespace rollcall::cli

#endif  // ROLLCALL_CLI_WATCH_RESUME_H_
