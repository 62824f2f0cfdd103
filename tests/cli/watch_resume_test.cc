// Resume bookkeeping of `rollcall watch` (cli/watch_resume.h): where a broken stream resumes.
#include "cli/watch_resume.h"

#include "gtest/gtest.h"

namespace rollcall::cli {
namespace {

constexpr char kRoomSid[] = "RM0123456789abcdef0123456789abcdef";

v1::WatchRequest Request(uint64_t start, bool initial, const std::string& room = "") {
  v1::WatchRequest r;
  r.set_account_sid("AC0123456789abcdef0123456789abcdef");
  r.set_room(room);
  r.set_start_revision(start);
  r.set_send_initial_state(initial);
  return r;
}

v1::WatchResponse Changes(uint64_t revision, const std::string& room_sid = kRoomSid) {
  v1::WatchResponse r;
  r.mutable_changes()->set_revision(revision);
  v1::Change* c = r.mutable_changes()->add_changes();
  c->set_revision(revision);
  c->set_type(v1::CHANGE_TYPE_PARTICIPANT_CONNECTED);
  c->mutable_participant()->set_room_sid(room_sid);
  return r;
}

v1::WatchResponse End(uint64_t revision) {
  v1::WatchResponse r;
  r.mutable_initial_state_end()->set_revision(revision);
  return r;
}

v1::WatchResponse Progress(uint64_t revision) {
  v1::WatchResponse r;
  r.mutable_progress()->set_revision(revision);
  return r;
}

TEST(WatchCursor, NothingReceivedResumesWhereAsked) {
  EXPECT_EQ(WatchCursor(Request(0, false)).NextStartRevision(), 0u);
  EXPECT_EQ(WatchCursor(Request(40, false)).NextStartRevision(), 40u);
  EXPECT_FALSE(WatchCursor(Request(40, false)).last_revision().has_value());
}

TEST(WatchCursor, ResumesAfterLastChangeSet) {
  WatchCursor cursor(Request(0, false));
  cursor.Observe(Changes(5));
  cursor.Observe(Changes(8));
  EXPECT_EQ(cursor.last_revision(), 8u);
  EXPECT_EQ(cursor.NextStartRevision(), 9u);
}

TEST(WatchCursor, InitialStateEndCountsAsReceived) {
  WatchCursor cursor(Request(0, true));
  v1::WatchResponse chunk;
  chunk.mutable_initial_state()->add_rooms()->set_sid(kRoomSid);
  cursor.Observe(chunk);
  EXPECT_EQ(cursor.NextStartRevision(), 0u) << "a snapshot chunk alone proves no revision";
  cursor.Observe(End(20));
  EXPECT_EQ(cursor.NextStartRevision(), 21u);
}

TEST(WatchCursor, ProgressAdvancesPastQuietRevisions) {
  WatchCursor cursor(Request(0, false));
  cursor.Observe(Changes(5));
  cursor.Observe(Progress(12));
  EXPECT_EQ(cursor.NextStartRevision(), 13u);
}

TEST(WatchCursor, NeverMovesBackwards) {
  WatchCursor cursor(Request(0, false));
  cursor.Observe(Changes(30));
  cursor.Observe(Progress(10));
  EXPECT_EQ(cursor.NextStartRevision(), 31u);
}

TEST(WatchCursor, ProgressBelowAFutureStartDoesNotReachBack) {
  // Asked for revision 100 while the store is at 50: heartbeats say 50, resume stays at 100.
  WatchCursor cursor(Request(100, false));
  cursor.Observe(Progress(50));
  EXPECT_EQ(cursor.NextStartRevision(), 100u);
  cursor.Observe(Changes(100));
  EXPECT_EQ(cursor.NextStartRevision(), 101u);
}

TEST(WatchCursor, ResumeRequestNeverAsksForInitialState) {
  WatchCursor cursor(Request(0, true));
  cursor.Observe(End(7));
  v1::WatchRequest resume = cursor.ResumeRequest();
  EXPECT_FALSE(resume.send_initial_state());
  EXPECT_EQ(resume.start_revision(), 8u);
  EXPECT_EQ(resume.account_sid(), "AC0123456789abcdef0123456789abcdef");

  WatchCursor early(Request(0, true));
  EXPECT_FALSE(early.ResumeRequest().send_initial_state()) << "even before the snapshot ended";
  EXPECT_EQ(early.ResumeRequest().start_revision(), 0u);
}

TEST(WatchCursor, OneRoomWatchByNameResumesBySid) {
  WatchCursor cursor(Request(0, false, "standup"));
  EXPECT_EQ(cursor.ResumeRequest().room(), "standup");
  cursor.Observe(Changes(3, kRoomSid));
  EXPECT_EQ(cursor.ResumeRequest().room(), kRoomSid);
}

TEST(WatchCursor, RoomPinnedFromSnapshotRooms) {
  WatchCursor cursor(Request(0, true, "standup"));
  v1::WatchResponse chunk;
  chunk.mutable_initial_state()->add_rooms()->set_sid(kRoomSid);
  cursor.Observe(chunk);
  EXPECT_EQ(cursor.ResumeRequest().room(), kRoomSid);
}

TEST(WatchCursor, AccountWideWatchStaysAccountWide) {
  WatchCursor cursor(Request(0, false));
  cursor.Observe(Changes(3, kRoomSid));
  EXPECT_EQ(cursor.ResumeRequest().room(), "");
}

TEST(IsResumable, BreaksAreResumedErrorsAreFinal) {
  EXPECT_TRUE(IsResumable(grpc::StatusCode::UNAVAILABLE));
  EXPECT_TRUE(IsResumable(grpc::StatusCode::RESOURCE_EXHAUSTED));
  EXPECT_TRUE(IsResumable(grpc::StatusCode::OK));
  // The server ends watches UNAVAILABLE at shutdown, never CANCELLED: a CANCELLED is final.
  EXPECT_FALSE(IsResumable(grpc::StatusCode::CANCELLED));
  EXPECT_FALSE(IsResumable(grpc::StatusCode::OUT_OF_RANGE));
  EXPECT_FALSE(IsResumable(grpc::StatusCode::NOT_FOUND));
  EXPECT_FALSE(IsResumable(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_FALSE(IsResumable(grpc::StatusCode::PERMISSION_DENIED));
}

TEST(Backoff, DoublesFrom100msCappedAt5s) {
  Backoff backoff;
  const int64_t expected_ms[] = {100, 200, 400, 800, 1600, 3200, 5000, 5000};
  for (int64_t ms : expected_ms) EXPECT_EQ(backoff.Next(), absl::Milliseconds(ms));
  backoff.Reset();
  EXPECT_EQ(backoff.Next(), absl::Milliseconds(100));
}

}  // namespace
}  // namespace rollcall::cli
