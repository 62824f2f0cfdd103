// Workloads: the sequences of operations rollcall-bench sends, shaped like production traffic
// and valid under docs/api.md, state table, so a correct server answers every one without an error.
//
//  - JoinStorm: many rooms filling up at once. Every op is a PARTICIPANT_CONNECTED of a new
//    identity; rooms fill in waves of `rooms` rooms, each up to `room_size` participants (under
//    the server's 50-participant cap), the first join creating the room ad hoc. Every op is
//    real durable work: a new participant record and a change-log entry.
//  - Churn: `rooms` × `room_size` sessions slots, each cycling through a participant's life:
//    CONNECTED, then RECONNECTING / RECONNECTED spells, DISCONNECTED, a duplicate identity (a
//    new CONNECTED replacing the live session), a kick (UpdateParticipant), or a retry of the
//    last event (answered DUPLICATE). Participant SIDs are the server's: an op on a session
//    waits for the answer that named it, so a slot has at most one op in flight.
//
// Both are thread-safe: drivers call Next and Complete from any thread.
#ifndef ROLLCALL_BENCH_WORKLOAD_H_
#define ROLLCALL_BENCH_WORKLOAD_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "rollcall/v1/event.pb.h"

namespace rollcall::bench {

namespace v1 = ::rollcall::v1;

enum class OpKind { kEvent, kKick };

// What a workload needs back with an op's answer.
struct Ticket {
  uint32_t slot = 0;
  bool resend = false;  // a retry of an applied event: DUPLICATE is the right answer
};

// UpdateParticipant(status=DISCONNECTED): removing a participant.
struct Kick {
  std::string account;
  std::string room;
  std::string participant_sid;
};

// An op's answer: the RPC status (unary) or the EventResult's code (stream), and on success
// what the server reported. Views into the answer's bytes, valid during Complete only.
struct OpResult {
  int code = 0;  // grpc::StatusCode
  int outcome = v1::EVENT_OUTCOME_UNSPECIFIED;
  uint64_t revision = 0;
  absl::string_view participant_sid;  // empty when the answer carried no participant
  absl::string_view room_sid;
  absl::string_view message;  // set with a non-zero code
};

// Participants the server acknowledged, for readers to look up and for the restart probe.
// Keeps the first one and a ring of recent ones.
class KnownParticipants {
 public:
  struct Entry {
    std::string room_sid;
    std::string participant_sid;
  };
  void Offer(absl::string_view room_sid, absl::string_view participant_sid);
  std::optional<Entry> first() const;
  // A recent participant, chosen by `random`; nullopt until one was offered.
  std::optional<Entry> Pick(uint64_t random) const;

 private:
  static constexpr size_t kRing = 4096;
  std::atomic<uint64_t> offered_{0};
  mutable absl::Mutex mu_;
  std::optional<Entry> first_ ABSL_GUARDED_BY(mu_);
  std::vector<Entry> ring_ ABSL_GUARDED_BY(mu_);
  size_t ring_next_ ABSL_GUARDED_BY(mu_) = 0;
};

struct WorkloadOptions {
  std::string run;      // makes event ids, room names and identities unique to this run
  std::string account;  // account_sid of every op; empty: the server's default account
  int rooms = 1000;     // join storm: rooms filling at once; churn: rooms
  int room_size = 40;   // participants per room
  int64_t max_ops = 0;  // join storm: stop after this many (0: no limit)
  // churn: `room_size` slots in each of these existing rooms instead of `rooms` ad-hoc ones
  // (the rooms a room-scoped watch follows).
  std::vector<std::string> room_sids;
  uint64_t seed = 1;
};

class Workload {
 public:
  virtual ~Workload() = default;

  // Writes the next op: an event into *event (which the caller has cleared) or a kick into
  // *kick. nullopt when no op is ready — every session awaits an answer, so try again
  // shortly — or when the workload is exhausted().
  virtual std::optional<OpKind> Next(Ticket* ticket, v1::Event* event, Kick* kick) = 0;
  // The answer to an op Next gave out. Exactly once per op.
  virtual void Complete(const Ticket& ticket, const OpResult& result) = 0;
  virtual bool exhausted() const = 0;

  void set_known(KnownParticipants* known) { known_ = known; }

 protected:
  void Remember(const OpResult& result) const {
    if (known_ != nullptr && result.code == 0 && !result.participant_sid.empty()) {
      known_->Offer(result.room_sid, result.participant_sid);
    }
  }

 private:
  KnownParticipants* known_ = nullptr;
};

std::unique_ptr<Workload> NewJoinStorm(const WorkloadOptions& options);
std::unique_ptr<Workload> NewChurn(const WorkloadOptions& options);

}  // namespace rollcall::bench

#endif  // ROLLCALL_BENCH_WORKLOAD_H_
