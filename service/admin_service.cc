#include "service/admin_service.h"

#include <filesystem>
#include <string>
#include <system_error>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "service/grpc_status.h"
#include "spdlog/spdlog.h"

namespace rollcall::service {
namespace {

absl::Status CheckName(const std::string& name) {
  bool valid = !name.empty() && name.size() <= 100 && name.front() != '.';
  for (const char c : name) {
    valid = valid && (absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' ||
                      c == '-');
  }
  if (valid) return absl::OkStatus();
  return absl::InvalidArgumentError(
      "name: must be 1 to 100 characters of A-Z, a-z, 0-9, '.', '_' and '-', not starting with "
      "'.'");
}

}  // namespace

grpc::Status AdminService::CreateBackup(grpc::ServerContext* context,
                                        const v1::CreateBackupRequest* request,
                                        v1::CreateBackupResponse* response) {
  if (absl::StatusOr<Caller> caller = auth_.Authorize(*context, Permission::kAdmin); !caller.ok()) {
    return ToGrpcStatus(caller.status());
  }
  if (backup_dir_.empty()) {
    return ToGrpcStatus(absl::FailedPreconditionError(
        "backups are off: start rollcalld with --backup_dir=<directory>"));
  }
  const std::string name =
      request->name().empty()
          ? absl::StrCat("backup-", absl::FormatTime("%Y%m%dT%H%M%SZ", clock_.SystemTime(),
                                                     absl::UTCTimeZone()))
          : request->name();
  if (absl::Status valid = CheckName(name); !valid.ok()) return ToGrpcStatus(valid);
  if (!backup_mu_.TryLock()) {
    return ToGrpcStatus(absl::AbortedError("another backup is being written; retry later"));
  }
  std::error_code error;
  std::filesystem::create_directories(backup_dir_, error);
  const std::string path = absl::StrCat(backup_dir_, "/", name);
  absl::StatusOr<uint64_t> revision =
      error ? absl::UnavailableError(
                  absl::StrCat("creating backup directory ", backup_dir_, ": ", error.message()))
            : store_.Backup(path);
  backup_mu_.Unlock();
  if (!revision.ok()) {
    spdlog::error("backup to {} failed: {}", path, revision.status().ToString());
    return ToGrpcStatus(revision.status());
  }
  response->set_path(path);
  response->set_revision(*revision);
  return grpc::Status::OK;
}

}  // namespace rollcall::service
