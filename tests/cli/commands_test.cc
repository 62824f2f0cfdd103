// The `rollcall` commands against an in-process fake server (fake_server.h): the requests
// they build, what they print, how RPC errors map to stderr lines and exit codes, paging,
// and watch's resume behaviour across broken streams.
#include "cli/commands.h"

#include <signal.h>
#include <unistd.h>

#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "cli/dispatch.h"
#include "cli/exit_code.h"
#include "fake_server.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace rollcall::cli {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::testing::ElementsAre;
using testing::FakeServer;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;
using ::testing::SizeIs;
using ::testing::StartsWith;
using testing::WatchScript;

constexpr char kAccount[] = "AC0123456789abcdef0123456789abcdef";
constexpr char kRoomSid[] = "RM0123456789abcdef0123456789abcdef";
constexpr char kPa1[] = "PA00000000000000000000000000000001";
constexpr char kPa2[] = "PA00000000000000000000000000000002";
constexpr char kPa3[] = "PA00000000000000000000000000000003";

struct Result {
  int code;
  std::string out;
  std::string err;
};

v1::Participant Participant(const std::string& sid, const std::string& identity) {
  v1::Participant p;
  p.set_sid(sid);
  p.set_account_sid(kAccount);
  p.set_room_sid(kRoomSid);
  p.set_identity(identity);
  p.set_status(v1::PARTICIPANT_STATUS_CONNECTED);
  p.mutable_date_created()->set_seconds(1714564800);
  p.mutable_date_updated()->set_seconds(1714564800);
  p.mutable_start_time()->set_seconds(1714564800);
  p.set_revision(4);
  return p;
}

v1::Room Room(const std::string& name) {
  v1::Room r;
  r.set_sid(kRoomSid);
  r.set_account_sid(kAccount);
  r.set_unique_name(name);
  r.set_status(v1::ROOM_STATUS_IN_PROGRESS);
  r.mutable_date_created()->set_seconds(1714564800);
  r.set_revision(2);
  return r;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines = absl::StrSplit(text, '\n', absl::SkipEmpty());
  return lines;
}

template <typename Message>
Message ParseJson(const std::string& line) {
  Message m;
  auto status = google::protobuf::util::JsonStringToMessage(line, &m);
  EXPECT_TRUE(status.ok()) << status.ToString() << " in " << line;
  return m;
}

class CommandsTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.ok()); }

  // Runs rollcall against the fake server (global flags first, as a user might).
  Result Run(std::vector<std::string> args) {
    args.insert(args.begin(), {"--server", server_.address(), "--timeout", "30s"});
    std::ostringstream out;
    std::ostringstream err;
    int code = RunCli(args, "", out, err);
    return {code, out.str(), err.str()};
  }

  FakeServer server_;
};

// ---- event ----------------------------------------------------------------------------

TEST_F(CommandsTest, EventConnectBuildsTheEventAndPrintsOutcome) {
  server_.ingest.record = [](const v1::RecordEventRequest& req, v1::RecordEventResponse* resp) {
    resp->set_outcome(v1::EVENT_OUTCOME_APPLIED);
    resp->set_revision(7);
    *resp->mutable_participant() = Participant(kPa1, req.event().identity());
    return grpc::Status::OK;
  };
  const absl::Time before = absl::Now();
  Result r =
      Run({"event", "connect", "--room", "standup", "--identity=alice", "--account", kAccount});
  const absl::Time after = absl::Now();
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.err, "");
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_THAT(lines, SizeIs(3));
  EXPECT_EQ(lines[0], "APPLIED at revision 7");
  EXPECT_THAT(lines[2], StartsWith(kPa1));

  ASSERT_THAT(server_.ingest.record_requests, SizeIs(1));
  const v1::Event& e = server_.ingest.record_requests[0].event();
  EXPECT_EQ(e.type(), v1::EVENT_TYPE_PARTICIPANT_CONNECTED);
  EXPECT_EQ(e.room(), "standup");
  EXPECT_EQ(e.identity(), "alice");
  EXPECT_EQ(e.participant_sid(), "");
  EXPECT_EQ(e.account_sid(), kAccount);
  EXPECT_THAT(e.event_id(), MatchesRegex("cli-[0-9a-f]{32}"));
  const absl::Time at =
      absl::FromUnixSeconds(e.occurred_at().seconds()) + absl::Nanoseconds(e.occurred_at().nanos());
  EXPECT_GE(at, before - absl::Nanoseconds(1));
  EXPECT_LE(at, after);
}

TEST_F(CommandsTest, EventIdsAreFreshPerInvocation) {
  server_.ingest.record = [](const v1::RecordEventRequest&, v1::RecordEventResponse* resp) {
    resp->set_outcome(v1::EVENT_OUTCOME_APPLIED);
    resp->set_revision(1);
    return grpc::Status::OK;
  };
  ASSERT_EQ(Run({"event", "connect", "--room", "r", "--identity", "a"}).code, kExitOk);
  ASSERT_EQ(Run({"event", "connect", "--room", "r", "--identity", "a"}).code, kExitOk);
  ASSERT_THAT(server_.ingest.record_requests, SizeIs(2));
  EXPECT_NE(server_.ingest.record_requests[0].event().event_id(),
            server_.ingest.record_requests[1].event().event_id());
}

TEST_F(CommandsTest, EventDisconnectWithExplicitIdTimeAndReason) {
  server_.ingest.record = [](const v1::RecordEventRequest&, v1::RecordEventResponse* resp) {
    resp->set_outcome(v1::EVENT_OUTCOME_DUPLICATE);
    resp->set_revision(3);
    *resp->mutable_participant() = Participant(kPa1, "alice");
    return grpc::Status::OK;
  };
  Result r = Run({"event", "disconnect", "--room", kRoomSid, "--participant", kPa1, "--reason",
                  "reconnect-timeout", "--event-id", "ev-9", "--at", "2024-05-01T14:00:00.5+02:00",
                  "-o", "json"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  const v1::Event& e = server_.ingest.record_requests.at(0).event();
  EXPECT_EQ(e.type(), v1::EVENT_TYPE_PARTICIPANT_DISCONNECTED);
  EXPECT_EQ(e.participant_sid(), kPa1);
  EXPECT_EQ(e.reason(), v1::DISCONNECT_REASON_RECONNECT_TIMEOUT);
  EXPECT_EQ(e.event_id(), "ev-9");
  EXPECT_EQ(e.occurred_at().seconds(), 1714564800);
  EXPECT_EQ(e.occurred_at().nanos(), 500000000);
  EXPECT_EQ(e.account_sid(), "");
  // JSON: the whole response, one line.
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_THAT(lines, SizeIs(1));
  v1::RecordEventResponse back = ParseJson<v1::RecordEventResponse>(lines[0]);
  EXPECT_EQ(back.outcome(), v1::EVENT_OUTCOME_DUPLICATE);
  EXPECT_EQ(back.revision(), 3u);
  EXPECT_EQ(back.participant().sid(), kPa1);
}

TEST_F(CommandsTest, EventReconnectingAndReconnectedTypes) {
  server_.ingest.record = [](const v1::RecordEventRequest&, v1::RecordEventResponse* resp) {
    resp->set_outcome(v1::EVENT_OUTCOME_IGNORED);
    resp->set_revision(1);
    return grpc::Status::OK;
  };
  ASSERT_EQ(Run({"event", "reconnecting", "--room", "r", "--participant", kPa1}).code, kExitOk);
  ASSERT_EQ(Run({"event", "reconnected", "--room", "r", "--participant", kPa1}).code, kExitOk);
  ASSERT_THAT(server_.ingest.record_requests, SizeIs(2));
  EXPECT_EQ(server_.ingest.record_requests[0].event().type(),
            v1::EVENT_TYPE_PARTICIPANT_RECONNECTING);
  EXPECT_EQ(server_.ingest.record_requests[1].event().type(),
            v1::EVENT_TYPE_PARTICIPANT_RECONNECTED);
  EXPECT_EQ(server_.ingest.record_requests[1].event().reason(), v1::DISCONNECT_REASON_UNSPECIFIED);
}

// ---- errors -----------------------------------------------------------------------------

struct ErrorRow {
  grpc::StatusCode code;
  const char* name;
  int exit_code;
};

TEST_F(CommandsTest, RpcErrorsAreOneLineAndMapToExitCodes) {
  const ErrorRow rows[] = {
      {grpc::StatusCode::NOT_FOUND, "NOT_FOUND", 3},
      {grpc::StatusCode::INVALID_ARGUMENT, "INVALID_ARGUMENT", 4},
      {grpc::StatusCode::FAILED_PRECONDITION, "FAILED_PRECONDITION", 5},
      {grpc::StatusCode::ALREADY_EXISTS, "ALREADY_EXISTS", 5},
      {grpc::StatusCode::RESOURCE_EXHAUSTED, "RESOURCE_EXHAUSTED", 5},
      {grpc::StatusCode::UNAVAILABLE, "UNAVAILABLE", 6},
      {grpc::StatusCode::PERMISSION_DENIED, "PERMISSION_DENIED", 1},
  };
  for (const ErrorRow& row : rows) {
    server_.rooms.get = [&row](const v1::GetRoomRequest&, v1::GetRoomResponse*) {
      return grpc::Status(row.code, "room \"x\" says no\nsecond line");
    };
    Result r = Run({"rooms", "get", "x"});
    EXPECT_EQ(r.code, row.exit_code) << row.name;
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, absl::StrCat("rollcall: ", row.name, ": room \"x\" says no second line\n"));
  }
}

TEST_F(CommandsTest, EmptyServerMessageOmitsTheSeparator) {
  server_.rooms.get = [](const v1::GetRoomRequest&, v1::GetRoomResponse*) {
    return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "");
  };
  Result r = Run({"rooms", "get", "x"});
  EXPECT_EQ(r.code, kExitError);
  EXPECT_EQ(r.err, "rollcall: UNIMPLEMENTED\n");
}

TEST_F(CommandsTest, UnreachableServerIsUnavailable) {
  const std::string address = server_.address();
  server_.Shutdown();
  std::ostringstream out;
  std::ostringstream err;
  std::vector<std::string> args = {"rooms", "get", "x", "--server", address};
  EXPECT_EQ(RunCli(args, "", out, err), kExitUnavailable);
  EXPECT_THAT(err.str(), StartsWith("rollcall: UNAVAILABLE: "));
}

TEST_F(CommandsTest, ServerFromEnvironmentWhenNoFlag) {
  server_.rooms.get = [](const v1::GetRoomRequest&, v1::GetRoomResponse* resp) {
    *resp->mutable_room() = Room("env");
    return grpc::Status::OK;
  };
  std::ostringstream out;
  std::ostringstream err;
  std::vector<std::string> args = {"rooms", "get", "env"};
  EXPECT_EQ(RunCli(args, server_.address(), out, err), kExitOk) << err.str();
  EXPECT_THAT(out.str(), HasSubstr("env"));
}

TEST_F(CommandsTest, SlowServerHitsTheDeadline) {
  server_.rooms.get = [](const v1::GetRoomRequest&, v1::GetRoomResponse*) {
    absl::SleepFor(absl::Milliseconds(500));  // the fake being slow, not test synchronization
    return grpc::Status::OK;
  };
  std::ostringstream out;
  std::ostringstream err;
  std::vector<std::string> args = {"rooms",           "get",       "x",   "--server",
                                   server_.address(), "--timeout", "50ms"};
  EXPECT_EQ(RunCli(args, "", out, err), kExitUnavailable);
  EXPECT_THAT(err.str(), StartsWith("rollcall: DEADLINE_EXCEEDED: "));
}

// ---- participants ------------------------------------------------------------------------

// Three participants over two pages: "" → [1, 2] + "t1", "t1" → [3].
void ScriptTwoPages(FakeServer& server) {
  server.participants.list = [](const v1::ListParticipantsRequest& req,
                                v1::ListParticipantsResponse* resp) {
    if (req.page_token().empty()) {
      *resp->add_participants() = Participant(kPa1, "alice");
      *resp->add_participants() = Participant(kPa2, "bob");
      resp->set_next_page_token("t1");
    } else if (req.page_token() == "t1") {
      *resp->add_participants() = Participant(kPa3, "carol-with-a-long-name");
    } else {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "bad page_token");
    }
    return grpc::Status::OK;
  };
}

TEST_F(CommandsTest, ParticipantsListBuildsFilters) {
  ScriptTwoPages(server_);
  Result r = Run({"participants", "list", "--room", "standup", "--status", "connected,reconnecting",
                  "--identity", "alice", "--created-after", "2024-05-01T00:00:00Z",
                  "--created-before=2024-05-02T00:00:00Z", "--page-size", "2", "-o", "json"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  ASSERT_THAT(server_.participants.list_requests, SizeIs(1));
  const v1::ListParticipantsRequest& req = server_.participants.list_requests[0];
  EXPECT_EQ(req.room(), "standup");
  EXPECT_THAT(req.statuses(),
              ElementsAre(v1::PARTICIPANT_STATUS_CONNECTED, v1::PARTICIPANT_STATUS_RECONNECTING));
  EXPECT_EQ(req.identity(), "alice");
  EXPECT_EQ(req.date_created_after().seconds(), 1714521600);
  EXPECT_EQ(req.date_created_before().seconds(), 1714608000);
  EXPECT_EQ(req.page_size(), 2);
  EXPECT_EQ(req.page_token(), "");
  // JSON mode: one page, no token hint anywhere.
  EXPECT_THAT(Lines(r.out), SizeIs(2));
  EXPECT_EQ(r.err, "");
}

TEST_F(CommandsTest, ParticipantsListOnePagePrintsNextTokenOnStderr) {
  ScriptTwoPages(server_);
  Result r = Run({"participants", "list"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_THAT(lines, SizeIs(3));
  EXPECT_THAT(lines[0], StartsWith("SID "));
  EXPECT_EQ(r.err, "next page: --page-token t1\n");
  EXPECT_THAT(server_.participants.list_requests, SizeIs(1));
}

TEST_F(CommandsTest, ParticipantsListAllFollowsTokensIntoOneAlignedTable) {
  ScriptTwoPages(server_);
  Result r = Run({"participants", "list", "--all", "--status", "connected"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.err, "");
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_THAT(lines, SizeIs(4));
  // The identity column is as wide as the longest identity on either page.
  const size_t status_col = lines[0].find("STATUS");
  EXPECT_EQ(lines[3].find("CONNECTED"), status_col);
  EXPECT_EQ(lines[1].find("CONNECTED"), status_col);
  ASSERT_THAT(server_.participants.list_requests, SizeIs(2));
  EXPECT_EQ(server_.participants.list_requests[1].page_token(), "t1");
  EXPECT_THAT(server_.participants.list_requests[1].statuses(),
              ElementsAre(v1::PARTICIPANT_STATUS_CONNECTED));
}

TEST_F(CommandsTest, ParticipantsListAllJsonIsOneObjectPerLine) {
  ScriptTwoPages(server_);
  Result r = Run({"participants", "list", "--all", "-o", "json"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_THAT(lines, SizeIs(3));
  EXPECT_EQ(ParseJson<v1::Participant>(lines[0]).sid(), kPa1);
  EXPECT_EQ(ParseJson<v1::Participant>(lines[2]).identity(), "carol-with-a-long-name");
}

TEST_F(CommandsTest, ParticipantsListErrorMidwayStops) {
  ScriptTwoPages(server_);
  Result r = Run({"participants", "list", "--all", "--page-token", "bogus"});
  EXPECT_EQ(r.code, kExitInvalid);
  EXPECT_EQ(r.err, "rollcall: INVALID_ARGUMENT: bad page_token\n");
  EXPECT_EQ(r.out, "");
}

TEST_F(CommandsTest, ParticipantsGetBySidOrIdentity) {
  server_.participants.get = [](const v1::GetParticipantRequest& req,
                                v1::GetParticipantResponse* resp) {
    *resp->mutable_participant() =
        Participant(req.participant_sid().empty() ? kPa2 : req.participant_sid(), "bob");
    return grpc::Status::OK;
  };
  Result by_sid = Run({"participants", "get", kPa1, "-o", "json"});
  ASSERT_EQ(by_sid.code, kExitOk) << by_sid.err;
  EXPECT_EQ(ParseJson<v1::Participant>(Lines(by_sid.out).at(0)).sid(), kPa1);
  Result by_identity = Run({"participants", "get", "--room", "standup", "--identity", "bob"});
  ASSERT_EQ(by_identity.code, kExitOk) << by_identity.err;
  EXPECT_THAT(Lines(by_identity.out).at(1), StartsWith(kPa2));

  ASSERT_THAT(server_.participants.get_requests, SizeIs(2));
  EXPECT_EQ(server_.participants.get_requests[0].participant_sid(), kPa1);
  EXPECT_EQ(server_.participants.get_requests[0].room(), "");
  EXPECT_EQ(server_.participants.get_requests[1].participant_sid(), "");
  EXPECT_EQ(server_.participants.get_requests[1].room(), "standup");
  EXPECT_EQ(server_.participants.get_requests[1].identity(), "bob");
}

TEST_F(CommandsTest, ParticipantsKickAndAnonymize) {
  server_.participants.update = [](const v1::UpdateParticipantRequest& req,
                                   v1::UpdateParticipantResponse* resp) {
    v1::Participant p = Participant(req.participant_sid(), "alice");
    p.set_status(v1::PARTICIPANT_STATUS_DISCONNECTED);
    p.set_disconnect_reason(v1::DISCONNECT_REASON_REMOVED);
    *resp->mutable_participant() = p;
    resp->set_revision(9);
    return grpc::Status::OK;
  };
  server_.participants.anonymize = [](const v1::AnonymizeParticipantRequest& req,
                                      v1::AnonymizeParticipantResponse*) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        absl::StrCat(req.participant_sid(), " is still active"));
  };
  Result kick = Run({"participants", "kick", kPa1, "--room", "standup"});
  ASSERT_EQ(kick.code, kExitOk) << kick.err;
  EXPECT_THAT(kick.out, HasSubstr("REMOVED"));
  ASSERT_THAT(server_.participants.update_requests, SizeIs(1));
  EXPECT_EQ(server_.participants.update_requests[0].participant_sid(), kPa1);
  EXPECT_EQ(server_.participants.update_requests[0].room(), "standup");
  EXPECT_EQ(server_.participants.update_requests[0].status(), v1::PARTICIPANT_STATUS_DISCONNECTED);

  Result anon = Run({"participants", "anonymize", kPa1});
  EXPECT_EQ(anon.code, kExitConflict);
  EXPECT_EQ(anon.err, absl::StrCat("rollcall: FAILED_PRECONDITION: ", kPa1, " is still active\n"));
  ASSERT_THAT(server_.participants.anonymize_requests, SizeIs(1));
  EXPECT_EQ(server_.participants.anonymize_requests[0].room(), "");
}

// ---- rooms -------------------------------------------------------------------------------

TEST_F(CommandsTest, RoomsCreateSetsOnlyGivenOptionals) {
  server_.rooms.create = [](const v1::CreateRoomRequest& req, v1::CreateRoomResponse* resp) {
    *resp->mutable_room() = Room(req.unique_name());
    resp->set_revision(2);
    return grpc::Status::OK;
  };
  Result r =
      Run({"rooms", "create", "standup", "--max-participants", "10", "--empty-room-timeout=7",
           "--status-callback", "https://cb.test/x", "--status-callback-method", "get"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(Lines(r.out).at(1), HasSubstr("standup"));
  Result bare = Run({"rooms", "create"});
  ASSERT_EQ(bare.code, kExitOk) << bare.err;

  ASSERT_THAT(server_.rooms.create_requests, SizeIs(2));
  const v1::CreateRoomRequest& full = server_.rooms.create_requests[0];
  EXPECT_EQ(full.unique_name(), "standup");
  ASSERT_TRUE(full.has_max_participants());
  EXPECT_EQ(full.max_participants(), 10);
  ASSERT_TRUE(full.has_empty_room_timeout());
  EXPECT_EQ(full.empty_room_timeout(), 7);
  EXPECT_FALSE(full.has_unused_room_timeout());
  EXPECT_FALSE(full.has_max_participant_duration());
  EXPECT_EQ(full.status_callback(), "https://cb.test/x");
  EXPECT_EQ(full.status_callback_method(), "GET");
  const v1::CreateRoomRequest& empty = server_.rooms.create_requests[1];
  EXPECT_EQ(empty.unique_name(), "");
  EXPECT_FALSE(empty.has_max_participants());
  EXPECT_EQ(empty.status_callback_method(), "");
}

TEST_F(CommandsTest, RoomsCreateConflict) {
  server_.rooms.create = [](const v1::CreateRoomRequest&, v1::CreateRoomResponse*) {
    return grpc::Status(grpc::StatusCode::ALREADY_EXISTS, "unique_name \"standup\" is in use");
  };
  Result r = Run({"rooms", "create", "standup"});
  EXPECT_EQ(r.code, kExitConflict);
  EXPECT_EQ(r.err, "rollcall: ALREADY_EXISTS: unique_name \"standup\" is in use\n");
}

TEST_F(CommandsTest, RoomsListAllAndFilters) {
  server_.rooms.list = [](const v1::ListRoomsRequest& req, v1::ListRoomsResponse* resp) {
    *resp->add_rooms() = Room(req.page_token().empty() ? "a" : "b");
    if (req.page_token().empty()) resp->set_next_page_token("next");
    return grpc::Status::OK;
  };
  Result r = Run(
      {"rooms", "list", "--status", "in-progress,completed", "--name", "a", "--all", "-o", "json"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_THAT(lines, SizeIs(2));
  EXPECT_EQ(ParseJson<v1::Room>(lines[1]).unique_name(), "b");
  ASSERT_THAT(server_.rooms.list_requests, SizeIs(2));
  EXPECT_THAT(server_.rooms.list_requests[0].statuses(),
              ElementsAre(v1::ROOM_STATUS_IN_PROGRESS, v1::ROOM_STATUS_COMPLETED));
  EXPECT_EQ(server_.rooms.list_requests[1].unique_name(), "a");
  EXPECT_EQ(server_.rooms.list_requests[1].page_token(), "next");
}

TEST_F(CommandsTest, RoomsGetAndEnd) {
  server_.rooms.get = [](const v1::GetRoomRequest&, v1::GetRoomResponse*) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "no room \"gone\"");
  };
  server_.rooms.update = [](const v1::UpdateRoomRequest& req, v1::UpdateRoomResponse* resp) {
    v1::Room room = Room(req.room());
    room.set_status(v1::ROOM_STATUS_COMPLETED);
    *resp->mutable_room() = room;
    return grpc::Status::OK;
  };
  Result get = Run({"rooms", "get", "gone", "--account", kAccount});
  EXPECT_EQ(get.code, kExitNotFound);
  EXPECT_EQ(get.err, "rollcall: NOT_FOUND: no room \"gone\"\n");
  EXPECT_EQ(server_.rooms.get_requests.at(0).account_sid(), kAccount);

  Result end = Run({"rooms", "end", "standup"});
  ASSERT_EQ(end.code, kExitOk) << end.err;
  EXPECT_THAT(end.out, HasSubstr("COMPLETED"));
  ASSERT_THAT(server_.rooms.update_requests, SizeIs(1));
  EXPECT_EQ(server_.rooms.update_requests[0].room(), "standup");
  EXPECT_EQ(server_.rooms.update_requests[0].status(), v1::ROOM_STATUS_COMPLETED);
}

// ---- watch -------------------------------------------------------------------------------

v1::WatchResponse ChangeSet(uint64_t revision, const std::string& sid) {
  v1::WatchResponse r;
  r.mutable_changes()->set_revision(revision);
  v1::Change* c = r.mutable_changes()->add_changes();
  c->set_revision(revision);
  c->set_type(v1::CHANGE_TYPE_PARTICIPANT_CONNECTED);
  c->mutable_time()->set_seconds(1714564800 + static_cast<int64_t>(revision));
  *c->mutable_participant() = Participant(sid, absl::StrCat("user-", revision));
  return r;
}

WatchScript Stream(std::vector<v1::WatchResponse> messages, grpc::StatusCode code,
                   const std::string& message = "") {
  WatchScript s;
  s.messages = std::move(messages);
  s.status = grpc::Status(code, message);
  return s;
}

TEST_F(CommandsTest, WatchResumesAfterUnavailableFromLastRevision) {
  server_.watch.scripts = {
      Stream({ChangeSet(5, kPa1)}, grpc::StatusCode::UNAVAILABLE, "server shutting down"),
      Stream({ChangeSet(6, kPa2), ChangeSet(7, kPa3)}, grpc::StatusCode::NOT_FOUND, "unused"),
  };
  Result r = Run({"watch", "--room", "standup", "--max-changes", "3"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_THAT(lines, SizeIs(4));
  EXPECT_THAT(lines[0], StartsWith("REVISION"));
  EXPECT_THAT(lines[1], StartsWith("5 "));
  EXPECT_THAT(lines[2], StartsWith("6 "));
  EXPECT_THAT(lines[3], StartsWith("7 "));
  EXPECT_THAT(r.err, HasSubstr("UNAVAILABLE: server shutting down; resuming from revision 6"));

  ASSERT_THAT(server_.watch.requests, SizeIs(2));
  EXPECT_EQ(server_.watch.requests[0].start_revision(), 0u);
  EXPECT_EQ(server_.watch.requests[0].room(), "standup");
  EXPECT_EQ(server_.watch.requests[1].start_revision(), 6u);
  EXPECT_EQ(server_.watch.requests[1].room(), kRoomSid) << "resumes the same room by SID";
}

TEST_F(CommandsTest, WatchInitialStateOnceThenResumesAfterSnapshotRevision) {
  v1::WatchResponse snapshot;
  *snapshot.mutable_initial_state()->add_rooms() = Room("standup");
  *snapshot.mutable_initial_state()->add_participants() = Participant(kPa1, "alice");
  v1::WatchResponse end;
  end.mutable_initial_state_end()->set_revision(20);
  server_.watch.scripts = {
      Stream({snapshot, end}, grpc::StatusCode::RESOURCE_EXHAUSTED, "too slow, last 20"),
      Stream({ChangeSet(21, kPa2)}, grpc::StatusCode::UNAVAILABLE, "unused"),
  };
  Result r = Run({"watch", "--initial", "--max-changes", "1", "-o", "json"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_THAT(lines, SizeIs(4));
  EXPECT_EQ(ParseJson<v1::WatchResponse>(lines[0]).initial_state().rooms(0).unique_name(),
            "standup");
  EXPECT_EQ(ParseJson<v1::WatchResponse>(lines[1]).initial_state().participants(0).sid(), kPa1);
  EXPECT_EQ(ParseJson<v1::WatchResponse>(lines[2]).initial_state_end().revision(), 20u);
  v1::Change change = ParseJson<v1::Change>(lines[3]);
  EXPECT_EQ(change.revision(), 21u);
  EXPECT_TRUE(MessageDifferencer::Equals(change, ChangeSet(21, kPa2).changes().changes(0)));

  ASSERT_THAT(server_.watch.requests, SizeIs(2));
  EXPECT_TRUE(server_.watch.requests[0].send_initial_state());
  EXPECT_FALSE(server_.watch.requests[1].send_initial_state());
  EXPECT_EQ(server_.watch.requests[1].start_revision(), 21u);
  EXPECT_EQ(server_.watch.requests[1].room(), "") << "an account-wide watch stays account-wide";
}

TEST_F(CommandsTest, WatchProgressIsHiddenButMovesTheResumePoint) {
  v1::WatchResponse progress;
  progress.mutable_progress()->set_revision(40);
  server_.watch.scripts = {
      Stream({ChangeSet(12, kPa1), progress}, grpc::StatusCode::UNAVAILABLE, "gone"),
      Stream({ChangeSet(41, kPa2)}, grpc::StatusCode::UNAVAILABLE, "unused"),
  };
  Result r = Run({"watch", "--from", "12", "--max-changes", "2"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_THAT(lines, SizeIs(3));
  EXPECT_THAT(r.out, Not(HasSubstr("PROGRESS")));
  EXPECT_EQ(server_.watch.requests.at(0).start_revision(), 12u);
  EXPECT_EQ(server_.watch.requests.at(1).start_revision(), 41u);
}

TEST_F(CommandsTest, WatchShowsProgressWhenAsked) {
  v1::WatchResponse progress;
  progress.mutable_progress()->set_revision(40);
  server_.watch.scripts = {Stream({progress, ChangeSet(41, kPa1)}, grpc::StatusCode::OK)};
  Result r = Run({"watch", "--progress", "--max-changes", "1"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_THAT(lines, SizeIs(3));
  EXPECT_THAT(lines[1], HasSubstr("PROGRESS"));
}

TEST_F(CommandsTest, WatchNoResumeExitsWithTheStreamError) {
  server_.watch.scripts = {
      Stream({ChangeSet(5, kPa1)}, grpc::StatusCode::UNAVAILABLE, "server shutting down"),
  };
  Result r = Run({"watch", "--no-resume"});
  EXPECT_EQ(r.code, kExitUnavailable);
  EXPECT_THAT(Lines(r.out), SizeIs(2));
  EXPECT_EQ(r.err, "rollcall: UNAVAILABLE: server shutting down\n");
  EXPECT_THAT(server_.watch.requests, SizeIs(1));
}

TEST_F(CommandsTest, WatchOutOfRangeIsFatalAndNamesCompactRevision) {
  WatchScript compacted =
      Stream({}, grpc::StatusCode::OUT_OF_RANGE, "start_revision 3 is older than revision 100");
  compacted.trailers = {{"rollcall-compact-revision", "100"}};
  server_.watch.scripts = {compacted};
  Result r = Run({"watch", "--from", "3"});
  EXPECT_EQ(r.code, kExitInvalid);
  EXPECT_EQ(r.err,
            "rollcall: OUT_OF_RANGE: start_revision 3 is older than revision 100 (oldest retained "
            "revision: 100)\n");
  EXPECT_THAT(server_.watch.requests, SizeIs(1)) << "never retried";
}

TEST_F(CommandsTest, WatchNotFoundIsFinal) {
  server_.watch.scripts = {Stream({}, grpc::StatusCode::NOT_FOUND, "no room \"x\"")};
  Result r = Run({"watch", "--room", "x"});
  EXPECT_EQ(r.code, kExitNotFound);
  EXPECT_EQ(r.err, "rollcall: NOT_FOUND: no room \"x\"\n");
}

TEST_F(CommandsTest, WatchUnreachableServerFailsFast) {
  const std::string address = server_.address();
  server_.Shutdown();
  std::ostringstream out;
  std::ostringstream err;
  std::vector<std::string> args = {"watch", "--server", address};
  const absl::Time start = absl::Now();
  EXPECT_EQ(RunCli(args, "", out, err), kExitUnavailable);
  EXPECT_LT(absl::Now() - start, absl::Seconds(9)) << "does not wait out the 10 s timeout";
  EXPECT_THAT(err.str(), StartsWith("rollcall: UNAVAILABLE: cannot connect to "));
}

TEST_F(CommandsTest, WatchStopsWhenOutputFails) {
  WatchScript open = Stream({ChangeSet(5, kPa1)}, grpc::StatusCode::OK);
  open.hold_until_cancelled = true;
  server_.watch.scripts = {open};
  std::ostream broken(nullptr);  // every write fails
  std::ostringstream err;
  std::vector<std::string> args = {"watch", "--server", server_.address()};
  EXPECT_EQ(RunCli(args, "", broken, err), kExitError);
  EXPECT_EQ(err.str(), "rollcall: cannot write output\n");
}

TEST_F(CommandsTest, WatchStopsCleanlyOnSigint) {
  WatchScript open = Stream({ChangeSet(5, kPa1)}, grpc::StatusCode::OK);
  open.hold_until_cancelled = true;
  server_.watch.scripts = {open};
  Result r;
  std::thread client([this, &r] { r = Run({"watch"}); });
  ASSERT_TRUE(server_.watch.AwaitStreams(1, absl::Seconds(10)));
  // The stream is open, so the client's handler is installed: this cannot kill the test.
  ASSERT_EQ(kill(getpid(), SIGINT), 0);
  client.join();
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_THAT(server_.watch.requests, SizeIs(1));
}

}  // namespace
}  // namespace rollcall::cli
