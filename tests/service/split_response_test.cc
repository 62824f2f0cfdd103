// SplitResponse: a StreamEvents response that fits goes out whole; one that does not is cut
// into messages each within the limit, holding every result once, in order, never a result cut.
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "service/byte_buffers.h"
#include "service/ingest_service.h"

namespace rollcall::service {
namespace {

v1::StreamEventsResponse Results(int count, size_t message_bytes) {
  v1::StreamEventsResponse response;
  for (int i = 0; i < count; ++i) {
    v1::EventResult* result = response.add_results();
    result->set_event_id("e" + std::to_string(i));
    result->set_code(3);
    result->set_message(std::string(message_bytes, 'm'));
  }
  return response;
}

std::vector<v1::StreamEventsResponse> Parse(const std::vector<grpc::ByteBuffer>& buffers) {
  std::vector<v1::StreamEventsResponse> out;
  for (const grpc::ByteBuffer& buffer : buffers) {
    out.emplace_back();
    EXPECT_TRUE(ParseFrom(buffer, &out.back()));
  }
  return out;
}

TEST(SplitResponseTest, AResponseThatFitsIsOneMessage) {
  const v1::StreamEventsResponse response = Results(10, 20);
  const std::vector<grpc::ByteBuffer> parts = SplitResponse(response, response.ByteSizeLong());
  ASSERT_EQ(parts.size(), 1u);
  EXPECT_EQ(Parse(parts)[0].SerializeAsString(), response.SerializeAsString());
}

TEST(SplitResponseTest, ALargeResponseIsCutInOrderWithinTheLimit) {
  for (const size_t limit : {size_t{1000}, size_t{4096}, size_t{65536}}) {
    const v1::StreamEventsResponse response = Results(3000, 57);
    ASSERT_GT(response.ByteSizeLong(), limit);
    const std::vector<grpc::ByteBuffer> parts = SplitResponse(response, limit);
    EXPECT_GE(parts.size(), response.ByteSizeLong() / limit);
    int next = 0;
    for (const v1::StreamEventsResponse& part : Parse(parts)) {
      EXPECT_LE(part.ByteSizeLong(), limit) << "limit " << limit;
      EXPECT_GT(part.results_size(), 0);
      for (const v1::EventResult& result : part.results()) {
        EXPECT_EQ(result.SerializeAsString(), response.results(next).SerializeAsString());
        ++next;
      }
    }
    EXPECT_EQ(next, response.results_size()) << "limit " << limit;
  }
}

TEST(SplitResponseTest, AResultLargerThanTheLimitGoesAloneAndWhole) {
  v1::StreamEventsResponse response = Results(3, 10);
  response.mutable_results(1)->set_message(std::string(5000, 'x'));
  const std::vector<v1::StreamEventsResponse> parts = Parse(SplitResponse(response, 1000));
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[1].results(0).message().size(), 5000u);
}

}  // namespace
}  // namespace rollcall::service
