// AuditEntry: one structured log line per admin action (docs/security.md, "Audit log").
//
// An admin RPC that passed authentication and the role check logs, when it ends, on the
// `audit` logger: the action, who did it (the API key or account SID, "anonymous" with
// authentication off), the account, the targets the request named, and the outcome ("ok" with
// the revision and the SIDs acted on, or the error code). With --log_format=json the fields
// are members of the line's JSON object; in text they are key=value pairs. The audit logger
// logs at info whatever --log_level says. Secrets are never among the fields.
#ifndef ROLLCALL_SERVICE_AUDIT_H_
#define ROLLCALL_SERVICE_AUDIT_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace rollcall::service {

// Creates the `audit` logger on stderr, in the format of the other log lines. Until it is
// called (unit tests), audit lines go to the default logger as text.
void ConfigureAuditLog(bool json);

class AuditEntry {
 public:
  // `action`: create_room, end_room, kick_participant, anonymize_participant, ...
  AuditEntry(absl::string_view action, absl::string_view principal, absl::string_view account);

  // Sets a field naming what the action was on (a key added again is replaced); empty values
  // are left out.
  AuditEntry& Add(absl::string_view key, absl::string_view value);

  // Logs the line: outcome "ok" and `revision`, or the error's code.
  void Log(const absl::Status& status, uint64_t revision = 0) const;

  // The line's fields as logged (after the time, level and logger name).
  std::string Format(bool json, const absl::Status& status, uint64_t revision) const;

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

}  // namespace rollcall::service

#endif  // ROLLCALL_SERVICE_AUDIT_H_
