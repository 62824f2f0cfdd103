// Tracks beyond the table: what leaving does to a participant's tracks (every way of
// leaving), the per-participant rules (unique names, the track limit, ownership), validation,
// deduplication, and Twilio's rule semantics (filters ANDed, order, SIDs or names).
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "state/records.h"
#include "state/subscriptions.h"
#include "tests/state/state_harness.h"

namespace rollcall::state {
namespace {

using test::At;
using test::Harness;
using test::MtText;
using ::testing::ElementsAre;

class TracksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    h_.SetNow(At(1));
    alice_ = h_.Connect("r", "alice", At(0));
    bob_ = h_.Connect("r", "bob", At(0));
    room_ = alice_.room_sid.ToString();
    h_.Apply(Publish(alice_, 1, "cam", TrackKind::kVideo));
    h_.Apply(Publish(alice_, 2, "mic", TrackKind::kAudio));
    h_.Apply(Publish(bob_, 3, "cam", TrackKind::kVideo));  // names are per participant
  }
  Event Publish(const Participant& p, uint64_t n, std::string name, TrackKind kind) {
    return h_.Published(room_, p.sid.ToString(), MtText(n), std::move(name), kind, At(1));
  }
  // The published tracks in the room, by name of publisher and track.
  std::vector<std::string> Subscribed(const Participant& p) {
    std::vector<std::string> names;
    for (const SubscribedTrack* s : h_.roster().SubscribedTracks(p.sid)) {
      names.push_back(h_.Get(s->publisher_sid).identity + "/" + s->name);
    }
    return names;
  }
  // Checks that `outcome` unpublished every track of `left`, right after its departure.
  void ExpectUnpublishedAfterDeparture(const Outcome& outcome, const Participant& left) {
    size_t departure = outcome.changes.size();
    int unpublished = 0;
    for (size_t i = 0; i < outcome.changes.size(); ++i) {
      const Change& c = outcome.changes[i];
      if (const auto* p = std::get_if<Participant>(&c.resource); p && p->sid == left.sid) {
        EXPECT_EQ(c.type, ChangeType::kParticipantDisconnected);
        departure = i;
      }
      if (const auto* t = std::get_if<PublishedTrack>(&c.resource);
          t && t->participant_sid == left.sid) {
        EXPECT_EQ(c.type, ChangeType::kTrackUnpublished);
        EXPECT_GT(i, departure) << "unpublished after the departure";
        ++unpublished;
      }
    }
    EXPECT_EQ(unpublished, static_cast<int>(h_.roster().TracksOf(left.sid).size()));
    for (const PublishedTrack* t : h_.roster().TracksOf(left.sid)) EXPECT_FALSE(t->published());
    EXPECT_TRUE(h_.roster().SubscribedTracks(left.sid).empty());
  }

  Harness h_;
  Participant alice_, bob_;
  std::string room_;
};

TEST_F(TracksTest, EveryoneGetsTheOthersTracksByDefault) {
  EXPECT_THAT(Subscribed(alice_), ElementsAre("bob/cam"));
  EXPECT_THAT(Subscribed(bob_), ElementsAre("alice/cam", "alice/mic"));
}

TEST_F(TracksTest, DisconnectUnpublishesInTheSameRevision) {
  const Outcome o = h_.Apply(h_.Disconnected(room_, alice_.sid.ToString(), At(1)));
  ExpectUnpublishedAfterDeparture(o, alice_);
  EXPECT_TRUE(Subscribed(bob_).empty());
  EXPECT_EQ(h_.roster().published_track_count(), 1u);
}

TEST_F(TracksTest, KickUnpublishes) {
  ExpectUnpublishedAfterDeparture(h_.Apply(h_.Kick(room_, alice_.sid.ToString())), alice_);
}

TEST_F(TracksTest, DuplicateIdentityUnpublishesTheOldSession) {
  const Outcome o = h_.Apply(h_.Connected(room_, "alice", At(1)));
  ExpectUnpublishedAfterDeparture(o, alice_);
  EXPECT_THAT(Subscribed(h_.Get(o.participant->sid)), ElementsAre("bob/cam"));
}

TEST_F(TracksTest, RoomEndUnpublishesEverything) {
  const Outcome o = h_.Apply(h_.End(room_));
  ExpectUnpublishedAfterDeparture(o, alice_);
  ExpectUnpublishedAfterDeparture(o, bob_);
  EXPECT_EQ(h_.roster().published_track_count(), 0u);
  EXPECT_EQ(h_.roster().subscription_count(), 0u);
}

TEST_F(TracksTest, ReconnectTimeoutUnpublishes) {
  h_.Apply(h_.Reconnecting(room_, alice_.sid.ToString(), At(1)));
  EXPECT_THAT(Subscribed(bob_), ElementsAre("alice/cam", "alice/mic")) << "still active";
  const std::vector<Timer> timers = h_.roster().TimersOf(h_.Get(alice_.sid));
  ASSERT_FALSE(timers.empty());
  h_.SetNow(timers.front().deadline);
  ExpectUnpublishedAfterDeparture(h_.Apply(Harness::Fire(timers.front())), alice_);
}

TEST_F(TracksTest, NamesAreUniqueAmongAParticipantsPublishedTracks) {
  EXPECT_TRUE(test::HasError(h_.Step(Publish(alice_, 9, "cam", TrackKind::kAudio)).status(),
                             absl::StatusCode::kAlreadyExists, "event.track_name"));
  h_.Apply(
      h_.TrackEvent(EventType::kTrackUnpublished, room_, alice_.sid.ToString(), MtText(1), At(2)));
  h_.Apply(Publish(alice_, 9, "cam", TrackKind::kAudio));  // free again once unpublished
}

TEST(TrackLimitTest, PublishingPastTheLimitIsResourceExhausted) {
  Limits limits;
  limits.max_tracks_per_participant = 2;
  Harness h(limits);
  h.SetNow(At(1));
  const Participant p = h.Connect("r", "alice", At(0));
  const std::string room = p.room_sid.ToString();
  const std::string pa = p.sid.ToString();
  h.Apply(h.Published(room, pa, MtText(1), "a", TrackKind::kAudio, At(1)));
  h.Apply(h.Published(room, pa, MtText(2), "b", TrackKind::kAudio, At(1)));
  const test::RosterDump before = h.Dump();
  EXPECT_TRUE(test::HasError(
      h.Step(h.Published(room, pa, MtText(3), "c", TrackKind::kAudio, At(1))).status(),
      absl::StatusCode::kResourceExhausted, "event.track_sid"));
  EXPECT_EQ(h.Dump(), before);
}

TEST_F(TracksTest, AnotherParticipantsTrackIsRefused) {
  EXPECT_TRUE(test::HasError(h_.Step(h_.TrackEvent(EventType::kTrackDisabled, room_,
                                                   bob_.sid.ToString(), MtText(1), At(2)))
                                 .status(),
                             absl::StatusCode::kFailedPrecondition, "event.track_sid"));
}

TEST_F(TracksTest, MalformedTrackEventsNameTheField) {
  const test::RosterDump before = h_.Dump();
  Event no_kind = Publish(alice_, 9, "x", TrackKind::kUnspecified);
  EXPECT_TRUE(test::HasError(h_.Step(no_kind).status(), absl::StatusCode::kInvalidArgument,
                             "event.track_kind"));
  Event no_name = Publish(alice_, 9, "", TrackKind::kAudio);
  EXPECT_TRUE(test::HasError(h_.Step(no_name).status(), absl::StatusCode::kInvalidArgument,
                             "event.track_name"));
  Event bad_sid = Publish(alice_, 9, "x", TrackKind::kAudio);
  bad_sid.track_sid = "PA0123";
  EXPECT_TRUE(test::HasError(h_.Step(bad_sid).status(), absl::StatusCode::kInvalidArgument,
                             "event.track_sid"));
  Event stray = h_.Connected(room_, "carol", At(1));
  stray.track_sid = MtText(9);
  EXPECT_TRUE(test::HasError(h_.Step(stray).status(), absl::StatusCode::kInvalidArgument,
                             "event.track_sid"));
  Event enabled_on_disable =
      h_.TrackEvent(EventType::kTrackDisabled, room_, alice_.sid.ToString(), MtText(1), At(2));
  enabled_on_disable.track_enabled = false;
  EXPECT_TRUE(test::HasError(h_.Step(enabled_on_disable).status(),
                             absl::StatusCode::kInvalidArgument, "event.track_enabled"));
  EXPECT_EQ(h_.Dump(), before);
}

TEST_F(TracksTest, ARetriedTrackEventIsADuplicateCarryingTheTrack) {
  const Event disable =
      h_.TrackEvent(EventType::kTrackDisabled, room_, alice_.sid.ToString(), MtText(1), At(2));
  const Outcome first = h_.Apply(disable);
  const Outcome again = h_.Expect(disable, Disposition::kDuplicate);
  EXPECT_EQ(again.revision, first.revision);
  ASSERT_TRUE(again.track.has_value());
  EXPECT_FALSE(again.track->enabled);
  Event reused = disable;
  reused.type = EventType::kTrackEnabled;
  EXPECT_EQ(h_.Step(reused).status().code(), absl::StatusCode::kAlreadyExists);
}

TEST_F(TracksTest, RulesApplyInOrderWithFiltersAnded) {
  SubscribeRule all;
  all.type = RuleType::kInclude;
  all.all = true;
  SubscribeRule no_alice_video;
  no_alice_video.type = RuleType::kExclude;
  no_alice_video.kind = TrackKind::kVideo;
  no_alice_video.publisher = "alice";
  const Outcome o = h_.Apply(h_.Rules(room_, bob_.sid.ToString(), {all, no_alice_video}));
  EXPECT_THAT(test::TypesOf(o.changes),
              ElementsAre(ChangeType::kSubscribeRulesUpdated, ChangeType::kSubscribedTrackRemoved));
  EXPECT_THAT(Subscribed(bob_), ElementsAre("alice/mic"));
  // An include after the exclude wins: by track SID, in upper-case hex.
  SubscribeRule cam_again;
  cam_again.type = RuleType::kInclude;
  cam_again.track = test::UpperHex(MtText(1));
  h_.Apply(h_.Rules(room_, bob_.sid.ToString(), {all, no_alice_video, cam_again}));
  EXPECT_THAT(Subscribed(bob_), ElementsAre("alice/cam", "alice/mic"));
  // By publisher SID.
  SubscribeRule by_sid;
  by_sid.type = RuleType::kInclude;
  by_sid.publisher = alice_.sid.ToString();
  by_sid.track = "mic";
  h_.Apply(h_.Rules(room_, bob_.sid.ToString(), {by_sid}));
  EXPECT_THAT(Subscribed(bob_), ElementsAre("alice/mic"));
  // Rules outlive a track: a new one matching them is subscribed when published.
  h_.Apply(
      h_.TrackEvent(EventType::kTrackUnpublished, room_, alice_.sid.ToString(), MtText(2), At(2)));
  EXPECT_TRUE(Subscribed(bob_).empty());
  h_.Apply(Publish(alice_, 7, "mic", TrackKind::kAudio));
  EXPECT_THAT(Subscribed(bob_), ElementsAre("alice/mic"));
}

TEST(SubscribeRulesValidationTest, NamesTheRuleAndField) {
  auto check = [](std::vector<SubscribeRule> rules, const char* field) {
    EXPECT_TRUE(
        test::HasError(ValidateSubscribeRules(rules), absl::StatusCode::kInvalidArgument, field))
        << field;
  };
  SubscribeRule ok;
  ok.type = RuleType::kInclude;
  ok.all = true;
  check({}, "rules");
  check(std::vector<SubscribeRule>(21, ok), "rules");
  EXPECT_TRUE(ValidateSubscribeRules(std::vector<SubscribeRule>(20, ok)).ok());
  SubscribeRule no_type = ok;
  no_type.type = RuleType::kUnspecified;
  check({ok, no_type}, "rules[1].type");
  SubscribeRule all_and_kind = ok;
  all_and_kind.kind = TrackKind::kAudio;
  check({all_and_kind}, "rules[0].all");
  SubscribeRule bad_publisher;
  bad_publisher.type = RuleType::kExclude;
  bad_publisher.publisher = std::string("a\x01", 2);
  check({ok, ok, bad_publisher}, "rules[2].publisher");
  SubscribeRule long_track;
  long_track.type = RuleType::kExclude;
  long_track.track = std::string(129, 't');
  check({long_track}, "rules[0].track");
}

}  // namespace
}  // namespace rollcall::state
