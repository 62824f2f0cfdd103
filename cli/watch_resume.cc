// Resume bookkeeping for `rollcall watch`; the rules are in watch_resume.h.
#include "cli/watch_resume.h"

#include <algorithm>

namespace rollcall::cli {

void WatchCursor::Observe(const v1::WatchResponse& response) {
  uint64_t revision = 0;
  switch (response.kind_case()) {
    case v1::WatchResponse::kChanges:
      revision = response.changes().revision();
      for (const v1::Change& change : response.changes().changes()) {
        if (change.has_room()) ObserveRoomSid(change.room().sid());
        if (change.has_participant()) ObserveRoomSid(change.participant().room_sid());
      }
      break;
    case v1::WatchResponse::kInitialStateEnd:
      revision = response.initial_state_end().revision();
      break;
    case v1::WatchResponse::kProgress:
      revision = response.progress().revision();
      break;
    case v1::WatchResponse::kInitialState:
      for (const v1::Room& room : response.initial_state().rooms()) ObserveRoomSid(room.sid());
      for (const v1::Participant& p : response.initial_state().participants()) {
        ObserveRoomSid(p.room_sid());
      }
      return;  // No revision: a snapshot chunk proves nothing until its end marker.
    case v1::WatchResponse::KIND_NOT_SET:
      return;
  }
  // Revisions only grow along a stream; max() keeps a misbehaving server from moving the
  // cursor backwards into changes already printed.
  if (!last_revision_.has_value() || revision > *last_revision_) last_revision_ = revision;
}

void WatchCursor::ObserveRoomSid(const std::string& room_sid) {
  // Only a one-room watch pins its room; every record it receives belongs to that room.
  if (original_.room().empty() || !room_sid_.empty() || room_sid.empty()) return;
  room_sid_ = room_sid;
}

uint64_t WatchCursor::NextStartRevision() const {
  // A progress heartbeat may report a revision below a future start revision still being
  // waited for; resuming must not reach back before what the user asked for.
  if (last_revision_.has_value()) return std::max(*last_revision_ + 1, original_.start_revision());
  return original_.start_revision();
}

v1::WatchRequest WatchCursor::ResumeRequest() const {
  v1::WatchRequest request = original_;
  request.set_send_initial_state(false);
  if (!room_sid_.empty()) request.set_room(room_sid_);
  request.set_start_revision(NextStartRevision());
  return request;
}

bool IsResumable(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return true;
    default:
      return false;
  }
}

absl::Duration Backoff::Next() {
  absl::Duration delay = next_;
  next_ = std::min(next_ * 2, max_);
  return delay;
}

}  // namespace rollcall::cli
