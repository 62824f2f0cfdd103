// The rules both Store implementations share, kept in one place so MemoryStore cannot drift
// from the RocksDB store: what a writable batch is, and in which order Load restores records.
#ifndef ROLLCALL_STORE_CONTRACT_H_
#define ROLLCALL_STORE_CONTRACT_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "state/records.h"
#include "state/roster.h"
#include "store/store.h"

namespace rollcall::store::internal {

// OK when `batch` may be written on top of a store whose head revision is `revision` and whose
// newest log entry is `newest_log` (0: the log is empty). INVALID_ARGUMENT otherwise.
absl::Status CheckBatch(const WriteBatch& batch, uint64_t revision, uint64_t newest_log);

// OK when `roster` holds nothing, so Load can restore into it. FAILED_PRECONDITION otherwise.
absl::Status CheckEmpty(const state::Roster& roster);

}  // namespace rollcall::store::internal

#endif  // ROLLCALL_STORE_CONTRACT_H_
