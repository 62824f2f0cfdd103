// Status callbacks (docs/callbacks.md): the webhooks a room with a status_callback URL is owed.
// Which changes owe one is decided here, purely; the service numbers them per room, stores them
// in the same batch as the change (store::WriteBatch::callbacks), delivers them in order and
// renders Twilio's parameters at the edge (service/callback_params.h).
#ifndef ROLLCALL_STATE_CALLBACKS_H_
#define ROLLCALL_STATE_CALLBACKS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "state/records.h"
#include "state/roster_view.h"
#include "state/sid.h"

namespace rollcall::state {

// Twilio's StatusCallbackEvent values, in the order docs/callbacks.md lists them.
enum class CallbackEvent : uint8_t {
  kUnspecified = 0,
  kRoomCreated = 1,
  kRoomEnded = 2,
  kParticipantConnected = 3,
  kParticipantDisconnected = 4,
  kTrackAdded = 5,
  kTrackRemoved = 6,
  kTrackEnabled = 7,
  kTrackDisabled = 8,
};
inline constexpr int kMaxCallbackEvent = 8;

// "room-created", "participant-disconnected", …
absl::string_view CallbackEventName(CallbackEvent event);

// One webhook a room is owed: what happened and the records as they were right after it, so the
// delivery renders the same parameters however late it is sent.
struct Callback {
  Sid room_sid;
  uint64_t sequence = 0;  // per room, from 0 with no gaps: Twilio's SequenceNumber
  uint64_t revision = 0;  // the revision of the change
  CallbackEvent event = CallbackEvent::kUnspecified;
  absl::Time timestamp;  // the change's server time
  Room room;             // the room after the change; its URL and method are the receiver
  std::optional<Participant> participant;  // participant and track events
  std::optional<PublishedTrack> track;     // track events

  friend bool operator==(const Callback&, const Callback&) = default;
};

// A callback that was given up on after --callback_max_age.
struct FailedCallback {
  Callback callback;
  absl::Time failed_at;
  uint32_t attempts = 0;
  std::string last_error;

  friend bool operator==(const FailedCallback&, const FailedCallback&) = default;
};

// The callbacks an applied outcome owes, in the order of its changes, with sequence 0 (the
// caller numbers them). `view` is the state just before the outcome: each callback carries the
// room and participant as they were right after its own change, so the participant-disconnected
// callbacks of a room end still say the room is in progress. Rooms without a status_callback owe
// none.
std::vector<Callback> CallbacksOf(const Outcome& outcome, const RosterView& view);

}  // namespace rollcall::state

#endif  // ROLLCALL_STATE_CALLBACKS_H_
