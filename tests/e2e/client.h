// Client: a typed rollcall.v1 client for end-to-end tests, with event builders, paged
// listing, a store snapshot for "nothing changed" checks, and raw calls to the health and
// reflection services (their protos are not part of the build, so those messages are
// hand-encoded). Every helper fails the current test (ADD_FAILURE) on an unexpected status
// and never blocks without an RPC deadline.
#ifndef ROLLCALL_TESTS_E2E_CLIENT_H_
#define ROLLCALL_TESTS_E2E_CLIENT_H_

#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/client_unary_call.h>
#include <grpcpp/impl/rpc_method.h>
#include <grpcpp/support/sync_stream.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "google/protobuf/timestamp.pb.h"
#include "gtest/gtest.h"
#include "rollcall/v1/ingest_service.grpc.pb.h"
#include "rollcall/v1/participant_service.grpc.pb.h"
#include "rollcall/v1/room_service.grpc.pb.h"
#include "server_process.h"

namespace rollcall::testing {

namespace v1 = ::rollcall::v1;
using Timestamp = ::google::protobuf::Timestamp;
using SystemTime = std::chrono::system_clock::time_point;

inline constexpr char kDefaultAccount[] = "AC00000000000000000000000000000000";

// ---------------------------------------------------------------------------------------------
// Identifiers and times.

// `digits` random lowercase hex digits.
inline std::string RandomHex(int digits) {
  static std::mt19937_64 random{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < digits; ++i) out.push_back(kHex[random() % 16]);
  return out;
}
inline std::string NewAccountSid() { return "AC" + RandomHex(32); }
inline std::string NewRoomSid() { return "RM" + RandomHex(32); }
inline std::string NewParticipantSid() { return "PA" + RandomHex(32); }

// A fresh event_id, unique within this test process.
inline std::string NextEventId() {
  static std::atomic<uint64_t> next{1};
  static const std::string prefix = "evt-" + RandomHex(8) + "-";
  return prefix + std::to_string(next++);
}

inline Timestamp ToTimestamp(SystemTime time) {
  const auto nanos =
      std::chrono::duration_cast<std::chrono::nanoseconds>(time.time_since_epoch()).count();
  Timestamp out;
  int64_t seconds = nanos / 1000000000;
  int64_t remainder = nanos % 1000000000;
  if (remainder < 0) {
    remainder += 1000000000;
    --seconds;
  }
  out.set_seconds(seconds);
  out.set_nanos(static_cast<int32_t>(remainder));
  return out;
}
inline SystemTime FromTimestamp(const Timestamp& in) {
  return SystemTime(std::chrono::duration_cast<SystemTime::duration>(
      std::chrono::seconds(in.seconds()) + std::chrono::nanoseconds(in.nanos())));
}
inline Timestamp Now() { return ToTimestamp(std::chrono::system_clock::now()); }
inline Timestamp TimestampAt(int64_t seconds, int32_t nanos = 0) {
  Timestamp out;
  out.set_seconds(seconds);
  out.set_nanos(nanos);
  return out;
}
// `time` shifted by `delta` (may be negative).
inline Timestamp Plus(const Timestamp& time, std::chrono::milliseconds delta) {
  return ToTimestamp(FromTimestamp(time) + delta);
}
inline int64_t ToNanos(const Timestamp& time) { return time.seconds() * 1000000000 + time.nanos(); }
inline bool SameTime(const Timestamp& a, const Timestamp& b) {
  return a.seconds() == b.seconds() && a.nanos() == b.nanos();
}

// ---------------------------------------------------------------------------------------------
// Event builders. `at` defaults to now; every event gets a fresh event_id.

inline v1::Event MakeEvent(v1::EventType type, const std::string& room,
                           const std::string& participant_sid, const Timestamp& at) {
  v1::Event event;
  event.set_event_id(NextEventId());
  event.set_type(type);
  *event.mutable_occurred_at() = at;
  event.set_room(room);
  event.set_participant_sid(participant_sid);
  return event;
}
inline v1::Event ConnectedEvent(const std::string& room, const std::string& identity,
                                const Timestamp& at = Now(),
                                const std::string& participant_sid = "") {
  v1::Event event = MakeEvent(v1::EVENT_TYPE_PARTICIPANT_CONNECTED, room, participant_sid, at);
  event.set_identity(identity);
  return event;
}
inline v1::Event ReconnectingEvent(const std::string& room, const std::string& participant_sid,
                                   const Timestamp& at = Now()) {
  return MakeEvent(v1::EVENT_TYPE_PARTICIPANT_RECONNECTING, room, participant_sid, at);
}
inline v1::Event ReconnectedEvent(const std::string& room, const std::string& participant_sid,
                                  const Timestamp& at = Now()) {
  return MakeEvent(v1::EVENT_TYPE_PARTICIPANT_RECONNECTED, room, participant_sid, at);
}
inline v1::Event DisconnectedEvent(
    const std::string& room, const std::string& participant_sid, const Timestamp& at = Now(),
    v1::DisconnectReason reason = v1::DISCONNECT_REASON_UNSPECIFIED) {
  v1::Event event = MakeEvent(v1::EVENT_TYPE_PARTICIPANT_DISCONNECTED, room, participant_sid, at);
  event.set_reason(reason);
  return event;
}

// ---------------------------------------------------------------------------------------------
// Status checks.

inline std::string Describe(const grpc::Status& status) {
  return std::to_string(static_cast<int>(status.error_code())) + " " + status.error_message();
}

// Matches a message "field: ..." naming `field` first, as INVALID_ARGUMENT messages do.
inline ::testing::Matcher<std::string> NamesField(const std::string& field) {
  return ::testing::StartsWith(field + ": ");
}

// ---------------------------------------------------------------------------------------------
// Credentials: `authorization` metadata on every call of a channel.

inline std::string Base64(const std::string& bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t group = static_cast<uint8_t>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) group |= static_cast<uint8_t>(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size()) group |= static_cast<uint8_t>(bytes[i + 2]);
    for (size_t k = 0; k < 4; ++k) {
      out.push_back(i + k <= bytes.size() ? kAlphabet[(group >> (18 - 6 * k)) & 63] : '=');
    }
  }
  return out;
}

// The `authorization` value for an account SID and auth token, or an API key SID and secret.
inline std::string BasicAuthorization(const std::string& sid, const std::string& secret) {
  return "Basic " + Base64(sid + ":" + secret);
}

// Adds `authorization: <value>` to every call (nothing when the value is empty).
class AuthorizationInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit AuthorizationInterceptor(std::string value) : value_(std::move(value)) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (!value_.empty() &&
        methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->emplace("authorization", value_);
    }
    methods->Proceed();
  }

 private:
  const std::string value_;
};

class AuthorizationInterceptorFactory final
    : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit AuthorizationInterceptorFactory(std::string value) : value_(std::move(value)) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo* /*info*/) override {
    return new AuthorizationInterceptor(value_);
  }

 private:
  const std::string value_;
};

// A channel of its own to `address` whose every call carries `authorization` (e.g.
// BasicAuthorization(sid, secret); empty: none).
inline std::shared_ptr<grpc::Channel> AuthorizedChannel(const std::string& address,
                                                        const std::string& authorization) {
  static std::atomic<int> unique{0};
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  args.SetInt("rollcall.test.unique", ++unique);
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> creators;
  creators.push_back(std::make_unique<AuthorizationInterceptorFactory>(authorization));
  return grpc::experimental::CreateCustomChannelWithInterceptors(
      address, grpc::InsecureChannelCredentials(), args, std::move(creators));
}

// ---------------------------------------------------------------------------------------------
// The typed client. Requests and events carry `account` unless they name one themselves.

class Client {
 public:
  explicit Client(std::shared_ptr<grpc::Channel> channel, std::string account = "")
      : channel_(std::move(channel)),
        account_(std::move(account)),
        ingest_(v1::IngestService::NewStub(channel_)),
        participants_(v1::ParticipantService::NewStub(channel_)),
        rooms_(v1::RoomService::NewStub(channel_)) {}

  const std::string& account() const { return account_; }
  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }
  v1::IngestService::Stub& ingest() { return *ingest_; }
  v1::ParticipantService::Stub& participants() { return *participants_; }
  v1::RoomService::Stub& rooms() { return *rooms_; }

  // --- Ingest ---------------------------------------------------------------------------------

  grpc::Status Record(v1::Event event, v1::RecordEventResponse* response = nullptr) {
    v1::RecordEventRequest request;
    *request.mutable_event() = Stamp(std::move(event));
    return RecordRaw(request, response);
  }
  // No account stamping: the request goes out exactly as given.
  grpc::Status RecordRaw(const v1::RecordEventRequest& request,
                         v1::RecordEventResponse* response = nullptr) {
    v1::RecordEventResponse ignored;
    return ingest_->RecordEvent(Deadline().get(), request, response ? response : &ignored);
  }
  // Records an event that must succeed (any outcome).
  v1::RecordEventResponse MustRecord(v1::Event event) {
    v1::RecordEventResponse response;
    const std::string id = event.event_id();
    const grpc::Status status = Record(std::move(event), &response);
    EXPECT_TRUE(status.ok()) << "event " << id << ": " << Describe(status);
    return response;
  }
  // Records an event that must be APPLIED.
  v1::RecordEventResponse MustApply(v1::Event event) {
    const std::string id = event.event_id();
    v1::RecordEventResponse response = MustRecord(std::move(event));
    EXPECT_EQ(response.outcome(), v1::EVENT_OUTCOME_APPLIED) << "event " << id;
    return response;
  }
  v1::RecordEventResponse Connect(const std::string& room, const std::string& identity,
                                  const Timestamp& at = Now(),
                                  const std::string& participant_sid = "") {
    return MustApply(ConnectedEvent(room, identity, at, participant_sid));
  }
  v1::RecordEventResponse Reconnecting(const std::string& room, const std::string& sid,
                                       const Timestamp& at = Now()) {
    return MustApply(ReconnectingEvent(room, sid, at));
  }
  v1::RecordEventResponse Reconnected(const std::string& room, const std::string& sid,
                                      const Timestamp& at = Now()) {
    return MustApply(ReconnectedEvent(room, sid, at));
  }
  v1::RecordEventResponse Disconnect(
      const std::string& room, const std::string& sid, const Timestamp& at = Now(),
      v1::DisconnectReason reason = v1::DISCONNECT_REASON_UNSPECIFIED) {
    return MustApply(DisconnectedEvent(room, sid, at, reason));
  }

  // One StreamEvents call with one message per element of `messages`, all written before
  // any response is read; returns the responses and the final status.
  grpc::Status Stream(const std::vector<std::vector<v1::Event>>& messages,
                      std::vector<v1::StreamEventsResponse>* responses) {
    auto context = Deadline(std::chrono::seconds(30));
    auto stream = ingest_->StreamEvents(context.get());
    for (const auto& events : messages) {
      v1::StreamEventsRequest request;
      for (const v1::Event& event : events) *request.add_events() = Stamp(event);
      if (!stream->Write(request)) break;
    }
    stream->WritesDone();
    v1::StreamEventsResponse response;
    while (stream->Read(&response)) responses->push_back(response);
    return stream->Finish();
  }
  // One message of events over a new stream; returns its results (empty on a stream error).
  std::vector<v1::EventResult> StreamOnce(const std::vector<v1::Event>& events) {
    std::vector<v1::StreamEventsResponse> responses;
    const grpc::Status status = Stream({events}, &responses);
    EXPECT_TRUE(status.ok()) << Describe(status);
    EXPECT_EQ(responses.size(), 1u);
    if (responses.empty()) return {};
    return {responses[0].results().begin(), responses[0].results().end()};
  }

  // --- Participants ----------------------------------------------------------------------------

  grpc::Status GetParticipant(v1::GetParticipantRequest request, v1::Participant* out = nullptr) {
    Stamp(request);
    v1::GetParticipantResponse response;
    grpc::Status status = participants_->GetParticipant(Deadline().get(), request, &response);
    if (out) *out = response.participant();
    return status;
  }
  v1::Participant Participant(const std::string& sid) {
    v1::GetParticipantRequest request;
    request.set_participant_sid(sid);
    v1::Participant participant;
    const grpc::Status status = GetParticipant(request, &participant);
    EXPECT_TRUE(status.ok()) << "participant " << sid << ": " << Describe(status);
    return participant;
  }
  grpc::Status ListParticipants(v1::ListParticipantsRequest request,
                                v1::ListParticipantsResponse* response) {
    Stamp(request);
    return participants_->ListParticipants(Deadline().get(), request, response);
  }
  // Walks every page of `filters` with `page_size`; fails the test on an error or a loop.
  std::vector<v1::Participant> AllParticipants(v1::ListParticipantsRequest filters = {},
                                               int page_size = 1000) {
    std::vector<v1::Participant> all;
    filters.set_page_size(page_size);
    for (int pages = 0; pages < 100000; ++pages) {
      v1::ListParticipantsResponse response;
      const grpc::Status status = ListParticipants(filters, &response);
      EXPECT_TRUE(status.ok()) << Describe(status);
      if (!status.ok()) break;
      EXPECT_LE(response.participants_size(), page_size);
      all.insert(all.end(), response.participants().begin(), response.participants().end());
      if (response.next_page_token().empty()) return all;
      filters.set_page_token(response.next_page_token());
    }
    ADD_FAILURE() << "ListParticipants did not end";
    return all;
  }
  grpc::Status UpdateParticipant(v1::UpdateParticipantRequest request,
                                 v1::UpdateParticipantResponse* response = nullptr) {
    Stamp(request);
    v1::UpdateParticipantResponse ignored;
    return participants_->UpdateParticipant(Deadline().get(), request,
                                            response ? response : &ignored);
  }
  v1::UpdateParticipantResponse Kick(const std::string& sid) {
    v1::UpdateParticipantRequest request;
    request.set_participant_sid(sid);
    request.set_status(v1::PARTICIPANT_STATUS_DISCONNECTED);
    v1::UpdateParticipantResponse response;
    const grpc::Status status = UpdateParticipant(request, &response);
    EXPECT_TRUE(status.ok()) << "kick " << sid << ": " << Describe(status);
    return response;
  }
  grpc::Status AnonymizeParticipant(v1::AnonymizeParticipantRequest request,
                                    v1::AnonymizeParticipantResponse* response = nullptr) {
    Stamp(request);
    v1::AnonymizeParticipantResponse ignored;
    return participants_->AnonymizeParticipant(Deadline().get(), request,
                                               response ? response : &ignored);
  }
  v1::AnonymizeParticipantResponse Anonymize(const std::string& sid) {
    v1::AnonymizeParticipantRequest request;
    request.set_participant_sid(sid);
    v1::AnonymizeParticipantResponse response;
    const grpc::Status status = AnonymizeParticipant(request, &response);
    EXPECT_TRUE(status.ok()) << "anonymize " << sid << ": " << Describe(status);
    return response;
  }

  // --- Rooms -----------------------------------------------------------------------------------

  grpc::Status CreateRoom(v1::CreateRoomRequest request, v1::CreateRoomResponse* response) {
    Stamp(request);
    return rooms_->CreateRoom(Deadline().get(), request, response);
  }
  v1::CreateRoomResponse MustCreateRoom(v1::CreateRoomRequest request) {
    v1::CreateRoomResponse response;
    const grpc::Status status = CreateRoom(std::move(request), &response);
    EXPECT_TRUE(status.ok()) << "create room: " << Describe(status);
    return response;
  }
  v1::Room CreateRoom(const std::string& unique_name,
                      std::optional<int32_t> max_participants = std::nullopt) {
    v1::CreateRoomRequest request;
    request.set_unique_name(unique_name);
    if (max_participants) request.set_max_participants(*max_participants);
    return MustCreateRoom(request).room();
  }
  grpc::Status GetRoom(v1::GetRoomRequest request, v1::Room* out = nullptr) {
    Stamp(request);
    v1::GetRoomResponse response;
    grpc::Status status = rooms_->GetRoom(Deadline().get(), request, &response);
    if (out) *out = response.room();
    return status;
  }
  v1::Room Room(const std::string& room) {
    v1::GetRoomRequest request;
    request.set_room(room);
    v1::Room out;
    const grpc::Status status = GetRoom(request, &out);
    EXPECT_TRUE(status.ok()) << "room " << room << ": " << Describe(status);
    return out;
  }
  grpc::Status ListRooms(v1::ListRoomsRequest request, v1::ListRoomsResponse* response) {
    Stamp(request);
    return rooms_->ListRooms(Deadline().get(), request, response);
  }
  std::vector<v1::Room> AllRooms(v1::ListRoomsRequest filters = {}, int page_size = 1000) {
    std::vector<v1::Room> all;
    filters.set_page_size(page_size);
    for (int pages = 0; pages < 100000; ++pages) {
      v1::ListRoomsResponse response;
      const grpc::Status status = ListRooms(filters, &response);
      EXPECT_TRUE(status.ok()) << Describe(status);
      if (!status.ok()) break;
      EXPECT_LE(response.rooms_size(), page_size);
      all.insert(all.end(), response.rooms().begin(), response.rooms().end());
      if (response.next_page_token().empty()) return all;
      filters.set_page_token(response.next_page_token());
    }
    ADD_FAILURE() << "ListRooms did not end";
    return all;
  }
  grpc::Status UpdateRoom(v1::UpdateRoomRequest request,
                          v1::UpdateRoomResponse* response = nullptr) {
    Stamp(request);
    v1::UpdateRoomResponse ignored;
    return rooms_->UpdateRoom(Deadline().get(), request, response ? response : &ignored);
  }
  v1::UpdateRoomResponse EndRoom(const std::string& room) {
    v1::UpdateRoomRequest request;
    request.set_room(room);
    request.set_status(v1::ROOM_STATUS_COMPLETED);
    v1::UpdateRoomResponse response;
    const grpc::Status status = UpdateRoom(request, &response);
    EXPECT_TRUE(status.ok()) << "end room " << room << ": " << Describe(status);
    return response;
  }

  // --- Whole-store views -----------------------------------------------------------------------

  // Every participant and room of the client's account, one line each, in list order.
  std::vector<std::string> Snapshot() {
    std::vector<std::string> lines;
    for (const v1::Participant& p : AllParticipants()) lines.push_back(p.ShortDebugString());
    for (const v1::Room& r : AllRooms()) lines.push_back(r.ShortDebugString());
    return lines;
  }

  // Applies one event that creates nothing in the client's account (a new ad-hoc room and
  // participant in a probe account of its own) and returns its revision: the store's
  // revision counter, advanced by exactly one.
  uint64_t Probe() {
    static const std::string probe_account = NewAccountSid();
    static std::atomic<int> next{0};
    v1::Event event = ConnectedEvent("probe-" + std::to_string(next++), "probe");
    event.set_account_sid(probe_account);
    v1::RecordEventResponse response = MustApply(std::move(event));
    return response.revision();
  }

  // --- Health and reflection (hand-encoded: no generated code for these services) -----------

  // grpc.health.v1.Health/Check: the ServingStatus number (1 = SERVING), or -1 with `status`.
  int HealthStatus(const std::string& service, grpc::Status* status = nullptr) {
    std::string request;
    if (!service.empty()) {
      request.push_back(0x0a);  // field 1 (service), length-delimited
      AppendVarint(service.size(), &request);
      request += service;
    }
    grpc::ByteBuffer response;
    const grpc::internal::RpcMethod method("/grpc.health.v1.Health/Check",
                                           grpc::internal::RpcMethod::NORMAL_RPC);
    grpc::Status call = grpc::internal::BlockingUnaryCall(channel_.get(), method, Deadline().get(),
                                                          ToBuffer(request), &response);
    if (status) *status = call;
    if (!call.ok()) return -1;
    int serving = 0;  // proto3 omits UNKNOWN (0)
    for (const WireField& field : ParseWire(FromBuffer(response))) {
      if (field.number == 1 && field.wire_type == 0) serving = static_cast<int>(field.varint);
    }
    return serving;
  }

  // grpc.reflection.v1alpha.ServerReflection: the names of the services the server lists.
  std::vector<std::string> ReflectedServices(grpc::Status* status = nullptr) {
    const grpc::internal::RpcMethod method(
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        grpc::internal::RpcMethod::BIDI_STREAMING);
    auto context = Deadline();
    std::unique_ptr<grpc::ClientReaderWriter<grpc::ByteBuffer, grpc::ByteBuffer>> stream(
        grpc::internal::ClientReaderWriterFactory<grpc::ByteBuffer, grpc::ByteBuffer>::Create(
            channel_.get(), method, context.get()));
    const std::string list_services("\x3a\x00", 2);  // field 7 (list_services) = ""
    std::vector<std::string> names;
    stream->Write(ToBuffer(list_services));
    stream->WritesDone();
    grpc::ByteBuffer response;
    while (stream->Read(&response)) {
      for (const WireField& field : ParseWire(FromBuffer(response))) {
        if (field.number != 6 || field.wire_type != 2) continue;  // list_services_response
        for (const WireField& service : ParseWire(field.bytes)) {
          if (service.number != 1 || service.wire_type != 2) continue;
          for (const WireField& name : ParseWire(service.bytes)) {
            if (name.number == 1 && name.wire_type == 2) names.push_back(name.bytes);
          }
        }
      }
    }
    const grpc::Status finished = stream->Finish();
    if (status) *status = finished;
    return names;
  }

 private:
  struct WireField {
    int number = 0;
    int wire_type = 0;
    uint64_t varint = 0;
    std::string bytes;
  };

  static void AppendVarint(uint64_t value, std::string* out) {
    while (value >= 0x80) {
      out->push_back(static_cast<char>((value & 0x7f) | 0x80));
      value >>= 7;
    }
    out->push_back(static_cast<char>(value));
  }
  // A minimal protobuf wire-format reader: top-level fields of one message.
  static std::vector<WireField> ParseWire(const std::string& data) {
    std::vector<WireField> fields;
    size_t at = 0;
    auto varint = [&](uint64_t* value) {
      *value = 0;
      for (int shift = 0; at < data.size() && shift < 64; shift += 7) {
        const auto byte = static_cast<uint8_t>(data[at++]);
        *value |= uint64_t{byte & 0x7fu} << shift;
        if ((byte & 0x80) == 0) return true;
      }
      return false;
    };
    while (at < data.size()) {
      uint64_t tag = 0;
      if (!varint(&tag)) break;
      WireField field;
      field.number = static_cast<int>(tag >> 3);
      field.wire_type = static_cast<int>(tag & 7);
      if (field.wire_type == 0) {
        if (!varint(&field.varint)) break;
      } else if (field.wire_type == 2) {
        uint64_t length = 0;
        if (!varint(&length) || at + length > data.size()) break;
        field.bytes = data.substr(at, length);
        at += length;
      } else if (field.wire_type == 1) {
        at += 8;
      } else if (field.wire_type == 5) {
        at += 4;
      } else {
        break;
      }
      fields.push_back(std::move(field));
    }
    return fields;
  }
  static grpc::ByteBuffer ToBuffer(const std::string& bytes) {
    grpc::Slice slice(bytes);
    return grpc::ByteBuffer(&slice, 1);
  }
  static std::string FromBuffer(const grpc::ByteBuffer& buffer) {
    std::vector<grpc::Slice> slices;
    std::string out;
    if (!buffer.Dump(&slices).ok()) return out;
    for (const grpc::Slice& slice : slices) {
      out.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
    }
    return out;
  }

  v1::Event Stamp(v1::Event event) const {
    if (event.account_sid().empty()) event.set_account_sid(account_);
    return event;
  }
  template <typename Request>
  void Stamp(Request& request) const {
    if (request.account_sid().empty()) request.set_account_sid(account_);
  }

  std::shared_ptr<grpc::Channel> channel_;
  std::string account_;
  std::unique_ptr<v1::IngestService::Stub> ingest_;
  std::unique_ptr<v1::ParticipantService::Stub> participants_;
  std::unique_ptr<v1::RoomService::Stub> rooms_;
};

// ---------------------------------------------------------------------------------------------
// "Rejected, and nothing changed": runs `call` between two snapshots of `client`'s account
// and two probes, and checks the status code, that the message names `field` first
// ("field: ..."), that the snapshots are equal and that the probe after the call got the revision
// right after the probe before it. Returns the call's status for further checks.
inline grpc::Status ExpectRejected(Client& client, grpc::StatusCode code, const std::string& field,
                                   const std::function<grpc::Status()>& call) {
  const uint64_t before = client.Probe();
  const std::vector<std::string> snapshot = client.Snapshot();
  const grpc::Status status = call();
  EXPECT_EQ(status.error_code(), code) << Describe(status);
  EXPECT_THAT(status.error_message(), NamesField(field));
  EXPECT_EQ(client.Snapshot(), snapshot) << "a rejected request changed records";
  EXPECT_EQ(client.Probe(), before + 1) << "a rejected request took a revision";
  return status;
}

// A request protobuf's strict UTF-8 check refuses before rollcall sees it (query and room RPCs
// with malformed UTF-8 in a string field): gRPC answers UNIMPLEMENTED, and nothing changes.
inline void ExpectRejectedBeforeRollcall(Client& client,
                                         const std::function<grpc::Status()>& call) {
  const uint64_t before = client.Probe();
  const std::vector<std::string> snapshot = client.Snapshot();
  const grpc::Status status = call();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED) << Describe(status);
  EXPECT_EQ(client.Snapshot(), snapshot) << "a rejected request changed records";
  EXPECT_EQ(client.Probe(), before + 1) << "a rejected request took a revision";
}

// The same for one event: rejected by RecordEvent and, with the same code and message, as
// its result in a StreamEvents message.
inline void ExpectEventRejected(Client& client, const v1::Event& event, grpc::StatusCode code,
                                const std::string& field) {
  SCOPED_TRACE("event " + event.ShortDebugString());
  const grpc::Status unary =
      ExpectRejected(client, code, field, [&] { return client.Record(event); });
  v1::EventResult result;
  ExpectRejected(client, code, field, [&] {
    const std::vector<v1::EventResult> results = client.StreamOnce({event});
    if (results.size() != 1) return grpc::Status(grpc::StatusCode::INTERNAL, "no result");
    result = results[0];
    return grpc::Status(static_cast<grpc::StatusCode>(result.code()), result.message());
  });
  EXPECT_EQ(result.event_id(), event.event_id());
  EXPECT_EQ(result.message(), unary.error_message());
  EXPECT_EQ(result.outcome(), v1::EVENT_OUTCOME_UNSPECIFIED);
  EXPECT_EQ(result.revision(), 0u);
  EXPECT_FALSE(result.has_participant());
}

}  // namespace rollcall::testing

#endif  // ROLLCALL_TESTS_E2E_CLIENT_H_
