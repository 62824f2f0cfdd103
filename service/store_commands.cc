#include "service/store_commands.h"

#include <filesystem>
#include <string>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"
#include "store/marker.h"
#include "store/store.h"

namespace rollcall::service {

int RunVerify(const std::string& data_dir) {
  absl::StatusOr<store::VerifyReport> report = store::VerifyRocksStore(data_dir);
  if (!report.ok()) {
    spdlog::critical("verify {}: {}", data_dir, report.status().ToString());
    return 1;
  }
  // An older format is sound but not what this rollcalld runs on: say what its start will do.
  const std::string format =
      report->format == store::kStoreFormat
          ? absl::StrCat("format ", report->format)
          : absl::StrCat("format ", report->format, " (older: rollcalld migrates it at start-up ",
                         "to format ", store::kStoreFormat,
                         " and drops its change log; docs/operations.md, Upgrades)");
  spdlog::info(
      "verify {}: sound: {}, revision {} (marker {}), {} rooms, {} participants, {} event ids, "
      "change log {} entries ({}..{}), {} table files checksummed, status callbacks {} pending "
      "and {} failed",
      data_dir, format, report->loaded.revision, report->marker_revision, report->loaded.rooms,
      report->loaded.participants, report->loaded.dedupe, report->log_entries, report->log_start,
      report->log_newest, report->table_files, report->pending_callbacks, report->failed_callbacks);
  return 0;
}

int RunRestore(const std::string& from, const std::string& data_dir) {
  if (from.empty()) {
    spdlog::critical("restore: --from (the backup directory) is required");
    return 2;
  }
  std::error_code error;
  if (!std::filesystem::exists(store::MarkerPath(from), error)) {
    spdlog::critical("restore: {} is not a rollcall backup (no {})", from, store::kMarkerFileName);
    return 1;
  }
  if (std::filesystem::exists(data_dir, error) && !std::filesystem::is_empty(data_dir, error)) {
    spdlog::critical("restore: {} is not empty; restore into a new data directory", data_dir);
    return 1;
  }
  std::filesystem::create_directories(data_dir, error);
  if (!error)
    std::filesystem::copy(from, data_dir, std::filesystem::copy_options::recursive, error);
  if (error) {
    spdlog::critical("restore: copying {} to {}: {}", from, data_dir, error.message());
    return 1;
  }
  spdlog::info("restore: copied {} to {}; verifying", from, data_dir);
  return RunVerify(data_dir);
}

}  // namespace rollcall::service
