// WatchStream: one WatchService.Watch call for end-to-end tests, read on a thread of its own
// and recorded: every ChangeSet (revision, receipt time, a summary of each change), optionally
// every whole message, the progress revisions, the final status and its trailing metadata.
// Readers wait on conditions with deadlines; nothing here sleeps to synchronize.
//
// A stream made with `read = false` is a watcher that never reads: the call is started (the
// server sees a watcher) but no message is taken off the transport until StartReading().
//
// Also: AckLog, the revisions the ingest clients were acknowledged, with their ack times, so a
// test can compare what watchers received with what was acknowledged.
#ifndef ROLLCALL_TESTS_E2E_WATCH_CLIENT_H_
#define ROLLCALL_TESTS_E2E_WATCH_CLIENT_H_

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "rollcall/v1/watch_service.grpc.pb.h"

namespace rollcall::testing {

namespace wv1 = ::rollcall::v1;
using SteadyTime = std::chrono::steady_clock::time_point;

inline wv1::WatchRequest WatchFrom(const std::string& account, uint64_t start_revision,
                                   const std::string& room = "", bool initial_state = false) {
  wv1::WatchRequest request;
  request.set_account_sid(account);
  request.set_room(room);
  request.set_start_revision(start_revision);
  request.set_send_initial_state(initial_state);
  return request;
}

// What a test needs of one change, kept for every ChangeSet received.
struct SeenChange {
  wv1::ChangeType type = wv1::CHANGE_TYPE_UNSPECIFIED;
  uint64_t revision = 0;    // the change's own revision field
  std::string sid;          // the participant's, room's or track's SID (rules: the participant's)
  std::string account_sid;  // the resource's account
  std::string room_sid;     // the participant's room, or the room itself
  int status = 0;           // participant or room status after the change
  uint64_t record_revision = 0;  // the resource's `revision` field
  std::string subscriber_sid;    // subscribed-track changes: the subscriber
};

struct SeenSet {
  uint64_t revision = 0;
  SteadyTime at;
  std::vector<SeenChange> changes;
};

class WatchStream {
 public:
  struct Options {
    bool keep_messages = false;  // keep every WatchResponse (snapshot tests, byte comparison)
    bool read = true;            // false: a watcher that does not read until StartReading()
    std::chrono::seconds deadline = std::chrono::seconds(300);
  };

  WatchStream(std::shared_ptr<grpc::Channel> channel, wv1::WatchRequest request)
      : WatchStream(std::move(channel), std::move(request), Options()) {}
  WatchStream(std::shared_ptr<grpc::Channel> channel, wv1::WatchRequest request, Options options)
      : options_(options), stub_(wv1::WatchService::NewStub(channel)) {
    context_.set_deadline(std::chrono::system_clock::now() + options_.deadline);
    reader_ = stub_->Watch(&context_, request);
    if (options_.read) StartReading();
  }
  ~WatchStream() {
    Cancel();
    if (!thread_.joinable()) StartReading();  // a call must be finished before it is destroyed
    thread_.join();
  }
  WatchStream(const WatchStream&) = delete;
  WatchStream& operator=(const WatchStream&) = delete;

  void StartReading() {
    if (thread_.joinable()) return;
    thread_ = std::thread([this] { Run(); });
  }
  void Cancel() { context_.TryCancel(); }

  // Waits until `condition` holds, or the deadline passes. `condition` may use the accessors
  // below; it is evaluated again after every message and at the end of the stream.
  bool WaitFor(const std::function<bool(const WatchStream&)>& condition,
               std::chrono::milliseconds timeout = std::chrono::seconds(30)) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      uint64_t seen = 0;
      {
        std::lock_guard lock(mu_);
        seen = generation_;
      }
      if (condition(*this)) return true;
      std::unique_lock lock(mu_);
      if (!cv_.wait_until(lock, deadline, [&] { return generation_ != seen; })) {
        lock.unlock();
        return condition(*this);
      }
    }
  }
  // Until a ChangeSet at or after `revision` arrived (the stream stays open).
  bool WaitForRevision(uint64_t revision,
                       std::chrono::milliseconds timeout = std::chrono::seconds(30)) const {
    return WaitFor([revision](const WatchStream& s) { return s.last_revision() >= revision; },
                   timeout);
  }
  // Until the stream ended (any status).
  bool WaitDone(std::chrono::milliseconds timeout = std::chrono::seconds(30)) const {
    return WaitFor([](const WatchStream& s) { return s.done(); }, timeout);
  }

  // --- Accessors (copies, safe while the stream runs) -----------------------------------------

  std::vector<SeenSet> sets() const {
    std::lock_guard lock(mu_);
    return sets_;
  }
  std::vector<uint64_t> revisions() const {
    std::lock_guard lock(mu_);
    std::vector<uint64_t> out;
    out.reserve(sets_.size());
    for (const SeenSet& set : sets_) out.push_back(set.revision);
    return out;
  }
  size_t set_count() const {
    std::lock_guard lock(mu_);
    return sets_.size();
  }
  uint64_t last_revision() const {
    std::lock_guard lock(mu_);
    return LastRevisionLocked();
  }
  std::vector<wv1::WatchResponse> messages() const {
    std::lock_guard lock(mu_);
    return messages_;
  }
  // Progress revisions in arrival order, with their receipt times.
  std::vector<std::pair<uint64_t, SteadyTime>> progress() const {
    std::lock_guard lock(mu_);
    return progress_;
  }
  std::optional<uint64_t> initial_state_end() const {
    std::lock_guard lock(mu_);
    return initial_state_end_;
  }
  // Messages that were not well formed (no kind set, an empty ChangeSet, a change whose
  // revision differs from its set's, or a message kind out of order). Empty when all is well.
  std::vector<std::string> protocol_errors() const {
    std::lock_guard lock(mu_);
    return protocol_errors_;
  }
  bool done() const {
    std::lock_guard lock(mu_);
    return done_;
  }
  grpc::Status status() const {
    std::lock_guard lock(mu_);
    return status_;
  }
  std::optional<std::string> trailer(const std::string& key) const {
    std::lock_guard lock(mu_);
    auto it = trailers_.find(key);
    if (it == trailers_.end()) return std::nullopt;
    return it->second;
  }
  std::optional<uint64_t> trailer_revision(const std::string& key) const {
    const std::optional<std::string> value = trailer(key);
    if (!value || value->empty()) return std::nullopt;
    for (const char c : *value) {
      if (c < '0' || c > '9') return std::nullopt;
    }
    return std::stoull(*value);
  }

 private:
  uint64_t LastRevisionLocked() const { return sets_.empty() ? 0 : sets_.back().revision; }

  void Run() {
    wv1::WatchResponse response;
    while (reader_->Read(&response)) {
      const SteadyTime at = std::chrono::steady_clock::now();
      Record(response, at);
    }
    grpc::Status status = reader_->Finish();
    std::lock_guard lock(mu_);
    status_ = std::move(status);
    for (const auto& [key, value] : context_.GetServerTrailingMetadata()) {
      trailers_.emplace(std::string(key.data(), key.size()),
                        std::string(value.data(), value.size()));
    }
    done_ = true;
    ++generation_;
    cv_.notify_all();
  }

  void Record(const wv1::WatchResponse& response, SteadyTime at) {
    std::lock_guard lock(mu_);
    if (options_.keep_messages) messages_.push_back(response);
    switch (response.kind_case()) {
      case wv1::WatchResponse::kChanges: {
        const wv1::ChangeSet& set = response.changes();
        SeenSet seen;
        seen.revision = set.revision();
        seen.at = at;
        if (set.changes().empty()) Error("empty ChangeSet at revision ", set.revision());
        for (const wv1::Change& change : set.changes()) {
          SeenChange out;
          out.type = change.type();
          out.revision = change.revision();
          if (change.has_participant()) {
            const wv1::Participant& p = change.participant();
            out.sid = p.sid();
            out.account_sid = p.account_sid();
            out.room_sid = p.room_sid();
            out.status = p.status();
            out.record_revision = p.revision();
          } else if (change.has_room()) {
            const wv1::Room& r = change.room();
            out.sid = r.sid();
            out.account_sid = r.account_sid();
            out.room_sid = r.sid();
            out.status = r.status();
            out.record_revision = r.revision();
          } else if (change.has_published_track()) {
            const auto& t = change.published_track();
            out.sid = t.sid();
            out.account_sid = t.account_sid();
            out.room_sid = t.room_sid();
            out.status = t.status();
            out.record_revision = t.revision();
          } else if (change.has_subscribe_rules()) {
            const auto& r = change.subscribe_rules();
            out.sid = r.participant_sid();
            out.account_sid = r.account_sid();
            out.room_sid = r.room_sid();
            out.record_revision = r.revision();
          } else if (change.has_subscribed_track()) {
            const auto& t = change.subscribed_track();
            out.sid = t.sid();
            out.subscriber_sid = t.participant_sid();
            out.account_sid = t.account_sid();
            out.room_sid = t.room_sid();
            out.record_revision = t.revision();
          } else {
            Error("change without a resource at revision ", set.revision());
          }
          if (out.revision != set.revision()) {
            Error("change revision ", out.revision, " in the set of revision ", set.revision());
          }
          seen.changes.push_back(std::move(out));
        }
        if (!sets_.empty() && seen.revision <= sets_.back().revision) {
          Error("revision ", seen.revision, " after ", sets_.back().revision);
        }
        if (initial_state_end_ && seen.revision <= *initial_state_end_) {
          Error("revision ", seen.revision, " not after the snapshot's ", *initial_state_end_);
        }
        if (saw_initial_state_ && !initial_state_end_) {
          Error("changes at ", seen.revision, " before initial_state_end");
        }
        sets_.push_back(std::move(seen));
        break;
      }
      case wv1::WatchResponse::kInitialState:
        saw_initial_state_ = true;
        if (initial_state_end_ || !sets_.empty()) Error("initial_state after the snapshot");
        break;
      case wv1::WatchResponse::kInitialStateEnd:
        if (initial_state_end_ || !sets_.empty()) Error("a second or late initial_state_end");
        initial_state_end_ = response.initial_state_end().revision();
        break;
      case wv1::WatchResponse::kProgress:
        progress_.emplace_back(response.progress().revision(), at);
        break;
      default:
        Error("a message with no kind");
    }
    ++generation_;
    cv_.notify_all();
  }

  template <typename... Parts>
  void Error(const Parts&... parts) {
    std::string text;
    (text.append(ToText(parts)), ...);
    protocol_errors_.push_back(std::move(text));
  }
  static std::string ToText(const char* s) { return s; }
  static std::string ToText(uint64_t n) { return std::to_string(n); }

  const Options options_;
  std::unique_ptr<wv1::WatchService::Stub> stub_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<wv1::WatchResponse>> reader_;
  std::thread thread_;

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::vector<SeenSet> sets_;
  std::vector<wv1::WatchResponse> messages_;
  std::vector<std::pair<uint64_t, SteadyTime>> progress_;
  std::optional<uint64_t> initial_state_end_;
  bool saw_initial_state_ = false;
  std::vector<std::string> protocol_errors_;
  bool done_ = false;
  uint64_t generation_ = 0;  // bumped on every message and at the end, for WaitFor
  grpc::Status status_;
  std::multimap<std::string, std::string> trailers_;
};

// ---------------------------------------------------------------------------------------------
// AckLog: every APPLIED revision an ingest client was acknowledged, with the resource it
// changed and when the acknowledgement arrived.

struct Ack {
  uint64_t revision = 0;
  std::string room_sid;
  std::string sid;  // participant (or room, for room commands) the revision changed
  int status = 0;   // its status after the change
  SteadyTime at;
};

class AckLog {
 public:
  void Add(Ack ack) {
    std::lock_guard lock(mu_);
    const uint64_t revision = ack.revision;
    const bool inserted = acks_.emplace(revision, std::move(ack)).second;
    if (!inserted) ++duplicates_;
    max_ = std::max(max_, revision);
  }
  std::map<uint64_t, Ack> all() const {
    std::lock_guard lock(mu_);
    return acks_;
  }
  size_t size() const {
    std::lock_guard lock(mu_);
    return acks_.size();
  }
  uint64_t max() const {
    std::lock_guard lock(mu_);
    return max_;
  }
  // Two acknowledgements claimed the same revision (must never happen).
  size_t duplicates() const {
    std::lock_guard lock(mu_);
    return duplicates_;
  }

 private:
  mutable std::mutex mu_;
  std::map<uint64_t, Ack> acks_;
  uint64_t max_ = 0;
  size_t duplicates_ = 0;
};

// Percentile (0..100) of `values` by nearest rank; 0 when empty.
inline double Percentile(std::vector<double> values, double percent) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  size_t rank =
      static_cast<size_t>(percent / 100.0 * static_cast<double>(values.size()) + 0.999999);
  rank = std::clamp<size_t>(rank, 1, values.size());
  return values[rank - 1];
}

inline double Median(std::vector<double> values) { return Percentile(std::move(values), 50); }

}  // namespace rollcall::testing

#endif  // ROLLCALL_TESTS_E2E_WATCH_CLIENT_H_
