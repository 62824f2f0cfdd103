// Unit tests of WatchCore without a network or a thread: the tests play the transport (a
// FakeStream that completes writes when told), publish revisions as the applier would, and
// drive the core's own thread's work (Sweep, ReadStoreOnce) by hand on a SimulatedClock.
#include "service/watch_core.h"

#include <algorithm>
#include <array>
#include <iostream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rollcall/v1/watch_service.pb.h"
#include "service/applier.h"
#include "service/clock.h"
#include "service/convert.h"
#include "state/roster.h"
#include "store/codec.h"
#include "store/store.h"
#include "tests/store/scratch_dir.h"

namespace rollcall::service {
namespace {

using ::testing::HasSubstr;

state::Sid FixedSid(absl::string_view prefix, uint64_t n) {
  state::Sid::Bytes bytes{};
  bytes[0] = 0xfe;
  for (int i = 15; i >= 8; --i) {
    bytes[i] = static_cast<uint8_t>(n & 0xff);
    n >>= 8;
  }
  return state::Sid(prefix, bytes);
}
const state::Sid kAccountA = FixedSid(state::kAccountPrefix, 1);
const state::Sid kAccountB = FixedSid(state::kAccountPrefix, 2);
const state::Sid kRoom1 = FixedSid(state::kRoomPrefix, 1);
const state::Sid kRoom2 = FixedSid(state::kRoomPrefix, 2);

struct StringFrame final : Frame {
  explicit StringFrame(std::string s) : bytes(std::move(s)) {}
  std::string bytes;
};

FramePtr MakeFrame(std::string serialized) {
  return std::make_shared<StringFrame>(std::move(serialized));
}

// The transport: records every frame written and how the stream ended. Writes complete only
// when the test says so (Ack), like a client that reads when it wants to.
class FakeStream final : public WatchStream {
 public:
  void Write(const FramePtr& frame) override {
    ASSERT_FALSE(in_flight_) << "two writes in flight";
    v1::WatchResponse message;
    ASSERT_TRUE(message.ParseFromString(static_cast<const StringFrame&>(*frame).bytes));
    written.push_back(message);
    frames.push_back(frame);
    in_flight_ = true;
  }
  void Finish(const absl::Status& status, const Trailers& trailers) override {
    ASSERT_FALSE(ended.has_value()) << "finished twice";
    ended = status;
    for (const auto& [key, value] : trailers) this->trailers[key] = value;
  }
  // Completes the write in flight, as gRPC's OnWriteDone would; false if none.
  bool Ack(WatchCore& core) {
    if (!in_flight_) return false;
    in_flight_ = false;
    core.Written(this, true);
    return true;
  }
  void AckAll(WatchCore& core) {
    while (Ack(core)) {
    }
  }
  std::vector<uint64_t> Revisions() const {
    std::vector<uint64_t> out;
    for (const v1::WatchResponse& m : written) {
      if (m.has_changes()) out.push_back(m.changes().revision());
    }
    return out;
  }

  // The frame of revision `revision` this stream was given (null if none).
  FramePtr FrameOf(uint64_t revision) const {
    for (size_t i = 0; i < written.size(); ++i) {
      if (written[i].has_changes() && written[i].changes().revision() == revision) {
        return frames[i];
      }
    }
    return nullptr;
  }

  std::vector<v1::WatchResponse> written;
  std::vector<FramePtr> frames;  // as written, each kept alive as a client would not
  std::optional<absl::Status> ended;
  std::map<std::string, std::string> trailers;

 private:
  bool in_flight_ = false;
};

state::Participant MakeParticipant(uint64_t n, const state::Sid& account, const state::Sid& room,
                                   state::ParticipantStatus status, uint64_t revision) {
  state::Participant p;
  p.sid = FixedSid(state::kParticipantPrefix, n);
  p.account_sid = account;
  p.room_sid = room;
  p.identity = absl::StrCat("user-", n);
  p.status = status;
  p.date_created = p.date_updated = p.start_time = p.last_event_time = absl::FromUnixSeconds(n);
  p.revision = revision;
  return p;
}

state::Room MakeRoom(const state::Sid& sid, const state::Sid& account, uint64_t revision) {
  state::Room room;
  room.sid = sid;
  room.account_sid = account;
  room.unique_name = sid.ToString().substr(20);
  room.status = state::RoomStatus::kInProgress;
  room.date_created = room.date_updated = absl::FromUnixSeconds(1);
  room.max_participants = 50;
  room.max_participant_duration = 14400;
  room.empty_room_timeout = 5;
  room.unused_room_timeout = 5;
  room.revision = revision;
  return room;
}

class WatchCoreTest : public ::testing::Test {
 protected:
  WatchCoreTest() : converter_("http://test", kAccountA) {}

  void MakeCore() {
    core_ = std::make_unique<WatchCore>(options_, store_, clock_, converter_, MakeFrame);
  }

  // The one change of revision `revision`: participant `n` connects in `room` of `account`.
  static state::Change ChangeOf(uint64_t revision, const state::Sid& account = kAccountA,
                                const state::Sid& room = kRoom1, uint64_t n = 1) {
    state::Change change;
    change.revision = revision;
    change.type = state::ChangeType::kParticipantConnected;
    change.time = absl::FromUnixSeconds(static_cast<int64_t>(revision));
    change.resource =
        MakeParticipant(n, account, room, state::ParticipantStatus::kConnected, revision);
    return change;
  }

  // That revision's change-log entry, as the applier writes it.
  store::LogEntry Entry(uint64_t revision, const state::Sid& account = kAccountA,
                        const state::Sid& room = kRoom1, uint64_t n = 1) {
    store::LogEntry entry;
    entry.revision = revision;
    store::EncodeLogPayload({ChangeOf(revision, account, room, n)}, &entry.payload);
    return entry;
  }

  // Writes revisions [from, to] into the store (durable) and hands them to the core.
  void Commit(uint64_t from, uint64_t to, const state::Sid& account = kAccountA,
              const state::Sid& room = kRoom1, bool publish = true) {
    store::WriteBatch batch;
    for (uint64_t r = from; r <= to; ++r) batch.log.push_back(Entry(r, account, room));
    batch.revision = to;
    ASSERT_TRUE(store_.Write(batch).ok());
    if (publish && core_ != nullptr) core_->Publish(batch.log);
  }

  WatchSpec Spec(uint64_t start = 0, const state::Sid& account = kAccountA) {
    WatchSpec spec;
    spec.account = account;
    spec.start_revision = start;
    return spec;
  }

  WatchOptions options_;
  store::MemoryStore store_;
  SimulatedClock clock_;
  Converter converter_;
  std::unique_ptr<WatchCore> core_;
};

TEST_F(WatchCoreTest, SyncedWatcherGetsEveryInScopeRevisionInOrderOneWriteAtATime) {
  MakeCore();
  FakeStream stream;
  WatchSpec spec = Spec();
  spec.room = kRoom1;
  core_->Open(spec, &stream);
  Commit(1, 3);
  Commit(4, 4, kAccountA, kRoom2);  // another room: out of scope
  Commit(5, 5, kAccountB, kRoom1);  // another account: out of scope
  Commit(6, 6);
  EXPECT_EQ(stream.Revisions(), std::vector<uint64_t>({1})) << "one write in flight";
  stream.AckAll(*core_);
  EXPECT_EQ(stream.Revisions(), std::vector<uint64_t>({1, 2, 3, 6}));
  EXPECT_FALSE(stream.ended.has_value());
  core_->Close(&stream);
  EXPECT_EQ(core_->stats().watchers, 0u);
  EXPECT_EQ(core_->stats().buffered_bytes, 0u);
}

TEST_F(WatchCoreTest, RecheckEndsOnlyStreamsNoLongerAllowedWithTheirAnswerAndResumeTrailer) {
  MakeCore();
  absl::Status verdict = absl::OkStatus();
  FakeStream revoked;
  WatchSpec revoked_spec = Spec();
  revoked_spec.still_allowed = [&] { return verdict; };
  core_->Open(revoked_spec, &revoked);
  FakeStream allowed;
  WatchSpec allowed_spec = Spec();
  allowed_spec.still_allowed = [] { return absl::OkStatus(); };
  core_->Open(allowed_spec, &allowed);
  FakeStream unchecked;  // no check: never ended this way
  core_->Open(Spec(), &unchecked);
  Commit(1, 2);
  revoked.AckAll(*core_);
  allowed.AckAll(*core_);
  unchecked.AckAll(*core_);

  core_->Recheck();  // every answer OK: nothing ends
  EXPECT_FALSE(revoked.ended.has_value());

  verdict = absl::PermissionDeniedError("SK1 has role ingest");
  core_->Recheck();
  ASSERT_TRUE(revoked.ended.has_value());
  EXPECT_EQ(*revoked.ended, verdict);
  EXPECT_EQ(revoked.trailers[kResumeRevisionTrailer], "3");
  EXPECT_FALSE(allowed.ended.has_value());
  EXPECT_FALSE(unchecked.ended.has_value());

  core_->Recheck();  // an ended stream is not finished twice (FakeStream asserts it)
  Commit(3, 3);
  allowed.AckAll(*core_);
  EXPECT_EQ(allowed.Revisions(), std::vector<uint64_t>({1, 2, 3}));
  EXPECT_EQ(revoked.Revisions(), std::vector<uint64_t>({1, 2}));
  for (FakeStream* stream : {&revoked, &allowed, &unchecked}) core_->Close(stream);
  EXPECT_EQ(core_->stats().watchers, 0u);
}

TEST_F(WatchCoreTest, IdleStreamGetsProgressOnlyAfterTheIntervalOnTheClock) {
  options_.progress_interval = absl::Seconds(10);
  MakeCore();
  Commit(1, 2);
  FakeStream stream;
  core_->Open(Spec(), &stream);
  core_->Sweep();
  EXPECT_TRUE(stream.written.empty());
  clock_.Advance(absl::Seconds(9));
  core_->Sweep();
  EXPECT_TRUE(stream.written.empty());
  clock_.Advance(absl::Seconds(1));
  core_->Sweep();
  ASSERT_EQ(stream.written.size(), 1u);
  ASSERT_TRUE(stream.written[0].has_progress());
  EXPECT_EQ(stream.written[0].progress().revision(), 2u);
  stream.AckAll(*core_);
  core_->Close(&stream);
}

TEST_F(WatchCoreTest, TheCoresThreadSweepsWhenTheSimulatedClockAdvances) {
  options_.progress_interval = absl::Seconds(4);
  MakeCore();
  FakeStream stream;
  core_->Open(Spec(), &stream);
  core_->Start();
  clock_.Advance(absl::Seconds(5));
  // The thread wakes on Advance; wait for its sweep with a deadline (no sleeping on timers).
  for (int i = 0; i < 2000 && core_->stats().buffered_bytes == 0 && stream.written.empty(); ++i) {
    clock_.Advance(absl::Seconds(1));
    absl::SleepFor(absl::Milliseconds(1));
  }
  core_->Shutdown();
  ASSERT_FALSE(stream.written.empty());
  EXPECT_TRUE(stream.written[0].has_progress());
  core_->Close(&stream);
}

TEST_F(WatchCoreTest, CatchesUpFromTheStoredLogThenFollowsLive) {
  Commit(1, 1200);  // durable before the core exists: not in its ring
  MakeCore();
  FakeStream stream;
  core_->Open(Spec(5), &stream);
  while (core_->ReadStoreOnce() || stream.Ack(*core_)) {
  }
  Commit(1201, 1201);
  stream.AckAll(*core_);
  std::vector<uint64_t> expected;
  for (uint64_t r = 5; r <= 1201; ++r) expected.push_back(r);
  EXPECT_EQ(stream.Revisions(), expected);
  core_->Close(&stream);
}

TEST_F(WatchCoreTest, StartBeforeTheRetainedLogIsOutOfRangeWithTheCompactRevision) {
  Commit(1, 20);
  store::WriteBatch compact;
  compact.compact_log_before = 11;
  ASSERT_TRUE(store_.Write(compact).ok());
  MakeCore();
  FakeStream stream;
  core_->Open(Spec(3), &stream);
  ASSERT_TRUE(stream.ended.has_value());
  EXPECT_EQ(stream.ended->code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(stream.ended->message(), HasSubstr("11"));
  EXPECT_EQ(stream.trailers["rollcall-compact-revision"], "11");
  core_->Close(&stream);
}

TEST_F(WatchCoreTest, CompactionDuringCatchUpEndsTheWatcherResourceExhaustedWithResumePoint) {
  Commit(1, 20);
  MakeCore();
  FakeStream stream;
  core_->Open(Spec(2), &stream);
  store::WriteBatch compact;
  compact.compact_log_before = 11;
  ASSERT_TRUE(store_.Write(compact).ok());
  core_->ReadStoreOnce();
  ASSERT_TRUE(stream.ended.has_value());
  EXPECT_EQ(stream.ended->code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(stream.ended->message(), HasSubstr("starts at revision 11"));
  EXPECT_EQ(stream.trailers["rollcall-resume-revision"], "2");
  EXPECT_EQ(core_->stats().slow_terminations, 1u);
  core_->Close(&stream);
}

TEST_F(WatchCoreTest, SlowWatcherEndsResourceExhaustedNamingLastRevisionAndLimitOthersUnharmed) {
  options_.max_lag = 50;
  options_.max_queue_bytes = 2000;
  MakeCore();
  FakeStream slow, fast;
  core_->Open(Spec(), &slow);
  core_->Open(Spec(), &fast);
  Commit(1, 1);
  slow.Ack(*core_);  // received revision 1, then stops reading
  for (uint64_t r = 2; r <= 200; ++r) {
    Commit(r, r);
    fast.AckAll(*core_);
  }
  EXPECT_LT(core_->stats().buffered_bytes, 2 * options_.max_queue_bytes) << "bounded";
  core_->Sweep();  // the first sweep after it fell behind notes its lag
  core_->Sweep();  // no closer since: it ends
  ASSERT_TRUE(slow.ended.has_value());
  EXPECT_EQ(slow.ended->code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(slow.ended->message(), HasSubstr("--watch_max_lag"));
  EXPECT_THAT(slow.ended->message(), HasSubstr("--watch_max_queue_bytes"));
  // Revision 2 was being written when it ended (it reaches the client before the status).
  EXPECT_THAT(slow.ended->message(), HasSubstr("last revision received 2"));
  const uint64_t resume = std::stoull(slow.trailers["rollcall-resume-revision"]);
  EXPECT_EQ(resume, slow.Revisions().back() + 1) << "nothing missed or doubled";
  EXPECT_FALSE(fast.ended.has_value());
  EXPECT_EQ(fast.Revisions().size(), 200u);
  core_->Close(&slow);
  core_->Close(&fast);
}

TEST_F(WatchCoreTest, AWatcherThatKeepsReadingFromFarBehindIsNotEnded) {
  options_.max_lag = 100;
  options_.catch_up_chunk = 64;
  Commit(1, 1000);
  MakeCore();
  FakeStream stream;
  core_->Open(Spec(1), &stream);
  core_->Sweep();  // first sweep: spared
  for (int round = 0; round < 40 && !stream.ended.has_value(); ++round) {
    core_->ReadStoreOnce();
    stream.AckAll(*core_);
    core_->Sweep();  // closer than before: catching up
  }
  EXPECT_FALSE(stream.ended.has_value()) << stream.ended->ToString();
  EXPECT_EQ(stream.Revisions().size(), 1000u);
  core_->Close(&stream);
}

TEST_F(WatchCoreTest, AnUndecodableLiveRevisionEndsDataLossNamingItNeverASkip) {
  MakeCore();
  FakeStream stream;
  core_->Open(Spec(), &stream);
  Commit(1, 1);
  core_->Publish({{2, "short"}});
  stream.AckAll(*core_);
  ASSERT_TRUE(stream.ended.has_value());
  EXPECT_EQ(stream.ended->code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(stream.ended->message(), HasSubstr("revision 2"));
  EXPECT_EQ(stream.trailers["rollcall-resume-revision"], "2");
  EXPECT_EQ(stream.Revisions(), std::vector<uint64_t>({1}));
  core_->Close(&stream);
}

TEST_F(WatchCoreTest, AnUndecodableStoredRevisionEndsCatchUpWithDataLoss) {
  Commit(1, 3);
  store::WriteBatch bad;
  bad.log.push_back({4, "xx"});
  bad.revision = 4;
  ASSERT_TRUE(store_.Write(bad).ok());
  Commit(5, 6, kAccountA, kRoom1, false);
  MakeCore();
  FakeStream stream;
  core_->Open(Spec(1), &stream);
  while (core_->ReadStoreOnce() || stream.Ack(*core_)) {
  }
  ASSERT_TRUE(stream.ended.has_value());
  EXPECT_EQ(stream.ended->code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(stream.ended->message(), HasSubstr("revision 4"));
  EXPECT_EQ(stream.Revisions(), std::vector<uint64_t>({1, 2, 3}));
  EXPECT_EQ(stream.trailers["rollcall-resume-revision"], "4");
  core_->Close(&stream);
}

TEST_F(WatchCoreTest, AnEntryHoldingAnotherRevisionsChangesIsDamage) {
  MakeCore();
  FakeStream stream;
  core_->Open(Spec(), &stream);
  store::LogEntry misplaced = Entry(7);
  misplaced.revision = 1;
  core_->Publish({misplaced});
  ASSERT_TRUE(stream.ended.has_value());
  EXPECT_EQ(stream.ended->code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(stream.ended->message(), HasSubstr("revision 1"));
  EXPECT_THAT(stream.ended->message(), HasSubstr("changes of revision 7"));
  core_->Close(&stream);
}

// Counts the frames made for revisions (not control messages), as a FrameMaker.
struct CountingFrames {
  std::shared_ptr<int> revisions = std::make_shared<int>(0);
  FrameMaker Maker() const {
    return [count = revisions](std::string serialized) {
      v1::WatchResponse message;
      if (message.ParseFromString(serialized) && message.has_changes()) ++*count;
      return MakeFrame(std::move(serialized));
    };
  }
};

// The change log holds domain records, so history is rendered by the server reading it: with
// another --public_base_url than the one it was written under, old revisions carry the new
// URLs, byte for byte what live watchers got and what a read renders for the record now.
TEST_F(WatchCoreTest, HistoryRendersWithTheReadersBaseUrlExactlyAsLiveRevisions) {
  options_.recent_revisions = 0;  // every catch-up reads the stored log
  // Written by a server whose base URL was http://test (converter_); never rendered then.
  Commit(1, 3, kAccountA, kRoom1, /*publish=*/false);
  const Converter moved("https://moved.example", kAccountA);
  core_ = std::make_unique<WatchCore>(options_, store_, clock_, moved, MakeFrame);
  FakeStream live;
  core_->Open(Spec(), &live);
  Commit(4, 6);  // published live
  live.AckAll(*core_);
  ASSERT_EQ(live.Revisions(), std::vector<uint64_t>({4, 5, 6}));
  FakeStream history;
  core_->Open(Spec(1), &history);
  while (core_->ReadStoreOnce() || history.Ack(*core_)) {
  }
  ASSERT_EQ(history.Revisions(), std::vector<uint64_t>({1, 2, 3, 4, 5, 6}));
  for (const v1::WatchResponse& m : history.written) {
    ASSERT_EQ(m.changes().changes_size(), 1);
    const v1::Participant& p = m.changes().changes(0).participant();
    EXPECT_THAT(p.url(), ::testing::StartsWith("https://moved.example/v1/Rooms/"));
    EXPECT_THAT(p.links().published_tracks(), ::testing::StartsWith("https://moved.example/"));
    // What a Get renders for the record as the log holds it.
    v1::Participant read;
    moved.ToProto(MakeParticipant(1, kAccountA, kRoom1, state::ParticipantStatus::kConnected,
                                  m.changes().revision()),
                  &read);
    EXPECT_EQ(p.SerializeAsString(), read.SerializeAsString());
  }
  for (uint64_t r = 4; r <= 6; ++r) {
    const auto& from_log = static_cast<const StringFrame&>(*history.FrameOf(r)).bytes;
    const auto& published = static_cast<const StringFrame&>(*live.FrameOf(r)).bytes;
    EXPECT_EQ(from_log, published) << "revision " << r << ": catch-up and live differ";
  }
  core_->Close(&live);
  core_->Close(&history);
}

TEST_F(WatchCoreTest, ALiveRevisionIsRenderedOnceAndEveryWatcherSendsThatFrame) {
  const CountingFrames counting;
  core_ = std::make_unique<WatchCore>(options_, store_, clock_, converter_, counting.Maker());
  std::vector<std::unique_ptr<FakeStream>> streams(5);
  for (auto& stream : streams) {
    stream = std::make_unique<FakeStream>();
    core_->Open(Spec(), stream.get());
  }
  Commit(1, 3);
  for (auto& stream : streams) stream->AckAll(*core_);
  EXPECT_EQ(*counting.revisions, 3);
  for (uint64_t r = 1; r <= 3; ++r) {
    for (auto& stream : streams) {
      ASSERT_NE(stream->FrameOf(r), nullptr);
      EXPECT_EQ(stream->FrameOf(r), streams[0]->FrameOf(r)) << "revision " << r;
    }
  }
  for (auto& stream : streams) core_->Close(stream.get());
}

// Revisions published while nobody watches are not rendered then: a watcher that later
// catches up over them from the ring renders each revision in its scope once (shared with the
// next such watcher), leaves the others unrendered, and still ends DATA_LOSS at one whose
// changes turn out not to decode.
TEST_F(WatchCoreTest, RevisionsPublishedUnwatchedAreRenderedWhenFirstTakenOnly) {
  const CountingFrames counting;
  core_ = std::make_unique<WatchCore>(options_, store_, clock_, converter_, counting.Maker());
  Commit(1, 4);
  Commit(5, 6, kAccountA, kRoom2);
  EXPECT_EQ(*counting.revisions, 0) << "no watcher: nothing rendered";

  FakeStream room1, again;
  WatchSpec spec = Spec(1);
  spec.room = kRoom1;
  core_->Open(spec, &room1);
  core_->Open(spec, &again);
  while (room1.Ack(*core_) || again.Ack(*core_)) {
  }
  EXPECT_EQ(room1.Revisions(), std::vector<uint64_t>({1, 2, 3, 4}));
  EXPECT_EQ(again.Revisions(), room1.Revisions());
  for (uint64_t r = 1; r <= 4; ++r) EXPECT_EQ(room1.FrameOf(r), again.FrameOf(r)) << r;
  EXPECT_EQ(*counting.revisions, 4) << "room 2's revisions are still unrendered";

  FakeStream account;
  core_->Open(Spec(1), &account);
  while (account.Ack(*core_)) {
  }
  EXPECT_EQ(account.Revisions(), std::vector<uint64_t>({1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(account.FrameOf(2), room1.FrameOf(2));
  EXPECT_EQ(*counting.revisions, 6);
  for (FakeStream* s : {&room1, &again, &account}) core_->Close(s);

  // Its scope decodes, its changes do not: found when a watcher takes it.
  std::string damaged = Entry(7, kAccountA, kRoom1).payload;
  damaged.resize(store::kLogHeaderBytes + 1);
  store::WriteBatch batch;
  batch.log.push_back({7, damaged});
  batch.revision = 7;
  ASSERT_TRUE(store_.Write(batch).ok());
  core_->Publish(batch.log);
  FakeStream late;
  core_->Open(Spec(5), &late);
  while (late.Ack(*core_)) {
  }
  ASSERT_TRUE(late.ended.has_value());
  EXPECT_EQ(late.ended->code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(late.ended->message(), HasSubstr("revision 7"));
  EXPECT_EQ(late.Revisions(), std::vector<uint64_t>({5, 6}));
  core_->Close(&late);
}

// A watcher of one room renders only that room's revisions when it catches up; watchers
// catching up over the same stored history (e.g. all resuming after a restart) share one
// rendering of each revision while one of them has it queued; and what the ring holds is not
// read from the store.
TEST_F(WatchCoreTest, CatchUpReadsRenderOnlyWhatIsInScopeAndShareOneRendering) {
  options_.recent_revisions = 4;
  const CountingFrames counting;
  Commit(1, 8, kAccountA, kRoom1, /*publish=*/false);
  Commit(9, 10, kAccountA, kRoom2, /*publish=*/false);
  core_ = std::make_unique<WatchCore>(options_, store_, clock_, converter_, counting.Maker());
  FakeStream room2;
  WatchSpec spec = Spec(1);
  spec.room = kRoom2;
  core_->Open(spec, &room2);
  while (core_->ReadStoreOnce() || room2.Ack(*core_)) {
  }
  EXPECT_EQ(room2.Revisions(), std::vector<uint64_t>({9, 10}));
  EXPECT_EQ(*counting.revisions, 2) << "revisions 1..8 of room 1 stepped over, not rendered";

  FakeStream first, second;
  core_->Open(Spec(1), &first);
  core_->Open(Spec(1), &second);
  core_->ReadStoreOnce();  // first: renders 1..8; 9 and 10 are room2's frames
  core_->ReadStoreOnce();  // second: every frame is still queued for (or held by) another
  EXPECT_EQ(*counting.revisions, 10);
  while (core_->ReadStoreOnce() || first.Ack(*core_) || second.Ack(*core_)) {
  }
  ASSERT_EQ(second.Revisions().size(), 10u);
  for (uint64_t r = 1; r <= 10; ++r) EXPECT_EQ(first.FrameOf(r), second.FrameOf(r)) << r;
  EXPECT_EQ(first.FrameOf(9), room2.FrameOf(9));
  EXPECT_EQ(*counting.revisions, 10);

  // Live revisions 11..20, once each; the ring keeps 17..20. A watcher from 11 reads only
  // 11..16 from the store (rendered for it: live frames are shared through the ring only).
  Commit(11, 20);
  EXPECT_EQ(*counting.revisions, 20);
  FakeStream late;
  core_->Open(Spec(11), &late);
  while (core_->ReadStoreOnce() || late.Ack(*core_) || first.Ack(*core_) || second.Ack(*core_) ||
         room2.Ack(*core_)) {
  }
  EXPECT_EQ(late.Revisions().size(), 10u);
  EXPECT_EQ(late.FrameOf(20), first.FrameOf(20)) << "from the ring";
  EXPECT_EQ(*counting.revisions, 26);
  for (FakeStream* s : {&first, &second, &room2, &late}) core_->Close(s);
}

TEST_F(WatchCoreTest, InitialStateIsTheSnapshotInChunksThenTheEndMarkerThenLaterChanges) {
  options_.snapshot_chunk_records = 7;
  store::WriteBatch batch;
  batch.rooms = {MakeRoom(kRoom1, kAccountA, 1), MakeRoom(kRoom2, kAccountA, 2),
                 MakeRoom(FixedSid(state::kRoomPrefix, 9), kAccountB, 3)};
  for (uint64_t n = 1; n <= 20; ++n) {
    batch.participants.push_back(MakeParticipant(
        n, kAccountA, n % 2 ? kRoom1 : kRoom2,
        n <= 15 ? state::ParticipantStatus::kConnected : state::ParticipantStatus::kDisconnected,
        4));
  }
  batch.participants.push_back(MakeParticipant(99, kAccountB, FixedSid(state::kRoomPrefix, 9),
                                               state::ParticipantStatus::kConnected, 4));
  batch.revision = 4;
  ASSERT_TRUE(store_.Write(batch).ok());
  MakeCore();
  FakeStream stream;
  WatchSpec spec = Spec();
  spec.initial_state = true;
  core_->Open(spec, &stream);
  EXPECT_EQ(core_->stats().snapshots, 1u);
  Commit(5, 6);  // after the snapshot: must come after the end marker
  while (core_->ReadStoreOnce() || stream.Ack(*core_)) {
  }
  size_t rooms = 0, participants = 0, chunks = 0;
  std::map<std::string, int> counts;
  size_t end_at = 0;
  for (size_t i = 0; i < stream.written.size(); ++i) {
    const v1::WatchResponse& m = stream.written[i];
    if (m.has_initial_state()) {
      ++chunks;
      EXPECT_EQ(end_at, 0u);
      EXPECT_LE(m.initial_state().rooms_size() + m.initial_state().participants_size(), 7);
      rooms += m.initial_state().rooms_size();
      participants += m.initial_state().participants_size();
      for (const v1::Room& r : m.initial_state().rooms()) counts[r.sid()] = r.participant_count();
    }
    if (m.has_initial_state_end()) {
      end_at = i;
      EXPECT_EQ(m.initial_state_end().revision(), 4u);
    }
  }
  EXPECT_EQ(rooms, 2u) << "account B's room is out of scope";
  EXPECT_EQ(participants, 20u);
  EXPECT_GE(chunks, 3u);
  EXPECT_EQ(counts[kRoom1.ToString()], 8) << "active participants 1,3,..,15";
  EXPECT_EQ(counts[kRoom2.ToString()], 7);
  EXPECT_GT(end_at, 0u);
  EXPECT_EQ(stream.Revisions(), std::vector<uint64_t>({5, 6}));
  EXPECT_EQ(core_->stats().snapshots, 0u);
  core_->Close(&stream);
}

state::PublishedTrack MakeTrack(uint64_t n, const state::Participant& publisher) {
  state::PublishedTrack track;
  track.sid = FixedSid(state::kTrackPrefix, n);
  track.account_sid = publisher.account_sid;
  track.room_sid = publisher.room_sid;
  track.participant_sid = publisher.sid;
  track.name = absl::StrCat("track-", n);
  track.kind = state::TrackKind::kAudio;
  track.status = n % 3 == 0 ? state::TrackStatus::kUnpublished : state::TrackStatus::kPublished;
  track.date_created = track.date_updated = absl::FromUnixSeconds(100 + n);
  track.revision = 5;
  return track;
}

// The kinds of records an initial_state chunk holds, in the order they must come.
enum Kind { kRooms, kParticipants, kTracks, kRules, kSubscriptions, kKinds };

TEST_F(WatchCoreTest, InitialStateCarriesTracksRulesAndSubscriptionsAfterTheirParticipants) {
  options_.snapshot_chunk_records = 4;
  const state::Sid room_b = FixedSid(state::kRoomPrefix, 9);
  store::WriteBatch batch;
  batch.rooms = {MakeRoom(kRoom1, kAccountA, 1), MakeRoom(kRoom2, kAccountA, 2),
                 MakeRoom(room_b, kAccountB, 3)};
  // Participants 1..6 of account A alternate between room 1 and room 2; 7 is account B's.
  for (uint64_t n = 1; n <= 7; ++n) {
    batch.participants.push_back(MakeParticipant(n, n == 7 ? kAccountB : kAccountA,
                                                 n == 7 ? room_b : (n % 2 ? kRoom1 : kRoom2),
                                                 state::ParticipantStatus::kConnected, 4));
  }
  // Two tracks each; everyone in a room receives the others' published tracks.
  for (const state::Participant& p : batch.participants) {
    for (uint64_t t = 0; t < 2; ++t) {
      batch.tracks.push_back(MakeTrack(batch.tracks.size() + 1, p));
    }
  }
  for (const state::PublishedTrack& track : batch.tracks) {
    if (!track.published()) continue;
    for (const state::Participant& p : batch.participants) {
      if (p.room_sid != track.room_sid || p.sid == track.participant_sid) continue;
      batch.subscriptions.push_back({.sid = track.sid,
                                     .participant_sid = p.sid,
                                     .publisher_sid = track.participant_sid,
                                     .account_sid = p.account_sid,
                                     .room_sid = p.room_sid,
                                     .name = track.name,
                                     .kind = track.kind,
                                     .enabled = track.enabled,
                                     .date_created = absl::FromUnixSeconds(200),
                                     .date_updated = absl::FromUnixSeconds(200),
                                     .revision = 5});
    }
  }
  // Replaced rule sets for participants 1, 2 and 7.
  for (const state::Participant* p :
       {&batch.participants[0], &batch.participants[1], &batch.participants[6]}) {
    batch.rules.push_back({.participant_sid = p->sid,
                           .account_sid = p->account_sid,
                           .room_sid = p->room_sid,
                           .rules = {{.type = state::RuleType::kExclude,
                                      .all = false,
                                      .kind = state::TrackKind::kVideo,
                                      .publisher = "",
                                      .track = ""}},
                           .date_created = absl::FromUnixSeconds(300),
                           .date_updated = absl::FromUnixSeconds(300),
                           .revision = 5});
  }
  batch.revision = 5;
  ASSERT_TRUE(store_.Write(batch).ok());
  MakeCore();

  // What a watch of `room` (every room of account A when unset) must receive of each kind.
  auto expected = [&](std::optional<state::Sid> room) {
    std::array<std::set<std::string>, kKinds> want;
    auto in_scope = [&](const state::Sid& account, const state::Sid& r) {
      return account == kAccountA && (!room || r == *room);
    };
    for (const state::Room& r : batch.rooms) {
      if (in_scope(r.account_sid, r.sid)) want[kRooms].insert(r.sid.ToString());
    }
    for (const state::Participant& p : batch.participants) {
      if (in_scope(p.account_sid, p.room_sid)) want[kParticipants].insert(p.sid.ToString());
    }
    for (const state::PublishedTrack& t : batch.tracks) {
      if (in_scope(t.account_sid, t.room_sid)) want[kTracks].insert(t.sid.ToString());
    }
    for (const state::SubscribeRules& r : batch.rules) {
      if (in_scope(r.account_sid, r.room_sid)) want[kRules].insert(r.participant_sid.ToString());
    }
    for (const state::SubscribedTrack& s : batch.subscriptions) {
      if (in_scope(s.account_sid, s.room_sid)) {
        want[kSubscriptions].insert(s.participant_sid.ToString() + "/" + s.sid.ToString());
      }
    }
    return want;
  };
  for (std::optional<state::Sid> room : {std::optional<state::Sid>(), std::optional(kRoom2)}) {
    SCOPED_TRACE(room ? "room 2" : "account A");
    FakeStream stream;
    WatchSpec spec = Spec();
    spec.room = room;
    spec.initial_state = true;
    core_->Open(spec, &stream);
    while (core_->ReadStoreOnce() || stream.Ack(*core_)) {
    }
    std::array<std::set<std::string>, kKinds> got;
    int last_kind = kRooms;
    bool ended = false;
    for (const v1::WatchResponse& m : stream.written) {
      if (m.has_initial_state_end()) {
        EXPECT_EQ(m.initial_state_end().revision(), 5u);
        ended = true;
      }
      if (!m.has_initial_state()) continue;
      EXPECT_FALSE(ended) << "initial state after its end";
      const v1::InitialState& chunk = m.initial_state();
      const std::array<int, kKinds> sizes = {
          chunk.rooms_size(), chunk.participants_size(), chunk.published_tracks_size(),
          chunk.subscribe_rules_size(), chunk.subscribed_tracks_size()};
      int total = 0;
      for (int kind = 0; kind < kKinds; ++kind) {
        total += sizes[kind];
        if (sizes[kind] == 0) continue;
        EXPECT_GE(kind, last_kind) << "kind " << kind << " came after kind " << last_kind;
        last_kind = std::max(last_kind, kind);
      }
      EXPECT_GE(total, 1);
      EXPECT_LE(total, 4) << "more than a chunk's worth of records";
      for (const v1::Room& r : chunk.rooms()) got[kRooms].insert(r.sid());
      for (const v1::Participant& p : chunk.participants()) got[kParticipants].insert(p.sid());
      for (const v1::PublishedTrack& t : chunk.published_tracks()) {
        EXPECT_TRUE(got[kParticipants].contains(t.participant_sid())) << "before its publisher";
        got[kTracks].insert(t.sid());
      }
      for (const v1::SubscribeRules& r : chunk.subscribe_rules()) {
        EXPECT_EQ(r.rules_size(), 1);
        got[kRules].insert(r.participant_sid());
      }
      for (const v1::SubscribedTrack& s : chunk.subscribed_tracks()) {
        got[kSubscriptions].insert(s.participant_sid() + "/" + s.sid());
      }
    }
    EXPECT_TRUE(ended);
    const std::array<std::set<std::string>, kKinds> want = expected(room);
    for (int kind = 0; kind < kKinds; ++kind) {
      EXPECT_FALSE(want[kind].empty()) << "kind " << kind << ": the test needs some in scope";
      EXPECT_EQ(got[kind], want[kind]) << "kind " << kind;
    }
    core_->Close(&stream);
  }
}

TEST_F(WatchCoreTest, SnapshotIsOfItsRevisionWhileTheStoreMovesOn) {
  store::WriteBatch batch;
  batch.rooms = {MakeRoom(kRoom1, kAccountA, 1)};
  for (uint64_t n = 1; n <= 50; ++n) {
    batch.participants.push_back(
        MakeParticipant(n, kAccountA, kRoom1, state::ParticipantStatus::kConnected, 1));
  }
  batch.revision = 1;
  ASSERT_TRUE(store_.Write(batch).ok());
  options_.snapshot_chunk_records = 10;
  MakeCore();
  FakeStream stream;
  WatchSpec spec = Spec();
  spec.initial_state = true;
  core_->Open(spec, &stream);
  core_->ReadStoreOnce();  // first chunk read
  // The writer goes on while the snapshot is open: 20 batches, each durable at once.
  for (uint64_t r = 2; r <= 21; ++r) {
    store::WriteBatch change;
    change.participants = {
        MakeParticipant(r, kAccountA, kRoom1, state::ParticipantStatus::kDisconnected, r)};
    change.log = {Entry(r)};
    change.revision = r;
    ASSERT_TRUE(store_.Write(change).ok());
    core_->Publish(change.log);
  }
  while (core_->ReadStoreOnce() || stream.Ack(*core_)) {
  }
  int connected = 0;
  for (const v1::WatchResponse& m : stream.written) {
    for (const v1::Participant& p : m.initial_state().participants()) {
      connected += p.status() == v1::PARTICIPANT_STATUS_CONNECTED;
    }
  }
  EXPECT_EQ(connected, 50) << "every record as of revision 1";
  std::vector<uint64_t> expected;
  for (uint64_t r = 2; r <= 21; ++r) expected.push_back(r);
  EXPECT_EQ(stream.Revisions(), expected);
  core_->Close(&stream);
}

TEST_F(WatchCoreTest, ShutdownEndsStreamsUnavailableWithResumeTrailerAndRefusesNewOnes) {
  MakeCore();
  FakeStream stream;
  core_->Open(Spec(), &stream);
  Commit(1, 3);
  core_->Shutdown();
  ASSERT_TRUE(stream.ended.has_value());
  EXPECT_EQ(stream.ended->code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(stream.trailers["rollcall-resume-revision"], "2") << "1 is in flight, 2 was queued";
  FakeStream late;
  core_->Open(Spec(), &late);
  ASSERT_TRUE(late.ended.has_value());
  EXPECT_EQ(late.ended->code(), absl::StatusCode::kUnavailable);
  core_->Close(&stream);
  core_->Close(&late);
}

// ---- Limits: each refusal is RESOURCE_EXHAUSTED naming its flag; nobody else is touched.

TEST_F(WatchCoreTest, WatchersPerAccountAreLimitedOtherAccountsStillWatch) {
  options_.max_watchers_per_account = 2;
  MakeCore();
  FakeStream a1, a2, a3, b1;
  core_->Open(Spec(0, kAccountA), &a1);
  core_->Open(Spec(0, kAccountA), &a2);
  core_->Open(Spec(0, kAccountA), &a3);
  core_->Open(Spec(0, kAccountB), &b1);
  ASSERT_TRUE(a3.ended.has_value());
  EXPECT_EQ(a3.ended->code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(a3.ended->message(), HasSubstr("--watch_max_watchers_per_account"));
  EXPECT_FALSE(a1.ended.has_value());
  EXPECT_FALSE(b1.ended.has_value());
  Commit(1, 1, kAccountB);
  EXPECT_EQ(b1.Revisions(), std::vector<uint64_t>({1}));
  core_->Close(&a3);
  core_->Close(&a1);  // a slot frees up
  FakeStream a4;
  core_->Open(Spec(0, kAccountA), &a4);
  EXPECT_FALSE(a4.ended.has_value());
  for (FakeStream* s : {&a2, &a4, &b1}) core_->Close(s);
}

TEST_F(WatchCoreTest, WatchersInTotalAreLimited) {
  options_.max_watchers = 2;
  MakeCore();
  FakeStream a, b, c;
  core_->Open(Spec(0, kAccountA), &a);
  core_->Open(Spec(0, kAccountB), &b);
  core_->Open(Spec(0, kAccountB), &c);
  ASSERT_TRUE(c.ended.has_value());
  EXPECT_EQ(c.ended->code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(c.ended->message(), HasSubstr("--watch_max_watchers"));
  EXPECT_FALSE(a.ended.has_value());
  EXPECT_FALSE(b.ended.has_value());
  for (FakeStream* s : {&a, &b, &c}) core_->Close(s);
}

TEST_F(WatchCoreTest, ConcurrentSnapshotsAreLimited) {
  options_.max_snapshots = 1;
  MakeCore();
  WatchSpec spec = Spec();
  spec.initial_state = true;
  FakeStream first, second, plain;
  core_->Open(spec, &first);
  core_->Open(spec, &second);
  core_->Open(Spec(), &plain);
  ASSERT_TRUE(second.ended.has_value());
  EXPECT_EQ(second.ended->code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(second.ended->message(), HasSubstr("--watch_max_snapshots"));
  EXPECT_FALSE(first.ended.has_value());
  EXPECT_FALSE(plain.ended.has_value()) << "a watch without initial state is not limited";
  while (core_->ReadStoreOnce() || first.Ack(*core_)) {
  }
  FakeStream third;
  core_->Open(spec, &third);  // the first snapshot is done: room for another
  EXPECT_FALSE(third.ended.has_value());
  for (FakeStream* s : {&first, &second, &plain, &third}) core_->Close(s);
}

TEST_F(WatchCoreTest, TotalBufferedBytesAreBoundedAndReadersKeepTheirStream) {
  options_.max_buffered_bytes = 4000;
  options_.max_lag = 20;
  MakeCore();
  std::vector<std::unique_ptr<FakeStream>> stuck;
  for (int i = 0; i < 10; ++i) {
    stuck.push_back(std::make_unique<FakeStream>());
    core_->Open(Spec(0, kAccountB), stuck.back().get());
  }
  FakeStream reader;
  core_->Open(Spec(0, kAccountA), &reader);
  for (uint64_t r = 1; r <= 100; ++r) {
    Commit(r, r, r % 2 ? kAccountA : kAccountB);
    reader.AckAll(*core_);
  }
  const size_t one = converter_.SerializeChangeSet({ChangeOf(100)}).size();  // a message
  EXPECT_LE(core_->stats().buffered_bytes, options_.max_buffered_bytes + 11 * one);
  core_->Sweep();
  core_->Sweep();
  for (const auto& s : stuck) {
    ASSERT_TRUE(s->ended.has_value());
    EXPECT_EQ(s->ended->code(), absl::StatusCode::kResourceExhausted);
    EXPECT_THAT(s->ended->message(), HasSubstr("--watch_max_buffered_bytes"));
  }
  EXPECT_FALSE(reader.ended.has_value());
  EXPECT_EQ(reader.Revisions().size(), 50u);
  for (const auto& s : stuck) core_->Close(s.get());
  core_->Close(&reader);
  EXPECT_EQ(core_->stats().buffered_bytes, 0u);
}

TEST_F(WatchCoreTest, AWatchForALaterRevisionWaitsForIt) {
  MakeCore();
  FakeStream stream;
  core_->Open(Spec(3), &stream);
  Commit(1, 5);
  stream.AckAll(*core_);
  EXPECT_EQ(stream.Revisions(), std::vector<uint64_t>({3, 4, 5}));
  core_->Close(&stream);
}

TEST_F(WatchCoreTest, CancelEndsCancelledAndABrokenWriteToo) {
  MakeCore();
  FakeStream a, b;
  core_->Open(Spec(), &a);
  core_->Open(Spec(), &b);
  core_->Cancel(&a);
  ASSERT_TRUE(a.ended.has_value());
  EXPECT_EQ(a.ended->code(), absl::StatusCode::kCancelled);
  Commit(1, 1);
  core_->Written(&b, false);
  ASSERT_TRUE(b.ended.has_value());
  EXPECT_EQ(b.ended->code(), absl::StatusCode::kCancelled);
  core_->Close(&a);
  core_->Close(&b);
  EXPECT_EQ(core_->stats().watchers, 0u);
}

// Initial states never block the writer: with 10 snapshots of 100,000 records each open on a
// RocksDB store (every one part-way through), the applier commits 200 batches, and each
// snapshot still delivers exactly its own revision's records, then every later change.
TEST(WatchSnapshotTest, TenSnapshotsOf100kRecordsDoNotHoldUpTheApplier) {
  constexpr int kRecords = 100000;
  constexpr int kSnapshots = 10;
  constexpr int kBatches = 200;
  constexpr int kPerBatch = 5;
  store::test_records::ScratchDir dir;
  store::RocksOptions rocks;
  rocks.path = dir.path();
  rocks.sync = false;
  absl::StatusOr<std::unique_ptr<store::Store>> opened = store::OpenRocksStore(rocks);
  ASSERT_TRUE(opened.ok()) << opened.status();
  store::Store& store = **opened;
  SimulatedClock clock;
  // Records of now, so no timer of theirs falls due during the test.
  for (int first = 0; first < kRecords; first += 10000) {
    store::WriteBatch batch;
    for (int n = first; n < first + 10000; ++n) {
      const state::Sid room = FixedSid(state::kRoomPrefix, 1 + n / 50);
      if (n % 50 == 0) {
        state::Room& r = batch.rooms.emplace_back(MakeRoom(room, kAccountA, 1));
        r.date_created = r.date_updated = clock.SystemTime();
      }
      state::Participant& p = batch.participants.emplace_back(
          MakeParticipant(1000 + n, kAccountA, room, state::ParticipantStatus::kConnected, 1));
      p.date_created = p.date_updated = p.start_time = p.last_event_time = clock.SystemTime();
    }
    batch.revision = 1;
    ASSERT_TRUE(store.Write(batch).ok());
  }
  // One account holds all 100k participants: lift the per-account quotas (10,000 by default).
  state::Limits limits;
  limits.max_account_rooms = 1'000'000;
  limits.max_account_participants = 1'000'000;
  state::Roster roster{limits};
  ASSERT_TRUE(store.Load(roster).ok());
  const Converter converter("http://test", kAccountA);
  WatchOptions options;
  options.max_snapshots = kSnapshots;
  WatchCore core(options, store, clock, converter, MakeFrame);
  state::SequentialIdSource ids;
  Applier applier(ApplierOptions(), store, roster, ids, clock);
  applier.SetCommitListener(
      [&core](const std::vector<store::LogEntry>& entries) { core.Publish(entries); });
  applier.Start();

  std::vector<std::unique_ptr<FakeStream>> streams;
  WatchSpec spec;
  spec.account = kAccountA;
  spec.initial_state = true;
  for (int i = 0; i < kSnapshots; ++i) {
    streams.push_back(std::make_unique<FakeStream>());
    core.Open(spec, streams.back().get());
    ASSERT_TRUE(core.ReadStoreOnce());  // each has read its first chunk
  }
  ASSERT_EQ(core.stats().snapshots, static_cast<size_t>(kSnapshots));

  std::vector<absl::Duration> latencies;
  for (int b = 0; b < kBatches; ++b) {
    std::vector<state::Input> inputs;
    for (int e = 0; e < kPerBatch; ++e) {
      state::Event event;
      event.account_sid = kAccountA;
      event.event_id = absl::StrCat("e", b, "-", e);
      event.type = state::EventType::kConnected;
      event.occurred_at = clock.SystemTime();
      event.room = absl::StrCat("new-", b);
      event.identity = absl::StrCat("late-", e);
      inputs.push_back(event);
    }
    absl::Notification done;
    bool applied = true;
    const absl::Time start = absl::Now();
    applier.Submit(std::move(inputs), [&](std::vector<Applier::Result> results) {
      for (const Applier::Result& r : results) applied = applied && r.ok();
      done.Notify();
    });
    ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(30)));
    latencies.push_back(absl::Now() - start);
    ASSERT_TRUE(applied);
  }
  // Every batch committed while all ten snapshots were open.
  EXPECT_EQ(core.stats().snapshots, static_cast<size_t>(kSnapshots));
  std::sort(latencies.begin(), latencies.end());
  std::cout << "batch latency with 10 open snapshots: median "
            << absl::FormatDuration(latencies[latencies.size() / 2]) << ", p99 "
            << absl::FormatDuration(latencies[latencies.size() * 99 / 100]) << ", max "
            << absl::FormatDuration(latencies.back()) << "\n";

  bool progress = true;
  while (progress) {
    progress = core.ReadStoreOnce();
    for (const auto& stream : streams) {
      while (stream->Ack(core)) progress = true;
    }
  }
  applier.Stop();
  constexpr uint64_t kLast = 1 + kBatches * kPerBatch;
  for (const auto& stream : streams) {
    size_t participants = 0;
    uint64_t snapshot_revision = 0;
    for (const v1::WatchResponse& m : stream->written) {
      participants += m.initial_state().participants_size();
      for (const v1::Participant& p : m.initial_state().participants()) {
        ASSERT_EQ(p.revision(), 1u) << "a record as of the snapshot";
      }
      if (m.has_initial_state_end()) snapshot_revision = m.initial_state_end().revision();
    }
    EXPECT_EQ(participants, static_cast<size_t>(kRecords));
    EXPECT_EQ(snapshot_revision, 1u);
    const std::vector<uint64_t> revisions = stream->Revisions();

    ASSERT_EQ(revisions.size(), kLast - 1);
    EXPECT_EQ(revisions.front(), 2u);
    EXPECT_EQ(revisions.back(), kLast);
    core.Close(stream.get());
  }
}

}  // namespace
}  // namespace rollcall::service
