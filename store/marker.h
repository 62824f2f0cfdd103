// Marker: the durable record of the newest acknowledged revision, kept in the file
// ROLLCALL-MARKER next to the RocksDB files (layout in store.h, "Damage"). RocksDB's own
// recovery cannot tell a damaged write-ahead log from a crash; this file can, because it lives
// outside the log and only ever holds a revision that was already durable when it was written.
#ifndef ROLLCALL_STORE_MARKER_H_
#define ROLLCALL_STORE_MARKER_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace rollcall::store {

inline constexpr char kMarkerFileName[] = "ROLLCALL-MARKER";

// The marker's path inside data directory `dir`.
std::string MarkerPath(const std::string& dir);

// The revision the marker in `dir` holds; nullopt when there is no marker file. DATA_LOSS
// naming the file when it is malformed, UNAVAILABLE when it cannot be read.
absl::StatusOr<std::optional<uint64_t>> ReadMarker(const std::string& dir);

// The open marker file of a writable store.
class Marker {
 public:
  // Opens the marker in `dir`, creating it (durably: file and directory fsynced) with `revision`
  // when it does not exist yet.
  static absl::StatusOr<Marker> Open(const std::string& dir, uint64_t revision);
  // Writes a complete marker (with fsync) into `dir`, e.g. for a backup.
  static absl::Status WriteNew(const std::string& dir, uint64_t revision);

  Marker(Marker&& other) noexcept;
  Marker& operator=(Marker&& other) noexcept;
  Marker(const Marker&) = delete;
  Marker& operator=(const Marker&) = delete;
  ~Marker();

  // Rewrites the revision in place: one 24-byte write at offset 0, no fsync.
  absl::Status Update(uint64_t revision);
  // fdatasync.
  absl::Status Sync();

 private:
  Marker(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  int fd_ = -1;
  std::string path_;
};

}  // namespace rollcall::store

#endif  // ROLLCALL_STORE_MARKER_H_
