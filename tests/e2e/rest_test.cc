// The REST port end to end (docs/rest.md), with a raw HTTP client:
// 1. One state: a gRPC write is visible over REST at once; a REST write over gRPC and Watch.
// 2. Wire shapes: Twilio's dates, enums, nulls, url/links, page meta and error bodies.
// 3. Credentials: none or wrong is 401/20003, a read key cannot write (403), nothing changes.
// 4. Limits: body (413), header (431), and idle or stalled connections never starve a request.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <regex>

#include "gmock/gmock.h"
#include "tests/e2e/raw_connection.h"
#include "tests/e2e/rest_fixture.h"
#include "tests/e2e/watch_client.h"

namespace rollcall::testing {
namespace {

using ::testing::HasSubstr;

constexpr char kForm[] = "application/x-www-form-urlencoded";

bool IsIsoSecond(const nlohmann::json& value) {
  static const std::regex kIso(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)");
  return value.is_string() && std::regex_match(value.get<std::string>(), kIso);
}

class RestTest : public RestFixture {};

// --- 1. One state ----------------------------------------------------------------------------

TEST_F(RestTest, GrpcWritesAreVisibleOverRestAtOnce) {
  const v1::Participant alice = grpc_->Connect("standup", "alice").participant();
  auto http = Admin();
  auto fetched = http->Get("/v1/Rooms/standup/Participants/" + alice.sid());
  ASSERT_TRUE(fetched);
  ASSERT_EQ(fetched->status, 200) << fetched->body;
  nlohmann::json body = Json(fetched);
  EXPECT_EQ(body["sid"], alice.sid());
  EXPECT_EQ(body["room_sid"], alice.room_sid());
  EXPECT_EQ(body["account_sid"], account_);
  EXPECT_EQ(body["identity"], "alice");
  EXPECT_EQ(body["status"], "connected");

  grpc_->Kick(alice.sid());
  body = Json(http->Get("/v1/Rooms/" + alice.room_sid() + "/Participants/" + alice.sid()));
  EXPECT_EQ(body["status"], "disconnected");
  EXPECT_TRUE(IsIsoSecond(body["end_time"])) << body.dump();
  EXPECT_TRUE(body["duration"].is_number_integer()) << body.dump();
}

TEST_F(RestTest, RestWritesAreVisibleOverGrpcAndWatchAtOnce) {
  const v1::RecordEventResponse connected = grpc_->Connect("standup", "bob");
  const v1::Participant& bob = connected.participant();
  // From the revision after bob's connection: it sees every later change, whenever it is set up.
  WatchStream watch(AuthorizedChannel(server_.address(), BasicAuthorization(account_, token_)),
                    WatchFrom(account_, connected.revision() + 1));

  auto http = Admin();
  auto created = http->Post("/v1/Rooms", "UniqueName=weekly&MaxParticipants=7", kForm);
  ASSERT_TRUE(created);
  ASSERT_EQ(created->status, 201) << created->body;
  const std::string room_sid = Json(created)["sid"];
  v1::GetRoomRequest get;
  get.set_room("weekly");
  v1::GetRoomResponse room;
  grpc::ClientContext context;
  ASSERT_TRUE(grpc_->rooms().GetRoom(&context, get, &room).ok());
  EXPECT_EQ(room.room().sid(), room_sid);
  EXPECT_EQ(room.room().max_participants(), 7);

  auto kicked = http->Post("/v1/Rooms/standup/Participants/bob", "Status=disconnected", kForm);
  ASSERT_TRUE(kicked);
  ASSERT_EQ(kicked->status, 202) << kicked->body;
  const v1::Participant after = grpc_->Participant(bob.sid());
  EXPECT_EQ(after.status(), v1::PARTICIPANT_STATUS_DISCONNECTED);
  EXPECT_EQ(after.disconnect_reason(), v1::DISCONNECT_REASON_REMOVED);

  auto seen = [&](wv1::ChangeType type, const std::string& sid) {
    return watch.WaitFor([&](const WatchStream& stream) {
      for (const SeenSet& set : stream.sets()) {
        for (const SeenChange& change : set.changes) {
          if (change.type == type && change.sid == sid) return true;
        }
      }
      return false;
    });
  };
  EXPECT_TRUE(seen(wv1::CHANGE_TYPE_ROOM_CREATED, room_sid));
  EXPECT_TRUE(seen(wv1::CHANGE_TYPE_PARTICIPANT_DISCONNECTED, bob.sid()));
}

TEST_F(RestTest, AnsweredRestWritesSurviveARestart) {
  auto http = Admin();
  std::vector<std::string> sids;
  for (int i = 0; i < 3; ++i) {
    auto created = http->Post("/v1/Rooms", "UniqueName=kept-" + std::to_string(i), kForm);
    ASSERT_TRUE(created);
    ASSERT_EQ(created->status, 201);
    sids.push_back(Json(created)["sid"]);
  }
  ASSERT_EQ(server_.Stop(), 0);
  StartServer();
  for (const std::string& sid : sids) {
    auto fetched = Admin()->Get("/v1/Rooms/" + sid);
    ASSERT_TRUE(fetched);
    EXPECT_EQ(fetched->status, 200) << sid;
  }
}

// --- 2. Wire shapes --------------------------------------------------------------------------

TEST_F(RestTest, ResourcesAndPagesHaveTwiliosShape) {
  auto http = Admin();
  for (const char* name : {"a", "b", "c"}) {
    ASSERT_EQ(http->Post("/v1/Rooms", std::string("UniqueName=") + name, kForm)->status, 201);
  }
  auto page = http->Get("/v1/Rooms?Status=in-progress&PageSize=2");
  ASSERT_TRUE(page);
  ASSERT_EQ(page->status, 200);
  const nlohmann::json body = Json(page);
  ASSERT_EQ(body["rooms"].size(), 2u) << body.dump();
  const nlohmann::json& room = body["rooms"][0];
  EXPECT_TRUE(IsIsoSecond(room["date_created"])) << room.dump();
  EXPECT_TRUE(room["end_time"].is_null());
  EXPECT_TRUE(room["duration"].is_null());
  EXPECT_TRUE(room["status_callback"].is_null());
  EXPECT_EQ(room["status"], "in-progress");
  EXPECT_EQ(room["url"], std::string(kBaseUrl) + "/v1/Rooms/" + room["sid"].get<std::string>());
  EXPECT_EQ(room["links"]["participants"], room["url"].get<std::string>() + "/Participants");

  const nlohmann::json& meta = body["meta"];
  EXPECT_EQ(meta["key"], "rooms");
  EXPECT_EQ(meta["page"], 0);
  EXPECT_EQ(meta["page_size"], 2);
  EXPECT_TRUE(meta["previous_page_url"].is_null());
  EXPECT_EQ(meta["first_page_url"], rest_url() + "/v1/Rooms?Status=in-progress&PageSize=2&Page=0");
  ASSERT_TRUE(meta["next_page_url"].is_string()) << meta.dump();
  const std::string next = meta["next_page_url"];
  EXPECT_THAT(next, HasSubstr("Status=in-progress&PageSize=2&Page=1&PageToken="));
  const nlohmann::json second = Json(http->Get(next.substr(rest_url().size())));
  ASSERT_EQ(second["rooms"].size(), 1u) << second.dump();
  EXPECT_EQ(second["meta"]["page"], 1);
  EXPECT_TRUE(second["meta"]["next_page_url"].is_null());
}

TEST_F(RestTest, CreateTakesEveryRoomSettingAndListsFilter) {
  auto http = Admin();
  auto created = http->Post("/v1/Rooms",
                            "UniqueName=all&MaxParticipants=9&EmptyRoomTimeout=3&"
                            "UnusedRoomTimeout=4&MaxParticipantDuration=700&"
                            "StatusCallback=https%3A%2F%2Fapp.test%2Fcb&StatusCallbackMethod=GET",
                            kForm);
  ASSERT_TRUE(created);
  ASSERT_EQ(created->status, 201) << created->body;
  const nlohmann::json room = Json(created);
  EXPECT_EQ(room["max_participants"], 9);
  EXPECT_EQ(room["empty_room_timeout"], 3);
  EXPECT_EQ(room["unused_room_timeout"], 4);
  EXPECT_EQ(room["max_participant_duration"], 700);
  EXPECT_EQ(room["status_callback"], "https://app.test/cb");
  EXPECT_EQ(room["status_callback_method"], "GET");

  auto count = [&](const std::string& path, const char* key) {
    const nlohmann::json page = Json(http->Get(path));
    return page.contains(key) ? page[key].size() : size_t{999};
  };
  EXPECT_EQ(count("/v1/Rooms?DateCreatedAfter=2000-01-01T00:00:00Z", "rooms"), 1u);
  EXPECT_EQ(count("/v1/Rooms?DateCreatedBefore=2000-01-01", "rooms"), 0u);
  EXPECT_EQ(count("/v1/Rooms?Status=completed", "rooms"), 0u);
  EXPECT_EQ(count("/v1/Rooms?UniqueName=other", "rooms"), 0u);

  grpc_->Connect("all", "ann");
  const v1::Participant ben = grpc_->Connect("all", "ben").participant();
  grpc_->Kick(ben.sid());
  const std::string participants = "/v1/Rooms/all/Participants";
  EXPECT_EQ(count(participants, "participants"), 2u);
  EXPECT_EQ(count(participants + "?Identity=ben", "participants"), 1u);
  EXPECT_EQ(count(participants + "?Status=connected", "participants"), 1u);
  EXPECT_EQ(count(participants + "?Status=disconnected", "participants"), 1u);
  EXPECT_EQ(count(participants + "?DateCreatedAfter=2000-01-01T00:00:00Z", "participants"), 2u);
  EXPECT_EQ(count(participants + "?DateCreatedBefore=2000-01-01T00:00:00Z", "participants"), 0u);
}

// Form encoding in bodies and queries ('+' is a space, %XX a byte); paths keep '+' (an identity
// that is a phone number).
TEST_F(RestTest, PlusIsASpaceInFormsAndItselfInPaths) {
  auto http = Admin();
  auto created = http->Post("/v1/Rooms", "UniqueName=two+words%21", kForm);
  ASSERT_TRUE(created);
  ASSERT_EQ(created->status, 201) << created->body;
  EXPECT_EQ(Json(created)["unique_name"], "two words!");
  // Sent byte for byte (httplib would escape the '+').
  RawConnection raw(rest_port_);
  ASSERT_TRUE(
      raw.Send("GET /v1/Rooms?UniqueName=two+words%21 HTTP/1.1\r\nHost: h\r\n"
               "Connection: close\r\nAuthorization: " +
               BasicAuthorization(admin_sid_, admin_secret_) + "\r\n\r\n"));
  const std::string answer = raw.ReadAll();
  const size_t body = answer.find("\r\n\r\n");
  ASSERT_NE(body, std::string::npos) << answer;
  const nlohmann::json listed = nlohmann::json::parse(answer.substr(body + 4), nullptr, false);
  ASSERT_EQ(listed["rooms"].size(), 1u) << listed.dump();
  EXPECT_EQ(listed["rooms"][0]["sid"], Json(created)["sid"]);
  EXPECT_EQ(listed["meta"]["url"],
            "http://h/v1/Rooms?UniqueName=two%20words%21&PageSize=50&Page=0");

  const v1::Participant caller = grpc_->Connect("lobby", "+15551234").participant();
  const nlohmann::json fetched = Json(http->Get("/v1/Rooms/lobby/Participants/+15551234"));
  EXPECT_EQ(fetched["sid"], caller.sid()) << fetched.dump();
}

TEST_F(RestTest, ErrorsHaveTwiliosCodesAndStatuses) {
  auto http = Admin();
  struct Case {
    std::string method, path, body;
    int status, code;
    std::string names;  // the parameter the message names
  };
  const std::vector<Case> cases = {
      {"GET", "/v1/Rooms/RM" + std::string(32, '0'), "", 404, 20404, ""},
      {"GET", "/v1/Nowhere", "", 404, 20404, ""},
      {"POST", "/v1/Rooms", "MaxParticipants=0", 400, 53107, "MaxParticipants"},
      {"POST", "/v1/Rooms", "MaxParticipants=many", 400, 53107, "MaxParticipants"},
      {"POST", "/v1/Rooms", "StatusCallbackMethod=PUT", 400, 53110, "StatusCallbackMethod"},
      {"GET", "/v1/Rooms?Status=sleeping", "", 400, 53112, "Status"},
      {"GET", "/v1/Rooms?DateCreatedAfter=yesterday", "", 400, 20001, "DateCreatedAfter"},
      {"GET", "/v1/Rooms?PageSize=5000", "", 400, 20001, "PageSize"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.method + " " + c.path + " " + c.body);
    auto result = c.method == "GET" ? http->Get(c.path) : http->Post(c.path, c.body, kForm);
    ASSERT_TRUE(result);
    EXPECT_EQ(result->status, c.status) << result->body;
    const nlohmann::json body = Json(result);
    EXPECT_EQ(body["code"], c.code);
    EXPECT_EQ(body["status"], c.status);
    EXPECT_EQ(body["more_info"], "https://www.twilio.com/docs/errors/" + std::to_string(c.code));
    EXPECT_THAT(body["message"].get<std::string>(), HasSubstr(c.names));
  }
  // Nothing was created by the refused requests.
  EXPECT_EQ(Json(http->Get("/v1/Rooms"))["rooms"].size(), 0u);
  auto wrong_method = http->Delete("/v1/Rooms");
  ASSERT_TRUE(wrong_method);
  EXPECT_EQ(wrong_method->status, 405);
}

// --- 3. Credentials --------------------------------------------------------------------------

TEST_F(RestTest, MissingOrWrongCredentialsAre401AndReadKeysCannotWrite) {
  const std::pair<std::string, std::string> wrong[] = {
      {"", ""}, {admin_sid_, RandomHex(48)}, {account_, RandomHex(32)}};
  for (const auto& [sid, secret] : wrong) {
    auto result = Http(sid, secret)->Post("/v1/Rooms", "UniqueName=x", kForm);
    ASSERT_TRUE(result);
    EXPECT_EQ(result->status, 401);
    EXPECT_EQ(Json(result)["code"], 20003);
    EXPECT_EQ(result->get_header_value("WWW-Authenticate"), "Basic realm=\"rollcall\"");
  }
  auto reader = Http(read_sid_, read_secret_);
  auto refused = reader->Post("/v1/Rooms", "UniqueName=x", kForm);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 403);
  EXPECT_EQ(Json(refused)["code"], 20403);
  auto listed = reader->Get("/v1/Rooms");
  ASSERT_TRUE(listed);
  EXPECT_EQ(listed->status, 200);
  EXPECT_EQ(Json(listed)["rooms"].size(), 0u) << "a refused write changed nothing";
  // The account's auth token acts as admin.
  EXPECT_EQ(Http(account_, token_)->Post("/v1/Rooms", "UniqueName=x", kForm)->status, 201);
}

// --- 4. Limits -------------------------------------------------------------------------------

class RestLimitsTest : public RestFixture {
 protected:
  // One I/O thread and one worker: any request that held a thread would stall all others.
  std::vector<std::string> ExtraFlags() const override {
    return {"--rest_io_threads=1", "--rest_workers=1", "--rest_max_body_bytes=1024",
            "--rest_max_header_bytes=4096", "--rest_max_connections_per_ip=0"};
  }
};

TEST_F(RestLimitsTest, OversizedBodiesAndHeadersAreRefused) {
  auto http = Admin();
  auto large = http->Post("/v1/Rooms", "UniqueName=" + std::string(2000, 'x'), kForm);
  ASSERT_TRUE(large);
  EXPECT_EQ(large->status, 413);
  EXPECT_THAT(Json(large)["message"].get<std::string>(), HasSubstr("--rest_max_body_bytes"));

  RawConnection chunked(rest_port_);
  ASSERT_TRUE(chunked.connected());
  std::string request =
      "POST /v1/Rooms HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n"
      "Authorization: " +
      BasicAuthorization(admin_sid_, admin_secret_) + "\r\nContent-Type: " + kForm + "\r\n\r\n";
  for (int i = 0; i < 4; ++i) request += "200\r\n" + std::string(512, 'y') + "\r\n";
  ASSERT_TRUE(chunked.Send(request + "0\r\n\r\n"));
  EXPECT_THAT(chunked.ReadAll(), HasSubstr("HTTP/1.1 413"));

  httplib::Headers headers = {{"X-Padding", std::string(8000, 'p')}};
  auto big_header = http->Get("/v1/Rooms", headers);
  ASSERT_TRUE(big_header);
  EXPECT_EQ(big_header->status, 431);
  EXPECT_EQ(Json(http->Get("/v1/Rooms"))["rooms"].size(), 0u);
}

TEST_F(RestLimitsTest, IdleAndStalledConnectionsDoNotStarveRequests) {
  std::vector<std::unique_ptr<RawConnection>> hogs;
  for (int i = 0; i < 32; ++i) {
    auto hog = std::make_unique<RawConnection>(rest_port_);
    ASSERT_TRUE(hog->connected());
    if (i % 3 == 1) {  // stalled in its headers
      ASSERT_TRUE(hog->Send("GET /v1/Rooms HTTP/1.1\r\nHost: x\r\n"));
    }
    if (i % 3 == 2) {  // half a body, never finished
      ASSERT_TRUE(hog->Send("POST /v1/Rooms HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\nU"));
    }
    hogs.push_back(std::move(hog));
  }
  // Keep-alive connections that finished a request and now sit idle.
  std::vector<std::unique_ptr<httplib::Client>> idle;
  for (int i = 0; i < 8; ++i) {
    idle.push_back(Admin());
    idle.back()->set_keep_alive(true);
    ASSERT_EQ(idle.back()->Get("/v1/Rooms")->status, 200);
  }
  // With one I/O thread and one worker, each of these is answered while all of the above wait.
  for (int i = 0; i < 5; ++i) {
    auto created = Admin()->Post("/v1/Rooms", "UniqueName=r" + std::to_string(i), kForm);
    ASSERT_TRUE(created) << "request " << i << " got no answer";
    EXPECT_EQ(created->status, 201);
  }
  EXPECT_EQ(Json(Admin()->Get("/v1/Rooms"))["rooms"].size(), 5u);
}

class RestConnectionCapTest : public RestFixture {
 protected:
  std::vector<std::string> ExtraFlags() const override { return {"--rest_max_connections=4"}; }
};

// Past the cap the server stops accepting: a new connection waits in the kernel's backlog (it
// costs the server nothing) and is served once a held one closes.
TEST_F(RestConnectionCapTest, ConnectionsPastTheCapWaitUntilOneCloses) {
  std::vector<std::unique_ptr<RawConnection>> held;
  for (int i = 0; i < 4; ++i) {
    held.push_back(std::make_unique<RawConnection>(rest_port_));
    ASSERT_TRUE(held.back()->connected());
    // Answered: the server holds this connection (keep-alive) from now on.
    ASSERT_TRUE(held.back()->Send("GET /v1/Nowhere HTTP/1.1\r\nHost: x\r\n\r\n"));
  }
  for (auto& connection : held) {
    char buffer[64];
    ASSERT_GT(recv(connection->fd(), buffer, sizeof(buffer), 0), 0);
  }
  RawConnection waiting(rest_port_);
  ASSERT_TRUE(waiting.connected());
  ASSERT_TRUE(
      waiting.Send("GET /v1/Rooms HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                   "Authorization: " +
                   BasicAuthorization(admin_sid_, admin_secret_) + "\r\n\r\n"));
  held.pop_back();
  EXPECT_THAT(waiting.ReadAll(), HasSubstr("HTTP/1.1 200"));
}

class RestPerAddressCapTest : public RestFixture {
 protected:
  std::vector<std::string> ExtraFlags() const override {
    return {"--rest_max_connections_per_ip=2"};
  }
};

TEST_F(RestPerAddressCapTest, ConnectionsPastTheAddressCapAreClosedAtAccept) {
  RawConnection first(rest_port_);
  RawConnection second(rest_port_);
  ASSERT_TRUE(first.connected() && second.connected());
  for (RawConnection* held : {&first, &second}) {  // answered: the server holds both now
    ASSERT_TRUE(held->Send("GET /v1/Nowhere HTTP/1.1\r\nHost: x\r\n\r\n"));
    char buffer[64];
    ASSERT_GT(recv(held->fd(), buffer, sizeof(buffer), 0), 0);
  }
  RawConnection third(rest_port_);
  ASSERT_TRUE(third.connected());
  EXPECT_TRUE(third.ClosedUnanswered()) << "the server must close it without waiting for it";
}

}  // namespace
}  // namespace rollcall::testing
