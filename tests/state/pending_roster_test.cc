// PendingRoster: a batch decided against it (each input seeing the ones before it) must give
// exactly the outcomes of deciding the same inputs one by one against a Roster, and Reset
// must drop the batch. Reads go through to the base roster for whatever the batch leaves alone.
#include "state/pending_roster.h"

#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "state/records.h"
#include "state/room_machine.h"
#include "state/roster.h"
#include "tests/state/random_inputs.h"
#include "tests/state/state_harness.h"

namespace rollcall::state {
namespace {

using test::AccountA;
using test::AccountB;
using test::At;
using test::Harness;
using test::PaSid;
using test::PaText;
using ::testing::ElementsAre;

std::vector<Sid> SidsOf(const std::vector<const Participant*>& ps) {
  std::vector<Sid> sids;
  for (const Participant* p : ps) sids.push_back(p->sid);
  return sids;
}

// Decides against a PendingRoster over `h`'s roster, committing into the pending overlay.
class Batch {
 public:
  explicit Batch(Harness& h) : h_(h), ids_(5000), machine_(ids_), pending_(h.roster()) {}

  Outcome Apply(const Input& input) {
    absl::StatusOr<Outcome> o = machine_.Decide(pending_, input, h_.now());
    EXPECT_TRUE(o.ok()) << o.status();
    if (!o.ok()) return Outcome{};
    EXPECT_EQ(o->disposition, Disposition::kApplied);
    EXPECT_EQ(o->revision, pending_.revision() + 1);
    pending_.Commit(*o);
    EXPECT_EQ(pending_.revision(), o->revision);
    outcomes_.push_back(*o);
    return *o;
  }
  absl::StatusOr<Outcome> Decide(const Input& input) {
    return machine_.Decide(pending_, input, h_.now());
  }
  // Commits the batch to the base roster (as the applier does after the fsync).
  void Flush() {
    for (const Outcome& o : outcomes_) h_.roster().Commit(o);
    outcomes_.clear();
    pending_.Reset();
  }
  PendingRoster& pending() { return pending_; }

 private:
  Harness& h_;
  SequentialIdSource ids_;
  RoomMachine machine_;
  PendingRoster pending_;
  std::vector<Outcome> outcomes_;
};

TEST(PendingRosterTest, ReadsThroughAndOverlaysTheBatch) {
  Harness h;
  h.SetNow(At(0));
  const Room lobby = h.CreateRoomNamed("lobby");
  h.Connect("lobby", "a", At(0), PaText(1));
  h.SetNow(At(10));
  h.Connect("lobby", "b", At(10), PaText(2));
  const Event base_event = h.Connected("other", "z", At(10), PaText(9));
  h.Apply(base_event);
  const test::RosterDump base_before = h.Dump();

  Batch batch(h);
  PendingRoster& p = batch.pending();
  EXPECT_EQ(&p.limits(), &h.roster().limits());
  EXPECT_EQ(p.revision(), h.roster().revision());
  EXPECT_EQ(p.FindRoom(lobby.sid), h.roster().FindRoom(lobby.sid));
  EXPECT_EQ(p.FindInProgressRoomByName(AccountA(), "lobby"), h.roster().FindRoom(lobby.sid));
  EXPECT_EQ(p.FindParticipant(PaSid(1)), h.roster().FindParticipant(PaSid(1)));
  EXPECT_EQ(p.FindActiveByIdentity(lobby.sid, "a")->sid, PaSid(1));
  EXPECT_EQ(p.Activity(lobby.sid).active, 2);
  EXPECT_THAT(SidsOf(p.ActiveParticipants(lobby.sid)), ElementsAre(PaSid(1), PaSid(2)));
  EXPECT_EQ(p.FindDedupe(AccountA(), base_event.event_id),
            h.roster().FindDedupe(AccountA(), base_event.event_id));

  // The batch: a leaves, c joins, the lobby ends and its name moves to a new room.
  h.SetNow(At(20));
  batch.Apply(h.Disconnected("lobby", PaText(1), At(20)));
  EXPECT_EQ(p.FindActiveByIdentity(lobby.sid, "a"), nullptr);
  EXPECT_EQ(p.FindParticipant(PaSid(1))->status, ParticipantStatus::kDisconnected);
  EXPECT_EQ(p.Activity(lobby.sid).active, 1);
  EXPECT_EQ(p.Activity(lobby.sid).last_departure, At(20));
  const Event join = h.Connected("lobby", "c", At(20), PaText(3));
  batch.Apply(join);
  ASSERT_NE(p.FindDedupe(AccountA(), join.event_id), std::nullopt);
  EXPECT_EQ(h.roster().FindDedupe(AccountA(), join.event_id), std::nullopt);
  EXPECT_EQ(p.FindActiveByIdentity(lobby.sid, "c")->sid, PaSid(3));
  EXPECT_THAT(SidsOf(p.ActiveParticipants(lobby.sid)), ElementsAre(PaSid(2), PaSid(3)));
  EXPECT_EQ(p.Activity(lobby.sid).sessions, 3);
  batch.Apply(h.End("lobby"));
  EXPECT_EQ(p.FindInProgressRoomByName(AccountA(), "lobby"), nullptr);
  EXPECT_TRUE(p.ActiveParticipants(lobby.sid).empty());
  EXPECT_EQ(p.FindActiveByIdentity(lobby.sid, "b"), nullptr) << "ended with the room";
  const Outcome fresh = batch.Apply(h.NewRoom("lobby"));
  EXPECT_EQ(p.FindInProgressRoomByName(AccountA(), "lobby")->sid, fresh.room->sid);
  EXPECT_EQ(p.revision(), h.roster().revision() + 4);

  // None of it reached the base roster.
  EXPECT_EQ(h.Dump(), base_before);

  // Reset forgets the batch.
  p.Reset();
  EXPECT_EQ(p.revision(), h.roster().revision());
  EXPECT_EQ(p.FindParticipant(PaSid(3)), nullptr);
  EXPECT_EQ(p.FindInProgressRoomByName(AccountA(), "lobby"), h.roster().FindRoom(lobby.sid));
  EXPECT_EQ(p.FindActiveByIdentity(lobby.sid, "a")->sid, PaSid(1));
  EXPECT_EQ(p.FindDedupe(AccountA(), join.event_id), std::nullopt);
  EXPECT_EQ(p.Activity(lobby.sid).active, 2);
  EXPECT_EQ(p.FindInProgressRoomByName(AccountB(), "lobby"), nullptr);
}

TEST(PendingRosterTest, BatchSeesItsOwnDuplicatesAndCapacity) {
  Harness h;
  CreateRoom c = h.NewRoom("small");
  c.max_participants = 1;
  h.Create(c);
  Batch batch(h);
  const Event join = h.Connected("small", "a", At(0), PaText(1));
  batch.Apply(join);
  const absl::StatusOr<Outcome> retry = batch.Decide(join);
  ASSERT_TRUE(retry.ok());
  EXPECT_EQ(retry->disposition, Disposition::kDuplicate);
  EXPECT_EQ(retry->revision, h.roster().revision() + 1);
  EXPECT_TRUE(test::HasError(batch.Decide(h.Connected("small", "b", At(0))),
                             absl::StatusCode::kResourceExhausted, ""));
  batch.Flush();
  EXPECT_EQ(h.Get(PaSid(1)).status, ParticipantStatus::kConnected);
  EXPECT_EQ(h.roster().revision(), 2u);
}

// Random batches decided against a PendingRoster give the same outcomes and final state as
// deciding every input directly against a Roster.
TEST(PendingRosterTest, BatchesMatchOneByOneDecisions) {
  const Limits limits = test::PropertyLimits();
  for (uint64_t seed = 1; seed <= 150; ++seed) {
    SCOPED_TRACE(absl::StrCat("sequence seed ", seed));
    Roster base(limits);
    SequentialIdSource ids;
    RoomMachine machine(ids);
    PendingRoster pending(base);
    std::vector<Outcome> batch;
    test::InputGenerator gen(seed * 7919);
    std::vector<std::pair<test::InputGenerator::Step, test::Observed>> recorded;
    std::mt19937_64 batch_rng(seed);
    int batch_left = 0;
    for (int i = 0; i < 60; ++i) {
      if (batch_left == 0) {
        for (const Outcome& o : batch) base.Commit(o);
        batch.clear();
        pending.Reset();
        batch_left = 1 + static_cast<int>(batch_rng() % 8);
      }
      --batch_left;
      const test::InputGenerator::Step step = gen.Next(base.NextTimer());
      const absl::StatusOr<Outcome> result = machine.Decide(pending, step.input, step.now);
      if (result.ok() && result->disposition == Disposition::kApplied) {
        ASSERT_EQ(result->revision, pending.revision() + 1);
        pending.Commit(*result);
        batch.push_back(*result);
        if (const auto* fire = std::get_if<FireTimer>(&step.input)) gen.Fired(fire->timer);
      }
      gen.Learn(result);
      recorded.emplace_back(step, test::Observe(result));
    }
    for (const Outcome& o : batch) base.Commit(o);

    Harness one_by_one(limits);
    for (size_t i = 0; i < recorded.size(); ++i) {
      one_by_one.SetNow(recorded[i].first.now);
      const test::Observed observed = test::Observe(one_by_one.Step(recorded[i].first.input));
      ASSERT_EQ(observed, recorded[i].second) << "step " << i;
    }
    ASSERT_EQ(test::Dump(base), one_by_one.Dump());
  }
}

}  // namespace
}  // namespace rollcall::state
