// IngestService: media servers' events in. RecordEvent is one event per call; StreamEvents
// carries up to 1,000 events per message and answers each message with their results in
// order. Neither blocks a gRPC thread: both hand inputs to the Applier and finish from its
// completion callback. Both run on gRPC's raw API and parse requests through the mirrors of
// service/ingest_wire.proto, so malformed UTF-8 is an event's INVALID_ARGUMENT naming the
// field, not a request protobuf refuses to parse. Both need role ingest (service/auth.h);
// a stream is authorized when it opens and again for each message.
#ifndef ROLLCALL_SERVICE_INGEST_SERVICE_H_
#define ROLLCALL_SERVICE_INGEST_SERVICE_H_

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "rollcall/v1/ingest_service.grpc.pb.h"
#include "service/applier.h"
#include "service/auth.h"
#include "service/convert.h"
#include "service/server_metrics.h"

namespace rollcall::service {

class StreamEventsReactor;

inline constexpr int kMaxEventsPerMessage = 1000;

class IngestService final
    : public v1::IngestService::WithRawCallbackMethod_RecordEvent<
          v1::IngestService::WithRawCallbackMethod_StreamEvents<v1::IngestService::Service>> {
 public:
  IngestService(Applier& applier, const Converter& converter, ServiceMetrics& metrics,
                const Authorizer& auth)
      : applier_(applier), converter_(converter), metrics_(metrics), auth_(auth) {}

  grpc::ServerUnaryReactor* RecordEvent(grpc::CallbackServerContext* context,
                                        const grpc::ByteBuffer* request,
                                        grpc::ByteBuffer* response) override;
  grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* StreamEvents(
      grpc::CallbackServerContext* context) override;

  // Shutdown: every open StreamEvents call writes the responses it owes and ends UNAVAILABLE
  // (media servers hold these streams open for good, so they would otherwise run into the
  // shutdown deadline and be cancelled). Streams opened later end at once.
  void Drain();
  // A stream is done (called by the stream).
  void Forget(StreamEventsReactor* stream);

 private:
  Applier& applier_;
  const Converter& converter_;
  ServiceMetrics& metrics_;
  const Authorizer& auth_;
  absl::Mutex streams_mu_;
  absl::flat_hash_set<StreamEventsReactor*> streams_ ABSL_GUARDED_BY(streams_mu_);
  bool draining_ ABSL_GUARDED_BY(streams_mu_) = false;
};

// Fills an EventResult (or a RecordEventResponse) from a machine result.
void FillResult(const Converter& converter, const Applier::Result& result, v1::EventResult* out);

}  // namespace rollcall::service

#endif  // ROLLCALL_SERVICE_INGEST_SERVICE_H_
