// The per-account quotas (Limits::max_account_rooms, max_account_participants): one row per
// way an account can reach or free a quota. Each row fills the account up to the limit, then
// asserts the next input's exact result (RESOURCE_EXHAUSTED naming the field and the flag, with
// nothing changed), and that another account is unaffected. Batches decided against a
// PendingRoster see the inputs before them, so a batch cannot overshoot a quota either.
#include <functional>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "state/pending_roster.h"
#include "state/records.h"
#include "state/room_machine.h"
#include "tests/state/state_harness.h"

namespace rollcall::state {
namespace {

using test::AccountA;
using test::AccountB;
using test::At;
using test::Harness;
using test::HasError;
using test::PaText;

constexpr auto kExhausted = absl::StatusCode::kResourceExhausted;

struct Row {
  std::string name;
  int64_t max_rooms;
  int64_t max_participants;
  // Brings account A to where the row starts (the harness's account is A).
  std::function<void(Harness&)> setup;
  // The input under test, built in account A.
  std::function<Input(Harness&)> input;
  absl::StatusCode code;  // kOk: the input is applied
  std::string field;      // errors: the field named
  std::string flag;       // errors: the flag named
};

Input Connect(Harness& h, const std::string& room, const std::string& identity, int pa) {
  return h.Connected(room, identity, At(1), PaText(pa));
}

std::vector<Row> Rows() {
  auto two_rooms = [](Harness& h) {
    h.CreateRoomNamed("r1");
    h.CreateRoomNamed("r2");
  };
  auto two_in_r1 = [](Harness& h) {
    h.CreateRoomNamed("r1");
    h.Connect("r1", "a", At(0), PaText(1));
    h.Connect("r1", "b", At(0), PaText(2));
  };
  return {
      {"CreateRoomPastRoomQuota", 2, 100, two_rooms,
       [](Harness& h) -> Input { return h.NewRoom("r3"); }, kExhausted, "unique_name",
       "--max_account_rooms"},
      {"AdHocRoomPastRoomQuota", 2, 100, two_rooms,
       [](Harness& h) { return Connect(h, "adhoc", "a", 1); }, kExhausted, "event.room",
       "--max_account_rooms"},
      {"JoinExistingRoomAtRoomQuota", 2, 100, two_rooms,
       [](Harness& h) { return Connect(h, "r1", "a", 1); }, absl::StatusCode::kOk, "", ""},
      {"EndedRoomFreesRoomQuota", 2, 100,
       [&](Harness& h) {
         two_rooms(h);
         h.Apply(h.End("r2"));
       },
       [](Harness& h) -> Input { return h.NewRoom("r3"); }, absl::StatusCode::kOk, "", ""},
      {"ConnectPastParticipantQuota", 100, 2, two_in_r1,
       [](Harness& h) { return Connect(h, "r1", "c", 3); }, kExhausted, "event.room",
       "--max_account_participants"},
      {"ConnectInAnotherRoomPastParticipantQuota", 100, 2, two_in_r1,
       [](Harness& h) { return Connect(h, "r2", "c", 3); }, kExhausted, "event.room",
       "--max_account_participants"},
      {"ReconnectingStillCounts", 100, 2,
       [&](Harness& h) {
         two_in_r1(h);
         h.Apply(h.Reconnecting("r1", PaText(2), At(1)));
       },
       [](Harness& h) { return Connect(h, "r1", "c", 3); }, kExhausted, "event.room",
       "--max_account_participants"},
      {"DuplicateIdentityReplacesAtQuota", 100, 2, two_in_r1,
       [](Harness& h) { return Connect(h, "r1", "b", 3); }, absl::StatusCode::kOk, "", ""},
      {"DisconnectFreesParticipantQuota", 100, 2,
       [&](Harness& h) {
         two_in_r1(h);
         h.Apply(h.Disconnected("r1", PaText(1), At(1)));
       },
       [](Harness& h) { return Connect(h, "r1", "c", 3); }, absl::StatusCode::kOk, "", ""},
      {"KickFreesParticipantQuota", 100, 2,
       [&](Harness& h) {
         two_in_r1(h);
         h.Apply(h.Kick("r1", PaText(2)));
       },
       [](Harness& h) { return Connect(h, "r1", "c", 3); }, absl::StatusCode::kOk, "", ""},
  };
}

class AccountQuotaTest : public ::testing::TestWithParam<Row> {};

TEST_P(AccountQuotaTest, Row) {
  const Row& row = GetParam();
  Limits limits;
  limits.max_account_rooms = row.max_rooms;
  limits.max_account_participants = row.max_participants;
  Harness h(limits);
  h.SetNow(At(1));
  row.setup(h);
  const test::RosterDump before = h.Dump();
  const absl::StatusOr<Outcome> result = h.Step(row.input(h));
  if (row.code == absl::StatusCode::kOk) {
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->disposition, Disposition::kApplied);
    return;
  }
  EXPECT_TRUE(HasError(result, row.code, row.field));
  EXPECT_THAT(std::string(result.status().message()), ::testing::HasSubstr(row.flag));
  EXPECT_EQ(h.Dump(), before);
  // Another tenant is not affected by account A's quota.
  h.UseAccount(AccountB());
  EXPECT_TRUE(h.Step(row.input(h)).ok());
}

INSTANTIATE_TEST_SUITE_P(Quotas, AccountQuotaTest, ::testing::ValuesIn(Rows()),
                         [](const ::testing::TestParamInfo<Row>& info) { return info.param.name; });

// Within one group commit: each input sees the batch before it.
TEST(AccountQuotaBatchTest, ABatchCannotOvershootAQuota) {
  Limits limits;
  limits.max_account_rooms = 1;
  limits.max_account_participants = 2;
  Harness h(limits);
  h.SetNow(At(1));
  h.CreateRoomNamed("r1");
  SequentialIdSource ids(5000);
  RoomMachine machine(ids);
  PendingRoster pending(h.roster());
  auto step = [&](const Input& input) {
    absl::StatusOr<Outcome> o = machine.Decide(pending, input, h.now());
    if (o.ok()) pending.Commit(*o);
    return o;
  };
  EXPECT_TRUE(step(h.Connected("r1", "a", At(1), PaText(1))).ok());
  EXPECT_TRUE(step(h.Connected("r1", "b", At(1), PaText(2))).ok());
  EXPECT_EQ(pending.Usage(AccountA()).active_participants, 2);
  EXPECT_TRUE(HasError(step(h.Connected("r1", "c", At(1), PaText(3))), kExhausted, "event.room"));
  EXPECT_TRUE(HasError(step(h.NewRoom("r2")), kExhausted, "unique_name"));
  EXPECT_TRUE(step(h.Disconnected("r1", PaText(1), At(2))).ok());
  EXPECT_EQ(pending.Usage(AccountA()).active_participants, 1);
  EXPECT_TRUE(step(h.Connected("r1", "c", At(2), PaText(3))).ok());
  EXPECT_TRUE(step(h.End("r1")).ok());
  EXPECT_EQ(pending.Usage(AccountA()).rooms_in_progress, 0);
  EXPECT_EQ(pending.Usage(AccountA()).active_participants, 0);
  EXPECT_TRUE(step(h.NewRoom("r2")).ok());
  // The base roster saw none of it.
  EXPECT_EQ(h.roster().Usage(AccountA()).rooms_in_progress, 1);
  EXPECT_EQ(h.roster().Usage(AccountA()).active_participants, 0);
}

}  // namespace
}  // namespace rollcall::state
