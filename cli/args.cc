// The parsed arguments of a `rollcall` command and typed value parsers; see args.h.
#include "cli/args.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace rollcall::cli {
namespace {

// Lowercase, '_' → '-': the form choices are compared in.
std::string Normalize(absl::string_view s) {
  std::string out = absl::AsciiStrToLower(s);
  std::replace(out.begin(), out.end(), '_', '-');
  return out;
}

}  // namespace

bool ParsedArgs::Has(absl::string_view flag) const { return flags_.contains(flag); }

std::optional<std::string> ParsedArgs::Get(absl::string_view flag) const {
  auto it = flags_.find(flag);
  if (it == flags_.end()) return std::nullopt;
  return it->second;
}

std::string ParsedArgs::GetOr(absl::string_view flag, absl::string_view fallback) const {
  auto it = flags_.find(flag);
  return it == flags_.end() ? std::string(fallback) : it->second;
}

absl::StatusOr<std::string> ParsedArgs::GetRequired(absl::string_view flag) const {
  auto it = flags_.find(flag);
  if (it == flags_.end())
    return absl::InvalidArgumentError(absl::StrCat("missing required flag ", flag));
  if (it->second.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("flag ", flag, " must not be empty"));
  }
  return it->second;
}

absl::Status ParsedArgs::AddFlag(absl::string_view flag, absl::string_view value) {
  if (!flags_.emplace(flag, value).second) {
    return absl::InvalidArgumentError(absl::StrCat("flag ", flag, " given more than once"));
  }
  return absl::OkStatus();
}

absl::StatusOr<absl::Duration> ParseDurationValue(absl::string_view flag, absl::string_view value) {
  absl::Duration d;
  if (!absl::ParseDuration(value, &d) || d == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(absl::StrCat("flag ", flag, ": invalid duration \"", value,
                                                   "\" (examples: 500ms, 10s, 1m30s)"));
  }
  if (d <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("flag ", flag, ": duration must be positive, got \"", value, "\""));
  }
  return d;
}

absl::StatusOr<absl::Time> ParseTimeValue(absl::string_view flag, absl::string_view value) {
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, value, &t, &err)) {
    return absl::InvalidArgumentError(absl::StrCat("flag ", flag, ": invalid RFC 3339 time \"",
                                                   value,
                                                   "\" (example: 2024-05-01T12:00:00Z): ", err));
  }
  return t;
}

absl::StatusOr<int64_t> ParseIntValue(absl::string_view flag, absl::string_view value, int64_t min,
                                      int64_t max) {
  int64_t n;
  if (!absl::SimpleAtoi(value, &n)) {
    return absl::InvalidArgumentError(
        absl::StrCat("flag ", flag, ": invalid integer \"", value, "\""));
  }
  if (n < min || n > max) {
    return absl::InvalidArgumentError(
        absl::StrCat("flag ", flag, ": ", n, " is out of range [", min, ", ", max, "]"));
  }
  return n;
}

absl::StatusOr<uint64_t> ParseUintValue(absl::string_view flag, absl::string_view value) {
  uint64_t n;
  // SimpleAtoi accepts a leading '-' for unsigned types by wrapping; reject it explicitly.
  if (absl::StartsWith(value, "-") || !absl::SimpleAtoi(value, &n)) {
    return absl::InvalidArgumentError(
        absl::StrCat("flag ", flag, ": invalid non-negative integer \"", value, "\""));
  }
  return n;
}

namespace args_internal {

int FindChoice(absl::string_view value, const std::vector<absl::string_view>& names) {
  const std::string wanted = Normalize(value);
  for (size_t i = 0; i < names.size(); ++i) {
    if (Normalize(names[i]) == wanted) return static_cast<int>(i);
  }
  return -1;
}

absl::Status BadChoice(absl::string_view flag, absl::string_view value,
                       const std::vector<absl::string_view>& names) {
  return absl::InvalidArgumentError(absl::StrCat("flag ", flag, ": invalid value \"", value,
                                                 "\" (one of: ", absl::StrJoin(names, ", "), ")"));
}

absl::StatusOr<std::vector<int>> FindChoiceList(absl::string_view flag, absl::string_view value,
                                                const std::vector<absl::string_view>& names) {
  std::vector<int> out;
  for (absl::string_view item : absl::StrSplit(value, ',')) {
    if (item.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("flag ", flag, ": empty element in list \"",
                                                     value, "\" (comma-separated, no spaces)"));
    }
    int i = FindChoice(item, names);
    if (i < 0) return BadChoice(flag, item, names);
    if (std::find(out.begin(), out.end(), i) != out.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("flag ", flag, ": \"", item, "\" listed more than once"));
    }
    out.push_back(i);
  }
  return out;
}

}  // namespace args_internal
}  // namespace rollcall::cli
