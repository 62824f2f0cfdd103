// Twilio's own helper libraries against the REST port, unchanged (docs/rest.md): Debian's
// python3-twilio (tests/e2e/rest_python_client.py) and the npm `twilio` pinned by
// package-lock.json (tests/e2e/rest_node_client.js). This test starts rollcalld, creates through
// gRPC ingest a room with alice (publishing a video track "cam") and bob, runs the script with
// their SIDs in the environment, and then checks over gRPC what the script did through REST:
// bob kicked (REMOVED) and anonymized, his rules replaced, the rooms it created and ended.
#include <sys/wait.h>

#include <cstdlib>

#include "gmock/gmock.h"
#include "rollcall/v1/track_service.grpc.pb.h"
#include "tests/e2e/rest_fixture.h"

namespace rollcall::testing {
namespace {

using ::testing::HasSubstr;

class RestClientsTest : public RestFixture {
 protected:
  void SetUp() override {
    RestFixture::SetUp();
    if (HasFatalFailure()) return;
    alice_ = grpc_->Connect("standup", "alice").participant().sid();
    bob_ = grpc_->Connect("standup", "bob").participant().sid();
    v1::Event publish = MakeEvent(v1::EVENT_TYPE_TRACK_PUBLISHED, "standup", alice_, Now());
    publish.set_track_sid(cam_);
    publish.set_track_name("cam");
    publish.set_track_kind(v1::TRACK_KIND_VIDEO);
    grpc_->MustApply(publish);
  }

  // Runs `args` with the REST URL, credentials and SIDs in its environment; returns its exit
  // status and leaves its output in `output`.
  int RunClient(std::vector<std::string> args, std::string& output) {
    const std::pair<const char*, std::string> variables[] = {{"ROLLCALL_REST_URL", rest_url()},
                                                             {"ACCOUNT_SID", account_},
                                                             {"KEY_SID", admin_sid_},
                                                             {"KEY_SECRET", admin_secret_},
                                                             {"ROOM", "standup"},
                                                             {"ALICE_SID", alice_},
                                                             {"BOB_SID", bob_},
                                                             {"CAM_SID", cam_}};
    for (const auto& [name, value] : variables) setenv(name, value.c_str(), 1);
    const std::string log = dir_.path() + "/client.log";
    const pid_t pid = Spawn(std::move(args), log);
    int status = -1;
    const bool exited =
        WaitUntil([&] { return waitpid(pid, &status, WNOHANG) == pid; }, std::chrono::seconds(120));
    if (!exited) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
    }
    std::ifstream in(log);
    output.assign(std::istreambuf_iterator<char>(in), {});
    return exited && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  // What every script must have done, seen through gRPC.
  void ExpectScriptEffects(const std::string& room_prefix) {
    const v1::Participant bob = grpc_->Participant(bob_);
    EXPECT_EQ(bob.status(), v1::PARTICIPANT_STATUS_DISCONNECTED);
    EXPECT_EQ(bob.disconnect_reason(), v1::DISCONNECT_REASON_REMOVED);
    EXPECT_NE(bob.identity(), "bob");  // anonymized
    EXPECT_EQ(grpc_->Participant(alice_).status(), v1::PARTICIPANT_STATUS_CONNECTED);

    auto tracks = v1::TrackService::NewStub(grpc_->channel());
    grpc::ClientContext context;
    v1::GetSubscribeRulesRequest request;
    request.set_participant_sid(bob_);
    v1::GetSubscribeRulesResponse rules;
    ASSERT_TRUE(tracks->GetSubscribeRules(&context, request, &rules).ok());
    ASSERT_EQ(rules.subscribe_rules().rules_size(), 2);
    EXPECT_EQ(rules.subscribe_rules().rules(1).type(), v1::SUBSCRIBE_RULE_TYPE_EXCLUDE);
    EXPECT_EQ(rules.subscribe_rules().rules(1).kind(), v1::TRACK_KIND_VIDEO);

    for (int i = 0; i < 5; ++i) {
      v1::GetRoomRequest get;
      get.set_room(room_prefix + std::to_string(i));
      v1::GetRoomResponse room;
      grpc::ClientContext room_context;
      if (i == 0) continue;  // ended: its unique name no longer resolves
      ASSERT_TRUE(grpc_->rooms().GetRoom(&room_context, get, &room).ok()) << get.room();
      EXPECT_EQ(room.room().status(), v1::ROOM_STATUS_IN_PROGRESS);
    }
  }

  const std::string cam_ = "MT" + RandomHex(32);
  std::string alice_;
  std::string bob_;
};

TEST_F(RestClientsTest, PythonHelperLibraryWorksUnchanged) {
  std::string output;
  const int status = RunClient(
      {"/usr/bin/python3", ROLLCALL_SOURCE_DIR "/tests/e2e/rest_python_client.py"}, output);
  ASSERT_EQ(status, 0) << output << "\nrollcalld log:\n" << server_.Log();
  EXPECT_THAT(output, HasSubstr("every check passed"));
  ExpectScriptEffects("py-");
}

TEST_F(RestClientsTest, NodeHelperLibraryWorksUnchanged) {
  std::string output;
  const int status = RunClient(
      {"/usr/bin/env", "node", ROLLCALL_SOURCE_DIR "/tests/e2e/rest_node_client.js"}, output);
  ASSERT_EQ(status, 0) << output << "\nrollcalld log:\n" << server_.Log();
  EXPECT_THAT(output, HasSubstr("every check passed"));
  ExpectScriptEffects("js-");
}

}  // namespace
}  // namespace rollcall::testing
