// gRPC's resource quota on the main port (docs/security.md, "Connections"), end to end:
// - --grpc_max_threads bounds the threads of the synchronous services: with 2 (one poller, one
//   call), a server-reflection stream holds the only call thread, a second one is
//   RESOURCE_EXHAUSTED at once, and the callback services (ingest, queries) keep serving; once
//   the first stream ends, reflection serves again.
// - Bad values of --grpc_max_threads and --grpc_memory_quota_bytes stop start-up naming the flag.
#include <grpcpp/grpcpp.h>
#include <grpcpp/support/sync_stream.h>

#include <memory>
#include <string>

#include "client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server_process.h"

namespace rollcall::testing {
namespace {

using ::testing::HasSubstr;

constexpr char kReflection[] = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo";

// A ServerReflectionInfo stream (bidi, served by a synchronous handler on its own thread for
// as long as it is open), driven with hand-encoded requests.
class ReflectionStream {
 public:
  explicit ReflectionStream(const std::shared_ptr<grpc::Channel>& channel)
      : method_(kReflection, grpc::internal::RpcMethod::BIDI_STREAMING),
        context_(Deadline(std::chrono::seconds(30))),
        stream_(
            grpc::internal::ClientReaderWriterFactory<grpc::ByteBuffer, grpc::ByteBuffer>::Create(
                channel.get(), method_, context_.get())) {}

  // Asks for the list of services: true when an answer came.
  bool ListServices() {
    const std::string list_services("\x3a\x00", 2);  // field 7 (list_services) = ""
    grpc::Slice slice(list_services);
    grpc::ByteBuffer request(&slice, 1);
    grpc::ByteBuffer response;
    return stream_->Write(request) && stream_->Read(&response);
  }
  grpc::Status Close() {
    stream_->WritesDone();
    grpc::ByteBuffer ignored;
    while (stream_->Read(&ignored)) {
    }
    return stream_->Finish();
  }

 private:
  const grpc::internal::RpcMethod method_;
  std::unique_ptr<grpc::ClientContext> context_;
  std::unique_ptr<grpc::ClientReaderWriter<grpc::ByteBuffer, grpc::ByteBuffer>> stream_;
};

TEST(GrpcQuotaTest, MaxThreadsRefusesSynchronousCallsBeyondItAndSparesTheRest) {
  ServerProcess server({"--store=memory", "--grpc_max_threads=2"});
  ASSERT_TRUE(server.Start());
  Client client(server.Channel());

  ReflectionStream holder(server.Channel());
  ASSERT_TRUE(holder.ListServices()) << "the first reflection stream is served";

  ReflectionStream refused(server.Channel());
  EXPECT_FALSE(refused.ListServices());
  const grpc::Status refusal = refused.Close();
  EXPECT_EQ(refusal.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(refusal.error_message(), HasSubstr("--grpc_max_threads"));

  // The callback services do not use those threads.
  client.Connect("quota-room", "ann");
  v1::ListRoomsResponse rooms;
  EXPECT_TRUE(client.ListRooms({}, &rooms).ok());
  EXPECT_EQ(rooms.rooms_size(), 1);

  ASSERT_TRUE(holder.Close().ok());
  // The thread is free again (it returns to polling on its own time: wait, with a deadline).
  EXPECT_TRUE(WaitUntil([&] {
    ReflectionStream again(server.Channel());
    const bool served = again.ListServices();
    again.Close().IgnoreError();
    return served;
  }));
  EXPECT_EQ(server.Stop(), 0);
}

TEST(GrpcQuotaTest, BadQuotaFlagsStopStartUpNamingTheFlag) {
  {
    const auto [code, log] = RunToExit({"--grpc_max_threads=1"});
    EXPECT_EQ(code, 2);
    EXPECT_THAT(log, HasSubstr("--grpc_max_threads: must be at least 2"));
  }
  {
    const auto [code, log] = RunToExit({"--grpc_memory_quota_bytes=1024"});
    EXPECT_EQ(code, 2);
    EXPECT_THAT(log, HasSubstr("--grpc_memory_quota_bytes: must be at least 16777216"));
  }
}

}  // namespace
}  // namespace rollcall::testing
