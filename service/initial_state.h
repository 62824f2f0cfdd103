// InitialStateReader: a Watch's initial state, read out of a store snapshot
// (store::RecordSnapshot) one chunk at a time, as serialized rollcall.v1.WatchResponse
// messages, each holding an `initial_state` of at most a chunk's worth of records.
//
// Guarantees (docs/api.md, watch): every record in scope as of the snapshot's revision, each
// exactly once, in this order: rooms, participants, published tracks (any status), replaced
// subscribe rule sets, subscribed tracks. So a room never comes after its first participant,
// nor a participant after its tracks, rules or subscriptions. A room's participant_count is
// its active participants as of the snapshot, counted in a first pass over the participants.
#ifndef ROLLCALL_SERVICE_INITIAL_STATE_H_
#define ROLLCALL_SERVICE_INITIAL_STATE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "service/convert.h"
#include "state/records.h"
#include "state/sid.h"
#include "store/store.h"

namespace rollcall::service {

class InitialStateReader {
 public:
  // The scope: `account`'s records, of `room` only when set.
  InitialStateReader(std::unique_ptr<store::RecordSnapshot> snapshot, const state::Sid& account,
                     const std::optional<state::Sid>& room, const Converter& converter);

  uint64_t revision() const { return snapshot_->revision(); }

  // The next initial_state message, with 1..max_records records, or nullopt once every record
  // in scope has been read. DATA_LOSS (or the store's error) when the snapshot cannot be read.
  absl::StatusOr<std::optional<std::string>> Next(size_t max_records);

 private:
  enum Phase { kCount, kRooms, kParticipants, kTracks, kRules, kSubscriptions, kDone };

  template <typename Record>
  using ReadMethod = absl::Status (store::RecordSnapshot::*)(size_t, std::vector<Record>*);

  // Reads records of the current phase into `chunk` until `max` are taken or the phase is
  // over (then moves to the next phase).
  absl::Status TakeFromPhase(size_t max, size_t* taken, v1::InitialState* chunk);
  template <typename Record>
  absl::Status Take(ReadMethod<Record> read, size_t max, size_t* taken,
                    absl::FunctionRef<void(const Record&)> add);
  absl::Status CountActive();
  template <typename Record>
  bool InScope(const Record& record) const;

  const std::unique_ptr<store::RecordSnapshot> snapshot_;
  const state::Sid account_;
  const std::optional<state::Sid> room_;
  const Converter& converter_;
  Phase phase_ = kCount;
  absl::flat_hash_map<state::Sid, int32_t> active_;
};

}  // namespace rollcall::service

#endif  // ROLLCALL_SERVICE_INITIAL_STATE_H_
