// Unit tests of the Applier without a network: group commit over the in-memory store, a batch
// the store fails, and timers fired by a SimulatedClock (never the wall clock), including a
// timer that fell due while the process was down.
#include "service/applier.h"

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/clock.h"
#include "state/roster.h"
#include "store/codec.h"
#include "store/store.h"

namespace rollcall::service {
namespace {

using ::testing::HasSubstr;

const state::Sid kAccount = *state::Sid::Parse("AC00000000000000000000000000000000", "AC", "a");

// Waits for `condition` with a deadline, nudging nothing: the applier works on its own thread.
template <typename F>
bool WaitUntil(F condition) {
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (!condition()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(1));
  }
  return true;
}

class ApplierTest : public ::testing::Test {
 protected:
  ApplierTest() { limits_.reconnect_timeout = absl::Seconds(30); }
  ~ApplierTest() override {
    if (applier_) applier_->Stop();
  }

  void StartApplier() {
    roster_ = std::make_unique<state::Roster>(limits_);
    ASSERT_TRUE(store_.Load(*roster_).ok());
    applier_ = std::make_unique<Applier>(options_, store_, *roster_, ids_, clock_);
    applier_->SetCommitListener([this](const std::vector<store::LogEntry>& entries) {
      absl::MutexLock lock(&mu_);
      for (const store::LogEntry& entry : entries) published_.push_back(entry.revision);
    });
    applier_->Start();
  }

  state::Event Event(state::EventType type, const std::string& id, const std::string& identity,
                     const std::string& participant = "") {
    state::Event event;
    event.account_sid = kAccount;
    event.event_id = id;
    event.type = type;
    event.occurred_at = clock_.SystemTime();
    event.room = "main";
    event.identity = identity;
    event.participant_sid = participant;
    return event;
  }

  // Submits and waits for the results.
  std::vector<Applier::Result> Apply(std::vector<state::Input> inputs) {
    absl::Notification done;
    std::vector<Applier::Result> results;
    applier_->Submit(std::move(inputs), [&](std::vector<Applier::Result> r) {
      results = std::move(r);
      done.Notify();
    });
    EXPECT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(20)));
    return results;
  }

  // One call whose results arrive later.
  struct Call {
    absl::Notification done;
    std::vector<Applier::Result> results;
  };
  void SubmitTo(Call& call, std::vector<state::Input> inputs) {
    applier_->Submit(std::move(inputs), [&call](std::vector<Applier::Result> r) {
      call.results = std::move(r);
      call.done.Notify();
    });
  }
  bool Wait(Call& call) { return call.done.WaitForNotificationWithTimeout(absl::Seconds(20)); }

  // Counts the writes of revisions in the store in writes_; with `hold_first`, holds the first
  // one (a slow fsync) until release_ is notified.
  void CountWrites(bool hold_first) {
    store_.SetWriteHook([this, hold_first](const store::WriteBatch& batch) {
      if (!batch.log.empty() && writes_++ == 0 && hold_first) release_.WaitForNotification();
    });
  }

  std::vector<uint64_t> Published() {
    absl::MutexLock lock(&mu_);
    return published_;
  }

  state::Limits limits_;
  ApplierOptions options_;
  store::MemoryStore store_;
  state::SequentialIdSource ids_;
  SimulatedClock clock_;
  std::unique_ptr<state::Roster> roster_;
  std::unique_ptr<Applier> applier_;
  absl::Notification release_;
  std::atomic<int> writes_ = 0;
  absl::Mutex mu_;
  std::vector<uint64_t> published_ ABSL_GUARDED_BY(mu_);
};

TEST_F(ApplierTest, ManySubmissionsAreDecidedInOrderAndCommittedInFewBatches) {
  StartApplier();
  constexpr int kCalls = 200;
  std::atomic<int> completed = 0;
  std::vector<std::vector<Applier::Result>> results(kCalls);
  for (int i = 0; i < kCalls; ++i) {
    applier_->Submit(
        {Event(state::EventType::kConnected, absl::StrCat("e", i), absl::StrCat("user-", i % 40))},
        [&, i](std::vector<Applier::Result> r) {
          results[i] = std::move(r);
          ++completed;
        });
  }
  ASSERT_TRUE(WaitUntil([&] { return completed == kCalls; }));
  // Every call applied at its own revision, in submission order: 1..200 with no gap.
  for (int i = 0; i < kCalls; ++i) {
    ASSERT_EQ(results[i].size(), 1u);
    ASSERT_TRUE(results[i][0].ok()) << results[i][0].status();
    EXPECT_EQ(results[i][0]->revision, static_cast<uint64_t>(i + 1));
  }
  // Counted just after the batch is handed to the completer.
  ASSERT_TRUE(WaitUntil([&] { return applier_->stats().applied == kCalls; }));
  const ApplierStats stats = applier_->stats();
  EXPECT_EQ(stats.applied, static_cast<uint64_t>(kCalls));
  EXPECT_LE(stats.batches, static_cast<uint64_t>(kCalls));
  EXPECT_EQ(store_.revision(), static_cast<uint64_t>(kCalls)) << "durable before answered";
  std::vector<uint64_t> expected;
  for (uint64_t r = 1; r <= kCalls; ++r) expected.push_back(r);
  EXPECT_EQ(Published(), expected) << "the listener sees every revision once, in order";
  // Later identities replaced earlier ones (duplicate identity), 40 remain active.
  EXPECT_EQ(applier_->Read([](const state::Roster& r) { return r.active_participant_count(); }),
            40u);
}

// Group commits overlap: while the writer syncs one batch, the applier decides the next on top
// of it (a resend of its event is a duplicate, its identity is taken), and readers see neither
// until each is durable.
TEST_F(ApplierTest, TheNextBatchIsDecidedOnTheOneBeingWrittenAndLandsAfterIt) {
  CountWrites(/*hold_first=*/true);
  StartApplier();
  Call first, second;
  SubmitTo(first, {Event(state::EventType::kConnected, "a", "bob")});
  ASSERT_TRUE(WaitUntil([&] { return writes_ == 1; }));  // held in the store write
  SubmitTo(second, {Event(state::EventType::kConnected, "b", "bob"),
                    Event(state::EventType::kConnected, "a", "bob")});
  ASSERT_TRUE(WaitUntil([&] { return applier_->stats().inputs == 3; }));  // decided
  EXPECT_FALSE(first.done.HasBeenNotified());
  EXPECT_EQ(writes_, 1) << "the second batch waits for the first to land";
  EXPECT_EQ(applier_->Read([](const state::Roster& r) { return r.revision(); }), 0u);

  release_.Notify();
  ASSERT_TRUE(Wait(first));
  ASSERT_TRUE(Wait(second));
  ASSERT_TRUE(first.results[0].ok()) << first.results[0].status();
  EXPECT_EQ(first.results[0]->revision, 1u);
  ASSERT_EQ(second.results.size(), 2u);
  const Applier::Result& replaced = second.results[0];
  ASSERT_TRUE(replaced.ok()) << replaced.status();
  EXPECT_EQ(replaced->disposition, state::Disposition::kApplied);
  EXPECT_EQ(replaced->revision, 2u);
  ASSERT_EQ(replaced->changes.size(), 2u) << "bob's first session ends as the new one starts";
  EXPECT_EQ(replaced->changes[0].type, state::ChangeType::kParticipantDisconnected);
  const Applier::Result& resent = second.results[1];
  ASSERT_TRUE(resent.ok()) << resent.status();
  EXPECT_EQ(resent->disposition, state::Disposition::kDuplicate);
  EXPECT_EQ(resent->revision, 1u);
  ASSERT_TRUE(resent->participant.has_value());
  EXPECT_EQ(resent->participant->sid, first.results[0]->participant->sid);

  EXPECT_EQ(writes_, 2);
  EXPECT_EQ(store_.revision(), 2u);
  ASSERT_TRUE(WaitUntil([&] { return Published().size() == 2; }));
  EXPECT_EQ(Published(), std::vector<uint64_t>({1, 2}));
  const state::Sid old_bob = first.results[0]->participant->sid;
  EXPECT_EQ(applier_->Read([&](const state::Roster& r) {
    return r.FindParticipant(old_bob)->disconnect_reason;
  }),
            state::DisconnectReason::kDuplicateIdentity);
}

// The caller of a failed batch may resend at once, from its completion: what it sends then is
// decided on the roster, never on the failed batch, so it is not failed with it. (When the
// writer queued the failed batch's completion before dooming the batch built on it, a resend
// decided in between was failed too: 5 of 40 runs of this test on a loaded 2-core machine.)
TEST_F(ApplierTest, ACallSubmittedOnHearingOfAFailureIsNotFailedWithIt) {
  StartApplier();
  for (int i = 0; i < 50; ++i) {
    store_.FailWrites(absl::UnavailableError("disk full"));
    absl::Notification failed;
    Call resent;
    applier_->Submit({Event(state::EventType::kConnected, absl::StrCat("f", i), "ada")},
                     [&](std::vector<Applier::Result> r) {
                       EXPECT_EQ(r[0].status().code(), absl::StatusCode::kUnavailable);
                       store_.FailWrites(absl::OkStatus());
                       SubmitTo(resent,
                                {Event(state::EventType::kConnected, absl::StrCat("f", i), "ada")});
                       failed.Notify();
                     });
    ASSERT_TRUE(failed.WaitForNotificationWithTimeout(absl::Seconds(20)));
    ASSERT_TRUE(Wait(resent));
    ASSERT_TRUE(resent.results[0].ok()) << "round " << i << ": " << resent.results[0].status();
  }
}

// A batch decided on top of one the store then fails is unavailable too: it assumed state that
// never became durable. Nothing of either is applied, and both apply once resent.
TEST_F(ApplierTest, ABatchDecidedOnAFailedOneFailsWithIt) {
  CountWrites(/*hold_first=*/true);
  StartApplier();
  Call first, second;
  SubmitTo(first, {Event(state::EventType::kConnected, "a", "bob")});
  ASSERT_TRUE(WaitUntil([&] { return writes_ == 1; }));
  SubmitTo(second, {Event(state::EventType::kConnected, "b", "cy")});
  ASSERT_TRUE(WaitUntil([&] { return applier_->stats().inputs == 2; }));
  store_.FailWrites(absl::UnavailableError("disk on fire"));
  release_.Notify();
  ASSERT_TRUE(Wait(first));
  ASSERT_TRUE(Wait(second));
  EXPECT_EQ(first.results[0].status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(first.results[0].status().message(), HasSubstr("disk on fire"));
  EXPECT_EQ(second.results[0].status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(second.results[0].status().message(), HasSubstr("an earlier batch"));
  EXPECT_THAT(second.results[0].status().message(), HasSubstr("disk on fire"));
  EXPECT_EQ(writes_, 1) << "the doomed batch is never written";
  EXPECT_TRUE(WaitUntil([&] { return applier_->stats().failed_writes == 1; }));
  EXPECT_EQ(applier_->Read([](const state::Roster& r) { return r.revision(); }), 0u);
  EXPECT_EQ(store_.revision(), 0u);
  EXPECT_TRUE(Published().empty());

  store_.FailWrites(absl::OkStatus());
  const std::vector<Applier::Result> retried =
      Apply({Event(state::EventType::kConnected, "b", "cy"),
             Event(state::EventType::kConnected, "a", "bob")});
  ASSERT_TRUE(retried[0].ok()) << retried[0].status();
  EXPECT_EQ(retried[0]->disposition, state::Disposition::kApplied);
  EXPECT_EQ(retried[0]->revision, 1u);
  ASSERT_TRUE(retried[1].ok()) << retried[1].status();
  EXPECT_EQ(retried[1]->disposition, state::Disposition::kApplied);
  EXPECT_EQ(retried[1]->revision, 2u);
}

// The change log holds each revision's domain changes through the store's codec, exactly as
// decided (no API rendering on the applier thread), and the listener gets those entries.
TEST_F(ApplierTest, TheChangeLogHoldsEachRevisionsDomainChanges) {
  StartApplier();
  const std::vector<Applier::Result> results =
      Apply({Event(state::EventType::kConnected, "c1", "ada"),
             Event(state::EventType::kConnected, "c2", "ada")});  // replaces ada's session
  ASSERT_EQ(results.size(), 2u);
  ASSERT_TRUE(results[0].ok() && results[1].ok());
  absl::StatusOr<std::vector<store::LogEntry>> log = store_.ReadLog(1, 10);
  ASSERT_TRUE(log.ok()) << log.status();
  ASSERT_EQ(log->size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    SCOPED_TRACE(i);
    const store::LogEntry& entry = (*log)[i];
    EXPECT_EQ(entry.revision, results[i]->revision);
    store::LogScope scope;
    std::vector<state::Change> changes;
    ASSERT_TRUE(store::DecodeLogPayload(entry.payload, &scope, &changes).ok());
    EXPECT_EQ(changes, results[i]->changes);
    EXPECT_EQ(scope.account_sid, kAccount);
    EXPECT_EQ(scope.room_sid, results[i]->participant->room_sid);
  }
  // The first created the room; the second disconnected the old session, then connected.
  store::LogScope scope;
  std::vector<state::Change> second;
  ASSERT_TRUE(store::DecodeLogPayload((*log)[1].payload, &scope, &second).ok());
  ASSERT_EQ(second.size(), 2u);
  EXPECT_EQ(second[0].type, state::ChangeType::kParticipantDisconnected);
  EXPECT_EQ(second[1].type, state::ChangeType::kParticipantConnected);
  ASSERT_TRUE(WaitUntil([&] { return Published().size() == 2; }));
}

TEST_F(ApplierTest, ABatchTheStoreFailsIsUnavailableForEveryCallAndAppliesNothing) {
  StartApplier();
  ASSERT_TRUE(Apply({Event(state::EventType::kConnected, "ok", "ada")})[0].ok());
  store_.FailWrites(absl::UnavailableError("disk on fire"));
  const std::vector<Applier::Result> failed =
      Apply({Event(state::EventType::kConnected, "a", "bob"),
             Event(state::EventType::kConnected, "b", "cy")});
  ASSERT_EQ(failed.size(), 2u);
  for (const Applier::Result& result : failed) {
    EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable);
    EXPECT_THAT(result.status().message(), HasSubstr("disk on fire"));
  }
  // Counted just after the batch is handed to the completer.
  EXPECT_TRUE(WaitUntil([&] { return applier_->stats().failed_writes == 1; }));
  EXPECT_EQ(applier_->Read([](const state::Roster& r) { return r.revision(); }), 1u);
  EXPECT_EQ(Published(), std::vector<uint64_t>({1}));
  // The store recovers: the same events apply, at the next revision.
  store_.FailWrites(absl::OkStatus());
  const std::vector<Applier::Result> retried =
      Apply({Event(state::EventType::kConnected, "a", "bob")});
  ASSERT_TRUE(retried[0].ok());
  EXPECT_EQ(retried[0]->revision, 2u);
}

TEST_F(ApplierTest, CallbacksAreStoredWithTheirChangeNumberedPerRoomAndHandedOverWhenDurable) {
  roster_ = std::make_unique<state::Roster>(limits_);
  ASSERT_TRUE(store_.Load(*roster_).ok());
  applier_ = std::make_unique<Applier>(options_, store_, *roster_, ids_, clock_);
  std::vector<state::Callback> handed;
  absl::Mutex handed_mu;
  applier_->SetCallbackSink(
      [&](std::vector<state::Callback> callbacks) {
        absl::MutexLock lock(&handed_mu);
        for (state::Callback& callback : callbacks) handed.push_back(std::move(callback));
      },
      {});
  applier_->Start();
  state::CreateRoom create;
  create.account_sid = kAccount;
  create.unique_name = "main";
  create.status_callback = "https://hooks.test/rooms";
  ASSERT_TRUE(Apply({create})[0].ok());
  state::CreateRoom quiet = create;  // no URL: owes nothing
  quiet.unique_name = "quiet";
  quiet.status_callback.clear();
  ASSERT_TRUE(Apply({quiet})[0].ok());
  const std::vector<Applier::Result> joined =
      Apply({Event(state::EventType::kConnected, "c1", "ada")});
  ASSERT_TRUE(joined[0].ok());
  // Reconnecting owes nothing (Twilio has no such callback).
  ASSERT_TRUE(Apply({Event(state::EventType::kReconnecting, "r1", "ada",
                           joined[0]->participant->sid.ToString())})[0]
                  .ok());
  // A failed write hands nothing over and uses no sequence number.
  store_.FailWrites(absl::UnavailableError("disk full"));
  state::EndRoom end{
      .account_sid = kAccount, .room = "main", .status = state::RoomStatus::kCompleted};
  ASSERT_FALSE(Apply({end})[0].ok());
  store_.FailWrites(absl::OkStatus());
  ASSERT_TRUE(Apply({end})[0].ok());

  absl::MutexLock lock(&handed_mu);
  std::vector<std::pair<state::CallbackEvent, uint64_t>> events;
  for (const state::Callback& callback : handed)
    events.emplace_back(callback.event, callback.sequence);
  EXPECT_THAT(events, ::testing::ElementsAre(
                          std::pair(state::CallbackEvent::kRoomCreated, uint64_t{0}),
                          std::pair(state::CallbackEvent::kParticipantConnected, uint64_t{1}),
                          std::pair(state::CallbackEvent::kParticipantDisconnected, uint64_t{2}),
                          std::pair(state::CallbackEvent::kRoomEnded, uint64_t{3})));
  ASSERT_EQ(handed.size(), 4u);
  // The disconnection of a room's end still sees the room in progress; the end sees it completed.
  EXPECT_EQ(handed[2].room.status, state::RoomStatus::kInProgress);
  EXPECT_EQ(handed[2].participant->identity, "ada");
  EXPECT_EQ(handed[3].room.status, state::RoomStatus::kCompleted);
  // Everything handed over is in the store's outbox, with the room's next number.
  absl::StatusOr<store::CallbackBacklog> backlog = store_.LoadCallbacks();
  ASSERT_TRUE(backlog.ok());
  EXPECT_EQ(backlog->pending, handed);
  EXPECT_EQ(backlog->next_sequence.at(handed[0].room_sid), 4u);
}

TEST_F(ApplierTest, ReconnectTimeoutFiresWhenTheSimulatedClockPassesIt) {
  StartApplier();
  const auto connected = Apply({Event(state::EventType::kConnected, "c", "ada")});
  const std::string sid = connected[0]->participant->sid.ToString();
  const absl::Time lost = clock_.SystemTime();
  ASSERT_TRUE(Apply({Event(state::EventType::kReconnecting, "r", "", sid)})[0].ok());
  clock_.Advance(absl::Seconds(29));
  // Not due: an event still applies, and nothing fired.
  ASSERT_TRUE(Apply({Event(state::EventType::kConnected, "x", "bob")})[0].ok());
  EXPECT_EQ(applier_->stats().timers_fired, 0u);
  clock_.Advance(absl::Seconds(1));
  ASSERT_TRUE(WaitUntil([&] { return applier_->stats().timers_fired == 1; }));
  const state::Participant p = applier_->Read([&](const state::Roster& r) {
    return *r.FindParticipant(*state::Sid::Parse(sid, "PA", "p"));
  });
  EXPECT_EQ(p.status, state::ParticipantStatus::kDisconnected);
  EXPECT_EQ(p.disconnect_reason, state::DisconnectReason::kReconnectTimeout);
  EXPECT_EQ(p.end_time, lost) << "ends when reconnecting began";
  EXPECT_EQ(p.date_updated, lost + absl::Seconds(30)) << "fired with the time it was due";
}

TEST_F(ApplierTest, ATimerDueWhileStoppedFiresAtStartWithTheTimeItWasDue) {
  StartApplier();
  const auto connected = Apply({Event(state::EventType::kConnected, "c", "ada")});
  const state::Sid sid = connected[0]->participant->sid;
  const absl::Time lost = clock_.SystemTime();
  ASSERT_TRUE(Apply({Event(state::EventType::kReconnecting, "r", "", sid.ToString())})[0].ok());
  applier_->Stop();
  applier_.reset();
  clock_.Advance(absl::Hours(1));  // down for an hour
  StartApplier();                  // a fresh roster loaded from the store
  ASSERT_TRUE(WaitUntil([&] { return applier_->stats().timers_fired == 1; }));
  const state::Participant p =
      applier_->Read([&](const state::Roster& r) { return *r.FindParticipant(sid); });
  EXPECT_EQ(p.status, state::ParticipantStatus::kDisconnected);
  EXPECT_EQ(p.disconnect_reason, state::DisconnectReason::kReconnectTimeout);
  EXPECT_EQ(p.end_time, lost) << "the record it would have had on time";
  EXPECT_EQ(p.date_updated, clock_.SystemTime()) << "applied at start-up";
}

TEST_F(ApplierTest, AnOverdueRoomTimerFiresAtStartWithTheTimeItWasDue) {
  limits_.max_room_duration = absl::Hours(1);
  StartApplier();
  const auto connected = Apply({Event(state::EventType::kConnected, "c", "ada")});
  const state::Sid participant = connected[0]->participant->sid;
  const state::Sid room = connected[0]->participant->room_sid;
  const absl::Time created = clock_.SystemTime();
  applier_->Stop();
  applier_.reset();
  clock_.Advance(absl::Hours(2));
  StartApplier();
  ASSERT_TRUE(WaitUntil([&] { return applier_->stats().timers_fired >= 1; }));
  const auto [ended, p] = applier_->Read([&](const state::Roster& r) {
    return std::make_pair(*r.FindRoom(room), *r.FindParticipant(participant));
  });
  EXPECT_EQ(ended.status, state::RoomStatus::kCompleted);
  EXPECT_EQ(ended.end_time, created + absl::Hours(1)) << "ended when it was due";
  EXPECT_EQ(p.status, state::ParticipantStatus::kDisconnected);
  EXPECT_EQ(p.disconnect_reason, state::DisconnectReason::kRoomEnded);
  EXPECT_EQ(p.end_time, ended.end_time);
}

}  // namespace
}  // namespace rollcall::service
