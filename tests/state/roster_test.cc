// Roster: listings (order, every filter, keyset paging that survives changes between pages),
// the derived indexes (activity, active identities, in-progress names), expiry of dedupe keys
// and of completed rooms, and Restore, which must rebuild exactly the same state and timers.
#include "state/roster.h"

#include <algorithm>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "state/records.h"
#include "tests/state/state_harness.h"

namespace rollcall::state {
namespace {

using test::AccountA;
using test::AccountB;
using test::At;
using test::Harness;
using test::PaSid;
using test::PaText;
using test::RmSid;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;
using PS = ParticipantStatus;

std::vector<Sid> SidsOf(const std::vector<Participant>& ps) {
  std::vector<Sid> sids;
  for (const Participant& p : ps) sids.push_back(p.sid);
  return sids;
}
std::vector<Sid> SidsOf(const std::vector<Room>& rs) {
  std::vector<Sid> sids;
  for (const Room& r : rs) sids.push_back(r.sid);
  return sids;
}

ParticipantQuery AllParticipants(const Sid& account = AccountA()) {
  ParticipantQuery q;
  q.account_sid = account;
  q.page_size = 1000;
  return q;
}
RoomQuery AllRooms(const Sid& account = AccountA()) {
  RoomQuery q;
  q.account_sid = account;
  q.page_size = 1000;
  return q;
}

std::vector<Sid> ListParticipantSids(const Roster& roster, ParticipantQuery q) {
  const Page<Participant> page = roster.ListParticipants(q);
  EXPECT_FALSE(page.next.has_value()) << "the test expects one page";
  return SidsOf(page.items);
}
std::vector<Sid> ListRoomSids(const Roster& roster, RoomQuery q) {
  const Page<Room> page = roster.ListRooms(q);
  EXPECT_FALSE(page.next.has_value()) << "the test expects one page";
  return SidsOf(page.items);
}

// Reads every page of a listing, calling `between(page_number)` after each page, and checks
// page size, order and that the pages neither repeat nor go backwards.
template <typename Query, typename List>
std::vector<Sid> ReadAllPages(Query q, int32_t page_size, List list,
                              const std::function<void(int)>& between = nullptr) {
  q.page_size = page_size;
  q.after.reset();
  std::vector<Sid> all;
  std::optional<PageKey> last_key;
  for (int page_number = 0; page_number < 1000; ++page_number) {
    const auto page = list(q);
    EXPECT_LE(page.items.size(), static_cast<size_t>(page_size));
    for (const auto& item : page.items) {
      const PageKey key{item.date_created, item.sid};
      if (last_key) {
        EXPECT_LT(*last_key, key) << "pages must be in strictly ascending order";
      }
      last_key = key;
      all.push_back(item.sid);
    }
    if (!page.next) return all;
    if (!page.items.empty()) {
      EXPECT_EQ(*page.next, (PageKey{page.items.back().date_created, page.items.back().sid}));
    }
    q.after = page.next;
    if (between) between(page_number);
  }
  ADD_FAILURE() << "paging did not end";
  return all;
}

// Six participants in room "r" (created at 0 s): P1 at 1 s, P2 at 2 s, ... P6 at 6 s.
void SixParticipants(Harness& h) {
  h.SetNow(At(0));
  h.CreateRoomNamed("r");
  for (int i = 1; i <= 6; ++i) {
    h.SetNow(At(i));
    h.Connect("r", absl::StrCat("u", i), At(i), PaText(i));
  }
}

// ---- Listing order and filters ----

TEST(ListParticipantsTest, OrderedByDateCreatedThenSid) {
  Harness h;
  h.SetNow(At(0));
  h.CreateRoomNamed("r");
  h.SetNow(At(5));
  h.Connect("r", "i", At(5), PaText(9));
  h.SetNow(At(10));
  h.Connect("r", "e", At(10), PaText(5));
  h.Connect("r", "c", At(10), PaText(3));
  h.SetNow(At(20));
  h.Connect("r", "a", At(20), PaText(1));
  EXPECT_THAT(ListParticipantSids(h.roster(), AllParticipants()),
              ElementsAre(PaSid(9), PaSid(3), PaSid(5), PaSid(1)));
  // ForEachParticipant walks the same order.
  std::vector<Sid> walked;
  h.roster().ForEachParticipant(AccountA(), std::nullopt,
                                [&](const Participant& p) { walked.push_back(p.sid); });
  EXPECT_THAT(walked, ElementsAre(PaSid(9), PaSid(3), PaSid(5), PaSid(1)));
  // ActiveParticipants too.
  std::vector<Sid> active;
  const Sid room = h.roster().FindInProgressRoomByName(AccountA(), "r")->sid;
  for (const Participant* p : h.roster().ActiveParticipants(room)) active.push_back(p->sid);
  EXPECT_THAT(active, ElementsAre(PaSid(9), PaSid(3), PaSid(5), PaSid(1)));
}

TEST(ListParticipantsTest, EveryFilter) {
  Harness h;
  h.SetNow(At(0));
  const Room r1 = h.CreateRoomNamed("r1");
  const Room r2 = h.CreateRoomNamed("r2");
  h.SetNow(At(10));
  h.Connect("r1", "alice", At(10), PaText(1));
  h.SetNow(At(20));
  h.Connect("r2", "alice", At(20), PaText(2));
  h.SetNow(At(30));
  h.Connect("r1", "bob", At(30), PaText(3));
  h.SetNow(At(40));
  h.Connect("r2", "carol", At(40), PaText(4));
  h.Apply(h.Reconnecting("r1", PaText(3), At(41)));
  h.Apply(h.Disconnected("r2", PaText(2), At(42)));
  h.UseAccount(AccountB());
  h.Connect("elsewhere", "alice", At(40), PaText(5));
  const Roster& roster = h.roster();

  EXPECT_THAT(ListParticipantSids(roster, AllParticipants()),
              ElementsAre(PaSid(1), PaSid(2), PaSid(3), PaSid(4)));
  EXPECT_THAT(ListParticipantSids(roster, AllParticipants(AccountB())), ElementsAre(PaSid(5)));

  ParticipantQuery q = AllParticipants();
  q.room_sid = r1.sid;
  EXPECT_THAT(ListParticipantSids(roster, q), ElementsAre(PaSid(1), PaSid(3)));
  q.room_sid = r2.sid;
  EXPECT_THAT(ListParticipantSids(roster, q), ElementsAre(PaSid(2), PaSid(4)));
  // A room of account A asked for by account B shows nothing.
  ParticipantQuery other = AllParticipants(AccountB());
  other.room_sid = r1.sid;
  EXPECT_THAT(ListParticipantSids(roster, other), IsEmpty());

  q = AllParticipants();
  q.statuses = {PS::kConnected};
  EXPECT_THAT(ListParticipantSids(roster, q), ElementsAre(PaSid(1), PaSid(4)));
  q.statuses = {PS::kDisconnected};
  EXPECT_THAT(ListParticipantSids(roster, q), ElementsAre(PaSid(2)));
  q.statuses = {PS::kReconnecting, PS::kDisconnected};
  EXPECT_THAT(ListParticipantSids(roster, q), ElementsAre(PaSid(2), PaSid(3)));

  q = AllParticipants();
  q.identity = "alice";
  EXPECT_THAT(ListParticipantSids(roster, q), ElementsAre(PaSid(1), PaSid(2)));
  q.identity = "Alice";
  EXPECT_THAT(ListParticipantSids(roster, q), IsEmpty()) << "byte-wise comparison";
  q.identity = "alice";
  q.room_sid = r2.sid;
  q.statuses = {PS::kDisconnected};
  EXPECT_THAT(ListParticipantSids(roster, q), ElementsAre(PaSid(2))) << "filters combine";

  q = AllParticipants();
  q.created_after = At(20);  // exclusive
  EXPECT_THAT(ListParticipantSids(roster, q), ElementsAre(PaSid(3), PaSid(4)));
  q.created_before = At(40);  // exclusive
  EXPECT_THAT(ListParticipantSids(roster, q), ElementsAre(PaSid(3)));
  q.created_after.reset();
  EXPECT_THAT(ListParticipantSids(roster, q), ElementsAre(PaSid(1), PaSid(2), PaSid(3)));
  q.created_before = At(10);
  EXPECT_THAT(ListParticipantSids(roster, q), IsEmpty());
  q.created_before = At(11);
  q.created_after = At(9);
  EXPECT_THAT(ListParticipantSids(roster, q), ElementsAre(PaSid(1)));

  q = AllParticipants();
  q.page_size = 3;
  const Page<Participant> page = roster.ListParticipants(q);
  EXPECT_THAT(SidsOf(page.items), ElementsAre(PaSid(1), PaSid(2), PaSid(3)));
  ASSERT_TRUE(page.next.has_value()) << "more follow";
  q.after = page.next;
  const Page<Participant> rest = roster.ListParticipants(q);
  EXPECT_THAT(SidsOf(rest.items), ElementsAre(PaSid(4)));
  EXPECT_FALSE(rest.next.has_value());
}

TEST(ListRoomsTest, OrderAndEveryFilter) {
  Harness h;
  h.SetNow(At(10));
  const Room x1 = h.CreateRoomNamed("x");
  h.SetNow(At(20));
  h.Apply(h.End("x"));
  const Room x2 = h.CreateRoomNamed("x");
  h.SetNow(At(30));
  const Participant p = h.Connect("y", "a", At(30));  // ad hoc
  const Room y = h.GetRoom(p.room_sid);
  h.SetNow(At(40));
  const Room z = h.CreateRoomNamed("z");
  h.UseAccount(AccountB());
  const Room b = h.CreateRoomNamed("x");
  const Roster& roster = h.roster();

  EXPECT_THAT(ListRoomSids(roster, AllRooms()), ElementsAre(x1.sid, x2.sid, y.sid, z.sid));
  EXPECT_THAT(ListRoomSids(roster, AllRooms(AccountB())), ElementsAre(b.sid));
  std::vector<Sid> walked;
  roster.ForEachRoom(AccountA(), std::nullopt, [&](const Room& r) { walked.push_back(r.sid); });
  EXPECT_THAT(walked, ElementsAre(x1.sid, x2.sid, y.sid, z.sid));
  walked.clear();
  roster.ForEachRoom(AccountA(), y.sid, [&](const Room& r) { walked.push_back(r.sid); });
  EXPECT_THAT(walked, ElementsAre(y.sid));
  walked.clear();
  roster.ForEachRoom(AccountB(), y.sid, [&](const Room& r) { walked.push_back(r.sid); });
  EXPECT_THAT(walked, IsEmpty()) << "not that account's room";

  RoomQuery q = AllRooms();
  q.statuses = {RoomStatus::kCompleted};
  EXPECT_THAT(ListRoomSids(roster, q), ElementsAre(x1.sid));
  q.statuses = {RoomStatus::kInProgress};
  EXPECT_THAT(ListRoomSids(roster, q), ElementsAre(x2.sid, y.sid, z.sid));
  q.statuses = {RoomStatus::kInProgress, RoomStatus::kCompleted};
  EXPECT_THAT(ListRoomSids(roster, q), ElementsAre(x1.sid, x2.sid, y.sid, z.sid));
  q.statuses = {RoomStatus::kFailed};
  EXPECT_THAT(ListRoomSids(roster, q), IsEmpty());

  q = AllRooms();
  q.unique_name = "x";
  EXPECT_THAT(ListRoomSids(roster, q), ElementsAre(x1.sid, x2.sid)) << "any status";
  q.statuses = {RoomStatus::kInProgress};
  EXPECT_THAT(ListRoomSids(roster, q), ElementsAre(x2.sid));

  q = AllRooms();
  q.created_after = At(20);
  EXPECT_THAT(ListRoomSids(roster, q), ElementsAre(y.sid, z.sid));
  q.created_before = At(40);
  EXPECT_THAT(ListRoomSids(roster, q), ElementsAre(y.sid));
  q.created_after.reset();
  EXPECT_THAT(ListRoomSids(roster, q), ElementsAre(x1.sid, x2.sid, y.sid));

  EXPECT_THAT(
      ReadAllPages(AllRooms(), 1, [&](const RoomQuery& rq) { return roster.ListRooms(rq); }),
      ElementsAre(x1.sid, x2.sid, y.sid, z.sid));
}

// ---- Paging while records change ----

TEST(PagingTest, ParticipantsInsertedAndChangedBetweenPages) {
  Harness h;
  SixParticipants(h);
  const Sid room = h.roster().FindInProgressRoomByName(AccountA(), "r")->sid;
  auto list = [&](const ParticipantQuery& q) { return h.roster().ListParticipants(q); };
  const std::vector<Sid> seen = ReadAllPages(AllParticipants(), 2, list, [&](int page) {
    if (page != 0) return;
    // After the first page (P1, P2):
    // a participant created later than the cursor appears,
    h.SetNow(At(7));
    h.Connect("r", "u7", At(7), PaText(7));
    // one created (restored) before the cursor does not,
    Participant early;
    early.sid = PaSid(8);
    early.account_sid = AccountA();
    early.room_sid = room;
    early.identity = "u8";
    early.status = PS::kDisconnected;
    early.date_created = early.date_updated = At(0);
    early.start_time = early.last_event_time = At(0);
    early.end_time = At(0);
    early.duration = 0;
    early.disconnect_reason = DisconnectReason::kClientInitiated;
    early.revision = 1;
    h.roster().Restore(early);
    // and status changes on either side of the cursor neither hide nor repeat anything.
    h.Apply(h.Disconnected("r", PaText(1), At(8)));
    h.Apply(h.Disconnected("r", PaText(3), At(8)));
    h.Apply(h.Reconnecting("r", PaText(4), At(8)));
  });
  EXPECT_THAT(seen,
              ElementsAre(PaSid(1), PaSid(2), PaSid(3), PaSid(4), PaSid(5), PaSid(6), PaSid(7)));
}

TEST(PagingTest, StatusFilterWhileStatusesChange) {
  Harness h;
  SixParticipants(h);
  ParticipantQuery q = AllParticipants();
  q.statuses = {PS::kConnected};
  auto list = [&](const ParticipantQuery& query) { return h.roster().ListParticipants(query); };
  const std::vector<Sid> seen = ReadAllPages(q, 2, list, [&](int page) {
    if (page == 0) {
      h.Apply(h.Disconnected("r", PaText(4), At(9)));  // leaves the filter ahead of the cursor
      h.Apply(h.Disconnected("r", PaText(1), At(9)));  // behind the cursor
    }
  });
  // P4 may or may not be seen; the others exactly once, in order.
  std::vector<Sid> without_p4 = seen;
  without_p4.erase(std::remove(without_p4.begin(), without_p4.end(), PaSid(4)), without_p4.end());
  EXPECT_THAT(without_p4, ElementsAre(PaSid(1), PaSid(2), PaSid(3), PaSid(5), PaSid(6)));
}

TEST(PagingTest, PerRoomPagingAndExactMultiple) {
  Harness h;
  SixParticipants(h);
  ParticipantQuery q = AllParticipants();
  q.room_sid = h.roster().FindInProgressRoomByName(AccountA(), "r")->sid;
  auto list = [&](const ParticipantQuery& query) { return h.roster().ListParticipants(query); };
  for (int32_t size : {1, 2, 3, 4, 5, 6, 7}) {
    EXPECT_THAT(ReadAllPages(q, size, list),
                ElementsAre(PaSid(1), PaSid(2), PaSid(3), PaSid(4), PaSid(5), PaSid(6)))
        << "page size " << size;
  }
  // The cursor is a key, not a position: resuming after a key between records works.
  q.after = PageKey{At(3), Sid()};
  q.page_size = 10;
  EXPECT_THAT(SidsOf(h.roster().ListParticipants(q).items),
              ElementsAre(PaSid(3), PaSid(4), PaSid(5), PaSid(6)));
}

TEST(PagingTest, RoomsPagingSurvivesTheCursorRoomBeingExpired) {
  Harness h;
  std::vector<Sid> rooms;
  for (int i = 0; i < 5; ++i) {
    h.SetNow(At(i * 10));
    rooms.push_back(h.CreateRoomNamed(absl::StrCat("room", i)).sid);
  }
  auto list = [&](const RoomQuery& q) { return h.roster().ListRooms(q); };
  const std::vector<Sid> seen = ReadAllPages(AllRooms(), 2, list, [&](int page) {
    if (page != 0) return;
    // The room under the cursor (room1) ends and is expired; a new room is created.
    h.SetNow(At(100));
    h.Apply(h.End("room1"));
    h.roster().ExpireRooms(At(101));
    h.SetNow(At(110));
    h.CreateRoomNamed("room5");
  });
  ASSERT_EQ(seen.size(), 6u);
  EXPECT_EQ(seen[0], rooms[0]);
  EXPECT_EQ(seen[1], rooms[1]);
  EXPECT_EQ(seen[2], rooms[2]);
  EXPECT_EQ(seen[4], rooms[4]);
}

// ---- Derived indexes ----

TEST(RosterIndexTest, ActivityIdentitiesAndCounts) {
  Harness h;
  h.SetNow(At(0));
  const Room room = h.CreateRoomNamed("r");
  EXPECT_EQ(h.roster().Activity(room.sid).sessions, 0);
  EXPECT_FALSE(h.roster().Activity(room.sid).last_departure.has_value());
  h.Connect("r", "a", At(0), PaText(1));
  h.Connect("r", "b", At(0), PaText(2));
  h.SetNow(At(5));
  h.Apply(h.Reconnecting("r", PaText(2), At(5)));
  RoomActivity activity = h.roster().Activity(room.sid);
  EXPECT_EQ(activity.active, 2);
  EXPECT_EQ(activity.sessions, 2);
  EXPECT_EQ(h.roster().active_participant_count(), 2u);
  EXPECT_EQ(h.roster().FindActiveByIdentity(room.sid, "b")->sid, PaSid(2));
  EXPECT_EQ(h.roster().FindActiveByIdentity(room.sid, "c"), nullptr);
  EXPECT_EQ(h.roster().FindActiveByIdentity(RmSid(1), "a"), nullptr);

  h.SetNow(At(9));
  h.Apply(h.Disconnected("r", PaText(1), At(6)));
  h.SetNow(At(12));
  h.Apply(h.Kick("", PaText(2)));
  activity = h.roster().Activity(room.sid);
  EXPECT_EQ(activity.active, 0);
  EXPECT_EQ(activity.sessions, 2);
  EXPECT_EQ(activity.last_departure, At(12)) << "the latest departure, in server time";
  EXPECT_EQ(h.roster().FindActiveByIdentity(room.sid, "a"), nullptr);
  EXPECT_TRUE(h.roster().ActiveParticipants(room.sid).empty());
  EXPECT_EQ(h.roster().active_participant_count(), 0u);
  EXPECT_EQ(h.roster().participant_count(), 2u);
  EXPECT_EQ(h.roster().Activity(RmSid(404)).sessions, 0) << "unknown room: no activity";
  EXPECT_EQ(h.roster().FindRoom(RmSid(404)), nullptr);
  EXPECT_EQ(h.roster().FindParticipant(PaSid(404)), nullptr);
}

TEST(RosterIndexTest, DueTimersInDeadlineOrderUpToLimit) {
  Harness h;
  h.SetNow(At(0));
  CreateRoom c = h.NewRoom("r");
  c.unused_room_timeout = 1;
  h.CreateRoomNamed("other");
  const Room room = h.Create(c);
  h.Connect("other", "a", At(0), PaText(1));
  h.Apply(h.Reconnecting("other", PaText(1), At(10)));
  // Due: reconnect timeout at 40, idle of "r" at 60.
  EXPECT_THAT(h.roster().DueTimers(At(39), 10), IsEmpty());
  EXPECT_THAT(h.roster().DueTimers(At(40), 10),
              ElementsAre(Timer{At(40), TimerKind::kReconnectTimeout, PaSid(1)}));
  EXPECT_THAT(h.roster().DueTimers(At(60), 10),
              ElementsAre(Timer{At(40), TimerKind::kReconnectTimeout, PaSid(1)},
                          Timer{At(60), TimerKind::kRoomIdle, room.sid}));
  EXPECT_THAT(h.roster().DueTimers(At(60), 1),
              ElementsAre(Timer{At(40), TimerKind::kReconnectTimeout, PaSid(1)}));
}

// ---- Expiry ----

TEST(ExpireDedupeTest, ForgetsEntriesRecordedBeforeCutoff) {
  Harness h;
  h.CreateRoomNamed("r");
  std::vector<Event> events;
  for (int i = 0; i < 3; ++i) {
    h.SetNow(At(i * 10));
    events.push_back(h.Connected("r", absl::StrCat("u", i), At(i * 10), PaText(i + 1)));
    h.Apply(events.back());
  }
  EXPECT_EQ(h.roster().dedupe_count(), 3u);
  EXPECT_EQ(h.roster().ExpireDedupe(At(10)), 1u) << "recorded at 10 s is not before 10 s";
  EXPECT_EQ(h.roster().dedupe_count(), 2u);
  EXPECT_EQ(h.roster().FindDedupe(AccountA(), events[0].event_id), std::nullopt);
  ASSERT_NE(h.roster().FindDedupe(AccountA(), events[1].event_id), std::nullopt);
  EXPECT_EQ(h.roster().FindDedupe(AccountA(), events[1].event_id)->recorded_at, At(10));
  EXPECT_EQ(h.roster().ExpireDedupe(At(10)), 0u);
  EXPECT_EQ(h.roster().ExpireDedupe(At(1000)), 2u);
  EXPECT_EQ(h.roster().FindDedupe(AccountA(), events[2].event_id), std::nullopt);
  EXPECT_EQ(h.roster().dedupe_count(), 0u);
}

TEST(ExpireDedupeTest, RestoredEntriesInAnyOrderExpireByTime) {
  Roster roster{Limits{}};
  // Storage returns dedupe keys in key order, not time order.
  const std::vector<std::pair<std::string, int64_t>> entries = {
      {"a", 50}, {"b", 10}, {"c", 70}, {"d", 20}, {"e", 5}};
  for (const auto& [id, at] : entries) {
    roster.Restore(DedupeEntry{AccountA(), id, 1, 1, PaSid(1), At(at)});
  }
  ASSERT_EQ(roster.dedupe_count(), 5u);
  EXPECT_EQ(roster.ExpireDedupe(At(30)), 3u);
  EXPECT_EQ(roster.dedupe_count(), 2u);
  EXPECT_NE(roster.FindDedupe(AccountA(), "a"), std::nullopt);
  EXPECT_NE(roster.FindDedupe(AccountA(), "c"), std::nullopt);
  for (const char* gone : {"b", "d", "e"}) {
    EXPECT_EQ(roster.FindDedupe(AccountA(), gone), std::nullopt) << gone;
  }
  EXPECT_EQ(roster.ExpireDedupe(At(60)), 1u) << "a, at 50 s; c (70 s) stays";
  EXPECT_NE(roster.FindDedupe(AccountA(), "c"), std::nullopt);
}

TEST(ExpireDedupeTest, RememberingAKeyAgainMovesItsExpiry) {
  Roster roster{Limits{}};
  roster.Restore(DedupeEntry{AccountA(), "k", 1, 1, PaSid(1), At(10)});
  roster.Restore(DedupeEntry{AccountA(), "k", 2, 7, PaSid(2), At(50)});
  EXPECT_EQ(roster.dedupe_count(), 1u);
  EXPECT_EQ(roster.FindDedupe(AccountA(), "k")->revision, 7u);
  EXPECT_EQ(roster.FindDedupe(AccountA(), "k")->fingerprint, 2u);
  EXPECT_EQ(roster.FindDedupe(AccountA(), "k")->participant_sid, PaSid(2));
  EXPECT_EQ(roster.ExpireDedupe(At(20)), 0u) << "the entry now dates from 50 s";
  EXPECT_EQ(roster.ExpireDedupe(At(60)), 1u);
  EXPECT_EQ(roster.dedupe_count(), 0u);
}

// The roster keeps a digest of (account, event_id): the same id in two accounts, and ids that
// differ in one byte or only in length, stay apart; the answer carries what was asked.
TEST(DedupeTest, DigestsKeepAccountsAndNearIdsApart) {
  Roster roster{Limits{}};
  roster.Restore(DedupeEntry{AccountA(), "evt", 1, 1, PaSid(1), At(10)});
  roster.Restore(DedupeEntry{AccountB(), "evt", 2, 2, PaSid(2), At(10)});
  roster.Restore(DedupeEntry{AccountA(), "evu", 3, 3, PaSid(3), At(10)});
  roster.Restore(DedupeEntry{AccountA(), std::string("evt\0", 4), 4, 4, PaSid(4), At(10)});
  roster.Restore(DedupeEntry{AccountA(), "", 5, 5, Sid(), At(10)});
  EXPECT_EQ(roster.dedupe_count(), 5u);
  EXPECT_EQ(*roster.FindDedupe(AccountA(), "evt"),
            (DedupeEntry{AccountA(), "evt", 1, 1, PaSid(1), At(10)}));
  EXPECT_EQ(roster.FindDedupe(AccountB(), "evt")->fingerprint, 2u);
  EXPECT_EQ(roster.FindDedupe(AccountA(), "evu")->fingerprint, 3u);
  EXPECT_EQ(roster.FindDedupe(AccountA(), std::string("evt\0", 4))->fingerprint, 4u);
  EXPECT_EQ(roster.FindDedupe(AccountA(), "")->participant_sid, Sid()) << "no participant";
  EXPECT_EQ(roster.FindDedupe(AccountB(), "evu"), std::nullopt);
}

TEST(ExpireRoomsTest, RemovesCompletedRoomsEndedBeforeCutoffWithTheirParticipants) {
  Harness h;
  h.SetNow(At(0));
  const Room old_room = h.CreateRoomNamed("old");
  const Room edge = h.CreateRoomNamed("edge");
  const Room live = h.CreateRoomNamed("live");
  h.Connect("old", "a", At(0), PaText(1));
  h.Connect("old", "b", At(0), PaText(2));
  h.Connect("edge", "c", At(0), PaText(3));
  h.Connect("live", "d", At(0), PaText(4));
  const Participant adhoc = h.Connect("adhoc", "e", At(0), PaText(5));
  h.SetNow(At(100));
  h.Apply(h.End("old"));
  h.Apply(h.Disconnected("adhoc", PaText(5), At(100)));  // the ad-hoc room completes
  h.SetNow(At(200));
  h.Apply(h.End("edge"));
  const Room adhoc_room = h.GetRoom(adhoc.room_sid);
  ASSERT_EQ(adhoc_room.status, RoomStatus::kCompleted);
  ASSERT_LT(*adhoc_room.end_time, At(200));

  const test::RosterDump before = h.Dump();
  auto [rooms, participants] = h.roster().ExpireRooms(At(200));
  EXPECT_THAT(rooms, UnorderedElementsAre(old_room.sid, adhoc_room.sid));
  EXPECT_THAT(participants, UnorderedElementsAre(PaSid(1), PaSid(2), PaSid(5)));
  EXPECT_EQ(h.roster().FindRoom(old_room.sid), nullptr);
  EXPECT_EQ(h.roster().FindParticipant(PaSid(1)), nullptr);
  EXPECT_EQ(h.roster().FindParticipant(PaSid(5)), nullptr);
  EXPECT_NE(h.roster().FindRoom(edge.sid), nullptr) << "ended at the cutoff, not before";
  EXPECT_NE(h.roster().FindParticipant(PaSid(3)), nullptr);
  EXPECT_NE(h.roster().FindRoom(live.sid), nullptr);
  EXPECT_EQ(h.roster().room_count(), before.room_count - 2);
  EXPECT_EQ(h.roster().participant_count(), before.participant_count - 3);
  EXPECT_EQ(h.roster().revision(), before.revision) << "expiry is not a revision";
  EXPECT_EQ(h.roster().NextTimer(), before.next_timer);
  EXPECT_THAT(ListRoomSids(h.roster(), AllRooms()), ElementsAre(edge.sid, live.sid));
  EXPECT_THAT(ListParticipantSids(h.roster(), AllParticipants()), ElementsAre(PaSid(3), PaSid(4)));
  ParticipantQuery in_old = AllParticipants();
  in_old.room_sid = old_room.sid;
  EXPECT_THAT(ListParticipantSids(h.roster(), in_old), IsEmpty());
  // Expiring again removes nothing more.
  auto again = h.roster().ExpireRooms(At(200));
  EXPECT_THAT(again.first, IsEmpty());
  EXPECT_THAT(again.second, IsEmpty());
  // The in-progress room carries on.
  EXPECT_TRUE(h.Step(h.Reconnecting("live", PaText(4), At(201))).ok());
}

// ---- Restore ----

// A roster with a bit of everything: created and ad-hoc rooms, every participant status,
// a completed room, an anonymized participant, an emptied created room, dedupe keys.
void BuildRichRoster(Harness& h, int* events_used) {
  h.SetNow(At(0));
  CreateRoom c = h.NewRoom("created");
  c.max_participant_duration = 900;
  c.empty_room_timeout = 2;
  h.Create(c);
  h.CreateRoomNamed("unused");
  h.CreateRoomNamed("emptied");
  h.SetNow(At(10));
  h.Connect("created", "a", At(10), PaText(1));
  h.Connect("created", "b", At(10));
  h.Connect("adhoc", "c", At(11));
  h.Connect("adhoc", "d", At(11), PaText(4));
  h.Connect("emptied", "e", At(12), PaText(5));
  h.Connect("gone", "f", At(12), PaText(6));
  h.SetNow(At(20));
  h.Apply(h.Reconnecting("created", PaText(1), At(19)));
  h.Apply(h.Disconnected("adhoc", PaText(4), At(20)));
  h.Apply(h.Disconnected("emptied", PaText(5), At(20)));
  h.Apply(h.Disconnected("gone", PaText(6), At(20)));  // completes ad-hoc "gone"
  h.SetNow(At(30));
  h.Apply(h.Anonymize("", PaText(5)));
  h.Apply(h.Connected("adhoc", "c", At(30)));  // duplicate identity
  h.UseAccount(AccountB());
  h.Connect("b-room", "x", At(30));
  h.UseAccount(AccountA());
  *events_used = std::stoi(h.NextEventId().substr(3));
}

// `bulk`: between BeginRestore and FinishRestore, as the stores load (indexes and timers
// built once at the end).
void RestoreFrom(const Roster& source, int events_used, Roster& target, bool reverse, bool bulk) {
  test::RosterDump d = test::Dump(source);
  if (bulk) target.BeginRestore();
  std::vector<Room> rooms = d.rooms;
  std::vector<Participant> participants = d.participants;
  if (reverse) {
    std::reverse(rooms.begin(), rooms.end());
    std::reverse(participants.begin(), participants.end());
    // Participants first, then rooms.
    for (const Participant& p : participants) target.Restore(p);
    for (const Room& r : rooms) target.Restore(r);
  } else {
    for (const Room& r : rooms) target.Restore(r);
    for (const Participant& p : participants) target.Restore(p);
  }
  for (int i = events_used - 1; i >= 1; --i) {
    for (const Sid& account : {AccountA(), AccountB()}) {
      if (const std::optional<DedupeEntry> e = source.FindDedupe(account, absl::StrCat("ev-", i))) {
        target.Restore(*e);
      }
    }
  }
  if (bulk) target.FinishRestore();
  target.RestoreRevision(source.revision());
}

// (participants first and reversed, bulk)
class RestoreTest : public ::testing::TestWithParam<std::tuple<bool, bool>> {};

TEST_P(RestoreTest, ReproducesStateTimersAndListings) {
  Harness live;
  int events_used = 0;
  BuildRichRoster(live, &events_used);
  ASSERT_FALSE(HasFailure());
  Harness restored(Limits{}, /*first_id=*/1000);
  RestoreFrom(live.roster(), events_used, restored.roster(), /*reverse=*/std::get<0>(GetParam()),
              /*bulk=*/std::get<1>(GetParam()));

  EXPECT_EQ(restored.Dump(), live.Dump());
  EXPECT_EQ(restored.roster().dedupe_count(), live.roster().dedupe_count());
  const test::RosterDump d = live.Dump();
  for (const Room& r : d.rooms) {
    const RoomActivity a = live.roster().Activity(r.sid);
    const RoomActivity b = restored.roster().Activity(r.sid);
    EXPECT_EQ(a.active, b.active) << r.unique_name;
    EXPECT_EQ(a.sessions, b.sessions) << r.unique_name;
    EXPECT_EQ(a.last_departure, b.last_departure) << r.unique_name;
    EXPECT_EQ(live.roster().TimersOf(r), restored.roster().TimersOf(r)) << r.unique_name;
    ParticipantQuery q = AllParticipants(r.account_sid);
    q.room_sid = r.sid;
    EXPECT_EQ(SidsOf(live.roster().ListParticipants(q).items),
              SidsOf(restored.roster().ListParticipants(q).items));
    if (r.status == RoomStatus::kInProgress) {
      EXPECT_EQ(restored.roster().FindInProgressRoomByName(r.account_sid, r.unique_name)->sid,
                r.sid);
    }
  }
  for (const Participant& p : d.participants) {
    EXPECT_EQ(live.roster().TimersOf(p), restored.roster().TimersOf(p));
    if (p.active()) {
      EXPECT_EQ(restored.roster().FindActiveByIdentity(p.room_sid, p.identity)->sid, p.sid);
    }
  }
  EXPECT_EQ(SidsOf(live.roster().ListRooms(AllRooms()).items),
            SidsOf(restored.roster().ListRooms(AllRooms()).items));

  // Both carry on identically: fire every timer in turn, then a retried event.
  for (int guard = 0; guard < 50; ++guard) {
    const std::optional<Timer> next = live.roster().NextTimer();
    ASSERT_EQ(next, restored.roster().NextTimer());
    if (!next) break;
    const absl::Time at = std::max(live.now(), next->deadline);
    live.SetNow(at);
    restored.SetNow(at);
    const Outcome a = live.Apply(Harness::Fire(*next));
    const Outcome b = restored.Apply(Harness::Fire(*next));
    EXPECT_EQ(a.changes, b.changes);
    ASSERT_EQ(restored.Dump(), live.Dump());
  }
  EXPECT_FALSE(live.roster().NextTimer().has_value());
  // The dedupe keys came back too.
  int checked = 0;
  for (int i = 1; i < events_used; ++i) {
    const std::optional<DedupeEntry> a =
        live.roster().FindDedupe(AccountA(), absl::StrCat("ev-", i));
    const std::optional<DedupeEntry> b =
        restored.roster().FindDedupe(AccountA(), absl::StrCat("ev-", i));
    ASSERT_EQ(a.has_value(), b.has_value()) << i;
    if (a.has_value()) {
      EXPECT_EQ(*a, *b);
      ++checked;
    }
  }
  EXPECT_GT(checked, 5);
}

INSTANTIATE_TEST_SUITE_P(Orders, RestoreTest,
                         ::testing::Combine(::testing::Bool(), ::testing::Bool()),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param) ? "ParticipantsFirstReversed"
                                                                      : "RoomsFirst") +
                                  (std::get<1>(info.param) ? "Bulk" : "OneByOne");
                         });

}  // namespace
}  // namespace rollcall::state
