// The service's time comes from the injected Clock: an in-process Server on a SimulatedClock
// that never moves measures every ingest as taking no time at all, where the real clock
// would measure some.
#include <httplib.h>

#include <memory>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/util/time_util.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "rollcall/v1/ingest_service.grpc.pb.h"
#include "service/clock.h"
#include "service/server.h"

namespace rollcall::service {
namespace {

// The value of the sample named exactly `name` in a Prometheus text exposition; nullopt if none.
std::optional<double> Sample(const std::string& exposition, const std::string& name) {
  for (absl::string_view line : absl::StrSplit(exposition, '\n')) {
    std::pair<absl::string_view, absl::string_view> parts = absl::StrSplit(line, ' ');
    double value = 0;
    if (parts.first == name && absl::SimpleAtod(parts.second, &value)) return value;
  }
  return std::nullopt;
}

TEST(ServerClockTest, IngestLatencyIsMeasuredOnTheInjectedClock) {
  SimulatedClock clock;
  ServerOptions options;
  options.listen_address = "127.0.0.1:0";
  options.store = "memory";
  options.metrics_port = 0;
  options.clock = &clock;
  absl::StatusOr<std::unique_ptr<Server>> server = Server::Start(options);
  ASSERT_TRUE(server.ok()) << server.status();

  auto stub = v1::IngestService::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string((*server)->port()), grpc::InsecureChannelCredentials()));
  for (int i = 0; i < 3; ++i) {
    v1::RecordEventRequest request;
    v1::Event& event = *request.mutable_event();
    event.set_event_id("clock-" + std::to_string(i));
    event.set_type(v1::EVENT_TYPE_PARTICIPANT_CONNECTED);
    *event.mutable_occurred_at() = google::protobuf::util::TimeUtil::NanosecondsToTimestamp(
        absl::ToUnixNanos(clock.SystemTime()));
    event.set_room("clock-room");
    event.set_identity("user-" + std::to_string(i));
    grpc::ClientContext context;
    v1::RecordEventResponse response;
    const grpc::Status status = stub->RecordEvent(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.outcome(), v1::EVENT_OUTCOME_APPLIED);
  }

  httplib::Client metrics("127.0.0.1", (*server)->metrics_port());
  httplib::Result scraped = metrics.Get("/metrics");
  ASSERT_TRUE(scraped) << httplib::to_string(scraped.error());
  EXPECT_EQ(Sample(scraped->body, "rollcall_ingest_latency_seconds_count"), 3.0) << scraped->body;
  // The clock never moved: the real clock would have measured each call as taking some time.
  EXPECT_EQ(Sample(scraped->body, "rollcall_ingest_latency_seconds_sum"), 0.0) << scraped->body;
  (*server)->Shutdown(absl::Seconds(5));
}

}  // namespace
}  // namespace rollcall::service
