// Codec: the one place where state:: records become stored bytes and back (the encoding is
// store/records.proto; its conventions are documented there and in store.h). Decoding checks
// what the wire format cannot: SID lengths and enum ranges, so a damaged or foreign value is
// DATA_LOSS rather than a record that breaks the state machine's invariants.
//
// Round trips are exact: Decode(Encode(x)) == x for every record whose times are whole unix
// nanoseconds (all that rollcall produces) or infinite.
//
// Thread-safe: encoding reuses per-thread scratch messages, so a steady writer allocates little.
#ifndef ROLLCALL_STORE_CODEC_H_
#define ROLLCALL_STORE_CODEC_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
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

// The building blocks, exposed for the key layout and for tests.
inline constexpr size_t kSidBytes = 16;         // Sid::Bytes in a key
inline constexpr size_t kEncodedSidBytes = 18;  // prefix + bytes in a record
std::string EncodeSid(const state::Sid& sid);
bool DecodeSid(absl::string_view bytes, state::Sid* out);
int64_t EncodeTime(absl::Time time);
absl::Time DecodeTime(int64_t unix_nanos);

}  // namespace rollcall::store

#endif  // ROLLCALL_STORE_CODEC_H_
