// End-to-end tests of what survives a restart of the real rollcalld (RocksDB store): retries
// stay idempotent, every record, index and the revision counter come back as they were, and
// the state timers derive from survives a crash (the timers' firing is unit-tested on a
// simulated clock in tests/service/applier_test.cc). Both a clean stop (SIGTERM) and a crash
// (SIGKILL) are covered: an acknowledged write is durable either way.
#include <chrono>
#include <ostream>
#include <string>
#include <vector>

#include "client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rollcall/v1/track_service.grpc.pb.h"
#include "server_process.h"
#include "watch_client.h"

namespace rollcall::testing {
namespace {

using ::testing::ElementsAreArray;

constexpr auto kSecond = std::chrono::milliseconds(1000);

enum class Halt { kStop, kKill };

std::string HaltName(const ::testing::TestParamInfo<Halt>& info) {
  return info.param == Halt::kStop ? "Sigterm" : "Sigkill";
}
void PrintTo(Halt how, std::ostream* out) { *out << (how == Halt::kStop ? "SIGTERM" : "SIGKILL"); }

// Stops the server the way the test asks; a clean stop must exit 0.
void HaltServer(ServerProcess& server, Halt how) {
  if (how == Halt::kStop) {
    EXPECT_EQ(server.Stop(), 0) << server.Log();
  } else {
    server.Kill();
  }
}

class RestartTest : public ::testing::TestWithParam<Halt> {};

INSTANTIATE_TEST_SUITE_P(Halts, RestartTest, ::testing::Values(Halt::kStop, Halt::kKill), HaltName);

// (a) Retries are idempotent across a restart.
TEST_P(RestartTest, RetriedEventsAreDuplicatesAfterRestart) {
  ServerProcess server({"--reconnect_timeout=10m"});  // no timer fires during the test
  ASSERT_TRUE(server.Start());
  // Channels of their own, closed before the stop, so the drain does not wait for them.
  auto client = std::make_unique<Client>(server.NewChannel());
  client->CreateRoom("retry-room");
  const Timestamp t0 = Plus(Now(), -60 * kSecond);
  std::vector<v1::Event> events = {ConnectedEvent("retry-room", "alice", t0),
                                   ConnectedEvent("retry-room", "bob", t0)};
  std::vector<v1::RecordEventResponse> originals;
  for (const v1::Event& event : events) originals.push_back(client->MustApply(event));
  events.push_back(
      ReconnectingEvent("retry-room", originals[0].participant().sid(), Plus(t0, kSecond)));
  originals.push_back(client->MustApply(events.back()));
  events.push_back(
      DisconnectedEvent("retry-room", originals[1].participant().sid(), Plus(t0, 2 * kSecond)));
  originals.push_back(client->MustApply(events.back()));
  // One more through a stream, so both ingest paths are covered.
  events.push_back(ConnectedEvent("retry-room", "carol", t0));
  const std::vector<v1::EventResult> streamed = client->StreamOnce({events.back()});
  ASSERT_EQ(streamed.size(), 1u);
  v1::RecordEventResponse carol;
  carol.set_outcome(streamed[0].outcome());
  carol.set_revision(streamed[0].revision());
  *carol.mutable_participant() = streamed[0].participant();
  originals.push_back(carol);
  const uint64_t last = originals.back().revision();
  const std::vector<std::string> before = client->Snapshot();

  client.reset();
  HaltServer(server, GetParam());
  ASSERT_TRUE(server.Start());
  client = std::make_unique<Client>(server.Channel());

  for (size_t i = 0; i < events.size(); ++i) {
    SCOPED_TRACE("event " + std::to_string(i));
    const v1::RecordEventResponse retry = client->MustRecord(events[i]);
    EXPECT_EQ(retry.outcome(), v1::EVENT_OUTCOME_DUPLICATE);
    EXPECT_EQ(retry.revision(), originals[i].revision());
    EXPECT_EQ(retry.participant().sid(), originals[i].participant().sid());
  }
  // Retried as one stream message too.
  const std::vector<v1::EventResult> results = client->StreamOnce(events);
  ASSERT_EQ(results.size(), events.size());
  for (size_t i = 0; i < results.size(); ++i) {
    EXPECT_EQ(results[i].outcome(), v1::EVENT_OUTCOME_DUPLICATE) << i;
    EXPECT_EQ(results[i].revision(), originals[i].revision()) << i;
    EXPECT_EQ(results[i].participant().sid(), originals[i].participant().sid()) << i;
  }
  // The same event_id with other content is still recognised.
  v1::Event changed = events[0];
  changed.set_identity("mallory");
  EXPECT_EQ(client->Record(changed).error_code(), grpc::ALREADY_EXISTS);

  // Nothing changed, and the revision counter continues without a gap.
  EXPECT_EQ(client->Snapshot(), before);
  EXPECT_EQ(client->Probe(), last + 1);
}

// (d) Every record, every index and the revision are the same after a restart.
TEST_P(RestartTest, RecordsAndRevisionSurviveRestart) {
  ServerProcess server({"--reconnect_timeout=10m"});  // no timer fires during the test
  ASSERT_TRUE(server.Start());
  const std::string other_account = NewAccountSid();
  // Channels of their own, closed before the stop, so the drain does not wait for them.
  auto client = std::make_unique<Client>(server.NewChannel());
  auto other = std::make_unique<Client>(server.NewChannel(), other_account);
  const Timestamp t0 = Plus(Now(), -120 * kSecond);

  // A varied store: created, ad-hoc and completed rooms; participants in every status and
  // reason; an anonymized one; a full room; another account.
  client->CreateRoom("main", 3);
  const std::string a = client->Connect("main", "a", t0).participant().sid();
  const std::string b = client->Connect("main", "b", t0).participant().sid();
  client->Reconnecting("main", b, Plus(t0, kSecond));
  client->Connect("main", "a", Plus(t0, 2 * kSecond));  // replaces a: DUPLICATE_IDENTITY
  const std::string c = client->Connect("main", "c", t0).participant().sid();  // full now
  client->Kick(c);
  client->Anonymize(a);
  client->Connect("main", "c2", t0);
  const std::string adhoc = client->Connect("adhoc", "x", t0).participant().sid();
  client->Disconnect("adhoc-ended", client->Connect("adhoc-ended", "y", t0).participant().sid(),
                     Plus(t0, 3 * kSecond));  // the ad-hoc room completes with it
  client->CreateRoom("ended");
  client->Connect("ended", "w", t0);
  client->EndRoom("ended");
  v1::CreateRoomRequest settings;
  settings.set_unique_name("settings");
  settings.set_max_participants(7);
  settings.set_max_participant_duration(3600);
  settings.set_empty_room_timeout(30);
  settings.set_unused_room_timeout(45);
  settings.set_status_callback("https://example.com/cb");
  settings.set_status_callback_method("GET");
  client->MustCreateRoom(settings);
  other->CreateRoom("main");
  other->Connect("main", "a", t0);

  const std::vector<std::string> mine = client->Snapshot();
  const std::vector<std::string> theirs = other->Snapshot();
  ASSERT_EQ(mine.size(), 13u);  // 8 participants, 5 rooms
  // A page token taken before the restart, and the page it leads to.
  v1::ListParticipantsRequest paged;
  paged.set_page_size(3);
  v1::ListParticipantsResponse first_page;
  ASSERT_TRUE(client->ListParticipants(paged, &first_page).ok());
  ASSERT_FALSE(first_page.next_page_token().empty());
  paged.set_page_token(first_page.next_page_token());
  v1::ListParticipantsResponse second_page;
  ASSERT_TRUE(client->ListParticipants(paged, &second_page).ok());
  const uint64_t revision = client->Probe();

  client.reset();
  other.reset();
  HaltServer(server, GetParam());
  ASSERT_TRUE(server.Start());
  client = std::make_unique<Client>(server.Channel());
  other = std::make_unique<Client>(server.Channel(), other_account);

  EXPECT_THAT(client->Snapshot(), ElementsAreArray(mine));
  EXPECT_THAT(other->Snapshot(), ElementsAreArray(theirs));
  v1::ListParticipantsResponse resumed;
  ASSERT_TRUE(client->ListParticipants(paged, &resumed).ok());
  EXPECT_EQ(resumed.DebugString(), second_page.DebugString());

  // The indexes came back too: names of in-progress rooms, active identities, room counts.
  EXPECT_EQ(client->Room("main").participant_count(), 3);
  v1::GetParticipantRequest by_identity;
  by_identity.set_room("adhoc");
  by_identity.set_identity("x");
  v1::Participant found;
  ASSERT_TRUE(client->GetParticipant(by_identity, &found).ok());
  EXPECT_EQ(found.sid(), adhoc);
  v1::CreateRoomRequest taken;
  taken.set_unique_name("main");
  v1::CreateRoomResponse ignored;
  EXPECT_EQ(client->CreateRoom(taken, &ignored).error_code(), grpc::ALREADY_EXISTS);
  EXPECT_EQ(client->Record(ConnectedEvent("main", "d")).error_code(), grpc::RESOURCE_EXHAUSTED);
  EXPECT_EQ(client->Record(ConnectedEvent(client->Room("adhoc").sid(), "x2")).error_code(),
            grpc::OK);
  EXPECT_EQ(client->Probe(), revision + 2);
}

// The change log holds domain records, rendered when sent: restarted with another
// --public_base_url, the server sends old history with the new URLs, exactly as a Get shows the
// record now, where a log of rendered messages would replay the old ones.
TEST(RestartHistory, HistoryFollowsANewPublicBaseUrlLikeLiveReads) {
  ServerProcess server({"--reconnect_timeout=10m", "--public_base_url=http://before.example"});
  ASSERT_TRUE(server.Start());
  auto client = std::make_unique<Client>(server.NewChannel());
  const Timestamp t0 = Plus(Now(), -60 * kSecond);
  const std::string room = client->CreateRoom("history").sid();
  const std::string sid = client->Connect("history", "ann", t0).participant().sid();
  const uint64_t last = client->Reconnecting("history", sid, Plus(t0, kSecond)).revision();
  {
    WatchStream before(server.NewChannel(), WatchFrom(kDefaultAccount, 1), {.keep_messages = true});
    ASSERT_TRUE(before.WaitForRevision(last)) << Describe(before.status());
    const v1::WatchResponse first = before.messages().front();
    EXPECT_THAT(first.changes().changes(0).room().url(),
                ::testing::StartsWith("http://before.example/"));
  }
  client.reset();
  ASSERT_EQ(server.Stop(), 0) << server.Log();
  server.set_flags({"--reconnect_timeout=10m", "--public_base_url=https://after.example"});
  ASSERT_TRUE(server.Start());
  client = std::make_unique<Client>(server.NewChannel());

  WatchStream history(server.NewChannel(), WatchFrom(kDefaultAccount, 1), {.keep_messages = true});
  ASSERT_TRUE(history.WaitForRevision(last)) << Describe(history.status());
  std::vector<v1::Change> changes;
  for (const v1::WatchResponse& m : history.messages()) {
    for (const v1::Change& change : m.changes().changes()) changes.push_back(change);
  }
  ASSERT_EQ(changes.size(), 3u);  // ROOM_CREATED, PARTICIPANT_CONNECTED, ..._RECONNECTING
  EXPECT_EQ(changes[0].room().url(), "https://after.example/v1/Rooms/" + room);
  EXPECT_EQ(changes[0].room().links().participants(),
            "https://after.example/v1/Rooms/" + room + "/Participants");
  for (size_t i = 1; i < changes.size(); ++i) {
    EXPECT_THAT(changes[i].participant().url(), ::testing::StartsWith("https://after.example/"));
    EXPECT_THAT(changes[i].participant().links().anonymize(),
                ::testing::StartsWith("https://after.example/"));
  }
  // The last change is the participant as it is now: byte for byte what a Get returns.
  const v1::Participant read = client->Participant(sid);
  EXPECT_EQ(changes.back().participant().SerializeAsString(), read.SerializeAsString())
      << changes.back().participant().DebugString() << "\nvs\n"
      << read.DebugString();
  client.reset();
}

v1::Event TrackPublishedEvent(const std::string& room, const std::string& participant_sid,
                              const std::string& track_sid, const std::string& name,
                              v1::TrackKind kind, const Timestamp& at) {
  v1::Event event = MakeEvent(v1::EVENT_TYPE_TRACK_PUBLISHED, room, participant_sid, at);
  event.set_track_sid(track_sid);
  event.set_track_name(name);
  event.set_track_kind(kind);
  return event;
}

// Everything TrackService shows about `participants`, one string per participant.
std::vector<std::string> TrackSnapshot(v1::TrackService::Stub& tracks,
                                       const std::vector<std::string>& participants) {
  std::vector<std::string> out;
  for (const std::string& sid : participants) {
    grpc::ClientContext c1, c2, c3;
    v1::ListPublishedTracksRequest published;
    published.set_participant_sid(sid);
    v1::ListPublishedTracksResponse published_out;
    EXPECT_TRUE(tracks.ListPublishedTracks(&c1, published, &published_out).ok());
    v1::ListSubscribedTracksRequest subscribed;
    subscribed.set_participant_sid(sid);
    v1::ListSubscribedTracksResponse subscribed_out;
    EXPECT_TRUE(tracks.ListSubscribedTracks(&c2, subscribed, &subscribed_out).ok());
    v1::GetSubscribeRulesRequest rules;
    rules.set_participant_sid(sid);
    v1::GetSubscribeRulesResponse rules_out;
    EXPECT_TRUE(tracks.GetSubscribeRules(&c3, rules, &rules_out).ok());
    out.push_back(published_out.DebugString() + subscribed_out.DebugString() +
                  rules_out.DebugString());
  }
  return out;
}

// Tracks, rule sets and subscriptions come back as they were, and keep being derived.
TEST_P(RestartTest, TracksRulesAndSubscriptionsSurviveRestart) {
  ServerProcess server({"--reconnect_timeout=10m"});
  ASSERT_TRUE(server.Start());
  auto client = std::make_unique<Client>(server.NewChannel());
  auto tracks = v1::TrackService::NewStub(server.NewChannel());
  const Timestamp t0 = Plus(Now(), -60 * kSecond);
  const std::string a = client->Connect("t", "alice", t0).participant().sid();
  const std::string b = client->Connect("t", "bob", t0).participant().sid();
  const std::string c = client->Connect("t", "carol", t0).participant().sid();
  const std::string cam = "MT" + RandomHex(32);
  client->MustApply(TrackPublishedEvent("t", a, cam, "cam", v1::TRACK_KIND_VIDEO, t0));
  client->MustApply(
      TrackPublishedEvent("t", a, "MT" + RandomHex(32), "mic", v1::TRACK_KIND_AUDIO, t0));
  client->MustApply(
      TrackPublishedEvent("t", c, "MT" + RandomHex(32), "screen", v1::TRACK_KIND_VIDEO, t0));
  v1::Event disabled = MakeEvent(v1::EVENT_TYPE_TRACK_DISABLED, "t", a, Plus(t0, kSecond));
  disabled.set_track_sid(cam);
  client->MustApply(disabled);
  {
    grpc::ClientContext context;
    v1::UpdateSubscribeRulesRequest update;
    update.set_participant_sid(b);
    v1::SubscribeRule* include = update.add_rules();
    include->set_type(v1::SUBSCRIBE_RULE_TYPE_INCLUDE);
    include->set_kind(v1::TRACK_KIND_VIDEO);
    v1::UpdateSubscribeRulesResponse updated;
    ASSERT_TRUE(tracks->UpdateSubscribeRules(&context, update, &updated).ok());
  }
  client->Disconnect("t", c, Plus(t0, 2 * kSecond));  // unpublishes carol's screen
  const std::vector<std::string> before = TrackSnapshot(*tracks, {a, b, c});
  const uint64_t revision = client->Probe();

  client.reset();
  tracks.reset();
  HaltServer(server, GetParam());
  ASSERT_TRUE(server.Start());
  client = std::make_unique<Client>(server.Channel());
  tracks = v1::TrackService::NewStub(server.Channel());
  EXPECT_THAT(TrackSnapshot(*tracks, {a, b, c}), ElementsAreArray(before));
  EXPECT_EQ(client->Probe(), revision + 1);
  // Names are still taken, and bob's rules still apply to a new video track.
  EXPECT_EQ(client
                ->Record(TrackPublishedEvent("t", a, "MT" + RandomHex(32), "cam",
                                             v1::TRACK_KIND_VIDEO, Now()))
                .error_code(),
            grpc::ALREADY_EXISTS);
  const std::string d = client->Connect("t", "dave", Now()).participant().sid();
  const std::string dave_cam = "MT" + RandomHex(32);
  client->MustApply(TrackPublishedEvent("t", d, dave_cam, "cam", v1::TRACK_KIND_VIDEO, Now()));
  grpc::ClientContext context;
  v1::GetSubscribedTrackRequest get;
  get.set_participant_sid(b);
  get.set_track_sid(dave_cam);
  v1::GetSubscribedTrackResponse got;
  ASSERT_TRUE(tracks->GetSubscribedTrack(&context, get, &got).ok());
  EXPECT_EQ(got.subscribed_track().publisher_sid(), d);
}

// (b) A RECONNECTING participant keeps its state, and so its timer (timers are derived from the
// records), across a crash. That the timer then fires on time, and that one overdue while the
// server was down fires at start-up with the time it was due (reconnect timeout and room
// duration), is tested without waiting on the wall clock in tests/service/applier_test.cc.
TEST(RestartTimers, ReconnectingParticipantSurvivesACrashWithItsTimerState) {
  ServerProcess server({"--reconnect_timeout=10m"});
  ASSERT_TRUE(server.Start());
  Client client(server.Channel());
  client.CreateRoom("flaky");
  const std::string sid = client.Connect("flaky", "wobbly").participant().sid();
  const Timestamp lost = Now();
  const v1::Participant reconnecting = client.Reconnecting("flaky", sid, lost).participant();
  ASSERT_EQ(reconnecting.status(), v1::PARTICIPANT_STATUS_RECONNECTING);
  server.Kill();

  ASSERT_TRUE(server.Start());
  Client after(server.Channel());
  const v1::Participant p = after.Participant(sid);
  EXPECT_EQ(p.status(), v1::PARTICIPANT_STATUS_RECONNECTING);
  EXPECT_EQ(p.revision(), reconnecting.revision());
  EXPECT_TRUE(SameTime(p.date_updated(), reconnecting.date_updated()));
  EXPECT_EQ(after.Room("flaky").participant_count(), 1);
}

}  // namespace
}  // namespace rollcall::testing
