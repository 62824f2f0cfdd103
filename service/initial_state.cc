#include "service/initial_state.h"

#include <utility>

#include "rollcall/v1/watch_service.pb.h"
#include "state/status_macros.h"

namespace rollcall::service {
namespace {

const state::Sid& RoomOf(const state::Room& room) { return room.sid; }
template <typename Record>
const state::Sid& RoomOf(const Record& record) {
  return record.room_sid;
}

bool Active(const state::Participant& participant) {
  return participant.status == state::ParticipantStatus::kConnected ||
         participant.status == state::ParticipantStatus::kReconnecting;
}

}  // namespace

InitialStateReader::InitialStateReader(std::unique_ptr<store::RecordSnapshot> snapshot,
                                       const state::Sid& account,
                                       const std::optional<state::Sid>& room,
                                       const Converter& converter)
    : snapshot_(std::move(snapshot)), account_(account), room_(room), converter_(converter) {}

absl::StatusOr<std::optional<std::string>> InitialStateReader::Next(size_t max_records) {
  if (phase_ == kCount) RETURN_IF_ERROR(CountActive());
  v1::WatchResponse message;
  v1::InitialState* chunk = message.mutable_initial_state();
  size_t taken = 0;
  while (phase_ != kDone && taken < max_records) {
    RETURN_IF_ERROR(TakeFromPhase(max_records, &taken, chunk));
  }
  if (taken == 0) return std::optional<std::string>();
  return std::optional<std::string>(message.SerializeAsString());
}

absl::Status InitialStateReader::TakeFromPhase(size_t max, size_t* taken, v1::InitialState* chunk) {
  using store::RecordSnapshot;
  switch (phase_) {
    case kRooms:
      return Take<state::Room>(
          &RecordSnapshot::ReadRooms, max, taken, [&](const state::Room& room) {
            auto active = active_.find(room.sid);
            converter_.ToProto(room, active == active_.end() ? 0 : active->second,
                               chunk->add_rooms());
          });
    case kParticipants:
      return Take<state::Participant>(
          &RecordSnapshot::ReadParticipants, max, taken,
          [&](const state::Participant& p) { converter_.ToProto(p, chunk->add_participants()); });
    case kTracks:
      return Take<state::PublishedTrack>(&RecordSnapshot::ReadTracks, max, taken,
                                         [&](const state::PublishedTrack& track) {
                                           converter_.ToProto(track, chunk->add_published_tracks());
                                         });
    case kRules:
      return Take<state::SubscribeRules>(&RecordSnapshot::ReadRules, max, taken,
                                         [&](const state::SubscribeRules& rules) {
                                           Converter::ToProto(rules, chunk->add_subscribe_rules());
                                         });
    case kSubscriptions:
      return Take<state::SubscribedTrack>(&RecordSnapshot::ReadSubscriptions, max, taken,
                                          [&](const state::SubscribedTrack& s) {
                                            converter_.ToProto(s, chunk->add_subscribed_tracks());
                                          });
    case kCount:
    case kDone:
      break;
  }
  return absl::InternalError("initial state: no records to take in this phase");
}

template <typename Record>
absl::Status InitialStateReader::Take(ReadMethod<Record> read, size_t max, size_t* taken,
                                      absl::FunctionRef<void(const Record&)> add) {
  std::vector<Record> batch;
  while (*taken < max) {
    batch.clear();
    RETURN_IF_ERROR(((*snapshot_).*read)(max - *taken, &batch));
    if (batch.empty()) {
      phase_ = static_cast<Phase>(phase_ + 1);
      return absl::OkStatus();
    }
    for (const Record& record : batch) {
      if (!InScope(record)) continue;
      add(record);
      ++*taken;
    }
  }
  return absl::OkStatus();
}

absl::Status InitialStateReader::CountActive() {
  constexpr size_t kCountBatch = 4096;
  std::vector<state::Participant> batch;
  while (true) {
    batch.clear();
    RETURN_IF_ERROR(snapshot_->ReadParticipants(kCountBatch, &batch));
    if (batch.empty()) break;
    for (const state::Participant& participant : batch) {
      if (InScope(participant) && Active(participant)) ++active_[participant.room_sid];
    }
  }
  snapshot_->RestartParticipants();
  phase_ = kRooms;
  return absl::OkStatus();
}

template <typename Record>
bool InitialStateReader::InScope(const Record& record) const {
  return record.account_sid == account_ && (!room_ || RoomOf(record) == *room_);
}

}  // namespace rollcall::service
