// Table and JSON rendering; conventions in format.h.
#include "cli/format.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace rollcall::cli {
namespace {

// Fixed watch columns: REVISION, TIME, CHANGE, SID, NAME, STATUS, PREVIOUS. TIME fits a
// nanosecond timestamp, CHANGE the longest change type, SID a 34-character SID.
constexpr size_t kWatchWidths[] = {8, 30, 24, 34, 20, 12, 0};

std::string OrUnset(absl::string_view s) {
  return s.empty() ? std::string(kUnset) : std::string(s);
}

// `name` without `prefix`, or kUnset for the prefix's UNSPECIFIED value.
std::string StripEnumPrefix(const std::string& name, absl::string_view prefix) {
  absl::string_view rest = name;
  if (!absl::ConsumePrefix(&rest, prefix)) return name.empty() ? std::string(kUnset) : name;
  if (rest == "UNSPECIFIED") return std::string(kUnset);
  return std::string(rest);
}

// Display width: UTF-8 code points, which is right for everything but wide (CJK) glyphs.
size_t DisplayWidth(absl::string_view s) {
  return static_cast<size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

// Appends `cells` padded to `widths` (the last cell unpadded), then '\n'.
void AppendRow(const std::vector<std::string>& cells, const std::vector<size_t>& widths,
               std::string* out) {
  for (size_t i = 0; i < cells.size(); ++i) {
    const std::string cell = OrUnset(cells[i]);
    absl::StrAppend(out, cell);
    if (i + 1 < cells.size()) {
      size_t w = DisplayWidth(cell);
      out->append(i < widths.size() && widths[i] > w ? widths[i] - w : 0, ' ');
      out->append("  ");
    }
  }
  out->push_back('\n');
}

std::string WatchRow(const std::vector<std::string>& cells) {
  std::vector<size_t> widths(std::begin(kWatchWidths), std::end(kWatchWidths));
  std::string out;
  AppendRow(cells, widths, &out);
  return out;
}

google::protobuf::util::JsonPrintOptions JsonOptions() {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = false;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  return options;
}

std::vector<std::string> ParticipantWatchCells(const std::string& revision, const std::string& time,
                                               const std::string& change, const v1::Participant& p,
                                               v1::ParticipantStatus previous) {
  return {revision,
          time,
          change,
          p.sid(),
          p.identity(),
          ParticipantStatusName(p.status()),
          ParticipantStatusName(previous)};
}

std::vector<std::string> RoomWatchCells(const std::string& revision, const std::string& time,
                                        const std::string& change, const v1::Room& r) {
  return {revision,           time, change, r.sid(), r.unique_name(), RoomStatusName(r.status()),
          std::string(kUnset)};
}

}  // namespace

std::string FormatTimestamp(bool has, const google::protobuf::Timestamp& ts) {
  if (!has) return std::string(kUnset);
  absl::Time t = absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E*SZ", t, absl::UTCTimeZone());
}

std::string FormatSeconds(bool has, int64_t seconds) {
  if (!has) return std::string(kUnset);
  if (seconds == 0) return "0s";  // FormatDuration writes a bare "0"
  return absl::FormatDuration(absl::Seconds(seconds));
}

std::string ParticipantStatusName(v1::ParticipantStatus status) {
  return StripEnumPrefix(v1::ParticipantStatus_Name(status), "PARTICIPANT_STATUS_");
}
std::string DisconnectReasonName(v1::DisconnectReason reason) {
  return StripEnumPrefix(v1::DisconnectReason_Name(reason), "DISCONNECT_REASON_");
}
std::string RoomStatusName(v1::RoomStatus status) {
  return StripEnumPrefix(v1::RoomStatus_Name(status), "ROOM_STATUS_");
}
std::string ChangeTypeName(v1::ChangeType type) {
  return StripEnumPrefix(v1::ChangeType_Name(type), "CHANGE_TYPE_");
}
std::string EventOutcomeName(v1::EventOutcome outcome) {
  return StripEnumPrefix(v1::EventOutcome_Name(outcome), "EVENT_OUTCOME_");
}

std::string RenderTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::vector<std::string>> all;
  all.reserve(rows.size() + 1);
  all.push_back(header);
  for (const std::vector<std::string>& row : rows) {
    std::vector<std::string> padded = row;
    if (padded.size() < header.size()) padded.resize(header.size());
    for (std::string& cell : padded) cell = OrUnset(cell);
    all.push_back(std::move(padded));
  }
  std::vector<size_t> widths;
  for (const std::vector<std::string>& row : all) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], DisplayWidth(row[i]));
    }
  }
  std::string out;
  for (const std::vector<std::string>& row : all) AppendRow(row, widths, &out);
  return out;
}

const std::vector<std::string>& ParticipantHeader() {
  static const auto* header = new std::vector<std::string>{
      "SID", "ROOM", "IDENTITY", "STATUS", "START", "END", "DURATION", "REASON", "REVISION"};
  return *header;
}

std::vector<std::string> ParticipantRow(const v1::Participant& p) {
  return {p.sid(),
          p.room_sid(),
          p.identity(),
          ParticipantStatusName(p.status()),
          FormatTimestamp(p.has_start_time(), p.start_time()),
          FormatTimestamp(p.has_end_time(), p.end_time()),
          FormatSeconds(p.has_duration(), p.duration()),
          DisconnectReasonName(p.disconnect_reason()),
          p.revision() == 0 ? std::string(kUnset) : absl::StrCat(p.revision())};
}

std::string ParticipantTable(absl::Span<const v1::Participant> participants) {
  std::vector<std::vector<std::string>> rows;
  for (const v1::Participant& p : participants) rows.push_back(ParticipantRow(p));
  return RenderTable(ParticipantHeader(), rows);
}

const std::vector<std::string>& RoomHeader() {
  static const auto* header = new std::vector<std::string>{
      "SID", "UNIQUE_NAME", "STATUS", "PARTICIPANTS", "CREATED", "END", "DURATION", "REVISION"};
  return *header;
}

std::vector<std::string> RoomRow(const v1::Room& r) {
  return {r.sid(),
          r.unique_name(),
          RoomStatusName(r.status()),
          absl::StrCat(r.participant_count()),
          FormatTimestamp(r.has_date_created(), r.date_created()),
          FormatTimestamp(r.has_end_time(), r.end_time()),
          FormatSeconds(r.has_duration(), r.duration()),
          r.revision() == 0 ? std::string(kUnset) : absl::StrCat(r.revision())};
}

std::string RoomTable(absl::Span<const v1::Room> rooms) {
  std::vector<std::vector<std::string>> rows;
  for (const v1::Room& r : rooms) rows.push_back(RoomRow(r));
  return RenderTable(RoomHeader(), rows);
}

namespace {

constexpr absl::string_view kTrackKinds[] = {"", "audio", "video", "data"};
constexpr absl::string_view kRuleTypes[] = {"", "include", "exclude"};

std::string TrackKindName(v1::TrackKind kind) {
  const int k = static_cast<int>(kind);
  return k > 0 && k < 4 ? std::string(kTrackKinds[k]) : std::string(kUnset);
}

absl::Status RuleError(size_t index, absl::string_view key, absl::string_view rule) {
  return absl::InvalidArgumentError(absl::StrCat("rules[", index, "].", key, ": ", rule));
}

// The index of `name` in `names` (1..), or an error naming the rule's key.
absl::StatusOr<int> EnumIndex(const google::protobuf::Value& value,
                              absl::Span<const absl::string_view> names, size_t index,
                              absl::string_view key) {
  if (value.kind_case() == google::protobuf::Value::kStringValue) {
    for (size_t i = 1; i < names.size(); ++i) {
      if (value.string_value() == names[i]) return static_cast<int>(i);
    }
  }
  std::string allowed;
  for (size_t i = 1; i < names.size(); ++i) absl::StrAppend(&allowed, i > 1 ? ", " : "", names[i]);
  return RuleError(index, key, absl::StrCat("must be one of ", allowed));
}

}  // namespace

std::string PublishedTrackTable(absl::Span<const v1::PublishedTrack> tracks) {
  std::vector<std::vector<std::string>> rows;
  for (const v1::PublishedTrack& t : tracks) {
    rows.push_back({t.sid(), t.name(), TrackKindName(t.kind()), t.enabled() ? "yes" : "no",
                    t.status() == v1::TRACK_STATUS_PUBLISHED ? "published" : "unpublished",
                    t.participant_sid(), FormatTimestamp(t.has_date_created(), t.date_created()),
                    absl::StrCat(t.revision())});
  }
  return RenderTable(
      {"SID", "NAME", "KIND", "ENABLED", "STATUS", "PARTICIPANT", "CREATED", "REVISION"}, rows);
}

std::string SubscribedTrackTable(absl::Span<const v1::SubscribedTrack> tracks) {
  std::vector<std::vector<std::string>> rows;
  for (const v1::SubscribedTrack& t : tracks) {
    rows.push_back({t.sid(), t.name(), TrackKindName(t.kind()), t.enabled() ? "yes" : "no",
                    t.publisher_sid(), FormatTimestamp(t.has_date_created(), t.date_created()),
                    absl::StrCat(t.revision())});
  }
  return RenderTable(
      {"SID", "NAME", "KIND", "ENABLED", "PUBLISHER", "SUBSCRIBED_SINCE", "REVISION"}, rows);
}

absl::StatusOr<std::vector<v1::SubscribeRule>> ParseRulesJson(absl::string_view json) {
  google::protobuf::ListValue list;
  if (!google::protobuf::util::JsonStringToMessage(std::string(json), &list).ok()) {
    return absl::InvalidArgumentError(
        "rules: must be a JSON array of rules, e.g. [{\"type\":\"include\",\"all\":true}]");
  }
  std::vector<v1::SubscribeRule> rules;
  for (int i = 0; i < list.values_size(); ++i) {
    const size_t index = static_cast<size_t>(i);
    const google::protobuf::Value& item = list.values(i);
    if (item.kind_case() != google::protobuf::Value::kStructValue) {
      return absl::InvalidArgumentError(absl::StrCat("rules[", i, "]: must be a JSON object"));
    }
    v1::SubscribeRule& rule = rules.emplace_back();
    for (const auto& [key, value] : item.struct_value().fields()) {
      const bool is_string = value.kind_case() == google::protobuf::Value::kStringValue;
      if (key == "type") {
        absl::StatusOr<int> type = EnumIndex(value, kRuleTypes, index, key);
        if (!type.ok()) return type.status();
        rule.set_type(static_cast<v1::SubscribeRuleType>(*type));
      } else if (key == "all") {
        if (value.kind_case() != google::protobuf::Value::kBoolValue) {
          return RuleError(index, key, "must be true or false");
        }
        rule.set_all(value.bool_value());
      } else if (key == "kind") {
        absl::StatusOr<int> kind = EnumIndex(value, kTrackKinds, index, key);
        if (!kind.ok()) return kind.status();
        rule.set_kind(static_cast<v1::TrackKind>(*kind));
      } else if (key == "publisher" || key == "track") {
        if (!is_string) return RuleError(index, key, "must be a string");
        (key == "publisher" ? rule.mutable_publisher() : rule.mutable_track())
            ->assign(value.string_value());
      } else {
        return RuleError(index, key, "is not a rule key (type, all, kind, publisher, track)");
      }
    }
  }
  return rules;
}

std::string RulesJson(const v1::SubscribeRules& rules) {
  std::string out = "[";
  for (int i = 0; i < rules.rules_size(); ++i) {
    const v1::SubscribeRule& r = rules.rules(i);
    google::protobuf::Struct object;
    auto& fields = *object.mutable_fields();
    const int type = static_cast<int>(r.type());
    if (type > 0 && type < 3) fields["type"].set_string_value(std::string(kRuleTypes[type]));
    if (r.all()) fields["all"].set_bool_value(true);
    if (r.kind() != v1::TRACK_KIND_UNSPECIFIED)
      fields["kind"].set_string_value(TrackKindName(r.kind()));
    if (!r.publisher().empty()) fields["publisher"].set_string_value(r.publisher());
    if (!r.track().empty()) fields["track"].set_string_value(r.track());
    std::string json;
    (void)google::protobuf::util::MessageToJsonString(object, &json);
    absl::StrAppend(&out, i > 0 ? "," : "", json);
  }
  return absl::StrCat(out, "]\n");
}

std::string RecordEventTable(const v1::RecordEventResponse& response) {
  std::string out = absl::StrCat(EventOutcomeName(response.outcome()), " at revision ",
                                 response.revision(), "\n");
  if (response.has_participant()) {
    absl::StrAppend(&out, ParticipantTable({response.participant()}));
  }
  return out;
}

absl::StatusOr<std::string> JsonLine(const google::protobuf::Message& message) {
  std::string out;
  auto status = google::protobuf::util::MessageToJsonString(message, &out, JsonOptions());
  if (!status.ok()) {
    return absl::InternalError(absl::StrCat("cannot render ", message.GetTypeName(),
                                            " as JSON: ", status.message().as_string()));
  }
  out.push_back('\n');
  return out;
}

std::string WatchTableHeader() {
  return WatchRow({"REVISION", "TIME", "CHANGE", "SID", "NAME", "STATUS", "PREVIOUS"});
}

std::vector<std::string> WatchTableLines(const v1::WatchResponse& response, bool show_progress) {
  std::vector<std::string> lines;
  switch (response.kind_case()) {
    case v1::WatchResponse::kChanges:
      for (const v1::Change& c : response.changes().changes()) {
        const std::string revision = absl::StrCat(c.revision());
        const std::string time = FormatTimestamp(c.has_time(), c.time());
        const std::string type = ChangeTypeName(c.type());
        if (c.has_participant()) {
          lines.push_back(WatchRow(
              ParticipantWatchCells(revision, time, type, c.participant(), c.previous_status())));
        } else if (c.has_room()) {
          lines.push_back(WatchRow(RoomWatchCells(revision, time, type, c.room())));
        } else {
          lines.push_back(WatchRow({revision, time, type}));
        }
      }
      break;
    case v1::WatchResponse::kInitialState:
      for (const v1::Room& r : response.initial_state().rooms()) {
        lines.push_back(WatchRow(
            RoomWatchCells(absl::StrCat(r.revision()),
                           FormatTimestamp(r.has_date_updated(), r.date_updated()), "INITIAL", r)));
      }
      for (const v1::Participant& p : response.initial_state().participants()) {
        lines.push_back(WatchRow(ParticipantWatchCells(
            absl::StrCat(p.revision()), FormatTimestamp(p.has_date_updated(), p.date_updated()),
            "INITIAL", p, v1::PARTICIPANT_STATUS_UNSPECIFIED)));
      }
      for (const v1::PublishedTrack& t : response.initial_state().published_tracks()) {
        lines.push_back(WatchRow(
            {absl::StrCat(t.revision()), FormatTimestamp(t.has_date_updated(), t.date_updated()),
             "INITIAL_TRACK", t.sid(), t.name(),
             t.status() == v1::TRACK_STATUS_PUBLISHED ? "published" : "unpublished", ""}));
      }
      for (const v1::SubscribeRules& r : response.initial_state().subscribe_rules()) {
        lines.push_back(
            WatchRow({absl::StrCat(r.revision()),
                      FormatTimestamp(r.has_date_updated(), r.date_updated()), "INITIAL_RULES",
                      r.participant_sid(), absl::StrCat(r.rules_size(), " rules"), "", ""}));
      }
      for (const v1::SubscribedTrack& t : response.initial_state().subscribed_tracks()) {
        lines.push_back(
            WatchRow({absl::StrCat(t.revision()),
                      FormatTimestamp(t.has_date_updated(), t.date_updated()), "INITIAL_SUBSCRIBED",
                      t.sid(), t.name(), absl::StrCat("to ", t.participant_sid()), ""}));
      }
      break;
    case v1::WatchResponse::kInitialStateEnd:
      lines.push_back(WatchRow({absl::StrCat(response.initial_state_end().revision()), "",
                                "INITIAL_STATE_END", "", "", "", ""}));
      break;
    case v1::WatchResponse::kProgress:
      if (show_progress) {
        lines.push_back(WatchRow(
            {absl::StrCat(response.progress().revision()), "", "PROGRESS", "", "", "", ""}));
      }
      break;
    case v1::WatchResponse::KIND_NOT_SET:
      break;
  }
  return lines;
}

absl::StatusOr<std::vector<std::string>> WatchJsonLines(const v1::WatchResponse& response,
                                                        bool show_progress) {
  std::vector<std::string> lines;
  auto add = [&lines](const google::protobuf::Message& m) -> absl::Status {
    absl::StatusOr<std::string> line = JsonLine(m);
    if (!line.ok()) return line.status();
    lines.push_back(*std::move(line));
    return absl::OkStatus();
  };
  switch (response.kind_case()) {
    case v1::WatchResponse::kChanges:
      for (const v1::Change& c : response.changes().changes()) {
        if (absl::Status s = add(c); !s.ok()) return s;
      }
      break;
    case v1::WatchResponse::kInitialState: {
      // One line per record: an initial_state holding just that record.
      auto each = [&add](const auto& records, auto add_to) -> absl::Status {
        for (const auto& record : records) {
          v1::WatchResponse one;
          *add_to(one.mutable_initial_state()) = record;
          if (absl::Status s = add(one); !s.ok()) return s;
        }
        return absl::OkStatus();
      };
      const v1::InitialState& initial = response.initial_state();
      for (absl::Status s :
           {each(initial.rooms(), [](v1::InitialState* i) { return i->add_rooms(); }),
            each(initial.participants(), [](v1::InitialState* i) { return i->add_participants(); }),
            each(initial.published_tracks(),
                 [](v1::InitialState* i) { return i->add_published_tracks(); }),
            each(initial.subscribe_rules(),
                 [](v1::InitialState* i) { return i->add_subscribe_rules(); }),
            each(initial.subscribed_tracks(),
                 [](v1::InitialState* i) { return i->add_subscribed_tracks(); })}) {
        if (!s.ok()) return s;
      }
      break;
    }
    case v1::WatchResponse::kInitialStateEnd:
      if (absl::Status s = add(response); !s.ok()) return s;
      break;
    case v1::WatchResponse::kProgress:
      if (show_progress) {
        if (absl::Status s = add(response); !s.ok()) return s;
      }
      break;
    case v1::WatchResponse::KIND_NOT_SET:
      break;
  }
  return lines;
}

}  // namespace rollcall::cli
