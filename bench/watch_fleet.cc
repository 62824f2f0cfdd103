#include "bench/watch_fleet.h"

#include <grpcpp/generic/generic_stub.h>

#include <functional>

#include "bench/latency.h"
#include "bench/wire.h"
#include "rollcall/v1/watch_service.pb.h"

namespace rollcall::bench {
void AckBook::Add(uint64_t revision, int64_t at, absl::string_view room_sid) {
  absl::MutexLock lock(&mu_);
  acks_.try_emplace(revision, Ack{at, std::string(room_sid)});
}

Acks AckBook::Copy() const {
  absl::MutexLock lock(&mu_);
  return acks_;
}

// One Watch call on the generic (bytes) API; every operation completes on one queue.
class WatchFleet::Watcher final : public GenericStream {
 public:
  Watcher(WatchFleet& fleet, const std::shared_ptr<grpc::Channel>& channel,
          grpc::CompletionQueue* cq, const v1::WatchRequest& request)
      : fleet_(fleet), stub_(channel), cq_(cq), room_(request.room()) {
    request_ = wire::Serialize(request);
  }

  void Start() {
    call_ = stub_.PrepareCall(&context_, "/rollcall.v1.WatchService/Watch", cq_);
    call_->StartCall(&started_);
  }
  void Cancel() {
    cancelled_.store(true);
    context_.TryCancel();
  }
  uint64_t last_revision() const { return last_.load(std::memory_order_relaxed); }
  bool ended() const { return ended_.load(); }
  const std::vector<std::pair<uint64_t, int64_t>>& receipts() const { return receipts_; }
  const std::string& room() const { return room_; }

 private:
  void OnStarted(bool ok) override {
    {
      absl::MutexLock lock(&fleet_.mu_);
      ++fleet_.started_;
    }
    if (!ok) {
      read_ended_ = true;
      MaybeFinish();
      return;
    }
    writing_ = true;
    call_->WriteLast(request_, grpc::WriteOptions(), &wrote_);
    call_->Read(&buffer_, &read_);
  }
  void OnWrote(bool /*ok*/) override {
    writing_ = false;
    MaybeFinish();
  }
  void OnRead(bool ok) override {
    if (!ok) {
      read_ended_ = true;
      MaybeFinish();
      return;
    }
    const int64_t at = NowNanos();
    if (const uint64_t revision = wire::ChangeSetRevision(wire::FlatBuffer(buffer_).view());
        revision != 0) {
      receipts_.emplace_back(revision, at);
      last_.store(revision, std::memory_order_relaxed);
    }
    buffer_.Clear();
    call_->Read(&buffer_, &read_);
  }
  void MaybeFinish() {
    if (!read_ended_ || writing_ || finishing_) return;
    finishing_ = true;
    call_->Finish(&status_, &finished_);
  }
  void OnFinished(bool /*ok*/) override {
    const bool expected = cancelled_.load() && status_.error_code() == grpc::StatusCode::CANCELLED;
    ended_.store(true);
    fleet_.Ended(!expected);
  }

  WatchFleet& fleet_;
  grpc::GenericStub stub_;
  grpc::CompletionQueue* cq_;
  const std::string room_;  // empty: the account
  grpc::ClientContext context_;
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer buffer_;
  grpc::Status status_;
  bool writing_ = false;
  bool read_ended_ = false;
  bool finishing_ = false;
  std::atomic<bool> cancelled_{false};
  std::atomic<bool> ended_{false};
  std::atomic<uint64_t> last_{0};
  std::vector<std::pair<uint64_t, int64_t>> receipts_;  // (revision, NowNanos()) in order
};

WatchFleet::WatchFleet(const WatchFleetOptions& options,
                       const std::vector<std::shared_ptr<grpc::Channel>>& channels,
                       Pollers& pollers)
    : options_(options) {
  for (int i = 0; i < options.watchers; ++i) {
    v1::WatchRequest request;
    request.set_account_sid(options.account);
    if (!options.rooms.empty()) request.set_room(options.rooms[i % options.rooms.size()]);
    watchers_.push_back(
        std::make_unique<Watcher>(*this, channels[i % channels.size()], pollers.queue(i), request));
  }
}

WatchFleet::~WatchFleet() = default;

void WatchFleet::Start() {
  {
    absl::MutexLock lock(&mu_);
    running_ = static_cast<int>(watchers_.size());
  }
  for (auto& watcher : watchers_) watcher->Start();
}

bool WatchFleet::WaitStarted(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  const int total = static_cast<int>(watchers_.size());
  const auto all = [this, total]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return started_ >= total; };
  return mu_.AwaitWithTimeout(absl::Condition(&all), timeout);
}

bool WatchFleet::WaitDelivered(const Acks& acks, absl::Duration timeout) {
  uint64_t last = 0;
  absl::flat_hash_map<std::string, uint64_t> last_in_room;
  for (const auto& [revision, ack] : acks) {
    last = std::max(last, revision);
    uint64_t& room_last = last_in_room[ack.room_sid];
    room_last = std::max(room_last, revision);
  }
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    bool all = true;
    for (const auto& watcher : watchers_) {
      const auto room = last_in_room.find(watcher->room());
      const uint64_t target = watcher->room().empty()      ? last
                              : room == last_in_room.end() ? 0
                                                           : room->second;
      if (!watcher->ended() && watcher->last_revision() < target) {
        all = false;
        break;
      }
    }
    if (all) return true;
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
}

void WatchFleet::Stop(absl::Duration timeout) {
  for (auto& watcher : watchers_) watcher->Cancel();
  absl::MutexLock lock(&mu_);
  const auto none = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return running_ == 0; };
  mu_.AwaitWithTimeout(absl::Condition(&none), timeout);
}

void WatchFleet::Ended(bool failed) {
  if (failed) failures_.fetch_add(1);
  absl::MutexLock lock(&mu_);
  --running_;
}

WatchFleet::Totals WatchFleet::Report(const Acks& acks, int64_t window_start, int64_t window_end,
                                      int64_t stopped) const {
  const auto in_window = [&](const Ack& ack) {
    return ack.at >= window_start && ack.at < window_end;
  };
  int64_t acked = 0;
  for (const auto& [revision, ack] : acks) acked += in_window(ack) ? 1 : 0;
  Totals totals;
  std::vector<int64_t> latencies;
  int64_t before_ack = 0;
  for (const auto& watcher : watchers_) {
    // The revisions this watcher must receive: every one acknowledged in the window, or on a
    // room, those that happened in it.
    const auto expects = [&](const Ack& ack) {
      return in_window(ack) && (watcher->room().empty() || watcher->room() == ack.room_sid);
    };
    uint64_t previous = 0;
    absl::flat_hash_map<uint64_t, bool> received;
    for (const auto& [revision, at] : watcher->receipts()) {
      if (revision <= previous) ++totals.out_of_order;
      previous = revision;
      const auto ack = acks.find(revision);
      if (ack == acks.end() || !expects(ack->second) || !received.try_emplace(revision).second) {
        continue;
      }
      int64_t latency = at - ack->second.at;
      if (latency < 0) {
        ++before_ack;  // the watcher had it before the acknowledgement reached the client
        latency = 0;
      }
      latencies.push_back(latency);
    }
    totals.deliveries += static_cast<int64_t>(received.size());
    for (const auto& [revision, ack] : acks) {
      if (expects(ack) && !received.contains(revision)) {
        ++totals.missed;
        latencies.push_back(stopped - ack.at);
      }
    }
  }
  totals.latency = Summarize(std::move(latencies));
  totals.json = JsonObject()
                    .Set("watchers", watchers_.size())
                    .Set("scope", options_.rooms.empty() ? "account" : "room")
                    .Set("rooms", options_.rooms.size())
                    .Set("revisions_acked_in_window", acked)
                    .Set("deliveries", totals.deliveries)
                    .Set("missed", totals.missed)
                    .Set("out_of_order", totals.out_of_order)
                    .Set("before_ack", before_ack)
                    .Set("stream_failures", failures_.load())
                    .Set("latency_ms", LatencyJson(totals.latency));
  return totals;
}

}  // namespace rollcall::bench
