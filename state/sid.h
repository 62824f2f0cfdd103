// Sid: a Twilio-style resource identifier, two capital letters and 128 bits shown as 32 hex
// digits (docs/api.md, identifiers). Held as 18 bytes, not a string, because a million participants
// each carry three of them. Parsing accepts either hex case; printing is always lowercase, so two
// spellings of one SID compare equal.
#ifndef ROLLCALL_STATE_SID_H_
#define ROLLCALL_STATE_SID_H_

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace rollcall::state {

// The two-letter prefixes of docs/api.md, identifiers.
inline constexpr absl::string_view kAccountPrefix = "AC";
inline constexpr absl::string_view kRoomPrefix = "RM";
inline constexpr absl::string_view kParticipantPrefix = "PA";
inline constexpr absl::string_view kTrackPrefix = "MT";

class Sid {
 public:
  using Bytes = std::array<uint8_t, 16>;
  static constexpr size_t kTextLength = 34;

  // The empty SID: no prefix, all-zero bytes. Never produced by Parse or an IdSource.
  Sid() = default;
  Sid(absl::string_view prefix, const Bytes& bytes);

  // Parses `text` as a SID with `prefix`. The error is INVALID_ARGUMENT and names `field`.
  static absl::StatusOr<Sid> Parse(absl::string_view text, absl::string_view prefix,
                                   absl::string_view field);
  // Like Parse, without building an error: for telling a SID from a unique name.
  static std::optional<Sid> TryParse(absl::string_view text, absl::string_view prefix);

  bool empty() const { return prefix_[0] == '\0'; }
  absl::string_view prefix() const { return {prefix_.data(), empty() ? 0u : 2u}; }
  const Bytes& bytes() const { return bytes_; }
  std::string ToString() const;

  friend auto operator<=>(const Sid&, const Sid&) = default;
  friend bool operator==(const Sid&, const Sid&) = default;

  template <typename H>
  friend H AbslHashValue(H h, const Sid& sid) {
    return H::combine(std::move(h), sid.prefix_, sid.bytes_);
  }

 private:
  std::array<char, 2> prefix_{};
  Bytes bytes_{};
};

// Where new SIDs come from. Production draws 128 bits from getrandom; tests count.
class IdSource {
 public:
  virtual ~IdSource() = default;
  virtual Sid::Bytes NextBytes() = 0;

  Sid NewSid(absl::string_view prefix) { return Sid(prefix, NextBytes()); }
};

// A deterministic IdSource for tests and replays: SIDs are 1, 2, 3, … in the low bytes.
class SequentialIdSource final : public IdSource {
 public:
  explicit SequentialIdSource(uint64_t first = 1) : next_(first) {}
  Sid::Bytes NextBytes() override;

 private:
  uint64_t next_;
};

}  // namespace rollcall::state

#endif  // ROLLCALL_STATE_SID_H_
