// rollcall-baseline: the no-op server every §8 figure is a ratio to (docs/benchmarks.md, targets).
// It serves the same four services with the same message shapes, gRPC API and server options as
// rollcalld, and does only what gRPC itself forces on a server that answers correctly shaped
// messages: it parses each request into its protobuf, builds a response of the right shape
// from it (a canned record, an APPLIED outcome, a revision from a counter), and serializes it.
// No validation, no state, no storage, no fsync.
//
// Details that matter for the ratios:
//  - Ingest runs on the raw (ByteBuffer) callback API like rollcalld's: flatten, parse,
//    build, serialize. StreamEvents reads up to 4 messages ahead of its writes, as rollcalld
//    does, and answers each message with one result per event.
//  - Participants and rooms in answers are full records (SIDs, URLs, links, times) made by
//    rollcalld's own Converter; a CONNECTED without a participant SID gets a new one, so churn
//    can address it later.
//  - Reads answer canned records: Get one, List min(page_size, 20) (about a churn room).
//  - Watch fans each acknowledged event out to the watchers whose scope (account, or room
//    as the event named it) matches, as one ChangeSet serialized once, so the watcher
//    workload has a floor to compare with. There is no change log: no resume, no initial
//    state, no progress messages; a watcher more than 10,000 messages behind is ended with
//    RESOURCE_EXHAUSTED.
//
//   rollcall-baseline --listen=127.0.0.1:0 --port_file=/tmp/port
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <deque>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "rollcall/v1/ingest_service.grpc.pb.h"
#include "rollcall/v1/participant_service.grpc.pb.h"
#include "rollcall/v1/room_service.grpc.pb.h"
#include "rollcall/v1/watch_service.grpc.pb.h"
#include "service/convert.h"
#include "state/limits.h"
#include "state/records.h"
#include "state/sid.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50052", "gRPC listen address (port 0 picks one)");
ABSL_FLAG(std::string, port_file, "", "If set, the bound port is written here once serving");
ABSL_FLAG(std::string, public_base_url, "http://localhost:8080", "Base of url/links fields");
ABSL_FLAG(std::string, default_account, "AC00000000000000000000000000000000",
          "Account of requests that name none");
ABSL_FLAG(int32_t, max_message_bytes, 4 << 20, "Largest gRPC message accepted or sent");
ABSL_FLAG(absl::Duration, max_connection_age, absl::Minutes(30), "As rollcalld's flag");
ABSL_FLAG(absl::Duration, keepalive_time, absl::Minutes(1), "As rollcalld's flag");
ABSL_FLAG(absl::Duration, shutdown_grace, absl::Seconds(5),
          "On SIGTERM, how long in-flight calls get to finish");

namespace rollcall::bench {
namespace {

namespace v1 = ::rollcall::v1;

constexpr int kReadAhead = 4;          // StreamEvents messages read ahead of their answers
constexpr size_t kWatchQueue = 10000;  // messages queued per watcher before it is ended
constexpr int kListSize = 20;          // records in a List answer, at most

// --------------------------------------------------------------------------------------------
// Canned records of the right shape: state:: records made up from the request, turned into
// protobuf by rollcalld's own Converter, so every field rollcalld fills is filled here too.

class Canned {
 public:
  Canned(const std::string& base_url, const std::string& default_account)
      : converter_(base_url, SidOf(default_account, state::kAccountPrefix)) {}

  uint64_t NextRevision() { return revision_.fetch_add(1, std::memory_order_relaxed); }
  state::Sid NewSid(absl::string_view prefix) {
    state::Sid::Bytes bytes{};
    const uint64_t n = sids_.fetch_add(1, std::memory_order_relaxed);
    for (int i = 0; i < 8; ++i) bytes[15 - i] = static_cast<uint8_t>(n >> (8 * i));
    return state::Sid(prefix, bytes);
  }
  // `text` as a SID: itself when it is one, else one made from its hash (a room's unique
  // name always maps to the same room SID).
  static state::Sid SidOf(const std::string& text, absl::string_view prefix) {
    if (std::optional<state::Sid> sid = state::Sid::TryParse(text, prefix)) return *sid;
    state::Sid::Bytes bytes{};
    const size_t hash = absl::HashOf(text, prefix);
    for (int i = 0; i < 8; ++i) {
      bytes[i] = static_cast<uint8_t>(hash >> (8 * i));
      bytes[8 + i] = static_cast<uint8_t>((hash * 0x9e3779b97f4a7c15ull) >> (8 * i));
    }
    return state::Sid(prefix, bytes);
  }
  state::Sid Account(const std::string& named) const {
    return named.empty() ? converter_.default_account() : SidOf(named, state::kAccountPrefix);
  }

  void Participant(const std::string& account, const std::string& room, const state::Sid& sid,
                   const std::string& identity, state::ParticipantStatus status, uint64_t revision,
                   v1::Participant* out) const {
    state::Participant participant;
    participant.sid = sid;
    participant.account_sid = Account(account);
    participant.room_sid = SidOf(room, state::kRoomPrefix);
    participant.identity = identity.empty() ? sid.ToString() : identity;
    participant.status = status;
    participant.date_created = participant.date_updated = participant.start_time = absl::Now();
    if (status == state::ParticipantStatus::kDisconnected) {
      participant.end_time = participant.start_time;
      participant.duration = 0;
      participant.disconnect_reason = state::DisconnectReason::kClientInitiated;
    }
    participant.revision = revision;
    converter_.ToProto(participant, out);
  }

  // The participant an event leaves behind.
  void FromEvent(const v1::Event& event, uint64_t revision, v1::Participant* out) {
    const state::Sid sid = event.participant_sid().empty()
                               ? NewSid(state::kParticipantPrefix)
                               : SidOf(event.participant_sid(), state::kParticipantPrefix);
    state::ParticipantStatus status = state::ParticipantStatus::kConnected;
    if (event.type() == v1::EVENT_TYPE_PARTICIPANT_RECONNECTING) {
      status = state::ParticipantStatus::kReconnecting;
    } else if (event.type() == v1::EVENT_TYPE_PARTICIPANT_DISCONNECTED) {
      status = state::ParticipantStatus::kDisconnected;
    }
    Participant(event.account_sid(), event.room(), sid, event.identity(), status, revision, out);
  }

  void Room(const std::string& account, const state::Sid& sid, const std::string& unique_name,
            state::RoomStatus status, v1::Room* out) const {
    state::Room room;
    room.sid = sid;
    room.account_sid = Account(account);
    room.unique_name = unique_name.empty() ? sid.ToString() : unique_name;
    room.status = status;
    room.date_created = room.date_updated = absl::Now();
    if (status != state::RoomStatus::kInProgress) {
      room.end_time = room.date_created;
      room.duration = 0;
    }
    room.max_participants = state::kDefaultMaxParticipants;
    room.max_participant_duration = state::kDefaultMaxParticipantDuration;
    room.empty_room_timeout = room.unused_room_timeout = state::kDefaultRoomTimeout;
    room.status_callback_method = "POST";
    room.ad_hoc = true;
    room.revision = 1;
    converter_.ToProto(room, status == state::RoomStatus::kInProgress ? 1 : 0, out);
  }
  void Room(const std::string& account, const std::string& reference, state::RoomStatus status,
            v1::Room* out) const {
    Room(account, SidOf(reference, state::kRoomPrefix), reference, status, out);
  }

 private:
  const service::Converter converter_;
  std::atomic<uint64_t> revision_{1};
  std::atomic<uint64_t> sids_{1};
};

grpc::ByteBuffer ToBuffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

bool ParseBuffer(const grpc::ByteBuffer& buffer, google::protobuf::MessageLite* message) {
  grpc::Slice slice;
  if (!buffer.TrySingleSlice(&slice).ok() && !buffer.DumpToSingleSlice(&slice).ok()) {
    return false;
  }
  return message->ParseFromArray(slice.begin(), static_cast<int>(slice.size()));
}

// --------------------------------------------------------------------------------------------
// Watch: fan-out of each acknowledged event to the matching watchers.

class WatchFanout;

class BaselineWatcher final : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
 public:
  BaselineWatcher(WatchFanout& fanout, std::string account, std::string room)
      : fanout_(fanout), account_(std::move(account)), room_(std::move(room)) {}

  bool Matches(const std::string& account, const std::string& room_sid) const {
    return account == account_ && (room_.empty() || room_ == room_sid);
  }
  // From the fan-out (its mutex held).
  void Push(const grpc::ByteBuffer& message) {
    absl::MutexLock lock(&mu_);
    if (finished_) return;
    if (queue_.size() >= kWatchQueue) {
      EndLocked(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "watcher fell behind"));
      return;
    }
    queue_.push_back(message);
    WriteNextLocked();
  }
  void End(const grpc::Status& status) {
    absl::MutexLock lock(&mu_);
    EndLocked(status);
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    if (!ok) return EndLocked(grpc::Status::CANCELLED);
    WriteNextLocked();
  }
  void OnCancel() override { End(grpc::Status::CANCELLED); }
  void OnDone() override;

 private:
  void WriteNextLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (writing_ || finished_ || queue_.empty()) return;
    current_ = std::move(queue_.front());
    queue_.pop_front();
    writing_ = true;
    StartWrite(&current_);
  }
  void EndLocked(const grpc::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_) return;
    finished_ = true;
    queue_.clear();
    Finish(status);
  }

  WatchFanout& fanout_;
  const std::string account_;
  const std::string room_;
  absl::Mutex mu_;
  std::deque<grpc::ByteBuffer> queue_ ABSL_GUARDED_BY(mu_);
  grpc::ByteBuffer current_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

class WatchFanout {
 public:
  bool empty() const { return count_.load(std::memory_order_relaxed) == 0; }
  // Held from taking a revision to publishing it while anyone watches, so every watcher gets
  // revisions in order.
  absl::Mutex& order() { return order_; }

  // One revision's change: serialized once, queued to every matching watcher.
  void Publish(const std::string& account, const std::string& room_sid, uint64_t revision,
               v1::ChangeType type, const v1::Participant& participant) {
    if (empty()) return;
    v1::WatchResponse response;
    v1::ChangeSet* set = response.mutable_changes();
    set->set_revision(revision);
    v1::Change* change = set->add_changes();
    change->set_revision(revision);
    change->set_type(type);
    *change->mutable_time() = participant.date_updated();
    *change->mutable_participant() = participant;
    const grpc::ByteBuffer bytes = ToBuffer(response.SerializeAsString());
    absl::MutexLock lock(&mu_);
    for (BaselineWatcher* watcher : watchers_) {
      if (watcher->Matches(account, room_sid)) watcher->Push(bytes);
    }
  }

  grpc::ServerWriteReactor<grpc::ByteBuffer>* Open(const std::string& account,
                                                   const std::string& room) {
    auto* watcher = new BaselineWatcher(*this, account, room);
    absl::MutexLock lock(&mu_);
    if (shut_down_) {
      watcher->End(grpc::Status(grpc::StatusCode::UNAVAILABLE, "shutting down"));
    } else {
      watchers_.push_back(watcher);
      count_.fetch_add(1);
    }
    return watcher;
  }
  void Remove(BaselineWatcher* watcher) {
    absl::MutexLock lock(&mu_);
    const auto it = std::find(watchers_.begin(), watchers_.end(), watcher);
    if (it == watchers_.end()) return;
    watchers_.erase(it);
    count_.fetch_sub(1);
  }
  void Shutdown() {
    absl::MutexLock lock(&mu_);
    shut_down_ = true;
    for (BaselineWatcher* watcher : watchers_) {
      watcher->End(grpc::Status(grpc::StatusCode::UNAVAILABLE, "shutting down"));
    }
  }

 private:
  absl::Mutex order_;
  absl::Mutex mu_;
  std::vector<BaselineWatcher*> watchers_ ABSL_GUARDED_BY(mu_);
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  std::atomic<int> count_{0};
};

// Takes a revision and publishes its change in one step while anyone watches.
class PublishOrder {
 public:
  explicit PublishOrder(WatchFanout& fanout) ABSL_NO_THREAD_SAFETY_ANALYSIS
      : mu_(fanout.empty() ? nullptr : &fanout.order()) {
    if (mu_ != nullptr) mu_->Lock();
  }
  ~PublishOrder() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    if (mu_ != nullptr) mu_->Unlock();
  }
  PublishOrder(const PublishOrder&) = delete;
  PublishOrder& operator=(const PublishOrder&) = delete;

 private:
  absl::Mutex* mu_;
};

void BaselineWatcher::OnDone() {
  fanout_.Remove(this);
  delete this;
}

class BaselineWatch final
    : public v1::WatchService::WithRawCallbackMethod_Watch<v1::WatchService::Service> {
 public:
  BaselineWatch(WatchFanout& fanout, Canned& canned) : fanout_(fanout), canned_(canned) {}
  grpc::ServerWriteReactor<grpc::ByteBuffer>* Watch(grpc::CallbackServerContext* /*context*/,
                                                    const grpc::ByteBuffer* request) override {
    v1::WatchRequest parsed;
    ParseBuffer(*request, &parsed);
    const std::string room =
        parsed.room().empty() ? "" : Canned::SidOf(parsed.room(), state::kRoomPrefix).ToString();
    return fanout_.Open(canned_.Account(parsed.account_sid()).ToString(), room);
  }

 private:
  WatchFanout& fanout_;
  Canned& canned_;
};

v1::ChangeType ChangeOf(v1::EventType type) {
  switch (type) {
    case v1::EVENT_TYPE_PARTICIPANT_RECONNECTING:
      return v1::CHANGE_TYPE_PARTICIPANT_RECONNECTING;
    case v1::EVENT_TYPE_PARTICIPANT_RECONNECTED:
      return v1::CHANGE_TYPE_PARTICIPANT_RECONNECTED;
    case v1::EVENT_TYPE_PARTICIPANT_DISCONNECTED:
      return v1::CHANGE_TYPE_PARTICIPANT_DISCONNECTED;
    default:
      return v1::CHANGE_TYPE_PARTICIPANT_CONNECTED;
  }
}

// --------------------------------------------------------------------------------------------
// Ingest.

// Answers one event: APPLIED at a new revision, and the change fanned out to watchers.
void Apply(Canned& canned, WatchFanout& fanout, const v1::Event& event, v1::EventOutcome* outcome,
           uint64_t* revision, v1::Participant* participant) {
  PublishOrder order(fanout);
  *revision = canned.NextRevision();
  *outcome = v1::EVENT_OUTCOME_APPLIED;
  canned.FromEvent(event, *revision, participant);
  fanout.Publish(participant->account_sid(), participant->room_sid(), *revision,
                 ChangeOf(event.type()), *participant);
}

class BaselineStream final : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  BaselineStream(Canned& canned, WatchFanout& fanout) : canned_(canned), fanout_(fanout) {
    absl::MutexLock lock(&mu_);
    ReadLocked();
  }

  void OnReadDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    reading_ = false;
    if (!ok) {
      half_closed_ = true;
      return MaybeFinishLocked();
    }
    v1::StreamEventsRequest request;
    v1::StreamEventsResponse response;
    if (!ParseBuffer(request_, &request)) {
      half_closed_ = true;
      status_ = grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "not a StreamEventsRequest");
      return MaybeFinishLocked();
    }
    for (const v1::Event& event : request.events()) {
      v1::EventResult* result = response.add_results();
      result->set_event_id(event.event_id());
      v1::EventOutcome outcome;
      uint64_t revision;
      Apply(canned_, fanout_, event, &outcome, &revision, result->mutable_participant());
      result->set_outcome(outcome);
      result->set_revision(revision);
    }
    answers_.push_back(ToBuffer(response.SerializeAsString()));
    WriteLocked();
    if (answers_.size() < kReadAhead) ReadLocked();
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    if (!ok) {
      broken_ = true;
      return MaybeFinishLocked();
    }
    WriteLocked();
    ReadLocked();
    MaybeFinishLocked();
  }

  void OnCancel() override {
    absl::MutexLock lock(&mu_);
    broken_ = true;
    MaybeFinishLocked();
  }

  void OnDone() override { delete this; }

 private:
  void ReadLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (reading_ || half_closed_ || broken_ || answers_.size() >= kReadAhead) return;
    reading_ = true;
    StartRead(&request_);
  }
  void WriteLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (writing_ || broken_ || answers_.empty()) return;
    writing_ = true;
    current_ = std::move(answers_.front());
    answers_.pop_front();
    StartWrite(&current_);
  }
  void MaybeFinishLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_ || reading_ || writing_) return;
    if (broken_) {
      finished_ = true;
      Finish(grpc::Status::CANCELLED);
    } else if (half_closed_ && answers_.empty()) {
      finished_ = true;
      Finish(status_);
    }
  }

  Canned& canned_;
  WatchFanout& fanout_;
  absl::Mutex mu_;
  grpc::ByteBuffer request_ ABSL_GUARDED_BY(mu_);
  grpc::ByteBuffer current_ ABSL_GUARDED_BY(mu_);
  std::deque<grpc::ByteBuffer> answers_ ABSL_GUARDED_BY(mu_);
  grpc::Status status_ ABSL_GUARDED_BY(mu_);
  bool reading_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool half_closed_ ABSL_GUARDED_BY(mu_) = false;
  bool broken_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

class BaselineIngest final
    : public v1::IngestService::WithRawCallbackMethod_RecordEvent<
          v1::IngestService::WithRawCallbackMethod_StreamEvents<v1::IngestService::Service>> {
 public:
  BaselineIngest(Canned& canned, WatchFanout& fanout) : canned_(canned), fanout_(fanout) {}

  grpc::ServerUnaryReactor* RecordEvent(grpc::CallbackServerContext* context,
                                        const grpc::ByteBuffer* request_bytes,
                                        grpc::ByteBuffer* response_bytes) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    v1::RecordEventRequest request;
    if (!ParseBuffer(*request_bytes, &request)) {
      reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "not a RecordEventRequest"));
      return reactor;
    }
    v1::RecordEventResponse response;
    v1::EventOutcome outcome;
    uint64_t revision;
    Apply(canned_, fanout_, request.event(), &outcome, &revision, response.mutable_participant());
    response.set_outcome(outcome);
    response.set_revision(revision);
    *response_bytes = ToBuffer(response.SerializeAsString());
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* StreamEvents(
      grpc::CallbackServerContext* /*context*/) override {
    return new BaselineStream(canned_, fanout_);
  }

 private:
  Canned& canned_;
  WatchFanout& fanout_;
};

// --------------------------------------------------------------------------------------------
// Reads and commands.

// Records in a List answer: the page size asked for (default 50), at most kListSize.
int ListSize(int page_size) { return std::min(page_size > 0 ? page_size : 50, kListSize); }

grpc::ServerUnaryReactor* Answered(grpc::CallbackServerContext* context) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

class BaselineParticipants final : public v1::ParticipantService::CallbackService {
 public:
  BaselineParticipants(Canned& canned, WatchFanout& fanout) : canned_(canned), fanout_(fanout) {}

  grpc::ServerUnaryReactor* GetParticipant(grpc::CallbackServerContext* context,
                                           const v1::GetParticipantRequest* request,
                                           v1::GetParticipantResponse* response) override {
    canned_.Participant(request->account_sid(), request->room(),
                        Canned::SidOf(request->participant_sid(), state::kParticipantPrefix),
                        request->identity(), state::ParticipantStatus::kConnected, 1,
                        response->mutable_participant());
    return Answered(context);
  }
  grpc::ServerUnaryReactor* ListParticipants(grpc::CallbackServerContext* context,
                                             const v1::ListParticipantsRequest* request,
                                             v1::ListParticipantsResponse* response) override {
    for (int i = 0; i < ListSize(request->page_size()); ++i) {
      canned_.Participant(request->account_sid(), request->room(),
                          canned_.NewSid(state::kParticipantPrefix), "",
                          state::ParticipantStatus::kConnected, 1, response->add_participants());
    }
    return Answered(context);
  }
  grpc::ServerUnaryReactor* UpdateParticipant(grpc::CallbackServerContext* context,
                                              const v1::UpdateParticipantRequest* request,
                                              v1::UpdateParticipantResponse* response) override {
    PublishOrder order(fanout_);
    const uint64_t revision = canned_.NextRevision();
    v1::Participant* participant = response->mutable_participant();
    canned_.Participant(request->account_sid(), request->room(),
                        Canned::SidOf(request->participant_sid(), state::kParticipantPrefix), "",
                        state::ParticipantStatus::kDisconnected, revision, participant);
    participant->set_disconnect_reason(v1::DISCONNECT_REASON_REMOVED);
    response->set_revision(revision);
    fanout_.Publish(participant->account_sid(), participant->room_sid(), revision,
                    v1::CHANGE_TYPE_PARTICIPANT_DISCONNECTED, *participant);
    return Answered(context);
  }
  grpc::ServerUnaryReactor* AnonymizeParticipant(
      grpc::CallbackServerContext* context, const v1::AnonymizeParticipantRequest* request,
      v1::AnonymizeParticipantResponse* response) override {
    const uint64_t revision = canned_.NextRevision();
    canned_.Participant(request->account_sid(), request->room(),
                        Canned::SidOf(request->participant_sid(), state::kParticipantPrefix), "",
                        state::ParticipantStatus::kDisconnected, revision,
                        response->mutable_participant());
    response->set_revision(revision);
    return Answered(context);
  }

 private:
  Canned& canned_;
  WatchFanout& fanout_;
};

class BaselineRooms final : public v1::RoomService::CallbackService {
 public:
  explicit BaselineRooms(Canned& canned) : canned_(canned) {}

  grpc::ServerUnaryReactor* CreateRoom(grpc::CallbackServerContext* context,
                                       const v1::CreateRoomRequest* request,
                                       v1::CreateRoomResponse* response) override {
    canned_.Room(request->account_sid(), canned_.NewSid(state::kRoomPrefix), request->unique_name(),
                 state::RoomStatus::kInProgress, response->mutable_room());
    response->set_revision(canned_.NextRevision());
    return Answered(context);
  }
  grpc::ServerUnaryReactor* GetRoom(grpc::CallbackServerContext* context,
                                    const v1::GetRoomRequest* request,
                                    v1::GetRoomResponse* response) override {
    canned_.Room(request->account_sid(), request->room(), state::RoomStatus::kInProgress,
                 response->mutable_room());
    return Answered(context);
  }
  grpc::ServerUnaryReactor* ListRooms(grpc::CallbackServerContext* context,
                                      const v1::ListRoomsRequest* request,
                                      v1::ListRoomsResponse* response) override {
    for (int i = 0; i < ListSize(request->page_size()); ++i) {
      canned_.Room(request->account_sid(), canned_.NewSid(state::kRoomPrefix), "",
                   state::RoomStatus::kInProgress, response->add_rooms());
    }
    return Answered(context);
  }
  grpc::ServerUnaryReactor* UpdateRoom(grpc::CallbackServerContext* context,
                                       const v1::UpdateRoomRequest* request,
                                       v1::UpdateRoomResponse* response) override {
    canned_.Room(request->account_sid(), request->room(), state::RoomStatus::kCompleted,
                 response->mutable_room());
    response->set_revision(canned_.NextRevision());
    return Answered(context);
  }

 private:
  Canned& canned_;
};

int Main() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  Canned canned(absl::GetFlag(FLAGS_public_base_url), absl::GetFlag(FLAGS_default_account));
  WatchFanout fanout;
  BaselineIngest ingest(canned, fanout);
  BaselineParticipants participants(canned, fanout);
  BaselineRooms rooms(canned);
  BaselineWatch watch(fanout, canned);

  // The same server options as rollcalld (service/server.cc).
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(absl::GetFlag(FLAGS_listen), grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&ingest);
  builder.RegisterService(&participants);
  builder.RegisterService(&rooms);
  builder.RegisterService(&watch);
  builder.SetMaxReceiveMessageSize(absl::GetFlag(FLAGS_max_message_bytes));
  builder.SetMaxSendMessageSize(absl::GetFlag(FLAGS_max_message_bytes));
  builder.AddChannelArgument(
      GRPC_ARG_MAX_CONNECTION_AGE_MS,
      static_cast<int>(absl::ToInt64Milliseconds(absl::GetFlag(FLAGS_max_connection_age))));
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS, 5 * 60 * 1000);
  builder.AddChannelArgument(
      GRPC_ARG_KEEPALIVE_TIME_MS,
      static_cast<int>(absl::ToInt64Milliseconds(absl::GetFlag(FLAGS_keepalive_time))));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    std::fprintf(stderr, "rollcall-baseline: cannot listen on %s\n",
                 absl::GetFlag(FLAGS_listen).c_str());
    return 1;
  }
  grpc::HealthCheckServiceInterface* health = server->GetHealthCheckService();
  health->SetServingStatus(true);
  health->SetServingStatus("liveness", true);
  health->SetServingStatus("readiness", true);
  if (const std::string port_file = absl::GetFlag(FLAGS_port_file); !port_file.empty()) {
    const std::string temp = port_file + ".tmp";
    std::ofstream(temp) << port << "\n";
    std::rename(temp.c_str(), port_file.c_str());
  }
  std::fprintf(stderr, "rollcall-baseline: serving on port %d\n", port);

  int signal = 0;
  sigwait(&signals, &signal);
  health->SetServingStatus("readiness", false);
  fanout.Shutdown();
  server->Shutdown(std::chrono::system_clock::now() +
                   absl::ToChronoNanoseconds(absl::GetFlag(FLAGS_shutdown_grace)));
  return 0;
}

}  // namespace
}  // namespace rollcall::bench

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "rollcall-baseline: a no-op server with rollcalld's services, for benchmark ratios");
  absl::ParseCommandLine(argc, argv);
  return rollcall::bench::Main();
}
