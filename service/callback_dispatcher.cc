#include "service/callback_dispatcher.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "service/callback_params.h"
#include "spdlog/spdlog.h"

namespace rollcall::service {
namespace {

// How long the thread sleeps when nothing is due: any new work wakes it sooner.
constexpr absl::Duration kIdleWait = absl::Minutes(1);

}  // namespace

CallbackDispatcher::CallbackDispatcher(const CallbackOptions& options, store::Store& store,
                                       CallbackTransport& transport, TokenSource tokens,
                                       const Clock& clock)
    : options_(options),
      store_(store),
      transport_(transport),
      tokens_(std::move(tokens)),
      clock_(clock),
      random_state_(static_cast<uint64_t>(absl::ToUnixNanos(clock.SystemTime()))) {}

CallbackDispatcher::~CallbackDispatcher() { Stop(); }

void CallbackDispatcher::RegisterMetrics(MetricsRegistry& metrics) {
  delivered_ =
      &metrics.AddCounterFamily("rollcall_callbacks_delivered_total",
                                "Status callbacks delivered (a 2xx answer), by receiver", {"host"});
  retried_ = &metrics.AddCounterFamily(
      "rollcall_callbacks_retried_total",
      "Status callback attempts that failed and will be tried again, by receiver", {"host"});
  failed_ = &metrics.AddCounterFamily(
      "rollcall_callbacks_failed_total",
      "Status callbacks given up on after --callback_max_age, by receiver", {"host"});
  metrics.AddGauge("rollcall_callbacks_pending", "Status callbacks not yet delivered or given up",
                   [this] { return static_cast<double>(stats().pending); });
  metrics.AddGauge("rollcall_callbacks_in_flight", "Status callback deliveries in flight",
                   [this] { return static_cast<double>(stats().in_flight); });
  metrics.AddGaugeFamily(
      "rollcall_callback_lag_seconds",
      "Age of the oldest status callback not yet delivered, by receiver (0: none waiting)",
      {"host"}, [this] { return Lag(); });
}

void CallbackDispatcher::Start(std::vector<state::Callback> backlog) {
  {
    absl::MutexLock lock(&mu_);
    for (state::Callback& callback : backlog) Add(std::move(callback));
  }
  thread_ = std::thread([this] { Run(); });
}

void CallbackDispatcher::Enqueue(std::vector<state::Callback> callbacks) {
  absl::MutexLock lock(&mu_);
  if (incoming_.empty()) {
    incoming_ = std::move(callbacks);
  } else {
    for (state::Callback& callback : callbacks) incoming_.push_back(std::move(callback));
  }
}

void CallbackDispatcher::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

CallbackStats CallbackDispatcher::stats() const {
  absl::MutexLock lock(&mu_);
  CallbackStats stats = stats_;
  stats.in_flight = in_flight_;
  return stats;
}

std::string CallbackDispatcher::ReceiverOf(absl::string_view url) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == absl::string_view::npos) return "";
  const std::string scheme = absl::AsciiStrToLower(url.substr(0, scheme_end));
  absl::string_view authority = url.substr(scheme_end + 3);
  authority = authority.substr(0, authority.find_first_of("/?#"));
  if (const size_t at = authority.rfind('@'); at != absl::string_view::npos) {
    authority = authority.substr(at + 1);
  }
  if (authority.empty()) return "";
  std::string receiver = absl::StrCat(scheme, "://", absl::AsciiStrToLower(authority));
  // A port is after the last ':' that is not inside an IPv6 literal's brackets.
  const size_t colon = authority.rfind(':');
  const size_t bracket = authority.rfind(']');
  if (colon == absl::string_view::npos || (bracket != absl::string_view::npos && colon < bracket)) {
    absl::StrAppend(&receiver, scheme == "https" ? ":443" : ":80");
  }
  return receiver;
}

void CallbackDispatcher::Run() {
  using Finished = std::pair<state::Callback, std::optional<state::FailedCallback>>;
  while (true) {
    Refill();
    std::vector<Send> sends;
    std::vector<Finished> finished;
    {
      absl::MutexLock lock(&mu_);
      auto has_work = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || !incoming_.empty() || !completions_.empty() || ready_changed_ ||
               !refill_.empty();
      };
      // Removals the store refused are tried again each second; their rooms wait meanwhile.
      // An absolute deadline: a clock that moves between this reading and the wait (a test's
      // SimulatedClock) cannot push the wake-up later.
      const SteadyTime now = clock_.MonotonicTime();
      SteadyTime deadline =
          now + absl::ToChronoNanoseconds(unfinished_.empty() ? kIdleWait : absl::Seconds(1));
      if (!retries_.empty()) deadline = std::min(deadline, retries_.begin()->first);
      if (!has_work() && deadline > now) {
        clock_.AwaitUntil(mu_, absl::Condition(&has_work), deadline);
      }
      if (stopping_) return;
      finished.swap(unfinished_);
      std::vector<state::Callback> incoming;
      incoming.swap(incoming_);
      for (state::Callback& callback : incoming) Add(std::move(callback));
      std::vector<Completion> completions;
      completions.swap(completions_);
      for (const Completion& completion : completions) Finish(completion, &finished);
      const SteadyTime woke = clock_.MonotonicTime();
      while (!retries_.empty() && retries_.begin()->first <= woke) {
        const state::Sid room_sid = retries_.begin()->second;
        retries_.erase(retries_.begin());
        auto room = rooms_.find(room_sid);
        if (room == rooms_.end()) continue;
        if (room->second.spilled && room->second.pending.empty()) {
          refill_.insert(room_sid);  // a read back that failed, tried again
        } else {
          MakeReady(room_sid, room->second);
        }
      }
      sends = Pump();
    }
    // A finished callback leaves the store before its room's next one may go, so a crash
    // repeats only what was in flight; the room is held until then (see Room::finishing).
    std::vector<Finished> unfinished;
    std::vector<state::Sid> released;
    for (Finished& done : finished) {
      const auto& [callback, failed] = done;
      const absl::Status removed =
          store_.FinishCallback(callback.room_sid, callback.sequence, failed ? &*failed : nullptr);
      if (removed.ok()) {
        released.push_back(callback.room_sid);
        continue;
      }
      spdlog::warn(
          "callback {} of room {} is done but the store could not remove it; the room "
          "waits and it is tried again: {}",
          callback.sequence, callback.room_sid.ToString(), removed.ToString());
      unfinished.push_back(std::move(done));
    }
    if (!released.empty() || !unfinished.empty()) {
      absl::MutexLock lock(&mu_);
      for (Finished& done : unfinished) unfinished_.push_back(std::move(done));
      for (const state::Sid& room_sid : released) Release(room_sid);
    }
    for (Send& send : sends) {
      transport_.Send(std::move(send.request), [this, room_sid = send.room_sid,
                                                sequence = send.sequence](CallbackResult result) {
        absl::MutexLock lock(&mu_);
        completions_.push_back({room_sid, sequence, std::move(result)});
      });
    }
  }
}

void CallbackDispatcher::Add(state::Callback callback) {
  const state::Sid room_sid = callback.room_sid;
  Room& room = rooms_[room_sid];
  ++stats_.pending;
  if (room.spilled || room.pending.size() >= options_.max_held_per_room) {
    room.spilled = true;  // it is in the store: read back in order when the queue drains
    ++room.dropped;
    return;
  }
  if (room.pending.empty() && !room.in_flight) {
    room.receiver = ReceiverOf(callback.room.status_callback);
  }
  room.pending.push_back(std::move(callback));
  if (room.pending.size() == 1 && !room.in_flight && !room.waiting && !room.finishing) {
    MakeReady(room_sid, room);
  }
}

void CallbackDispatcher::MakeReady(const state::Sid& room_sid, Room& room) {
  room.waiting = true;
  ready_changed_ = true;
  ReceiverFor(room.receiver).ready.push_back(room_sid);
}

CallbackDispatcher::Receiver& CallbackDispatcher::ReceiverFor(const std::string& name) {
  auto [it, added] = receivers_.try_emplace(name);
  if (added) {
    // The label set stays bounded however many receivers the accounts name.
    size_t labelled = 0;
    for (const auto& [other, receiver] : receivers_) labelled += receiver.label != "other";
    it->second.label = labelled <= options_.max_metric_hosts ? name : "other";
  }
  return it->second;
}

std::vector<CallbackDispatcher::Send> CallbackDispatcher::Pump() {
  ready_changed_ = false;
  std::vector<Send> sends;
  for (auto& [name, receiver] : receivers_) {
    if (in_flight_ >= options_.concurrency) break;
    while (!receiver.ready.empty() && receiver.in_flight < options_.host_concurrency &&
           in_flight_ < options_.concurrency) {
      const state::Sid room_sid = receiver.ready.front();
      receiver.ready.pop_front();
      auto found = rooms_.find(room_sid);
      if (found == rooms_.end()) continue;
      Room& room = found->second;
      room.waiting = false;
      if (room.pending.empty() || room.in_flight || room.finishing) continue;
      room.in_flight = true;
      ++receiver.in_flight;
      ++in_flight_;
      const state::Callback& next = room.pending.front();
      sends.push_back({Render(next), room_sid, next.sequence});
    }
  }
  return sends;
}

void CallbackDispatcher::Finish(
    const Completion& completion,
    std::vector<std::pair<state::Callback, std::optional<state::FailedCallback>>>* finished) {
  auto found = rooms_.find(completion.room_sid);
  if (found == rooms_.end()) return;
  Room& room = found->second;
  Receiver& receiver = ReceiverFor(room.receiver);
  room.in_flight = false;
  --receiver.in_flight;
  --in_flight_;
  ready_changed_ = true;  // a slot is free
  if (room.pending.empty() || room.pending.front().sequence != completion.sequence) return;
  const std::string& label = receiver.label;
  state::Callback& callback = room.pending.front();
  if (completion.result.delivered) {
    ++stats_.delivered;
    if (delivered_ != nullptr) delivered_->With({label}).Increment();
    finished->emplace_back(std::move(callback), std::nullopt);
  } else {
    ++room.attempts;
    const absl::Duration age = clock_.SystemTime() - callback.timestamp;
    if (age < options_.max_age) {
      ++stats_.retried;
      if (retried_ != nullptr) retried_->With({label}).Increment();
      room.waiting = true;
      retries_.emplace(clock_.MonotonicTime() + absl::ToChronoNanoseconds(Backoff(room.attempts)),
                       completion.room_sid);
      return;
    }
    ++stats_.failed;
    if (failed_ != nullptr) failed_->With({label}).Increment();
    spdlog::warn("status callback {} #{} of room {} to {} given up after {} attempts over {}: {}",
                 std::string(state::CallbackEventName(callback.event)), callback.sequence,
                 callback.room_sid.ToString(), room.receiver, room.attempts,
                 absl::FormatDuration(age), completion.result.error);
    state::FailedCallback failed{.callback = callback,
                                 .failed_at = clock_.SystemTime(),
                                 .attempts = room.attempts,
                                 .last_error = completion.result.error};
    finished->emplace_back(std::move(callback), std::move(failed));
  }
  room.pending.pop_front();
  --stats_.pending;
  room.attempts = 0;
  room.finishing = true;  // Release() goes on once the store has let go of it
}

void CallbackDispatcher::Release(const state::Sid& room_sid) {
  auto found = rooms_.find(room_sid);
  if (found == rooms_.end()) return;
  Room& room = found->second;
  room.finishing = false;
  if (room.spilled && room.pending.size() <= options_.max_held_per_room / 2) {
    refill_.insert(room_sid);
  }
  if (!room.pending.empty()) {
    MakeReady(room_sid, room);
  } else if (!room.spilled) {
    rooms_.erase(found);
  }
}

void CallbackDispatcher::Refill() {
  struct Read {
    state::Sid room_sid;
    uint64_t from = 0;
    uint64_t dropped = 0;  // the room's count when the read began
    size_t max = 0;
  };
  std::vector<Read> reads;
  {
    absl::MutexLock lock(&mu_);
    for (const state::Sid& room_sid : refill_) {
      auto found = rooms_.find(room_sid);
      if (found == rooms_.end() || !found->second.spilled) continue;
      const Room& room = found->second;
      // The store holds every pending callback; the queue holds a prefix of them.
      const uint64_t from = room.pending.empty() ? 0 : room.pending.back().sequence + 1;
      reads.push_back(
          {room_sid, from, room.dropped,
           options_.max_held_per_room - std::min(room.pending.size(), options_.max_held_per_room)});
    }
    refill_.clear();
  }
  for (const Read& read : reads) {
    absl::StatusOr<std::vector<state::Callback>> stored =
        store_.ReadCallbacks(read.room_sid, read.from, read.max);
    absl::MutexLock lock(&mu_);
    auto found = rooms_.find(read.room_sid);
    if (found == rooms_.end()) continue;
    Room& room = found->second;
    if (!stored.ok()) {
      spdlog::warn("reading back the status callbacks of room {}: {}", read.room_sid.ToString(),
                   stored.status().ToString());
      retries_.emplace(clock_.MonotonicTime() + absl::ToChronoNanoseconds(absl::Seconds(1)),
                       read.room_sid);
      continue;
    }
    for (state::Callback& callback : *stored) {
      if (!room.pending.empty() && callback.sequence <= room.pending.back().sequence) continue;
      if (room.pending.empty() && !room.in_flight) {
        room.receiver = ReceiverOf(callback.room.status_callback);
      }
      room.pending.push_back(std::move(callback));
    }
    // Everything is held again only if the read reached the end and nothing was left in the
    // store while it ran.
    if (stored->size() < read.max && room.dropped == read.dropped) {
      room.spilled = false;
      room.dropped = 0;
    } else if (room.pending.size() <= options_.max_held_per_room / 2) {
      refill_.insert(read.room_sid);
    }
    if (room.pending.empty()) {
      if (!room.spilled && !room.finishing) rooms_.erase(found);
    } else if (!room.in_flight && !room.waiting && !room.finishing) {
      MakeReady(read.room_sid, room);
    }
  }
}

CallbackRequest CallbackDispatcher::Render(const state::Callback& callback) const {
  const FormParams params = CallbackParams(callback);
  CallbackRequest request;
  request.method = callback.room.status_callback_method == "GET" ? "GET" : "POST";
  request.url = callback.room.status_callback;
  std::optional<std::string> token = tokens_(callback.room.account_sid);
  if (request.method == "GET") {
    absl::StrAppend(&request.url, request.url.find('?') == std::string::npos ? "?" : "&",
                    FormEncode(params));
    if (token) request.signature = TwilioSignature(*token, request.url, {});
  } else {
    request.body = FormEncode(params);
    if (token) request.signature = TwilioSignature(*token, request.url, params);
  }
  return request;
}

absl::Duration CallbackDispatcher::Backoff(uint32_t attempts) {
  absl::Duration base = options_.retry_initial;
  for (uint32_t i = 1; i < attempts && base < options_.retry_max; ++i) base *= 2;
  base = std::min(base, options_.retry_max);
  // splitmix64: jitter only needs to spread retries, not to be unpredictable.
  uint64_t z = (random_state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  const double fraction = static_cast<double>(z >> 11) / static_cast<double>(1ULL << 53);
  return base / 2 + base / 2 * fraction;
}

MetricsRegistry::GaugeChildren CallbackDispatcher::Lag() const {
  absl::MutexLock lock(&mu_);
  const absl::Time now = clock_.SystemTime();
  absl::flat_hash_map<std::string, double> lag;
  for (const auto& [name, receiver] : receivers_) lag.try_emplace(receiver.label, 0.0);
  for (const auto& [room_sid, room] : rooms_) {
    if (room.pending.empty()) continue;
    auto receiver = receivers_.find(room.receiver);
    if (receiver == receivers_.end()) continue;
    double& oldest = lag[receiver->second.label];
    oldest = std::max(oldest, absl::ToDoubleSeconds(now - room.pending.front().timestamp));
  }
  MetricsRegistry::GaugeChildren children;
  for (auto& [label, seconds] : lag) children.push_back({{label}, seconds});
  return children;
}

}  // namespace rollcall::service
