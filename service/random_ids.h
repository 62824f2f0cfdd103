// RandomIds: SIDs from 128 bits of OS randomness (getrandom), so they are unguessable.
// Randomness is drawn a page at a time: one system call per 256 SIDs instead of one each.
#ifndef ROLLCALL_SERVICE_RANDOM_IDS_H_
#define ROLLCALL_SERVICE_RANDOM_IDS_H_

#include <sys/random.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "state/sid.h"

namespace rollcall::service {

class RandomIds final : public state::IdSource {
 public:
  state::Sid::Bytes NextBytes() override {
    state::Sid::Bytes bytes{};
    absl::MutexLock lock(&mu_);
    if (used_ + bytes.size() > pool_.size()) Refill();
    std::memcpy(bytes.data(), pool_.data() + used_, bytes.size());
    // Handed out bytes are wiped, so the pool never holds a SID already issued.
    std::memset(pool_.data() + used_, 0, bytes.size());
    used_ += bytes.size();
    return bytes;
  }

 private:
  void Refill() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    size_t filled = 0;
    while (filled < pool_.size()) {
      const ssize_t n = getrandom(pool_.data() + filled, pool_.size() - filled, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) std::abort();  // the kernel's CSPRNG does not fail once initialized
      filled += static_cast<size_t>(n);
    }
    used_ = 0;
  }

  absl::Mutex mu_;
  std::array<unsigned char, 4096> pool_ ABSL_GUARDED_BY(mu_){};
  size_t used_ ABSL_GUARDED_BY(mu_) = sizeof(pool_);
};

}  // namespace rollcall::service

#endif  // ROLLCALL_SERVICE_RANDOM_IDS_H_
