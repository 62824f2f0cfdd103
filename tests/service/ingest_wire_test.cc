// The parse-only mirrors in service/ingest_wire.proto must stay wire-compatible with the
// public ingest messages: same field names and numbers, and a round trip keeps every value.
#include "gtest/gtest.h"
#include "rollcall/v1/ingest_service.pb.h"
#include "service/ingest_wire.pb.h"

namespace rollcall::service {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;

// Every public field exists in the mirror under the same name and number, and vice versa.
void ExpectSameFields(const Descriptor* public_message, const Descriptor* mirror) {
  ASSERT_EQ(public_message->field_count(), mirror->field_count()) << public_message->full_name();
  for (int i = 0; i < public_message->field_count(); ++i) {
    const FieldDescriptor* field = public_message->field(i);
    const FieldDescriptor* twin = mirror->FindFieldByNumber(field->number());
    ASSERT_NE(twin, nullptr) << field->full_name() << " has no mirror";
    EXPECT_EQ(twin->name(), field->name()) << field->full_name();
    EXPECT_EQ(twin->is_repeated(), field->is_repeated()) << field->full_name();
  }
}

TEST(IngestWireTest, MirrorsHaveThePublicFields) {
  ExpectSameFields(v1::Event::descriptor(), wire::Event::descriptor());
  ExpectSameFields(v1::RecordEventRequest::descriptor(), wire::RecordEventRequest::descriptor());
  ExpectSameFields(v1::StreamEventsRequest::descriptor(), wire::StreamEventsRequest::descriptor());
}

TEST(IngestWireTest, PublicBytesParseIntoTheMirrorWithEveryValue) {
  v1::StreamEventsRequest request;
  v1::Event* event = request.add_events();
  event->set_event_id("ev-1");
  event->set_type(v1::EVENT_TYPE_PARTICIPANT_DISCONNECTED);
  event->mutable_occurred_at()->set_seconds(1700000000);
  event->mutable_occurred_at()->set_nanos(5);
  event->set_room("standup");
  event->set_participant_sid("PA0123456789abcdef0123456789abcdef");
  event->set_identity("alice");
  event->set_reason(v1::DISCONNECT_REASON_REMOVED);
  event->set_account_sid("AC0123456789abcdef0123456789abcdef");

  wire::StreamEventsRequest mirror;
  ASSERT_TRUE(mirror.ParseFromString(request.SerializeAsString()));
  ASSERT_EQ(mirror.events_size(), 1);
  const wire::Event& parsed = mirror.events(0);
  EXPECT_EQ(parsed.event_id(), "ev-1");
  EXPECT_EQ(parsed.type(), v1::EVENT_TYPE_PARTICIPANT_DISCONNECTED);
  EXPECT_EQ(parsed.occurred_at().seconds(), 1700000000);
  EXPECT_EQ(parsed.occurred_at().nanos(), 5);
  EXPECT_EQ(parsed.room(), "standup");
  EXPECT_EQ(parsed.participant_sid(), "PA0123456789abcdef0123456789abcdef");
  EXPECT_EQ(parsed.identity(), "alice");
  EXPECT_EQ(parsed.reason(), v1::DISCONNECT_REASON_REMOVED);
  EXPECT_EQ(parsed.account_sid(), "AC0123456789abcdef0123456789abcdef");
  // And back: the mirror's bytes are the public message's bytes.
  EXPECT_EQ(mirror.SerializeAsString(), request.SerializeAsString());
}

TEST(IngestWireTest, MalformedUtf8ParsesIntoTheMirrorButNotThePublicMessage) {
  wire::RecordEventRequest mirror;
  mirror.mutable_event()->set_identity("bad\xff");
  const std::string bytes = mirror.SerializeAsString();
  wire::RecordEventRequest parsed;
  ASSERT_TRUE(parsed.ParseFromString(bytes));
  EXPECT_EQ(parsed.event().identity(), "bad\xff");
  v1::RecordEventRequest strict;
  EXPECT_FALSE(strict.ParseFromString(bytes));  // why the server parses the mirror
}

}  // namespace
}  // namespace rollcall::service
