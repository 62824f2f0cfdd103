// EventModel: a small, independent in-memory re-implementation of docs/api.md, state table for the
// events end-to-end tests send (CONNECTED with a client-chosen SID, RECONNECTING,
// RECONNECTED, DISCONNECTED, duplicate identity, room capacity) into rooms created up front.
// It predicts each event's status code, outcome and revision, and holds the participant
// records the server must end up with, so a test can compare the two field by field.
// It also models TRACK_PUBLISHED and TRACK_UNPUBLISHED (docs/tracks.md): names unique among
// a participant's published tracks, and a participant's tracks unpublished when it leaves.
// Out of scope (the tests never produce them): timers, kicks, room ends, ad-hoc rooms,
// accounts other than the default, stale reordering across participants' clocks.
#ifndef ROLLCALL_TESTS_E2E_EVENT_MODEL_H_
#define ROLLCALL_TESTS_E2E_EVENT_MODEL_H_

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "rollcall/v1/event.pb.h"
#include "rollcall/v1/participant.pb.h"

namespace rollcall::testing {

inline constexpr char kDefaultAccountSid[] = "AC00000000000000000000000000000000";

// Microseconds since the Unix epoch; the model's only time unit.
inline void ToTimestamp(int64_t micros, google::protobuf::Timestamp* out) {
  out->set_seconds(micros / 1000000);
  out->set_nanos(static_cast<int32_t>(micros % 1000000) * 1000);
}
inline int64_t FromTimestamp(const google::protobuf::Timestamp& in) {
  return in.seconds() * 1000000 + in.nanos() / 1000;
}

struct ModelEvent {
  std::string event_id;
  v1::EventType type = v1::EVENT_TYPE_UNSPECIFIED;
  int64_t occurred_at = 0;  // micros
  std::string room;         // room SID
  std::string participant_sid;
  std::string identity;
  v1::DisconnectReason reason = v1::DISCONNECT_REASON_UNSPECIFIED;
  std::string track_sid;   // TRACK_* events
  std::string track_name;  // TRACK_PUBLISHED

  v1::Event ToProto() const {
    v1::Event event;
    event.set_event_id(event_id);
    event.set_type(type);
    ToTimestamp(occurred_at, event.mutable_occurred_at());
    event.set_room(room);
    event.set_participant_sid(participant_sid);
    event.set_identity(identity);
    event.set_reason(reason);
    if (!track_sid.empty()) {
      event.set_track_sid(track_sid);
      if (type == v1::EVENT_TYPE_TRACK_PUBLISHED) {
        event.set_track_name(track_name);
        event.set_track_kind(v1::TRACK_KIND_AUDIO);
      }
    }
    return event;
  }
};

struct ModelTrack {
  std::string sid;
  std::string participant_sid;
  std::string name;
  bool published = true;
  uint64_t revision = 0;
};

struct ModelParticipant {
  std::string sid;
  std::string room_sid;
  std::string identity;
  v1::ParticipantStatus status = v1::PARTICIPANT_STATUS_UNSPECIFIED;
  int64_t start_time = 0;
  std::optional<int64_t> end_time;
  std::optional<int64_t> duration;  // whole seconds
  v1::DisconnectReason disconnect_reason = v1::DISCONNECT_REASON_UNSPECIFIED;
  uint64_t revision = 0;
  int64_t last_event_time = 0;

  bool active() const {
    return status == v1::PARTICIPANT_STATUS_CONNECTED ||
           status == v1::PARTICIPANT_STATUS_RECONNECTING;
  }
};

// What the server should answer for one event: a status code, and when it is OK the outcome
// and revision (APPLIED: the new revision; IGNORED: the current one).
struct Prediction {
  grpc::StatusCode code = grpc::StatusCode::OK;
  v1::EventOutcome outcome = v1::EVENT_OUTCOME_UNSPECIFIED;
  uint64_t revision = 0;
};

class EventModel {
 public:
  struct Room {
    std::string sid;
    int max_participants = 50;
    uint64_t revision = 0;
    std::vector<std::string> active;  // SIDs of CONNECTED or RECONNECTING participants
  };

  // A room created (by CreateRoom) in `revision`.
  void AddRoom(const std::string& sid, int max_participants, uint64_t revision) {
    rooms_[sid] = Room{sid, max_participants, revision, {}};
    revision_ = std::max(revision_, revision);
  }

  // Applies `event` as the next revision would.
  Prediction Apply(const ModelEvent& event) { return Apply(event, revision_ + 1); }

  // Applies `event`; when it changes state, the change gets revision `revision`.
  Prediction Apply(const ModelEvent& event, uint64_t revision) {
    if (event.type == v1::EVENT_TYPE_TRACK_PUBLISHED ||
        event.type == v1::EVENT_TYPE_TRACK_UNPUBLISHED) {
      return ApplyTrack(event, revision);
    }
    auto room = rooms_.find(event.room);
    if (event.type == v1::EVENT_TYPE_PARTICIPANT_CONNECTED) {
      if (auto it = participants_.find(event.participant_sid); it != participants_.end()) {
        if (it->second.room_sid != event.room) return Error(grpc::StatusCode::FAILED_PRECONDITION);
        return Ignored();
      }
      if (room == rooms_.end()) return Error(grpc::StatusCode::NOT_FOUND);  // no ad-hoc rooms
      ModelParticipant* replaced = nullptr;
      for (const std::string& sid : room->second.active) {
        if (participants_[sid].identity == event.identity) replaced = &participants_[sid];
      }
      const size_t active = room->second.active.size() - (replaced != nullptr ? 1 : 0);
      if (active >= static_cast<size_t>(room->second.max_participants)) {
        return Error(grpc::StatusCode::RESOURCE_EXHAUSTED);
      }
      if (replaced != nullptr) {
        Disconnect(*replaced, event.occurred_at, v1::DISCONNECT_REASON_DUPLICATE_IDENTITY,
                   revision);
      }
      ModelParticipant& created = participants_[event.participant_sid];
      created.sid = event.participant_sid;
      created.room_sid = event.room;
      created.identity = event.identity;
      created.status = v1::PARTICIPANT_STATUS_CONNECTED;
      created.start_time = event.occurred_at;
      created.last_event_time = event.occurred_at;
      created.revision = revision;
      room->second.active.push_back(created.sid);
      return Applied(revision);
    }

    auto it = participants_.find(event.participant_sid);
    if (it == participants_.end() || it->second.room_sid != event.room) {
      return Error(grpc::StatusCode::NOT_FOUND);
    }
    ModelParticipant& participant = it->second;
    if (event.type == v1::EVENT_TYPE_PARTICIPANT_DISCONNECTED) {
      if (!participant.active()) return Ignored();
      Disconnect(participant, event.occurred_at,
                 event.reason == v1::DISCONNECT_REASON_UNSPECIFIED
                     ? v1::DISCONNECT_REASON_CLIENT_INITIATED
                     : event.reason,
                 revision);
      participant.last_event_time = std::max(participant.last_event_time, event.occurred_at);
      return Applied(revision);
    }
    if (event.occurred_at < participant.last_event_time) return Ignored();  // stale
    // Stale after the session ended (docs/decisions.md): dated before its end_time (the tests
    // send no RECONNECT_TIMEOUT, whose end is the window's deadline instead).
    if (!participant.active() && event.occurred_at < *participant.end_time) return Ignored();
    if (!participant.active()) return Error(grpc::StatusCode::FAILED_PRECONDITION);
    const bool reconnecting = event.type == v1::EVENT_TYPE_PARTICIPANT_RECONNECTING;
    if (reconnecting == (participant.status == v1::PARTICIPANT_STATUS_RECONNECTING)) {
      return Ignored();
    }
    participant.status =
        reconnecting ? v1::PARTICIPANT_STATUS_RECONNECTING : v1::PARTICIPANT_STATUS_CONNECTED;
    participant.last_event_time = event.occurred_at;
    participant.revision = revision;
    return Applied(revision);
  }

  // TRACK_PUBLISHED / TRACK_UNPUBLISHED, always with a fresh occurred_at.
  Prediction ApplyTrack(const ModelEvent& event, uint64_t revision) {
    auto it = participants_.find(event.participant_sid);
    if (it == participants_.end() || it->second.room_sid != event.room) {
      return Error(grpc::StatusCode::NOT_FOUND);
    }
    auto track = tracks_.find(event.track_sid);
    if (event.type == v1::EVENT_TYPE_TRACK_UNPUBLISHED) {
      if (track == tracks_.end()) return Error(grpc::StatusCode::NOT_FOUND);
      if (!track->second.published) return Ignored();
      track->second.published = false;
      track->second.revision = revision;
      return Applied(revision);
    }
    if (track != tracks_.end()) return Ignored();  // the same SID again
    if (!it->second.active()) {
      // Published before the participant left: its departure already ended the track.
      if (it->second.end_time && event.occurred_at <= *it->second.end_time) return Ignored();
      return Error(grpc::StatusCode::FAILED_PRECONDITION);
    }
    for (const auto& [sid, t] : tracks_) {
      if (t.published && t.participant_sid == event.participant_sid && t.name == event.track_name) {
        return Error(grpc::StatusCode::ALREADY_EXISTS);
      }
    }
    tracks_[event.track_sid] =
        ModelTrack{event.track_sid, event.participant_sid, event.track_name, true, revision};
    return Applied(revision);
  }

  const std::map<std::string, ModelTrack>& tracks() const { return tracks_; }
  // Published tracks of `participant_sid`.
  std::vector<std::string> PublishedTracks(const std::string& participant_sid) const {
    std::vector<std::string> sids;
    for (const auto& [sid, t] : tracks_) {
      if (t.published && t.participant_sid == participant_sid) sids.push_back(sid);
    }
    return sids;
  }

  uint64_t revision() const { return revision_; }
  const std::map<std::string, Room>& rooms() const { return rooms_; }
  const std::map<std::string, ModelParticipant>& participants() const { return participants_; }
  const ModelParticipant* Find(const std::string& sid) const {
    auto it = participants_.find(sid);
    return it == participants_.end() ? nullptr : &it->second;
  }
  // SIDs of every disconnected participant, in the order they left.
  const std::vector<std::string>& disconnected() const { return disconnected_; }

 private:
  Prediction Error(grpc::StatusCode code) const { return Prediction{code, {}, 0}; }
  Prediction Ignored() const {
    return Prediction{grpc::StatusCode::OK, v1::EVENT_OUTCOME_IGNORED, revision_};
  }
  Prediction Applied(uint64_t revision) {
    revision_ = std::max(revision_, revision);
    return Prediction{grpc::StatusCode::OK, v1::EVENT_OUTCOME_APPLIED, revision};
  }

  void Disconnect(ModelParticipant& participant, int64_t end, v1::DisconnectReason reason,
                  uint64_t revision) {
    for (auto& [sid, track] : tracks_) {
      if (track.published && track.participant_sid == participant.sid) {
        track.published = false;
        track.revision = revision;
      }
    }
    participant.status = v1::PARTICIPANT_STATUS_DISCONNECTED;
    participant.end_time = std::max(end, participant.start_time);
    participant.duration = (*participant.end_time - participant.start_time) / 1000000;
    participant.disconnect_reason = reason;
    participant.revision = revision;
    std::vector<std::string>& active = rooms_[participant.room_sid].active;
    active.erase(std::find(active.begin(), active.end(), participant.sid));
    disconnected_.push_back(participant.sid);
  }

  std::map<std::string, Room> rooms_;
  std::map<std::string, ModelParticipant> participants_;
  std::map<std::string, ModelTrack> tracks_;
  std::vector<std::string> disconnected_;
  uint64_t revision_ = 0;
};

// Empty when `actual` is the record `expected` describes; otherwise the differences.
inline std::string DiffParticipant(const ModelParticipant& expected,
                                   const v1::Participant& actual) {
  std::ostringstream out;
  auto check = [&out](const char* field, const auto& want, const auto& got) {
    if (!(want == got)) out << " " << field << ": want " << want << ", got " << got << ";";
  };
  auto optional_text = [](const std::optional<int64_t>& value) {
    return value ? std::to_string(*value) : std::string("unset");
  };
  check("sid", expected.sid, actual.sid());
  check("account_sid", std::string(kDefaultAccountSid), actual.account_sid());
  check("room_sid", expected.room_sid, actual.room_sid());
  check("identity", expected.identity, actual.identity());
  check("status", v1::ParticipantStatus_Name(expected.status),
        v1::ParticipantStatus_Name(actual.status()));
  check("start_time", expected.start_time, FromTimestamp(actual.start_time()));
  check("end_time", optional_text(expected.end_time),
        actual.has_end_time() ? std::to_string(FromTimestamp(actual.end_time())) : "unset");
  check("duration", optional_text(expected.duration),
        actual.has_duration() ? std::to_string(actual.duration()) : "unset");
  check("disconnect_reason", v1::DisconnectReason_Name(expected.disconnect_reason),
        v1::DisconnectReason_Name(actual.disconnect_reason()));
  check("revision", expected.revision, actual.revision());
  return out.str();
}

}  // namespace rollcall::testing

#endif  // ROLLCALL_TESTS_E2E_EVENT_MODEL_H_
