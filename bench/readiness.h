// Readiness probe for the restart measurement (docs/benchmarks.md, targets: restart to serving ≤ 5
// s). A server counts as serving once grpc.health.v1.Health/Check("readiness") says SERVING and a
// GetParticipant of a participant written before the restart succeeds. Polls every 2 ms.
#ifndef ROLLCALL_BENCH_READINESS_H_
#define ROLLCALL_BENCH_READINESS_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace rollcall::bench {

struct Probe {
  std::string account;
  std::string room_sid;
  std::string participant_sid;
};

// Reads and writes a probe as one line: account, room SID, participant SID.
absl::StatusOr<Probe> ReadProbe(const std::string& path);
absl::Status WriteProbe(const std::string& path, const Probe& probe);

// Waits for the port file to hold a port; the target "127.0.0.1:<port>".
absl::StatusOr<std::string> TargetFromPortFile(const std::string& path, absl::Duration timeout);

// A channel that reconnects within milliseconds, so polling measures the server, not the
// channel's backoff.
std::shared_ptr<grpc::Channel> EagerChannel(const std::string& target);

// grpc.health.v1.Health/Check(service): true when SERVING.
bool HealthServing(const std::shared_ptr<grpc::Channel>& channel, const std::string& service);

struct Readiness {
  absl::Time serving_at;
  int attempts = 0;
};

// Polls `target` until it is serving under the definition above.
absl::StatusOr<Readiness> WaitServing(const std::string& target, const Probe& probe,
                                      absl::Duration timeout);

}  // namespace rollcall::bench

#endif  // ROLLCALL_BENCH_READINESS_H_
