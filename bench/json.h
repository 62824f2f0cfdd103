// JsonObject: builds the JSON reports rollcall-bench writes. Values are encoded when set, so
// an object is a list of (key, encoded value) pairs in insertion order. Non-finite numbers
// become null (JSON has no NaN).
#ifndef ROLLCALL_BENCH_JSON_H_
#define ROLLCALL_BENCH_JSON_H_

#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace rollcall::bench {

// `text` as a JSON string literal, quotes included.
std::string JsonString(absl::string_view text);
// A number as JSON: integers exactly, others with up to 10 significant digits; null if not finite.
std::string JsonNumber(double value);

class JsonObject {
 public:
  JsonObject& Set(absl::string_view key, double value) { return Raw(key, JsonNumber(value)); }
  template <typename T>
  requires(std::is_integral_v<T> && !std::is_same_v<T, bool>) JsonObject& Set(absl::string_view key,
                                                                              T value) {
    return Raw(key, absl::StrCat(value));
  }
  JsonObject& Set(absl::string_view key, bool value) { return Raw(key, value ? "true" : "false"); }
  JsonObject& Set(absl::string_view key, const char* value) { return Raw(key, JsonString(value)); }
  JsonObject& Set(absl::string_view key, absl::string_view value) {
    return Raw(key, JsonString(value));
  }
  JsonObject& Set(absl::string_view key, const std::string& value) {
    return Raw(key, JsonString(value));
  }
  JsonObject& Set(absl::string_view key, const JsonObject& value) {
    return Raw(key, value.Compact());
  }
  // An already encoded JSON value.
  JsonObject& Raw(absl::string_view key, std::string encoded) {
    fields_.emplace_back(std::string(key), std::move(encoded));
    return *this;
  }
  bool empty() const { return fields_.empty(); }

  // On one line.
  std::string Compact() const;
  // One top-level field per line (nested objects stay on their line), newline-terminated.
  std::string Pretty() const;

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

}  // namespace rollcall::bench

#endif  // ROLLCALL_BENCH_JSON_H_
