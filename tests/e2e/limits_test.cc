// The limits no client can exhaust, end to end against the real rollcalld: each is answered
// RESOURCE_EXHAUSTED naming its flag and leaves other clients' service intact.
// - A StreamEvents message of 70,000 small events is answered in several responses, each
//   within the max message size, results in order; the stream stays up for the next message.
// - A request larger than --max_message_bytes is refused; the server keeps serving.
// - --max_ingest_streams: one stream too many is refused; the open ones keep working.
// - --max_account_rooms / --max_account_participants: one account at its quota is refused,
//   another account is not.
// - An unknown gRPC method counts as method="unknown" in rollcall_rpcs_total, whatever its name.
#include <httplib.h>

#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "client.h"
#include "gmock/gmock.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "server_process.h"

namespace rollcall::testing {
namespace {

using ::testing::HasSubstr;

std::string MetricsText(int port) {
  httplib::Client client("127.0.0.1", port);
  httplib::Result response = client.Get("/metrics");
  if (!response) return "";
  return response->body;
}

TEST(LimitsTest, HugeStreamEventsMessageIsAnsweredInSeveralResponsesInOrder) {
  ServerProcess server({"--store=memory"});
  ASSERT_TRUE(server.Start());
  // A channel with gRPC's default 4 MiB receive limit, the same as the server's send limit.
  auto channel = server.NewChannel();
  auto stub = v1::IngestService::NewStub(channel);
  grpc::ClientContext context;
  auto stream = stub->StreamEvents(&context);

  constexpr int kEvents = 70000;
  v1::StreamEventsRequest huge;
  for (int i = 0; i < kEvents; ++i) {
    v1::Event* event = huge.add_events();
    event->set_event_id("e" + std::to_string(i));
    event->set_type(v1::EVENT_TYPE_PARTICIPANT_CONNECTED);
  }
  ASSERT_TRUE(stream->Write(huge));
  int responses = 0;
  int results = 0;
  size_t total_bytes = 0;
  while (results < kEvents) {
    v1::StreamEventsResponse response;
    ASSERT_TRUE(stream->Read(&response)) << "after " << results << " results";
    ++responses;
    EXPECT_LE(response.ByteSizeLong(), size_t{4} << 20);
    total_bytes += response.ByteSizeLong();
    for (const v1::EventResult& result : response.results()) {
      ASSERT_EQ(result.event_id(), "e" + std::to_string(results)) << "results out of order";
      EXPECT_EQ(result.code(), grpc::StatusCode::INVALID_ARGUMENT);
      EXPECT_THAT(result.message(), HasSubstr("events: at most 1000 events per message"));
      ++results;
    }
  }
  EXPECT_EQ(results, kEvents);
  EXPECT_GT(total_bytes, size_t{4} << 20) << "the results must not fit in one response";
  EXPECT_GT(responses, 1);

  // The same stream takes the next message.
  v1::StreamEventsRequest next;
  *next.add_events() = ConnectedEvent("after-huge", "alice");
  ASSERT_TRUE(stream->Write(next));
  v1::StreamEventsResponse answer;
  ASSERT_TRUE(stream->Read(&answer));
  ASSERT_EQ(answer.results_size(), 1);
  EXPECT_EQ(answer.results(0).code(), 0) << answer.results(0).message();
  EXPECT_EQ(answer.results(0).outcome(), v1::EVENT_OUTCOME_APPLIED);
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());
}

TEST(LimitsTest, RequestOverMaxMessageBytesIsRefused) {
  ServerProcess server({"--store=memory", "--max_message_bytes=65536"});
  ASSERT_TRUE(server.Start());
  grpc::ChannelArguments args;
  args.SetMaxSendMessageSize(8 << 20);
  auto channel =
      grpc::CreateCustomChannel(server.address(), grpc::InsecureChannelCredentials(), args);
  auto stub = v1::IngestService::NewStub(channel);
  v1::RecordEventRequest request;
  *request.mutable_event() = ConnectedEvent("big", std::string(100000, 'x'));
  v1::RecordEventResponse response;
  grpc::ClientContext context;
  const grpc::Status status = stub->RecordEvent(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << Describe(status);
  // Still serving.
  Client client(server.NewChannel());
  EXPECT_EQ(client.MustApply(ConnectedEvent("small", "alice")).outcome(),
            v1::EVENT_OUTCOME_APPLIED);
}

TEST(LimitsTest, IngestStreamsPastTheLimitAreRefusedAndOpenOnesKeepWorking) {
  ServerProcess server({"--store=memory", "--max_ingest_streams=2"});
  ASSERT_TRUE(server.Start());
  auto stub = v1::IngestService::NewStub(server.NewChannel());
  grpc::ClientContext first_context, second_context, third_context;
  auto first = stub->StreamEvents(&first_context);
  auto second = stub->StreamEvents(&second_context);
  // Both open for sure: each has answered a message.
  for (auto* stream : {first.get(), second.get()}) {
    v1::StreamEventsRequest request;
    *request.add_events() = ConnectedEvent("streams", "s" + NextEventId());
    ASSERT_TRUE(stream->Write(request));
    v1::StreamEventsResponse response;
    ASSERT_TRUE(stream->Read(&response));
  }
  auto third = stub->StreamEvents(&third_context);
  v1::StreamEventsResponse ignored;
  EXPECT_FALSE(third->Read(&ignored));
  const grpc::Status refused = third->Finish();
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(refused.error_message(), HasSubstr("--max_ingest_streams"));

  v1::StreamEventsRequest request;
  *request.add_events() = ConnectedEvent("streams", "late");
  ASSERT_TRUE(first->Write(request));
  v1::StreamEventsResponse response;
  ASSERT_TRUE(first->Read(&response));
  EXPECT_EQ(response.results(0).outcome(), v1::EVENT_OUTCOME_APPLIED);
  // Closing one frees its place.
  second->WritesDone();
  EXPECT_TRUE(second->Finish().ok());
  EXPECT_TRUE(WaitUntil([&] {
    grpc::ClientContext context;
    auto again = stub->StreamEvents(&context);
    v1::StreamEventsRequest retry;
    *retry.add_events() = ConnectedEvent("streams", "s" + NextEventId());
    v1::StreamEventsResponse answer;
    const bool ok = again->Write(retry) && again->Read(&answer);
    again->WritesDone();
    again->Finish();
    return ok;
  }));
  first->WritesDone();
  EXPECT_TRUE(first->Finish().ok());
}

TEST(LimitsTest, AccountQuotasRefuseOneTenantAndNotAnother) {
  ServerProcess server({"--store=memory", "--max_account_rooms=2", "--max_account_participants=3"});
  ASSERT_TRUE(server.Start());
  Client full(server.Channel(), NewAccountSid());
  Client other(server.Channel(), NewAccountSid());
  full.Connect("q1", "a");
  full.Connect("q1", "b");
  full.Connect("q2", "c");
  // A third room: the room quota.
  v1::CreateRoomRequest create;
  create.set_unique_name("q3");
  v1::CreateRoomResponse created;
  grpc::Status status = full.CreateRoom(create, &created);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << Describe(status);
  EXPECT_THAT(status.error_message(), HasSubstr("--max_account_rooms"));
  // A fourth participant: the participant quota.
  v1::Event fourth = ConnectedEvent("q1", "d");
  status = full.Record(fourth);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << Describe(status);
  EXPECT_THAT(status.error_message(), HasSubstr("--max_account_participants"));
  // Another tenant is served.
  EXPECT_EQ(other.Connect("q4", "a").outcome(), v1::EVENT_OUTCOME_APPLIED);
  EXPECT_EQ(other.MustCreateRoom(create).room().unique_name(), "q3");
}

TEST(LimitsTest, UnknownMethodsShareOneSeries) {
  ServerProcess server({"--store=memory"});
  ASSERT_TRUE(server.Start());
  grpc::GenericStub generic(server.Channel());
  for (int i = 0; i < 50; ++i) {
    grpc::ClientContext context;
    grpc::ByteBuffer response;
    grpc::Slice empty("");
    grpc::ByteBuffer request(&empty, 1);
    std::mutex mu;
    std::condition_variable done_cv;
    bool done = false;
    grpc::Status status;
    generic.UnaryCall(&context, "/made.up.Service" + std::to_string(i) + "/Method", {}, &request,
                      &response, [&](grpc::Status s) {
                        std::lock_guard lock(mu);
                        status = s;
                        done = true;
                        done_cv.notify_one();
                      });
    std::unique_lock lock(mu);
    done_cv.wait(lock, [&] { return done; });
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  }
  Client client(server.Channel());
  client.MustApply(ConnectedEvent("known", "alice"));
  const std::string text = MetricsText(server.metrics_port());
  EXPECT_THAT(text,
              HasSubstr("rollcall_rpcs_total{method=\"unknown\",code=\"unimplemented\"} 50\n"));
  EXPECT_THAT(text, HasSubstr("method=\"rollcall.v1.IngestService/RecordEvent\",code=\"ok\"} 1\n"));
  EXPECT_THAT(text, ::testing::Not(HasSubstr("made.up")));
}

}  // namespace
}  // namespace rollcall::testing
