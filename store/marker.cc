#include "store/marker.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "store/keys.h"

namespace rollcall::store {
namespace {

constexpr absl::string_view kMagic = "RCMARK01";
constexpr size_t kMarkerBytes = 24;

std::string Encode(uint64_t revision) {
  std::string bytes(kMagic);
  keys::AppendUint64(revision, &bytes);
  keys::AppendUint64(~revision, &bytes);
  return bytes;
}

absl::Status Errno(absl::string_view what, const std::string& path) {
  return absl::UnavailableError(absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

absl::Status WriteAll(int fd, const std::string& bytes, const std::string& path) {
  const ssize_t written = pwrite(fd, bytes.data(), bytes.size(), 0);
  if (written != static_cast<ssize_t>(bytes.size())) {
    if (written >= 0) errno = ENOSPC;
    return Errno("writing", path);
  }
  return absl::OkStatus();
}

absl::Status SyncDirectory(const std::string& dir) {
  const int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno("opening", dir);
  const int synced = fsync(fd);
  close(fd);
  return synced == 0 ? absl::OkStatus() : Errno("syncing", dir);
}

}  // namespace

std::string MarkerPath(const std::string& dir) { return absl::StrCat(dir, "/", kMarkerFileName); }

absl::StatusOr<std::optional<uint64_t>> ReadMarker(const std::string& dir) {
  const std::string path = MarkerPath(dir);
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::nullopt;
    return Errno("opening", path);
  }
  char buffer[kMarkerBytes + 1];
  const ssize_t got = pread(fd, buffer, sizeof(buffer), 0);
  close(fd);
  if (got < 0) return Errno("reading", path);
  const absl::string_view bytes(buffer, static_cast<size_t>(got));
  uint64_t revision = 0;
  uint64_t inverse = 0;
  if (bytes.size() != kMarkerBytes || bytes.substr(0, kMagic.size()) != kMagic ||
      !keys::ParseUint64(bytes.substr(8, 8), &revision) ||
      !keys::ParseUint64(bytes.substr(16, 8), &inverse) || inverse != ~revision) {
    return absl::DataLossError(
        absl::StrCat("the marker file ", path,
                     " is damaged; restore the data directory from a backup (docs/operations.md)"));
  }
  return revision;
}

absl::StatusOr<Marker> Marker::Open(const std::string& dir, uint64_t revision) {
  const std::string path = MarkerPath(dir);
  int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd >= 0) return Marker(fd, path);
  if (errno != ENOENT) return Errno("opening", path);
  absl::Status written = WriteNew(dir, revision);
  if (!written.ok()) return written;
  fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return Errno("opening", path);
  return Marker(fd, path);
}

absl::Status Marker::WriteNew(const std::string& dir, uint64_t revision) {
  const std::string path = MarkerPath(dir);
  const std::string temp = path + ".tmp";
  const int fd = open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("creating", temp);
  absl::Status status = WriteAll(fd, Encode(revision), temp);
  if (status.ok() && fsync(fd) != 0) status = Errno("syncing", temp);
  close(fd);
  if (status.ok() && rename(temp.c_str(), path.c_str()) != 0) status = Errno("renaming", temp);
  if (status.ok()) status = SyncDirectory(dir);
  return status;
}

Marker::Marker(Marker&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), path_(std::move(other.path_)) {}

Marker& Marker::operator=(Marker&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
  }
  return *this;
}

Marker::~Marker() {
  if (fd_ >= 0) close(fd_);
}

absl::Status Marker::Update(uint64_t revision) { return WriteAll(fd_, Encode(revision), path_); }

absl::Status Marker::Sync() {
  return fdatasync(fd_) == 0 ? absl::OkStatus() : Errno("syncing", path_);
}

}  // namespace rollcall::store
