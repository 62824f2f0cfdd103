#include "store/contract.h"

#include <algorithm>
#include <tuple>

#include "absl/strings/str_cat.h"

namespace rollcall::store {

bool WriteBatch::empty() const {
  return revision == 0 && participants.empty() && rooms.empty() && dedupe.empty() && log.empty() &&
         erased_participants.empty() && erased_rooms.empty() &&
         dedupe_recorded_before == absl::InfinitePast() && tracks.empty() && rules.empty() &&
         subscriptions.empty() && erased_tracks.empty() && erased_rules.empty() &&
         erased_subscriptions.empty() && compact_log_before == 0 && callbacks.empty() &&
         callback_sequences.empty();
}

namespace internal {

absl::Status CheckBatch(const WriteBatch& batch, uint64_t revision, uint64_t newest_log) {
  if (batch.revision != 0 && batch.revision < revision) {
    return absl::InvalidArgumentError(absl::StrCat("batch revision ", batch.revision,
                                                   " is below the stored revision ", revision));
  }
  const uint64_t head = batch.revision != 0 ? batch.revision : revision;
  uint64_t previous = newest_log;
  for (const LogEntry& entry : batch.log) {
    if (entry.revision == 0) return absl::InvalidArgumentError("log entry revision 0");
    if (entry.revision <= previous) {
      return absl::InvalidArgumentError(
          absl::StrCat("log entry ", entry.revision, " does not follow log entry ", previous));
    }
    if (entry.revision > head) {
      return absl::InvalidArgumentError(
          absl::StrCat("log entry ", entry.revision, " is beyond the head revision ", head));
    }
    previous = entry.revision;
  }
  return absl::OkStatus();
}

absl::Status CheckEmpty(const state::Roster& roster) {
  if (roster.participant_count() != 0 || roster.room_count() != 0 || roster.dedupe_count() != 0 ||
      roster.track_count() != 0 || roster.rules_count() != 0 || roster.subscription_count() != 0 ||
      roster.revision() != 0) {
    return absl::FailedPreconditionError("Load needs an empty roster");
  }
  return absl::OkStatus();
}

}  // namespace internal
}  // namespace rollcall::store
