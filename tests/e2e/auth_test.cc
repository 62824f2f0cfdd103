// Authentication, roles and tenant isolation, end to end against the real rollcalld started
// with a credentials file this test writes (docs/security.md):
// 1. Every RPC × every credential of account A (ingest key, read key, admin key, auth token):
//    allowed calls succeed, the others are PERMISSION_DENIED and change nothing.
// 2. Missing, wrong and malformed credentials: UNAUTHENTICATED with one message, nothing
//    changed; health answers without credentials, reflection and unknown methods do not.
// 3. Every id-bearing field of every RPC naming account B's SIDs and names, with A's admin
//    credential: NOT_FOUND or PERMISSION_DENIED, never B's data; B's records are untouched.
// 4. Audit lines for admin actions; no secret anywhere in the log.
// 5. Reload without restart: a removed key stops working (open streams included: StreamEvents at
//    its next message, Watch at once), a new one works, a broken file keeps the old set.
// 6. Start-up refusal on a non-loopback address without credentials, and the override.
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rollcall/v1/track_service.grpc.pb.h"
#include "rollcall/v1/watch_service.grpc.pb.h"
#include "server_process.h"
#include "watch_client.h"

namespace rollcall::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// --- The credentials file --------------------------------------------------------------------

struct Key {
  std::string sid;
  std::string secret;
  std::string role;
};
struct Account {
  std::string sid;
  std::string token;  // empty: no auth token
  std::vector<Key> keys;
};

Key NewKey(const std::string& role) { return {"SK" + RandomHex(32), RandomHex(48), role}; }

std::string CredentialsJson(const std::vector<Account>& accounts) {
  nlohmann::json file;
  file["accounts"] = nlohmann::json::array();
  for (const Account& account : accounts) {
    nlohmann::json entry = {{"sid", account.sid}, {"api_keys", nlohmann::json::array()}};
    if (!account.token.empty()) entry["auth_token"] = account.token;
    for (const Key& key : account.keys) {
      entry["api_keys"].push_back({{"sid", key.sid}, {"secret", key.secret}, {"role", key.role}});
    }
    file["accounts"].push_back(entry);
  }
  return file.dump(2);
}

// Replaced whole (rename), as a Secret update or a careful operator does.
void WriteFile(const std::string& path, const std::string& text) {
  const std::string temp = path + ".tmp";
  std::ofstream(temp) << text;
  std::filesystem::rename(temp, path);
}

// --- Calls -----------------------------------------------------------------------------------

std::unique_ptr<grpc::ClientContext> TenSeconds() { return Deadline(std::chrono::seconds(10)); }

// A Watch with send_initial_state: reads through the initial_state_end marker and returns OK,
// or the status the stream ended with. The stream is cancelled after the marker.
grpc::Status WatchInitial(Client& client, v1::WatchRequest request,
                          std::vector<v1::WatchResponse>* messages = nullptr) {
  request.set_send_initial_state(true);
  auto stub = v1::WatchService::NewStub(client.channel());
  auto context = TenSeconds();
  auto reader = stub->Watch(context.get(), request);
  v1::WatchResponse response;
  while (reader->Read(&response)) {
    if (messages) messages->push_back(response);
    if (response.has_initial_state_end()) {
      context->TryCancel();
      while (reader->Read(&response)) {
      }
      reader->Finish().IgnoreError();
      return grpc::Status::OK;
    }
  }
  return reader->Finish();
}

// One StreamEvents message; the stream's status, or else the first event result's code.
grpc::Status StreamOne(Client& client, const v1::Event& event, v1::EventResult* result = nullptr) {
  std::vector<v1::StreamEventsResponse> responses;
  const grpc::Status status = client.Stream({{event}}, &responses);
  if (!status.ok()) return status;
  if (responses.size() != 1 || responses[0].results_size() != 1) {
    return grpc::Status(grpc::StatusCode::INTERNAL, "no result");
  }
  if (result) *result = responses[0].results(0);
  return grpc::Status(static_cast<grpc::StatusCode>(responses[0].results(0).code()),
                      responses[0].results(0).message());
}

// A call of an arbitrary method with an empty request (unknown methods, reflection).
grpc::Status CallRaw(Client& client, const std::string& method) {
  const grpc::internal::RpcMethod rpc(method.c_str(), grpc::internal::RpcMethod::NORMAL_RPC);
  grpc::ByteBuffer response;
  std::string empty;
  grpc::Slice slice(empty);
  grpc::ByteBuffer request(&slice, 1);
  return grpc::internal::BlockingUnaryCall(client.channel().get(), rpc, TenSeconds().get(), request,
                                           &response);
}

// --- The suite's server: accounts A and B ----------------------------------------------------

enum class Needs { kIngest, kRead, kAdmin };

struct Rpc {
  std::string name;
  Needs needs;
  // Makes the call with `client`; prepared targets come from `admin` (account A's token).
  std::function<grpc::Status(Client& client, Client& admin)> call;
};

class AuthTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    a_ = {NewAccountSid(), RandomHex(32), {NewKey("ingest"), NewKey("read"), NewKey("admin")}};
    b_ = {NewAccountSid(), RandomHex(32), {NewKey("admin")}};
    WriteFile(dir_->path() + "/credentials.json", CredentialsJson({a_, b_}));
    server_ = new ServerProcess(
        {"--credentials_file=" + dir_->path() + "/credentials.json", "--log_format=json"});
    server_->Start();
  }
  static void TearDownTestSuite() {
    EXPECT_EQ(server_->Stop(), 0) << server_->Log();
    delete server_;
    delete dir_;
  }
  void SetUp() override { ASSERT_GT(server_->port(), 0) << "rollcalld is not running"; }

  static Client As(const std::string& sid, const std::string& secret) {
    return Client(AuthorizedChannel(server_->address(), BasicAuthorization(sid, secret)));
  }
  static Client AsAuthorization(const std::string& authorization) {
    return Client(AuthorizedChannel(server_->address(), authorization));
  }
  static Client AdminOf(const Account& account) { return As(account.sid, account.token); }

  // Every RPC, with targets made fresh for each call so an allowed call succeeds.
  static std::vector<Rpc> Rpcs() {
    return {
        {"RecordEvent", Needs::kIngest,
         [](Client& c, Client&) {
           return c.Record(ConnectedEvent("matrix-room", "id-" + NextEventId()));
         }},
        {"StreamEvents", Needs::kIngest,
         [](Client& c, Client&) {
           return StreamOne(c, ConnectedEvent("matrix-room", "id-" + NextEventId()));
         }},
        {"GetParticipant", Needs::kRead,
         [](Client& c, Client& admin) {
           v1::GetParticipantRequest request;
           request.set_participant_sid(
               admin.Connect("matrix-room", "get-" + NextEventId()).participant().sid());
           return c.GetParticipant(request);
         }},
        {"ListParticipants", Needs::kRead,
         [](Client& c, Client&) {
           v1::ListParticipantsResponse response;
           return c.ListParticipants({}, &response);
         }},
        {"UpdateParticipant", Needs::kAdmin,
         [](Client& c, Client& admin) {
           v1::UpdateParticipantRequest request;
           request.set_participant_sid(
               admin.Connect("matrix-room", "kick-" + NextEventId()).participant().sid());
           request.set_status(v1::PARTICIPANT_STATUS_DISCONNECTED);
           return c.UpdateParticipant(request);
         }},
        {"AnonymizeParticipant", Needs::kAdmin,
         [](Client& c, Client& admin) {
           const std::string sid =
               admin.Connect("matrix-room", "anon-" + NextEventId()).participant().sid();
           admin.Disconnect("matrix-room", sid);
           v1::AnonymizeParticipantRequest request;
           request.set_participant_sid(sid);
           return c.AnonymizeParticipant(request);
         }},
        {"GetRoom", Needs::kRead,
         [](Client& c, Client& admin) {
           admin.Connect("matrix-room", "keeps-the-room-open");
           v1::GetRoomRequest request;
           request.set_room("matrix-room");
           return c.GetRoom(request);
         }},
        {"ListRooms", Needs::kRead,
         [](Client& c, Client&) {
           v1::ListRoomsResponse response;
           return c.ListRooms({}, &response);
         }},
        {"CreateRoom", Needs::kAdmin,
         [](Client& c, Client&) {
           v1::CreateRoomRequest request;
           request.set_unique_name("created-" + NextEventId());
           v1::CreateRoomResponse response;
           return c.CreateRoom(request, &response);
         }},
        {"UpdateRoom", Needs::kAdmin,
         [](Client& c, Client& admin) {
           v1::UpdateRoomRequest request;
           request.set_room(admin.CreateRoom("to-end-" + NextEventId()).sid());
           request.set_status(v1::ROOM_STATUS_COMPLETED);
           return c.UpdateRoom(request);
         }},
        {"Watch", Needs::kRead, [](Client& c, Client&) { return WatchInitial(c, {}); }},
        {"ListPublishedTracks", Needs::kRead,
         [](Client& c, Client& admin) {
           v1::ListPublishedTracksRequest request;
           request.set_participant_sid(
               admin.Connect("tracks-room-" + NextEventId(), "alice").participant().sid());
           v1::ListPublishedTracksResponse response;
           return v1::TrackService::NewStub(c.channel())
               ->ListPublishedTracks(TenSeconds().get(), request, &response);
         }},
        {"GetSubscribeRules", Needs::kRead,
         [](Client& c, Client& admin) {
           v1::GetSubscribeRulesRequest request;
           request.set_participant_sid(
               admin.Connect("tracks-room-" + NextEventId(), "alice").participant().sid());
           v1::GetSubscribeRulesResponse response;
           return v1::TrackService::NewStub(c.channel())
               ->GetSubscribeRules(TenSeconds().get(), request, &response);
         }},
        {"UpdateSubscribeRules", Needs::kAdmin,
         [](Client& c, Client& admin) {
           v1::UpdateSubscribeRulesRequest request;
           request.set_participant_sid(
               admin.Connect("tracks-room-" + NextEventId(), "alice").participant().sid());
           v1::SubscribeRule* rule = request.add_rules();
           rule->set_type(v1::SUBSCRIBE_RULE_TYPE_EXCLUDE);
           rule->set_all(true);
           v1::UpdateSubscribeRulesResponse response;
           return v1::TrackService::NewStub(c.channel())
               ->UpdateSubscribeRules(TenSeconds().get(), request, &response);
         }},
    };
  }

  static TempDir* dir_;
  static ServerProcess* server_;
  static Account a_;
  static Account b_;
};

TempDir* AuthTest::dir_ = nullptr;
ServerProcess* AuthTest::server_ = nullptr;
Account AuthTest::a_;
Account AuthTest::b_;

// ---------------------------------------------------------------------------------------------
// 1. Every RPC × every role.

TEST_F(AuthTest, EveryRpcByEveryRole) {
  struct Credential {
    std::string name;
    std::string sid;
    std::string secret;
    std::string role;
    std::set<Needs> allows;
  };
  const std::vector<Credential> credentials = {
      {"ingest key", a_.keys[0].sid, a_.keys[0].secret, "ingest", {Needs::kIngest}},
      {"read key", a_.keys[1].sid, a_.keys[1].secret, "read", {Needs::kRead}},
      {"admin key",
       a_.keys[2].sid,
       a_.keys[2].secret,
       "admin",
       {Needs::kIngest, Needs::kRead, Needs::kAdmin}},
      {"auth token", a_.sid, a_.token, "admin", {Needs::kIngest, Needs::kRead, Needs::kAdmin}},
  };
  Client admin = AdminOf(a_);
  for (const Credential& credential : credentials) {
    Client client = As(credential.sid, credential.secret);
    for (const Rpc& rpc : Rpcs()) {
      SCOPED_TRACE(rpc.name + " by the " + credential.name);
      if (credential.allows.count(rpc.needs) > 0) {
        const grpc::Status status = rpc.call(client, admin);
        EXPECT_TRUE(status.ok()) << Describe(status);
        continue;
      }
      const grpc::Status status = rpc.call(client, admin);
      EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << Describe(status);
      EXPECT_THAT(status.error_message(),
                  HasSubstr(credential.sid + " has role " + credential.role));
    }
  }
}

// Refused writes (a role that does not allow them, or no valid credential) change nothing.
TEST_F(AuthTest, RefusedCallsChangeNothing) {
  Client admin = AdminOf(a_);
  const std::string alive = admin.Connect("quiet-room", "alive").participant().sid();
  const std::string gone = admin.Connect("quiet-room", "gone").participant().sid();
  admin.Disconnect("quiet-room", gone);
  const std::vector<std::string> before = admin.Snapshot();

  struct Refused {
    std::string name;
    std::string authorization;
    grpc::StatusCode code;
  };
  for (const Refused& refused :
       std::vector<Refused>{{"read key", BasicAuthorization(a_.keys[1].sid, a_.keys[1].secret),
                             grpc::StatusCode::PERMISSION_DENIED},
                            {"ingest key", BasicAuthorization(a_.keys[0].sid, a_.keys[0].secret),
                             grpc::StatusCode::PERMISSION_DENIED},
                            {"no credential", "", grpc::StatusCode::UNAUTHENTICATED},
                            {"wrong secret", BasicAuthorization(a_.keys[2].sid, a_.keys[1].secret),
                             grpc::StatusCode::UNAUTHENTICATED}}) {
    SCOPED_TRACE(refused.name);
    Client client = AsAuthorization(refused.authorization);
    const bool may_ingest = refused.name == "ingest key";
    v1::UpdateParticipantRequest kick;
    kick.set_participant_sid(alive);
    kick.set_status(v1::PARTICIPANT_STATUS_DISCONNECTED);
    EXPECT_EQ(client.UpdateParticipant(kick).error_code(), refused.code);
    v1::AnonymizeParticipantRequest anonymize;
    anonymize.set_participant_sid(gone);
    EXPECT_EQ(client.AnonymizeParticipant(anonymize).error_code(), refused.code);
    v1::UpdateRoomRequest end;
    end.set_room("quiet-room");
    end.set_status(v1::ROOM_STATUS_COMPLETED);
    EXPECT_EQ(client.UpdateRoom(end).error_code(), refused.code);
    v1::CreateRoomRequest create;
    create.set_unique_name("never-created");
    v1::CreateRoomResponse created;
    EXPECT_EQ(client.CreateRoom(create, &created).error_code(), refused.code);
    if (!may_ingest) {
      EXPECT_EQ(client.Record(DisconnectedEvent("quiet-room", alive)).error_code(), refused.code);
      EXPECT_EQ(StreamOne(client, DisconnectedEvent("quiet-room", alive)).error_code(),
                refused.code);
    }
  }
  EXPECT_EQ(admin.Snapshot(), before);
}

// ---------------------------------------------------------------------------------------------
// 2. Missing, wrong and malformed credentials; health and reflection.

TEST_F(AuthTest, BadCredentialsAreUnauthenticatedWithOneMessage) {
  const std::string key = a_.keys[2].sid;
  const std::string secret = a_.keys[2].secret;
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"none", ""},
      {"wrong secret", BasicAuthorization(key, secret.substr(1) + "x")},
      {"unknown key", BasicAuthorization("SK" + RandomHex(32), secret)},
      {"unknown account", BasicAuthorization(NewAccountSid(), a_.token)},
      {"another account's token", BasicAuthorization(a_.sid, b_.token)},
      {"another key's secret", BasicAuthorization(key, a_.keys[1].secret)},
      {"no secret", BasicAuthorization(key, "")},
      {"bearer", "Bearer " + Base64(key + ":" + secret)},
      {"not base64", "Basic %%%"},
      {"no colon", "Basic " + Base64(key + secret)},
  };
  Client admin = AdminOf(a_);
  std::string message;
  for (const auto& [name, authorization] : bad) {
    Client client = AsAuthorization(authorization);
    for (const Rpc& rpc : Rpcs()) {
      SCOPED_TRACE(rpc.name + " with " + name);
      const grpc::Status status = rpc.call(client, admin);
      EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << Describe(status);
      if (message.empty()) message = status.error_message();
      EXPECT_EQ(status.error_message(), message) << "the answer hints at what was wrong";
    }
    SCOPED_TRACE(name);
    grpc::Status reflection;
    EXPECT_THAT(client.ReflectedServices(&reflection), ::testing::IsEmpty());
    EXPECT_EQ(reflection.error_code(), grpc::StatusCode::UNAUTHENTICATED) << Describe(reflection);
    EXPECT_EQ(CallRaw(client, "/some.Unknown/Method").error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
}

TEST_F(AuthTest, HealthIsOpenReflectionNeedsAnyCredential) {
  Client anonymous = AsAuthorization("");
  for (const std::string service : {"", "liveness", "readiness"}) {
    grpc::Status status;
    EXPECT_EQ(anonymous.HealthStatus(service, &status), 1) << service << ": " << Describe(status);
  }
  for (const Key& key : a_.keys) {
    SCOPED_TRACE(key.role);
    Client client = As(key.sid, key.secret);
    grpc::Status status;
    EXPECT_THAT(
        client.ReflectedServices(&status),
        ::testing::IsSupersetOf({"rollcall.v1.IngestService", "rollcall.v1.ParticipantService",
                                 "rollcall.v1.RoomService", "rollcall.v1.WatchService"}));
    EXPECT_TRUE(status.ok()) << Describe(status);
    EXPECT_EQ(CallRaw(client, "/some.Unknown/Method").error_code(),
              grpc::StatusCode::UNIMPLEMENTED);
  }
}

// ---------------------------------------------------------------------------------------------
// 3. Another tenant's SIDs and names.

TEST_F(AuthTest, AnotherAccountsSidsAndNamesAreNotFoundOrDenied) {
  Client b = AdminOf(b_);
  const v1::Room b_room = b.CreateRoom("b-private-room");
  const v1::Participant b_alive = b.Connect("b-private-room", "b-alice").participant();
  const std::string b_gone_sid = b.Connect("b-private-room", "b-bob").participant().sid();
  const v1::Participant b_gone = b.Disconnect("b-private-room", b_gone_sid).participant();
  const std::vector<std::string> b_before = b.Snapshot();
  const std::vector<std::string> b_secret_strings = {b_room.sid(), b_alive.sid(), b_gone.sid(),
                                                     "b-alice",    "b-bob",       b_.sid};

  Client a = AdminOf(a_);
  a.Connect("a-room", "a-carol");
  using Code = grpc::StatusCode;
  // Requests naming B's account: PERMISSION_DENIED, for every RPC.
  {
    SCOPED_TRACE("account_sid of B");
    v1::GetParticipantRequest get;
    get.set_account_sid(b_.sid);
    get.set_participant_sid(b_alive.sid());
    EXPECT_EQ(a.GetParticipant(get).error_code(), Code::PERMISSION_DENIED);
    v1::ListParticipantsRequest list;
    list.set_account_sid(b_.sid);
    v1::ListParticipantsResponse listed;
    EXPECT_EQ(a.ListParticipants(list, &listed).error_code(), Code::PERMISSION_DENIED);
    EXPECT_EQ(listed.participants_size(), 0);
    v1::UpdateParticipantRequest kick;
    kick.set_account_sid(b_.sid);
    kick.set_participant_sid(b_alive.sid());
    kick.set_status(v1::PARTICIPANT_STATUS_DISCONNECTED);
    EXPECT_EQ(a.UpdateParticipant(kick).error_code(), Code::PERMISSION_DENIED);
    v1::AnonymizeParticipantRequest anonymize;
    anonymize.set_account_sid(b_.sid);
    anonymize.set_participant_sid(b_gone.sid());
    EXPECT_EQ(a.AnonymizeParticipant(anonymize).error_code(), Code::PERMISSION_DENIED);
    v1::GetRoomRequest get_room;
    get_room.set_account_sid(b_.sid);
    get_room.set_room(b_room.sid());
    EXPECT_EQ(a.GetRoom(get_room).error_code(), Code::PERMISSION_DENIED);
    v1::ListRoomsRequest list_rooms;
    list_rooms.set_account_sid(b_.sid);
    v1::ListRoomsResponse rooms;
    EXPECT_EQ(a.ListRooms(list_rooms, &rooms).error_code(), Code::PERMISSION_DENIED);
    EXPECT_EQ(rooms.rooms_size(), 0);
    v1::CreateRoomRequest create;
    create.set_account_sid(b_.sid);
    create.set_unique_name("planted-in-b");
    v1::CreateRoomResponse created;
    EXPECT_EQ(a.CreateRoom(create, &created).error_code(), Code::PERMISSION_DENIED);
    v1::UpdateRoomRequest end;
    end.set_account_sid(b_.sid);
    end.set_room(b_room.sid());
    end.set_status(v1::ROOM_STATUS_COMPLETED);
    EXPECT_EQ(a.UpdateRoom(end).error_code(), Code::PERMISSION_DENIED);
    v1::WatchRequest watch;
    watch.set_account_sid(b_.sid);
    EXPECT_EQ(WatchInitial(a, watch).error_code(), Code::PERMISSION_DENIED);
    v1::Event event = ConnectedEvent("b-private-room", "intruder");
    event.set_account_sid(b_.sid);
    EXPECT_EQ(a.Record(event).error_code(), Code::PERMISSION_DENIED);
    EXPECT_EQ(StreamOne(a, event).error_code(), Code::PERMISSION_DENIED);
  }

  // B's room and participant SIDs, and B's room name, in every id-bearing field.
  for (const std::string& room : {b_room.sid(), std::string("b-private-room")}) {
    SCOPED_TRACE("room " + room);
    v1::GetParticipantRequest by_identity;
    by_identity.set_room(room);
    by_identity.set_identity("b-alice");
    EXPECT_EQ(a.GetParticipant(by_identity).error_code(), Code::NOT_FOUND);
    v1::GetParticipantRequest sid_in_room;
    sid_in_room.set_room(room);
    sid_in_room.set_participant_sid(b_alive.sid());
    EXPECT_EQ(a.GetParticipant(sid_in_room).error_code(), Code::NOT_FOUND);
    v1::ListParticipantsRequest list;
    list.set_room(room);
    v1::ListParticipantsResponse listed;
    EXPECT_EQ(a.ListParticipants(list, &listed).error_code(), Code::NOT_FOUND);
    EXPECT_EQ(listed.participants_size(), 0);
    v1::UpdateParticipantRequest kick;
    kick.set_room(room);
    kick.set_participant_sid(b_alive.sid());
    kick.set_status(v1::PARTICIPANT_STATUS_DISCONNECTED);
    EXPECT_EQ(a.UpdateParticipant(kick).error_code(), Code::NOT_FOUND);
    v1::AnonymizeParticipantRequest anonymize;
    anonymize.set_room(room);
    anonymize.set_participant_sid(b_gone.sid());
    EXPECT_EQ(a.AnonymizeParticipant(anonymize).error_code(), Code::NOT_FOUND);
    v1::GetRoomRequest get_room;
    get_room.set_room(room);
    v1::Room got;
    EXPECT_EQ(a.GetRoom(get_room, &got).error_code(), Code::NOT_FOUND);
    EXPECT_TRUE(got.sid().empty());
    v1::UpdateRoomRequest end;
    end.set_room(room);
    end.set_status(v1::ROOM_STATUS_COMPLETED);
    EXPECT_EQ(a.UpdateRoom(end).error_code(), Code::NOT_FOUND);
    v1::WatchRequest watch;
    watch.set_room(room);
    EXPECT_EQ(WatchInitial(a, watch).error_code(), Code::NOT_FOUND);
    // Events naming B's participant, in B's room by SID or name: NOT_FOUND.
    for (const v1::Event& event :
         {ReconnectingEvent(room, b_alive.sid()), DisconnectedEvent(room, b_alive.sid())}) {
      SCOPED_TRACE(v1::EventType_Name(event.type()));
      EXPECT_EQ(a.Record(event).error_code(), Code::NOT_FOUND);
      EXPECT_EQ(StreamOne(a, event).error_code(), Code::NOT_FOUND);
    }
  }
  // Participant SIDs of B without a room.
  for (const std::string& sid : {b_alive.sid(), b_gone.sid()}) {
    SCOPED_TRACE("participant " + sid);
    v1::GetParticipantRequest get;
    get.set_participant_sid(sid);
    v1::Participant got;
    EXPECT_EQ(a.GetParticipant(get, &got).error_code(), Code::NOT_FOUND);
    EXPECT_TRUE(got.sid().empty());
    v1::UpdateParticipantRequest kick;
    kick.set_participant_sid(sid);
    kick.set_status(v1::PARTICIPANT_STATUS_DISCONNECTED);
    EXPECT_EQ(a.UpdateParticipant(kick).error_code(), Code::NOT_FOUND);
    v1::AnonymizeParticipantRequest anonymize;
    anonymize.set_participant_sid(sid);
    EXPECT_EQ(a.AnonymizeParticipant(anonymize).error_code(), Code::NOT_FOUND);
    for (const v1::Event& event :
         {ReconnectingEvent("a-room", sid), DisconnectedEvent("a-room", sid)}) {
      EXPECT_EQ(a.Record(event).error_code(), Code::NOT_FOUND);
      EXPECT_EQ(StreamOne(a, event).error_code(), Code::NOT_FOUND);
    }
  }
  // CONNECTED naming B's room SID, or choosing B's participant SID: PERMISSION_DENIED.
  for (const v1::Event& event : {ConnectedEvent(b_room.sid(), "intruder"),
                                 ConnectedEvent("a-room", "intruder", Now(), b_alive.sid()),
                                 ConnectedEvent(b_room.sid(), "intruder", Now(), b_alive.sid())}) {
    SCOPED_TRACE(event.ShortDebugString());
    EXPECT_EQ(a.Record(event).error_code(), Code::PERMISSION_DENIED);
    EXPECT_EQ(StreamOne(a, event).error_code(), Code::PERMISSION_DENIED);
  }

  // A page token B was given is bound to B's query (its account): refused, with nothing listed.
  {
    v1::ListParticipantsRequest first_page;
    first_page.set_page_size(1);
    v1::ListParticipantsResponse b_page;
    ASSERT_TRUE(b.ListParticipants(first_page, &b_page).ok());
    ASSERT_FALSE(b_page.next_page_token().empty());
    v1::ListParticipantsRequest replay;
    replay.set_page_token(b_page.next_page_token());
    v1::ListParticipantsResponse replayed;
    EXPECT_EQ(a.ListParticipants(replay, &replayed).error_code(), Code::INVALID_ARGUMENT);
    EXPECT_EQ(replayed.participants_size(), 0);
  }

  // Names are per account: B's room name and identities filter A's own records, which hold
  // none of B's; creating or joining a room of that name makes A's own room.
  v1::ListParticipantsRequest by_identity;
  by_identity.set_identity("b-alice");
  EXPECT_THAT(a.AllParticipants(by_identity), ::testing::IsEmpty());
  v1::ListRoomsRequest by_name;
  by_name.set_unique_name("b-private-room");
  EXPECT_THAT(a.AllRooms(by_name), ::testing::IsEmpty());
  const v1::Room a_namesake = a.CreateRoom("b-private-room");
  EXPECT_EQ(a_namesake.account_sid(), a_.sid);
  EXPECT_NE(a_namesake.sid(), b_room.sid());
  const v1::Participant a_joined = a.Connect("b-private-room", "b-alice").participant();
  EXPECT_EQ(a_joined.account_sid(), a_.sid);
  EXPECT_EQ(a_joined.room_sid(), a_namesake.sid());

  // A's whole-account views hold nothing of B's.
  std::vector<v1::WatchResponse> initial;
  ASSERT_TRUE(WatchInitial(a, {}, &initial).ok());
  std::string everything_a_sees;
  for (const v1::WatchResponse& message : initial) everything_a_sees += message.DebugString();
  for (const v1::Participant& p : a.AllParticipants()) everything_a_sees += p.DebugString();
  for (const v1::Room& r : a.AllRooms()) everything_a_sees += r.DebugString();
  for (const std::string& b_string : {b_room.sid(), b_alive.sid(), b_gone.sid(), b_.sid}) {
    EXPECT_THAT(everything_a_sees, Not(HasSubstr(b_string)));
  }
  EXPECT_THAT(everything_a_sees, HasSubstr(a_joined.sid()));

  // And B's records are exactly as they were.
  EXPECT_EQ(b.Snapshot(), b_before);
}

// ---------------------------------------------------------------------------------------------
// 4. Audit lines, and no secret in the log.

TEST_F(AuthTest, AdminActionsAreAuditedWithoutSecrets) {
  const Key& admin_key = a_.keys[2];
  Client admin = As(admin_key.sid, admin_key.secret);
  const std::string name = "audited-" + NextEventId();
  const v1::Room room = admin.CreateRoom(name);
  const std::string sid = admin.Connect(name, "dave").participant().sid();
  admin.Kick(sid);
  admin.Anonymize(sid);
  admin.EndRoom(name);
  v1::UpdateRoomRequest again;  // a failing admin action is audited too
  again.set_room(room.sid());
  again.set_status(v1::ROOM_STATUS_COMPLETED);
  EXPECT_EQ(admin.UpdateRoom(again).error_code(), grpc::StatusCode::FAILED_PRECONDITION);

  // The audit lines of this test, as JSON objects, in order.
  auto audit_lines = [&] {
    std::vector<nlohmann::json> lines;
    std::istringstream log(server_->Log());
    std::string text;
    while (std::getline(log, text)) {
      const nlohmann::json line = nlohmann::json::parse(text, nullptr, false);
      if (line.is_discarded() || line.value("logger", "") != "audit") continue;
      const std::string dump = line.dump();
      if (dump.find(room.sid()) != std::string::npos || dump.find(name) != std::string::npos) {
        lines.push_back(line);
      }
    }
    return lines;
  };
  ASSERT_TRUE(WaitUntil([&] { return audit_lines().size() >= 5; }));
  const std::vector<nlohmann::json> lines = audit_lines();
  ASSERT_EQ(lines.size(), 5u) << server_->Log();
  const std::vector<std::string> actions = {"create_room", "kick_participant",
                                            "anonymize_participant", "end_room", "end_room"};
  for (size_t i = 0; i < lines.size(); ++i) {
    SCOPED_TRACE(lines[i].dump());
    EXPECT_EQ(lines[i]["action"], actions[i]);
    EXPECT_EQ(lines[i]["principal"], admin_key.sid);
    EXPECT_EQ(lines[i]["account"], a_.sid);
    EXPECT_EQ(lines[i]["level"], "info");
    EXPECT_EQ(lines[i]["outcome"], i < 4 ? "ok" : "failed_precondition");
    EXPECT_EQ(lines[i].contains("revision"), i < 4);
  }
  EXPECT_EQ(lines[0]["unique_name"], name);
  EXPECT_EQ(lines[0]["room_sid"], room.sid());
  EXPECT_EQ(lines[1]["participant_sid"], sid);
  EXPECT_EQ(lines[2]["participant_sid"], sid);
  EXPECT_EQ(lines[3]["room"], name);
  EXPECT_EQ(lines[4]["room"], room.sid());

  const std::string log = server_->Log();
  for (const Account& account : {a_, b_}) {
    EXPECT_THAT(log, Not(HasSubstr(account.token)));
    EXPECT_THAT(log, Not(HasSubstr(Base64(account.sid + ":" + account.token))));
    for (const Key& key : account.keys) {
      EXPECT_THAT(log, Not(HasSubstr(key.secret)));
      EXPECT_THAT(log, Not(HasSubstr(Base64(key.sid + ":" + key.secret))));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// 5. Reload without restart.

TEST(AuthReloadTest, RemovedKeysStopAndNewKeysWorkWithoutRestart) {
  TempDir dir;
  const std::string path = dir.path() + "/credentials.json";
  Account account{NewAccountSid(), "", {NewKey("read"), NewKey("ingest")}};
  WriteFile(path, CredentialsJson({account}));
  ServerProcess server({"--credentials_file=" + path, "--credentials_poll_interval=20ms"});
  ASSERT_TRUE(server.Start());
  const pid_t pid = server.pid();
  auto list_rooms = [&](const Key& key) {
    Client client(AuthorizedChannel(server.address(), BasicAuthorization(key.sid, key.secret)));
    v1::ListRoomsResponse response;
    return client.ListRooms({}, &response);
  };
  const Key old_read = account.keys[0];
  const Key old_ingest = account.keys[1];
  const Key new_read = NewKey("read");
  ASSERT_TRUE(list_rooms(old_read).ok());

  {
    // An ingest stream opened with the old key.
    Client ingest(
        AuthorizedChannel(server.address(), BasicAuthorization(old_ingest.sid, old_ingest.secret)));
    auto context = Deadline(std::chrono::seconds(60));
    auto stream = ingest.ingest().StreamEvents(context.get());
    v1::StreamEventsRequest request;
    *request.add_events() = ConnectedEvent("reload-room", "erin");
    ASSERT_TRUE(stream->Write(request));
    v1::StreamEventsResponse response;
    ASSERT_TRUE(stream->Read(&response));
    EXPECT_EQ(response.results(0).code(), 0) << response.results(0).message();

    // Rotate: both old keys go, a new read key comes.
    account.keys = {new_read};
    WriteFile(path, CredentialsJson({account}));
    ASSERT_TRUE(WaitUntil([&] { return list_rooms(new_read).ok(); })) << server.Log();
    EXPECT_EQ(list_rooms(old_read).error_code(), grpc::StatusCode::UNAUTHENTICATED);
    // The open stream's next message is refused and the stream ends.
    *request.mutable_events(0) = ConnectedEvent("reload-room", "frank");
    stream->Write(request);
    EXPECT_FALSE(stream->Read(&response));
    EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::UNAUTHENTICATED);
  }  // closed before the stop, which would otherwise wait for the idle connection

  // A broken file is logged and the set in force stays.
  WriteFile(path, R"({"accounts": [{"sid": "AC-broken"}]})");
  ASSERT_TRUE(WaitUntil(
      [&] { return server.Log().find("credentials reload failed") != std::string::npos; }));
  EXPECT_THAT(server.Log(), HasSubstr("accounts[0].sid: must be a SID"));
  EXPECT_TRUE(list_rooms(new_read).ok());
  EXPECT_EQ(list_rooms(old_read).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(server.pid(), pid);
  EXPECT_EQ(server.Stop(), 0);
}

// An open Watch is checked again at each reload: removed key → UNAUTHENTICATED, role lowered →
// PERMISSION_DENIED, both with the resume trailer; a watch whose key stays keeps streaming.
TEST(AuthReloadTest, OpenWatchesEndWhenTheirKeyIsRemovedOrLosesItsRole) {
  TempDir dir;
  const std::string path = dir.path() + "/credentials.json";
  const Key removed = NewKey("read");
  const Key demoted = NewKey("read");
  const Key kept = NewKey("read");
  const Key writer = NewKey("ingest");
  Account account{NewAccountSid(), "", {removed, demoted, kept, writer}};
  WriteFile(path, CredentialsJson({account}));
  ServerProcess server({"--credentials_file=" + path, "--credentials_poll_interval=20ms"});
  ASSERT_TRUE(server.Start());
  Client ingest(AuthorizedChannel(server.address(), BasicAuthorization(writer.sid, writer.secret)),
                account.sid);

  auto open = [&](const Key& key) {
    auto stream = std::make_unique<WatchStream>(
        AuthorizedChannel(server.address(), BasicAuthorization(key.sid, key.secret)),
        WatchFrom(account.sid, 0, "", /*initial_state=*/true));
    // Past its initial state: the server holds it as an open watcher.
    EXPECT_TRUE(
        stream->WaitFor([](const WatchStream& s) { return s.initial_state_end() || s.done(); }));
    EXPECT_FALSE(stream->done()) << Describe(stream->status());
    return stream;
  };
  std::unique_ptr<WatchStream> removed_watch = open(removed);
  std::unique_ptr<WatchStream> demoted_watch = open(demoted);
  std::unique_ptr<WatchStream> kept_watch = open(kept);
  const uint64_t first = ingest.Connect("rekey-room", "ann").revision();
  for (WatchStream* watch : {removed_watch.get(), demoted_watch.get(), kept_watch.get()}) {
    ASSERT_TRUE(watch->WaitForRevision(first)) << Describe(watch->status());
  }

  account.keys = {Key{demoted.sid, demoted.secret, "ingest"}, kept, writer};
  WriteFile(path, CredentialsJson({account}));

  ASSERT_TRUE(removed_watch->WaitDone()) << server.Log();
  EXPECT_EQ(removed_watch->status().error_code(), grpc::StatusCode::UNAUTHENTICATED);
  ASSERT_TRUE(demoted_watch->WaitDone()) << server.Log();
  EXPECT_EQ(demoted_watch->status().error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(demoted_watch->status().error_message(), HasSubstr("has role ingest"));
  for (WatchStream* ended : {removed_watch.get(), demoted_watch.get()}) {
    // Everything up to `first` was delivered: a resume starts after it.
    EXPECT_GT(ended->trailer_revision("rollcall-resume-revision").value_or(0), first);
    EXPECT_EQ(ended->last_revision(), first);
  }

  // The kept key's watch still streams.
  const uint64_t second = ingest.Connect("rekey-room", "bob").revision();
  EXPECT_TRUE(kept_watch->WaitForRevision(second)) << Describe(kept_watch->status());
  EXPECT_FALSE(kept_watch->done());
  kept_watch->Cancel();
  EXPECT_EQ(server.Stop(), 0);
}

// ---------------------------------------------------------------------------------------------
// 6. Secure by default.

TEST(SecureByDefaultTest, NonLoopbackWithoutCredentialsIsRefused) {
  for (const std::string address : {"0.0.0.0:0", "[::]:0"}) {
    SCOPED_TRACE(address);
    const auto [code, log] = RunToExit({"--listen=" + address});
    EXPECT_EQ(code, 1) << log;
    EXPECT_THAT(log, HasSubstr("no --credentials_file is set"));
    EXPECT_THAT(log, HasSubstr("--allow_insecure_no_auth"));
  }
}

TEST(SecureByDefaultTest, BrokenCredentialsFileIsRefusedNamingTheField) {
  TempDir dir;
  WriteFile(dir.path() + "/credentials.json",
            R"({"accounts": [{"sid": ")" + NewAccountSid() + R"(", "auth_token": "short"}]})");
  const auto [code, log] = RunToExit({"--credentials_file=" + dir.path() + "/credentials.json"});
  EXPECT_EQ(code, 1) << log;
  EXPECT_THAT(log, HasSubstr("accounts[0].auth_token: must be 32 hexadecimal digits"));
  EXPECT_THAT(log, Not(HasSubstr("short")));
}

TEST(SecureByDefaultTest, OverrideFlagServesWithAWarning) {
  ServerProcess server({"--listen=0.0.0.0:0", "--allow_insecure_no_auth"});
  ASSERT_TRUE(server.Start());
  EXPECT_THAT(server.Log(), HasSubstr("authentication is OFF"));
  {
    Client client(server.NewChannel());  // no credentials: the default account
    client.CreateRoom("open-to-all");
    EXPECT_EQ(client.Room("open-to-all").unique_name(), "open-to-all");
  }  // closed before the stop, which would otherwise wait for the idle connection
  EXPECT_EQ(server.Stop(), 0);
}

TEST(SecureByDefaultTest, CredentialsAllowAnyAddress) {
  TempDir dir;
  const Account account{NewAccountSid(), RandomHex(32), {}};
  WriteFile(dir.path() + "/credentials.json", CredentialsJson({account}));
  ServerProcess server(
      {"--listen=0.0.0.0:0", "--credentials_file=" + dir.path() + "/credentials.json"});
  ASSERT_TRUE(server.Start());
  EXPECT_THAT(server.Log(), Not(HasSubstr("authentication is OFF")));
  {
    Client client(
        AuthorizedChannel(server.address(), BasicAuthorization(account.sid, account.token)));
    EXPECT_EQ(client.CreateRoom("guarded").account_sid(), account.sid);
    Client anonymous(server.NewChannel());
    v1::ListRoomsResponse response;
    EXPECT_EQ(anonymous.ListRooms({}, &response).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  }  // closed before the stop, which would otherwise wait for the idle connections
  EXPECT_EQ(server.Stop(), 0);
}

}  // namespace
}  // namespace rollcall::testing
