// Crash safety of rollcalld (docs/api.md, revisions and watch; docs/architecture.md, the path of an
// event): a client streams a seeded workload of participant events over StreamEvents and records
// every acknowledgement while the server is SIGKILLed at random moments (kKills times). After each
// restart the test checks that
//  - no acknowledged revision was lost, and the records at restart are exactly those of
//    EventModel fed the acknowledged events plus a prefix of the in-flight ones: each
//    unacknowledged event is fully present or absent, in order;
//  - resending the in-flight events (same event_ids and content, as a client retry does)
//    answers DUPLICATE with the original revision for those that were applied, and for the
//    others exactly what the model predicts from the state at restart (never ALREADY_EXISTS);
//  - the revisions of all applied events and rooms are exactly 1..N, the server's current
//    revision is N, and every event's outcome and revision is the predicted one;
//  - the records equal those of a fresh EventModel fed every applied event in the order of
//    the server's revisions;
//  - resending acknowledged events (a sample each round, all at the end) answers DUPLICATE
//    with the acknowledged revision and participant.
// ROLLCALL_CRASH_SEED=<n> replays a workload; the seed is printed. Kill moments (and so the
// split into acknowledged and in-flight events) are not reproducible.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "event_model.h"
#include "gtest/gtest.h"
#include "rollcall/v1/ingest_service.grpc.pb.h"
#include "rollcall/v1/participant_service.grpc.pb.h"
#include "rollcall/v1/room_service.grpc.pb.h"
#include "rollcall/v1/track_service.grpc.pb.h"
#include "server_process.h"

namespace rollcall::testing {
namespace {

// At least 50 SIGKILLs a run, at full ingest speed (about 45 s here; ASan doubles it).
constexpr int kKills = 50;
constexpr size_t kMaxEventsPerRound = 3000;  // bounds the records the checks list each round
constexpr size_t kWindow = 4;                // StreamEvents messages in flight
constexpr int kMaxEventsPerMessage = 50;
constexpr size_t kSpotChecks = 64;

uint64_t SeedFromEnvironment() {
  if (const char* text = std::getenv("ROLLCALL_CRASH_SEED")) return std::stoull(text);
  return std::random_device()() ^ (uint64_t{std::random_device()()} << 32);
}

std::string Hex(uint64_t value) {
  char text[17];
  std::snprintf(text, sizeof(text), "%016llx", static_cast<unsigned long long>(value));
  return text;
}

// The deterministic workload: each call to Next() picks an event that makes sense for the
// current state of its own EventModel (mostly valid transitions, some duplicate identities,
// a tiny room that fills up, and a sprinkling of events that must be IGNORED or rejected),
// and predicts the server's answer.
class Workload {
 public:
  Workload(uint64_t seed, int64_t base_time) : rng_(seed), base_time_(base_time), tag_(Hex(seed)) {}

  void AddRoom(const std::string& sid, int max_participants, uint64_t revision) {
    model_.AddRoom(sid, max_participants, revision);
    room_sids_.push_back(sid);
  }

  int MessageSize() { return Uniform(1, kMaxEventsPerMessage); }

  // Continues from `model`'s state (after a resend decided some events afresh).
  void ResetModel(EventModel model) { model_ = std::move(model); }

  // The next event and the server's predicted answer.
  std::pair<ModelEvent, Prediction> Next() {
    ModelEvent event = Pick();
    event.event_id = "ev-" + std::to_string(count_);
    event.occurred_at = base_time_ + static_cast<int64_t>(count_) * 1000;  // 1 ms apart
    ++count_;
    Prediction prediction = model_.Apply(event);
    return {std::move(event), prediction};
  }

  // A CONNECTED for an existing participant with a fresh event_id: IGNORED, and its result
  // carries the server's current revision. Needs at least one participant.
  std::optional<ModelEvent> Probe() {
    if (model_.participants().empty()) return std::nullopt;
    const ModelParticipant& p = model_.participants().begin()->second;
    ModelEvent event;
    event.event_id = "probe-" + std::to_string(probes_++);
    event.type = v1::EVENT_TYPE_PARTICIPANT_CONNECTED;
    event.occurred_at = p.start_time;
    event.room = p.room_sid;
    event.participant_sid = p.sid;
    event.identity = p.identity;
    return event;
  }

 private:
  int Uniform(int low, int high) { return std::uniform_int_distribution<int>(low, high)(rng_); }
  template <typename T>
  const T& Choose(const std::vector<T>& from) {
    return from[static_cast<size_t>(Uniform(0, static_cast<int>(from.size()) - 1))];
  }

  std::string NewParticipantSid() { return "PA" + tag_ + Hex(next_participant_++); }

  ModelEvent Connect(const std::string& room, std::string identity) {
    ModelEvent event;
    event.type = v1::EVENT_TYPE_PARTICIPANT_CONNECTED;
    event.room = room;
    event.participant_sid = NewParticipantSid();
    event.identity = std::move(identity);
    return event;
  }
  ModelEvent About(v1::EventType type, const std::string& sid) {
    ModelEvent event;
    event.type = type;
    event.participant_sid = sid;
    event.room = model_.Find(sid)->room_sid;
    return event;
  }

  // A track event (docs/tracks.md): a publish by an active participant (names clash now and
  // then: ALREADY_EXISTS), or an unpublish of a known track (IGNORED when already ended).
  std::optional<ModelEvent> PickTrack(const EventModel::Room& state) {
    if (Uniform(0, 99) < 70 && !state.active.empty()) {
      ModelEvent event = About(v1::EVENT_TYPE_TRACK_PUBLISHED, Choose(state.active));
      event.track_sid = "MT" + tag_ + Hex(next_track_++);
      static const char* const kNames[] = {"cam", "mic", "screen"};
      event.track_name = kNames[Uniform(0, 2)];
      return event;
    }
    std::vector<std::string> known;
    for (const auto& [sid, track] : model_.tracks()) {
      if (model_.Find(track.participant_sid)->room_sid == state.sid) known.push_back(sid);
    }
    if (known.empty()) return std::nullopt;
    const ModelTrack& track = model_.tracks().at(Choose(known));
    ModelEvent event = About(v1::EVENT_TYPE_TRACK_UNPUBLISHED, track.participant_sid);
    event.track_sid = track.sid;
    return event;
  }

  ModelEvent Pick() {
    const std::string& room = Choose(room_sids_);
    const EventModel::Room& state = model_.rooms().at(room);
    if (Uniform(0, 99) < 15) {
      if (std::optional<ModelEvent> event = PickTrack(state)) return *event;
    }
    std::vector<std::string> connected;
    std::vector<std::string> reconnecting;
    for (const std::string& sid : state.active) {
      (model_.Find(sid)->status == v1::PARTICIPANT_STATUS_RECONNECTING ? reconnecting : connected)
          .push_back(sid);
    }
    const int dice = Uniform(0, 99);
    const bool crowded = state.max_participants > 10 && state.active.size() >= 40;
    if (dice < 30 && !crowded) {
      return Connect(room, "user-" + std::to_string(next_identity_++));
    }
    if (dice < 35 && !state.active.empty()) {  // duplicate identity: replaces the session
      return Connect(room, model_.Find(Choose(state.active))->identity);
    }
    if (dice < 52 && !connected.empty()) {
      return About(v1::EVENT_TYPE_PARTICIPANT_RECONNECTING, Choose(connected));
    }
    if (dice < 70 && !reconnecting.empty()) {
      return About(v1::EVENT_TYPE_PARTICIPANT_RECONNECTED, Choose(reconnecting));
    }
    if (dice < 94 && !state.active.empty()) {
      ModelEvent event = About(v1::EVENT_TYPE_PARTICIPANT_DISCONNECTED, Choose(state.active));
      static constexpr v1::DisconnectReason kReasons[] = {v1::DISCONNECT_REASON_UNSPECIFIED,
                                                          v1::DISCONNECT_REASON_CLIENT_INITIATED,
                                                          v1::DISCONNECT_REASON_REMOVED};
      event.reason = kReasons[Uniform(0, 2)];
      return event;
    }
    // Events that change nothing: IGNORED, or rejected with a status code.
    const std::vector<std::string>& gone = model_.disconnected();
    switch (Uniform(0, 6)) {
      case 0:
        if (!connected.empty()) {
          return About(v1::EVENT_TYPE_PARTICIPANT_RECONNECTED, Choose(connected));  // IGNORED
        }
        break;
      case 1:
        if (!reconnecting.empty()) {
          return About(v1::EVENT_TYPE_PARTICIPANT_RECONNECTING, Choose(reconnecting));  // IGNORED
        }
        break;
      case 2:
        if (!gone.empty()) {
          return About(v1::EVENT_TYPE_PARTICIPANT_DISCONNECTED, Choose(gone));  // IGNORED
        }
        break;
      case 3:
        if (!gone.empty()) {  // FAILED_PRECONDITION: rejoining needs a new session
          return About(v1::EVENT_TYPE_PARTICIPANT_RECONNECTING, Choose(gone));
        }
        break;
      case 4:
        if (!gone.empty()) {  // CONNECTED again with its own SID: IGNORED
          const ModelParticipant& p = *model_.Find(Choose(gone));
          ModelEvent event = Connect(p.room_sid, p.identity);
          event.participant_sid = p.sid;
          return event;
        }
        break;
      case 5: {  // NOT_FOUND: nobody has this SID
        ModelEvent event;
        event.type = v1::EVENT_TYPE_PARTICIPANT_RECONNECTED;
        event.room = room;
        event.participant_sid = "PA" + Hex(~uint64_t{0}) + Hex(count_);
        return event;
      }
      case 6:
        if (!state.active.empty()) {  // NOT_FOUND: names another room than the participant's
          ModelEvent event = About(v1::EVENT_TYPE_PARTICIPANT_RECONNECTING, Choose(state.active));
          event.room = room == room_sids_.front() ? room_sids_.back() : room_sids_.front();
          return event;
        }
        break;
    }
    return Connect(room, "user-" + std::to_string(next_identity_++));
  }

  std::mt19937_64 rng_;
  int64_t base_time_;
  std::string tag_;
  EventModel model_;
  std::vector<std::string> room_sids_;
  uint64_t count_ = 0;
  uint64_t next_participant_ = 0;
  uint64_t next_track_ = 0;
  uint64_t next_identity_ = 0;
  uint64_t probes_ = 0;
};

// One event of the workload and what became of it.
struct Sent {
  ModelEvent event;
  Prediction expected;
  v1::EventResult result;
};

std::string Describe(const Sent& sent) {
  std::ostringstream out;
  out << sent.event.event_id << " (" << v1::EventType_Name(sent.event.type) << " "
      << sent.event.participant_sid << ", expected code " << sent.expected.code << " "
      << v1::EventOutcome_Name(sent.expected.outcome) << " rev " << sent.expected.revision
      << "): got code " << sent.result.code() << " '" << sent.result.message() << "' "
      << v1::EventOutcome_Name(sent.result.outcome()) << " rev " << sent.result.revision();
  return out.str();
}

// Empty when `result` is exactly the predicted answer for `sent`; otherwise why not.
std::string CheckResult(const Sent& sent, const v1::EventResult& result) {
  if (result.event_id() != sent.event.event_id) return "result for another event_id";
  if (result.code() != sent.expected.code) return "wrong status code";
  if (result.code() != 0) return "";
  if (result.outcome() != sent.expected.outcome) return "wrong outcome";
  if (result.revision() != sent.expected.revision) return "wrong revision";
  if (result.participant().sid() != sent.event.participant_sid) return "wrong participant";
  return "";
}

// The revision an event was applied in (APPLIED, or DUPLICATE of an earlier application),
// or 0.
uint64_t AppliedRevision(const Sent& sent) {
  const v1::EventResult& r = sent.result;
  const bool applied =
      r.outcome() == v1::EVENT_OUTCOME_APPLIED || r.outcome() == v1::EVENT_OUTCOME_DUPLICATE;
  return r.code() == 0 && applied ? r.revision() : 0;
}

// Sends `events` over one StreamEvents call, up to 1,000 per message, and returns their
// results in order (fewer on failure, with a gtest failure).
std::vector<v1::EventResult> SendAll(v1::IngestService::Stub& stub,
                                     const std::vector<v1::Event>& events) {
  std::vector<v1::EventResult> results;
  auto context = Deadline(std::chrono::seconds(60));
  auto stream = stub.StreamEvents(context.get());
  for (size_t begin = 0; begin < events.size(); begin += 1000) {
    v1::StreamEventsRequest request;
    for (size_t i = begin; i < std::min(events.size(), begin + 1000); ++i) {
      *request.add_events() = events[i];
    }
    v1::StreamEventsResponse response;
    if (!stream->Write(request) || !stream->Read(&response)) break;
    EXPECT_EQ(response.results_size(), request.events_size());
    for (v1::EventResult& result : *response.mutable_results()) results.push_back(result);
  }
  stream->WritesDone();
  const grpc::Status status = stream->Finish();
  EXPECT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
  EXPECT_EQ(results.size(), events.size());
  return results;
}

std::vector<v1::Participant> ListAllParticipants(const std::shared_ptr<grpc::Channel>& channel) {
  auto stub = v1::ParticipantService::NewStub(channel);
  std::vector<v1::Participant> all;
  v1::ListParticipantsRequest request;
  request.set_page_size(1000);
  do {
    v1::ListParticipantsResponse response;
    const grpc::Status status = stub->ListParticipants(Deadline().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    if (!status.ok()) break;
    all.insert(all.end(), response.participants().begin(), response.participants().end());
    request.set_page_token(response.next_page_token());
  } while (!request.page_token().empty());
  return all;
}

std::vector<v1::Room> ListAllRooms(const std::shared_ptr<grpc::Channel>& channel) {
  auto stub = v1::RoomService::NewStub(channel);
  std::vector<v1::Room> all;
  v1::ListRoomsRequest request;
  request.set_page_size(1000);
  do {
    v1::ListRoomsResponse response;
    const grpc::Status status = stub->ListRooms(Deadline().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    if (!status.ok()) break;
    all.insert(all.end(), response.rooms().begin(), response.rooms().end());
    request.set_page_token(response.next_page_token());
  } while (!request.page_token().empty());
  return all;
}

// Compares the server's records with `model`'s; returns the number of mismatches (each
// reported as a gtest failure, the first few in detail).
int CompareRecords(const EventModel& model, const std::vector<v1::Participant>& participants,
                   const std::vector<v1::Room>& rooms, const std::string& when) {
  int mismatches = 0;
  auto report = [&](const std::string& what) {
    if (++mismatches <= 5) ADD_FAILURE() << when << ": " << what;
  };
  std::set<std::string> seen;
  for (const v1::Participant& actual : participants) {
    if (!seen.insert(actual.sid()).second) report("listed twice: " + actual.sid());
    const ModelParticipant* expected = model.Find(actual.sid());
    if (expected == nullptr) {
      report("server has a participant the model lacks: " + actual.ShortDebugString());
      continue;
    }
    if (std::string diff = DiffParticipant(*expected, actual); !diff.empty()) {
      report("participant " + actual.sid() + ":" + diff);
    }
  }
  for (const auto& [sid, expected] : model.participants()) {
    if (!seen.count(sid)) report("server lacks participant " + sid);
  }
  if (rooms.size() != model.rooms().size()) report("wrong number of rooms");
  for (const v1::Room& room : rooms) {
    auto it = model.rooms().find(room.sid());
    if (it == model.rooms().end()) {
      report("unexpected room " + room.sid());
      continue;
    }
    if (room.status() != v1::ROOM_STATUS_IN_PROGRESS ||
        room.participant_count() != static_cast<int>(it->second.active.size()) ||
        room.revision() != it->second.revision) {
      report("room " + room.sid() + " has count " + std::to_string(room.participant_count()) +
             ", want " + std::to_string(it->second.active.size()) + ": " + room.ShortDebugString());
    }
  }
  return mismatches;
}

// Compares every track the model knows with the server's (status and revision); returns the
// number of mismatches.
int CompareTracks(const EventModel& model, const std::shared_ptr<grpc::Channel>& channel,
                  const std::string& when) {
  auto stub = v1::TrackService::NewStub(channel);
  int mismatches = 0;
  for (const auto& [sid, track] : model.tracks()) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::GetPublishedTrackRequest request;
    request.set_participant_sid(track.participant_sid);
    request.set_track(sid);
    v1::GetPublishedTrackResponse response;
    const grpc::Status status = stub->GetPublishedTrack(&context, request, &response);
    const v1::PublishedTrack& got = response.published_track();
    const v1::TrackStatus want =
        track.published ? v1::TRACK_STATUS_PUBLISHED : v1::TRACK_STATUS_UNPUBLISHED;
    if (!status.ok() || got.status() != want || got.revision() != track.revision) {
      if (++mismatches <= 5) {
        ADD_FAILURE() << when << ": track " << sid << " want " << v1::TrackStatus_Name(want)
                      << " rev " << track.revision << ", got " << status.error_message() << " "
                      << got.ShortDebugString();
      }
    }
  }
  return mismatches;
}

class CrashTest : public ::testing::Test {
 protected:
  // The per-account quotas are lifted: how many participants the random load leaves active
  // depends on the machine's speed, and the quotas are not what this test is about.
  CrashTest()
      : server_({"--reconnect_timeout=1h", "--store=rocksdb", "--sync=true",
                 "--max_account_participants=100000000", "--max_account_rooms=100000000"}) {}

  void SetUp() override {
    seed_ = SeedFromEnvironment();
    std::cout << "ROLLCALL_CRASH_SEED=" << seed_ << std::endl;
    RecordProperty("seed", std::to_string(seed_));
    rng_.seed(seed_ + 1);
    const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    workload_ = std::make_unique<Workload>(seed_, (now - 120000) * 1000);
    ASSERT_TRUE(server_.Start());
  }

  void TearDown() override {
    if (HasFailure()) {
      const std::string log = server_.Log();
      std::cout << "rollcalld log (tail):\n"
                << log.substr(log.size() > 4000 ? log.size() - 4000 : 0) << std::endl;
    }
  }

  std::unique_ptr<v1::IngestService::Stub> Ingest() {
    return v1::IngestService::NewStub(server_.Channel());
  }

  void CreateRooms() {
    auto stub = v1::RoomService::NewStub(server_.Channel());
    const int capacities[] = {50, 50, 50, 3};
    for (int i = 0; i < 4; ++i) {
      v1::CreateRoomRequest request;
      request.set_unique_name("crash-room-" + std::to_string(i));
      request.set_max_participants(capacities[i]);
      request.set_empty_room_timeout(60);
      request.set_unused_room_timeout(60);
      v1::CreateRoomResponse response;
      const grpc::Status status = stub->CreateRoom(Deadline().get(), request, &response);
      ASSERT_TRUE(status.ok()) << status.error_message();
      ASSERT_EQ(response.revision(), static_cast<uint64_t>(i + 1));
      workload_->AddRoom(response.room().sid(), capacities[i], response.revision());
      rooms_[response.room().sid()] = {capacities[i], response.revision()};
    }
  }

  // Streams the workload until the server is SIGKILLed `delay` after the stream opened.
  // Events whose response arrived are acknowledged; the rest stay in flight.
  void StreamAndKill(std::chrono::milliseconds delay) {
    auto stub = Ingest();
    grpc::ClientContext context;
    auto stream = stub->StreamEvents(&context);
    std::mutex mu;
    std::condition_variable cv;
    std::deque<std::pair<size_t, size_t>> messages;  // [begin, end) of sent_ per message
    bool broken = false;
    const size_t round_start = sent_.size();

    std::thread writer([&] {
      while (true) {
        v1::StreamEventsRequest request;
        {
          std::unique_lock lock(mu);
          cv.wait(lock, [&] {
            return broken ||
                   (messages.size() < kWindow && sent_.size() - round_start < kMaxEventsPerRound);
          });
          if (broken) return;
          const size_t begin = sent_.size();
          const int size = workload_->MessageSize();
          for (int i = 0; i < size; ++i) {
            auto [event, expected] = workload_->Next();
            *request.add_events() = event.ToProto();
            Sent& sent = sent_.emplace_back();
            sent.event = std::move(event);
            sent.expected = expected;
          }
          // In flight from before the write: a failed write may still have reached the server.
          messages.emplace_back(begin, sent_.size());
        }
        if (!stream->Write(request)) {
          std::lock_guard lock(mu);
          broken = true;
          cv.notify_all();
          return;
        }
      }
    });
    std::thread reader([&] {
      v1::StreamEventsResponse response;
      while (stream->Read(&response)) {
        std::lock_guard lock(mu);
        if (messages.empty()) {
          ADD_FAILURE() << "a response without a request";
          break;
        }
        const auto [begin, end] = messages.front();
        messages.pop_front();
        if (response.results_size() != static_cast<int>(end - begin)) {
          ADD_FAILURE() << "a response with " << response.results_size() << " results for "
                        << end - begin << " events";
          break;
        }
        for (size_t i = begin; i < end; ++i) {
          sent_[i].result = response.results(static_cast<int>(i - begin));
        }
        acked_ = end;
        cv.notify_all();
      }
      std::lock_guard lock(mu);
      broken = true;
      cv.notify_all();
    });

    std::this_thread::sleep_for(delay);  // the one intended sleep: a random crash moment
    server_.Kill();
    {
      // The dead connection breaks the stream; cancel only as a backstop.
      std::unique_lock lock(mu);
      if (!cv.wait_for(lock, std::chrono::seconds(10), [&] { return broken; })) {
        ADD_FAILURE() << "the stream did not break within 10 s of the kill";
      }
    }
    context.TryCancel();
    writer.join();
    reader.join();
    stream->Finish();  // status is whatever the crash made it
    in_flight_at_kill_ += sent_.size() - acked_;

    for (size_t i = checked_; i < acked_; ++i) {
      if (std::string why = CheckResult(sent_[i], sent_[i].result); !why.empty()) {
        ADD_FAILURE() << why << ": " << Describe(sent_[i]);
      }
    }
    checked_ = acked_;
  }

  // The newest revision among the server's tracks that the workload sent events about (a
  // revision can be a track's alone).
  uint64_t MaxTrackRevision(const std::shared_ptr<grpc::Channel>& channel) const {
    auto stub = v1::TrackService::NewStub(channel);
    uint64_t newest = 0;
    std::set<std::string> asked;
    for (const Sent& sent : sent_) {
      if (sent.event.type != v1::EVENT_TYPE_TRACK_PUBLISHED ||
          !asked.insert(sent.event.track_sid).second) {
        continue;
      }
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
      v1::GetPublishedTrackRequest request;
      request.set_participant_sid(sent.event.participant_sid);
      request.set_track(sent.event.track_sid);
      v1::GetPublishedTrackResponse response;
      if (stub->GetPublishedTrack(&context, request, &response).ok()) {
        newest = std::max(newest, response.published_track().revision());
      }
    }
    return newest;
  }

  EventModel RoomsOnly() const {
    EventModel model;
    for (const auto& [sid, room] : rooms_) model.AddRoom(sid, room.first, room.second);
    return model;
  }

  // After a restart: snapshot the records and check them against the acknowledged events
  // plus a prefix of those in flight; resend the in-flight events (same ids and content, in
  // order) and check each answer against a prediction from that state; then check
  // revisions, records and a sample of acknowledged events.
  void RecoverAndVerify(const std::string& when) {
    std::shared_ptr<grpc::Channel> channel = server_.Channel();
    const std::vector<v1::Participant> before = ListAllParticipants(channel);
    const std::vector<v1::Room> rooms_before = ListAllRooms(channel);
    uint64_t durable = 0;  // the server's revision at restart: its latest change's
    for (const v1::Participant& p : before) durable = std::max(durable, p.revision());
    for (const v1::Room& r : rooms_before) durable = std::max(durable, r.revision());
    durable = std::max(durable, MaxTrackRevision(channel));
    uint64_t acknowledged = 0;
    for (const auto& [sid, room] : rooms_) acknowledged = std::max(acknowledged, room.second);
    for (size_t i = 0; i < acked_; ++i) {
      if (sent_[i].result.code() == 0) {
        acknowledged = std::max(acknowledged, sent_[i].result.revision());
      }
    }
    ASSERT_GE(durable, acknowledged) << when << ": acknowledged revisions were lost";

    // The state at restart must be the acknowledged events plus the in-flight events the
    // prediction applies up to `durable`: those were fully applied, the rest not at all.
    std::vector<std::pair<uint64_t, size_t>> order;
    for (size_t i = 0; i < acked_; ++i) {
      if (uint64_t revision = AppliedRevision(sent_[i])) order.emplace_back(revision, i);
    }
    for (size_t i = acked_; i < sent_.size(); ++i) {
      const Prediction& p = sent_[i].expected;
      if (p.outcome == v1::EVENT_OUTCOME_APPLIED && p.revision <= durable) {
        order.emplace_back(p.revision, i);
      }
    }
    std::sort(order.begin(), order.end());
    EventModel model = RoomsOnly();
    for (const auto& [revision, i] : order) {
      if (model.Apply(sent_[i].event, revision).outcome != v1::EVENT_OUTCOME_APPLIED) {
        ADD_FAILURE() << when << ": in revision order the model does not apply "
                      << Describe(sent_[i]);
      }
    }
    ASSERT_EQ(model.revision(), durable)
        << when << ": the state at restart is not the acknowledged events plus a prefix of "
        << "those in flight";
    CompareRecords(model, before, rooms_before, when + " (at restart)");

    // Resend what was in flight. Those applied before the crash are DUPLICATE with their
    // revision; the others are decided afresh against the current state (an event rejected
    // before the crash may now apply, and the reverse).
    std::vector<v1::Event> resend;
    for (size_t i = acked_; i < sent_.size(); ++i) {
      Sent& sent = sent_[i];
      if (sent.expected.outcome == v1::EVENT_OUTCOME_APPLIED && sent.expected.revision <= durable) {
        sent.expected.outcome = v1::EVENT_OUTCOME_DUPLICATE;
        ++resent_duplicate_;
      } else {
        sent.expected = model.Apply(sent.event);
        if (sent.expected.outcome == v1::EVENT_OUTCOME_APPLIED) ++resent_applied_;
      }
      resend.push_back(sent.event.ToProto());
    }
    auto stub = Ingest();
    const std::vector<v1::EventResult> results = SendAll(*stub, resend);
    for (size_t k = 0; k < results.size(); ++k) {
      Sent& sent = sent_[acked_ + k];
      sent.result = results[k];
      if (std::string why = CheckResult(sent, results[k]); !why.empty()) {
        ADD_FAILURE() << when << ": resend: " << why << ": " << Describe(sent);
      }
    }
    ASSERT_EQ(results.size(), resend.size()) << when << ": the resend failed";
    acked_ = checked_ = sent_.size();
    workload_->ResetModel(model);  // the workload continues from the state after the resend

    // Revisions: exactly 1..N, each once.
    std::vector<uint64_t> revisions;
    for (const auto& [sid, room] : rooms_) revisions.push_back(room.second);
    order.clear();
    for (size_t i = 0; i < sent_.size(); ++i) {
      if (uint64_t revision = AppliedRevision(sent_[i])) {
        revisions.push_back(revision);
        order.emplace_back(revision, i);
      }
    }
    std::sort(revisions.begin(), revisions.end());
    for (size_t i = 0; i < revisions.size(); ++i) {
      if (revisions[i] != i + 1) {
        ADD_FAILURE() << when << ": revisions are not 1..N: position " << i << " holds "
                      << revisions[i];
        break;
      }
    }
    const uint64_t head = revisions.size();

    // Records: a fresh model fed every applied event in the order of the server's revisions.
    std::sort(order.begin(), order.end());
    EventModel replay = RoomsOnly();
    for (const auto& [revision, i] : order) {
      if (replay.Apply(sent_[i].event, revision).outcome != v1::EVENT_OUTCOME_APPLIED) {
        ADD_FAILURE() << when << ": in revision order the model does not apply "
                      << Describe(sent_[i]);
      }
    }
    CompareRecords(replay, ListAllParticipants(channel), ListAllRooms(channel), when);
    CompareTracks(replay, channel, when);

    // A sample of acknowledged events: resending each is DUPLICATE with the same revision.
    std::vector<size_t> applied;
    for (const auto& [revision, i] : order) applied.push_back(i);
    std::shuffle(applied.begin(), applied.end(), rng_);
    applied.resize(std::min(applied.size(), kSpotChecks));
    ExpectDuplicates(applied, when);

    // The server's current revision is N.
    if (std::optional<ModelEvent> probe = workload_->Probe()) {
      const std::vector<v1::EventResult> probed = SendAll(*stub, {probe->ToProto()});
      ASSERT_EQ(probed.size(), 1u);
      EXPECT_EQ(probed[0].code(), 0) << probed[0].message();
      EXPECT_EQ(probed[0].outcome(), v1::EVENT_OUTCOME_IGNORED);
      EXPECT_EQ(probed[0].revision(), head) << when << ": the server's revision is not N";
    }
  }

  // Resends sent_[i] for each i; each must be DUPLICATE with its acknowledged revision.
  void ExpectDuplicates(const std::vector<size_t>& indices, const std::string& when) {
    std::vector<v1::Event> events;
    for (size_t i : indices) events.push_back(sent_[i].event.ToProto());
    auto stub = Ingest();
    const std::vector<v1::EventResult> results = SendAll(*stub, events);
    int failures = 0;
    for (size_t k = 0; k < results.size(); ++k) {
      const Sent& sent = sent_[indices[k]];
      if (results[k].code() != 0 || results[k].outcome() != v1::EVENT_OUTCOME_DUPLICATE ||
          results[k].revision() != sent.result.revision() ||
          results[k].participant().sid() != sent.event.participant_sid) {
        if (++failures <= 5) {
          ADD_FAILURE() << when
                        << ": acknowledged event not DUPLICATE on resend: " << Describe(sent)
                        << "; resend got code " << results[k].code() << " '" << results[k].message()
                        << "' " << v1::EventOutcome_Name(results[k].outcome()) << " rev "
                        << results[k].revision();
        }
      }
    }
    duplicates_checked_ += results.size();
  }

  ServerProcess server_;
  uint64_t seed_ = 0;
  std::mt19937_64 rng_;
  std::unique_ptr<Workload> workload_;
  std::map<std::string, std::pair<int, uint64_t>> rooms_;  // sid -> capacity, revision
  std::vector<Sent> sent_;
  size_t acked_ = 0;    // sent_[0, acked_) have results
  size_t checked_ = 0;  // sent_[0, checked_) have been checked
  int kills_ = 0;
  size_t in_flight_at_kill_ = 0;
  size_t resent_applied_ = 0;
  size_t resent_duplicate_ = 0;
  size_t duplicates_checked_ = 0;
};

TEST_F(CrashTest, AcknowledgedEventsSurviveSigkill) {
  const auto started = std::chrono::steady_clock::now();
  ASSERT_NO_FATAL_FAILURE(CreateRooms());

  std::uniform_int_distribution<int> delay_ms(20, 300);
  for (int kill = 1; kill <= kKills; ++kill) {
    const std::string when =
        "after kill " + std::to_string(kill) + " (seed " + std::to_string(seed_) + ")";
    StreamAndKill(std::chrono::milliseconds(delay_ms(rng_)));
    ++kills_;
    ASSERT_TRUE(server_.Start()) << when;
    ASSERT_NO_FATAL_FAILURE(RecoverAndVerify(when));
    if (HasFailure()) break;  // one broken round explains the rest
  }

  // Every acknowledged, applied event is still there exactly once.
  std::vector<size_t> all;
  for (size_t i = 0; i < sent_.size(); ++i) {
    if (sent_[i].result.code() == 0 && sent_[i].result.outcome() != v1::EVENT_OUTCOME_IGNORED) {
      all.push_back(i);
    }
  }
  ExpectDuplicates(all, "at the end");
  EXPECT_EQ(server_.Stop(), 0) << "SIGTERM should drain and exit 0";

  size_t ignored = 0, rejected = 0;
  for (const Sent& sent : sent_) {
    if (sent.result.code() != 0)
      ++rejected;
    else if (sent.result.outcome() == v1::EVENT_OUTCOME_IGNORED)
      ++ignored;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::cout << "seed " << seed_ << ": " << kills_ << " kills, " << sent_.size() << " events ("
            << all.size() << " applied, " << ignored << " ignored, " << rejected
            << " rejected); in flight at kills " << in_flight_at_kill_ << ", of which "
            << resent_duplicate_ << " had been applied and " << resent_applied_
            << " applied on resend; " << duplicates_checked_ << " duplicate checks; " << seconds
            << " s" << std::endl;
  EXPECT_EQ(kills_, kKills);
  // The kills must have hit events in flight, or the test proved little.
  EXPECT_GT(in_flight_at_kill_, 0u);
}

}  // namespace
}  // namespace rollcall::testing
