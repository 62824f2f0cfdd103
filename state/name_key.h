// (SID, name) keys for the roster's hash maps: a room's unique name within its account, an
// identity within its room, an event id within its account. Looked up by (Sid, string_view), so
// deciding an event builds no strings for names longer than the small-string buffer.
#ifndef ROLLCALL_STATE_NAME_KEY_H_
#define ROLLCALL_STATE_NAME_KEY_H_

#include <cstddef>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/strings/string_view.h"
#include "state/sid.h"

namespace rollcall::state {

using NameKey = std::pair<Sid, std::string>;
using NameView = std::pair<Sid, absl::string_view>;

struct NameHash {
  using is_transparent = void;
  size_t operator()(const NameView& key) const { return absl::Hash<NameView>()(key); }
  size_t operator()(const NameKey& key) const { return (*this)(NameView(key.first, key.second)); }
};

struct NameEq {
  using is_transparent = void;
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const {
    return a.first == b.first && absl::string_view(a.second) == absl::string_view(b.second);
  }
};

template <typename Value>
using NameMap = absl::flat_hash_map<NameKey, Value, NameHash, NameEq>;

}  // namespace rollcall::state

#endif  // ROLLCALL_STATE_NAME_KEY_H_
