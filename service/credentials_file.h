// CredentialsFile: the credentials file (--credentials_file), kept current without a restart.
//
// Open reads and parses the file once; a missing or broken file then stops start-up. A
// background thread looks at the file every `poll_interval` (its device, inode, size, mtime
// and ctime, following symlinks, so a Kubernetes Secret's atomic symlink swap is seen) and,
// when it changed, parses it again and swaps the new immutable snapshot in. A file that
// cannot be read or parsed on reload is logged (the error names the field and rule, never a
// secret) and the previous snapshot stays in force. Callers take `current()` once per call;
// a snapshot they hold stays valid after a swap.
#ifndef ROLLCALL_SERVICE_CREDENTIALS_FILE_H_
#define ROLLCALL_SERVICE_CREDENTIALS_FILE_H_

#include <sys/stat.h>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "service/credentials.h"

namespace rollcall::service {

class CredentialsFile {
 public:
  // Reads `path` now; with a positive `poll_interval`, starts the reload thread.
  static absl::StatusOr<std::unique_ptr<CredentialsFile>> Open(std::string path,
                                                               absl::Duration poll_interval);
  ~CredentialsFile();
  CredentialsFile(const CredentialsFile&) = delete;
  CredentialsFile& operator=(const CredentialsFile&) = delete;

  std::shared_ptr<const Credentials> current() const { return current_.load(); }
  const std::string& path() const { return path_; }

  // One look at the file: reloads it when it changed since the last look. Returns OK when it
  // did not change or reloaded cleanly, else the error (already logged; the old set stays).
  // The reload thread calls this; tests may call it directly.
  absl::Status ReloadIfChanged();

  // Called after each successful reload, on the thread that reloaded, so streams opened with
  // the old credentials can be checked again (the watch hub ends those no longer allowed).
  // Null removes it; once this returns, the previous listener is not running and never will.
  void SetReloadListener(std::function<void()> listener);

 private:
  // What identifies one version of the file.
  struct Stamp {
    dev_t device = 0;
    ino_t inode = 0;
    off_t size = 0;
    timespec modified{};
    timespec changed{};
    bool operator==(const Stamp& other) const;
  };
  static absl::StatusOr<Stamp> StampOf(const std::string& path);
  static absl::StatusOr<std::shared_ptr<const Credentials>> Load(const std::string& path);

  explicit CredentialsFile(std::string path) : path_(std::move(path)) {}
  void RunReloads(absl::Duration poll_interval);

  const std::string path_;
  std::atomic<std::shared_ptr<const Credentials>> current_;
  absl::Mutex mu_;
  std::optional<Stamp> stamp_ ABSL_GUARDED_BY(mu_);  // nullopt: unreadable at the last look
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::function<void()> listener_ ABSL_GUARDED_BY(mu_);
  std::thread reloader_;
};

}  // namespace rollcall::service

#endif  // ROLLCALL_SERVICE_CREDENTIALS_FILE_H_
