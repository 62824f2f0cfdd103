// JsonObject: builds the JSON reports rollcall-bench writes, on nlohmann-json (an ordered
// object: keys stay in insertion order). Non-finite numbers become null (JSON has no NaN);
// other doubles keep 10 significant digits, so reports stay readable.
#ifndef ROLLCALL_BENCH_JSON_H_
#define ROLLCALL_BENCH_JSON_H_

#include <string>
#include <type_traits>
#include <utility>

#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace rollcall::bench {

// `text` as a JSON string literal, quotes included.
std::string JsonString(absl::string_view text);
// A number as JSON: integers exactly, others with up to 10 significant digits; null if not finite.
std::string JsonNumber(double value);

class JsonObject {
 public:
  JsonObject& Set(absl::string_view key, double value);
  template <typename T>
  requires(std::is_integral_v<T> && !std::is_same_v<T, bool>) JsonObject& Set(absl::string_view key,
                                                                              T value) {
    return Put(key, value);
  }
  JsonObject& Set(absl::string_view key, bool value) { return Put(key, value); }
  JsonObject& Set(absl::string_view key, const char* value) { return Put(key, value); }
  JsonObject& Set(absl::string_view key, absl::string_view value) {
    return Put(key, std::string(value));
  }
  JsonObject& Set(absl::string_view key, const std::string& value) { return Put(key, value); }
  JsonObject& Set(absl::string_view key, const JsonObject& value) {
    return Put(key, value.fields_);
  }
  // An already encoded JSON value (parsed, so it must be valid JSON).
  JsonObject& Raw(absl::string_view key, const std::string& encoded) {
    return Put(key, nlohmann::ordered_json::parse(encoded));
  }
  bool empty() const { return fields_.empty(); }

  // On one line.
  std::string Compact() const;
  // One top-level field per line (nested objects stay on their line), newline-terminated.
  std::string Pretty() const;

 private:
  template <typename V>
  JsonObject& Put(absl::string_view key, V&& value) {
    fields_[std::string(key)] = std::forward<V>(value);
    return *this;
  }

  nlohmann::ordered_json fields_ = nlohmann::ordered_json::object();
};

}  // namespace rollcall::bench

#endif  // ROLLCALL_BENCH_JSON_H_
