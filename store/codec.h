// Codec: the one place where state:: records become stored bytes and back (the encoding is
// store/records.proto; its conventions are documented there and in store.h), change-log entries
// included: the log holds domain records, never API messages. Decoding checks
// what the wire format cannot: SID lengths and enum ranges, so a damaged or foreign value is
// DATA_LOSS rather than a record that breaks the state machine's invariants.
//
// Round trips are exact: Decode(Encode(x)) == x for every record whose times are whole unix
// nanoseconds (all that rollcall produces) or infinite.
//
// Thread-safe: encoding reuses per-thread scratch messages, so a steady writer allocates little.
#ifndef ROLLCALL_STORE_CODEC_H_
#define ROLLCALL_STORE_CODEC_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "state/callbacks.h"
#include "state/records.h"
#include "state/sid.h"

namespace rollcall::store {

// Each Encode replaces the contents of `out` (its capacity is reused).
void Encode(const state::Participant& participant, std::string* out);
void Encode(const state::Room& room, std::string* out);
void Encode(const state::DedupeEntry& entry, std::string* out);
void Encode(const state::PublishedTrack& track, std::string* out);
void Encode(const state::SubscribeRules& rules, std::string* out);
void Encode(const state::SubscribedTrack& subscribed, std::string* out);
void Encode(const state::Callback& callback, std::string* out);
void Encode(const state::FailedCallback& failed, std::string* out);

// Each Decode overwrites every field of `out`; on error `out` is unspecified.
absl::Status Decode(absl::string_view bytes, state::Participant* out);
absl::Status Decode(absl::string_view bytes, state::Room* out);
absl::Status Decode(absl::string_view bytes, state::DedupeEntry* out);
absl::Status Decode(absl::string_view bytes, state::PublishedTrack* out);
absl::Status Decode(absl::string_view bytes, state::SubscribeRules* out);
absl::Status Decode(absl::string_view bytes, state::SubscribedTrack* out);
absl::Status Decode(absl::string_view bytes, state::Callback* out);
absl::Status Decode(absl::string_view bytes, state::FailedCallback* out);

// A change-log entry's payload (store.h, column family "log"): one revision's scope, then its
// changes as domain records,
//   account SID (18) | room SID (18) | ChangeSetRecord
// each SID its 2 prefix bytes (zero when none) and 16 raw bytes. Every revision touches one room,
// so the header is enough to filter watchers without decoding the changes.
struct LogScope {
  state::Sid account_sid;
  state::Sid room_sid;
};
inline constexpr size_t kLogHeaderBytes = 36;
// `changes` are one revision's, in order; the scope is the first change's room. Replaces `out`.
void EncodeLogPayload(const std::vector<state::Change>& changes, std::string* out);
// The scope header alone. DATA_LOSS when the payload is too short or a SID is malformed.
absl::StatusOr<LogScope> DecodeLogScope(absl::string_view payload);
// The whole payload. DATA_LOSS naming what is wrong: the header, a change that does not decode
// (by its index), no changes, changes of different revisions, or a header that is not the first
// change's scope. On error the outputs are unspecified.
absl::Status DecodeLogPayload(absl::string_view payload, LogScope* scope,
                              std::vector<state::Change>* changes);

// The building blocks, exposed for the key layout and for tests.
inline constexpr size_t kSidBytes = 16;         // Sid::Bytes in a key
inline constexpr size_t kEncodedSidBytes = 18;  // prefix + bytes in a record
std::string EncodeSid(const state::Sid& sid);
bool DecodeSid(absl::string_view bytes, state::Sid* out);
int64_t EncodeTime(absl::Time time);
absl::Time DecodeTime(int64_t unix_nanos);

}  // namespace rollcall::store

#endif  // ROLLCALL_STORE_CODEC_H_
