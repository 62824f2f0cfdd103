#include "state/callbacks.h"

#include <variant>

#include "absl/container/flat_hash_map.h"

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
  // The room and participants as of the change being looked at: the view's, then each change's.
  absl::flat_hash_map<Sid, Room> rooms;
  absl::flat_hash_map<Sid, Participant> participants;
  auto room_of = [&](const Sid& sid) -> const Room* {
    if (auto it = rooms.find(sid); it != rooms.end()) return &it->second;
    return view.FindRoom(sid);
  };
  auto participant_of = [&](const Sid& sid) -> const Participant* {
    if (auto it = participants.find(sid); it != participants.end()) return &it->second;
    return view.FindParticipant(sid);
  };
  for (const Change& change : outcome.changes) {
    if (const auto* room = std::get_if<Room>(&change.resource)) {
      rooms.insert_or_assign(room->sid, *room);
    } else if (const auto* participant = std::get_if<Participant>(&change.resource)) {
      participants.insert_or_assign(participant->sid, *participant);
    }
    const std::optional<CallbackEvent> event = EventOf(change.type);
    if (!event) continue;
    const Room* room = room_of(RoomOf(change));
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
      if (const Participant* publisher = participant_of(track->participant_sid)) {
        callback.participant = *publisher;
      }
    }
    callbacks.push_back(std::move(callback));
  }
  return callbacks;
}

}  // namespace rollcall::state
