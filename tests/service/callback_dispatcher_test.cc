// Unit tests of status callback delivery (service/callback_dispatcher.h) without a network: a
// transport the test answers by hand, the in-memory store as the outbox, and a SimulatedClock
// that drives backoff and ages, so no test waits on the wall clock for a timer. Also Twilio's
// signature and the parameters (service/callback_params.h), and URL checks
// (service/callback_http.h).
#include "service/callback_dispatcher.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/callback_http.h"
#include "service/callback_params.h"
#include "service/clock.h"
#include "store/store.h"

namespace rollcall::service {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

constexpr char kToken[] = "0123456789abcdef0123456789abcdef";

state::Sid MakeSid(absl::string_view prefix, uint8_t n) {
  state::Sid::Bytes bytes{};
  bytes[15] = n;
  return state::Sid(prefix, bytes);
}

template <typename F>
bool WaitUntil(F condition) {
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (!condition()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(1));
  }
  return true;
}

// Holds every request until the test answers it.
class ManualTransport final : public CallbackTransport {
 public:
  struct Sent {
    CallbackRequest request;
    std::function<void(CallbackResult)> done;
    bool answered = false;
  };

  void Send(CallbackRequest request, std::function<void(CallbackResult)> done) override {
    absl::MutexLock lock(&mu_);
    sent_.push_back({std::move(request), std::move(done)});
  }

  size_t count() {
    absl::MutexLock lock(&mu_);
    return sent_.size();
  }
  CallbackRequest request(size_t i) {
    absl::MutexLock lock(&mu_);
    return sent_.at(i).request;
  }
  // Requests not answered yet, by index.
  std::vector<size_t> open() {
    absl::MutexLock lock(&mu_);
    std::vector<size_t> indexes;
    for (size_t i = 0; i < sent_.size(); ++i) {
      if (!sent_[i].answered) indexes.push_back(i);
    }
    return indexes;
  }
  void Answer(size_t i, CallbackResult result) {
    std::function<void(CallbackResult)> done;
    {
      absl::MutexLock lock(&mu_);
      ASSERT_FALSE(sent_.at(i).answered);
      sent_.at(i).answered = true;
      done = sent_.at(i).done;
    }
    done(std::move(result));
  }

 private:
  absl::Mutex mu_;
  std::vector<Sent> sent_ ABSL_GUARDED_BY(mu_);
};

// A parameter of a POST body or a GET query.
std::string Param(const CallbackRequest& request, absl::string_view name) {
  absl::string_view form = request.body;
  if (request.method == "GET")
    form = absl::string_view(request.url).substr(request.url.find('?') + 1);
  for (absl::string_view pair : absl::StrSplit(form, '&')) {
    std::pair<std::string, std::string> kv = absl::StrSplit(pair, absl::MaxSplits('=', 1));
    if (kv.first == name) return kv.second;
  }
  return "<absent>";
}

class CallbackDispatcherTest : public ::testing::Test {
 protected:
  ~CallbackDispatcherTest() override {
    if (dispatcher_) dispatcher_->Stop();
  }

  // A callback of room `room` (its receiver host `host`), stored in the outbox.
  state::Callback Owed(uint8_t room, uint64_t sequence, const std::string& host = "good.test") {
    state::Callback callback;
    callback.room_sid = MakeSid("RM", room);
    callback.sequence = sequence;
    callback.revision = 100 + sequence;
    callback.event = sequence == 0 ? state::CallbackEvent::kRoomCreated
                                   : state::CallbackEvent::kParticipantConnected;
    callback.timestamp = clock_.SystemTime();
    callback.room.sid = callback.room_sid;
    callback.room.account_sid = MakeSid("AC", 1);
    callback.room.unique_name = absl::StrCat("room-", room);
    callback.room.status = state::RoomStatus::kInProgress;
    callback.room.status_callback = absl::StrCat("https://", host, "/hook?room=", int{room});
    callback.room.status_callback_method = "POST";
    if (sequence > 0) {
      state::Participant participant;
      participant.sid = MakeSid("PA", static_cast<uint8_t>(sequence));
      participant.identity = absl::StrCat("user ", sequence);
      participant.status = state::ParticipantStatus::kConnected;
      callback.participant = participant;
    }
    store::WriteBatch batch;
    batch.callbacks = {callback};
    EXPECT_TRUE(store_.Write(batch).ok());
    return callback;
  }

  void Start(std::vector<state::Callback> backlog = {}) {
    dispatcher_ = std::make_unique<CallbackDispatcher>(
        options_, store_, transport_,
        [](const state::Sid&) -> std::optional<std::string> { return kToken; }, clock_);
    dispatcher_->Start(std::move(backlog));
  }

  // (room, SequenceNumber) of request i.
  std::pair<std::string, std::string> Target(size_t i) {
    const CallbackRequest request = transport_.request(i);
    return {Param(request, "RoomName"), Param(request, "SequenceNumber")};
  }

  size_t PendingInStore() {
    absl::StatusOr<store::CallbackBacklog> backlog = store_.LoadCallbacks();
    EXPECT_TRUE(backlog.ok());
    return backlog.ok() ? backlog->pending.size() : 0;
  }

  CallbackOptions options_;
  store::MemoryStore store_;
  ManualTransport transport_;
  SimulatedClock clock_;
  std::unique_ptr<CallbackDispatcher> dispatcher_;
};

TEST_F(CallbackDispatcherTest, EachRoomInOrderOneInFlightAndDeliveredOnesLeaveTheStore) {
  Start();
  dispatcher_->Enqueue({Owed(1, 0), Owed(1, 1), Owed(1, 2), Owed(2, 0), Owed(2, 1)});
  ASSERT_TRUE(WaitUntil([&] { return transport_.count() == 2; }));
  EXPECT_EQ(dispatcher_->stats().in_flight, 2u);
  std::map<std::string, std::vector<std::string>> order;
  // Answer whatever is open until everything is delivered; each answer lets the room go on
  // (the next request of a room appears only after its previous one is answered).
  size_t answered = 0;
  while (answered < 5) {
    ASSERT_TRUE(WaitUntil([&] { return !transport_.open().empty(); }));
    const std::vector<size_t> open = transport_.open();
    EXPECT_LE(open.size(), 2u);  // never two of one room
    for (size_t i : open) {
      auto [room, sequence] = Target(i);
      order[room].push_back(sequence);
      transport_.Answer(i, {.delivered = true, .error = ""});
      ++answered;
    }
  }
  EXPECT_THAT(order, ElementsAre(Pair("room-1", ElementsAre("0", "1", "2")),
                                 Pair("room-2", ElementsAre("0", "1"))));
  ASSERT_TRUE(WaitUntil([&] { return dispatcher_->stats().delivered == 5; }));
  EXPECT_EQ(dispatcher_->stats().pending, 0u);
  ASSERT_TRUE(WaitUntil([&] { return PendingInStore() == 0; }));
}

TEST_F(CallbackDispatcherTest, AFailedAttemptIsRetriedAfterItsBackoffOnTheClock) {
  options_.retry_initial = absl::Seconds(8);
  Start();
  dispatcher_->Enqueue({Owed(1, 0)});
  ASSERT_TRUE(WaitUntil([&] { return transport_.count() == 1; }));
  transport_.Answer(0, {.delivered = false, .error = "HTTP 503"});
  ASSERT_TRUE(WaitUntil([&] { return dispatcher_->stats().retried == 1; }));

  // Less than half the first backoff: not yet. Room 2's delivery shows the loop has run since.
  clock_.Advance(absl::Seconds(3));
  dispatcher_->Enqueue({Owed(2, 0)});
  ASSERT_TRUE(WaitUntil([&] { return transport_.count() == 2; }));
  EXPECT_EQ(Target(1).first, "room-2");
  EXPECT_EQ(transport_.count(), 2u);

  // Past the whole first backoff: sent again, the same callback, signed the same way.
  clock_.Advance(absl::Seconds(6));
  ASSERT_TRUE(WaitUntil([&] { return transport_.count() == 3; }));
  EXPECT_EQ(Target(2), Target(0));
  EXPECT_EQ(transport_.request(2).body, transport_.request(0).body);
  EXPECT_EQ(transport_.request(2).signature, transport_.request(0).signature);
  transport_.Answer(2, {.delivered = true, .error = ""});
  ASSERT_TRUE(WaitUntil([&] { return dispatcher_->stats().delivered == 1; }));
  EXPECT_EQ(PendingInStore(), 1u);  // room 2's, still open
}

TEST_F(CallbackDispatcherTest, BackoffDoublesUpToItsCap) {
  options_.retry_initial = absl::Seconds(1);
  options_.retry_max = absl::Seconds(4);
  Start();
  dispatcher_->Enqueue({Owed(1, 0)});
  auto room1_sends = [&] {
    size_t sends = 0;
    for (size_t i = 0; i < transport_.count(); ++i) sends += Target(i).first == "room-1";
    return sends;
  };
  ASSERT_TRUE(WaitUntil([&] { return transport_.count() == 1; }));
  // Attempt n waits between half and all of min(2^(n-1) s, 4 s): 1, 2, 4, then 4 s at most.
  uint8_t probe = 100;
  for (int64_t bound_ms : {1000, 2000, 4000, 4000}) {
    const size_t sends = room1_sends();
    const std::vector<size_t> open = transport_.open();
    ASSERT_FALSE(open.empty());
    transport_.Answer(open.back(), {.delivered = false, .error = "timed out"});
    ASSERT_TRUE(WaitUntil([&] { return dispatcher_->stats().in_flight == 0; }));
    // Just under half the bound: not yet (a probe to another receiver shows the loop ran).
    clock_.Advance(absl::Milliseconds(bound_ms / 2 - 1));
    ++probe;
    const size_t before = transport_.count();
    dispatcher_->Enqueue({Owed(probe, 0, absl::StrCat("probe", int{probe}, ".test"))});
    ASSERT_TRUE(WaitUntil([&] { return transport_.count() == before + 1; }));
    transport_.Answer(before, {.delivered = true, .error = ""});
    EXPECT_EQ(room1_sends(), sends);
    // At the bound: sent again.
    clock_.Advance(absl::Milliseconds(bound_ms / 2 + 1));
    ASSERT_TRUE(WaitUntil([&] { return room1_sends() == sends + 1; }));
  }
}

TEST_F(CallbackDispatcherTest, PastMaxAgeItIsRecordedFailedAndTheRoomGoesOn) {
  options_.retry_initial = absl::Seconds(1);
  options_.max_age = absl::Seconds(10);
  Start();
  dispatcher_->Enqueue({Owed(1, 0), Owed(1, 1)});
  ASSERT_TRUE(WaitUntil([&] { return transport_.count() == 1; }));
  transport_.Answer(0, {.delivered = false, .error = "Connection refused"});
  ASSERT_TRUE(WaitUntil([&] { return dispatcher_->stats().retried == 1; }));
  clock_.Advance(absl::Seconds(11));  // past the backoff and past max_age
  ASSERT_TRUE(WaitUntil([&] { return transport_.count() == 2; }));
  EXPECT_EQ(Target(1).second, "0");
  transport_.Answer(1, {.delivered = false, .error = "HTTP 500"});
  // Given up on: the room's next callback goes out.
  ASSERT_TRUE(WaitUntil([&] { return transport_.count() == 3; }));
  EXPECT_EQ(Target(2).second, "1");
  EXPECT_EQ(dispatcher_->stats().failed, 1u);
  absl::StatusOr<std::vector<state::FailedCallback>> failed =
      store_.ListFailedCallbacks(state::Sid(), nullptr, 10);
  ASSERT_TRUE(failed.ok());
  ASSERT_EQ(failed->size(), 1u);
  EXPECT_EQ((*failed)[0].callback.sequence, 0u);
  EXPECT_EQ((*failed)[0].attempts, 2u);
  EXPECT_EQ((*failed)[0].last_error, "HTTP 500");
  EXPECT_EQ(PendingInStore(), 1u);
}

TEST_F(CallbackDispatcherTest, ADeadReceiverHoldsOnlyItsOwnSlots) {
  options_.host_concurrency = 2;
  options_.concurrency = 4;
  Start();
  std::vector<state::Callback> owed;
  for (uint8_t room = 1; room <= 5; ++room) owed.push_back(Owed(room, 0, "dead.test"));
  for (uint8_t room = 11; room <= 15; ++room) owed.push_back(Owed(room, 0, "good.test"));
  dispatcher_->Enqueue(owed);
  ASSERT_TRUE(WaitUntil([&] { return transport_.count() == 4; }));
  // The good receiver's rooms all get through while the dead one never answers.
  size_t good = 0;
  while (good < 5) {
    ASSERT_TRUE(WaitUntil([&] {
      for (size_t i : transport_.open()) {
        if (absl::StrContains(transport_.request(i).url, "good.test")) return true;
      }
      return false;
    }));
    for (size_t i : transport_.open()) {
      if (absl::StrContains(transport_.request(i).url, "good.test")) {
        transport_.Answer(i, {.delivered = true, .error = ""});
        ++good;
      }
    }
  }
  size_t dead_sent = 0;
  for (size_t i = 0; i < transport_.count(); ++i) {
    dead_sent += absl::StrContains(transport_.request(i).url, "dead.test");
  }
  EXPECT_EQ(dead_sent, 2u);  // its host limit, never more
  ASSERT_TRUE(WaitUntil([&] { return dispatcher_->stats().delivered == 5; }));
  EXPECT_EQ(dispatcher_->stats().in_flight, 2u);
}

TEST_F(CallbackDispatcherTest, ARoomHoldsAFewInMemoryAndReadsTheRestBackFromTheStoreInOrder) {
  options_.max_held_per_room = 4;
  Start();
  std::vector<state::Callback> owed;
  for (uint64_t sequence = 0; sequence < 10; ++sequence) owed.push_back(Owed(1, sequence));
  dispatcher_->Enqueue(owed);
  // More arrive while the first ones are delivered: they join the store, after the others.
  std::vector<std::string> delivered;
  for (uint64_t sequence = 0; sequence < 15; ++sequence) {
    ASSERT_TRUE(WaitUntil([&] { return transport_.open().size() == 1; })) << sequence;
    const size_t i = transport_.open()[0];
    delivered.push_back(Target(i).second);
    if (sequence == 2) dispatcher_->Enqueue({Owed(1, 10), Owed(1, 11), Owed(1, 12)});
    if (sequence == 7) dispatcher_->Enqueue({Owed(1, 13), Owed(1, 14)});
    transport_.Answer(i, {.delivered = true, .error = ""});
  }
  std::vector<std::string> expected;
  for (int sequence = 0; sequence < 15; ++sequence) expected.push_back(absl::StrCat(sequence));
  EXPECT_EQ(delivered, expected);
  ASSERT_TRUE(WaitUntil([&] { return dispatcher_->stats().pending == 0; }));
  EXPECT_EQ(PendingInStore(), 0u);
}

TEST_F(CallbackDispatcherTest, ARoomWaitsUntilTheStoreHasLetGoOfItsDeliveredCallback) {
  Start();
  const state::Callback probe = Owed(2, 0, "probe.test");
  dispatcher_->Enqueue({Owed(1, 0), Owed(1, 1)});
  ASSERT_TRUE(WaitUntil([&] { return transport_.count() == 1; }));
  // The store cannot write: sequence 0 is delivered but stays in the outbox, so sequence 1 must
  // not go (after a crash, 0 would come again after 1).
  store_.FailWrites(absl::UnavailableError("disk full"));
  transport_.Answer(0, {.delivered = true, .error = ""});
  ASSERT_TRUE(WaitUntil([&] { return dispatcher_->stats().delivered == 1; }));
  clock_.Advance(absl::Seconds(1));  // one retry of the removal, still failing
  dispatcher_->Enqueue({probe});     // shows the loop ran meanwhile
  ASSERT_TRUE(WaitUntil([&] { return transport_.count() == 2; }));
  EXPECT_EQ(Target(1).first, "room-2");
  EXPECT_EQ(transport_.count(), 2u);
  // The store heals: the removal goes through on the next try, then sequence 1 is sent.
  store_.FailWrites(absl::OkStatus());
  clock_.Advance(absl::Seconds(1));
  ASSERT_TRUE(WaitUntil([&] { return transport_.count() == 3; }));
  EXPECT_EQ(Target(2), (std::pair<std::string, std::string>("room-1", "1")));
  absl::StatusOr<std::vector<state::Callback>> left = store_.ReadCallbacks(MakeSid("RM", 1), 0, 10);
  ASSERT_TRUE(left.ok());
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ((*left)[0].sequence, 1u);
}

TEST_F(CallbackDispatcherTest, TheBacklogIsDeliveredAtStart) {
  std::vector<state::Callback> backlog = {Owed(1, 4), Owed(1, 5)};
  Start(backlog);
  ASSERT_TRUE(WaitUntil([&] { return transport_.count() == 1; }));
  EXPECT_EQ(Target(0).second, "4");
  transport_.Answer(0, {.delivered = true, .error = ""});
  ASSERT_TRUE(WaitUntil([&] { return transport_.count() == 2; }));
  EXPECT_EQ(Target(1).second, "5");
}

TEST_F(CallbackDispatcherTest, PostAndGetAreSignedAsTwilioDoes) {
  Start();
  state::Callback get = Owed(2, 1);
  get.room.status_callback_method = "GET";
  dispatcher_->Enqueue({Owed(1, 1), get});
  ASSERT_TRUE(WaitUntil([&] { return transport_.count() == 2; }));
  for (size_t i = 0; i < 2; ++i) {
    const CallbackRequest request = transport_.request(i);
    if (request.method == "POST") {
      EXPECT_EQ(request.url, "https://good.test/hook?room=1");
      const FormParams params = CallbackParams(Owed(1, 1));
      EXPECT_EQ(request.body, FormEncode(params));
      EXPECT_EQ(request.signature, TwilioSignature(kToken, request.url, params));
    } else {
      EXPECT_EQ(request.method, "GET");
      EXPECT_THAT(request.url, ::testing::StartsWith("https://good.test/hook?room=2&AccountSid="));
      EXPECT_TRUE(request.body.empty());
      EXPECT_EQ(request.signature, TwilioSignature(kToken, request.url, {}));
    }
    EXPECT_EQ(Param(request, "ParticipantIdentity"), "user+1");
  }
}

TEST(CallbackParamsTest, SignatureMatchesTwilioDocumentedExample) {
  // The example of Twilio's webhook security documentation, as its helper libraries compute it.
  const FormParams params = {{"CallSid", "CA1234567890ABCDE"},
                             {"Caller", "+12349013030"},
                             {"Digits", "1234"},
                             {"From", "+12349013030"},
                             {"To", "+18005551212"}};
  EXPECT_EQ(TwilioSignature("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", params),
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
  // A GET signs the URL alone (value from python3-twilio's RequestValidator.compute_signature).
  EXPECT_EQ(TwilioSignature("12345", "https://example.com/cb?RoomName=a+b&X=%2F", {}),
            "m1SuUw2xiPiVwetpCi5OYR8ypo8=");
}

TEST(CallbackParamsTest, EveryEventCarriesTwilioNamesSortedAndEncoded) {
  state::Callback callback;
  callback.room_sid = MakeSid("RM", 7);
  callback.sequence = 3;
  callback.event = state::CallbackEvent::kTrackAdded;
  callback.timestamp = absl::FromUnixMillis(1'764'547'200'123);
  callback.room.sid = callback.room_sid;
  callback.room.account_sid = MakeSid("AC", 1);
  callback.room.status = state::RoomStatus::kInProgress;  // no unique name: named by its SID
  state::Participant participant;
  participant.sid = MakeSid("PA", 2);
  participant.identity = "ana & bo=b";
  participant.status = state::ParticipantStatus::kReconnecting;
  callback.participant = participant;
  state::PublishedTrack track;
  track.sid = MakeSid("MT", 3);
  track.name = "cam/1";
  track.kind = state::TrackKind::kVideo;
  callback.track = track;
  const FormParams params = CallbackParams(callback);
  std::vector<std::string> names;
  for (const auto& [name, value] : params) names.push_back(name);
  EXPECT_THAT(
      names, ElementsAre("AccountSid", "ParticipantIdentity", "ParticipantSid", "ParticipantStatus",
                         "RoomName", "RoomSid", "RoomStatus", "RoomType", "SequenceNumber",
                         "StatusCallbackEvent", "Timestamp", "TrackKind", "TrackName", "TrackSid"));
  const std::map<std::string, std::string> by_name(params.begin(), params.end());
  EXPECT_EQ(by_name.at("RoomName"), callback.room_sid.ToString());
  EXPECT_EQ(by_name.at("ParticipantStatus"), "connected");
  EXPECT_EQ(by_name.at("StatusCallbackEvent"), "track-added");
  EXPECT_EQ(by_name.at("Timestamp"), "2025-12-01T00:00:00.123Z");
  EXPECT_EQ(by_name.at("TrackKind"), "video");
  EXPECT_EQ(by_name.at("SequenceNumber"), "3");
  EXPECT_THAT(FormEncode(params), HasSubstr("ParticipantIdentity=ana+%26+bo%3Db&"));
  EXPECT_THAT(FormEncode(params), HasSubstr("TrackName=cam%2F1&"));

  callback.event = state::CallbackEvent::kRoomEnded;
  callback.participant.reset();
  callback.track.reset();
  callback.room.status = state::RoomStatus::kCompleted;
  callback.room.duration = 42;
  const FormParams ended = CallbackParams(callback);
  const std::map<std::string, std::string> ended_by_name(ended.begin(), ended.end());
  EXPECT_EQ(ended_by_name.at("RoomDuration"), "42");
  EXPECT_EQ(ended_by_name.at("RoomStatus"), "completed");
  EXPECT_FALSE(ended_by_name.contains("ParticipantSid"));
}

TEST(CallbackUrlTest, OnlyHttpAndHttpsWithAHostAndPrivateAddressesOnRequest) {
  EXPECT_TRUE(CheckCallbackUrl("https://hooks.example.com/rooms?x=1", true).ok());
  EXPECT_TRUE(CheckCallbackUrl("http://127.0.0.1:8080/cb", false).ok());
  for (const char* bad :
       {"ftp://example.com/", "example.com/cb", "javascript:alert(1)", "http://"}) {
    const absl::Status status = CheckCallbackUrl(bad, false);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(status.message(), HasSubstr("status_callback")) << bad;
  }
  for (const char* inside :
       {"http://127.0.0.1/cb", "http://10.1.2.3/", "http://192.168.0.9:81/", "http://[::1]/",
        "http://169.254.169.254/latest/meta-data", "http://localhost:9000/", "http://[fd00::1]/",
        "http://[::ffff:10.0.0.1]/", "http://100.64.0.1/"}) {
    const absl::Status status = CheckCallbackUrl(inside, true);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << inside;
    EXPECT_THAT(status.message(), HasSubstr("--callback_refuse_private")) << inside;
  }
  EXPECT_FALSE(IsNonPublicAddress("8.8.8.8"));
  EXPECT_FALSE(IsNonPublicAddress("2606:4700::1111"));
  EXPECT_TRUE(IsNonPublicAddress("172.31.255.255"));
  EXPECT_FALSE(IsNonPublicAddress("172.32.0.1"));
}

TEST(CallbackReceiverTest, SchemeHostAndPortWithTheDefaultFilledIn) {
  EXPECT_EQ(CallbackDispatcher::ReceiverOf("https://Hooks.Example.com/a?b#c"),
            "https://hooks.example.com:443");
  EXPECT_EQ(CallbackDispatcher::ReceiverOf("http://user:pw@host:8080/x"), "http://host:8080");
  EXPECT_EQ(CallbackDispatcher::ReceiverOf("http://[::1]/x"), "http://[::1]:80");
  EXPECT_EQ(CallbackDispatcher::ReceiverOf("http://[::1]:81"), "http://[::1]:81");
  EXPECT_EQ(CallbackDispatcher::ReceiverOf("nonsense"), "");
}

}  // namespace
}  // namespace rollcall::service
