#include "service/ingest_service.h"

#include <deque>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "service/byte_buffers.h"
#include "service/grpc_status.h"
#include "state/validation.h"

namespace rollcall::service {
namespace {

// rollcall_ingest_latency_seconds, on the service's monotonic clock.
void ObserveIngest(ServiceMetrics& metrics, const Clock& clock, SteadyTime received) {
  metrics.ObserveIngest(Elapsed(received, clock.MonotonicTime()));
}

v1::EventOutcome OutcomeToProto(state::Disposition disposition) {
  switch (disposition) {
    case state::Disposition::kApplied:
      return v1::EVENT_OUTCOME_APPLIED;
    case state::Disposition::kDuplicate:
      return v1::EVENT_OUTCOME_DUPLICATE;
    case state::Disposition::kIgnored:
      return v1::EVENT_OUTCOME_IGNORED;
  }
  return v1::EVENT_OUTCOME_UNSPECIFIED;
}

// A StreamEvents call refused before reading anything (its caller is not authorized).
class RefusedStream final : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  explicit RefusedStream(const grpc::Status& status) { Finish(status); }
  void OnDone() override { delete this; }
};

// How many messages a stream may have in the applier at once. Reading ahead keeps the
// applier's batches full; the bound keeps one stream from queueing without limit.
constexpr int kStreamReadAhead = 4;

}  // namespace

// One StreamEvents call. Reads run ahead of results by up to kStreamReadAhead messages;
// responses are written one at a time, in request order. Deletes itself once gRPC is done
// with it and no applier callback is outstanding.
class StreamEventsReactor final
    : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  StreamEventsReactor(IngestService& service, Applier& applier, const Converter& converter,
                      ServiceMetrics& metrics, const Authorizer& auth,
                      grpc::CallbackServerContext* context, Caller caller,
                      size_t max_response_bytes)
      : service_(service),
        applier_(applier),
        converter_(converter),
        metrics_(metrics),
        auth_(auth),
        context_(context),
        max_response_bytes_(max_response_bytes),
        caller_(std::move(caller)) {
    absl::MutexLock lock(&mu_);
    StartReadLocked();
  }

  // Shutdown: read no more; once the responses owed are written, end with UNAVAILABLE even
  // though a read is outstanding (it completes not ok). Events not acknowledged were not
  // applied, and a resend of acknowledged ones is DUPLICATE, so the client just resends.
  void Drain() {
    absl::MutexLock lock(&mu_);
    draining_ = true;
    half_closed_ = true;
    end_status_ = grpc::Status(grpc::StatusCode::UNAVAILABLE,
                               "the server is shutting down; resend what was not acknowledged");
    MaybeFinishLocked();
  }

  void OnReadDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    reading_ = false;
    if (!ok || draining_) {  // a message read while draining is left unacknowledged
      half_closed_ = true;
      MaybeFinishLocked();
      return;
    }
    const SteadyTime received = applier_.clock().MonotonicTime();
    wire::StreamEventsRequest request;
    if (!ParseFrom(request_, &request)) {
      // Not even protobuf: nothing to attribute to an event, so the stream ends once the
      // responses already owed have been written.
      half_closed_ = true;  // read no further
      end_status_ = grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                 "request: is not a StreamEventsRequest message");
      MaybeFinishLocked();
      return;
    }
    // Checked again for every message, so a key removed from the credentials file stops
    // working on streams already open too.
    absl::StatusOr<Caller> caller = auth_.Authorize(*context_, Permission::kIngest);
    if (!caller.ok()) {
      half_closed_ = true;
      end_status_ = ToGrpcStatus(caller.status());
      MaybeFinishLocked();
      return;
    }
    caller_ = *std::move(caller);
    Submit(request, received);
    if (in_applier_ < kStreamReadAhead) StartReadLocked();
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    Pending& written = responses_.front();
    written.chunks.pop_front();
    if (written.chunks.empty()) responses_.pop_front();
    if (!ok) {
      broken_ = true;
      MaybeFinishLocked();
      return;
    }
    WriteNextLocked();
  }

  void OnCancel() override {
    absl::MutexLock lock(&mu_);
    broken_ = true;
    MaybeFinishLocked();
  }

  void OnDone() override {
    service_.Forget(this);
    bool last;
    {
      absl::MutexLock lock(&mu_);
      done_ = true;
      last = in_applier_ == 0;
    }
    if (last) delete this;
  }

 private:
  void StartReadLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (reading_ || half_closed_ || broken_) return;
    reading_ = true;
    request_.Clear();
    StartRead(&request_);
  }

  // Converts and submits one request's events. Malformed events get their error result here;
  // the rest go to the applier together.
  void Submit(const wire::StreamEventsRequest& request, SteadyTime received)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto response = std::make_shared<v1::StreamEventsResponse>();
    const int count = request.events_size();
    std::vector<state::Input> inputs;
    std::vector<int> slots;  // result index of each submitted input
    std::vector<int> types;  // event type of each submitted input, for the metrics
    for (int i = 0; i < count; ++i) {
      v1::EventResult* result = response->add_results();
      // The id is echoed as sent; a client matches results by position, and ids with
      // malformed UTF-8 cannot go into a proto3 string.
      if (state::IsCleanUtf8(request.events(i).event_id())) {
        result->set_event_id(request.events(i).event_id());
      }
      const int type = request.events(i).type();
      if (count > kMaxEventsPerMessage) {
        const absl::Status too_many = absl::InvalidArgumentError(absl::StrCat(
            "events: at most ", kMaxEventsPerMessage, " events per message, got ", count));
        metrics_.CountEvent(type, too_many);
        FillResult(converter_, too_many, result);
        continue;
      }
      absl::StatusOr<state::Event> event =
          converter_.FromProto(request.events(i), caller_, "event");
      if (!event.ok()) {
        metrics_.CountEvent(type, event.status());
        FillResult(converter_, event.status(), result);
        continue;
      }
      inputs.emplace_back(*std::move(event));
      slots.push_back(i);
      types.push_back(type);
    }
    responses_.emplace_back();
    Pending* pending = &responses_.back();
    pending->response = response;
    if (inputs.empty()) {
      ObserveIngest(metrics_, applier_.clock(), received);
      pending->ready = true;
      WriteNextLocked();
      return;
    }
    ++in_applier_;
    applier_.Submit(
        std::move(inputs), [this, pending, received, slots = std::move(slots),
                            types = std::move(types)](std::vector<Applier::Result> results) {
          for (size_t k = 0; k < results.size(); ++k) {
            metrics_.CountEvent(types[k], results[k]);
            FillResult(converter_, results[k], pending->response->mutable_results(slots[k]));
          }
          ObserveIngest(metrics_, applier_.clock(), received);
          bool last;
          {
            absl::MutexLock lock(&mu_);
            pending->ready = true;
            --in_applier_;
            WriteNextLocked();
            StartReadLocked();
            MaybeFinishLocked();
            last = done_ && in_applier_ == 0;
          }
          if (last) delete this;
        });
  }

  void WriteNextLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (writing_ || broken_ || responses_.empty() || !responses_.front().ready) {
      MaybeFinishLocked();
      return;
    }
    Pending& next = responses_.front();
    if (next.chunks.empty()) {  // first write of this response: split it to fit
      std::vector<grpc::ByteBuffer> chunks = SplitResponse(*next.response, max_response_bytes_);
      next.chunks.assign(std::make_move_iterator(chunks.begin()),
                         std::make_move_iterator(chunks.end()));
      next.response.reset();
    }
    writing_ = true;
    StartWrite(&next.chunks.front());
  }

  void MaybeFinishLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_ || (reading_ && !draining_) || writing_ || in_applier_ > 0) return;
    if (broken_) {
      finished_ = true;
      Finish(grpc::Status::CANCELLED);
    } else if (half_closed_ && responses_.empty()) {
      finished_ = true;
      Finish(end_status_);
    }
  }

  struct Pending {
    std::shared_ptr<v1::StreamEventsResponse> response;
    bool ready = false;
    std::deque<grpc::ByteBuffer> chunks;  // once ready and being written: what is left to send
  };

  IngestService& service_;
  Applier& applier_;
  const Converter& converter_;
  ServiceMetrics& metrics_;
  const Authorizer& auth_;
  grpc::CallbackServerContext* const context_;
  const size_t max_response_bytes_;
  absl::Mutex mu_;
  Caller caller_ ABSL_GUARDED_BY(mu_);  // authorized at the start and for every message
  grpc::ByteBuffer request_ ABSL_GUARDED_BY(mu_);
  grpc::Status end_status_ ABSL_GUARDED_BY(mu_);        // OK, or why the stream stopped reading
  std::deque<Pending> responses_ ABSL_GUARDED_BY(mu_);  // in request order
  int in_applier_ ABSL_GUARDED_BY(mu_) = 0;
  bool reading_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool half_closed_ ABSL_GUARDED_BY(mu_) = false;
  bool broken_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
};

std::vector<grpc::ByteBuffer> SplitResponse(const v1::StreamEventsResponse& response,
                                            size_t max_bytes) {
  std::vector<grpc::ByteBuffer> out;
  if (response.ByteSizeLong() <= max_bytes) {
    out.push_back(Serialize(response));
    return out;
  }
  // Each result costs its size plus a one-byte tag and its length as a varint (at most 5).
  constexpr size_t kFieldOverhead = 6;
  v1::StreamEventsResponse chunk;
  size_t chunk_bytes = 0;
  for (const v1::EventResult& result : response.results()) {
    const size_t cost = result.ByteSizeLong() + kFieldOverhead;
    if (chunk.results_size() > 0 && chunk_bytes + cost > max_bytes) {
      out.push_back(Serialize(chunk));
      chunk.Clear();
      chunk_bytes = 0;
    }
    *chunk.add_results() = result;
    chunk_bytes += cost;
  }
  if (chunk.results_size() > 0) out.push_back(Serialize(chunk));
  return out;
}

void FillResult(const Converter& converter, const Applier::Result& result, v1::EventResult* out) {
  if (!result.ok()) {
    out->set_code(static_cast<int32_t>(result.status().code()));
    out->set_message(std::string(result.status().message()));
    return;
  }
  out->set_code(0);
  out->set_outcome(OutcomeToProto(result->disposition));
  out->set_revision(result->revision);
  if (result->participant) converter.ToProto(*result->participant, out->mutable_participant());
  if (result->track) converter.ToProto(*result->track, out->mutable_published_track());
}

grpc::ServerUnaryReactor* IngestService::RecordEvent(grpc::CallbackServerContext* context,
                                                     const grpc::ByteBuffer* request_bytes,
                                                     grpc::ByteBuffer* response_bytes) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const SteadyTime received = applier_.clock().MonotonicTime();
  const absl::StatusOr<Caller> caller = auth_.Authorize(*context, Permission::kIngest);
  if (!caller.ok()) {
    reactor->Finish(ToGrpcStatus(caller.status()));
    return reactor;
  }
  wire::RecordEventRequest request;
  if (!ParseFrom(*request_bytes, &request)) {
    reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                 "request: is not a RecordEventRequest message"));
    return reactor;
  }
  const int type = request.event().type();
  absl::StatusOr<state::Event> event = converter_.FromProto(request.event(), *caller, "event");
  if (!event.ok()) {
    metrics_.CountEvent(type, event.status());
    ObserveIngest(metrics_, applier_.clock(), received);
    reactor->Finish(ToGrpcStatus(event.status()));
    return reactor;
  }
  std::vector<state::Input> inputs;
  inputs.emplace_back(*std::move(event));
  applier_.Submit(std::move(inputs), [this, reactor, response_bytes, type,
                                      received](std::vector<Applier::Result> results) {
    const Applier::Result& result = results.front();
    metrics_.CountEvent(type, result);
    ObserveIngest(metrics_, applier_.clock(), received);
    if (!result.ok()) {
      reactor->Finish(ToGrpcStatus(result.status()));
      return;
    }
    v1::RecordEventResponse response;
    response.set_outcome(OutcomeToProto(result->disposition));
    response.set_revision(result->revision);
    if (result->participant) {
      converter_.ToProto(*result->participant, response.mutable_participant());
    }
    if (result->track) converter_.ToProto(*result->track, response.mutable_published_track());
    *response_bytes = Serialize(response);
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* IngestService::StreamEvents(
    grpc::CallbackServerContext* context) {
  absl::StatusOr<Caller> caller = auth_.Authorize(*context, Permission::kIngest);
  if (!caller.ok()) return new RefusedStream(ToGrpcStatus(caller.status()));
  absl::MutexLock lock(&streams_mu_);
  if (static_cast<int>(streams_.size()) >= limits_.max_streams) {
    return new RefusedStream(
        grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                     absl::StrCat("--max_ingest_streams: ", limits_.max_streams,
                                  " StreamEvents calls are open; retry later or reuse one")));
  }
  auto* reactor = new StreamEventsReactor(*this, applier_, converter_, metrics_, auth_, context,
                                          *std::move(caller), limits_.max_response_bytes);
  streams_.insert(reactor);
  if (draining_) reactor->Drain();
  return reactor;
}

void IngestService::Drain() {
  absl::MutexLock lock(&streams_mu_);
  draining_ = true;
  for (StreamEventsReactor* stream : streams_) stream->Drain();
}

void IngestService::Forget(StreamEventsReactor* stream) {
  absl::MutexLock lock(&streams_mu_);
  streams_.erase(stream);
}

}  // namespace rollcall::service
