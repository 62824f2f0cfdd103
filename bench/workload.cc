#include "bench/workload.h"

#include <deque>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace rollcall::bench {
namespace {

void StampNow(v1::Event* event) {
  const absl::Time now = absl::Now();
  const int64_t nanos = absl::ToUnixNanos(now);
  event->mutable_occurred_at()->set_seconds(nanos / 1000000000);
  event->mutable_occurred_at()->set_nanos(static_cast<int32_t>(nanos % 1000000000));
}

class JoinStorm final : public Workload {
 public:
  explicit JoinStorm(const WorkloadOptions& options)
      : options_(options), wave_(static_cast<int64_t>(options.rooms) * options.room_size) {}

  std::optional<OpKind> Next(Ticket* /*ticket*/, v1::Event* event, Kick* /*kick*/) override {
    const int64_t n = next_.fetch_add(1, std::memory_order_relaxed);
    if (options_.max_ops > 0 && n >= options_.max_ops) return std::nullopt;
    // Within a wave, consecutive joins go to different rooms: the rooms fill together.
    const int64_t room = (n / wave_) * options_.rooms + (n % wave_) % options_.rooms;
    event->set_event_id(absl::StrCat(options_.run, "-", n));
    event->set_type(v1::EVENT_TYPE_PARTICIPANT_CONNECTED);
    StampNow(event);
    event->set_room(absl::StrCat(options_.run, "-room-", room));
    event->set_identity(absl::StrCat("user-", n));
    event->set_account_sid(options_.account);
    return OpKind::kEvent;
  }

  void Complete(const Ticket& /*ticket*/, const OpResult& result) override { Remember(result); }

  bool exhausted() const override {
    return options_.max_ops > 0 && next_.load(std::memory_order_relaxed) >= options_.max_ops;
  }

 private:
  const WorkloadOptions options_;
  const int64_t wave_;
  std::atomic<int64_t> next_{0};
};

class Churn final : public Workload {
 public:
  explicit Churn(const WorkloadOptions& options) : options_(options), random_(options.seed) {
    const size_t rooms =
        options.room_sids.empty() ? static_cast<size_t>(options.rooms) : options.room_sids.size();
    slots_.resize(rooms * options.room_size);
    for (size_t i = 0; i < slots_.size(); ++i) {
      Slot& slot = slots_[i];
      const size_t room = i / options.room_size;
      slot.room = options.room_sids.empty() ? absl::StrCat(options.run, "-churn-", room)
                                            : options.room_sids[room];
      slot.identity = absl::StrCat("member-", i);
      ready_.push_back(static_cast<uint32_t>(i));
    }
  }

  std::optional<OpKind> Next(Ticket* ticket, v1::Event* event, Kick* kick) override {
    absl::MutexLock lock(&mu_);
    if (ready_.empty()) return std::nullopt;
    const uint32_t index = ready_.front();
    ready_.pop_front();
    Slot& slot = slots_[index];
    ticket->slot = index;
    ticket->resend = false;
    const double u = std::uniform_real_distribution<double>(0, 1)(random_);
    Sent next = Sent::kConnect;
    switch (slot.state) {
      case State::kEmpty:
        next = Sent::kConnect;
        break;
      case State::kConnected:
        next = u < 0.30   ? Sent::kReconnecting
               : u < 0.75 ? Sent::kDisconnect
               : u < 0.85 ? Sent::kConnect  // the same identity again: a duplicate identity
               : u < 0.95 ? Sent::kKick
                          : Sent::kResend;
        break;
      case State::kReconnecting:
        next = u < 0.75 ? Sent::kReconnected : u < 0.95 ? Sent::kDisconnect : Sent::kResend;
        break;
    }
    if (next == Sent::kResend && !slot.last.has_value()) next = Sent::kDisconnect;
    slot.sent = next;
    if (next == Sent::kKick) {
      kick->account = options_.account;
      kick->room = slot.room_sid;
      kick->participant_sid = slot.sid;
      slot.last.reset();
      return OpKind::kKick;
    }
    if (next == Sent::kResend) {
      *event = *slot.last;
      ticket->resend = true;
      return OpKind::kEvent;
    }
    event->set_event_id(absl::StrCat(options_.run, "-", next_id_++));
    StampNow(event);
    event->set_account_sid(options_.account);
    if (next == Sent::kConnect) {
      event->set_type(v1::EVENT_TYPE_PARTICIPANT_CONNECTED);
      event->set_room(slot.room);
      event->set_identity(slot.identity);
    } else {
      event->set_type(next == Sent::kReconnecting  ? v1::EVENT_TYPE_PARTICIPANT_RECONNECTING
                      : next == Sent::kReconnected ? v1::EVENT_TYPE_PARTICIPANT_RECONNECTED
                                                   : v1::EVENT_TYPE_PARTICIPANT_DISCONNECTED);
      event->set_room(slot.room_sid);
      event->set_participant_sid(slot.sid);
    }
    slot.last = *event;
    return OpKind::kEvent;
  }

  void Complete(const Ticket& ticket, const OpResult& result) override {
    Remember(result);
    absl::MutexLock lock(&mu_);
    Slot& slot = slots_[ticket.slot];
    if (result.code != 0) {
      // Start the slot over with a new session; a still-live one is replaced by it.
      slot.state = State::kEmpty;
      slot.last.reset();
    } else if (!ticket.resend) {
      switch (slot.sent) {
        case Sent::kConnect:
          if (!result.participant_sid.empty()) {
            slot.state = State::kConnected;
            slot.sid = std::string(result.participant_sid);
            slot.room_sid = std::string(result.room_sid);
          } else {
            slot.state = State::kEmpty;
          }
          break;
        case Sent::kReconnecting:
          slot.state = State::kReconnecting;
          break;
        case Sent::kReconnected:
          slot.state = State::kConnected;
          break;
        case Sent::kDisconnect:
        case Sent::kKick:
          slot.state = State::kEmpty;
          slot.last.reset();
          break;
        case Sent::kResend:
          break;
      }
    }
    ready_.push_back(ticket.slot);
  }

  bool exhausted() const override { return false; }

 private:
  enum class State : uint8_t { kEmpty, kConnected, kReconnecting };
  enum class Sent : uint8_t { kConnect, kReconnecting, kReconnected, kDisconnect, kKick, kResend };
  struct Slot {
    State state = State::kEmpty;
    Sent sent = Sent::kConnect;
    std::string room;  // what CONNECTED names: a unique name, or the one room's SID
    std::string identity;
    std::string sid;                // the live session
    std::string room_sid;           // its room
    std::optional<v1::Event> last;  // the last applied event, for a retry
  };

  const WorkloadOptions options_;
  absl::Mutex mu_;
  std::mt19937_64 random_ ABSL_GUARDED_BY(mu_);
  std::vector<Slot> slots_ ABSL_GUARDED_BY(mu_);
  std::deque<uint32_t> ready_ ABSL_GUARDED_BY(mu_);
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace

void KnownParticipants::Offer(absl::string_view room_sid, absl::string_view participant_sid) {
  // One in eight is enough to read from, and keeps the lock off the hot path.
  const uint64_t n = offered_.fetch_add(1, std::memory_order_relaxed);
  if (n != 0 && n % 8 != 0) return;
  absl::MutexLock lock(&mu_);
  Entry entry{std::string(room_sid), std::string(participant_sid)};
  if (!first_) first_ = entry;
  if (ring_.size() < kRing) {
    ring_.push_back(std::move(entry));
  } else {
    ring_[ring_next_] = std::move(entry);
    ring_next_ = (ring_next_ + 1) % kRing;
  }
}

std::optional<KnownParticipants::Entry> KnownParticipants::first() const {
  absl::MutexLock lock(&mu_);
  return first_;
}

std::optional<KnownParticipants::Entry> KnownParticipants::Pick(uint64_t random) const {
  absl::MutexLock lock(&mu_);
  if (ring_.empty()) return std::nullopt;
  return ring_[random % ring_.size()];
}

std::unique_ptr<Workload> NewJoinStorm(const WorkloadOptions& options) {
  return std::make_unique<JoinStorm>(options);
}

std::unique_ptr<Workload> NewChurn(const WorkloadOptions& options) {
  return std::make_unique<Churn>(options);
}

}  // namespace rollcall::bench
