// End-to-end tests of tracks and subscribe rules (docs/tracks.md) against the real rollcalld:
// track events through RecordEvent, TrackService reads and rule updates, and what a watcher
// of the room sees: each cause and the subscriptions it changed, in one revision.
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

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class TracksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.Start());
    client_ = std::make_unique<Client>(server_.NewChannel());
    tracks_ = v1::TrackService::NewStub(server_.NewChannel());
  }

  v1::RecordEventResponse Publish(const std::string& room, const std::string& participant,
                                  const std::string& track, const std::string& name,
                                  v1::TrackKind kind) {
    v1::Event event = MakeEvent(v1::EVENT_TYPE_TRACK_PUBLISHED, room, participant, Now());
    event.set_track_sid(track);
    event.set_track_name(name);
    event.set_track_kind(kind);
    return client_->MustApply(event);
  }

  grpc::Status SetRules(const std::string& participant, std::vector<v1::SubscribeRule> rules,
                        v1::UpdateSubscribeRulesResponse* response) {
    grpc::ClientContext context;
    v1::UpdateSubscribeRulesRequest request;
    request.set_participant_sid(participant);
    for (v1::SubscribeRule& rule : rules) *request.add_rules() = std::move(rule);
    return tracks_->UpdateSubscribeRules(&context, request, response);
  }

  std::vector<std::string> SubscribedNames(const std::string& participant) {
    grpc::ClientContext context;
    v1::ListSubscribedTracksRequest request;
    request.set_participant_sid(participant);
    v1::ListSubscribedTracksResponse response;
    EXPECT_TRUE(tracks_->ListSubscribedTracks(&context, request, &response).ok());
    std::vector<std::string> names;
    for (const v1::SubscribedTrack& t : response.subscribed_tracks()) names.push_back(t.name());
    return names;
  }

  ServerProcess server_{{"--store=memory"}};
  std::unique_ptr<Client> client_;
  std::unique_ptr<v1::TrackService::Stub> tracks_;
};

TEST_F(TracksTest, PublishRulesAndWatchAgree) {
  const std::string alice = client_->Connect("room", "alice").participant().sid();
  const std::string bob = client_->Connect("room", "bob").participant().sid();
  const std::string room = client_->Room("room").sid();
  wv1::WatchRequest request;
  request.set_room(room);
  request.set_send_initial_state(true);
  WatchStream watch(server_.NewChannel(), request);
  watch.StartReading();
  // The snapshot first: what follows must come as changes, not in the initial state.
  ASSERT_TRUE(
      watch.WaitFor([](const WatchStream& s) { return s.initial_state_end().has_value(); }));

  const std::string cam = "MT" + RandomHex(32);
  const v1::RecordEventResponse published = Publish(room, alice, cam, "cam", v1::TRACK_KIND_VIDEO);
  EXPECT_EQ(published.published_track().sid(), cam);
  EXPECT_EQ(published.published_track().status(), v1::TRACK_STATUS_PUBLISHED);
  EXPECT_THAT(published.published_track().url(),
              HasSubstr("/Participants/" + alice + "/PublishedTracks/" + cam));
  Publish(room, alice, "MT" + RandomHex(32), "mic", v1::TRACK_KIND_AUDIO);
  EXPECT_THAT(SubscribedNames(bob), ElementsAre("cam", "mic"));
  EXPECT_TRUE(SubscribedNames(alice).empty());

  // Rules in Twilio's shape: everything, then no video from alice.
  v1::SubscribeRule all;
  all.set_type(v1::SUBSCRIBE_RULE_TYPE_INCLUDE);
  all.set_all(true);
  v1::SubscribeRule no_video;
  no_video.set_type(v1::SUBSCRIBE_RULE_TYPE_EXCLUDE);
  no_video.set_kind(v1::TRACK_KIND_VIDEO);
  no_video.set_publisher("alice");
  v1::UpdateSubscribeRulesResponse updated;
  ASSERT_TRUE(SetRules(bob, {all, no_video}, &updated).ok());
  EXPECT_EQ(updated.subscribe_rules().rules_size(), 2);
  EXPECT_THAT(SubscribedNames(bob), ElementsAre("mic"));

  ASSERT_TRUE(watch.WaitForRevision(updated.revision()));
  const std::vector<SeenSet> sets = watch.sets();
  ASSERT_GE(sets.size(), 3u);
  const SeenSet& publish_set = sets[sets.size() - 3];
  ASSERT_EQ(publish_set.changes.size(), 2u);
  EXPECT_EQ(publish_set.changes[0].type, wv1::CHANGE_TYPE_TRACK_PUBLISHED);
  EXPECT_EQ(publish_set.changes[1].type, wv1::CHANGE_TYPE_SUBSCRIBED_TRACK_ADDED);
  EXPECT_EQ(publish_set.changes[1].subscriber_sid, bob);
  const SeenSet& rules_set = sets.back();
  ASSERT_EQ(rules_set.changes.size(), 2u);
  EXPECT_EQ(rules_set.changes[0].type, wv1::CHANGE_TYPE_SUBSCRIBE_RULES_UPDATED);
  EXPECT_EQ(rules_set.changes[0].sid, bob);
  EXPECT_EQ(rules_set.changes[1].type, wv1::CHANGE_TYPE_SUBSCRIBED_TRACK_REMOVED);
  EXPECT_EQ(rules_set.changes[1].sid, cam);

  // Leaving unpublishes, in the revision of the departure.
  const v1::RecordEventResponse left = client_->Disconnect(room, alice);
  ASSERT_TRUE(watch.WaitForRevision(left.revision()));
  const SeenSet departure = watch.sets().back();
  std::vector<wv1::ChangeType> types;
  for (const SeenChange& c : departure.changes) types.push_back(c.type);
  EXPECT_THAT(
      types,
      ElementsAre(wv1::CHANGE_TYPE_PARTICIPANT_DISCONNECTED, wv1::CHANGE_TYPE_TRACK_UNPUBLISHED,
                  wv1::CHANGE_TYPE_TRACK_UNPUBLISHED, wv1::CHANGE_TYPE_SUBSCRIBED_TRACK_REMOVED));
  EXPECT_TRUE(SubscribedNames(bob).empty());
}

TEST_F(TracksTest, BadInputNamesTheFieldAndChangesNothing) {
  const std::string alice = client_->Connect("room", "alice").participant().sid();
  v1::SubscribeRule no_filter;
  no_filter.set_type(v1::SUBSCRIBE_RULE_TYPE_INCLUDE);
  v1::UpdateSubscribeRulesResponse updated;
  grpc::Status status = SetRules(alice, {no_filter}, &updated);
  EXPECT_EQ(status.error_code(), grpc::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("rules[0]"));
  v1::SubscribeRule bad_kind;
  bad_kind.set_type(v1::SUBSCRIBE_RULE_TYPE_INCLUDE);
  bad_kind.set_kind(static_cast<v1::TrackKind>(9));
  status = SetRules(alice, {bad_kind}, &updated);
  EXPECT_EQ(status.error_code(), grpc::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("rules[0].kind"));

  grpc::ClientContext context;
  v1::GetSubscribeRulesRequest get;
  get.set_participant_sid(alice);
  v1::GetSubscribeRulesResponse rules;
  ASSERT_TRUE(tracks_->GetSubscribeRules(&context, get, &rules).ok());
  ASSERT_EQ(rules.subscribe_rules().rules_size(), 1);
  EXPECT_TRUE(rules.subscribe_rules().rules(0).all()) << "the default set stays";

  v1::Event no_kind = MakeEvent(v1::EVENT_TYPE_TRACK_PUBLISHED, "room", alice, Now());
  no_kind.set_track_sid("MT" + RandomHex(32));
  no_kind.set_track_name("cam");
  status = client_->Record(no_kind);
  EXPECT_EQ(status.error_code(), grpc::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("event.track_kind"));

  grpc::ClientContext list_context;
  v1::ListPublishedTracksRequest list;
  list.set_participant_sid(alice);
  v1::ListPublishedTracksResponse listed;
  ASSERT_TRUE(tracks_->ListPublishedTracks(&list_context, list, &listed).ok());
  EXPECT_EQ(listed.published_tracks_size(), 0);
}

}  // namespace
}  // namespace rollcall::testing
