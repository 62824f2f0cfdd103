// End-to-end test of an upgrade: a data directory the previous release left (store format 1: no
// "m:format", a change log of rendered rollcall.v1.WatchResponse messages; store/store.h,
// "Format") is migrated by the real rollcalld at start-up. Records and the head revision stay;
// the old history is dropped, so a watcher resuming inside it gets OUT_OF_RANGE with the compact
// revision (then re-syncs with an initial state); one WARN line says so; revisions continue
// after the head; the next start changes nothing; `rollcalld verify` reports the new format.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rocksdb/write_batch.h"
#include "rollcall/v1/watch_service.pb.h"
#include "server_process.h"
#include "state/records.h"
#include "state/sid.h"
#include "store/codec.h"
#include "store/keys.h"
#include "store/marker.h"
#include "tests/store/raw_database.h"
#include "watch_client.h"

namespace rollcall::testing {
namespace {

using ::testing::HasSubstr;

state::Sid NewSid(absl::string_view prefix) {
  return *state::Sid::Parse(absl::StrCat(prefix, RandomHex(32)), prefix, "sid");
}

std::string Bytes(const state::Sid& sid) {
  return {reinterpret_cast<const char*>(sid.bytes().data()), sid.bytes().size()};
}

// What the previous release left: a created room (revision 1) and two participants who joined
// it (revisions 2 and 3), in the default account.
struct PreviousRelease {
  state::Room room;
  std::vector<state::Participant> participants;
  uint64_t head = 3;
};

// Writes that data directory with RocksDB's own API, as the previous release laid it out: the
// records through the store's codec (their encoding did not change), "m:revision" and
// "m:log_start", a change log of scope header + rendered WatchResponse, and the marker.
PreviousRelease WriteFormat1Directory(const std::string& path) {
  PreviousRelease previous;
  const state::Sid account = *state::Sid::Parse(kDefaultAccount, state::kAccountPrefix, "sid");
  const absl::Time created = absl::Now() - absl::Minutes(1);
  state::Room& room = previous.room;
  room.sid = NewSid(state::kRoomPrefix);
  room.account_sid = account;
  room.unique_name = "upgraded";
  room.status = state::RoomStatus::kInProgress;
  room.date_created = room.date_updated = created;
  room.max_participants = 50;  // the defaults CreateRoom gives
  room.max_participant_duration = 14400;
  room.empty_room_timeout = 5;
  room.unused_room_timeout = 5;
  room.status_callback_method = "POST";
  room.revision = 1;
  for (uint64_t revision : {2, 3}) {
    state::Participant& p = previous.participants.emplace_back();
    p.sid = NewSid(state::kParticipantPrefix);
    p.account_sid = account;
    p.room_sid = room.sid;
    p.identity = absl::StrCat("user-", revision);
    p.status = state::ParticipantStatus::kConnected;
    p.date_created = p.date_updated = p.start_time = p.last_event_time =
        created + absl::Seconds(static_cast<int64_t>(revision));
    p.revision = revision;
  }

  {
    using store::test_records::RawDatabase;
    const std::unique_ptr<RawDatabase> raw = RawDatabase::Open(path, RawDatabase::Mode::kCreate);
    if (raw == nullptr) return previous;
    rocksdb::WriteBatch batch;
    std::string value;
    store::Encode(room, &value);
    EXPECT_TRUE(batch.Put(raw->records(), "r:" + Bytes(room.sid), value).ok());
    for (const state::Participant& p : previous.participants) {
      store::Encode(p, &value);
      EXPECT_TRUE(batch.Put(raw->records(), "p:" + Bytes(p.sid), value).ok());
    }
    EXPECT_TRUE(batch.Put(raw->records(), "m:revision", store::keys::Uint64(previous.head)).ok());
    EXPECT_TRUE(batch.Put(raw->records(), "m:log_start", store::keys::Uint64(1)).ok());
    const std::string old_base = "http://previous-release.example/v1/Rooms/" + room.sid.ToString();
    for (uint64_t revision = 1; revision <= previous.head; ++revision) {
      v1::WatchResponse response;
      v1::ChangeSet* set = response.mutable_changes();
      set->set_revision(revision);
      v1::Change* change = set->add_changes();
      change->set_revision(revision);
      if (revision == 1) {
        change->set_type(v1::CHANGE_TYPE_ROOM_CREATED);
        change->mutable_room()->set_sid(room.sid.ToString());
        change->mutable_room()->set_url(old_base);
      } else {
        const state::Participant& p = previous.participants[revision - 2];
        change->set_type(v1::CHANGE_TYPE_PARTICIPANT_CONNECTED);
        change->mutable_participant()->set_sid(p.sid.ToString());
        change->mutable_participant()->set_url(old_base + "/Participants/" + p.sid.ToString());
      }
      const std::string payload =
          store::EncodeSid(account) + store::EncodeSid(room.sid) + response.SerializeAsString();
      EXPECT_TRUE(batch.Put(raw->log(), store::keys::Uint64(revision), payload).ok());
    }
    rocksdb::WriteOptions synced;
    synced.sync = true;
    EXPECT_TRUE(raw->db().Write(synced, &batch).ok());
  }
  EXPECT_TRUE(store::Marker::WriteNew(path, previous.head).ok());
  return previous;
}

size_t Count(const std::string& text, const std::string& part) {
  size_t count = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) {
    ++count;
  }
  return count;
}

TEST(UpgradeTest, AFormat1DataDirectoryIsMigratedAtStartUpKeepingRecordsAndRevisions) {
  ServerProcess server({"--reconnect_timeout=10m"});
  const PreviousRelease previous = WriteFormat1Directory(server.data_dir());
  ASSERT_FALSE(::testing::Test::HasFailure());
  const auto [checked, checked_out] = RunRollcalld("verify --data_dir=" + server.data_dir());
  EXPECT_EQ(checked, 0) << checked_out;
  EXPECT_THAT(checked_out, HasSubstr("format 1"));

  ASSERT_TRUE(server.Start());
  EXPECT_THAT(server.Log(), HasSubstr("from format 1 to 2"));
  EXPECT_THAT(server.Log(), HasSubstr("dropped 3 revisions of watch history (1 to 3)"));
  auto client = std::make_unique<Client>(server.NewChannel());

  // The records, as they were, rendered by this server.
  const std::string first = previous.participants[0].sid.ToString();
  const v1::Participant read = client->Participant(first);
  EXPECT_EQ(read.identity(), "user-2");
  EXPECT_EQ(read.revision(), 2u);
  EXPECT_THAT(read.url(), HasSubstr("http://localhost:8080/v1/Rooms/"));
  EXPECT_EQ(client->Room("upgraded").participant_count(), 2);

  // The old history is gone: a resume inside it is told where the log starts now.
  {
    WatchStream old(server.NewChannel(), WatchFrom(kDefaultAccount, 2));
    ASSERT_TRUE(old.WaitDone());
    EXPECT_EQ(old.status().error_code(), grpc::OUT_OF_RANGE) << Describe(old.status());
    EXPECT_EQ(old.trailer_revision("rollcall-compact-revision"), previous.head + 1);
    EXPECT_TRUE(old.revisions().empty());
  }
  // ... so it re-syncs with the current state, at the head revision.
  {
    WatchStream fresh(server.NewChannel(), WatchFrom(kDefaultAccount, 0, "", true),
                      {.keep_messages = true});
    ASSERT_TRUE(
        fresh.WaitFor([](const WatchStream& s) { return s.initial_state_end().has_value(); }));
    EXPECT_EQ(*fresh.initial_state_end(), previous.head);
    int participants = 0;
    for (const v1::WatchResponse& m : fresh.messages()) {
      participants += m.initial_state().participants_size();
    }
    EXPECT_EQ(participants, 2);
  }
  // Revisions go on after the head, never reused, and are history from now on.
  EXPECT_EQ(client->Disconnect("upgraded", first).revision(), previous.head + 1);
  client.reset();
  ASSERT_EQ(server.Stop(), 0) << server.Log();

  ASSERT_TRUE(server.Start());
  EXPECT_EQ(Count(server.Log(), "from format 1 to 2"), 1u) << "the second start migrates nothing";
  {
    WatchStream resumed(server.NewChannel(), WatchFrom(kDefaultAccount, previous.head + 1),
                        {.keep_messages = true});
    ASSERT_TRUE(resumed.WaitForRevision(previous.head + 1)) << Describe(resumed.status());
    EXPECT_EQ(resumed.revisions(), std::vector<uint64_t>({previous.head + 1}));
    const v1::Change change = resumed.messages().front().changes().changes(0);
    EXPECT_EQ(change.type(), v1::CHANGE_TYPE_PARTICIPANT_DISCONNECTED);
    EXPECT_EQ(change.participant().sid(), first);
  }
  ASSERT_EQ(server.Stop(), 0) << server.Log();
  const auto [verified, verified_out] = RunRollcalld("verify --data_dir=" + server.data_dir());
  EXPECT_EQ(verified, 0) << verified_out;
  EXPECT_THAT(verified_out, HasSubstr("format 2"));
  EXPECT_THAT(verified_out, HasSubstr("change log 1 entries"));
}

}  // namespace
}  // namespace rollcall::testing
