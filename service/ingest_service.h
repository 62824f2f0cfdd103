// IngestService: media servers' events in. RecordEvent is one event per call; StreamEvents
// carries up to 1,000 events per message and answers each message with their results in
// order. Neither blocks a gRPC thread: both hand inputs to the Applier and finish from its
// completion callback. Both run on gRPC's raw API and parse requests through the mirrors of
// service/ingest_wire.proto, so malformed UTF-8 is an event's INVALID_ARGUMENT naming the
// field, not a request protobuf refuses to parse.
#ifndef ROLLCALL_SERVICE_INGEST_SERVICE_H_
#define ROLLCALL_SERVICE_INGEST_SERVICE_H_

#include "rollcall/v1/ingest_service.grpc.pb.h"
#include "service/applier.h"
#include "service/convert.h"

namespace rollcall::service {

inline constexpr int kMaxEventsPerMessage = 1000;

class IngestService final
    : public v1::IngestService::WithRawCallbackMethod_RecordEvent<
          v1::IngestService::WithRawCallbackMethod_StreamEvents<v1::IngestService::Service>> {
 public:
  IngestService(Applier& applier, const Converter& converter)
      : applier_(applier), converter_(converter) {}

  grpc::ServerUnaryReactor* RecordEvent(grpc::CallbackServerContext* context,
                                        const grpc::ByteBuffer* request,
                                        grpc::ByteBuffer* response) override;
  grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* StreamEvents(
      grpc::CallbackServerContext* context) override;

 private:
  Applier& applier_;
  const Converter& converter_;
};

// Fills an EventResult (or a RecordEventResponse) from a machine result.
void FillResult(const Converter& converter, const Applier::Result& result, v1::EventResult* out);

}  // namespace rollcall::service

#endif  // ROLLCALL_SERVICE_INGEST_SERVICE_H_
