// End-to-end tests of every rollcall.v1 RPC against the real rollcalld: event outcomes and
// revisions, streaming ingest, participant and room reads with every filter and keyset
// paging, the commands (kick, anonymize, create, end), duplicate identities, room capacity,
// url/links, account scoping, health and reflection. One server (memory store) serves the
// whole suite; each test works in an account of its own, so lists are exactly its records.
#include <algorithm>
#include <cctype>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server_process.h"

namespace rollcall::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::IsSupersetOf;
using ::testing::MatchesRegex;
using ::testing::UnorderedElementsAreArray;

constexpr char kBaseUrl[] = "https://rollcall.test";
constexpr char kConfiguredDefaultAccount[] = "ACdddddddddddddddddddddddddddddddd";
constexpr auto kSecond = std::chrono::milliseconds(1000);

std::vector<std::string> Sids(const std::vector<v1::Participant>& participants) {
  std::vector<std::string> sids;
  for (const v1::Participant& p : participants) sids.push_back(p.sid());
  return sids;
}
std::vector<std::string> Sids(const std::vector<v1::Room>& rooms) {
  std::vector<std::string> sids;
  for (const v1::Room& r : rooms) sids.push_back(r.sid());
  return sids;
}
template <typename Record>
bool InListOrder(const std::vector<Record>& records) {
  auto key = [](const Record& r) { return std::make_tuple(ToNanos(r.date_created()), r.sid()); };
  for (size_t i = 1; i < records.size(); ++i) {
    if (!(key(records[i - 1]) < key(records[i]))) return false;
  }
  return true;
}

class ApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new ServerProcess({"--store=memory", std::string("--public_base_url=") + kBaseUrl,
                                 std::string("--default_account=") + kConfiguredDefaultAccount,
                                 "--reconnect_timeout=10m"});
    server_->Start();
  }
  static void TearDownTestSuite() {
    EXPECT_EQ(server_->Stop(), 0) << server_->Log();
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override { ASSERT_GT(server_->port(), 0) << "rollcalld is not running"; }

  static ServerProcess* server_;
  // A fresh account per test: its lists hold exactly what the test made.
  Client client_{server_->NewChannel(), NewAccountSid()};
};

ServerProcess* ApiTest::server_ = nullptr;

// ---------------------------------------------------------------------------------------------
// IngestService

TEST_F(ApiTest, RecordEventOutcomesAndRevisions) {
  const uint64_t r = client_.Probe();
  const Timestamp t0 = Plus(Now(), -60 * kSecond);
  const std::string room = "lifecycle";

  const v1::Event connect = ConnectedEvent(room, "alice", t0);
  const v1::RecordEventResponse connected = client_.MustApply(connect);
  const v1::Participant& alice = connected.participant();
  EXPECT_EQ(connected.revision(), r + 1);
  EXPECT_THAT(alice.sid(), MatchesRegex("PA[0-9a-f]{32}"));
  EXPECT_THAT(alice.room_sid(), MatchesRegex("RM[0-9a-f]{32}"));
  EXPECT_EQ(alice.account_sid(), client_.account());
  EXPECT_EQ(alice.identity(), "alice");
  EXPECT_EQ(alice.status(), v1::PARTICIPANT_STATUS_CONNECTED);
  EXPECT_TRUE(SameTime(alice.start_time(), t0));
  EXPECT_TRUE(SameTime(alice.date_created(), alice.date_updated()));
  EXPECT_FALSE(alice.has_end_time());
  EXPECT_FALSE(alice.has_duration());
  EXPECT_EQ(alice.disconnect_reason(), v1::DISCONNECT_REASON_UNSPECIFIED);
  EXPECT_EQ(alice.revision(), r + 1);

  // The unknown room was created ad hoc in the same revision.
  v1::Room adhoc = client_.Room(room);
  EXPECT_EQ(adhoc.sid(), alice.room_sid());
  EXPECT_TRUE(adhoc.ad_hoc());
  EXPECT_EQ(adhoc.status(), v1::ROOM_STATUS_IN_PROGRESS);
  EXPECT_EQ(adhoc.unique_name(), room);
  EXPECT_EQ(adhoc.participant_count(), 1);
  EXPECT_EQ(adhoc.revision(), r + 1);

  v1::RecordEventResponse response =
      client_.Reconnecting(room, alice.sid(), Plus(t0, 10 * kSecond));
  EXPECT_EQ(response.revision(), r + 2);
  EXPECT_EQ(response.participant().status(), v1::PARTICIPANT_STATUS_RECONNECTING);
  EXPECT_EQ(response.participant().revision(), r + 2);

  // Already RECONNECTING: a no-op.
  response = client_.MustRecord(ReconnectingEvent(room, alice.sid(), Plus(t0, 11 * kSecond)));
  EXPECT_EQ(response.outcome(), v1::EVENT_OUTCOME_IGNORED);
  EXPECT_EQ(response.revision(), r + 2);
  EXPECT_EQ(response.participant().status(), v1::PARTICIPANT_STATUS_RECONNECTING);

  // Stale: older than the last applied event.
  response = client_.MustRecord(ReconnectedEvent(room, alice.sid(), Plus(t0, 5 * kSecond)));
  EXPECT_EQ(response.outcome(), v1::EVENT_OUTCOME_IGNORED);
  EXPECT_EQ(response.revision(), r + 2);
  EXPECT_EQ(response.participant().status(), v1::PARTICIPANT_STATUS_RECONNECTING);

  response = client_.Reconnected(room, alice.sid(), Plus(t0, 20 * kSecond));
  EXPECT_EQ(response.revision(), r + 3);
  EXPECT_EQ(response.participant().status(), v1::PARTICIPANT_STATUS_CONNECTED);

  response = client_.MustRecord(ReconnectedEvent(room, alice.sid(), Plus(t0, 21 * kSecond)));
  EXPECT_EQ(response.outcome(), v1::EVENT_OUTCOME_IGNORED);
  EXPECT_EQ(response.revision(), r + 3);

  // CONNECTED for an existing SID in the same room (a retry under a new event_id): IGNORED.
  response = client_.MustRecord(ConnectedEvent(room, "alice", Plus(t0, 22 * kSecond), alice.sid()));
  EXPECT_EQ(response.outcome(), v1::EVENT_OUTCOME_IGNORED);
  EXPECT_EQ(response.revision(), r + 3);
  EXPECT_EQ(response.participant().sid(), alice.sid());

  // The same event_id and content again: DUPLICATE with the original revision.
  response = client_.MustRecord(connect);
  EXPECT_EQ(response.outcome(), v1::EVENT_OUTCOME_DUPLICATE);
  EXPECT_EQ(response.revision(), r + 1);
  EXPECT_EQ(response.participant().sid(), alice.sid());

  const Timestamp left = Plus(t0, std::chrono::milliseconds(30500));
  response = client_.Disconnect(room, alice.sid(), left);
  EXPECT_EQ(response.revision(), r + 4);
  const v1::Participant gone = response.participant();
  EXPECT_EQ(gone.status(), v1::PARTICIPANT_STATUS_DISCONNECTED);
  EXPECT_EQ(gone.disconnect_reason(), v1::DISCONNECT_REASON_CLIENT_INITIATED);
  EXPECT_TRUE(SameTime(gone.end_time(), left));
  ASSERT_TRUE(gone.has_duration());
  EXPECT_EQ(gone.duration(), 30);  // floor(30.5 s)
  EXPECT_EQ(gone.revision(), r + 4);

  // The ad-hoc room completed with its last participant, in the same revision.
  adhoc = client_.Room(alice.room_sid());
  EXPECT_EQ(adhoc.status(), v1::ROOM_STATUS_COMPLETED);
  EXPECT_EQ(adhoc.revision(), r + 4);
  EXPECT_EQ(adhoc.participant_count(), 0);
  EXPECT_TRUE(SameTime(adhoc.end_time(), gone.date_updated()));  // server time of the revision
  EXPECT_TRUE(adhoc.has_duration());

  // DISCONNECTED again: IGNORED. A stale RECONNECTING on a disconnected participant too.
  response = client_.MustRecord(DisconnectedEvent(room, alice.sid(), Plus(t0, 40 * kSecond)));
  EXPECT_EQ(response.outcome(), v1::EVENT_OUTCOME_IGNORED);
  EXPECT_EQ(response.revision(), r + 4);
  response = client_.MustRecord(ReconnectingEvent(room, alice.sid(), Plus(t0, 25 * kSecond)));
  EXPECT_EQ(response.outcome(), v1::EVENT_OUTCOME_IGNORED);
  EXPECT_EQ(response.participant().status(), v1::PARTICIPANT_STATUS_DISCONNECTED);

  // Reads return what the writes acknowledged; IGNORED events took no revision.
  EXPECT_EQ(client_.Participant(alice.sid()).DebugString(), gone.DebugString());
  EXPECT_EQ(client_.Probe(), r + 5);
}

TEST_F(ApiTest, DisconnectedIsTerminalAndKeepsItsReason) {
  client_.CreateRoom("terminal");
  const Timestamp t0 = Plus(Now(), -120 * kSecond);
  const std::string sid = client_.Connect("terminal", "bob", t0).participant().sid();
  client_.Reconnecting("terminal", sid, Plus(t0, 50 * kSecond));
  // Reordered behind the RECONNECTING, the DISCONNECTED still applies (docs/decisions.md).
  const v1::Participant bob =
      client_
          .Disconnect("terminal", sid, Plus(t0, 20 * kSecond), v1::DISCONNECT_REASON_SESSION_LIMIT)
          .participant();
  EXPECT_EQ(bob.status(), v1::PARTICIPANT_STATUS_DISCONNECTED);
  EXPECT_EQ(bob.disconnect_reason(), v1::DISCONNECT_REASON_SESSION_LIMIT);
  EXPECT_TRUE(SameTime(bob.end_time(), Plus(t0, 20 * kSecond)));
  EXPECT_EQ(bob.duration(), 20);
  // A created room stays open when its last participant leaves.
  EXPECT_EQ(client_.Room("terminal").status(), v1::ROOM_STATUS_IN_PROGRESS);
}

TEST_F(ApiTest, ExplicitSidsChooseTheParticipantAndTheAdHocRoom) {
  const std::string room_sid = NewRoomSid();
  const std::string participant_sid = NewParticipantSid();
  std::string upper_participant = participant_sid;
  std::transform(upper_participant.begin() + 2, upper_participant.end(),
                 upper_participant.begin() + 2, ::toupper);
  std::string upper_room = room_sid;
  std::transform(upper_room.begin() + 2, upper_room.end(), upper_room.begin() + 2, ::toupper);

  const v1::Participant p =
      client_.Connect(room_sid, "carol", Now(), upper_participant).participant();
  EXPECT_EQ(p.sid(), participant_sid);  // SIDs compare case-insensitively; output is lowercase
  EXPECT_EQ(p.room_sid(), room_sid);
  const v1::Room room = client_.Room(upper_room);
  EXPECT_EQ(room.sid(), room_sid);
  EXPECT_TRUE(room.ad_hoc());
  EXPECT_EQ(room.unique_name(), room_sid);  // no name given: the SID
  EXPECT_EQ(client_.Participant(upper_participant).sid(), participant_sid);
  v1::GetParticipantRequest by_identity;
  by_identity.set_room(upper_room);
  by_identity.set_identity("carol");
  v1::Participant found;
  ASSERT_TRUE(client_.GetParticipant(by_identity, &found).ok());
  EXPECT_EQ(found.sid(), participant_sid);
}

TEST_F(ApiTest, StreamEventsAnswersEachMessageInOrderAndSurvivesRejections) {
  client_.CreateRoom("stream-room");
  const uint64_t r = client_.Probe();
  const Timestamp t0 = Plus(Now(), -60 * kSecond);
  const std::vector<v1::Event> first = {ConnectedEvent("stream-room", "a", t0),
                                        ConnectedEvent("stream-room", "b", t0),
                                        ConnectedEvent("stream-room", "c", t0)};
  const std::string d_sid = NewParticipantSid();
  std::vector<v1::StreamEventsResponse> responses;
  {
    // All messages are written before any response is read.
    auto context = Deadline(std::chrono::seconds(30));
    auto stream = client_.ingest().StreamEvents(context.get());
    auto send = [&](const std::vector<v1::Event>& events) {
      v1::StreamEventsRequest request;
      for (const v1::Event& event : events) {
        *request.add_events() = event;
        request.mutable_events()->rbegin()->set_account_sid(client_.account());
      }
      ASSERT_TRUE(stream->Write(request));
    };
    send(first);
    v1::StreamEventsResponse response;
    ASSERT_TRUE(stream->Read(&response));
    responses.push_back(response);
    const std::string a_sid = response.results(0).participant().sid();

    v1::Event no_identity = ConnectedEvent("stream-room", "", t0);
    v1::Event changed = first[1];
    changed.set_identity("not-b");
    send({ConnectedEvent("stream-room", "d", t0, d_sid),                   // applied
          no_identity,                                                     // INVALID_ARGUMENT
          ReconnectingEvent("stream-room", NewParticipantSid(), t0),       // NOT_FOUND
          ReconnectingEvent("stream-room", a_sid, Plus(t0, 1 * kSecond)),  // applied
          first[0],                                                        // DUPLICATE
          changed});                                                       // ALREADY_EXISTS
    // Later messages still work, and an event sees the ones before it in the same message.
    send({ReconnectingEvent("stream-room", d_sid, Plus(t0, 2 * kSecond)),
          ReconnectedEvent("stream-room", d_sid, Plus(t0, 3 * kSecond))});
    send({});
    stream->WritesDone();
    while (stream->Read(&response)) responses.push_back(response);
    const grpc::Status status = stream->Finish();
    EXPECT_TRUE(status.ok()) << Describe(status);
  }
  ASSERT_EQ(responses.size(), 4u);

  const auto& one = responses[0].results();
  ASSERT_EQ(one.size(), 3);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(one[i].event_id(), first[i].event_id());
    EXPECT_EQ(one[i].code(), 0) << one[i].message();
    EXPECT_EQ(one[i].message(), "");
    EXPECT_EQ(one[i].outcome(), v1::EVENT_OUTCOME_APPLIED);
    EXPECT_EQ(one[i].revision(), r + 1 + i);
    EXPECT_EQ(one[i].participant().identity(), first[i].identity());
  }

  const auto& two = responses[1].results();
  ASSERT_EQ(two.size(), 6);
  std::vector<int> codes;
  for (const v1::EventResult& result : two) codes.push_back(result.code());
  EXPECT_THAT(codes,
              ElementsAre(0, grpc::INVALID_ARGUMENT, grpc::NOT_FOUND, 0, 0, grpc::ALREADY_EXISTS));
  EXPECT_EQ(two[0].outcome(), v1::EVENT_OUTCOME_APPLIED);
  EXPECT_EQ(two[0].revision(), r + 4);
  EXPECT_EQ(two[0].participant().sid(), d_sid);
  EXPECT_THAT(two[1].message(), NamesField("event.identity"));
  EXPECT_EQ(two[1].revision(), 0u);
  EXPECT_FALSE(two[1].has_participant());
  EXPECT_THAT(two[2].message(), NamesField("event.participant_sid"));
  EXPECT_EQ(two[3].outcome(), v1::EVENT_OUTCOME_APPLIED);
  EXPECT_EQ(two[3].revision(), r + 5);
  EXPECT_EQ(two[3].participant().status(), v1::PARTICIPANT_STATUS_RECONNECTING);
  EXPECT_EQ(two[4].outcome(), v1::EVENT_OUTCOME_DUPLICATE);
  EXPECT_EQ(two[4].revision(), r + 1);
  EXPECT_EQ(two[4].participant().sid(), one[0].participant().sid());
  EXPECT_THAT(two[5].message(), NamesField("event.event_id"));
  EXPECT_EQ(two[5].outcome(), v1::EVENT_OUTCOME_UNSPECIFIED);

  const auto& three = responses[2].results();
  ASSERT_EQ(three.size(), 2);
  EXPECT_EQ(three[0].outcome(), v1::EVENT_OUTCOME_APPLIED);
  EXPECT_EQ(three[0].revision(), r + 6);
  EXPECT_EQ(three[1].outcome(), v1::EVENT_OUTCOME_APPLIED);
  EXPECT_EQ(three[1].revision(), r + 7);
  EXPECT_EQ(three[1].participant().status(), v1::PARTICIPANT_STATUS_CONNECTED);

  EXPECT_EQ(responses[3].results_size(), 0);  // an empty message gets an empty answer
  EXPECT_EQ(client_.Probe(), r + 8);
  EXPECT_EQ(client_.Room("stream-room").participant_count(), 4);
}

// ---------------------------------------------------------------------------------------------
// ParticipantService

TEST_F(ApiTest, GetParticipantBySidAndByIdentity) {
  const v1::Room room = client_.CreateRoom("get-room");
  const v1::Room other = client_.CreateRoom("get-other");
  const v1::Participant alice = client_.Connect("get-room", "alice").participant();

  EXPECT_EQ(client_.Participant(alice.sid()).DebugString(), alice.DebugString());
  for (const std::string& reference : {room.unique_name(), room.sid()}) {
    v1::GetParticipantRequest request;
    request.set_room(reference);
    request.set_participant_sid(alice.sid());
    v1::Participant found;
    ASSERT_TRUE(client_.GetParticipant(request, &found).ok()) << reference;
    EXPECT_EQ(found.sid(), alice.sid());

    request.clear_participant_sid();
    request.set_identity("alice");
    ASSERT_TRUE(client_.GetParticipant(request, &found).ok()) << reference;
    EXPECT_EQ(found.sid(), alice.sid());
  }
  v1::GetParticipantRequest wrong_room;
  wrong_room.set_room(other.sid());
  wrong_room.set_participant_sid(alice.sid());
  EXPECT_EQ(client_.GetParticipant(wrong_room).error_code(), grpc::NOT_FOUND);

  // By identity finds only active sessions; by SID finds any.
  client_.Disconnect("get-room", alice.sid());
  v1::GetParticipantRequest by_identity;
  by_identity.set_room("get-room");
  by_identity.set_identity("alice");
  EXPECT_EQ(client_.GetParticipant(by_identity).error_code(), grpc::NOT_FOUND);
  EXPECT_EQ(client_.Participant(alice.sid()).status(), v1::PARTICIPANT_STATUS_DISCONNECTED);
  const std::string again = client_.Connect("get-room", "alice").participant().sid();
  v1::Participant found;
  ASSERT_TRUE(client_.GetParticipant(by_identity, &found).ok());
  EXPECT_EQ(found.sid(), again);
  EXPECT_NE(again, alice.sid());
}

TEST_F(ApiTest, ListParticipantsFilters) {
  const v1::Room a = client_.CreateRoom("filter-a");
  const v1::Room b = client_.CreateRoom("filter-b");
  const v1::Participant a1 = client_.Connect("filter-a", "alice").participant();
  const v1::Participant a2 = client_.Connect("filter-a", "bob").participant();
  const v1::Participant a3 = client_.Connect("filter-a", "carol").participant();
  const v1::Participant b1 = client_.Connect("filter-b", "alice").participant();
  const v1::Participant b2 = client_.Connect("filter-b", "dave").participant();
  client_.Kick(a2.sid());
  client_.Reconnecting("filter-a", a3.sid());

  const std::vector<v1::Participant> all = client_.AllParticipants();
  EXPECT_THAT(Sids(all), ElementsAre(a1.sid(), a2.sid(), a3.sid(), b1.sid(), b2.sid()));
  EXPECT_TRUE(InListOrder(all));
  EXPECT_EQ(all[1].status(), v1::PARTICIPANT_STATUS_DISCONNECTED);  // current records

  auto list = [&](const std::function<void(v1::ListParticipantsRequest&)>& filter) {
    v1::ListParticipantsRequest request;
    filter(request);
    return Sids(client_.AllParticipants(request));
  };
  EXPECT_THAT(list([&](auto& q) { q.set_room("filter-a"); }),
              ElementsAre(a1.sid(), a2.sid(), a3.sid()));
  EXPECT_THAT(list([&](auto& q) { q.set_room(b.sid()); }), ElementsAre(b1.sid(), b2.sid()));
  EXPECT_THAT(list([&](auto& q) { q.add_statuses(v1::PARTICIPANT_STATUS_DISCONNECTED); }),
              ElementsAre(a2.sid()));
  EXPECT_THAT(list([&](auto& q) { q.add_statuses(v1::PARTICIPANT_STATUS_CONNECTED); }),
              ElementsAre(a1.sid(), b1.sid(), b2.sid()));
  EXPECT_THAT(list([&](auto& q) {
                q.add_statuses(v1::PARTICIPANT_STATUS_RECONNECTING);
                q.add_statuses(v1::PARTICIPANT_STATUS_DISCONNECTED);
              }),
              ElementsAre(a2.sid(), a3.sid()));
  EXPECT_THAT(list([&](auto& q) { q.set_identity("alice"); }), ElementsAre(a1.sid(), b1.sid()));
  EXPECT_THAT(list([&](auto& q) {
                q.set_identity("alice");
                q.set_room(b.unique_name());
              }),
              ElementsAre(b1.sid()));
  EXPECT_THAT(list([&](auto& q) { q.set_identity("nobody"); }), ElementsAre());
  // Date bounds are exclusive.
  EXPECT_THAT(list([&](auto& q) { *q.mutable_date_created_after() = a2.date_created(); }),
              ElementsAre(a3.sid(), b1.sid(), b2.sid()));
  EXPECT_THAT(list([&](auto& q) { *q.mutable_date_created_before() = b1.date_created(); }),
              ElementsAre(a1.sid(), a2.sid(), a3.sid()));
  EXPECT_THAT(list([&](auto& q) {
                *q.mutable_date_created_after() = a1.date_created();
                *q.mutable_date_created_before() = b2.date_created();
              }),
              ElementsAre(a2.sid(), a3.sid(), b1.sid()));
  EXPECT_THAT(list([&](auto& q) {
                q.set_room(a.sid());
                q.add_statuses(v1::PARTICIPANT_STATUS_CONNECTED);
              }),
              ElementsAre(a1.sid()));

  // Filters and paging together.
  v1::ListParticipantsRequest alices;
  alices.set_identity("alice");
  EXPECT_THAT(Sids(client_.AllParticipants(alices, 1)), ElementsAre(a1.sid(), b1.sid()));
}

TEST_F(ApiTest, ListParticipantsPagingWalksEveryPage) {
  client_.CreateRoom("page-room");
  client_.CreateRoom("page-other");
  std::vector<std::string> expected;
  for (int i = 0; i < 9; ++i) {
    expected.push_back(
        client_.Connect(i % 3 == 0 ? "page-other" : "page-room", "user-" + std::to_string(i))
            .participant()
            .sid());
  }
  const std::vector<v1::Participant> unpaged = client_.AllParticipants();
  ASSERT_THAT(Sids(unpaged), ElementsAreArray(expected));
  v1::ListParticipantsRequest in_room;
  in_room.set_room("page-room");
  const std::vector<std::string> room_unpaged = Sids(client_.AllParticipants(in_room));
  EXPECT_EQ(room_unpaged.size(), 6u);
  for (int page_size = 1; page_size <= 10; ++page_size) {
    SCOPED_TRACE("page_size " + std::to_string(page_size));
    EXPECT_THAT(Sids(client_.AllParticipants({}, page_size)), ElementsAreArray(expected));
    EXPECT_THAT(Sids(client_.AllParticipants(in_room, page_size)), ElementsAreArray(room_unpaged));
  }
  // A full page that ends the list has no token; a page size may change between pages.
  v1::ListParticipantsRequest request;
  request.set_page_size(4);
  v1::ListParticipantsResponse page;
  ASSERT_TRUE(client_.ListParticipants(request, &page).ok());
  ASSERT_EQ(page.participants_size(), 4);
  ASSERT_FALSE(page.next_page_token().empty());
  request.set_page_token(page.next_page_token());
  request.set_page_size(5);
  ASSERT_TRUE(client_.ListParticipants(request, &page).ok());
  EXPECT_EQ(page.participants_size(), 5);
  EXPECT_EQ(page.participants(0).sid(), expected[4]);
  EXPECT_EQ(page.next_page_token(), "");
}

TEST_F(ApiTest, ListPageSizeDefaultsTo50) {
  std::vector<v1::Event> events;
  for (int i = 0; i < 60; ++i) {
    v1::Event event = ConnectedEvent("bulk-" + std::to_string(i / 30), "u" + std::to_string(i));
    event.set_account_sid(client_.account());
    events.push_back(event);
  }
  for (const v1::EventResult& result : client_.StreamOnce(events)) {
    ASSERT_EQ(result.code(), 0) << result.message();
  }
  v1::ListParticipantsRequest request;  // page_size 0
  v1::ListParticipantsResponse page;
  ASSERT_TRUE(client_.ListParticipants(request, &page).ok());
  EXPECT_EQ(page.participants_size(), 50);
  ASSERT_FALSE(page.next_page_token().empty());
  request.set_page_token(page.next_page_token());
  ASSERT_TRUE(client_.ListParticipants(request, &page).ok());
  EXPECT_EQ(page.participants_size(), 10);
  EXPECT_EQ(page.next_page_token(), "");
}

TEST_F(ApiTest, ListParticipantsPagingStaysCorrectWhileRecordsChange) {
  client_.CreateRoom("grow-room");
  std::vector<std::string> existing;
  for (int i = 0; i < 8; ++i) {
    existing.push_back(
        client_.Connect("grow-room", "old-" + std::to_string(i)).participant().sid());
  }
  std::vector<std::string> added;
  std::vector<v1::Participant> seen;
  v1::ListParticipantsRequest request;
  request.set_room("grow-room");
  request.set_page_size(3);
  for (int pages = 0; pages < 20; ++pages) {
    v1::ListParticipantsResponse page;
    ASSERT_TRUE(client_.ListParticipants(request, &page).ok());
    seen.insert(seen.end(), page.participants().begin(), page.participants().end());
    if (page.next_page_token().empty()) break;
    request.set_page_token(page.next_page_token());
    // Between pages: a new session joins, and a record on a later page changes.
    added.push_back(
        client_.Connect("grow-room", "new-" + std::to_string(pages)).participant().sid());
    if (pages < 2) client_.Kick(existing[pages == 0 ? 4 : 7]);
  }
  const std::vector<std::string> sids = Sids(seen);
  EXPECT_EQ(std::set<std::string>(sids.begin(), sids.end()).size(), sids.size())
      << "a participant was listed twice";
  EXPECT_TRUE(InListOrder(seen));
  std::vector<std::string> expected = existing;
  expected.insert(expected.end(), added.begin(), added.end());
  // Every pre-existing record exactly once and in order; records added meanwhile come after.
  EXPECT_THAT(sids, ElementsAreArray(expected));
}

TEST_F(ApiTest, KickDisconnectsWithReasonRemoved) {
  client_.CreateRoom("kick-room");
  const Timestamp started = Plus(Now(), -5 * kSecond);
  const std::string alice = client_.Connect("kick-room", "alice", started).participant().sid();
  const std::string bob = client_.Connect("kick-room", "bob").participant().sid();
  client_.Reconnecting("kick-room", bob);
  const uint64_t r = client_.Probe();

  const Timestamp before = Now();
  const v1::UpdateParticipantResponse kicked = client_.Kick(alice);
  const Timestamp after = Now();
  EXPECT_EQ(kicked.revision(), r + 1);
  const v1::Participant& p = kicked.participant();
  EXPECT_EQ(p.revision(), r + 1);
  EXPECT_EQ(p.status(), v1::PARTICIPANT_STATUS_DISCONNECTED);
  EXPECT_EQ(p.disconnect_reason(), v1::DISCONNECT_REASON_REMOVED);
  // end_time is the server's time of the kick.
  EXPECT_GE(ToNanos(p.end_time()), ToNanos(Plus(before, -kSecond)));
  EXPECT_LE(ToNanos(p.end_time()), ToNanos(Plus(after, kSecond)));
  EXPECT_EQ(p.duration(), (ToNanos(p.end_time()) - ToNanos(started)) / 1000000000);
  EXPECT_EQ(client_.Participant(alice).DebugString(), p.DebugString());

  // A RECONNECTING participant can be kicked too; through a room reference as well.
  v1::UpdateParticipantRequest request;
  request.set_room("kick-room");
  request.set_participant_sid(bob);
  request.set_status(v1::PARTICIPANT_STATUS_DISCONNECTED);
  v1::UpdateParticipantResponse response;
  ASSERT_TRUE(client_.UpdateParticipant(request, &response).ok());
  EXPECT_EQ(response.revision(), r + 2);
  EXPECT_EQ(response.participant().disconnect_reason(), v1::DISCONNECT_REASON_REMOVED);
  const v1::Room room = client_.Room("kick-room");
  EXPECT_EQ(room.participant_count(), 0);
  EXPECT_EQ(room.status(), v1::ROOM_STATUS_IN_PROGRESS);
}

TEST_F(ApiTest, AnonymizeReplacesIdentityOnce) {
  client_.CreateRoom("anon-room");
  const std::string sid = client_.Connect("anon-room", "secret-name").participant().sid();
  client_.Disconnect("anon-room", sid);
  const uint64_t r = client_.Probe();

  const v1::AnonymizeParticipantResponse first = client_.Anonymize(sid);
  EXPECT_EQ(first.revision(), r + 1);
  EXPECT_EQ(first.participant().identity(), sid);
  EXPECT_EQ(first.participant().revision(), r + 1);
  EXPECT_EQ(first.participant().status(), v1::PARTICIPANT_STATUS_DISCONNECTED);
  EXPECT_EQ(first.participant().disconnect_reason(), v1::DISCONNECT_REASON_CLIENT_INITIATED);

  const v1::AnonymizeParticipantResponse second = client_.Anonymize(sid);
  EXPECT_EQ(second.revision(), r + 1);
  EXPECT_EQ(second.participant().DebugString(), first.participant().DebugString());
  EXPECT_EQ(client_.Probe(), r + 2) << "a second anonymize created a revision";

  v1::ListParticipantsRequest by_old_name;
  by_old_name.set_identity("secret-name");
  EXPECT_TRUE(client_.AllParticipants(by_old_name).empty());
  v1::ListParticipantsRequest by_sid;
  by_sid.set_identity(sid);
  EXPECT_THAT(Sids(client_.AllParticipants(by_sid)), ElementsAre(sid));
}

// ---------------------------------------------------------------------------------------------
// RoomService

TEST_F(ApiTest, CreateRoomWithDefaults) {
  const uint64_t r = client_.Probe();
  const v1::CreateRoomResponse created = client_.MustCreateRoom({});
  const v1::Room& room = created.room();
  EXPECT_EQ(created.revision(), r + 1);
  EXPECT_EQ(room.revision(), r + 1);
  EXPECT_THAT(room.sid(), MatchesRegex("RM[0-9a-f]{32}"));
  EXPECT_EQ(room.account_sid(), client_.account());
  EXPECT_EQ(room.unique_name(), room.sid());
  EXPECT_EQ(room.status(), v1::ROOM_STATUS_IN_PROGRESS);
  EXPECT_TRUE(SameTime(room.date_created(), room.date_updated()));
  EXPECT_FALSE(room.has_end_time());
  EXPECT_FALSE(room.has_duration());
  EXPECT_EQ(room.max_participants(), 50);
  EXPECT_EQ(room.max_participant_duration(), 14400);
  EXPECT_EQ(room.empty_room_timeout(), 5);
  EXPECT_EQ(room.unused_room_timeout(), 5);
  EXPECT_EQ(room.status_callback(), "");
  EXPECT_EQ(room.status_callback_method(), "POST");
  EXPECT_EQ(room.participant_count(), 0);
  EXPECT_FALSE(room.ad_hoc());
  EXPECT_EQ(client_.Room(room.sid()).DebugString(), room.DebugString());
  EXPECT_EQ(client_.Room(room.unique_name()).sid(), room.sid());
}

TEST_F(ApiTest, CreateRoomWithExplicitSettings) {
  v1::CreateRoomRequest request;
  request.set_unique_name("explicit");
  request.set_max_participants(3);
  request.set_max_participant_duration(600);
  request.set_empty_room_timeout(1);
  request.set_unused_room_timeout(60);
  request.set_status_callback("https://hooks.example.com/rooms?x=1");
  request.set_status_callback_method("GET");
  const v1::Room room = client_.MustCreateRoom(request).room();
  EXPECT_EQ(room.unique_name(), "explicit");
  EXPECT_EQ(room.max_participants(), 3);
  EXPECT_EQ(room.max_participant_duration(), 600);
  EXPECT_EQ(room.empty_room_timeout(), 1);
  EXPECT_EQ(room.unused_room_timeout(), 60);
  EXPECT_EQ(room.status_callback(), "https://hooks.example.com/rooms?x=1");
  EXPECT_EQ(room.status_callback_method(), "GET");
  EXPECT_EQ(client_.Room("explicit").DebugString(), room.DebugString());

  // The upper bounds are accepted too (50 is the server's --max_room_participants).
  request.set_unique_name("upper-bounds");
  request.set_max_participants(50);
  request.set_max_participant_duration(86400);
  request.set_empty_room_timeout(60);
  request.set_unused_room_timeout(1);
  request.set_status_callback("http://localhost:9/cb");
  request.set_status_callback_method("POST");
  const v1::Room upper = client_.MustCreateRoom(request).room();
  EXPECT_EQ(upper.max_participants(), 50);
  EXPECT_EQ(upper.max_participant_duration(), 86400);
  EXPECT_EQ(upper.empty_room_timeout(), 60);
  EXPECT_EQ(upper.unused_room_timeout(), 1);
  client_.EndRoom(upper.sid());  // before its 1-minute timer could fire during later tests
}

TEST_F(ApiTest, GetRoomBySidAndNameCountsActiveParticipants) {
  const v1::Room created = client_.CreateRoom("count-room");
  const std::string a = client_.Connect("count-room", "a").participant().sid();
  const std::string b = client_.Connect("count-room", "b").participant().sid();
  client_.Connect("count-room", "c");
  EXPECT_EQ(client_.Room("count-room").participant_count(), 3);
  client_.Reconnecting("count-room", a);  // still active
  client_.Disconnect("count-room", b);
  const v1::Room by_name = client_.Room("count-room");
  const v1::Room by_sid = client_.Room(created.sid());
  EXPECT_EQ(by_name.participant_count(), 2);
  EXPECT_EQ(by_name.DebugString(), by_sid.DebugString());
  // Participants joining and leaving do not change the room's own revision.
  EXPECT_EQ(by_sid.revision(), created.revision());
  const std::vector<v1::Room> listed = client_.AllRooms();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].participant_count(), 2);
}

TEST_F(ApiTest, ListRoomsFiltersAndPaging) {
  const v1::Room r1 = client_.CreateRoom("alpha");
  const v1::Room r2 = client_.CreateRoom("beta");
  const v1::Room r3 = client_.CreateRoom("gamma");
  client_.EndRoom("beta");
  const v1::Room r4 = client_.CreateRoom("beta");  // the name is free again
  const std::string r5 = client_.Connect("delta", "someone").participant().room_sid();

  const std::vector<v1::Room> all = client_.AllRooms();
  EXPECT_THAT(Sids(all), ElementsAre(r1.sid(), r2.sid(), r3.sid(), r4.sid(), r5));
  EXPECT_TRUE(InListOrder(all));
  EXPECT_EQ(all[1].status(), v1::ROOM_STATUS_COMPLETED);
  EXPECT_TRUE(all[4].ad_hoc());

  auto list = [&](const std::function<void(v1::ListRoomsRequest&)>& filter, int page_size = 1000) {
    v1::ListRoomsRequest request;
    filter(request);
    return Sids(client_.AllRooms(request, page_size));
  };
  EXPECT_THAT(list([](auto& q) { q.add_statuses(v1::ROOM_STATUS_IN_PROGRESS); }),
              ElementsAre(r1.sid(), r3.sid(), r4.sid(), r5));
  EXPECT_THAT(list([](auto& q) { q.add_statuses(v1::ROOM_STATUS_COMPLETED); }),
              ElementsAre(r2.sid()));
  EXPECT_THAT(list([](auto& q) {
                q.add_statuses(v1::ROOM_STATUS_COMPLETED);
                q.add_statuses(v1::ROOM_STATUS_FAILED);
              }),
              ElementsAre(r2.sid()));
  EXPECT_THAT(list([](auto& q) { q.set_unique_name("beta"); }), ElementsAre(r2.sid(), r4.sid()));
  EXPECT_THAT(list([](auto& q) { q.set_unique_name("Beta"); }), ElementsAre());
  EXPECT_THAT(list([&](auto& q) { *q.mutable_date_created_after() = r2.date_created(); }),
              ElementsAre(r3.sid(), r4.sid(), r5));
  EXPECT_THAT(list([&](auto& q) { *q.mutable_date_created_before() = r3.date_created(); }),
              ElementsAre(r1.sid(), r2.sid()));
  EXPECT_THAT(list([&](auto& q) {
                *q.mutable_date_created_after() = r1.date_created();
                *q.mutable_date_created_before() = r4.date_created();
                q.add_statuses(v1::ROOM_STATUS_IN_PROGRESS);
              }),
              ElementsAre(r3.sid()));
  for (int page_size = 1; page_size <= 6; ++page_size) {
    SCOPED_TRACE("page_size " + std::to_string(page_size));
    EXPECT_THAT(list([](auto&) {}, page_size), ElementsAreArray(Sids(all)));
    EXPECT_THAT(list([](auto& q) { q.add_statuses(v1::ROOM_STATUS_IN_PROGRESS); }, page_size),
                ElementsAre(r1.sid(), r3.sid(), r4.sid(), r5));
  }
  // By unique name, GetRoom finds the in-progress room of that name.
  EXPECT_EQ(client_.Room("beta").sid(), r4.sid());
}

TEST_F(ApiTest, UpdateRoomEndsTheRoomAndItsParticipants) {
  const v1::Room created = client_.CreateRoom("end-room");
  const Timestamp t0 = Plus(Now(), -30 * kSecond);
  const std::string a = client_.Connect("end-room", "a", t0).participant().sid();
  const std::string b = client_.Connect("end-room", "b", t0).participant().sid();
  const v1::Participant c_left =
      client_
          .Disconnect("end-room", client_.Connect("end-room", "c", t0).participant().sid(),
                      Plus(t0, kSecond))
          .participant();
  client_.Reconnecting("end-room", b, Plus(t0, 2 * kSecond));
  const uint64_t r = client_.Probe();

  const v1::UpdateRoomResponse ended = client_.EndRoom("end-room");
  const v1::Room& room = ended.room();
  EXPECT_EQ(ended.revision(), r + 1);
  EXPECT_EQ(room.revision(), r + 1);
  EXPECT_EQ(room.sid(), created.sid());
  EXPECT_EQ(room.status(), v1::ROOM_STATUS_COMPLETED);
  ASSERT_TRUE(room.has_end_time());
  EXPECT_EQ(room.duration(),
            (ToNanos(room.end_time()) - ToNanos(room.date_created())) / 1000000000);
  EXPECT_EQ(room.participant_count(), 0);
  for (const std::string& sid : {a, b}) {
    const v1::Participant p = client_.Participant(sid);
    EXPECT_EQ(p.status(), v1::PARTICIPANT_STATUS_DISCONNECTED) << sid;
    EXPECT_EQ(p.disconnect_reason(), v1::DISCONNECT_REASON_ROOM_ENDED) << sid;
    EXPECT_TRUE(SameTime(p.end_time(), room.end_time())) << sid;
    EXPECT_EQ(p.revision(), r + 1) << sid;  // the same revision as the room's end
  }
  // Already gone: untouched.
  EXPECT_EQ(client_.Participant(c_left.sid()).DebugString(), c_left.DebugString());
  EXPECT_EQ(client_.Probe(), r + 2);
  EXPECT_EQ(client_.Room(created.sid()).DebugString(), room.DebugString());
  // A completed room is no longer found by its unique name.
  v1::GetRoomRequest by_name;
  by_name.set_room("end-room");
  EXPECT_EQ(client_.GetRoom(by_name).error_code(), grpc::NOT_FOUND);
}

TEST_F(ApiTest, DuplicateIdentityReplacesTheOldSession) {
  client_.CreateRoom("dup-room");
  const Timestamp t1 = Plus(Now(), -20 * kSecond);
  const Timestamp t2 = Plus(Now(), -10 * kSecond);
  const std::string old_sid = client_.Connect("dup-room", "dana", t1).participant().sid();
  const uint64_t r = client_.Probe();
  const v1::RecordEventResponse second = client_.Connect("dup-room", "dana", t2);
  EXPECT_EQ(second.revision(), r + 1);
  EXPECT_NE(second.participant().sid(), old_sid);

  const v1::Participant old = client_.Participant(old_sid);
  EXPECT_EQ(old.status(), v1::PARTICIPANT_STATUS_DISCONNECTED);
  EXPECT_EQ(old.disconnect_reason(), v1::DISCONNECT_REASON_DUPLICATE_IDENTITY);
  EXPECT_TRUE(SameTime(old.end_time(), t2));
  EXPECT_EQ(old.duration(), 10);
  EXPECT_EQ(old.revision(), r + 1);  // one revision for both changes

  v1::GetParticipantRequest by_identity;
  by_identity.set_room("dup-room");
  by_identity.set_identity("dana");
  v1::Participant current;
  ASSERT_TRUE(client_.GetParticipant(by_identity, &current).ok());
  EXPECT_EQ(current.sid(), second.participant().sid());
  EXPECT_EQ(client_.Room("dup-room").participant_count(), 1);
  EXPECT_EQ(client_.Probe(), r + 2);
}

TEST_F(ApiTest, RoomCapacityIsEnforced) {
  client_.CreateRoom("small", 2);
  const std::string a = client_.Connect("small", "a").participant().sid();
  const std::string b = client_.Connect("small", "b").participant().sid();
  client_.Reconnecting("small", a);  // RECONNECTING still holds a place

  grpc::Status full = client_.Record(ConnectedEvent("small", "c"));
  EXPECT_EQ(full.error_code(), grpc::RESOURCE_EXHAUSTED) << Describe(full);
  EXPECT_THAT(full.error_message(), NamesField("event.room"));

  // A session replacing its own identity does not count twice.
  const std::string b2 = client_.Connect("small", "b").participant().sid();
  EXPECT_EQ(client_.Participant(b).status(), v1::PARTICIPANT_STATUS_DISCONNECTED);
  EXPECT_EQ(client_.Room("small").participant_count(), 2);

  client_.Disconnect("small", b2);
  client_.Connect("small", "c");
  EXPECT_EQ(client_.Room("small").participant_count(), 2);
  full = client_.Record(ConnectedEvent("small", "d"));
  EXPECT_EQ(full.error_code(), grpc::RESOURCE_EXHAUSTED) << Describe(full);
}

// ---------------------------------------------------------------------------------------------
// Cross-cutting

TEST_F(ApiTest, UrlsAndLinksFollowThePublicBaseUrl) {
  const v1::Room room = client_.CreateRoom("url-room");
  const v1::Participant p = client_.Connect("url-room", "u").participant();
  const std::string room_url = std::string(kBaseUrl) + "/v1/Rooms/" + room.sid();
  const std::string url = room_url + "/Participants/" + p.sid();

  EXPECT_EQ(room.url(), room_url);
  EXPECT_EQ(room.links().participants(), room_url + "/Participants");
  for (const v1::Participant& seen :
       {p, client_.Participant(p.sid()), client_.AllParticipants().at(0)}) {
    EXPECT_EQ(seen.url(), url);
    EXPECT_EQ(seen.links().published_tracks(), url + "/PublishedTracks");
    EXPECT_EQ(seen.links().subscribed_tracks(), url + "/SubscribedTracks");
    EXPECT_EQ(seen.links().subscribe_rules(), url + "/SubscribeRules");
    EXPECT_EQ(seen.links().anonymize(), url + "/Anonymize");
  }
  for (const v1::Room& seen : {client_.Room("url-room"), client_.AllRooms().at(0)}) {
    EXPECT_EQ(seen.url(), room_url);
    EXPECT_EQ(seen.links().participants(), room_url + "/Participants");
  }
}

TEST_F(ApiTest, AccountsSeeOnlyTheirOwnRecords) {
  Client a(server_->NewChannel(), NewAccountSid());
  Client b(server_->NewChannel(), NewAccountSid());
  Client fallback(server_->NewChannel());  // the default account
  const v1::Room a_room = a.CreateRoom("shared-name");
  const v1::Room b_room = b.CreateRoom("shared-name");  // names are unique per account only
  EXPECT_NE(a_room.sid(), b_room.sid());

  // event_ids are unique per account: the same id is a new event in another account.
  v1::Event event = ConnectedEvent("shared-name", "alice");
  const v1::RecordEventResponse in_a = a.MustApply(event);
  const v1::RecordEventResponse in_b = b.MustApply(event);
  EXPECT_EQ(in_a.participant().room_sid(), a_room.sid());
  EXPECT_EQ(in_b.participant().room_sid(), b_room.sid());
  EXPECT_EQ(in_b.participant().account_sid(), b.account());

  EXPECT_THAT(Sids(a.AllParticipants()), ElementsAre(in_a.participant().sid()));
  EXPECT_THAT(Sids(a.AllRooms()), ElementsAre(a_room.sid()));
  EXPECT_THAT(Sids(b.AllParticipants()), ElementsAre(in_b.participant().sid()));
  EXPECT_EQ(a.Room("shared-name").sid(), a_room.sid());

  v1::GetRoomRequest other_room;
  other_room.set_room(b_room.sid());
  EXPECT_EQ(a.GetRoom(other_room).error_code(), grpc::NOT_FOUND);
  v1::GetParticipantRequest other_participant;
  other_participant.set_participant_sid(in_b.participant().sid());
  EXPECT_EQ(a.GetParticipant(other_participant).error_code(), grpc::NOT_FOUND);
  v1::ListParticipantsRequest in_other_room;
  in_other_room.set_room(b_room.sid());
  v1::ListParticipantsResponse listed;
  EXPECT_EQ(a.ListParticipants(in_other_room, &listed).error_code(), grpc::NOT_FOUND);
  v1::UpdateParticipantRequest kick;
  kick.set_participant_sid(in_b.participant().sid());
  kick.set_status(v1::PARTICIPANT_STATUS_DISCONNECTED);
  EXPECT_EQ(a.UpdateParticipant(kick).error_code(), grpc::NOT_FOUND);
  v1::UpdateRoomRequest end;
  end.set_room(b_room.sid());
  end.set_status(v1::ROOM_STATUS_COMPLETED);
  EXPECT_EQ(a.UpdateRoom(end).error_code(), grpc::NOT_FOUND);
  EXPECT_EQ(b.Participant(in_b.participant().sid()).status(), v1::PARTICIPANT_STATUS_CONNECTED);
  EXPECT_EQ(b.Room(b_room.sid()).status(), v1::ROOM_STATUS_IN_PROGRESS);

  const std::vector<std::string> default_rooms = Sids(fallback.AllRooms());
  EXPECT_THAT(default_rooms, ::testing::Not(::testing::Contains(a_room.sid())));
  EXPECT_THAT(default_rooms, ::testing::Not(::testing::Contains(b_room.sid())));
}

TEST_F(ApiTest, RequestsWithoutAccountUseTheDefaultAccount) {
  Client fallback(server_->NewChannel());
  const v1::Room room = fallback.CreateRoom("default-room-" + RandomHex(6));
  EXPECT_EQ(room.account_sid(), kConfiguredDefaultAccount);
  const v1::Participant p = fallback.Connect(room.unique_name(), "x").participant();
  EXPECT_EQ(p.account_sid(), kConfiguredDefaultAccount);
  // Naming the default account explicitly (hex in any case) reaches the same records.
  std::string upper = kConfiguredDefaultAccount;
  std::transform(upper.begin() + 2, upper.end(), upper.begin() + 2, ::toupper);
  Client explicit_default(server_->NewChannel(), upper);
  EXPECT_EQ(explicit_default.Participant(p.sid()).sid(), p.sid());
  EXPECT_THAT(Sids(explicit_default.AllRooms()), ::testing::Contains(room.sid()));
}

TEST_F(ApiTest, HealthServesAllThreeNames) {
  for (const std::string service : {"", "liveness", "readiness"}) {
    grpc::Status status;
    EXPECT_EQ(client_.HealthStatus(service, &status), 1)
        << "'" << service << "' " << Describe(status);
  }
  grpc::Status status;
  client_.HealthStatus("no-such-service", &status);
  EXPECT_EQ(status.error_code(), grpc::NOT_FOUND);
}

TEST_F(ApiTest, ReflectionListsTheServices) {
  grpc::Status status;
  const std::vector<std::string> services = client_.ReflectedServices(&status);
  EXPECT_TRUE(status.ok()) << Describe(status);
  EXPECT_THAT(services, IsSupersetOf({"rollcall.v1.IngestService", "rollcall.v1.ParticipantService",
                                      "rollcall.v1.RoomService", "rollcall.v1.WatchService",
                                      "grpc.health.v1.Health"}));
}

}  // namespace
}  // namespace rollcall::testing
