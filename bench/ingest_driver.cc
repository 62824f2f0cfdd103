#include "bench/ingest_driver.h"

#include <grpc/support/time.h>
#include <grpcpp/alarm.h>

#include <algorithm>
#include <deque>
#include <utility>

#include "absl/strings/str_cat.h"
#include "bench/wire.h"

namespace rollcall::bench {
namespace {

gpr_timespec MonotonicIn(int64_t nanos) {
  return gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                      gpr_time_from_nanos(std::max<int64_t>(0, nanos), GPR_TIMESPAN));
}

std::chrono::system_clock::time_point DeadlineIn(absl::Duration span) {
  return std::chrono::system_clock::now() + absl::ToChronoNanoseconds(span);
}

}  // namespace

// ------------------------------------------------------------------------------------------
// IngestRecorder

void IngestRecorder::Result(const OpResult& result, int64_t done) {
  if (result.code != 0) {
    errors_.fetch_add(1, std::memory_order_relaxed);
    by_code_[std::clamp(result.code, 0, 16)].fetch_add(1, std::memory_order_relaxed);
    absl::MutexLock lock(&mu_);
    if (first_errors_.size() < 5)
      first_errors_.push_back(absl::StrCat(result.code, ": ", result.message));
    return;
  }
  switch (result.outcome) {
    case v1::EVENT_OUTCOME_APPLIED:
      applied_.fetch_add(1, std::memory_order_relaxed);
      if (on_applied_ && result.revision > 0) on_applied_(result.revision, done, result.room_sid);
      break;
    case v1::EVENT_OUTCOME_DUPLICATE:
      duplicate_.fetch_add(1, std::memory_order_relaxed);
      break;
    default:
      ignored_.fetch_add(1, std::memory_order_relaxed);
      break;
  }
}

void IngestRecorder::Answer(int64_t sent, int64_t done, int ops) {
  answered_.fetch_add(ops, std::memory_order_relaxed);
  int64_t last = last_answer_.load(std::memory_order_relaxed);
  while (done > last && !last_answer_.compare_exchange_weak(last, done)) {
  }
  if (!window_.Contains(done)) return;
  in_window_.fetch_add(ops, std::memory_order_relaxed);
  latency_.Record(done - sent);
}

JsonObject IngestRecorder::Report(double seconds) const {
  static constexpr const char* kCodes[] = {"OK",
                                           "CANCELLED",
                                           "UNKNOWN",
                                           "INVALID_ARGUMENT",
                                           "DEADLINE_EXCEEDED",
                                           "NOT_FOUND",
                                           "ALREADY_EXISTS",
                                           "PERMISSION_DENIED",
                                           "RESOURCE_EXHAUSTED",
                                           "FAILED_PRECONDITION",
                                           "ABORTED",
                                           "OUT_OF_RANGE",
                                           "UNIMPLEMENTED",
                                           "INTERNAL",
                                           "UNAVAILABLE",
                                           "DATA_LOSS",
                                           "UNAUTHENTICATED"};
  JsonObject codes;
  for (size_t code = 1; code < by_code_.size(); ++code) {
    if (const int64_t count = by_code_[code].load(); count > 0) codes.Set(kCodes[code], count);
  }
  JsonObject first_errors;
  {
    absl::MutexLock lock(&mu_);
    for (size_t i = 0; i < first_errors_.size(); ++i) {
      first_errors.Set(absl::StrCat(i), first_errors_[i]);
    }
  }
  const LatencySummary latency = latency_.Summary();
  JsonObject report;
  report.Set("ops_in_window", in_window_.load())
      .Set("ops_per_s", seconds > 0 ? static_cast<double>(in_window_.load()) / seconds : 0.0)
      .Set("ops_answered", answered_.load())
      .Set("applied", applied_.load())
      .Set("duplicate", duplicate_.load())
      .Set("ignored", ignored_.load())
      .Set("errors", errors_.load())
      .Set("errors_by_code", codes)
      .Set("first_errors", first_errors)
      .Set("latency_ms", LatencyJson(latency));
  return report;
}

// ------------------------------------------------------------------------------------------
// One unary call: RecordEvent, or UpdateParticipant for a kick. Deletes itself when answered.

class IngestDriver::UnaryCall final : public Tag {
 public:
  UnaryCall(IngestDriver& driver, Lane& lane, int64_t intended, bool relaunch)
      : driver_(driver), lane_(lane), intended_(intended), relaunch_(relaunch) {}

  bool TakeNext() {
    kind_ = driver_.workload_.Next(&ticket_, event_request_.mutable_event(), &kick_);
    return kind_.has_value();
  }
  void SetKick(const Ticket& ticket, const Kick& kick) {
    kind_ = OpKind::kKick;
    ticket_ = ticket;
    kick_ = kick;
  }

  void Start() {
    context_.set_deadline(DeadlineIn(driver_.options_.call_deadline));
    grpc::ByteBuffer request;
    const char* method = kRecordEvent;
    if (*kind_ == OpKind::kEvent) {
      request = wire::Serialize(event_request_);
    } else {
      v1::UpdateParticipantRequest kick;
      kick.set_account_sid(kick_.account);
      kick.set_room(kick_.room);
      kick.set_participant_sid(kick_.participant_sid);
      kick.set_status(v1::PARTICIPANT_STATUS_DISCONNECTED);
      request = wire::Serialize(kick);
      method = kUpdateParticipant;
    }
    reader_ = lane_.stub->PrepareUnaryCall(&context_, method, request, lane_.cq);
    reader_->StartCall();
    reader_->Finish(&response_, &status_, this);
  }

  void Proceed(bool /*ok*/) override {
    const int64_t done = NowNanos();
    const wire::FlatBuffer answer(response_);
    OpResult result;
    if (!status_.ok()) {
      result.code = status_.error_code();
      result.message = status_.error_message();
    } else if (!(*kind_ == OpKind::kEvent
                     ? wire::DecodeRecordEventResponse(answer.view(), &result)
                     : wire::DecodeUpdateParticipantResponse(answer.view(), &result))) {
      result = OpResult();
      result.code = grpc::StatusCode::INTERNAL;
      result.message = "the answer is not a well-formed response message";
    }
    driver_.recorder_.Result(result, done);
    driver_.recorder_.Answer(intended_, done, 1);
    driver_.workload_.Complete(ticket_, result);
    IngestDriver& driver = driver_;
    Lane& lane = lane_;
    const bool relaunch = relaunch_;
    delete this;
    driver.unary_in_flight_.fetch_sub(1);
    driver.Finished(lane, relaunch);
  }

 private:
  static constexpr const char* kRecordEvent = "/rollcall.v1.IngestService/RecordEvent";
  static constexpr const char* kUpdateParticipant =
      "/rollcall.v1.ParticipantService/UpdateParticipant";

  IngestDriver& driver_;
  Lane& lane_;
  const int64_t intended_;
  const bool relaunch_;
  std::optional<OpKind> kind_;
  Ticket ticket_;
  Kick kick_;
  v1::RecordEventRequest event_request_;
  grpc::ClientContext context_;
  grpc::Status status_;
  grpc::ByteBuffer response_;
  std::unique_ptr<grpc::GenericClientAsyncResponseReader> reader_;
};

// Closed loop with no op ready (every churn session awaits an answer): try again in 1 ms.
class IngestDriver::Retry final : public Tag {
 public:
  Retry(IngestDriver& driver, Lane& lane) : driver_(driver), lane_(lane) {
    alarm_.Set(lane.cq, MonotonicIn(1000000), this);
  }
  void Proceed(bool /*ok*/) override {
    IngestDriver& driver = driver_;
    Lane& lane = lane_;
    delete this;
    driver.Finished(lane, /*relaunch=*/true);
  }

 private:
  IngestDriver& driver_;
  Lane& lane_;
  grpc::Alarm alarm_;
};

// Open loop, unary: starts op k at start + k / rate, on the lanes in turn.
class IngestDriver::Pacer final : public Tag {
 public:
  explicit Pacer(IngestDriver& driver) : driver_(driver) {}
  void Arm() { alarm_.Set(driver_.lanes_[0].cq, MonotonicIn(Due(next_) - NowNanos()), this); }
  void Proceed(bool /*ok*/) override {
    if (driver_.stopping_.load() || driver_.workload_.exhausted()) {
      driver_.Leave();
      return;
    }
    const int64_t now = NowNanos();
    for (; Due(next_) <= now; ++next_) {
      Lane& lane = driver_.lanes_[next_ % driver_.lanes_.size()];
      if (driver_.unary_in_flight_.load() >= driver_.options_.max_outstanding) {
        driver_.shed_.fetch_add(1);
      } else if (!driver_.Launch(lane, Due(next_), /*relaunch=*/false)) {
        driver_.starved_.fetch_add(1);
      }
    }
    Arm();
  }

 private:
  int64_t Due(int64_t k) const {
    return driver_.start_ +
           static_cast<int64_t>(static_cast<double>(k) * 1e9 / driver_.options_.rate);
  }
  IngestDriver& driver_;
  int64_t next_ = 0;
  grpc::Alarm alarm_;
};

// ------------------------------------------------------------------------------------------
// One StreamEvents call. Every operation completes on the lane's queue, so only that queue's
// thread touches it once started. Writes one message at a time, keeps one read posted, and
// matches answers to messages in order.

class IngestDriver::StreamCall final : public GenericStream {
 public:
  StreamCall(IngestDriver& driver, Lane& lane, int index)
      : driver_(driver), lane_(lane), index_(index) {}

  void Start() {
    rw_ = lane_.stub->PrepareCall(&context_, "/rollcall.v1.IngestService/StreamEvents", lane_.cq);
    rw_->StartCall(&started_);
  }
  void Cancel() { context_.TryCancel(); }

 private:
  struct Message {
    std::vector<Ticket> tickets;
    int64_t sent = 0;
  };

  bool open_loop() const { return driver_.options_.rate > 0; }
  int64_t Due(int64_t k) const {
    const double per_message = driver_.options_.batch * 1e9 / driver_.options_.rate;
    const int64_t message = k * static_cast<int64_t>(driver_.streams_.size()) + index_;
    return driver_.start_ + static_cast<int64_t>(static_cast<double>(message) * per_message);
  }

  void OnStarted(bool ok) override {
    if (!ok) {
      read_ended_ = true;
      MaybeFinish();
      return;
    }
    rw_->Read(&response_, &read_);
    if (open_loop()) {
      pacing_ = true;
      pace_alarm_.Set(lane_.cq, MonotonicIn(Due(next_due_) - NowNanos()), &paced_);
    }
    MaybeWrite();
  }

  void OnPaced(bool /*ok*/) {
    pacing_ = false;
    if (!driver_.stopping_.load() && !read_ended_) {
      const int64_t now = NowNanos();
      for (; Due(next_due_) <= now; ++next_due_) credits_.push_back(Due(next_due_));
      pacing_ = true;
      pace_alarm_.Set(lane_.cq, MonotonicIn(Due(next_due_) - now), &paced_);
    }
    MaybeWrite();
  }

  void OnRetry(bool /*ok*/) {
    retrying_ = false;
    MaybeWrite();
  }

  void MaybeWrite() {
    if (writing_ || writes_closed_ || read_ended_ || retrying_) return MaybeFinish();
    if (driver_.stopping_.load() || driver_.workload_.exhausted()) {
      if (in_flight_.empty()) {
        writes_closed_ = true;
        writing_ = true;
        rw_->WritesDone(&wrote_);
      }
      return;
    }
    if (static_cast<int>(in_flight_.size()) >= driver_.options_.depth) return;
    if (open_loop() && credits_.empty()) return;
    const int64_t intended = open_loop() ? credits_.front() : NowNanos();
    Message message;
    message.sent = intended;
    request_.Clear();
    for (int i = 0; i < driver_.options_.batch; ++i) {
      Ticket ticket;
      Kick kick;
      v1::Event* event = request_.add_events();
      const std::optional<OpKind> kind = driver_.workload_.Next(&ticket, event, &kick);
      if (kind == OpKind::kEvent) {
        message.tickets.push_back(ticket);
        continue;
      }
      request_.mutable_events()->RemoveLast();
      if (!kind) break;
      driver_.LaunchKick(lane_, ticket, kick, intended);  // kicks are not events: unary
    }
    if (message.tickets.empty()) {
      if (!driver_.workload_.exhausted()) {
        retrying_ = true;
        retry_alarm_.Set(lane_.cq, MonotonicIn(1000000), &retried_);
      } else {
        MaybeWrite();
      }
      return;
    }
    if (open_loop()) credits_.pop_front();
    in_flight_.push_back(std::move(message));
    writing_ = true;
    rw_->Write(wire::Serialize(request_), &wrote_);
  }

  void OnWrote(bool ok) override {
    writing_ = false;
    if (!ok) writes_closed_ = true;  // the stream is broken; the read ends it
    MaybeWrite();
    MaybeFinish();
  }

  void OnRead(bool ok) override {
    if (!ok) {
      read_ended_ = true;
      MaybeFinish();
      return;
    }
    const int64_t done = NowNanos();
    if (in_flight_.empty()) {
      driver_.stream_failures_.fetch_add(1);  // an answer to nothing
    } else {
      Message message = std::move(in_flight_.front());
      in_flight_.pop_front();
      const wire::FlatBuffer answer(response_);
      size_t next = 0;
      const bool well_formed = wire::ForEachEventResult(answer.view(), [&](const OpResult& result) {
        if (next >= message.tickets.size()) return;
        driver_.recorder_.Result(result, done);
        driver_.workload_.Complete(message.tickets[next++], result);
      });
      for (; next < message.tickets.size(); ++next) {
        OpResult missing;
        missing.code = grpc::StatusCode::INTERNAL;
        missing.message = well_formed ? "no result for this event in the answer"
                                      : "the answer is not a well-formed response message";
        driver_.recorder_.Result(missing, done);
        driver_.workload_.Complete(message.tickets[next], missing);
      }
      driver_.recorder_.Answer(message.sent, done, static_cast<int>(message.tickets.size()));
    }
    response_.Clear();
    rw_->Read(&response_, &read_);
    MaybeWrite();
  }

  void MaybeFinish() {
    if (finishing_ || !read_ended_ || writing_ || pacing_ || retrying_) return;
    finishing_ = true;
    rw_->Finish(&status_, &finished_);
  }

  void OnFinished(bool /*ok*/) override {
    if (!status_.ok() || !in_flight_.empty()) driver_.stream_failures_.fetch_add(1);
    const int code = status_.ok() ? grpc::StatusCode::UNKNOWN : status_.error_code();
    for (const Message& message : in_flight_) {
      for (const Ticket& ticket : message.tickets) {
        OpResult result;
        result.code = code;
        result.message = "the stream ended before the answer";
        driver_.recorder_.Result(result, NowNanos());
        driver_.workload_.Complete(ticket, result);
      }
    }
    in_flight_.clear();
    // Open loop: messages that came due but were never written (the stream was at its depth
    // when the run ended) are shed, like unary ops over max_outstanding.
    driver_.shed_.fetch_add(static_cast<int64_t>(credits_.size()) * driver_.options_.batch);
    driver_.Leave();
  }

  IngestDriver& driver_;
  Lane& lane_;
  const int index_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> rw_;
  v1::StreamEventsRequest request_;
  grpc::ByteBuffer response_;
  grpc::Status status_;
  std::deque<Message> in_flight_;
  std::deque<int64_t> credits_;  // open loop: due times of messages not yet written
  int64_t next_due_ = 0;
  bool writing_ = false;  // a Write or WritesDone is outstanding
  bool writes_closed_ = false;
  bool read_ended_ = false;
  bool pacing_ = false;
  bool retrying_ = false;
  bool finishing_ = false;
  grpc::Alarm pace_alarm_;
  grpc::Alarm retry_alarm_;
  Handler paced_{[this](bool ok) { OnPaced(ok); }};
  Handler retried_{[this](bool ok) { OnRetry(ok); }};
};

// ------------------------------------------------------------------------------------------
// IngestDriver

IngestDriver::IngestDriver(const IngestOptions& options,
                           const std::vector<std::shared_ptr<grpc::Channel>>& channels,
                           Pollers& pollers, Workload& workload, IngestRecorder& recorder)
    : options_(options), workload_(workload), recorder_(recorder) {
  lanes_.resize(channels.size());
  for (size_t i = 0; i < channels.size(); ++i) {
    lanes_[i].stub = std::make_unique<grpc::GenericStub>(channels[i]);
    lanes_[i].cq = pollers.queue(i);
  }
  if (options_.stream) {
    for (int s = 0; s < options_.streams; ++s) {
      streams_.push_back(std::make_unique<StreamCall>(*this, lanes_[s % lanes_.size()], s));
    }
  }
}

IngestDriver::~IngestDriver() = default;

void IngestDriver::Start(int64_t start) {
  start_ = start;
  if (options_.stream) {
    for (auto& stream : streams_) {
      Enter();
      stream->Start();
    }
  } else if (options_.rate > 0) {
    pacer_ = std::make_unique<Pacer>(*this);
    Enter();
    pacer_->Arm();
  } else {
    for (int i = 0; i < options_.in_flight; ++i) {
      Lane& lane = lanes_[i % lanes_.size()];
      Enter();
      Finished(lane, /*relaunch=*/true);  // starts the call, or a retry
    }
  }
}

bool IngestDriver::Launch(Lane& lane, int64_t intended, bool relaunch) {
  auto* call = new UnaryCall(*this, lane, intended, relaunch);
  if (!call->TakeNext()) {
    delete call;
    return false;
  }
  Enter();
  unary_in_flight_.fetch_add(1);
  call->Start();
  return true;
}

void IngestDriver::LaunchKick(Lane& lane, const Ticket& ticket, const Kick& kick,
                              int64_t intended) {
  auto* call = new UnaryCall(*this, lane, intended, /*relaunch=*/false);
  call->SetKick(ticket, kick);
  Enter();
  unary_in_flight_.fetch_add(1);
  call->Start();
}

void IngestDriver::Finished(Lane& lane, bool relaunch) {
  if (relaunch && !stopping_.load() && !Launch(lane, NowNanos(), true) && !workload_.exhausted()) {
    Enter();
    new Retry(*this, lane);
  }
  Leave();
}

bool IngestDriver::Wait(absl::Duration timeout) { return in_flight_.Wait(timeout); }

void IngestDriver::Cancel() {
  for (auto& stream : streams_) stream->Cancel();
}

}  // namespace rollcall::bench
