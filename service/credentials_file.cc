#include "service/credentials_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"
#include "state/status_macros.h"

namespace rollcall::service {
namespace {

bool SameTime(const timespec& a, const timespec& b) {
  return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

}  // namespace

bool CredentialsFile::Stamp::operator==(const Stamp& other) const {
  return device == other.device && inode == other.inode && size == other.size &&
         SameTime(modified, other.modified) && SameTime(changed, other.changed);
}

absl::StatusOr<CredentialsFile::Stamp> CredentialsFile::StampOf(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("--credentials_file: cannot read ", path, ": ", std::strerror(errno)));
  }
  return Stamp{info.st_dev, info.st_ino, info.st_size, info.st_mtim, info.st_ctim};
}

absl::StatusOr<std::shared_ptr<const Credentials>> CredentialsFile::Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::FailedPreconditionError(
        absl::StrCat("--credentials_file: cannot read ", path, ": ", std::strerror(errno)));
  }
  std::ostringstream text;
  text << in.rdbuf();
  absl::StatusOr<Credentials> parsed = Credentials::Parse(text.str());
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--credentials_file ", path, ": ", parsed.status().message()));
  }
  return std::make_shared<const Credentials>(*std::move(parsed));
}

absl::StatusOr<std::unique_ptr<CredentialsFile>> CredentialsFile::Open(
    std::string path, absl::Duration poll_interval) {
  std::unique_ptr<CredentialsFile> file(new CredentialsFile(std::move(path)));
  {
    absl::MutexLock lock(&file->mu_);
    ASSIGN_OR_RETURN(file->stamp_, StampOf(file->path_));
    ASSIGN_OR_RETURN(std::shared_ptr<const Credentials> loaded, Load(file->path_));
    spdlog::info("credentials: {} accounts and {} API keys from {}", loaded->account_count(),
                 loaded->api_key_count(), file->path_);
    file->current_.store(std::move(loaded));
  }
  if (poll_interval > absl::ZeroDuration()) {
    file->reloader_ =
        std::thread([raw = file.get(), poll_interval] { raw->RunReloads(poll_interval); });
  }
  return file;
}

CredentialsFile::~CredentialsFile() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (reloader_.joinable()) reloader_.join();
}

absl::Status CredentialsFile::ReloadIfChanged() {
  absl::MutexLock lock(&mu_);
  // The stamp is taken before the read: a change in between is seen again at the next look.
  absl::StatusOr<Stamp> stamp = StampOf(path_);
  if (stamp.ok() && stamp_ && *stamp == *stamp_) return absl::OkStatus();
  if (!stamp.ok() && !stamp_) return stamp.status();  // still unreadable: logged already
  absl::StatusOr<std::shared_ptr<const Credentials>> loaded =
      stamp.ok() ? Load(path_) : absl::StatusOr<std::shared_ptr<const Credentials>>(stamp.status());
  // Each version of the file is tried (and an error logged) once, not at every look.
  stamp_ = stamp.ok() ? std::optional<Stamp>(*stamp) : std::nullopt;
  if (!loaded.ok()) {
    const std::shared_ptr<const Credentials> old = current_.load();
    spdlog::error(
        "credentials reload failed; the {} accounts and {} API keys loaded before stay "
        "in force: {}",
        old->account_count(), old->api_key_count(), std::string(loaded.status().message()));
    return loaded.status();
  }
  spdlog::info("credentials reloaded: {} accounts and {} API keys from {}",
               (*loaded)->account_count(), (*loaded)->api_key_count(), path_);
  current_.store(*std::move(loaded));
  if (listener_) listener_();
  return absl::OkStatus();
}

void CredentialsFile::SetReloadListener(std::function<void()> listener) {
  absl::MutexLock lock(&mu_);  // a reload in progress (and its listener call) finishes first
  listener_ = std::move(listener);
}

void CredentialsFile::RunReloads(absl::Duration poll_interval) {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(&stopping_), poll_interval);
      if (stopping_) return;
    }
    ReloadIfChanged().IgnoreError();
  }
}

}  // namespace rollcall::service
