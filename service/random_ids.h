// RandomIds: SIDs from 128 bits of OS randomness (getrandom), so they are unguessable.
#ifndef ROLLCALL_SERVICE_RANDOM_IDS_H_
#define ROLLCALL_SERVICE_RANDOM_IDS_H_

#include <sys/random.h>

#include <cstdlib>

#include "state/sid.h"

namespace rollcall::service {

class RandomIds final : public state::IdSource {
 public:
  state::Sid::Bytes NextBytes() override {
    state::Sid::Bytes bytes{};
    size_t filled = 0;
    while (filled < bytes.size()) {
      const ssize_t n = getrandom(bytes.data() + filled, bytes.size() - filled, 0);
      if (n < 0) std::abort();  // the kernel's CSPRNG does not fail once initialized
      filled += static_cast<size_t>(n);
    }
    return bytes;
  }
};

}  // namespace rollcall::service

#endif  // ROLLCALL_SERVICE_RANDOM_IDS_H_
