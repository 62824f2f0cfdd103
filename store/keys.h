// The RocksDB key layout of store.h, built in one place. Keys are built into caller-owned
// strings so a batch of thousands of records reuses one buffer.
#ifndef ROLLCALL_STORE_KEYS_H_
#define ROLLCALL_STORE_KEYS_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "state/sid.h"

namespace rollcall::store::keys {

inline constexpr absl::string_view kRevision = "m:revision";
inline constexpr absl::string_view kLogStart = "m:log_start";
inline constexpr absl::string_view kProbe = "m:probe";
inline constexpr absl::string_view kFormat = "m:format";
inline constexpr absl::string_view kDedupePrefix = "d:";
inline constexpr absl::string_view kParticipantPrefix = "p:";
inline constexpr absl::string_view kRoomPrefix = "r:";
inline constexpr absl::string_view kTrackPrefix = "t:";
inline constexpr absl::string_view kRulesPrefix = "s:";
inline constexpr absl::string_view kSubscriptionPrefix = "u:";
inline constexpr absl::string_view kCallbackPrefix = "c:";          // pending callbacks
inline constexpr absl::string_view kFailedCallbackPrefix = "f:";    // given-up callbacks
inline constexpr absl::string_view kCallbackSequencePrefix = "n:";  // a room's next sequence
inline constexpr absl::string_view kLogColumnFamily = "log";
inline constexpr size_t kUint64Bytes = 8;

// The first key after every key that starts with `prefix` ("p:" -> "p;"): an upper bound.
inline std::string PrefixEnd(absl::string_view prefix) {
  std::string end(prefix);
  end.back() = static_cast<char>(end.back() + 1);
  return end;
}

// Appends `value` as 8 big-endian bytes, so byte order is numeric order.
inline void AppendUint64(uint64_t value, std::string* out) {
  char bytes[kUint64Bytes];
  for (int i = 7; i >= 0; --i) {
    bytes[i] = static_cast<char>(value & 0xff);
    value >>= 8;
  }
  out->append(bytes, sizeof(bytes));
}

inline std::string Uint64(uint64_t value) {
  std::string out;
  AppendUint64(value, &out);
  return out;
}

// False unless `bytes` is exactly 8 bytes.
inline bool ParseUint64(absl::string_view bytes, uint64_t* out) {
  if (bytes.size() != kUint64Bytes) return false;
  uint64_t value = 0;
  for (char c : bytes) value = value << 8 | static_cast<uint8_t>(c);
  *out = value;
  return true;
}

inline void AppendSidBytes(const state::Sid& sid, std::string* out) {
  out->append(reinterpret_cast<const char*>(sid.bytes().data()), sid.bytes().size());
}

inline void ParticipantKey(const state::Sid& sid, std::string* out) {
  out->assign(kParticipantPrefix.data(), kParticipantPrefix.size());
  AppendSidBytes(sid, out);
}

inline void RoomKey(const state::Sid& sid, std::string* out) {
  out->assign(kRoomPrefix.data(), kRoomPrefix.size());
  AppendSidBytes(sid, out);
}

inline void TrackKey(const state::Sid& sid, std::string* out) {
  out->assign(kTrackPrefix.data(), kTrackPrefix.size());
  AppendSidBytes(sid, out);
}

inline void RulesKey(const state::Sid& participant_sid, std::string* out) {
  out->assign(kRulesPrefix.data(), kRulesPrefix.size());
  AppendSidBytes(participant_sid, out);
}

inline void SubscriptionKey(const state::Sid& subscriber_sid, const state::Sid& track_sid,
                            std::string* out) {
  out->assign(kSubscriptionPrefix.data(), kSubscriptionPrefix.size());
  AppendSidBytes(subscriber_sid, out);
  AppendSidBytes(track_sid, out);
}

inline void DedupeKey(const state::Sid& account_sid, absl::string_view event_id, std::string* out) {
  out->assign(kDedupePrefix.data(), kDedupePrefix.size());
  AppendSidBytes(account_sid, out);
  out->append(event_id.data(), event_id.size());
}

// "c:" or "f:" | room sid bytes | sequence (8, big-endian): a room's callbacks in order.
inline void CallbackKey(absl::string_view prefix, const state::Sid& room_sid, uint64_t sequence,
                        std::string* out) {
  out->assign(prefix.data(), prefix.size());
  AppendSidBytes(room_sid, out);
  AppendUint64(sequence, out);
}
inline void CallbackSequenceKey(const state::Sid& room_sid, std::string* out) {
  out->assign(kCallbackSequencePrefix.data(), kCallbackSequencePrefix.size());
  AppendSidBytes(room_sid, out);
}

// The log column family's key: the revision alone.
inline void LogKey(uint64_t revision, std::string* out) {
  out->clear();
  AppendUint64(revision, out);
}

}  // namespace rollcall::store::keys

#endif  // ROLLCALL_STORE_KEYS_H_
