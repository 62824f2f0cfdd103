#include "bench/json.h"

#include <cmath>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace rollcall::bench {

std::string JsonString(absl::string_view text) { return nlohmann::json(std::string(text)).dump(); }

std::string JsonNumber(double value) {
  if (!std::isfinite(value)) return "null";
  if (value == std::floor(value) && std::fabs(value) < 9e15) {
    return absl::StrCat(static_cast<int64_t>(value));
  }
  return absl::StrFormat("%.10g", value);
}

JsonObject& JsonObject::Set(absl::string_view key, double value) {
  return Put(key, nlohmann::ordered_json::parse(JsonNumber(value)));
}

std::string JsonObject::Compact() const { return fields_.dump(); }

std::string JsonObject::Pretty() const {
  std::string out = "{\n";
  size_t i = 0;
  for (const auto& [key, value] : fields_.items()) {
    absl::StrAppend(&out, "  ", nlohmann::json(key).dump(), ": ", value.dump(),
                    ++i < fields_.size() ? ",\n" : "\n");
  }
  return out + "}\n";
}

}  // namespace rollcall::bench
