// Status callbacks end to end (docs/callbacks.md), against the real rollcalld with a
// credentials file (RestFixture) and real HTTP receivers:
//  - every event type, POST and GET rooms, created over gRPC and REST, delivered to receivers
//    that judge each request with Twilio's own validators (python3-twilio and npm twilio;
//    tests/e2e/callback_receiver.{py,js}); each delivery is also replayed to the other
//    language's validator, and tampered replays are refused by both;
//  - receivers that answer 500 twice get the same signed callback three times, then the next;
//  - SIGKILL in the middle of a 10,000-event burst over 100 rooms: after a restart every room's
//    callbacks arrive in order, without gaps, and the only repeat is the one in flight;
//  - a receiver that never answers does not hold up other rooms' callbacks or ingest, and shows
//    up on the metrics port;
//  - a slow receiver never has more than --callback_host_concurrency requests in flight, a room
//    never more than one;
//  - a receiver that keeps failing: past --callback_max_age the callback is recorded as failed
//    (ListFailedCallbacks, CLI, metric) and the room's next callback goes out;
//  - redirects are not followed;
//  - status_callback URL validation, with and without --callback_refuse_private, and a host
//    name resolving to a private address is not called under it.
#include <netdb.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "rollcall/v1/admin_service.grpc.pb.h"
#include "rollcall/v1/track_service.grpc.pb.h"
#include "tests/e2e/callback_receiver.h"
#include "tests/e2e/rest_fixture.h"

namespace rollcall::testing {
namespace {

using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

// `time` as RFC 3339 UTC with milliseconds, the callbacks' Timestamp format.
std::string UtcText(std::chrono::system_clock::time_point time) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(time);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count() % 1000;
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[40];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S", &utc);
  char out[48];
  std::snprintf(out, sizeof(out), "%s.%03dZ", text, static_cast<int>(millis));
  return out;
}

// Runs the rollcall CLI with `args`; returns its exit code and its stdout and stderr together.
std::pair<int, std::string> RunCli(const std::string& dir, const std::vector<std::string>& args) {
#ifndef ROLLCALL_CLI_PATH
  (void)dir;
  (void)args;
  return {-1, "the rollcall CLI is not built in this tree"};
#else
  std::vector<std::string> argv = {ROLLCALL_CLI_PATH};
  argv.insert(argv.end(), args.begin(), args.end());
  const std::string log = dir + "/cli-" + RandomHex(8) + ".out";
  const pid_t pid = Spawn(std::move(argv), log);
  int status = -1;
  const bool exited =
      WaitUntil([&] { return waitpid(pid, &status, WNOHANG) == pid; }, std::chrono::seconds(30));
  if (!exited) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
  }
  return {exited && WIFEXITED(status) ? WEXITSTATUS(status) : -1, ScriptReceiver::ReadFile(log)};
#endif
}

class CallbacksTest : public RestFixture {
 protected:
  std::vector<std::string> ExtraFlags() const override {
    std::vector<std::string> flags = {"--max_account_participants=100000",
                                      "--max_account_rooms=100000"};
    for (const std::string& flag : flags_) flags.push_back(flag);
    return flags;
  }

  // Creates a room over gRPC with `url` and `method` ("" = default); returns it.
  v1::Room CreateRoom(const std::string& name, const std::string& url,
                      const std::string& method = "") {
    v1::CreateRoomRequest request;
    request.set_unique_name(name);
    request.set_status_callback(url);
    request.set_status_callback_method(method);
    return grpc_->MustCreateRoom(request).room();
  }
  // Creates a room over REST (POST /v1/Rooms StatusCallback=…); returns its SID.
  std::string CreateRoomOverRest(const std::string& name, const std::string& url,
                                 const std::string& method) {
    httplib::Params form = {
        {"UniqueName", name}, {"StatusCallback", url}, {"StatusCallbackMethod", method}};
    httplib::Result result = Admin()->Post("/v1/Rooms", form);
    EXPECT_TRUE(result && result->status == 201)
        << (result ? result->body : std::string("no answer"));
    const nlohmann::json room = Json(result);
    return room.is_object() ? room.value("sid", "") : "";
  }

  v1::RecordEventResponse Track(v1::EventType type, const std::string& room,
                                const std::string& participant, const std::string& track,
                                const std::string& name = "",
                                v1::TrackKind kind = v1::TRACK_KIND_UNSPECIFIED) {
    v1::Event event = MakeEvent(type, room, participant, Now());
    event.set_track_sid(track);
    if (!name.empty()) event.set_track_name(name);
    if (kind != v1::TRACK_KIND_UNSPECIFIED) event.set_track_kind(kind);
    return grpc_->MustApply(event);
  }

  // Matches the `host` label of a receiver whether or not it carries the scheme
  // (host="127.0.0.1:8080" or host="http://127.0.0.1:8080"); the closing quote keeps port 80
  // from matching 8080.
  std::string MetricsHostLabel(const std::string& host) const { return host + "\""; }
  std::string Metrics() const { return ScrapeMetrics(server_.metrics_port()); }

  std::vector<std::string> flags_;
};

// ---------------------------------------------------------------------------------------------
// a. Every event, POST and GET, judged by Twilio's own validators.

// What one room's callbacks must be, in SequenceNumber order: the event and the parameters
// beyond the room's own.
struct Expected {
  std::string event;
  Params params;
};

class CallbackContentTest : public CallbacksTest {
 protected:
  // Drives one room through every kind of callback (and events that send none); returns what
  // its callbacks must say, read back from the records over gRPC.
  std::vector<Expected> Drive(const std::string& room_sid) {
    std::vector<Expected> expected;
    expected.push_back({"room-created", {}});
    const Timestamp start = Now();
    const std::string alice =
        grpc_->Connect(room_sid, "alice", Plus(start, std::chrono::seconds(-90)))
            .participant()
            .sid();
    const std::string cam = "MT" + RandomHex(32);
    const std::string mic = "MT" + RandomHex(32);
    const std::string chat = "MT" + RandomHex(32);
    Track(v1::EVENT_TYPE_TRACK_PUBLISHED, room_sid, alice, cam, "cam", v1::TRACK_KIND_VIDEO);
    Track(v1::EVENT_TYPE_TRACK_PUBLISHED, room_sid, alice, mic, "mic", v1::TRACK_KIND_AUDIO);
    Track(v1::EVENT_TYPE_TRACK_PUBLISHED, room_sid, alice, chat, "chat", v1::TRACK_KIND_DATA);
    Track(v1::EVENT_TYPE_TRACK_DISABLED, room_sid, alice, cam);
    Track(v1::EVENT_TYPE_TRACK_ENABLED, room_sid, alice, cam);
    grpc_->Reconnecting(room_sid, alice);  // sends nothing
    grpc_->Reconnected(room_sid, alice);   // sends nothing
    Track(v1::EVENT_TYPE_TRACK_UNPUBLISHED, room_sid, alice, mic);
    const std::string bob =
        grpc_->Connect(room_sid, "bob", Plus(Now(), std::chrono::seconds(-30))).participant().sid();
    grpc_->Disconnect(room_sid, bob);
    Track(v1::EVENT_TYPE_TRACK_UNPUBLISHED, room_sid, alice, cam);
    Track(v1::EVENT_TYPE_TRACK_UNPUBLISHED, room_sid, alice, chat);
    grpc_->Disconnect(room_sid, alice);
    grpc_->EndRoom(room_sid);

    const v1::Participant a = grpc_->Participant(alice);
    const v1::Participant b = grpc_->Participant(bob);
    auto who = [](const v1::Participant& p, const std::string& status) {
      return Params{{"ParticipantSid", p.sid()},
                    {"ParticipantIdentity", p.identity()},
                    {"ParticipantStatus", status}};
    };
    auto track = [&](const std::string& sid, const std::string& name, const std::string& kind) {
      Params params = who(a, "connected");
      params.insert({{"TrackSid", sid}, {"TrackName", name}, {"TrackKind", kind}});
      return params;
    };
    expected.push_back({"participant-connected", who(a, "connected")});
    expected.push_back({"track-added", track(cam, "cam", "video")});
    expected.push_back({"track-added", track(mic, "mic", "audio")});
    expected.push_back({"track-added", track(chat, "chat", "data")});
    expected.push_back({"track-disabled", track(cam, "cam", "video")});
    expected.push_back({"track-enabled", track(cam, "cam", "video")});
    expected.push_back({"track-removed", track(mic, "mic", "audio")});
    expected.push_back({"participant-connected", who(b, "connected")});
    Params bob_gone = who(b, "disconnected");
    bob_gone["ParticipantDuration"] = std::to_string(b.duration());
    expected.push_back({"participant-disconnected", bob_gone});
    expected.push_back({"track-removed", track(cam, "cam", "video")});
    expected.push_back({"track-removed", track(chat, "chat", "data")});
    Params alice_gone = who(a, "disconnected");
    alice_gone["ParticipantDuration"] = std::to_string(a.duration());
    expected.push_back({"participant-disconnected", alice_gone});
    expected.push_back({"room-ended", {}});
    EXPECT_GE(a.duration(), 89);
    EXPECT_GE(b.duration(), 29);
    return expected;
  }

  // Checks one room's deliveries (in arrival order) against `expected`; `extra` are the
  // parameters of the URL's own query (GET rooms).
  void Check(const ScriptReceiver& receiver, const std::vector<Delivery>& all, const v1::Room& room,
             const std::string& method, const std::vector<Expected>& expected,
             const Params& extra) {
    SCOPED_TRACE(receiver.name() + " receiver, " + method + " room " + room.sid());
    std::vector<Delivery> mine;
    for (const Delivery& d : all) {
      if (d.Room() == room.sid()) mine.push_back(d);
    }
    ASSERT_EQ(mine.size(), expected.size()) << "no failures, so no repeats";
    static const std::regex kTimestamp(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)");
    // Whether the change's server time or the media server's event time, it is today's.
    const std::string earliest =
        UtcText(std::chrono::system_clock::now() - std::chrono::minutes(10));
    const std::string latest = UtcText(std::chrono::system_clock::now() + std::chrono::minutes(1));
    for (size_t i = 0; i < mine.size(); ++i) {
      const Delivery& d = mine[i];
      SCOPED_TRACE("SequenceNumber " + std::to_string(i) + " (" + expected[i].event + ")");
      EXPECT_TRUE(d.valid) << "Twilio's validator refused the signature " << d.signature;
      EXPECT_EQ(d.method, method);
      if (method == "POST") {
        EXPECT_THAT(d.content_type, ::testing::StartsWith("application/x-www-form-urlencoded"));
      } else {
        EXPECT_EQ(d.body, "");
      }
      Params want = expected[i].params;
      want["AccountSid"] = account_;
      want["RoomSid"] = room.sid();
      want["RoomName"] = room.unique_name();
      want["RoomType"] = "group";
      want["RoomStatus"] = expected[i].event == "room-ended" ? "completed" : "in-progress";
      want["StatusCallbackEvent"] = expected[i].event;
      want["SequenceNumber"] = std::to_string(i);
      if (expected[i].event == "room-ended") want["RoomDuration"] = std::to_string(room.duration());
      for (const auto& [name, value] : extra) want[name] = value;
      Params got = d.params;
      const std::string time = got["Timestamp"];
      got.erase("Timestamp");
      EXPECT_EQ(got, want);
      EXPECT_TRUE(std::regex_match(time, kTimestamp)) << time;
      EXPECT_GT(time, earliest);
      EXPECT_LT(time, latest);
    }
  }
};

TEST_F(CallbackContentTest, EveryEventSignedAndValidPerTwilioValidators) {
  ScriptReceiver python(ScriptReceiver::Language::kPython, dir_.path(), token_);
  ScriptReceiver node(ScriptReceiver::Language::kNode, dir_.path(), token_);
  ASSERT_GT(python.port(), 0);
  ASSERT_GT(node.port(), 0);

  struct Case {
    ScriptReceiver* receiver;
    std::string method;
    bool rest;
    std::string url;
    Params extra;  // the URL's own query
    std::string sid;
    std::vector<Expected> expected;
  };
  std::vector<Case> cases = {
      {&python, "POST", false, python.base_url() + "/status/post?tenant=py", {}, "", {}},
      {&python,
       "GET",
       true,
       python.base_url() + "/status/get?tenant=py&x=1",
       {{"tenant", "py"}, {"x", "1"}},
       "",
       {}},
      {&node, "POST", true, node.base_url() + "/status/post", {}, "", {}},
      {&node, "GET", false, node.base_url() + "/status/get?tenant=js", {{"tenant", "js"}}, "", {}},
  };
  int n = 0;
  for (Case& c : cases) {
    const std::string name = "room-" + std::to_string(n++) + "-" + c.method;
    c.sid = c.rest ? CreateRoomOverRest(name, c.url, c.method)
                   : CreateRoom(name, c.url, c.method).sid();
    ASSERT_FALSE(c.sid.empty());
    const v1::Room room = grpc_->Room(c.sid);
    EXPECT_EQ(room.status_callback(), c.url);
    EXPECT_EQ(room.status_callback_method(), c.method);
    c.expected = Drive(c.sid);
  }
  // Ad hoc rooms (no URL) send nothing: a CONNECTED event creating one must not reach anyone.
  grpc_->Connect("ad-hoc-room", "carol");

  for (const Case& c : cases) {
    ASSERT_TRUE(WaitUntil([&] {
      size_t count = 0;
      for (const Delivery& d : c.receiver->Deliveries()) count += d.Room() == c.sid;
      return count >= c.expected.size();
    })) << c.receiver->name()
        << " " << c.method << " room did not get its callbacks; log:\n"
        << server_.Log();
  }
  const std::vector<Delivery> from_python = python.Deliveries();
  const std::vector<Delivery> from_node = node.Deliveries();
  for (const Case& c : cases) {
    Check(*c.receiver, c.receiver == &python ? from_python : from_node, grpc_->Room(c.sid),
          c.method, c.expected, c.extra);
  }
  EXPECT_EQ(from_python.size() + from_node.size(), 4 * cases[0].expected.size())
      << "a callback for something that sends none (reconnects, the ad hoc room)";

  // Each delivery, replayed as it came (same Host, path, body, signature) to the other
  // language's validator: valid there too.
  int replayed = 0;
  for (const auto& [from, to] : {std::pair{&from_python, &node}, std::pair{&from_node, &python}}) {
    for (const Delivery& d : *from) {
      EXPECT_EQ(to->Replay(d), std::optional<bool>(true))
          << to->name() << " refused " << d.method << " " << d.path << " " << d.body;
      ++replayed;
    }
  }
  EXPECT_EQ(replayed, 4 * static_cast<int>(cases[0].expected.size()));

  // Tampered: one parameter changed (POST body; GET query), or a wrong signature. Both
  // validators refuse each.
  auto find = [](const std::vector<Delivery>& all, const std::string& method) {
    for (const Delivery& d : all) {
      if (d.method == method && d.Event() == "participant-disconnected") return d;
    }
    ADD_FAILURE() << "no " << method << " participant-disconnected delivery";
    return Delivery{};
  };
  const Delivery post = find(from_python, "POST");
  const Delivery get = find(from_node, "GET");
  std::vector<std::pair<std::string, Delivery>> tampered;
  {
    Delivery d = post;
    Params params = d.params;
    params["ParticipantDuration"] = std::to_string(std::stoi(params["ParticipantDuration"]) + 1);
    d.body = EncodeForm(params);
    tampered.push_back({"POST with ParticipantDuration changed", d});
  }
  {
    Delivery d = get;
    const size_t at = d.path.find("RoomStatus=in-progress");
    ASSERT_NE(at, std::string::npos) << d.path;
    d.path.replace(at, std::string("RoomStatus=in-progress").size(), "RoomStatus=completed");
    tampered.push_back({"GET with RoomStatus changed", d});
  }
  for (Delivery d : {post, get}) {
    d.signature[0] = d.signature[0] == 'A' ? 'B' : 'A';
    tampered.push_back({d.method + " with a wrong signature", d});
  }
  {
    Delivery d = post;
    d.signature.clear();
    tampered.push_back({"POST without a signature", d});
  }
  for (const auto& [what, d] : tampered) {
    EXPECT_EQ(python.Replay(d), std::optional<bool>(false)) << "python accepted " << what;
    EXPECT_EQ(node.Replay(d), std::optional<bool>(false)) << "node accepted " << what;
  }
  // The untampered originals still pass (the replay mechanics are not what refused them).
  EXPECT_EQ(python.Replay(post), std::optional<bool>(true));
  EXPECT_EQ(node.Replay(get), std::optional<bool>(true));
}

// A retried callback is the same request, still valid: receivers that answer 500 twice see the
// room-created callback three times, identical and signed, and then the next one.
class CallbackRetryTest : public CallbacksTest {
 protected:
  void SetUp() override {
    flags_ = {"--callback_retry_initial=50ms", "--callback_retry_max=200ms"};
    CallbacksTest::SetUp();
  }
};

TEST_F(CallbackRetryTest, RetriesRepeatTheSameSignedCallback) {
  ScriptReceiver python(ScriptReceiver::Language::kPython, dir_.path(), token_,
                        {"--fail-first", "2"});
  ScriptReceiver node(ScriptReceiver::Language::kNode, dir_.path(), token_, {"--fail-first", "2"});
  ASSERT_GT(python.port(), 0);
  ASSERT_GT(node.port(), 0);
  for (const auto& [receiver, method] : {std::pair{&python, "POST"}, std::pair{&node, "GET"}}) {
    SCOPED_TRACE(receiver->name() + " " + method);
    const v1::Room room =
        CreateRoom(std::string("retried-") + method, receiver->base_url() + "/retried", method);
    grpc_->Connect(room.sid(), "alice");
    ASSERT_TRUE(WaitUntil([&] { return receiver->Deliveries().size() >= 4; }))
        << receiver->Deliveries().size() << " requests; log:\n"
        << server_.Log();
    const std::vector<Delivery> all = receiver->Deliveries();
    ASSERT_EQ(all.size(), 4u);
    for (size_t i = 0; i < 3; ++i) {
      EXPECT_EQ(all[i].Event(), "room-created");
      EXPECT_EQ(all[i].Sequence(), 0);
      EXPECT_EQ(all[i].params, all[0].params) << "attempt " << i + 1;
      EXPECT_EQ(all[i].signature, all[0].signature) << "attempt " << i + 1;
    }
    EXPECT_EQ(all[3].Event(), "participant-connected");
    EXPECT_EQ(all[3].Sequence(), 1);
    for (const Delivery& d : all) EXPECT_TRUE(d.valid) << d.path << " " << d.body;
    const std::string label = MetricsHostLabel("127.0.0.1:" + std::to_string(receiver->port()));
    EXPECT_TRUE(WaitUntil([&] {
      const std::string metrics = Metrics();
      return MetricValue(metrics, "rollcall_callbacks_retried_total", label) == 2 &&
             MetricValue(metrics, "rollcall_callbacks_delivered_total", label) == 2;
    })) << Metrics();
  }
}

// ---------------------------------------------------------------------------------------------
// b. SIGKILL during a burst.

class CallbackCrashTest : public CallbacksTest {
 protected:
  void SetUp() override {
    flags_ = {"--callback_host_concurrency=16", "--callback_retry_initial=50ms",
              "--callback_retry_max=500ms"};
    CallbacksTest::SetUp();
  }
};

TEST_F(CallbackCrashTest, OrderedGaplessAfterSigkillMidBurst) {
  constexpr int kRooms = 100;
  constexpr int kParticipantsPerRoom = 50;  // a connect and a disconnect each: 100 events a room
  constexpr int kSenders = 4;
  constexpr int kEventsPerMessage = 50;
  constexpr size_t kKillAfter = 3000;  // acknowledged events

  Receiver receiver;
  std::vector<std::string> rooms;
  for (int r = 0; r < kRooms; ++r) {
    rooms.push_back(CreateRoom("burst-" + std::to_string(r), receiver.url("/burst")).sid());
  }
  // Per room: connect p, disconnect p, connect p+1, ... (at most one active), 1 ms apart.
  const Timestamp base = Plus(Now(), std::chrono::seconds(-60));
  std::vector<std::vector<v1::Event>> per_room(kRooms);
  for (int r = 0; r < kRooms; ++r) {
    for (int p = 0; p < kParticipantsPerRoom; ++p) {
      const std::string sid = "PA" + RandomHex(32);
      const Timestamp at = Plus(base, std::chrono::milliseconds(2 * p));
      per_room[r].push_back(ConnectedEvent(rooms[r], "user-" + std::to_string(p), at, sid));
      per_room[r].push_back(
          DisconnectedEvent(rooms[r], sid, Plus(at, std::chrono::milliseconds(1))));
    }
  }
  // Sender s owns rooms r % kSenders == s, and sends them round robin, so each room's events
  // go out in order on one stream.
  std::vector<std::vector<v1::Event>> plan(kSenders);
  for (int i = 0; i < 2 * kParticipantsPerRoom; ++i) {
    for (int r = 0; r < kRooms; ++r) plan[r % kSenders].push_back(per_room[r][i]);
  }
  for (auto& events : plan) {
    for (v1::Event& event : events) event.set_account_sid(account_);
  }

  std::atomic<size_t> acked{0};
  std::atomic<size_t> bad_results{0};
  std::vector<size_t> next(kSenders, 0);  // first unacknowledged event of each sender
  // Sends plan[s] from next[s] on one stream, message by message, until done or the stream
  // breaks. Results must be APPLIED, or DUPLICATE on a resend.
  auto send = [&](int s, bool resend) {
    Client client(AuthorizedChannel(server_.address(), BasicAuthorization(account_, token_)));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
    auto stream = client.ingest().StreamEvents(&context);
    while (next[s] < plan[s].size()) {
      v1::StreamEventsRequest request;
      const size_t end = std::min(plan[s].size(), next[s] + kEventsPerMessage);
      for (size_t i = next[s]; i < end; ++i) *request.add_events() = plan[s][i];
      if (!stream->Write(request)) break;
      size_t results = 0;
      v1::StreamEventsResponse response;
      while (next[s] + results < end && stream->Read(&response)) {
        for (const v1::EventResult& result : response.results()) {
          const bool ok =
              result.code() == 0 && (result.outcome() == v1::EVENT_OUTCOME_APPLIED ||
                                     (resend && result.outcome() == v1::EVENT_OUTCOME_DUPLICATE));
          if (!ok && bad_results++ < 5) {
            ADD_FAILURE() << "event " << result.event_id() << ": code " << result.code() << " "
                          << result.message() << " outcome " << result.outcome();
          }
          ++results;
        }
      }
      if (next[s] + results < end) break;  // the stream broke: the message is unacknowledged
      next[s] = end;
      acked += results;
    }
    stream->WritesDone();
    stream->Finish();
  };

  const auto burst_start = Clock::now();
  std::vector<std::thread> senders;
  for (int s = 0; s < kSenders; ++s) senders.emplace_back(send, s, false);
  const bool reached = WaitUntil([&] { return acked >= kKillAfter; }, std::chrono::seconds(60));
  const size_t delivered_at_kill = receiver.Count();
  server_.Kill();
  for (std::thread& t : senders) t.join();
  ASSERT_TRUE(reached) << "only " << acked << " events acknowledged";
  const size_t acked_at_kill = acked;
  std::cout << "killed with " << acked_at_kill << " of " << kRooms * 2 * kParticipantsPerRoom
            << " events acknowledged and " << delivered_at_kill << " callbacks received"
            << std::endl;
  EXPECT_LT(acked_at_kill, size_t{kRooms * 2 * kParticipantsPerRoom}) << "the kill came too late";

  // Everything received from here on was sent by the restarted server.
  const size_t received_before_restart = receiver.Count();
  StartServer();
  senders.clear();
  for (int s = 0; s < kSenders; ++s) senders.emplace_back(send, s, true);
  for (std::thread& t : senders) t.join();
  for (int s = 0; s < kSenders; ++s) EXPECT_EQ(next[s], plan[s].size()) << "sender " << s;
  EXPECT_EQ(bad_results, 0u);

  // Every acknowledged event implies one callback; with room-created, 101 a room.
  const size_t per_room_total = 1 + 2 * kParticipantsPerRoom;
  const size_t total = kRooms * per_room_total;
  std::map<std::string, std::set<int>> seen;
  const bool all = WaitUntil(
      [&] {
        seen.clear();
        size_t unique = 0;
        for (const Delivery& d : receiver.Deliveries())
          unique += seen[d.Room()].insert(d.Sequence()).second;
        return unique >= total;
      },
      std::chrono::seconds(120));
  const double seconds = std::chrono::duration<double>(Clock::now() - burst_start).count();
  EXPECT_TRUE(all) << "callbacks missing after " << seconds << " s";

  const std::vector<Delivery> deliveries = receiver.Deliveries();
  std::map<std::string, std::vector<const Delivery*>> by_room;
  for (const Delivery& d : deliveries) by_room[d.Room()].push_back(&d);
  EXPECT_EQ(by_room.size(), size_t{kRooms});
  size_t repeats = 0;
  size_t failures = 0;
  for (const std::string& room : rooms) {
    int expected = 0;
    const Delivery* last = nullptr;
    for (const Delivery* d : by_room[room]) {
      if (d->Sequence() == expected) {
        last = d;
        ++expected;
        continue;
      }
      const auto index = [&](const Delivery* x) {
        return static_cast<size_t>(x - deliveries.data());
      };
      if (last != nullptr && d->Sequence() == expected - 1 && d->params == last->params) {
        // The one in flight at the kill, sent again unchanged by the restarted server.
        EXPECT_LT(index(last), received_before_restart)
            << "room " << room << " repeated " << d->Sequence() << " without a kill";
        EXPECT_GE(index(d), received_before_restart)
            << "room " << room << " repeated " << d->Sequence() << " without a kill";
        ++repeats;
        continue;
      }
      if (failures++ < 5) {
        ADD_FAILURE() << "room " << room << ": after SequenceNumber " << expected - 1 << " got "
                      << d->Sequence() << " (" << d->Event() << ")"
                      << (last && d->Sequence() == expected - 1 ? ", a repeat with other params"
                                                                : "");
      }
    }
    EXPECT_EQ(expected, static_cast<int>(per_room_total)) << "room " << room;
  }
  EXPECT_EQ(failures, 0u);
  EXPECT_LE(repeats, size_t{kRooms}) << "more repeats than rooms (at most one in flight each)";
  EXPECT_EQ(deliveries.size(), total + repeats);
  std::cout << deliveries.size() << " callbacks (" << repeats << " repeats of the one in flight)"
            << " for " << kRooms * 2 * kParticipantsPerRoom << " events over " << kRooms
            << " rooms, all in " << seconds << " s" << std::endl;
  RecordProperty("repeats", std::to_string(repeats));
  RecordProperty("acked_at_kill", std::to_string(acked_at_kill));
}

// ---------------------------------------------------------------------------------------------
// c. A dead receiver holds up neither other rooms nor ingest.

class CallbackIsolationTest : public CallbacksTest {
 protected:
  void SetUp() override {
    flags_ = {"--callback_timeout=1s", "--callback_retry_initial=100ms",
              "--callback_retry_max=500ms"};
    CallbacksTest::SetUp();
  }

  struct Ingest {
    double seconds = 0;
    double events_per_second = 0;
    double p50_ms = 0;
    double max_ms = 0;
  };
  // Sends `events` connect/disconnect events over `rooms` on one stream, one 50-event message
  // at a time, and times it.
  Ingest Send(const std::vector<std::string>& rooms, int events) {
    std::vector<v1::Event> plan;
    const Timestamp base = Now();
    for (int i = 0; plan.size() < static_cast<size_t>(events); ++i) {
      for (const std::string& room : rooms) {
        const std::string sid = "PA" + RandomHex(32);
        const Timestamp at = Plus(base, std::chrono::milliseconds(i));
        plan.push_back(ConnectedEvent(room, "u" + std::to_string(i), at, sid));
        plan.push_back(DisconnectedEvent(room, sid, Plus(at, std::chrono::milliseconds(1))));
      }
    }
    plan.resize(static_cast<size_t>(events));
    std::vector<double> latencies;
    const auto start = Clock::now();
    for (size_t at = 0; at < plan.size(); at += 50) {
      const std::vector<v1::Event> message(
          plan.begin() + static_cast<long>(at),
          plan.begin() + static_cast<long>(std::min(plan.size(), at + 50)));
      const auto sent = Clock::now();
      const std::vector<v1::EventResult> results = grpc_->StreamOnce(message);
      latencies.push_back(std::chrono::duration<double, std::milli>(Clock::now() - sent).count());
      for (const v1::EventResult& r : results) {
        EXPECT_EQ(r.outcome(), v1::EVENT_OUTCOME_APPLIED) << r.event_id() << " " << r.message();
      }
    }
    Ingest out;
    out.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    out.events_per_second = events / out.seconds;
    std::sort(latencies.begin(), latencies.end());
    out.p50_ms = latencies[latencies.size() / 2];
    out.max_ms = latencies.back();
    return out;
  }
};

TEST_F(CallbackIsolationTest, DeadReceiverDelaysOnlyItsOwnRooms) {
  constexpr int kRooms = 10;
  constexpr int kEvents = 2000;
  Receiver healthy;
  DeadReceiver dead;
  const std::string dead_label = MetricsHostLabel(dead.host());

  std::vector<std::string> healthy_rooms;
  for (int r = 0; r < kRooms; ++r) {
    healthy_rooms.push_back(CreateRoom("healthy-" + std::to_string(r), healthy.url()).sid());
  }
  const Ingest without = Send(healthy_rooms, kEvents);
  const auto ingested_alone = Clock::now();
  size_t want = kRooms + kEvents;
  // Distinct (room, SequenceNumber) pairs: a delivery slowed past --callback_timeout on a
  // loaded machine may legitimately come twice.
  auto distinct = [&healthy] {
    std::set<std::pair<std::string, int>> seen;
    for (const Delivery& d : healthy.Deliveries()) seen.insert({d.Room(), d.Sequence()});
    return seen.size();
  };
  ASSERT_TRUE(WaitUntil([&] { return distinct() >= want; })) << distinct() << " of " << want;
  const double drain_alone = std::chrono::duration<double>(Clock::now() - ingested_alone).count();

  std::vector<std::string> dead_rooms;
  for (int r = 0; r < kRooms; ++r) {
    dead_rooms.push_back(CreateRoom("dead-" + std::to_string(r), dead.url()).sid());
  }
  // The same load, half of it for the dead receiver's rooms.
  std::vector<std::string> mixed = healthy_rooms;
  mixed.insert(mixed.end(), dead_rooms.begin(), dead_rooms.end());
  const Ingest with = Send(mixed, kEvents);
  const auto ingested = Clock::now();
  want += kEvents / 2;
  const bool healthy_done = WaitUntil([&] { return distinct() >= want; }, std::chrono::seconds(30));
  const double healthy_lag = std::chrono::duration<double>(Clock::now() - ingested).count();
  EXPECT_TRUE(healthy_done) << distinct() << " of " << want
                            << " healthy callbacks while the dead receiver's are pending";
  EXPECT_EQ(distinct(), want);

  std::cout << "ingest of " << kEvents << " events without the dead receiver: " << without.seconds
            << " s (" << without.events_per_second << " events/s, 50-event message p50 "
            << without.p50_ms << " ms, max " << without.max_ms << " ms); with it: " << with.seconds
            << " s (" << with.events_per_second << " events/s, p50 " << with.p50_ms << " ms, max "
            << with.max_ms << " ms); the healthy rooms' callbacks all in " << drain_alone
            << " s after ingest ended alone (" << kEvents << " callbacks), " << healthy_lag
            << " s beside the dead receiver (" << kEvents / 2 << " callbacks)" << std::endl;
  RecordProperty("ingest_events_per_second_without_dead",
                 std::to_string(without.events_per_second));
  RecordProperty("ingest_events_per_second_with_dead", std::to_string(with.events_per_second));
  RecordProperty("ingest_p50_ms_without_dead", std::to_string(without.p50_ms));
  RecordProperty("ingest_p50_ms_with_dead", std::to_string(with.p50_ms));
  RecordProperty("healthy_callbacks_done_after_s_alone", std::to_string(drain_alone));
  RecordProperty("healthy_callbacks_done_after_s_with_dead", std::to_string(healthy_lag));
  // Loose: only catches ingest waiting on deliveries (timing targets belong in bench/).
  EXPECT_LT(with.seconds, 5 * without.seconds + 5);

  // The dead host's callbacks are pending, retried, and ageing.
  std::string metrics = Metrics();
  EXPECT_GE(MetricValue(metrics, "rollcall_callbacks_pending").value_or(0), kRooms + kEvents / 2)
      << metrics;
  EXPECT_EQ(MetricValue(metrics, "rollcall_callbacks_delivered_total", dead_label).value_or(0), 0);
  const double retried =
      MetricValue(metrics, "rollcall_callbacks_retried_total", dead_label).value_or(0);
  const double lag = MetricValue(metrics, "rollcall_callback_lag_seconds", dead_label).value_or(0);
  EXPECT_TRUE(WaitUntil([&] {
    metrics = Metrics();
    return MetricValue(metrics, "rollcall_callbacks_retried_total", dead_label).value_or(0) >
               retried &&
           MetricValue(metrics, "rollcall_callback_lag_seconds", dead_label).value_or(0) > lag &&
           MetricValue(metrics, "rollcall_callback_lag_seconds", dead_label).value_or(0) >= 1;
  })) << "retried and lag for "
      << dead.host() << " did not rise; metrics:\n"
      << metrics;
  EXPECT_GT(
      MetricValue(metrics, "rollcall_callbacks_delivered_total", MetricsHostLabel(healthy.host()))
          .value_or(0),
      0);
}

// The bounds behind isolation: a slow receiver never has more than --callback_host_concurrency
// requests in flight, and a room never more than one.
class CallbackConcurrencyTest : public CallbacksTest {
 protected:
  void SetUp() override {
    flags_ = {"--callback_host_concurrency=3"};
    CallbacksTest::SetUp();
  }
};

TEST_F(CallbackConcurrencyTest, PerReceiverAndPerRoomBounds) {
  constexpr int kRooms = 12;
  constexpr int kPerRoom = 3;  // room-created and two participant-connected
  std::mutex mutex;
  int in_flight = 0;
  int most = 0;
  std::map<std::string, int> per_room;
  int most_per_room = 0;
  Receiver slow([&](const Delivery& d) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      most = std::max(most, ++in_flight);
      most_per_room = std::max(most_per_room, ++per_room[d.Room()]);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::lock_guard<std::mutex> lock(mutex);
    --in_flight;
    --per_room[d.Room()];
    return 200;
  });
  for (int r = 0; r < kRooms; ++r) {
    const std::string sid = CreateRoom("slow-" + std::to_string(r), slow.url()).sid();
    grpc_->Connect(sid, "alice");
    grpc_->Connect(sid, "bob");
  }
  ASSERT_TRUE(WaitUntil([&] { return slow.Count() >= size_t{kRooms * kPerRoom}; })) << slow.Count();
  std::lock_guard<std::mutex> lock(mutex);
  EXPECT_EQ(most, 3) << "requests in flight to one receiver at once";
  EXPECT_EQ(most_per_room, 1) << "requests in flight for one room at once";
}

// ---------------------------------------------------------------------------------------------
// d. A callback that keeps failing is recorded as failed, and the room goes on.

class CallbackFailureTest : public CallbacksTest {
 protected:
  void SetUp() override {
    flags_ = {"--callback_max_age=2s", "--callback_retry_initial=50ms",
              "--callback_retry_max=200ms", "--callback_timeout=1s"};
    CallbacksTest::SetUp();
  }
};

TEST_F(CallbackFailureTest, PastMaxAgeTheCallbackFailsAndTheNextIsDelivered) {
  std::atomic<bool> failing{true};
  Receiver receiver([&](const Delivery&) { return failing ? 500 : 200; });
  const std::string label = MetricsHostLabel(receiver.host());
  const v1::Room room = CreateRoom("failing", receiver.url("/always-500"));

  std::string metrics;
  ASSERT_TRUE(WaitUntil(
      [&] {
        metrics = Metrics();
        return MetricValue(metrics, "rollcall_callbacks_failed_total", label).value_or(0) >= 1;
      },
      std::chrono::seconds(20)))
      << "rollcall_callbacks_failed_total for " << receiver.host() << " never rose; metrics:\n"
      << metrics;
  EXPECT_EQ(MetricValue(metrics, "rollcall_callbacks_failed_total", label), 1);
  EXPECT_GT(MetricValue(metrics, "rollcall_callbacks_retried_total", label).value_or(0), 0);
  const std::vector<Delivery> attempts = receiver.Deliveries();
  ASSERT_GE(attempts.size(), 2u) << "retried before giving up";
  for (const Delivery& d : attempts) {
    EXPECT_EQ(d.Sequence(), 0);
    EXPECT_EQ(d.Event(), "room-created");
    EXPECT_EQ(d.params, attempts[0].params) << "a retry is the same callback";
  }

  // AdminService.ListFailedCallbacks: admin only; the one failed callback, as it was to be sent.
  const auto admin = v1::AdminService::NewStub(
      AuthorizedChannel(server_.address(), BasicAuthorization(admin_sid_, admin_secret_)));
  v1::ListFailedCallbacksResponse failed;
  const grpc::Status listed =
      admin->ListFailedCallbacks(Deadline().get(), v1::ListFailedCallbacksRequest(), &failed);
  ASSERT_TRUE(listed.ok()) << Describe(listed);
  ASSERT_EQ(failed.failed_callbacks_size(), 1) << failed.ShortDebugString();
  const v1::FailedCallback& f = failed.failed_callbacks(0);
  EXPECT_EQ(f.room_sid(), room.sid());
  EXPECT_EQ(f.event(), "room-created");
  EXPECT_EQ(f.sequence_number(), 0u);
  EXPECT_EQ(f.url(), receiver.url("/always-500"));
  EXPECT_EQ(f.method(), "POST");
  EXPECT_EQ(f.attempts(), attempts.size());
  EXPECT_THAT(f.last_error(), HasSubstr("500"));
  EXPECT_EQ(Params(f.parameters().begin(), f.parameters().end()), attempts[0].params);
  EXPECT_TRUE(failed.next_page_token().empty());
  const auto reader = v1::AdminService::NewStub(
      AuthorizedChannel(server_.address(), BasicAuthorization(read_sid_, read_secret_)));
  EXPECT_EQ(reader->ListFailedCallbacks(Deadline().get(), v1::ListFailedCallbacksRequest(), &failed)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  const auto [code, output] =
      RunCli(dir_.path(), {"--server", server_.address(), "--api-key", admin_sid_, "--api-secret",
                           admin_secret_, "callbacks", "failed"});
  EXPECT_EQ(code, 0) << output;
  EXPECT_THAT(output, HasSubstr(room.sid()));
  EXPECT_THAT(output, HasSubstr("room-created"));

  // The room's next callback goes out once the receiver answers again.
  failing = false;
  const size_t before = receiver.Count();
  grpc_->Connect(room.sid(), "alice");
  ASSERT_TRUE(WaitUntil([&] {
    const std::vector<Delivery> all = receiver.Deliveries();
    return std::any_of(all.begin() + static_cast<long>(before), all.end(), [](const Delivery& d) {
      return d.Sequence() == 1 && d.Event() == "participant-connected";
    });
  })) << "the callback after the failed one was not delivered";
  const std::vector<Delivery> all = receiver.Deliveries();
  for (size_t i = before; i < all.size(); ++i) {
    EXPECT_EQ(all[i].Sequence(), 1) << "the failed callback came back";
  }
  EXPECT_TRUE(WaitUntil([&] {
    return MetricValue(Metrics(), "rollcall_callbacks_delivered_total", label).value_or(0) >= 1;
  }));
}

// A redirect is not followed: it is a failed attempt, and the callback fails like any other.
TEST_F(CallbackFailureTest, RedirectsAreNotFollowed) {
  Receiver target;
  Receiver redirecting([](const Delivery&) { return 302; });
  redirecting.set_location(target.url("/moved"));
  const v1::Room room = CreateRoom("redirected", redirecting.url("/old"));
  const auto admin = v1::AdminService::NewStub(
      AuthorizedChannel(server_.address(), BasicAuthorization(admin_sid_, admin_secret_)));
  v1::ListFailedCallbacksResponse failed;
  ASSERT_TRUE(WaitUntil(
      [&] {
        failed.Clear();
        return admin->ListFailedCallbacks(Deadline().get(), {}, &failed).ok() &&
               failed.failed_callbacks_size() == 1;
      },
      std::chrono::seconds(20)))
      << failed.ShortDebugString();
  EXPECT_EQ(failed.failed_callbacks(0).room_sid(), room.sid());
  EXPECT_THAT(failed.failed_callbacks(0).last_error(), HasSubstr("302"));
  EXPECT_GE(redirecting.Count(), 2u);
  EXPECT_EQ(target.Count(), 0u) << "the redirect was followed";
}

// ---------------------------------------------------------------------------------------------
// e. URL validation.

grpc::Status TryCreate(Client& client, const std::string& url) {
  v1::CreateRoomRequest request;
  request.set_unique_name("url-" + RandomHex(8));
  request.set_status_callback(url);
  v1::CreateRoomResponse response;
  return client.CreateRoom(request, &response);
}

TEST_F(CallbacksTest, StatusCallbackMustBeAnHttpUrl) {
  for (const std::string url : {"ftp://example.com/callbacks", "not a url", "http://",
                                "://example.com", "example.com/callbacks", "javascript:alert(1)"}) {
    const grpc::Status status = TryCreate(*grpc_, url);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << url;
    EXPECT_THAT(status.error_message(), HasSubstr("status_callback")) << url;
  }
  // The REST port says the same in Twilio's terms.
  httplib::Result rest = Admin()->Post(
      "/v1/Rooms", httplib::Params{{"UniqueName", "rest-ftp"}, {"StatusCallback", "ftp://x/cb"}});
  ASSERT_TRUE(rest);
  EXPECT_EQ(rest->status, 400) << rest->body;
  EXPECT_EQ(Json(rest)["code"], 53111) << rest->body;
  // Without --callback_refuse_private, loopback and private addresses are fine.
  for (const std::string url :
       {"http://127.0.0.1:9/cb", "http://10.1.2.3/", "https://example.com/cb"}) {
    EXPECT_TRUE(TryCreate(*grpc_, url).ok()) << url;
  }
}

class CallbackRefusePrivateTest : public CallbacksTest {
 protected:
  void SetUp() override {
    flags_ = {"--callback_refuse_private", "--callback_max_age=2s", "--callback_retry_initial=50ms",
              "--callback_retry_max=200ms"};
    CallbacksTest::SetUp();
  }
};

TEST_F(CallbackRefusePrivateTest, PrivateAddressesAreRefused) {
  for (const std::string url : {"http://127.0.0.1/callbacks", "http://127.0.0.1:8080/callbacks",
                                "http://10.1.2.3/", "http://192.168.1.1/cb", "http://172.16.0.1/cb",
                                "http://169.254.169.254/latest", "http://[::1]/cb"}) {
    const grpc::Status status = TryCreate(*grpc_, url);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << url;
    EXPECT_THAT(status.error_message(), HasSubstr("status_callback")) << url;
  }
  for (const std::string url :
       {"https://callbacks.example.com/rollcall", "http://93.184.216.34/cb"}) {
    const grpc::Status status = TryCreate(*grpc_, url);
    EXPECT_TRUE(status.ok()) << url << ": " << Describe(status);
  }
}

// This machine's name, when it resolves (e.g. through /etc/hosts) to a loopback or private IPv4
// address; empty otherwise.
std::string PrivateHostName() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') return "";
  addrinfo hints{};
  hints.ai_family = AF_INET;
  addrinfo* found = nullptr;
  if (getaddrinfo(name, nullptr, &hints, &found) != 0 || found == nullptr) return "";
  const uint32_t address =
      ntohl(reinterpret_cast<const sockaddr_in*>(found->ai_addr)->sin_addr.s_addr);
  freeaddrinfo(found);
  const bool is_private = (address >> 24) == 127 || (address >> 24) == 10 ||
                          (address >> 20) == 0xac1 || (address >> 16) == 0xc0a8;
  return is_private ? name : "";
}

// A host name (not an IP literal) passes CreateRoom, but the connection to the private address
// it resolves to is refused: nothing reaches the receiver, and the callback fails saying why.
TEST_F(CallbackRefusePrivateTest, NamesResolvingToPrivateAddressesAreNotCalled) {
  const std::string name = PrivateHostName();
  if (name.empty()) GTEST_SKIP() << "this machine's name does not resolve to a private address";
  if (name == "localhost") GTEST_SKIP() << "CreateRoom refuses localhost by name";
  Receiver receiver;  // on 127.0.0.1: where the name leads, if it were allowed
  const std::string url = "http://" + name + ":" + std::to_string(receiver.port()) + "/cb";
  v1::CreateRoomRequest request;
  request.set_unique_name("by-name");
  request.set_status_callback(url);
  v1::CreateRoomResponse created;
  const grpc::Status status = grpc_->CreateRoom(request, &created);
  ASSERT_TRUE(status.ok()) << url << ": " << Describe(status);
  const auto admin = v1::AdminService::NewStub(
      AuthorizedChannel(server_.address(), BasicAuthorization(admin_sid_, admin_secret_)));
  v1::ListFailedCallbacksResponse failed;
  ASSERT_TRUE(WaitUntil(
      [&] {
        failed.Clear();
        return admin->ListFailedCallbacks(Deadline().get(), {}, &failed).ok() &&
               failed.failed_callbacks_size() == 1;
      },
      std::chrono::seconds(20)))
      << failed.ShortDebugString();
  EXPECT_EQ(failed.failed_callbacks(0).room_sid(), created.room().sid());
  EXPECT_THAT(failed.failed_callbacks(0).last_error(), HasSubstr("callback_refuse_private"));
  EXPECT_EQ(receiver.Count(), 0u);
}

}  // namespace
}  // namespace rollcall::testing
