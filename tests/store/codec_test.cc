// Codec round trips: every field of every stored record, set and unset, survives exactly; and
// malformed bytes are DATA_LOSS, never a half-decoded record.
#include "store/codec.h"

#include <cstdint>
#include <functional>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "store/keys.h"
#include "tests/store/records_for_tests.h"

namespace rollcall::store {
namespace {

using test_records::At;
using test_records::ParticipantSid;

template <typename Record>
Record RoundTrip(const Record& record) {
  std::string bytes;
  Encode(record, &bytes);
  Record decoded;
  const absl::Status status = Decode(bytes, &decoded);
  EXPECT_TRUE(status.ok()) << status;
  return decoded;
}

// A participant with every field, optional ones included, set to a distinct non-default value.
state::Participant FullParticipant() {
  state::Participant p = test_records::DisconnectedParticipant(7, 3, 42);
  p.reconnecting_since = At(40, 11);  // normally cleared on disconnect; here it must survive
  p.disconnect_reason = state::DisconnectReason::kRoomEnded;
  return p;
}

TEST(CodecTest, ParticipantWithEveryFieldSetRoundTrips) {
  const state::Participant p = FullParticipant();
  ASSERT_TRUE(p.end_time && p.duration && p.reconnecting_since);
  EXPECT_EQ(RoundTrip(p), p);
}

TEST(CodecTest, ParticipantWithOptionalsUnsetRoundTrips) {
  const state::Participant p = test_records::ConnectedParticipant(1, 1);
  ASSERT_FALSE(p.end_time || p.duration || p.reconnecting_since);
  const state::Participant decoded = RoundTrip(p);
  EXPECT_EQ(decoded, p);
  EXPECT_FALSE(decoded.end_time.has_value());
  EXPECT_FALSE(decoded.duration.has_value());
  EXPECT_FALSE(decoded.reconnecting_since.has_value());
}

// Zero is a value, not absence: an optional set to the epoch or to 0 stays set.
TEST(CodecTest, OptionalsSetToZeroStaySet) {
  state::Participant p;
  p.end_time = absl::UnixEpoch();
  p.duration = 0;
  p.reconnecting_since = absl::UnixEpoch();
  EXPECT_EQ(RoundTrip(p), p);

  state::Room room;
  room.end_time = absl::UnixEpoch();
  room.duration = 0;
  EXPECT_EQ(RoundTrip(room), room);
}

TEST(CodecTest, DefaultRecordsRoundTrip) {
  EXPECT_EQ(RoundTrip(state::Participant()), state::Participant());
  EXPECT_EQ(RoundTrip(state::Room()), state::Room());
  EXPECT_EQ(RoundTrip(state::DedupeEntry()), state::DedupeEntry());
}

// Each row changes one participant field; the change must survive the round trip. This names the
// field that an encoder forgot, where a whole-record comparison only says "not equal".
TEST(CodecTest, EachParticipantFieldSurvivesOnItsOwn) {
  const std::vector<std::pair<std::string, std::function<void(state::Participant&)>>> rows = {
      {"sid", [](auto& p) { p.sid = ParticipantSid(99); }},
      {"account_sid", [](auto& p) { p.account_sid = test_records::Account(99); }},
      {"room_sid", [](auto& p) { p.room_sid = test_records::RoomSid(99); }},
      {"identity", [](auto& p) { p.identity = std::string("a\0b", 3); }},
      {"status", [](auto& p) { p.status = state::ParticipantStatus::kReconnecting; }},
      {"date_created", [](auto& p) { p.date_created = At(-5, 1); }},
      {"date_updated", [](auto& p) { p.date_updated = At(1000, 2); }},
      {"start_time", [](auto& p) { p.start_time = At(3, 3); }},
      {"end_time", [](auto& p) { p.end_time = At(4, 4); }},
      {"duration", [](auto& p) { p.duration = std::numeric_limits<int64_t>::max(); }},
      {"disconnect_reason",
       [](auto& p) { p.disconnect_reason = state::DisconnectReason::kSessionLimit; }},
      {"revision", [](auto& p) { p.revision = std::numeric_limits<uint64_t>::max(); }},
      {"last_event_time", [](auto& p) { p.last_event_time = At(6, 6); }},
      {"reconnecting_since", [](auto& p) { p.reconnecting_since = At(7, 7); }},
  };
  for (const auto& [field, mutate] : rows) {
    state::Participant p = test_records::ConnectedParticipant(1, 1);
    const state::Participant before = p;
    mutate(p);
    EXPECT_NE(p, before) << field << ": the row does not change the record";
    EXPECT_EQ(RoundTrip(p), p) << field;
  }
}

TEST(CodecTest, EachRoomFieldSurvivesOnItsOwn) {
  const std::vector<std::pair<std::string, std::function<void(state::Room&)>>> rows = {
      {"sid", [](auto& r) { r.sid = test_records::RoomSid(99); }},
      {"account_sid", [](auto& r) { r.account_sid = test_records::Account(99); }},
      {"unique_name", [](auto& r) { r.unique_name = "another name"; }},
      {"status", [](auto& r) { r.status = state::RoomStatus::kFailed; }},
      {"date_created", [](auto& r) { r.date_created = At(1, 1); }},
      {"date_updated", [](auto& r) { r.date_updated = At(2, 2); }},
      {"end_time", [](auto& r) { r.end_time = At(3, 3); }},
      {"duration", [](auto& r) { r.duration = -1; }},
      {"max_participants", [](auto& r) { r.max_participants = 50; }},
      {"max_participant_duration", [](auto& r) { r.max_participant_duration = 86400; }},
      {"empty_room_timeout", [](auto& r) { r.empty_room_timeout = 60; }},
      {"unused_room_timeout", [](auto& r) { r.unused_room_timeout = 1; }},
      {"status_callback", [](auto& r) { r.status_callback = "https://x.test/cb"; }},
      {"status_callback_method", [](auto& r) { r.status_callback_method = "GET"; }},
      {"ad_hoc", [](auto& r) { r.ad_hoc = !r.ad_hoc; }},
      {"revision", [](auto& r) { r.revision = 1234567; }},
  };
  for (const auto& [field, mutate] : rows) {
    state::Room room = test_records::InProgressRoom(1);
    const state::Room before = room;
    mutate(room);
    EXPECT_NE(room, before) << field << ": the row does not change the record";
    EXPECT_EQ(RoundTrip(room), room) << field;
  }
}

TEST(CodecTest, RoomsRoundTrip) {
  const state::Room in_progress = test_records::InProgressRoom(3);
  const state::Room completed = test_records::CompletedRoom(4);
  ASSERT_TRUE(in_progress.ad_hoc);
  ASSERT_FALSE(completed.ad_hoc);
  EXPECT_EQ(RoundTrip(in_progress), in_progress);
  EXPECT_EQ(RoundTrip(completed), completed);
}

TEST(CodecTest, DedupeEntryRoundTrips) {
  state::DedupeEntry entry = test_records::Dedupe(2, "evt-\xF0\x9F\x98\x80", 77, At(5, 5));
  entry.fingerprint = std::numeric_limits<uint64_t>::max();
  EXPECT_EQ(RoundTrip(entry), entry);
  entry.participant_sid = state::Sid();  // an event that named no participant
  entry.fingerprint = 0;
  EXPECT_EQ(RoundTrip(entry), entry);
}

TEST(CodecTest, TimesAreLosslessAtNanosecondsAndInfinities) {
  for (absl::Time t : {absl::UnixEpoch(), At(0, 1), At(0, 999999999), At(-1700000000 - 5, 3),
                       absl::FromUnixNanos(std::numeric_limits<int64_t>::min() + 1),
                       absl::FromUnixNanos(std::numeric_limits<int64_t>::max() - 1),
                       absl::InfinitePast(), absl::InfiniteFuture()}) {
    EXPECT_EQ(DecodeTime(EncodeTime(t)), t) << t;
  }
  state::Participant p;
  p.date_created = absl::InfinitePast();
  p.end_time = absl::InfiniteFuture();
  EXPECT_EQ(RoundTrip(p), p);
}

TEST(CodecTest, SidEncoding) {
  EXPECT_EQ(EncodeSid(state::Sid()), "");
  const state::Sid sid = ParticipantSid(0x0102);
  const std::string bytes = EncodeSid(sid);
  ASSERT_EQ(bytes.size(), kEncodedSidBytes);
  EXPECT_EQ(bytes.substr(0, 2), "PA");
  state::Sid decoded;
  ASSERT_TRUE(DecodeSid(bytes, &decoded));
  EXPECT_EQ(decoded, sid);
  EXPECT_EQ(decoded.ToString(), sid.ToString());
  EXPECT_FALSE(DecodeSid("PA0123", &decoded));
  // A damaged prefix is refused: half a prefix, or bytes that are not capital letters.
  for (const std::string& prefix :
       {std::string("\0A", 2), std::string("A\0", 2), std::string("pa"), std::string("P1")}) {
    std::string damaged = bytes;
    damaged.replace(0, 2, prefix);
    EXPECT_FALSE(DecodeSid(damaged, &decoded)) << absl::CEscape(prefix);
  }
  std::string no_prefix = bytes;
  no_prefix.replace(0, 2, std::string(2, '\0'));
  ASSERT_TRUE(DecodeSid(no_prefix, &decoded));
  EXPECT_EQ(EncodeSid(decoded), no_prefix);
}

TEST(CodecTest, EncodeReplacesTheBuffer) {
  std::string bytes(1000, 'x');
  const state::Room room = test_records::InProgressRoom(1);
  Encode(room, &bytes);
  std::string fresh;
  Encode(room, &fresh);
  EXPECT_EQ(bytes, fresh);
}

TEST(CodecTest, GarbageIsDataLoss) {
  state::Participant p;
  EXPECT_EQ(Decode("\xff\xff\xff", &p).code(), absl::StatusCode::kDataLoss);
  state::Room room;
  EXPECT_EQ(Decode(std::string("\x0a\x05", 2), &room).code(), absl::StatusCode::kDataLoss);
}

TEST(CodecTest, OutOfRangeEnumIsDataLoss) {
  state::Participant p;
  // Field 5 (status), varint 9: beyond kMaxParticipantStatus.
  EXPECT_EQ(Decode(std::string("\x28\x09", 2), &p).code(), absl::StatusCode::kDataLoss);
  // Field 11 (disconnect_reason), varint 7: beyond kMaxDisconnectReason.
  EXPECT_EQ(Decode(std::string("\x58\x07", 2), &p).code(), absl::StatusCode::kDataLoss);
  state::Room room;
  // Field 4 (status), varint 4: beyond kMaxRoomStatus.
  EXPECT_EQ(Decode(std::string("\x20\x04", 2), &room).code(), absl::StatusCode::kDataLoss);
  // In range decodes.
  EXPECT_TRUE(Decode(std::string("\x20\x03", 2), &room).ok());
  EXPECT_EQ(room.status, state::RoomStatus::kFailed);
}

TEST(CodecTest, WrongLengthSidIsDataLoss) {
  state::DedupeEntry entry;
  // Field 1 (account_sid), 3 bytes.
  const absl::Status status = Decode(std::string("\x0a\x03"
                                                 "ABC",
                                                 5),
                                     &entry);
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(status.message().find("account_sid"), absl::string_view::npos) << status;
}

TEST(KeysTest, BigEndianRevisionsSortNumerically) {
  uint64_t previous = 0;
  std::string previous_key = keys::Uint64(0);
  for (uint64_t value : {1ULL, 255ULL, 256ULL, 65536ULL, 1ULL << 40, ~0ULL}) {
    const std::string key = keys::Uint64(value);
    EXPECT_LT(previous_key, key) << previous << " vs " << value;
    uint64_t parsed = 0;
    ASSERT_TRUE(keys::ParseUint64(key, &parsed));
    EXPECT_EQ(parsed, value);
    previous = value;
    previous_key = key;
  }
  uint64_t parsed = 0;
  EXPECT_FALSE(keys::ParseUint64("1234567", &parsed));
}

TEST(KeysTest, RecordKeysAreTagPlusRawBytes) {
  const state::Sid sid = ParticipantSid(5);
  std::string key;
  keys::ParticipantKey(sid, &key);
  ASSERT_EQ(key.size(), 2 + kSidBytes);
  EXPECT_EQ(key.substr(0, 2), "p:");
  EXPECT_EQ(key.substr(2), std::string(reinterpret_cast<const char*>(sid.bytes().data()), 16));
  keys::RoomKey(test_records::RoomSid(5), &key);
  EXPECT_EQ(key.substr(0, 2), "r:");
  keys::DedupeKey(test_records::Account(1), "evt", &key);
  EXPECT_EQ(key.size(), 2 + kSidBytes + 3);
  EXPECT_EQ(key.substr(0, 2), "d:");
  EXPECT_EQ(key.substr(2 + kSidBytes), "evt");
  EXPECT_EQ(keys::PrefixEnd("p:"), "p;");
}

// One change of each type, each with the resource its type carries: a revision's worth of
// changes as the state machine makes them (one room, one revision).
std::vector<state::Change> EveryChangeType(uint64_t revision) {
  const state::PublishedTrack track = test_records::Track(1, 2, 3, revision);
  auto change = [revision](state::ChangeType type, auto resource,
                           state::ParticipantStatus previous = state::ParticipantStatus{}) {
    state::Change c;
    c.revision = revision;
    c.type = type;
    c.time = At(90, static_cast<int64_t>(type));
    c.resource = std::move(resource);
    c.previous_status = previous;
    return c;
  };
  using T = state::ChangeType;
  using S = state::ParticipantStatus;
  return {
      change(T::kRoomCreated, test_records::InProgressRoom(3, revision)),
      change(T::kParticipantConnected, test_records::ConnectedParticipant(2, 3, revision)),
      change(T::kParticipantReconnecting, test_records::ReconnectingParticipant(2, 3, revision),
             S::kConnected),
      change(T::kParticipantReconnected, test_records::ConnectedParticipant(2, 3, revision),
             S::kReconnecting),
      change(T::kTrackPublished, track),
      change(T::kTrackDisabled, track),
      change(T::kTrackEnabled, track),
      change(T::kSubscribeRulesUpdated, test_records::Rules(4, 3, revision)),
      change(T::kSubscribedTrackAdded, test_records::Subscription(4, track, revision)),
      change(T::kSubscribedTrackUpdated, test_records::Subscription(4, track, revision)),
      change(T::kSubscribedTrackRemoved, test_records::Subscription(4, track, revision)),
      change(T::kTrackUnpublished, track),
      change(T::kParticipantDisconnected, FullParticipant(), S::kReconnecting),
      change(T::kParticipantAnonymized, FullParticipant(), S::kDisconnected),
      change(T::kRoomEnded, test_records::CompletedRoom(3, revision)),
  };
}

absl::Status DecodePayload(absl::string_view payload) {
  LogScope scope;
  std::vector<state::Change> changes;
  return DecodeLogPayload(payload, &scope, &changes);
}

TEST(LogPayloadTest, EveryChangeTypeRoundTripsWithItsScope) {
  const std::vector<state::Change> changes = EveryChangeType(42);
  std::set<state::ChangeType> types;
  for (const state::Change& c : changes) types.insert(c.type);
  ASSERT_EQ(types.size(), static_cast<size_t>(state::kMaxChangeType)) << "one of each type";
  std::string payload;
  EncodeLogPayload(changes, &payload);
  LogScope scope;
  std::vector<state::Change> decoded;
  const absl::Status status = DecodeLogPayload(payload, &scope, &decoded);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(decoded, changes);
  EXPECT_EQ(scope.account_sid, test_records::Account(1));
  EXPECT_EQ(scope.room_sid, test_records::RoomSid(3));
  // Each change alone too: a revision of one change of any type, its scope from that change.
  for (const state::Change& change : changes) {
    SCOPED_TRACE(static_cast<int>(change.type));
    EncodeLogPayload({change}, &payload);
    ASSERT_TRUE(DecodeLogPayload(payload, &scope, &decoded).ok());
    ASSERT_EQ(decoded.size(), 1u);
    EXPECT_EQ(decoded[0], change);
    EXPECT_EQ(scope.room_sid, test_records::RoomSid(3));
  }
}

TEST(LogPayloadTest, TheScopeHeaderIsTwoFixedWidthSidsReadableAlone) {
  std::string payload;
  EncodeLogPayload({EveryChangeType(5)[1]}, &payload);
  ASSERT_GT(payload.size(), kLogHeaderBytes);
  EXPECT_EQ(payload.substr(0, kEncodedSidBytes), EncodeSid(test_records::Account(1)));
  EXPECT_EQ(payload.substr(kEncodedSidBytes, kEncodedSidBytes),
            EncodeSid(test_records::RoomSid(3)));
  // The header alone is enough for DecodeLogScope, whatever follows it.
  absl::StatusOr<LogScope> scope = DecodeLogScope(payload.substr(0, kLogHeaderBytes) + "junk");
  ASSERT_TRUE(scope.ok()) << scope.status();
  EXPECT_EQ(scope->room_sid, test_records::RoomSid(3));
  // An empty SID is 18 zero bytes, not an empty field: the header keeps its width.
  state::Change no_account = EveryChangeType(5)[0];
  std::get<state::Room>(no_account.resource).account_sid = state::Sid();
  EncodeLogPayload({no_account}, &payload);
  EXPECT_EQ(payload.substr(0, kEncodedSidBytes), std::string(kEncodedSidBytes, '\0'));
  LogScope decoded_scope;
  std::vector<state::Change> decoded;
  ASSERT_TRUE(DecodeLogPayload(payload, &decoded_scope, &decoded).ok());
  EXPECT_EQ(decoded_scope.account_sid, state::Sid());
}

TEST(LogPayloadTest, EncodeReplacesTheBuffer) {
  std::string payload(5000, 'x');
  const std::vector<state::Change> changes = {EveryChangeType(8)[1]};
  EncodeLogPayload(changes, &payload);
  std::string fresh;
  EncodeLogPayload(changes, &fresh);
  EXPECT_EQ(payload, fresh);
}

// Every way a payload can be damaged is DATA_LOSS naming what is wrong, never a partial decode.
TEST(LogPayloadTest, DamagedPayloadsAreDataLossNamingTheProblem) {
  const std::vector<state::Change> good = {EveryChangeType(9)[0], EveryChangeType(9)[1]};
  std::string payload;
  EncodeLogPayload(good, &payload);
  const std::string header = payload.substr(0, kLogHeaderBytes);
  auto encoded = [](const std::vector<state::Change>& changes) {
    std::string out;
    EncodeLogPayload(changes, &out);
    return out;
  };

  std::vector<state::Change> mixed = good;
  mixed[1].revision = 10;
  std::vector<state::Change> wrong_resource = good;
  wrong_resource[1].type = state::ChangeType::kRoomEnded;  // carries a participant
  std::vector<state::Change> unspecified = good;
  unspecified[0].type = state::ChangeType::kUnspecified;
  std::vector<state::Change> bad_record = good;
  std::get<state::Participant>(bad_record[1].resource).status =
      static_cast<state::ParticipantStatus>(9);
  std::string other_room = encoded(good);
  other_room.replace(kEncodedSidBytes, kEncodedSidBytes, EncodeSid(test_records::RoomSid(4)));
  std::string bad_prefix = payload;
  bad_prefix[0] = 'a';  // lowercase: not a prefix a SID can have

  // (payload, what the message must name)
  const std::vector<std::pair<std::string, std::string>> rows = {
      {"", "fewer than its scope header"},
      {payload.substr(0, kLogHeaderBytes - 1), "fewer than its scope header"},
      {bad_prefix, "account_sid"},
      {header, "holds no changes"},
      {header + "\xff\xff\xff", "do not parse"},
      {payload.substr(0, payload.size() - 3), "do not parse"},
      {encoded(mixed), "change 1 is of revision 10"},
      {encoded(wrong_resource), "change 1: stored change of type 2"},
      {encoded(unspecified), "change 0: stored change of type 0"},
      {encoded(bad_record), "change 1: stored participant has a malformed status"},
      {other_room, "scope header does not match"},
      // An entry of format 1: the scope, then a rendered rollcall.v1.WatchResponse
      // (changes { revision: 9 changes { revision: 9 type: ... } }), which is not a
      // ChangeSetRecord even though it parses as one.
      {header + std::string("\x0a\x08\x08\x09\x12\x04\x08\x09\x10\x03", 10), "resource"},
  };
  for (const auto& [bytes, named] : rows) {
    SCOPED_TRACE(absl::CEscape(bytes));
    const absl::Status status = DecodePayload(bytes);
    EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
    EXPECT_THAT(std::string(status.message()), ::testing::HasSubstr(named));
  }
  EXPECT_TRUE(DecodePayload(payload).ok()) << "the undamaged payload decodes";
}

}  // namespace
}  // namespace rollcall::store
