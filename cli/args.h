// What a `rollcall` command is given: its flags as declared in the command table (FlagSpec),
// the values CLI11 collected for them (ParsedArgs, filled by dispatch.cc), and typed value
// parsers. CLI11 tokenizes (`--flag value`, `--flag=value`, `-o value`, switches, `--`); the
// meaning of each value is checked here, so every error names the flag and the rule. Errors
// are absl::InvalidArgumentError (a usage error, exit code 2).
#ifndef ROLLCALL_CLI_ARGS_H_
#define ROLLCALL_CLI_ARGS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

namespace rollcall::cli {

// One flag a command accepts.
struct FlagSpec {
  // As typed, with its dashes: "--room", "-o".
  std::string name;
  // Placeholder of the value in help text ("ROOM"); empty for a switch (no value).
  std::string value_name;
  // One line of help text.
  std::string help;

  bool is_switch() const { return value_name.empty(); }
};

// The outcome of parsing: positional arguments in order, and the flags given.
class ParsedArgs {
 public:
  const std::vector<std::string>& positionals() const { return positionals_; }

  // Whether `flag` (as typed in the spec, e.g. "--room") was given.
  bool Has(absl::string_view flag) const;
  // The value of a value flag, or nullopt when it was not given.
  std::optional<std::string> Get(absl::string_view flag) const;
  // The value of a value flag, or `fallback` when it was not given.
  std::string GetOr(absl::string_view flag, absl::string_view fallback) const;
  // The value of a flag the command requires; a usage error naming it when absent or empty.
  absl::StatusOr<std::string> GetRequired(absl::string_view flag) const;

  void AddPositional(std::string arg) { positionals_.push_back(std::move(arg)); }
  // Records a flag; `value` is empty for switches. Fails when the flag was already given.
  absl::Status AddFlag(absl::string_view flag, absl::string_view value);

 private:
  std::vector<std::string> positionals_;
  absl::flat_hash_map<std::string, std::string> flags_;
};

// Typed value parsers. Each error message names `flag` and shows the rejected value.

// An absl duration such as "500ms", "10s", "1m30s"; must be > 0.
absl::StatusOr<absl::Duration> ParseDurationValue(absl::string_view flag, absl::string_view value);
// An RFC 3339 time such as "2024-05-01T12:00:00Z" or "2024-05-01T14:00:00.5+02:00".
absl::StatusOr<absl::Time> ParseTimeValue(absl::string_view flag, absl::string_view value);
// A decimal integer within [min, max].
absl::StatusOr<int64_t> ParseIntValue(absl::string_view flag, absl::string_view value, int64_t min,
                                      int64_t max);
// A non-negative decimal integer (revisions).
absl::StatusOr<uint64_t> ParseUintValue(absl::string_view flag, absl::string_view value);

// One accepted spelling of an enumerated value and what it means.
template <typename T>
struct Choice {
  absl::string_view name;
  T value;
};

namespace args_internal {
// Case-insensitive match, with '-' and '_' treated alike; returns the index or -1.
int FindChoice(absl::string_view value, const std::vector<absl::string_view>& names);
absl::Status BadChoice(absl::string_view flag, absl::string_view value,
                       const std::vector<absl::string_view>& names);
// Indices of the comma-separated elements of `value`; errors on empty elements and repeats.
absl::StatusOr<std::vector<int>> FindChoiceList(absl::string_view flag, absl::string_view value,
                                                const std::vector<absl::string_view>& names);
}  // namespace args_internal

// One of `choices` (case-insensitive; '-' and '_' are interchangeable).
template <typename T>
absl::StatusOr<T> ParseChoiceValue(absl::string_view flag, absl::string_view value,
                                   absl::Span<const Choice<T>> choices) {
  std::vector<absl::string_view> names;
  for (const Choice<T>& c : choices) names.push_back(c.name);
  int i = args_internal::FindChoice(value, names);
  if (i < 0) return args_internal::BadChoice(flag, value, names);
  return choices[i].value;
}

// A comma-separated, non-empty list of `choices`, in the order given; repeats are errors.
template <typename T>
absl::StatusOr<std::vector<T>> ParseChoiceListValue(absl::string_view flag, absl::string_view value,
                                                    absl::Span<const Choice<T>> choices) {
  std::vector<absl::string_view> names;
  for (const Choice<T>& c : choices) names.push_back(c.name);
  absl::StatusOr<std::vector<int>> indices = args_internal::FindChoiceList(flag, value, names);
  if (!indices.ok()) return indices.status();
  std::vector<T> out;
  for (int i : *indices) out.push_back(choices[i].value);
  return out;
}

}  // namespace rollcall::cli

#endif  // ROLLCALL_CLI_ARGS_H_
