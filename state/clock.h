// Clock: where "now" comes from. state/ never reads a clock itself; the service passes
// Clock::Now() into the machine, and tests pass fixed times.
#ifndef ROLLCALL_STATE_CLOCK_H_
#define ROLLCALL_STATE_CLOCK_H_

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace rollcall::state {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
};

class SystemClock final : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
};

}  // namespace rollcall::state

#endif  // ROLLCALL_STATE_CLOCK_H_
