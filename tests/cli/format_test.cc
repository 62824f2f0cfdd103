// Table and JSON rendering of cli/format.h.
#include "cli/format.h"

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace rollcall::cli {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

constexpr int64_t kMay1Noon = 1714564800;  // 2024-05-01T12:00:00Z

google::protobuf::Timestamp Ts(int64_t seconds, int32_t nanos = 0) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(seconds);
  ts.set_nanos(nanos);
  return ts;
}

v1::Participant Active() {
  v1::Participant p;
  p.set_sid("PA0123456789abcdef0123456789abcdef");
  p.set_account_sid("AC0123456789abcdef0123456789abcdef");
  p.set_room_sid("RM0123456789abcdef0123456789abcdef");
  p.set_identity("alice");
  p.set_status(v1::PARTICIPANT_STATUS_CONNECTED);
  *p.mutable_date_created() = Ts(kMay1Noon);
  *p.mutable_date_updated() = Ts(kMay1Noon);
  *p.mutable_start_time() = Ts(kMay1Noon, 250000000);
  p.set_url("https://example.test/v1/Rooms/RM/Participants/PA");
  p.set_revision(7);
  return p;
}

v1::Participant Disconnected() {
  v1::Participant p = Active();
  p.set_sid("PAffffffffffffffffffffffffffffffff");
  p.set_identity("bob-with-a-longer-identity");
  p.set_status(v1::PARTICIPANT_STATUS_DISCONNECTED);
  *p.mutable_end_time() = Ts(kMay1Noon + 3723);
  p.set_duration(3723);
  p.set_disconnect_reason(v1::DISCONNECT_REASON_REMOVED);
  p.set_revision(12);
  return p;
}

v1::Room InProgressRoom() {
  v1::Room r;
  r.set_sid("RM0123456789abcdef0123456789abcdef");
  r.set_account_sid("AC0123456789abcdef0123456789abcdef");
  r.set_unique_name("standup");
  r.set_status(v1::ROOM_STATUS_IN_PROGRESS);
  *r.mutable_date_created() = Ts(kMay1Noon);
  *r.mutable_date_updated() = Ts(kMay1Noon);
  r.set_max_participants(50);
  r.set_participant_count(2);
  r.set_revision(3);
  return r;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines = absl::StrSplit(text, '\n');
  EXPECT_EQ(lines.back(), "") << "output must end in a newline";
  lines.pop_back();
  return lines;
}

// Column start offsets of a rendered line: where each run of non-spaces begins after two or
// more spaces (cells themselves contain no double spaces).
std::vector<size_t> ColumnStarts(const std::string& line) {
  std::vector<size_t> starts = {0};
  for (size_t i = 2; i < line.size(); ++i) {
    if (line[i] != ' ' && line[i - 1] == ' ' && line[i - 2] == ' ') starts.push_back(i);
  }
  return starts;
}

TEST(FormatTimestamp, Rfc3339UtcWithMinimalFraction) {
  EXPECT_EQ(FormatTimestamp(true, Ts(kMay1Noon)), "2024-05-01T12:00:00Z");
  EXPECT_EQ(FormatTimestamp(true, Ts(kMay1Noon, 250000000)), "2024-05-01T12:00:00.25Z");
  EXPECT_EQ(FormatTimestamp(true, Ts(kMay1Noon, 1)), "2024-05-01T12:00:00.000000001Z");
  EXPECT_EQ(FormatTimestamp(false, Ts(kMay1Noon)), "-");
}

TEST(FormatSeconds, HumanDurationOrUnset) {
  EXPECT_EQ(FormatSeconds(true, 3723), "1h2m3s");
  EXPECT_EQ(FormatSeconds(true, 0), "0s");
  EXPECT_EQ(FormatSeconds(false, 5), "-");
}

TEST(EnumNames, PrefixStrippedAndUnspecifiedUnset) {
  EXPECT_EQ(ParticipantStatusName(v1::PARTICIPANT_STATUS_RECONNECTING), "RECONNECTING");
  EXPECT_EQ(ParticipantStatusName(v1::PARTICIPANT_STATUS_UNSPECIFIED), "-");
  EXPECT_EQ(DisconnectReasonName(v1::DISCONNECT_REASON_ROOM_ENDED), "ROOM_ENDED");
  EXPECT_EQ(RoomStatusName(v1::ROOM_STATUS_IN_PROGRESS), "IN_PROGRESS");
  EXPECT_EQ(ChangeTypeName(v1::CHANGE_TYPE_PARTICIPANT_ANONYMIZED), "PARTICIPANT_ANONYMIZED");
  EXPECT_EQ(EventOutcomeName(v1::EVENT_OUTCOME_DUPLICATE), "DUPLICATE");
  // A value the client's proto does not know (a newer server) still renders.
  EXPECT_EQ(ParticipantStatusName(static_cast<v1::ParticipantStatus>(42)), "-");
}

TEST(RenderTable, AlignsColumnsWithoutTrailingSpaces) {
  std::string table = RenderTable({"A", "LONGER", "C"}, {{"xxxx", "y", "z"}, {"1", "22", "333"}});
  std::vector<std::string> lines = Lines(table);
  ASSERT_THAT(lines, SizeIs(3));
  EXPECT_EQ(lines[0], "A     LONGER  C");
  EXPECT_EQ(lines[1], "xxxx  y       z");
  EXPECT_EQ(lines[2], "1     22      333");
}

TEST(RenderTable, EmptyAndMissingCellsAreUnset) {
  std::vector<std::string> lines = Lines(RenderTable({"A", "B", "C"}, {{"", "b"}}));
  ASSERT_THAT(lines, SizeIs(2));
  EXPECT_EQ(lines[1], "-  b  -");
}

TEST(RenderTable, PadsByCharactersNotBytes) {
  std::vector<std::string> lines = Lines(RenderTable({"NAME", "X"}, {{"zoë", "1"}, {"abcd", "2"}}));
  ASSERT_THAT(lines, SizeIs(3));
  EXPECT_EQ(lines[1], "zoë   1");
  EXPECT_EQ(lines[2], "abcd  2");
}

TEST(RenderTable, HeaderOnlyWhenNoRows) {
  EXPECT_EQ(RenderTable({"SID", "STATUS"}, {}), "SID  STATUS\n");
}

TEST(ParticipantTable, HeaderAndAlignedRows) {
  std::vector<v1::Participant> ps = {Active(), Disconnected()};
  std::vector<std::string> lines = Lines(ParticipantTable(ps));
  ASSERT_THAT(lines, SizeIs(3));
  EXPECT_EQ(ColumnStarts(lines[0]).size(), 9u);
  EXPECT_TRUE(absl::StartsWith(lines[0], "SID "));
  EXPECT_THAT(lines[0], HasSubstr("ROOM"));
  // Every row's columns start where the header's do.
  EXPECT_EQ(ColumnStarts(lines[1]), ColumnStarts(lines[0]));
  EXPECT_EQ(ColumnStarts(lines[2]), ColumnStarts(lines[0]));
  for (const std::string& line : lines) EXPECT_FALSE(absl::EndsWith(line, " ")) << line;
}

TEST(ParticipantRow, UnsetFieldsAreDashes) {
  EXPECT_THAT(
      ParticipantRow(Active()),
      ElementsAre("PA0123456789abcdef0123456789abcdef", "RM0123456789abcdef0123456789abcdef",
                  "alice", "CONNECTED", "2024-05-01T12:00:00.25Z", "-", "-", "-", "7"));
}

TEST(ParticipantRow, DisconnectedShowsEndDurationReason) {
  EXPECT_THAT(
      ParticipantRow(Disconnected()),
      ElementsAre("PAffffffffffffffffffffffffffffffff", "RM0123456789abcdef0123456789abcdef",
                  "bob-with-a-longer-identity", "DISCONNECTED", "2024-05-01T12:00:00.25Z",
                  "2024-05-01T13:02:03Z", "1h2m3s", "REMOVED", "12"));
}

TEST(RoomRow, InProgressAndEnded) {
  EXPECT_THAT(RoomRow(InProgressRoom()),
              ElementsAre("RM0123456789abcdef0123456789abcdef", "standup", "IN_PROGRESS", "2",
                          "2024-05-01T12:00:00Z", "-", "-", "3"));
  v1::Room ended = InProgressRoom();
  ended.set_status(v1::ROOM_STATUS_COMPLETED);
  *ended.mutable_end_time() = Ts(kMay1Noon + 60);
  ended.set_duration(60);
  ended.set_participant_count(0);
  EXPECT_THAT(RoomRow(ended),
              ElementsAre("RM0123456789abcdef0123456789abcdef", "standup", "COMPLETED", "0",
                          "2024-05-01T12:00:00Z", "2024-05-01T12:01:00Z", "1m", "3"));
}

TEST(RoomTable, HeaderNamesColumns) {
  std::vector<v1::Room> rooms = {InProgressRoom()};
  std::vector<std::string> lines = Lines(RoomTable(rooms));
  ASSERT_THAT(lines, SizeIs(2));
  std::vector<std::string> header = absl::StrSplit(lines[0], ' ', absl::SkipEmpty());
  EXPECT_THAT(header, ElementsAre("SID", "UNIQUE_NAME", "STATUS", "PARTICIPANTS", "CREATED", "END",
                                  "DURATION", "REVISION"));
  EXPECT_EQ(ColumnStarts(lines[1]), ColumnStarts(lines[0]));
}

TEST(RecordEventTable, OutcomeRevisionThenParticipant) {
  v1::RecordEventResponse response;
  response.set_outcome(v1::EVENT_OUTCOME_IGNORED);
  response.set_revision(40);
  *response.mutable_participant() = Active();
  std::vector<std::string> lines = Lines(RecordEventTable(response));
  ASSERT_THAT(lines, SizeIs(3));
  EXPECT_EQ(lines[0], "IGNORED at revision 40");
  EXPECT_TRUE(absl::StartsWith(lines[1], "SID "));
  EXPECT_TRUE(absl::StartsWith(lines[2], "PA0123456789abcdef0123456789abcdef "));
}

template <typename Message>
Message ParseJson(const std::string& line) {
  Message m;
  auto status = google::protobuf::util::JsonStringToMessage(line, &m);
  EXPECT_TRUE(status.ok()) << status.ToString() << " in " << line;
  return m;
}

TEST(JsonLine, OneLineUsingProtoFieldNamesAndRoundTrips) {
  for (const v1::Participant& p : {Active(), Disconnected()}) {
    absl::StatusOr<std::string> line = JsonLine(p);
    ASSERT_TRUE(line.ok()) << line.status();
    EXPECT_TRUE(absl::EndsWith(*line, "}\n"));
    EXPECT_EQ(line->find('\n'), line->size() - 1) << "exactly one line";
    EXPECT_THAT(*line, HasSubstr("\"room_sid\":"));
    EXPECT_THAT(*line, HasSubstr("\"status\":\"PARTICIPANT_STATUS_"));
    v1::Participant back = ParseJson<v1::Participant>(*line);
    EXPECT_TRUE(MessageDifferencer::Equals(back, p)) << back.DebugString();
    EXPECT_EQ(back.has_duration(), p.has_duration());
  }
}

TEST(JsonLine, PrintsDefaultPrimitiveFields) {
  v1::Room room = InProgressRoom();
  room.set_participant_count(0);
  absl::StatusOr<std::string> line = JsonLine(room);
  ASSERT_TRUE(line.ok());
  EXPECT_THAT(*line, HasSubstr("\"participant_count\":0"));
  EXPECT_THAT(*line, HasSubstr("\"ad_hoc\":false"));
  EXPECT_TRUE(MessageDifferencer::Equals(ParseJson<v1::Room>(*line), room));
}

TEST(JsonLine, ReportsUnrepresentableTimestamps) {
  v1::Participant p = Active();
  p.mutable_start_time()->set_seconds(999999999999999);  // far beyond year 9999
  absl::StatusOr<std::string> line = JsonLine(p);
  EXPECT_FALSE(line.ok());
}

v1::WatchResponse TwoChanges() {
  v1::WatchResponse r;
  v1::ChangeSet* set = r.mutable_changes();
  set->set_revision(9);
  v1::Change* old = set->add_changes();
  old->set_revision(9);
  old->set_type(v1::CHANGE_TYPE_PARTICIPANT_DISCONNECTED);
  *old->mutable_time() = Ts(kMay1Noon + 1);
  *old->mutable_participant() = Disconnected();
  old->set_previous_status(v1::PARTICIPANT_STATUS_CONNECTED);
  v1::Change* room = set->add_changes();
  room->set_revision(9);
  room->set_type(v1::CHANGE_TYPE_ROOM_ENDED);
  *room->mutable_time() = Ts(kMay1Noon + 1);
  *room->mutable_room() = InProgressRoom();
  return r;
}

TEST(WatchTableLines, OneFixedWidthLinePerChange) {
  std::vector<std::string> lines = WatchTableLines(TwoChanges(), false);
  ASSERT_THAT(lines, SizeIs(2));
  const std::string header = WatchTableHeader();
  EXPECT_TRUE(absl::StartsWith(header, "REVISION  TIME"));
  for (const std::string& line : lines) {
    EXPECT_TRUE(absl::EndsWith(line, "\n"));
    // Fixed widths align every column up to NAME; a name longer than its column pushes the
    // rest right rather than being cut.
    std::vector<size_t> starts = ColumnStarts(line);
    std::vector<size_t> header_starts = ColumnStarts(header);
    ASSERT_THAT(starts, SizeIs(7)) << line;
    EXPECT_EQ(std::vector<size_t>(starts.begin(), starts.begin() + 5),
              std::vector<size_t>(header_starts.begin(), header_starts.begin() + 5))
        << line;
  }
  // The room line's short name keeps STATUS and PREVIOUS aligned too.
  EXPECT_EQ(ColumnStarts(lines[1]), ColumnStarts(header));
  std::vector<std::string> first =
      absl::StrSplit(lines[0].substr(0, lines[0].size() - 1), ' ', absl::SkipEmpty());
  EXPECT_THAT(first, ElementsAre("9", "2024-05-01T12:00:01Z", "PARTICIPANT_DISCONNECTED",
                                 "PAffffffffffffffffffffffffffffffff", "bob-with-a-longer-identity",
                                 "DISCONNECTED", "CONNECTED"));
  std::vector<std::string> second =
      absl::StrSplit(lines[1].substr(0, lines[1].size() - 1), ' ', absl::SkipEmpty());
  EXPECT_THAT(second,
              ElementsAre("9", "2024-05-01T12:00:01Z", "ROOM_ENDED",
                          "RM0123456789abcdef0123456789abcdef", "standup", "IN_PROGRESS", "-"));
}

v1::WatchResponse Snapshot() {
  v1::WatchResponse r;
  *r.mutable_initial_state()->add_rooms() = InProgressRoom();
  *r.mutable_initial_state()->add_participants() = Active();
  *r.mutable_initial_state()->add_participants() = Disconnected();
  return r;
}

TEST(WatchTableLines, InitialRecordsTaggedAndEndMarker) {
  std::vector<std::string> lines = WatchTableLines(Snapshot(), false);
  ASSERT_THAT(lines, SizeIs(3));
  for (const std::string& line : lines) EXPECT_THAT(line, HasSubstr(" INITIAL "));
  EXPECT_THAT(lines[0], HasSubstr("standup"));
  EXPECT_THAT(lines[1], HasSubstr("alice"));
  v1::WatchResponse end;
  end.mutable_initial_state_end()->set_revision(15);
  std::vector<std::string> end_lines = WatchTableLines(end, false);
  ASSERT_THAT(end_lines, SizeIs(1));
  EXPECT_TRUE(absl::StartsWith(end_lines[0], "15 "));
  EXPECT_THAT(end_lines[0], HasSubstr("INITIAL_STATE_END"));
}

TEST(WatchTableLines, ProgressOnlyWhenAsked) {
  v1::WatchResponse progress;
  progress.mutable_progress()->set_revision(33);
  EXPECT_THAT(WatchTableLines(progress, false), SizeIs(0));
  std::vector<std::string> lines = WatchTableLines(progress, true);
  ASSERT_THAT(lines, SizeIs(1));
  EXPECT_THAT(lines[0], HasSubstr("PROGRESS"));
  EXPECT_TRUE(absl::StartsWith(lines[0], "33 "));
}

TEST(WatchJsonLines, EachChangeIsOneParseableChange) {
  v1::WatchResponse response = TwoChanges();
  absl::StatusOr<std::vector<std::string>> lines = WatchJsonLines(response, false);
  ASSERT_TRUE(lines.ok()) << lines.status();
  ASSERT_THAT(*lines, SizeIs(2));
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ((*lines)[i].find('\n'), (*lines)[i].size() - 1);
    v1::Change back = ParseJson<v1::Change>((*lines)[i]);
    EXPECT_TRUE(MessageDifferencer::Equals(back, response.changes().changes(i)));
  }
}

TEST(WatchJsonLines, SnapshotRecordsOnePerLine) {
  absl::StatusOr<std::vector<std::string>> lines = WatchJsonLines(Snapshot(), false);
  ASSERT_TRUE(lines.ok());
  ASSERT_THAT(*lines, SizeIs(3));
  v1::WatchResponse room = ParseJson<v1::WatchResponse>((*lines)[0]);
  ASSERT_EQ(room.initial_state().rooms_size(), 1);
  EXPECT_EQ(room.initial_state().participants_size(), 0);
  EXPECT_EQ(room.initial_state().rooms(0).unique_name(), "standup");
  v1::WatchResponse second = ParseJson<v1::WatchResponse>((*lines)[2]);
  ASSERT_EQ(second.initial_state().participants_size(), 1);
  EXPECT_TRUE(MessageDifferencer::Equals(second.initial_state().participants(0), Disconnected()));
}

// A snapshot chunk with one record of each track kind: a track, a rule set, a subscription.
v1::WatchResponse TrackSnapshot() {
  v1::WatchResponse r;
  v1::InitialState& initial = *r.mutable_initial_state();
  v1::PublishedTrack& track = *initial.add_published_tracks();
  track.set_sid("MT0123456789abcdef0123456789abcdef");
  track.set_name("cam");
  track.set_status(v1::TRACK_STATUS_PUBLISHED);
  track.set_revision(4);
  v1::SubscribeRules& rules = *initial.add_subscribe_rules();
  rules.set_participant_sid("PA0123456789abcdef0123456789abcdef");
  rules.add_rules()->set_type(v1::SUBSCRIBE_RULE_TYPE_INCLUDE);
  rules.set_revision(5);
  v1::SubscribedTrack& subscribed = *initial.add_subscribed_tracks();
  subscribed.set_sid(track.sid());
  subscribed.set_participant_sid("PAfedcba9876543210fedcba9876543210");
  subscribed.set_name("cam");
  subscribed.set_revision(5);
  return r;
}

TEST(WatchTableLines, InitialTracksRulesAndSubscriptionsOneRowEach) {
  const std::vector<std::string> lines = WatchTableLines(TrackSnapshot(), false);
  ASSERT_THAT(lines, SizeIs(3));
  EXPECT_THAT(lines[0], HasSubstr("INITIAL_TRACK"));
  EXPECT_THAT(lines[0], HasSubstr("MT0123456789abcdef0123456789abcdef"));
  EXPECT_THAT(lines[1], HasSubstr("INITIAL_RULES"));
  EXPECT_THAT(lines[1], HasSubstr("1 rules"));
  EXPECT_THAT(lines[2], HasSubstr("INITIAL_SUBSCRIBED"));
  EXPECT_THAT(lines[2], HasSubstr("PAfedcba9876543210fedcba9876543210"));
}

TEST(WatchJsonLines, InitialTracksRulesAndSubscriptionsOnePerLine) {
  const v1::WatchResponse snapshot = TrackSnapshot();
  absl::StatusOr<std::vector<std::string>> lines = WatchJsonLines(snapshot, false);
  ASSERT_TRUE(lines.ok()) << lines.status();
  ASSERT_THAT(*lines, SizeIs(3));
  const v1::InitialState track = ParseJson<v1::WatchResponse>((*lines)[0]).initial_state();
  ASSERT_EQ(track.published_tracks_size(), 1);
  EXPECT_EQ(track.subscribe_rules_size() + track.subscribed_tracks_size(), 0);
  EXPECT_TRUE(MessageDifferencer::Equals(track.published_tracks(0),
                                         snapshot.initial_state().published_tracks(0)));
  const v1::InitialState rules = ParseJson<v1::WatchResponse>((*lines)[1]).initial_state();
  ASSERT_EQ(rules.subscribe_rules_size(), 1);
  EXPECT_TRUE(MessageDifferencer::Equals(rules.subscribe_rules(0),
                                         snapshot.initial_state().subscribe_rules(0)));
  const v1::InitialState subscribed = ParseJson<v1::WatchResponse>((*lines)[2]).initial_state();
  ASSERT_EQ(subscribed.subscribed_tracks_size(), 1);
  EXPECT_TRUE(MessageDifferencer::Equals(subscribed.subscribed_tracks(0),
                                         snapshot.initial_state().subscribed_tracks(0)));
}

TEST(WatchJsonLines, MarkersAndProgress) {
  v1::WatchResponse end;
  end.mutable_initial_state_end()->set_revision(15);
  absl::StatusOr<std::vector<std::string>> end_lines = WatchJsonLines(end, false);
  ASSERT_TRUE(end_lines.ok());
  ASSERT_THAT(*end_lines, SizeIs(1));
  EXPECT_EQ(ParseJson<v1::WatchResponse>((*end_lines)[0]).initial_state_end().revision(), 15u);

  v1::WatchResponse progress;
  progress.mutable_progress()->set_revision(33);
  EXPECT_THAT(*WatchJsonLines(progress, false), SizeIs(0));
  absl::StatusOr<std::vector<std::string>> shown = WatchJsonLines(progress, true);
  ASSERT_THAT(*shown, SizeIs(1));
  EXPECT_EQ(ParseJson<v1::WatchResponse>((*shown)[0]).progress().revision(), 33u);
}

}  // namespace
}  // namespace rollcall::cli

namespace rollcall::cli {
namespace {

TEST(RulesJson, ParsesTwiliosShape) {
  absl::StatusOr<std::vector<v1::SubscribeRule>> rules =
      ParseRulesJson(R"([{"type":"include","all":true},)"
                     R"( {"type":"exclude","kind":"video","publisher":"alice","track":"MT0123"}])");
  ASSERT_TRUE(rules.ok()) << rules.status();
  ASSERT_EQ(rules->size(), 2u);
  EXPECT_EQ((*rules)[0].type(), v1::SUBSCRIBE_RULE_TYPE_INCLUDE);
  EXPECT_TRUE((*rules)[0].all());
  EXPECT_EQ((*rules)[1].type(), v1::SUBSCRIBE_RULE_TYPE_EXCLUDE);
  EXPECT_EQ((*rules)[1].kind(), v1::TRACK_KIND_VIDEO);
  EXPECT_EQ((*rules)[1].publisher(), "alice");
  EXPECT_EQ((*rules)[1].track(), "MT0123");
  // And back: what `rules get` prints parses to the same rules.
  v1::SubscribeRules set;
  for (const v1::SubscribeRule& rule : *rules) *set.add_rules() = rule;
  absl::StatusOr<std::vector<v1::SubscribeRule>> again = ParseRulesJson(RulesJson(set));
  ASSERT_TRUE(again.ok()) << again.status();
  ASSERT_EQ(again->size(), 2u);
  EXPECT_EQ((*again)[1].SerializeAsString(), (*rules)[1].SerializeAsString());
}

TEST(RulesJson, RejectsWhatIsNotARuleNamingIt) {
  auto message = [](absl::string_view json) {
    return std::string(ParseRulesJson(json).status().message());
  };
  EXPECT_THAT(message("{}"), ::testing::StartsWith("rules:"));
  EXPECT_THAT(message("[1]"), ::testing::StartsWith("rules[0]:"));
  EXPECT_THAT(message(R"([{"all":true},{"type":"maybe"}])"),
              ::testing::StartsWith("rules[1].type"));
  EXPECT_THAT(message(R"([{"kind":"smell"}])"), ::testing::StartsWith("rules[0].kind"));
  EXPECT_THAT(message(R"([{"all":"yes"}])"), ::testing::StartsWith("rules[0].all"));
  EXPECT_THAT(message(R"([{"publisher":3}])"), ::testing::StartsWith("rules[0].publisher"));
  EXPECT_THAT(message(R"([{"color":"red"}])"), ::testing::StartsWith("rules[0].color"));
}

}  // namespace
}  // namespace rollcall::cli
