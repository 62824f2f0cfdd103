// Unit tests of the converters (service/convert.h) and page tokens: round trips, and every
// rejection names its field.
#include "service/convert.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rollcall::service {
namespace {

using ::testing::HasSubstr;

const state::Sid kAccount = *state::Sid::Parse("AC00000000000000000000000000000000", "AC", "a");
const state::Sid kRoom = *state::Sid::Parse("RM0123456789abcdef0123456789abcdef", "RM", "r");
const state::Sid kParticipant = *state::Sid::Parse("PA0123456789abcdef0123456789abcdef", "PA", "p");

state::Participant ConnectedParticipant() {
  state::Participant p;
  p.sid = kParticipant;
  p.account_sid = kAccount;
  p.room_sid = kRoom;
  p.identity = "ada";
  p.status = state::ParticipantStatus::kConnected;
  return p;
}

TEST(ConvertTest, TimestampsRoundTripIncludingBeforeTheEpoch) {
  for (absl::Time time : {absl::UnixEpoch(), absl::FromUnixNanos(1'700'000'000'123'456'789),
                          absl::FromUnixNanos(-1), absl::FromUnixSeconds(-62135596800)}) {
    google::protobuf::Timestamp proto;
    ToProto(time, &proto);
    EXPECT_GE(proto.nanos(), 0);
    absl::StatusOr<std::optional<absl::Time>> back = FromProto(proto, true, "t");
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(**back, time);
  }
  google::protobuf::Timestamp unset;
  EXPECT_FALSE(FromProto(unset, false, "t")->has_value());
}

TEST(ConvertTest, OutOfRangeTimestampsAndEnumsNameTheField) {
  google::protobuf::Timestamp bad;
  bad.set_seconds(253402300800);  // 10000-01-01
  EXPECT_THAT(FromProto(bad, true, "event.occurred_at").status().message(),
              HasSubstr("event.occurred_at"));
  bad.set_seconds(0);
  bad.set_nanos(1'000'000'000);
  EXPECT_EQ(FromProto(bad, true, "t").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(ParticipantStatusFromProto(99, "status").status().message(), HasSubstr("status"));
  EXPECT_THAT(RoomStatusFromProto(-1, "room.status").status().message(), HasSubstr("room.status"));
  EXPECT_TRUE(ParticipantStatusFromProto(1, "status").ok());
}

TEST(ConvertTest, ParticipantCarriesUrlAndLinksFromTheBaseUrl) {
  const Converter converter("https://rollcall.example", kAccount);
  v1::Participant proto;
  converter.ToProto(ConnectedParticipant(), &proto);
  EXPECT_EQ(proto.sid(), kParticipant.ToString());
  EXPECT_EQ(proto.room_sid(), kRoom.ToString());
  EXPECT_EQ(proto.status(), v1::PARTICIPANT_STATUS_CONNECTED);
  EXPECT_FALSE(proto.has_end_time());
  EXPECT_EQ(proto.url(), "https://rollcall.example/v1/Rooms/" + kRoom.ToString() +
                             "/Participants/" + kParticipant.ToString());
}

// A revision's changes render with the rendering converter's base URL: the change log holds
// domain records, so history follows --public_base_url like live reads do.
TEST(ConvertTest, ChangeSetRendersWithTheConvertersBaseUrl) {
  state::Change change;
  change.revision = 7;
  change.type = state::ChangeType::kParticipantConnected;
  change.resource = ConnectedParticipant();
  for (const std::string base : {"http://old.example", "https://new.example"}) {
    v1::WatchResponse message;
    ASSERT_TRUE(message.ParseFromString(Converter(base, kAccount).SerializeChangeSet({change})));
    EXPECT_EQ(message.changes().revision(), 7u);
    ASSERT_EQ(message.changes().changes_size(), 1);
    EXPECT_EQ(message.changes().changes(0).participant().url(),
              base + "/v1/Rooms/" + kRoom.ToString() + "/Participants/" + kParticipant.ToString());
  }
}

TEST(PageTokenTest, RoundTripsAndIsBoundToItsFilters) {
  const state::PageKey key{absl::FromUnixNanos(1'700'000'000'000'000'001), kParticipant};
  const std::string token = EncodePageToken(key, 42);
  absl::StatusOr<state::PageKey> back = DecodePageToken(token, 42);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, key);
  absl::StatusOr<state::PageKey> other = DecodePageToken(token, 43);
  EXPECT_EQ(other.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(other.status().message(), HasSubstr("page_token"));
  for (const std::string& garbage : {std::string("!!"), std::string(""), token.substr(1)}) {
    EXPECT_EQ(DecodePageToken(garbage, 42).status().code(), absl::StatusCode::kInvalidArgument)
        << garbage;
  }
}

TEST(PageTokenTest, PageSizeDefaultsAndBounds) {
  EXPECT_EQ(*PageSize(0), 50);
  EXPECT_EQ(*PageSize(1000), 1000);
  EXPECT_THAT(PageSize(1001).status().message(), HasSubstr("page_size"));
  EXPECT_FALSE(PageSize(-1).ok());
}

}  // namespace
}  // namespace rollcall::service
