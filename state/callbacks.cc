#include "state/callbacks.h"

#include <type_traits>
#include <variant>

namespace rollcall::state {
namespace {

std::optional<CallbackEvent> EventOf(ChangeType type) {
  switch (type) {
    case ChangeType::kRoomCreated:
      return CallbackEvent::kRoomCreated;
    case ChangeType::kRoomEnded:
      return CallbackEvent::kRoomEnded;
    case ChangeType::kParticipantConnected:
      return CallbackEvent::kParticipantConnected;
    case ChangeType::kParticipantDisconnected:
      return CallbackEvent::kParticipantDisconnected;
    case ChangeType::kTrackPublished:
      return CallbackEvent::kTrackAdded;
    case ChangeType::kTrackUnpublished:
      return CallbackEvent::kTrackRemoved;
    case ChangeType::kTrackEnabled:
      return CallbackEvent::kTrackEnabled;
    case ChangeType::kTrackDisabled:
      return CallbackEvent::kTrackDisabled;
    default:  // reconnecting, reconnected, anonymized, rules and subscriptions: Twilio has none
      return std::nullopt;
  }
}

const Sid& RoomOf(const Change& change) {
  return std::visit(
      [](const auto& resource) -> const Sid& {
        using T = std::decay_t<decltype(resource)>;
        if constexpr (std::is_same_v<T, Room>) {
          return resource.sid;
        } else if constexpr (std::is_same_v<T, SubscribeRules> ||
                             std::is_same_v<T, SubscribedTrack>) {
          static const Sid kNone;
          return kNone;  // never owes a callback
        } else {
          return resource.room_sid;
        }
      },
      change.resource);
}

}  // namespace

absl::string_view CallbackEventName(CallbackEvent event) {
  switch (event) {
    case CallbackEvent::kRoomCreated:
      return "room-created";
    case CallbackEvent::kRoomEnded:
      return "room-ended";
    case CallbackEvent::kParticipantConnected:
      return "participant-connected";
    case CallbackEvent::kParticipantDisconnected:
      return "participant-disconnected";
    case CallbackEvent::kTrackAdded:
      return "track-added";
    case CallbackEvent::kTrackRemoved:
      return "track-removed";
    case CallbackEvent::kTrackEnabled:
      return "track-enabled";
    case CallbackEvent::kTrackDisabled:
      return "track-disabled";
    case CallbackEvent::kUnspecified:
      break;
  }
  return "unspecified";
}

std::vector<Callback> CallbacksOf(const Outcome& outcome, const RosterView& view) {
  std::vector<Callback> callbacks;
  // On the hot path of every event: nothing is copied unless the room has a URL. The room and
  // participant as of a change are the last earlier change's to them, else the view's.
  auto latest = [&](size_t before, const Sid& sid, auto* type) {
    using Record = std::remove_pointer_t<decltype(type)>;
    for (size_t i = before; i-- > 0;) {
      const auto* record = std::get_if<Record>(&outcome.changes[i].resource);
      if (record != nullptr && record->sid == sid) return record;
    }
    return static_cast<const Record*>(nullptr);
  };
  for (size_t i = 0; i < outcome.changes.size(); ++i) {
    const Change& change = outcome.changes[i];
    const std::optional<CallbackEvent> event = EventOf(change.type);
    if (!event) continue;
    const Sid& room_sid = RoomOf(change);
    const Room* room = latest(i + 1, room_sid, static_cast<Room*>(nullptr));
    if (room == nullptr) room = view.FindRoom(room_sid);
    if (room == nullptr || room->status_callback.empty()) continue;
    Callback callback;
    callback.room_sid = room->sid;
    callback.revision = change.revision != 0 ? change.revision : outcome.revision;
    callback.event = *event;
    callback.timestamp = change.time;
    callback.room = *room;
    if (const auto* participant = std::get_if<Participant>(&change.resource)) {
      callback.participant = *participant;
    } else if (const auto* track = std::get_if<PublishedTrack>(&change.resource)) {
      callback.track = *track;
      const Participant* publisher =
          latest(i, track->participant_sid, static_cast<Participant*>(nullptr));
      if (publisher == nullptr) publisher = view.FindParticipant(track->participant_sid);
      if (publisher != nullptr) callback.participant = *publisher;
    }
    callbacks.push_back(std::move(callback));
  }
  return callbacks;
}

}  // namespace rollcall::state
