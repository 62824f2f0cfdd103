// ReadDriver: the read side of the read-mix workload. `in_flight` closed-loop callers issue
// GetParticipant (40 %), ListParticipants of a room (30 %), GetRoom (15 %) and ListRooms
// (15 %, first page of 50) about participants and rooms the ingest side was acknowledged,
// and record each kind's latency and errors.
#ifndef ROLLCALL_BENCH_READ_DRIVER_H_
#define ROLLCALL_BENCH_READ_DRIVER_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "bench/completion.h"
#include "bench/ingest_driver.h"
#include "bench/json.h"
#include "bench/latency.h"
#include "bench/workload.h"
#include "rollcall/v1/participant_service.grpc.pb.h"
#include "rollcall/v1/room_service.grpc.pb.h"

namespace rollcall::bench {

struct ReadOptions {
  int in_flight = 16;
  std::string account;
  int page_size = 50;
};

class ReadDriver {
 public:
  ReadDriver(const ReadOptions& options,
             const std::vector<std::shared_ptr<grpc::Channel>>& channels, Pollers& pollers,
             const KnownParticipants& known, Window window);
  ~ReadDriver();
  ReadDriver(const ReadDriver&) = delete;
  ReadDriver& operator=(const ReadDriver&) = delete;

  void Start();
  void Stop() { stopping_.store(true); }
  bool Wait(absl::Duration timeout) { return in_flight_.Wait(timeout); }

  int64_t errors() const;
  int64_t reads_in_window() const;
  LatencySummary latency() const;  // every kind together
  JsonObject Report(double seconds) const;

 private:
  class Call;
  enum Kind { kGetParticipant, kListParticipants, kGetRoom, kListRooms, kKinds };
  struct Lane {
    std::unique_ptr<v1::ParticipantService::Stub> participants;
    std::unique_ptr<v1::RoomService::Stub> rooms;
    grpc::CompletionQueue* cq = nullptr;
  };
  struct PerKind {
    std::atomic<int64_t> in_window{0};
    std::atomic<int64_t> errors{0};
    LatencySink latency;
  };

  void Next(Lane& lane, uint64_t seed);

  const ReadOptions options_;
  const KnownParticipants& known_;
  const Window window_;
  std::vector<Lane> lanes_;
  std::array<PerKind, kKinds> kinds_;
  std::atomic<bool> stopping_{false};
  InFlight in_flight_;
};

}  // namespace rollcall::bench

#endif  // ROLLCALL_BENCH_READ_DRIVER_H_
