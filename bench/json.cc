#include "bench/json.h"

#include <cmath>
#include <cstdint>

#include "absl/strings/str_format.h"

namespace rollcall::bench {

std::string JsonString(absl::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += absl::StrFormat("\\u%04x", static_cast<unsigned char>(c));
        } else {
          out.push_back(c);
        }
    }
  }
  out += "\"";
  return out;
}

std::string JsonNumber(double value) {
  if (!std::isfinite(value)) return "null";
  if (value == std::floor(value) && std::fabs(value) < 9e15) {
    return absl::StrCat(static_cast<int64_t>(value));
  }
  return absl::StrFormat("%.10g", value);
}

std::string JsonObject::Compact() const {
  std::string out = "{";
  for (size_t i = 0; i < fields_.size(); ++i) {
    absl::StrAppend(&out, i == 0 ? "" : ",", JsonString(fields_[i].first), ":", fields_[i].second);
  }
  return out + "}";
}

std::string JsonObject::Pretty() const {
  std::string out = "{\n";
  for (size_t i = 0; i < fields_.size(); ++i) {
    absl::StrAppend(&out, "  ", JsonString(fields_[i].first), ": ", fields_[i].second,
                    i + 1 < fields_.size() ? ",\n" : "\n");
  }
  return out + "}\n";
}

}  // namespace rollcall::bench
