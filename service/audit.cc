#include "service/audit.h"

#include <atomic>
#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "spdlog/pattern_formatter.h"
#include "spdlog/sinks/stdout_sinks.h"
#include "spdlog/spdlog.h"

namespace rollcall::service {
namespace {

constexpr char kLoggerName[] = "audit";
std::atomic<bool> json_lines{false};

bool IsBareWord(absl::string_view value) {
  if (value.empty()) return false;
  for (const char c : value) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.' &&
        c != ':' && c != '/') {
      return false;
    }
  }
  return true;
}

std::string OutcomeLabel(const absl::Status& status) {
  return status.ok() ? "ok" : absl::AsciiStrToLower(absl::StatusCodeToString(status.code()));
}

}  // namespace

void ConfigureAuditLog(bool json) {
  if (spdlog::get(kLoggerName) != nullptr) return;
  auto logger = spdlog::stderr_logger_mt(kLoggerName);
  // The fields are written by AuditEntry::Format, already escaped, as the message.
  logger->set_formatter(std::make_unique<spdlog::pattern_formatter>(
      json ? R"({"time":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","logger":"%n",%v})"
           : "%Y-%m-%dT%H:%M:%S.%fZ %L %n %v",
      spdlog::pattern_time_type::utc));
  logger->set_level(spdlog::level::info);
  json_lines = json;
}

AuditEntry::AuditEntry(absl::string_view action, absl::string_view principal,
                       absl::string_view account) {
  Add("action", action);
  Add("principal", principal);
  Add("account", account);
}

AuditEntry& AuditEntry::Add(absl::string_view key, absl::string_view value) {
  if (value.empty()) return *this;
  for (auto& [existing, old] : fields_) {
    if (existing == key) {
      old = std::string(value);
      return *this;
    }
  }
  fields_.emplace_back(key, value);
  return *this;
}

std::string AuditEntry::Format(bool json, const absl::Status& status, uint64_t revision) const {
  if (json) {
    nlohmann::ordered_json line = nlohmann::ordered_json::object();
    for (const auto& [key, value] : fields_) line[key] = value;
    line["outcome"] = OutcomeLabel(status);
    if (status.ok()) line["revision"] = revision;
    // Invalid UTF-8 in a name becomes U+FFFD rather than breaking the line.
    const std::string object =
        line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
    return object.substr(1, object.size() - 2);  // the members, without the braces
  }
  std::string out;
  auto append = [&out](absl::string_view key, absl::string_view value) {
    absl::StrAppend(
        &out, out.empty() ? "" : " ", key, "=",
        IsBareWord(value) ? std::string(value) : absl::StrCat("\"", absl::CHexEscape(value), "\""));
  };
  for (const auto& [key, value] : fields_) append(key, value);
  append("outcome", OutcomeLabel(status));
  if (status.ok()) append("revision", absl::StrCat(revision));
  return out;
}

void AuditEntry::Log(const absl::Status& status, uint64_t revision) const {
  if (std::shared_ptr<spdlog::logger> audit = spdlog::get(kLoggerName)) {
    audit->info("{}", Format(json_lines, status, revision));
  } else {
    spdlog::info("audit {}", Format(false, status, revision));
  }
}

}  // namespace rollcall::service
