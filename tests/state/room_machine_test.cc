// RoomMachine beyond the single cells of the table: rooms (ad-hoc and created), duplicate
// identities, capacity, room ends, timers, kicks, anonymization, deduplication, staleness,
// revision numbering and the contents and order of the changes of a revision.
#include "state/room_machine.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "state/records.h"
#include "state/roster.h"
#include "tests/state/state_harness.h"

namespace rollcall::state {
namespace {

using test::AccountA;
using test::AccountB;
using test::At;
using test::AtMillis;
using test::Harness;
using test::HasError;
using test::ParticipantOf;
using test::PaSid;
using test::PaText;
using test::RmSid;
using test::RmText;
using test::RoomOf;
using test::TypesOf;
using ::testing::ElementsAre;
using CT = ChangeType;
using PS = ParticipantStatus;

constexpr auto kNotFound = absl::StatusCode::kNotFound;
constexpr auto kFailedPrecondition = absl::StatusCode::kFailedPrecondition;
constexpr auto kExhausted = absl::StatusCode::kResourceExhausted;
constexpr auto kAlreadyExists = absl::StatusCode::kAlreadyExists;
constexpr auto kPermissionDenied = absl::StatusCode::kPermissionDenied;
constexpr auto kInvalid = absl::StatusCode::kInvalidArgument;

CreateRoom WithMax(CreateRoom c, int32_t max) {
  c.max_participants = max;
  return c;
}

// ---- Rooms coming into being ----

TEST(AdHocRoomTest, ConnectedByUnknownNameCreatesRoomInSameRevision) {
  Harness h;
  h.SetNow(At(100));
  const Outcome o = h.Apply(h.Connected("standup", "alice", At(99)));
  ASSERT_THAT(TypesOf(o.changes), ElementsAre(CT::kRoomCreated, CT::kParticipantConnected));
  EXPECT_EQ(o.revision, 1u);
  const Room room = RoomOf(o.changes[0]);
  EXPECT_EQ(room.sid.prefix(), kRoomPrefix);
  EXPECT_EQ(room.account_sid, AccountA());
  EXPECT_EQ(room.unique_name, "standup");
  EXPECT_EQ(room.status, RoomStatus::kInProgress);
  EXPECT_TRUE(room.ad_hoc);
  EXPECT_EQ(room.date_created, At(100));
  EXPECT_EQ(room.date_updated, At(100));
  EXPECT_FALSE(room.end_time.has_value());
  EXPECT_FALSE(room.duration.has_value());
  EXPECT_EQ(room.max_participants, kDefaultMaxParticipants);
  EXPECT_EQ(room.max_participant_duration, kDefaultMaxParticipantDuration);
  EXPECT_EQ(room.empty_room_timeout, kDefaultRoomTimeout);
  EXPECT_EQ(room.unused_room_timeout, kDefaultRoomTimeout);
  EXPECT_EQ(room.status_callback_method, "POST");
  EXPECT_EQ(room.revision, 1u);
  EXPECT_EQ(o.changes[0].time, At(100));
  EXPECT_EQ(o.changes[0].previous_status, PS::kUnspecified);

  const Participant p = ParticipantOf(o.changes[1]);
  EXPECT_EQ(p.sid.prefix(), kParticipantPrefix);
  EXPECT_NE(p.sid.ToString(), room.sid.ToString());
  EXPECT_EQ(p.room_sid, room.sid);
  EXPECT_EQ(p.account_sid, AccountA());
  EXPECT_EQ(p.identity, "alice");
  EXPECT_EQ(p.status, PS::kConnected);
  EXPECT_EQ(p.start_time, At(99));
  EXPECT_EQ(p.last_event_time, At(99));
  EXPECT_EQ(p.date_created, At(100));
  EXPECT_EQ(p.date_updated, At(100));
  EXPECT_EQ(p.revision, 1u);
  EXPECT_EQ(p.disconnect_reason, DisconnectReason::kUnspecified);
  EXPECT_FALSE(p.reconnecting_since.has_value());
  EXPECT_EQ(o.changes[1].previous_status, PS::kUnspecified);
  ASSERT_TRUE(o.participant.has_value());
  EXPECT_EQ(*o.participant, p);

  const Roster& r = h.roster();
  ASSERT_NE(r.FindRoom(room.sid), nullptr);
  EXPECT_EQ(*r.FindRoom(room.sid), room);
  EXPECT_EQ(r.FindInProgressRoomByName(AccountA(), "standup"), r.FindRoom(room.sid));
  EXPECT_EQ(r.FindInProgressRoomByName(AccountB(), "standup"), nullptr);
  ASSERT_NE(r.FindActiveByIdentity(room.sid, "alice"), nullptr);
  EXPECT_EQ(r.FindActiveByIdentity(room.sid, "alice")->sid, p.sid);
  EXPECT_EQ(r.Activity(room.sid).active, 1);
  EXPECT_EQ(r.Activity(room.sid).sessions, 1);
  EXPECT_EQ(r.room_count(), 1u);
  EXPECT_EQ(r.in_progress_room_count(), 1u);
  EXPECT_EQ(r.participant_count(), 1u);
  EXPECT_EQ(r.active_participant_count(), 1u);

  // A second participant joins the same room: no second ROOM_CREATED.
  const Outcome o2 = h.Apply(h.Connected("standup", "bob", At(100)));
  ASSERT_THAT(TypesOf(o2.changes), ElementsAre(CT::kParticipantConnected));
  EXPECT_EQ(o2.participant->room_sid, room.sid);
  EXPECT_EQ(h.GetRoom(room.sid).revision, 1u) << "joins do not change the room record";
}

TEST(AdHocRoomTest, ConnectedByUnknownSidUsesThatSid) {
  Harness h;
  const Outcome o = h.Apply(h.Connected(RmText(42), "alice", At(0)));
  ASSERT_THAT(TypesOf(o.changes), ElementsAre(CT::kRoomCreated, CT::kParticipantConnected));
  const Room room = RoomOf(o.changes[0]);
  EXPECT_EQ(room.sid, RmSid(42));
  EXPECT_EQ(room.unique_name, RmText(42)) << "a room without a name is named by its SID";
  EXPECT_TRUE(room.ad_hoc);
  EXPECT_EQ(o.participant->room_sid, RmSid(42));
  // The room can be named by that SID or by its name afterwards.
  EXPECT_TRUE(h.Step(h.Reconnecting(RmText(42), o.participant->sid.ToString(), At(1))).ok());
}

TEST(AdHocRoomTest, ParticipantSidGivenOrGenerated) {
  Harness h;
  const Participant given = h.Connect("r", "a", At(0), PaText(7));
  EXPECT_EQ(given.sid, PaSid(7));
  const Participant g1 = h.Connect("r", "b", At(0));
  const Participant g2 = h.Connect("r", "c", At(0));
  EXPECT_EQ(g1.sid.prefix(), kParticipantPrefix);
  EXPECT_NE(g1.sid, g2.sid);
  EXPECT_NE(g1.sid, given.sid);
  // Deterministic: the same inputs give the same SIDs.
  Harness again;
  again.Connect("r", "a", At(0), PaText(7));
  EXPECT_EQ(again.Connect("r", "b", At(0)).sid, g1.sid);
}

TEST(AdHocRoomTest, CompletesWhenLastActiveParticipantLeaves) {
  Harness h;
  h.SetNow(At(0));
  const Participant a = h.Connect("adhoc", "a", At(0));
  h.SetNow(At(10));
  const Participant b = h.Connect("adhoc", "b", At(10));
  h.SetNow(At(20));
  const Outcome first = h.Apply(h.Disconnected("adhoc", a.sid.ToString(), At(20)));
  ASSERT_THAT(TypesOf(first.changes), ElementsAre(CT::kParticipantDisconnected));
  EXPECT_EQ(h.GetRoom(a.room_sid).status, RoomStatus::kInProgress);

  h.SetNow(AtMillis(30'700));
  const Outcome last = h.Apply(h.Disconnected("adhoc", b.sid.ToString(), At(30)));
  ASSERT_THAT(TypesOf(last.changes), ElementsAre(CT::kParticipantDisconnected, CT::kRoomEnded));
  EXPECT_EQ(ParticipantOf(last.changes[0]).sid, b.sid);
  const Room room = RoomOf(last.changes[1]);
  EXPECT_EQ(room.status, RoomStatus::kCompleted);
  ASSERT_TRUE(room.end_time.has_value());
  ASSERT_TRUE(room.duration.has_value());
  EXPECT_EQ(*room.duration, test::FloorSeconds(*room.end_time - room.date_created));
  EXPECT_GE(*room.end_time, room.date_created);
  EXPECT_EQ(room.revision, last.revision);
  EXPECT_EQ(h.GetRoom(room.sid), room);
  EXPECT_EQ(h.roster().FindInProgressRoomByName(AccountA(), "adhoc"), nullptr);
  EXPECT_EQ(h.roster().in_progress_room_count(), 0u);
  EXPECT_EQ(h.roster().active_participant_count(), 0u);
}

TEST(AdHocRoomTest, CompletesWhenLastParticipantIsKicked) {
  Harness h;
  const Participant a = h.Connect("adhoc", "a", At(0));
  h.SetNow(At(5));
  const Outcome o = h.Apply(h.Kick("", a.sid.ToString()));
  ASSERT_THAT(TypesOf(o.changes), ElementsAre(CT::kParticipantDisconnected, CT::kRoomEnded));
  EXPECT_EQ(RoomOf(o.changes[1]).status, RoomStatus::kCompleted);
}

TEST(AdHocRoomTest, DuplicateIdentityDoesNotCompleteIt) {
  Harness h;
  h.Connect("adhoc", "a", At(0));
  const Outcome o = h.Apply(h.Connected("adhoc", "a", At(1)));
  ASSERT_THAT(TypesOf(o.changes),
              ElementsAre(CT::kParticipantDisconnected, CT::kParticipantConnected));
  EXPECT_EQ(h.GetRoom(o.participant->room_sid).status, RoomStatus::kInProgress);
}

TEST(CreatedRoomTest, DoesNotCompleteWhenEmptied) {
  Harness h;
  h.SetNow(At(0));
  const Room room = h.CreateRoomNamed("meet");
  const Participant a = h.Connect("meet", "a", At(1));
  h.SetNow(At(30));
  const Outcome o = h.Apply(h.Disconnected("meet", a.sid.ToString(), At(29)));
  ASSERT_THAT(TypesOf(o.changes), ElementsAre(CT::kParticipantDisconnected));
  EXPECT_EQ(h.GetRoom(room.sid).status, RoomStatus::kInProgress);
  EXPECT_EQ(h.roster().Activity(room.sid).active, 0);
  EXPECT_EQ(h.roster().Activity(room.sid).last_departure, At(30));
}

TEST(CreatedRoomTest, CreateRoomOutcome) {
  Harness h;
  h.SetNow(At(3));
  const Outcome o = h.Apply(h.NewRoom("meet"));
  ASSERT_THAT(TypesOf(o.changes), ElementsAre(CT::kRoomCreated));
  ASSERT_TRUE(o.room.has_value());
  EXPECT_EQ(RoomOf(o.changes[0]), *o.room);
  EXPECT_EQ(o.room->revision, 1u);
  EXPECT_EQ(o.changes[0].time, At(3));
  EXPECT_FALSE(o.dedupe.has_value()) << "commands are not deduplicated";
  EXPECT_EQ(*h.roster().FindInProgressRoomByName(AccountA(), "meet"), *o.room);
}

// ---- Completed rooms ----

TEST(CompletedRoomTest, ConnectedBySidIsFailedPrecondition) {
  Harness h;
  const Room room = h.CreateRoomNamed("done");
  h.SetNow(At(10));
  h.Apply(h.End("done"));
  const test::RosterDump before = h.Dump();
  EXPECT_TRUE(
      HasError(h.Step(h.Connected(room.sid.ToString(), "a", At(10))), kFailedPrecondition, ""));
  EXPECT_TRUE(HasError(h.Step(h.Connected(room.sid.ToString(), "a", At(10), PaText(3))),
                       kFailedPrecondition, ""));
  EXPECT_EQ(h.Dump(), before);
}

TEST(CompletedRoomTest, ConnectedByNameCreatesANewAdHocRoom) {
  Harness h;
  const Room old_room = h.CreateRoomNamed("done");
  h.SetNow(At(10));
  h.Apply(h.End("done"));
  h.SetNow(At(20));
  const Outcome o = h.Apply(h.Connected("done", "a", At(20)));
  ASSERT_THAT(TypesOf(o.changes), ElementsAre(CT::kRoomCreated, CT::kParticipantConnected));
  const Room fresh = RoomOf(o.changes[0]);
  EXPECT_NE(fresh.sid, old_room.sid);
  EXPECT_EQ(fresh.unique_name, "done");
  EXPECT_TRUE(fresh.ad_hoc);
  EXPECT_EQ(h.GetRoom(old_room.sid).status, RoomStatus::kCompleted);
  EXPECT_EQ(h.roster().FindInProgressRoomByName(AccountA(), "done")->sid, fresh.sid);
}

TEST(CompletedRoomTest, NameIsFreeForCreateRoom) {
  Harness h;
  const Room first = h.CreateRoomNamed("again");
  EXPECT_TRUE(HasError(h.Step(h.NewRoom("again")), kAlreadyExists, "unique_name"));
  h.Apply(h.End(first.sid.ToString()));
  const Room second = h.CreateRoomNamed("again");
  EXPECT_NE(second.sid, first.sid);
  EXPECT_EQ(second.unique_name, "again");
}

// ---- Duplicate identity ----

TEST(DuplicateIdentityTest, OldSessionDisconnectedFirstInOneRevision) {
  Harness h;
  h.SetNow(At(0));
  const Room room = h.CreateRoomNamed("r");
  h.SetNow(At(10));
  h.Connect("r", "alice", At(10), PaText(1));
  h.SetNow(At(20));
  const uint64_t before = h.roster().revision();
  const Outcome o = h.Apply(h.Connected("r", "alice", AtMillis(19'900), PaText(2)));
  EXPECT_EQ(o.revision, before + 1);
  ASSERT_THAT(TypesOf(o.changes),
              ElementsAre(CT::kParticipantDisconnected, CT::kParticipantConnected));
  const Participant old_after = ParticipantOf(o.changes[0]);
  EXPECT_EQ(old_after.sid, PaSid(1));
  EXPECT_EQ(old_after.status, PS::kDisconnected);
  EXPECT_EQ(old_after.disconnect_reason, DisconnectReason::kDuplicateIdentity);
  EXPECT_EQ(old_after.end_time, AtMillis(19'900)) << "the new event's occurred_at";
  EXPECT_EQ(old_after.duration, 9);
  EXPECT_EQ(old_after.revision, o.revision);
  EXPECT_EQ(o.changes[0].previous_status, PS::kConnected);
  const Participant fresh = ParticipantOf(o.changes[1]);
  EXPECT_EQ(fresh.sid, PaSid(2));
  EXPECT_EQ(fresh.status, PS::kConnected);
  EXPECT_EQ(o.changes[1].previous_status, PS::kUnspecified);
  EXPECT_EQ(o.participant->sid, PaSid(2)) << "the subject is the new session";

  EXPECT_EQ(h.roster().FindActiveByIdentity(room.sid, "alice")->sid, PaSid(2));
  EXPECT_EQ(h.Get(PaSid(1)), old_after);
  EXPECT_EQ(h.roster().Activity(room.sid).active, 1);
  EXPECT_EQ(h.roster().Activity(room.sid).sessions, 2);
}

TEST(DuplicateIdentityTest, EndTimeClampedToOldStart) {
  Harness h;
  h.CreateRoomNamed("r");
  h.SetNow(At(50));
  h.Connect("r", "alice", At(50), PaText(1));
  // The new session's occurred_at is before the old one started (clocks of two servers).
  const Outcome o = h.Apply(h.Connected("r", "alice", At(40), PaText(2)));
  ASSERT_EQ(o.changes.size(), 2u);
  const Participant old_after = ParticipantOf(o.changes[0]);
  EXPECT_EQ(old_after.end_time, At(50));
  EXPECT_EQ(old_after.duration, 0);
  EXPECT_EQ(ParticipantOf(o.changes[1]).start_time, At(40));
}

TEST(DuplicateIdentityTest, ReplacesAReconnectingSession) {
  Harness h;
  h.CreateRoomNamed("r");
  h.Connect("r", "alice", At(0), PaText(1));
  h.Apply(h.Reconnecting("r", PaText(1), At(5)));
  const Outcome o = h.Apply(h.Connected("r", "alice", At(8), PaText(2)));
  ASSERT_EQ(o.changes.size(), 2u);
  EXPECT_EQ(o.changes[0].previous_status, PS::kReconnecting);
  EXPECT_EQ(ParticipantOf(o.changes[0]).disconnect_reason, DisconnectReason::kDuplicateIdentity);
  EXPECT_EQ(ParticipantOf(o.changes[0]).end_time, At(8));
}

TEST(DuplicateIdentityTest, OnlyWithinTheRoomAndOnlyActiveSessions) {
  Harness h;
  h.CreateRoomNamed("r1");
  h.CreateRoomNamed("r2");
  h.Connect("r1", "alice", At(0), PaText(1));
  const Outcome other_room = h.Apply(h.Connected("r2", "alice", At(1), PaText(2)));
  EXPECT_THAT(TypesOf(other_room.changes), ElementsAre(CT::kParticipantConnected));
  EXPECT_EQ(h.Get(PaSid(1)).status, PS::kConnected);
  // A disconnected session of the same identity is not replaced again.
  h.Apply(h.Disconnected("r2", PaText(2), At(2)));
  const Outcome rejoin = h.Apply(h.Connected("r2", "alice", At(3), PaText(3)));
  EXPECT_THAT(TypesOf(rejoin.changes), ElementsAre(CT::kParticipantConnected));
  EXPECT_EQ(h.Get(PaSid(2)).disconnect_reason, DisconnectReason::kClientInitiated);
}

// ---- Capacity ----

TEST(CapacityTest, FullRoomIsResourceExhausted) {
  Harness h;
  h.Create(WithMax(h.NewRoom("small"), 2));
  h.Connect("small", "a", At(0), PaText(1));
  h.Connect("small", "b", At(0), PaText(2));
  const test::RosterDump before = h.Dump();
  EXPECT_TRUE(HasError(h.Step(h.Connected("small", "c", At(1))), kExhausted, ""));
  EXPECT_EQ(h.Dump(), before);
  // RECONNECTING participants still count.
  h.Apply(h.Reconnecting("small", PaText(2), At(2)));
  EXPECT_TRUE(HasError(h.Step(h.Connected("small", "c", At(3))), kExhausted, ""));
  // A duplicate identity replacing its old session does not count twice.
  const Outcome dup = h.Apply(h.Connected("small", "b", At(4), PaText(3)));
  EXPECT_EQ(dup.changes.size(), 2u);
  EXPECT_EQ(h.roster().Activity(dup.participant->room_sid).active, 2);
  // Someone leaves: there is room again.
  h.Apply(h.Disconnected("small", PaText(1), At(5)));
  EXPECT_TRUE(h.Step(h.Connected("small", "c", At(6))).ok());
  EXPECT_TRUE(HasError(h.Step(h.Connected("small", "d", At(7))), kExhausted, ""));
}

TEST(CapacityTest, SingleSeatRoomAcceptsSameIdentityRejoining) {
  Harness h;
  h.Create(WithMax(h.NewRoom("solo"), 1));
  h.Connect("solo", "a", At(0), PaText(1));
  EXPECT_TRUE(HasError(h.Step(h.Connected("solo", "b", At(1))), kExhausted, ""));
  const Outcome o = h.Apply(h.Connected("solo", "a", At(2), PaText(2)));
  EXPECT_EQ(o.changes.size(), 2u);
}

TEST(CapacityTest, AdHocRoomUsesTheCappedDefault) {
  Limits limits;
  limits.max_room_participants = 2;
  Harness h(limits);
  h.Connect("adhoc", "a", At(0));
  h.Connect("adhoc", "b", At(0));
  EXPECT_TRUE(HasError(h.Step(h.Connected("adhoc", "c", At(0))), kExhausted, ""));
}

// ---- Ending a room ----

TEST(EndRoomTest, DisconnectsEveryActiveParticipantThenEndsTheRoom) {
  Harness h;
  h.SetNow(At(0));
  const Room room = h.CreateRoomNamed("meet");
  h.SetNow(At(10));
  h.Connect("meet", "a", At(10), PaText(1));
  h.SetNow(At(20));
  h.Connect("meet", "b", At(20), PaText(2));
  h.SetNow(At(25));
  h.Connect("meet", "c", At(25), PaText(3));
  h.Apply(h.Disconnected("meet", PaText(3), At(26)));
  h.SetNow(At(30));
  h.Apply(h.Reconnecting("meet", PaText(2), At(30)));
  const Participant c_before = h.Get(PaSid(3));

  h.SetNow(AtMillis(100'500));
  const Outcome o = h.Apply(h.End("meet"));
  ASSERT_THAT(TypesOf(o.changes), ElementsAre(CT::kParticipantDisconnected,
                                              CT::kParticipantDisconnected, CT::kRoomEnded));
  const Participant a = ParticipantOf(o.changes[0]);
  const Participant b = ParticipantOf(o.changes[1]);
  EXPECT_EQ(a.sid, PaSid(1)) << "in (date_created, sid) order";
  EXPECT_EQ(b.sid, PaSid(2));
  EXPECT_EQ(o.changes[0].previous_status, PS::kConnected);
  EXPECT_EQ(o.changes[1].previous_status, PS::kReconnecting);
  for (const Participant& p : {a, b}) {
    EXPECT_EQ(p.status, PS::kDisconnected);
    EXPECT_EQ(p.disconnect_reason, DisconnectReason::kRoomEnded);
    EXPECT_EQ(p.end_time, AtMillis(100'500));
    EXPECT_EQ(p.duration, test::FloorSeconds(AtMillis(100'500) - p.start_time));
    EXPECT_EQ(p.revision, o.revision);
  }
  EXPECT_EQ(a.duration, 90);
  const Room ended = RoomOf(o.changes[2]);
  EXPECT_EQ(ended.sid, room.sid);
  EXPECT_EQ(ended.status, RoomStatus::kCompleted);
  EXPECT_EQ(ended.end_time, AtMillis(100'500));
  EXPECT_EQ(ended.duration, 100);
  EXPECT_EQ(ended.date_updated, AtMillis(100'500));
  EXPECT_EQ(ended.revision, o.revision);
  ASSERT_TRUE(o.room.has_value());
  EXPECT_EQ(*o.room, ended);
  EXPECT_EQ(h.GetRoom(room.sid), ended);
  EXPECT_EQ(h.Get(PaSid(3)), c_before) << "an already disconnected participant is untouched";
  EXPECT_EQ(h.roster().active_participant_count(), 0u);
  EXPECT_EQ(h.roster().FindInProgressRoomByName(AccountA(), "meet"), nullptr);
  EXPECT_FALSE(h.roster().NextTimer().has_value()) << "a completed room has no timers";

  // Ending it again.
  const test::RosterDump after = h.Dump();
  EXPECT_TRUE(HasError(h.Step(h.End(room.sid.ToString())), kFailedPrecondition, ""));
  EXPECT_TRUE(HasError(h.Step(h.End("meet")), kNotFound, "")) << "names are in-progress rooms";
  EXPECT_EQ(h.Dump(), after);
}

TEST(EndRoomTest, EmptyRoomEndsWithOneChange) {
  Harness h;
  h.CreateRoomNamed("quiet");
  h.SetNow(At(61));
  const Outcome o = h.Apply(h.End("quiet"));
  ASSERT_THAT(TypesOf(o.changes), ElementsAre(CT::kRoomEnded));
  EXPECT_EQ(o.room->duration, 61);
}

TEST(EndRoomTest, UnknownRoomIsNotFound) {
  Harness h;
  h.CreateRoomNamed("x");
  const test::RosterDump before = h.Dump();
  EXPECT_TRUE(HasError(h.Step(h.End("nope")), kNotFound, ""));
  EXPECT_TRUE(HasError(h.Step(h.End(RmText(9))), kNotFound, ""));
  h.UseAccount(AccountB());
  EXPECT_TRUE(HasError(h.Step(h.End("x")), kNotFound, "")) << "another account's room";
  EXPECT_EQ(h.Dump(), before);
}

// ---- Timers ----

TEST(TimerTest, UnusedCreatedRoomCompletesAfterUnusedTimeout) {
  Harness h;
  h.SetNow(At(0));
  CreateRoom c = h.NewRoom("idle");
  c.unused_room_timeout = 2;
  c.empty_room_timeout = 3;
  const Room room = h.Create(c);
  const Timer idle{At(120), TimerKind::kRoomIdle, room.sid};
  EXPECT_EQ(h.roster().NextTimer(), idle);
  EXPECT_THAT(h.roster().TimersOf(room), ::testing::Contains(idle));
  EXPECT_THAT(
      h.roster().TimersOf(room),
      ::testing::Contains(Timer{At(0) + absl::Hours(24), TimerKind::kRoomMaxDuration, room.sid}));

  h.SetNow(At(119));
  const test::RosterDump before = h.Dump();
  EXPECT_TRUE(HasError(h.Step(Harness::Fire(idle)), kFailedPrecondition, "")) << "not due";
  EXPECT_EQ(h.Dump(), before);

  h.SetNow(At(130));
  const Outcome o = h.Apply(Harness::Fire(idle));
  ASSERT_THAT(TypesOf(o.changes), ElementsAre(CT::kRoomEnded));
  const Room ended = RoomOf(o.changes[0]);
  EXPECT_EQ(ended.status, RoomStatus::kCompleted);
  EXPECT_EQ(ended.end_time, At(120)) << "the deadline, not the late firing";
  EXPECT_EQ(ended.duration, 120);
  EXPECT_EQ(ended.date_updated, At(130));
  EXPECT_EQ(o.changes[0].time, At(130));
  EXPECT_FALSE(o.dedupe.has_value());
  EXPECT_FALSE(h.roster().NextTimer().has_value());
  EXPECT_TRUE(HasError(h.Step(Harness::Fire(idle)), kFailedPrecondition, "")) << "fired already";
}

TEST(TimerTest, EmptiedCreatedRoomCompletesAfterEmptyTimeout) {
  Harness h;
  h.SetNow(At(0));
  CreateRoom c = h.NewRoom("e");
  c.empty_room_timeout = 3;
  const Room room = h.Create(c);
  h.SetNow(At(10));
  h.Connect("e", "a", At(10), PaText(1));
  for (const Timer& t : h.roster().TimersOf(h.GetRoom(room.sid))) {
    EXPECT_NE(t.kind, TimerKind::kRoomIdle) << "no idle timer while someone is in the room";
  }
  EXPECT_EQ(h.roster().NextTimer(), (Timer{At(10 + 14400), TimerKind::kSessionLimit, PaSid(1)}));

  h.SetNow(At(50));
  h.Apply(h.Disconnected("e", PaText(1), At(45)));
  const Timer first_idle{At(50 + 180), TimerKind::kRoomIdle, room.sid};
  EXPECT_EQ(h.roster().NextTimer(), first_idle) << "last departure (server time) + 3 min";

  h.SetNow(At(100));
  h.Connect("e", "b", At(100), PaText(2));
  EXPECT_EQ(h.roster().NextTimer(), (Timer{At(100 + 14400), TimerKind::kSessionLimit, PaSid(2)}));
  h.SetNow(At(300));
  EXPECT_TRUE(HasError(h.Step(Harness::Fire(first_idle)), kFailedPrecondition, ""))
      << "no longer current";

  h.SetNow(At(400));
  h.Apply(h.Disconnected("e", PaText(2), At(399)));
  const Timer second_idle{At(400 + 180), TimerKind::kRoomIdle, room.sid};
  EXPECT_EQ(h.roster().NextTimer(), second_idle);
  h.SetNow(At(600));
  const Outcome o = h.Apply(Harness::Fire(second_idle));
  ASSERT_THAT(TypesOf(o.changes), ElementsAre(CT::kRoomEnded));
  EXPECT_EQ(RoomOf(o.changes[0]).end_time, At(580));
  EXPECT_EQ(RoomOf(o.changes[0]).duration, 580);
}

TEST(TimerTest, AdHocRoomHasNoIdleTimer) {
  Harness h;
  const Participant a = h.Connect("adhoc", "a", At(0));
  for (const Timer& t : h.roster().TimersOf(h.GetRoom(a.room_sid))) {
    EXPECT_NE(t.kind, TimerKind::kRoomIdle);
  }
  EXPECT_THAT(
      h.roster().TimersOf(h.GetRoom(a.room_sid)),
      ::testing::Contains(Timer{At(0) + absl::Hours(24), TimerKind::kRoomMaxDuration, a.room_sid}));
}

TEST(TimerTest, ReconnectTimeoutDisconnectsAtReconnectStart) {
  Harness h;
  h.CreateRoomNamed("r");
  h.Connect("r", "a", At(0), PaText(1));
  h.SetNow(At(12));
  h.Apply(h.Reconnecting("r", PaText(1), At(10)));
  const Timer timeout{At(40), TimerKind::kReconnectTimeout, PaSid(1)};
  EXPECT_EQ(h.roster().NextTimer(), timeout);
  EXPECT_THAT(h.roster().TimersOf(h.Get(PaSid(1))), ::testing::Contains(timeout));

  h.SetNow(At(39));
  EXPECT_TRUE(HasError(h.Step(Harness::Fire(timeout)), kFailedPrecondition, ""));
  h.SetNow(At(45));
  const Outcome o = h.Apply(Harness::Fire(timeout));
  ASSERT_THAT(TypesOf(o.changes), ElementsAre(CT::kParticipantDisconnected));
  const Participant p = ParticipantOf(o.changes[0]);
  EXPECT_EQ(p.status, PS::kDisconnected);
  EXPECT_EQ(p.disconnect_reason, DisconnectReason::kReconnectTimeout);
  EXPECT_EQ(p.end_time, At(10)) << "when reconnecting began";
  EXPECT_EQ(p.duration, 10);
  EXPECT_EQ(p.date_updated, At(45));
  EXPECT_EQ(o.changes[0].previous_status, PS::kReconnecting);
  EXPECT_EQ(o.changes[0].time, At(45));
  ASSERT_TRUE(o.participant.has_value());
  EXPECT_EQ(*o.participant, p);
  EXPECT_FALSE(o.dedupe.has_value());
}

TEST(TimerTest, ReconnectedCancelsTheReconnectTimeout) {
  Harness h;
  h.CreateRoomNamed("r");
  h.Connect("r", "a", At(0), PaText(1));
  h.Apply(h.Reconnecting("r", PaText(1), At(10)));
  const Timer timeout{At(40), TimerKind::kReconnectTimeout, PaSid(1)};
  ASSERT_EQ(h.roster().NextTimer(), timeout);
  h.Apply(h.Reconnected("r", PaText(1), At(20)));
  EXPECT_NE(h.roster().NextTimer(), timeout);
  h.SetNow(At(50));
  const test::RosterDump before = h.Dump();
  EXPECT_TRUE(HasError(h.Step(Harness::Fire(timeout)), kFailedPrecondition, ""));
  EXPECT_EQ(h.Dump(), before);
}

TEST(TimerTest, ReconnectTimeoutFollowsLimits) {
  Limits limits;
  limits.reconnect_timeout = absl::Seconds(60);
  Harness h(limits);
  h.CreateRoomNamed("r");
  h.Connect("r", "a", At(0), PaText(1));
  h.Apply(h.Reconnecting("r", PaText(1), At(10)));
  EXPECT_EQ(h.roster().NextTimer(), (Timer{At(70), TimerKind::kReconnectTimeout, PaSid(1)}));
}

TEST(TimerTest, ReconnectTimeoutOfLastParticipantEndsAdHocRoom) {
  Harness h;
  const Participant a = h.Connect("adhoc", "a", At(0));
  h.Apply(h.Reconnecting("adhoc", a.sid.ToString(), At(1)));
  const std::optional<Timer> timer = h.roster().NextTimer();
  ASSERT_TRUE(timer.has_value());
  EXPECT_EQ(timer->kind, TimerKind::kReconnectTimeout);
  h.SetNow(timer->deadline);
  const Outcome o = h.Apply(Harness::Fire(*timer));
  EXPECT_THAT(TypesOf(o.changes), ElementsAre(CT::kParticipantDisconnected, CT::kRoomEnded));
}

TEST(TimerTest, SessionLimitEndsAtStartPlusLimit) {
  Harness h;
  CreateRoom c = h.NewRoom("r");
  c.max_participant_duration = 600;
  h.Create(c);
  h.SetNow(At(6));
  h.Connect("r", "a", At(5), PaText(1));
  const Timer limit{At(605), TimerKind::kSessionLimit, PaSid(1)};
  EXPECT_EQ(h.roster().NextTimer(), limit);
  h.SetNow(At(604));
  EXPECT_TRUE(HasError(h.Step(Harness::Fire(limit)), kFailedPrecondition, ""));
  h.SetNow(At(700));
  const Outcome o = h.Apply(Harness::Fire(limit));
  ASSERT_THAT(TypesOf(o.changes), ElementsAre(CT::kParticipantDisconnected));
  const Participant p = ParticipantOf(o.changes[0]);
  EXPECT_EQ(p.disconnect_reason, DisconnectReason::kSessionLimit);
  EXPECT_EQ(p.end_time, At(605));
  EXPECT_EQ(p.duration, 600);
  EXPECT_EQ(o.changes[0].previous_status, PS::kConnected);
}

TEST(TimerTest, NextTimerIsTheEarliestOfAll) {
  Harness h;
  CreateRoom c = h.NewRoom("r");
  c.max_participant_duration = 600;
  h.Create(c);
  h.Connect("r", "a", At(0), PaText(1));
  h.Connect("r", "b", At(0), PaText(2));
  h.SetNow(At(590));
  h.Apply(h.Reconnecting("r", PaText(2), At(590)));
  // b: reconnect timeout at 620 and session limit at 600; a: session limit at 600.
  const std::optional<Timer> next = h.roster().NextTimer();
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->deadline, At(600));
  EXPECT_EQ(next->kind, TimerKind::kSessionLimit);
  EXPECT_THAT(
      h.roster().TimersOf(h.Get(PaSid(2))),
      ::testing::UnorderedElementsAre(Timer{At(600), TimerKind::kSessionLimit, PaSid(2)},
                                      Timer{At(620), TimerKind::kReconnectTimeout, PaSid(2)}));
  EXPECT_TRUE(h.roster().TimersOf(h.Get(PaSid(1))).size() == 1u);
}

TEST(TimerTest, MaxRoomDurationEndsTheRoomAtTheDeadline) {
  Limits limits;
  limits.max_room_duration = absl::Hours(1);
  Harness h(limits);
  h.SetNow(At(0));
  CreateRoom c = h.NewRoom("long");
  c.max_participant_duration = 86400;
  const Room room = h.Create(c);
  h.SetNow(At(10));
  h.Connect("long", "a", At(10), PaText(1));
  h.SetNow(At(20));
  h.Connect("long", "b", At(20), PaText(2));
  const Timer max{At(3600), TimerKind::kRoomMaxDuration, room.sid};
  EXPECT_EQ(h.roster().NextTimer(), max);
  h.SetNow(At(3599));
  EXPECT_TRUE(HasError(h.Step(Harness::Fire(max)), kFailedPrecondition, ""));

  h.SetNow(At(3700));
  const Outcome o = h.Apply(Harness::Fire(max));
  ASSERT_THAT(TypesOf(o.changes), ElementsAre(CT::kParticipantDisconnected,
                                              CT::kParticipantDisconnected, CT::kRoomEnded));
  for (int i = 0; i < 2; ++i) {
    const Participant p = ParticipantOf(o.changes[i]);
    EXPECT_EQ(p.disconnect_reason, DisconnectReason::kRoomEnded);
    EXPECT_EQ(p.end_time, At(3600)) << "the room's end";
    EXPECT_EQ(p.duration, test::FloorSeconds(At(3600) - p.start_time));
  }
  const Room ended = RoomOf(o.changes[2]);
  EXPECT_EQ(ended.status, RoomStatus::kCompleted);
  EXPECT_EQ(ended.end_time, At(3600));
  EXPECT_EQ(ended.duration, 3600);
  EXPECT_FALSE(h.roster().NextTimer().has_value());
}

TEST(TimerTest, MaxRoomDurationAppliesToAdHocRooms) {
  Limits limits;
  limits.max_room_duration = absl::Minutes(30);
  Harness h(limits);
  h.SetNow(At(0));
  const Participant a = h.Connect("adhoc", "a", At(0));
  const Timer max{At(1800), TimerKind::kRoomMaxDuration, a.room_sid};
  EXPECT_EQ(h.roster().NextTimer(), max);
  h.SetNow(At(1800));
  const Outcome o = h.Apply(Harness::Fire(max));
  EXPECT_THAT(TypesOf(o.changes), ElementsAre(CT::kParticipantDisconnected, CT::kRoomEnded));
}

TEST(TimerTest, UnknownTimerIsFailedPrecondition) {
  Harness h;
  h.SetNow(At(1000));
  EXPECT_TRUE(HasError(h.Step(Harness::Fire(Timer{At(1), TimerKind::kSessionLimit, PaSid(5)})),
                       kFailedPrecondition, ""));
  EXPECT_TRUE(HasError(h.Step(Harness::Fire(Timer{At(1), TimerKind::kRoomIdle, RmSid(5)})),
                       kFailedPrecondition, ""));
  // A real record with a made-up deadline.
  h.Connect("r", "a", At(0), PaText(1));
  EXPECT_TRUE(HasError(h.Step(Harness::Fire(Timer{At(1), TimerKind::kSessionLimit, PaSid(1)})),
                       kFailedPrecondition, ""));
  EXPECT_TRUE(HasError(h.Step(Harness::Fire(Timer{At(1), TimerKind::kReconnectTimeout, PaSid(1)})),
                       kFailedPrecondition, ""));
}

TEST(TimerTest, UnknownKindIsInvalidArgument) {
  Harness h;
  const Participant a = h.Connect("r", "a", At(0), PaText(1));
  h.SetNow(At(100));
  const test::RosterDump before = h.Dump();
  EXPECT_TRUE(HasError(h.Step(Harness::Fire(Timer{At(1), static_cast<TimerKind>(9), a.sid})),
                       kInvalid, "timer"));
  EXPECT_EQ(h.Dump(), before);
}

// ---- Kick ----

TEST(KickTest, RemovesAtServerTime) {
  Harness h;
  h.CreateRoomNamed("r");
  h.Connect("r", "a", At(0), PaText(1));
  h.SetNow(AtMillis(50'250));
  const Outcome o = h.Apply(h.Kick("", PaText(1)));  // the room is optional
  ASSERT_THAT(TypesOf(o.changes), ElementsAre(CT::kParticipantDisconnected));
  const Participant p = *o.participant;
  EXPECT_EQ(p.disconnect_reason, DisconnectReason::kRemoved);
  EXPECT_EQ(p.end_time, AtMillis(50'250));
  EXPECT_EQ(p.duration, 50);
  EXPECT_FALSE(o.dedupe.has_value());
  EXPECT_TRUE(HasError(h.Step(h.Kick("r", PaText(1))), kFailedPrecondition, "status"));
}

TEST(KickTest, RoomMustMatchAndAccountMustOwn) {
  Harness h;
  const Room r1 = h.CreateRoomNamed("r1");
  h.CreateRoomNamed("r2");
  h.Connect("r1", "a", At(0), PaText(1));
  const test::RosterDump before = h.Dump();
  EXPECT_TRUE(HasError(h.Step(h.Kick("r2", PaText(1))), kNotFound, "room"));
  EXPECT_TRUE(HasError(h.Step(h.Kick("nope", PaText(1))), kNotFound, "room"));
  EXPECT_TRUE(HasError(h.Step(h.Kick(RmText(99), PaText(1))), kNotFound, "room"));
  EXPECT_TRUE(HasError(h.Step(h.Anonymize("r2", PaText(1))), kNotFound, "room"));
  h.UseAccount(AccountB());
  EXPECT_TRUE(HasError(h.Step(h.Kick("", PaText(1))), kNotFound, ""));
  EXPECT_TRUE(HasError(h.Step(h.Anonymize("", PaText(1))), kNotFound, ""));
  EXPECT_TRUE(HasError(h.Step(h.Reconnecting(r1.sid.ToString(), PaText(1), At(1))), kNotFound, ""));
  EXPECT_EQ(h.Dump(), before);
  h.UseAccount(AccountA());
  EXPECT_TRUE(h.Step(h.Kick(r1.sid.ToString(), PaText(1))).ok());
}

// ---- Anonymize ----

TEST(AnonymizeTest, ReplacesIdentityOnceThenIsIgnored) {
  Harness h;
  const Room room = h.CreateRoomNamed("r");
  h.Connect("r", "alice", At(0), PaText(1));
  h.Apply(h.Disconnected("r", PaText(1), At(10)));
  const Participant before = h.Get(PaSid(1));
  h.SetNow(At(100));
  const Outcome o = h.Apply(h.Anonymize("r", PaText(1)));
  ASSERT_THAT(TypesOf(o.changes), ElementsAre(CT::kParticipantAnonymized));
  EXPECT_EQ(o.changes[0].previous_status, PS::kDisconnected);
  Participant expected = before;
  expected.identity = PaText(1);
  expected.revision = o.revision;
  expected.date_updated = At(100);
  EXPECT_EQ(*o.participant, expected);
  EXPECT_EQ(h.Get(PaSid(1)), expected);
  EXPECT_FALSE(o.dedupe.has_value());

  // Idempotent: a second anonymize changes nothing.
  h.SetNow(At(200));
  const test::RosterDump after = h.Dump();
  const Outcome again =
      h.Expect(h.Anonymize(room.sid.ToString(), PaText(1)), Disposition::kIgnored);
  EXPECT_EQ(again.revision, h.roster().revision());
  EXPECT_EQ(again.revision, o.revision);
  EXPECT_EQ(*again.participant, expected);
  EXPECT_TRUE(again.changes.empty());
  EXPECT_EQ(h.Dump(), after);

  // The old identity no longer finds it; the new one does.
  ParticipantQuery q;
  q.account_sid = AccountA();
  q.identity = "alice";
  EXPECT_TRUE(h.roster().ListParticipants(q).items.empty());
  q.identity = PaText(1);
  EXPECT_EQ(h.roster().ListParticipants(q).items.size(), 1u);
}

TEST(AnonymizeTest, ActiveParticipantIsFailedPrecondition) {
  Harness h;
  h.CreateRoomNamed("r");
  h.Connect("r", "alice", At(0), PaText(1));
  const test::RosterDump before = h.Dump();
  EXPECT_TRUE(HasError(h.Step(h.Anonymize("", PaText(1))), kFailedPrecondition, "participant_sid"));
  EXPECT_EQ(h.Dump(), before);
}

// ---- Deduplication ----

TEST(DedupeTest, RetryIsDuplicateWithOriginalRevisionAndCurrentRecord) {
  Harness h;
  h.SetNow(At(0));
  const Event connect = h.Connected("adhoc", "alice", At(0), PaText(1));
  const Outcome first = h.Apply(connect);
  ASSERT_TRUE(first.dedupe.has_value());
  const DedupeEntry expected_entry{
      AccountA(),     connect.event_id, RoomMachine::Fingerprint(connect),
      first.revision, PaSid(1),         At(0)};
  EXPECT_EQ(*first.dedupe, expected_entry);
  ASSERT_NE(h.roster().FindDedupe(AccountA(), connect.event_id), std::nullopt);
  EXPECT_EQ(*h.roster().FindDedupe(AccountA(), connect.event_id), expected_entry);
  EXPECT_EQ(h.roster().FindDedupe(AccountB(), connect.event_id), std::nullopt);
  EXPECT_EQ(h.roster().dedupe_count(), 1u);

  h.SetNow(At(10));
  const Event leave = h.Disconnected("adhoc", PaText(1), At(10));
  const Outcome second = h.Apply(leave);
  ASSERT_EQ(second.revision, first.revision + 1);

  h.SetNow(At(20));
  const test::RosterDump before = h.Dump();
  const Outcome retry = h.Expect(connect, Disposition::kDuplicate);
  EXPECT_EQ(retry.revision, first.revision) << "the original revision";
  ASSERT_TRUE(retry.participant.has_value());
  EXPECT_EQ(*retry.participant, h.Get(PaSid(1))) << "the participant's current record";
  EXPECT_EQ(retry.participant->status, PS::kDisconnected);
  EXPECT_TRUE(retry.changes.empty());
  EXPECT_FALSE(retry.dedupe.has_value());
  const Outcome retry2 = h.Expect(leave, Disposition::kDuplicate);
  EXPECT_EQ(retry2.revision, second.revision);
  EXPECT_EQ(h.Dump(), before);
}

TEST(DedupeTest, ReusedIdWithDifferentContentIsAlreadyExists) {
  Harness h;
  const Event connect = h.Connected("adhoc", "alice", At(0), PaText(1));
  h.Apply(connect);
  const test::RosterDump before = h.Dump();
  std::vector<Event> reuses;
  for (int i = 0; i < 7; ++i) reuses.push_back(connect);
  reuses[0].identity = "mallory";
  reuses[1].occurred_at = At(1);
  reuses[2].room = "elsewhere";
  reuses[3].participant_sid = PaText(2);
  reuses[4].type = EventType::kDisconnected;
  reuses[5].participant_sid = "";
  reuses[6].type = EventType::kReconnecting;
  for (const Event& e : reuses) {
    EXPECT_NE(RoomMachine::Fingerprint(e), RoomMachine::Fingerprint(connect));
    EXPECT_TRUE(HasError(h.Step(e), kAlreadyExists, "event.event_id"));
  }
  EXPECT_EQ(h.Dump(), before);
}

TEST(DedupeTest, EventIdsArePerAccount) {
  Harness h;
  const Event a = h.Connected("adhoc", "alice", At(0), PaText(1));
  h.Apply(a);
  h.UseAccount(AccountB());
  Event b = h.Connected("adhoc", "bob", At(0), PaText(2));
  b.event_id = a.event_id;
  const Outcome o = h.Apply(b);
  EXPECT_EQ(o.participant->account_sid, AccountB());
  EXPECT_EQ(o.participant->identity, "bob");
  EXPECT_EQ(h.roster().dedupe_count(), 2u);
  EXPECT_EQ(h.roster().FindDedupe(AccountB(), a.event_id)->participant_sid, PaSid(2));
  EXPECT_EQ(h.roster().FindDedupe(AccountA(), a.event_id)->participant_sid, PaSid(1));
  // Each account's retry is a duplicate of its own.
  EXPECT_EQ(h.Expect(b, Disposition::kDuplicate).participant->sid, PaSid(2));
  EXPECT_EQ(h.Expect(a, Disposition::kDuplicate).participant->sid, PaSid(1));
  // The same room name in two accounts is two rooms.
  EXPECT_NE(h.Get(PaSid(1)).room_sid, h.Get(PaSid(2)).room_sid);
}

TEST(DedupeTest, IgnoredAndFailedEventsAreNotRemembered) {
  Harness h;
  h.CreateRoomNamed("r");
  h.Connect("r", "alice", At(0), PaText(1));
  const size_t remembered = h.roster().dedupe_count();
  const Event noop = h.Reconnected("r", PaText(1), At(1));
  const Outcome ignored = h.Expect(noop, Disposition::kIgnored);
  EXPECT_FALSE(ignored.dedupe.has_value());
  EXPECT_EQ(h.roster().dedupe_count(), remembered);
  EXPECT_EQ(h.roster().FindDedupe(AccountA(), noop.event_id), std::nullopt);
  // Retried, it is decided again (ignored again, not a duplicate).
  h.Expect(noop, Disposition::kIgnored);
  // Its id may be reused with other content.
  Event reuse = h.Reconnecting("r", PaText(1), At(2));
  reuse.event_id = noop.event_id;
  h.Apply(reuse);

  const Event bad = h.Reconnecting("r", PaText(9), At(3));
  EXPECT_TRUE(HasError(h.Step(bad), kNotFound, ""));
  Event reuse_bad = h.Reconnected("r", PaText(1), At(4));
  reuse_bad.event_id = bad.event_id;
  h.Apply(reuse_bad);
}

TEST(DedupeTest, ExpiredKeyIsDecidedAfresh) {
  Harness h;
  h.CreateRoomNamed("r");
  h.SetNow(At(0));
  const Event connect = h.Connected("r", "alice", At(0), PaText(1));
  h.Apply(connect);
  h.SetNow(At(100));
  EXPECT_EQ(h.roster().ExpireDedupe(At(50)), 1u);
  EXPECT_EQ(h.roster().FindDedupe(AccountA(), connect.event_id), std::nullopt);
  // Now the CONNECTED names an existing SID: IGNORED rather than DUPLICATE.
  const Outcome o = h.Expect(connect, Disposition::kIgnored);
  EXPECT_EQ(o.revision, h.roster().revision());
}

TEST(DedupeTest, FingerprintIsContentHash) {
  Harness h;
  const Event e = h.Disconnected("r", PaText(1), At(5), DisconnectReason::kRemoved);
  Event same = e;
  EXPECT_EQ(RoomMachine::Fingerprint(e), RoomMachine::Fingerprint(same));
  std::vector<Event> variants(6, e);
  variants[0].reason = DisconnectReason::kClientInitiated;
  variants[1].occurred_at = At(5) + absl::Nanoseconds(1);
  variants[2].room = "s";
  variants[3].participant_sid = PaText(2);
  variants[4].identity = "x";
  variants[5].type = EventType::kReconnecting;
  for (const Event& v : variants) {
    EXPECT_NE(RoomMachine::Fingerprint(v), RoomMachine::Fingerprint(e));
  }
}

// ---- Staleness, room references ----

TEST(StaleTest, StrictlyEarlierIsStaleEqualIsNot) {
  Harness h;
  h.CreateRoomNamed("r");
  h.Connect("r", "a", At(0), PaText(1));
  h.Apply(h.Reconnecting("r", PaText(1), At(10)));
  EXPECT_EQ(h.Get(PaSid(1)).last_event_time, At(10));
  h.Expect(h.Reconnected("r", PaText(1), At(5)), Disposition::kIgnored);
  EXPECT_EQ(h.Get(PaSid(1)).status, PS::kReconnecting);
  h.Apply(h.Reconnected("r", PaText(1), At(10)));  // equal time: not stale
  EXPECT_EQ(h.Get(PaSid(1)).status, PS::kConnected);
  h.Expect(h.Reconnecting("r", PaText(1), AtMillis(9'999)), Disposition::kIgnored);
  h.Apply(h.Reconnecting("r", PaText(1), At(11)));
  EXPECT_EQ(h.Get(PaSid(1)).reconnecting_since, At(11));
  EXPECT_EQ(h.Get(PaSid(1)).last_event_time, At(11));
}

TEST(StaleTest, StaleDisconnectAfterReconnectedStillEndsTheSession) {
  Harness h;
  h.CreateRoomNamed("r");
  h.Connect("r", "a", At(0), PaText(1));
  h.Apply(h.Reconnecting("r", PaText(1), At(10)));
  h.Apply(h.Reconnected("r", PaText(1), At(20)));
  h.SetNow(At(30));
  const Outcome o = h.Apply(h.Disconnected("r", PaText(1), At(15)));
  EXPECT_EQ(o.participant->status, PS::kDisconnected);
  EXPECT_EQ(o.participant->end_time, At(15));
  EXPECT_EQ(o.participant->duration, 15);
}

TEST(RoomReferenceTest, EventMustNameTheParticipantsRoom) {
  Harness h;
  const Room r1 = h.CreateRoomNamed("r1");
  const Room r2 = h.CreateRoomNamed("r2");
  h.Connect("r1", "a", At(0), PaText(1));
  const test::RosterDump before = h.Dump();
  EXPECT_TRUE(HasError(h.Step(h.Reconnecting(r2.sid.ToString(), PaText(1), At(1))), kNotFound,
                       "event.room"));
  EXPECT_TRUE(HasError(h.Step(h.Reconnecting("r2", PaText(1), At(1))), kNotFound, "event.room"));
  EXPECT_TRUE(
      HasError(h.Step(h.Disconnected("nowhere", PaText(1), At(1))), kNotFound, "event.room"));
  EXPECT_TRUE(
      HasError(h.Step(h.Disconnected(RmText(77), PaText(1), At(1))), kNotFound, "event.room"));
  EXPECT_EQ(h.Dump(), before);
  // By SID (either case) or by name, it is the same room.
  h.Apply(h.Reconnecting(r1.sid.ToString(), PaText(1), At(1)));
  h.Apply(h.Reconnected("r1", PaText(1), At(2)));
  h.Apply(h.Disconnected(test::UpperHex(r1.sid.ToString()), PaText(1), At(3)));
}

// ---- Revisions and changes ----

TEST(RevisionTest, OnePerAppliedInputNoGaps) {
  Harness h;
  EXPECT_EQ(h.roster().revision(), 0u);
  const Room room = h.CreateRoomNamed("r");
  EXPECT_EQ(room.revision, 1u);
  EXPECT_EQ(h.roster().revision(), 1u);
  const Participant a = h.Connect("r", "a", At(0), PaText(1));
  EXPECT_EQ(a.revision, 2u);
  h.Expect(h.Reconnected("r", PaText(1), At(1)), Disposition::kIgnored);
  EXPECT_EQ(h.roster().revision(), 2u);
  EXPECT_FALSE(h.Step(h.Reconnecting("r", PaText(5), At(1))).ok());
  EXPECT_EQ(h.roster().revision(), 2u);
  const Outcome dup = h.Apply(h.Connected("r", "a", At(2), PaText(2)));
  EXPECT_EQ(dup.revision, 3u);
  EXPECT_EQ(h.Get(PaSid(1)).revision, 3u);
  EXPECT_EQ(h.Get(PaSid(2)).revision, 3u);
  EXPECT_EQ(h.GetRoom(room.sid).revision, 1u);
  const Outcome end = h.Apply(h.End("r"));
  EXPECT_EQ(end.revision, 4u);
  EXPECT_EQ(h.GetRoom(room.sid).revision, 4u);
  EXPECT_EQ(h.Get(PaSid(2)).revision, 4u);
  EXPECT_EQ(h.Get(PaSid(1)).revision, 3u) << "untouched records keep their revision";
  for (const Change& c : end.changes) {
    EXPECT_EQ(c.revision, 4u);
    EXPECT_EQ(c.time, h.now());
  }
}

TEST(RevisionTest, RestoredRevisionContinues) {
  Harness h;
  h.roster().RestoreRevision(41);
  const Outcome o = h.Apply(h.NewRoom("r"));
  EXPECT_EQ(o.revision, 42u);
  EXPECT_EQ(o.room->revision, 42u);
}

TEST(DecideTest, DoesNotModifyTheRosterAndIsDeterministic) {
  Harness h;
  h.CreateRoomNamed("r");
  h.Connect("r", "a", At(0), PaText(1));
  const test::RosterDump before = h.Dump();
  const Input input = h.Reconnecting("r", PaText(1), At(3));
  const absl::StatusOr<Outcome> one = h.Decide(input);
  const absl::StatusOr<Outcome> two = h.Decide(input);
  ASSERT_TRUE(one.ok());
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(h.Dump(), before);
  EXPECT_EQ(one->revision, two->revision);
  EXPECT_EQ(one->changes, two->changes);
  EXPECT_EQ(one->participant, two->participant);
  EXPECT_EQ(one->dedupe, two->dedupe);
}

TEST(ChangeTest, ChangesCarryServerTimeAndTheResourceAfter) {
  Harness h;
  h.SetNow(At(0));
  h.CreateRoomNamed("r");
  h.SetNow(At(7));
  const Outcome c = h.Apply(h.Connected("r", "a", At(3), PaText(1)));
  ASSERT_EQ(c.changes.size(), 1u);
  EXPECT_EQ(c.changes[0].time, At(7));
  EXPECT_EQ(ParticipantOf(c.changes[0]), h.Get(PaSid(1)));
  h.SetNow(At(9));
  const Outcome r = h.Apply(h.Reconnecting("r", PaText(1), At(8)));
  EXPECT_EQ(r.changes[0].type, CT::kParticipantReconnecting);
  EXPECT_EQ(r.changes[0].previous_status, PS::kConnected);
  EXPECT_EQ(r.changes[0].time, At(9));
  EXPECT_EQ(ParticipantOf(r.changes[0]).reconnecting_since, At(8));
  h.SetNow(At(10));
  const Outcome back = h.Apply(h.Reconnected("r", PaText(1), At(10)));
  EXPECT_EQ(back.changes[0].type, CT::kParticipantReconnected);
  EXPECT_EQ(back.changes[0].previous_status, PS::kReconnecting);
  EXPECT_EQ(ParticipantOf(back.changes[0]).status, PS::kConnected);
  EXPECT_FALSE(ParticipantOf(back.changes[0]).reconnecting_since.has_value());
  h.SetNow(At(12));
  const Outcome d = h.Apply(h.Disconnected("r", PaText(1), AtMillis(11'999)));
  EXPECT_EQ(d.changes[0].type, CT::kParticipantDisconnected);
  EXPECT_EQ(d.changes[0].previous_status, PS::kConnected);
  EXPECT_EQ(ParticipantOf(d.changes[0]).duration, 8) << "floor(11.999 - 3)";
  EXPECT_EQ(ParticipantOf(d.changes[0]).date_updated, At(12));
  EXPECT_EQ(ParticipantOf(d.changes[0]).date_created, At(7));
}

TEST(ConnectedTest, ExistingSidIsIgnoredWhateverTheIdentity) {
  Harness h;
  h.CreateRoomNamed("r");
  h.Connect("r", "a", At(0), PaText(1));
  const test::RosterDump before = h.Dump();
  const Outcome o =
      h.Expect(h.Connected("r", "someone-else", At(5), PaText(1)), Disposition::kIgnored);
  EXPECT_EQ(o.participant->identity, "a");
  EXPECT_EQ(h.Dump(), before);
}

TEST(ConnectedTest, ExistingSidInACompletedAdHocRoomIsIgnored) {
  // docs/api.md, state table: DISCONNECTED x CONNECTED (same SID) is IGNORED, also when the
  // session's ad-hoc room completed with it (a late retry after the dedupe window, say).
  Harness h;
  const Participant a = h.Connect("adhoc", "a", At(0), PaText(1));
  h.SetNow(At(10));
  h.Apply(h.Disconnected("adhoc", PaText(1), At(10)));
  ASSERT_EQ(h.GetRoom(a.room_sid).status, RoomStatus::kCompleted);
  const test::RosterDump before = h.Dump();
  const Outcome by_sid =
      h.Expect(h.Connected(a.room_sid.ToString(), "a", At(0), PaText(1)), Disposition::kIgnored);
  EXPECT_EQ(*by_sid.participant, h.Get(PaSid(1)));
  const Outcome by_name =
      h.Expect(h.Connected("adhoc", "a", At(0), PaText(1)), Disposition::kIgnored);
  EXPECT_EQ(*by_name.participant, h.Get(PaSid(1)));
  EXPECT_EQ(h.Dump(), before);
  // Without the existing SID, the completed room is closed to newcomers.
  EXPECT_TRUE(HasError(h.Step(h.Connected(a.room_sid.ToString(), "b", At(11))), kFailedPrecondition,
                       "event.room"));
}

TEST(ConnectedTest, ExistingSidInAnotherRoomIsFailedPrecondition) {
  Harness h;
  h.CreateRoomNamed("r1");
  h.CreateRoomNamed("r2");
  h.Connect("r1", "a", At(0), PaText(1));
  const test::RosterDump before = h.Dump();
  EXPECT_TRUE(HasError(h.Step(h.Connected("r2", "a", At(1), PaText(1))), kFailedPrecondition,
                       "event.participant_sid"));
  EXPECT_EQ(h.Dump(), before);
}

TEST(ConnectedTest, SidsOfAnotherAccountAreNotTaken) {
  Harness h;
  const Participant a = h.Connect(RmText(5), "a", At(0), PaText(1));
  h.UseAccount(AccountB());
  const test::RosterDump before = h.Dump();
  EXPECT_TRUE(
      HasError(h.Step(h.Connected(RmText(5), "b", At(1))), kPermissionDenied, "event.room"));
  EXPECT_TRUE(HasError(h.Step(h.Connected("elsewhere", "b", At(1), PaText(1))), kPermissionDenied,
                       "event.participant_sid"));
  EXPECT_EQ(h.Dump(), before);
  EXPECT_EQ(a.room_sid, RmSid(5));
}

TEST(CommandValidationOrderTest, MalformedRoomIsInvalidEvenForUnknownParticipant) {
  // A malformed request is INVALID_ARGUMENT whatever exists (docs/api.md, state table).
  Harness h;
  const std::string bad_room = "RM" + std::string(32, 'z');
  EXPECT_TRUE(HasError(h.Step(h.Kick(bad_room, PaText(1))), kInvalid, "room"));
  EXPECT_TRUE(HasError(h.Step(h.Anonymize(bad_room, PaText(1))), kInvalid, "room"));
  EXPECT_TRUE(HasError(h.Step(h.Kick("", "PA123")), kInvalid, "participant_sid"));
}

TEST(ConnectedTest, InvalidInputNeverDrawsRoomsOrParticipants) {
  Harness h;
  Event bad = h.Connected("adhoc", "", At(0));
  EXPECT_TRUE(HasError(h.Step(bad), kInvalid, "event.identity"));
  EXPECT_EQ(h.roster().room_count(), 0u);
  EXPECT_EQ(h.roster().participant_count(), 0u);
}

}  // namespace
}  // namespace rollcall::state
