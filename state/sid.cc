#include "state/sid.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace rollcall::state {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

Sid::Sid(absl::string_view prefix, const Bytes& bytes) : bytes_(bytes) {
  prefix_[0] = !prefix.empty() ? prefix[0] : '\0';
  prefix_[1] = prefix.size() > 1 ? prefix[1] : '\0';
}

std::optional<Sid> Sid::TryParse(absl::string_view text, absl::string_view prefix) {
  if (text.size() != kTextLength || text.substr(0, 2) != prefix) return std::nullopt;
  Bytes bytes{};
  for (size_t i = 0; i < bytes.size(); ++i) {
    const int hi = HexValue(text[2 + 2 * i]);
    const int lo = HexValue(text[3 + 2 * i]);
    if (hi < 0 || lo < 0) return std::nullopt;
    bytes[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return Sid(prefix, bytes);
}

absl::StatusOr<Sid> Sid::Parse(absl::string_view text, absl::string_view prefix,
                               absl::string_view field) {
  if (text.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": is required"));
  }
  if (std::optional<Sid> sid = TryParse(text, prefix)) return *sid;
  return absl::InvalidArgumentError(
      absl::StrCat(field, ": must be a SID matching ^", prefix, "[0-9a-fA-F]{32}$"));
}

std::string Sid::ToString() const {
  if (empty()) return "";
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(kTextLength, '0');
  out[0] = prefix_[0];
  out[1] = prefix_[1];
  for (size_t i = 0; i < bytes_.size(); ++i) {
    out[2 + 2 * i] = kDigits[bytes_[i] >> 4];
    out[3 + 2 * i] = kDigits[bytes_[i] & 0xf];
  }
  return out;
}

Sid::Bytes SequentialIdSource::NextBytes() {
  Sid::Bytes bytes{};
  uint64_t n = next_++;
  for (int i = 15; i >= 8; --i) {
    bytes[i] = static_cast<uint8_t>(n & 0xff);
    n >>= 8;
  }
  return bytes;
}

}  // namespace rollcall::state
