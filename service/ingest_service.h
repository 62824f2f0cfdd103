// IngestService: media servers' events in. RecordEvent is one event per call; StreamEvents
// carries up to 1,000 events per message and answers each message with their results in
// order. Neither blocks a gRPC thread: both hand inputs to the Applier and finish from its
// completion callback.
#ifndef ROLLCALL_SERVICE_INGEST_SERVICE_H_
#define ROLLCALL_SERVICE_INGEST_SERVICE_H_

#include "rollcall/v1/ingest_service.grpc.pb.h"
#include "service/applier.h"
#include "service/convert.h"

namespace rollcall::service {

inline constexpr int kMaxEventsPerMessage = 1000;

class IngestService final : public v1::IngestService::CallbackService {
 public:
  IngestService(Applier& applier, const Converter& converter)
      : applier_(applier), converter_(converter) {}

  grpc::ServerUnaryReactor* RecordEvent(grpc::CallbackServerContext* context,
                                        const v1::RecordEventRequest* request,
                                        v1::RecordEventResponse* response) override;
  grpc::ServerBidiReactor<v1::StreamEventsRequest, v1::StreamEventsResponse>* StreamEvents(
      grpc::CallbackServerContext* context) override;

 private:
  Applier& applier_;
  const Converter& converter_;
};

// Fills an EventResult (or a RecordEventResponse) from a machine result.
void FillResult(const Converter& converter, const Applier::Result& result,
                v1::EventResult* out);

}  // namespace rollcall::service

#endif  // ROLLCALL_SERVICE_INGEST_SERVICE_H_
