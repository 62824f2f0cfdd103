#include "service/admin_service.h"

#include <filesystem>
#include <string>
#include <system_error>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "service/callback_params.h"
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

grpc::Status AdminService::ListFailedCallbacks(grpc::ServerContext* context,
                                               const v1::ListFailedCallbacksRequest* request,
                                               v1::ListFailedCallbacksResponse* response) {
  absl::StatusOr<state::Sid> account =
      auth_.Account(*context, Permission::kAdmin, request->account_sid());
  if (!account.ok()) return ToGrpcStatus(account.status());
  if (request->page_size() < 0 || request->page_size() > 1000) {
    return ToGrpcStatus(absl::InvalidArgumentError("page_size: must be 0 to 1000"));
  }
  const size_t page_size =
      request->page_size() == 0 ? 50 : static_cast<size_t>(request->page_size());
  // The token is "<room SID>:<sequence>" of the last callback returned.
  std::optional<store::FailedCallbackCursor> after;
  if (!request->page_token().empty()) {
    std::vector<std::string> parts = absl::StrSplit(request->page_token(), ':');
    store::FailedCallbackCursor cursor;
    absl::StatusOr<state::Sid> room =
        parts.size() == 2 ? state::Sid::Parse(parts[0], state::kRoomPrefix, "page_token")
                          : absl::InvalidArgumentError("page_token");
    if (!room.ok() || !absl::SimpleAtoi(parts[1], &cursor.sequence)) {
      return ToGrpcStatus(
          absl::InvalidArgumentError("page_token: must be a next_page_token from this RPC"));
    }
    cursor.room_sid = *room;
    after = cursor;
  }
  // One more than a page: whether there is a next one.
  absl::StatusOr<std::vector<state::FailedCallback>> failed =
      store_.ListFailedCallbacks(*account, after ? &*after : nullptr, page_size + 1);
  if (!failed.ok()) return ToGrpcStatus(failed.status());
  for (size_t i = 0; i < failed->size() && i < page_size; ++i) {
    const state::FailedCallback& item = (*failed)[i];
    const state::Callback& callback = item.callback;
    v1::FailedCallback* out = response->add_failed_callbacks();
    out->set_room_sid(callback.room_sid.ToString());
    out->set_event(std::string(state::CallbackEventName(callback.event)));
    out->set_sequence_number(callback.sequence);
    out->set_revision(callback.revision);
    out->set_url(callback.room.status_callback);
    out->set_method(callback.room.status_callback_method == "GET" ? "GET" : "POST");
    for (auto& [name, value] : CallbackParams(callback)) (*out->mutable_parameters())[name] = value;
    out->set_attempts(item.attempts);
    out->set_last_error(item.last_error);
    const int64_t nanos = absl::ToUnixNanos(item.failed_at);
    out->mutable_failed_at()->set_seconds(nanos / 1'000'000'000);
    out->mutable_failed_at()->set_nanos(static_cast<int32_t>(nanos % 1'000'000'000));
  }
  if (failed->size() > page_size) {
    const state::Callback& last = (*failed)[page_size - 1].callback;
    response->set_next_page_token(absl::StrCat(last.room_sid.ToString(), ":", last.sequence));
  }
  return grpc::Status::OK;
}

}  // namespace rollcall::service
