// Rendering of rollcall's protos for the terminal: aligned tables for people, one JSON
// object per line for scripts (`jq`). Pure functions from protos to strings; nothing here
// does I/O.
//
// Table conventions: a header row, columns padded to their widest cell and separated by two
// spaces, no trailing spaces; times in RFC 3339 UTC ("2024-05-01T12:00:00.25Z"); enums
// without their prefix ("CONNECTED"); anything unset or empty shown as "-".
// JSON conventions: google::protobuf::util::MessageToJsonString with proto field names and
// every primitive field printed, so each line parses back into the same message.
#ifndef ROLLCALL_CLI_FORMAT_H_
#define ROLLCALL_CLI_FORMAT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "google/protobuf/message.h"
#include "google/protobuf/timestamp.pb.h"
#include "rollcall/v1/change.pb.h"
#include "rollcall/v1/ingest_service.pb.h"
#include "rollcall/v1/participant.pb.h"
#include "rollcall/v1/room.pb.h"
#include "rollcall/v1/track.pb.h"
#include "rollcall/v1/watch_service.pb.h"

namespace rollcall::cli {

enum class OutputFormat { kTable, kJson };

// Shown for unset fields in tables.
inline constexpr absl::string_view kUnset = "-";

// "2024-05-01T12:00:00.25Z" (fraction only as long as needed); kUnset when !has.
std::string FormatTimestamp(bool has, const google::protobuf::Timestamp& ts);
// A whole number of seconds as "1h2m3s"; kUnset when !has.
std::string FormatSeconds(bool has, int64_t seconds);

// Enum names without their type prefix; kUnset for the *_UNSPECIFIED value.
std::string ParticipantStatusName(v1::ParticipantStatus status);
std::string DisconnectReasonName(v1::DisconnectReason reason);
std::string RoomStatusName(v1::RoomStatus status);
std::string ChangeTypeName(v1::ChangeType type);
std::string EventOutcomeName(v1::EventOutcome outcome);

// A table of `rows` under `header`, one line each, every line ending in '\n'. Rows shorter
// than the header are padded with kUnset; empty cells print as kUnset.
std::string RenderTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows);

// SID, ROOM, IDENTITY, STATUS, START, END, DURATION, REASON, REVISION.
const std::vector<std::string>& ParticipantHeader();
std::vector<std::string> ParticipantRow(const v1::Participant& p);
std::string ParticipantTable(absl::Span<const v1::Participant> participants);

// SID, UNIQUE_NAME, STATUS, PARTICIPANTS, CREATED, END, DURATION, REVISION.
const std::vector<std::string>& RoomHeader();
std::vector<std::string> RoomRow(const v1::Room& r);
std::string RoomTable(absl::Span<const v1::Room> rooms);

// SID, NAME, KIND, ENABLED, STATUS, PARTICIPANT, CREATED, REVISION.
std::string PublishedTrackTable(absl::Span<const v1::PublishedTrack> tracks);
// SID, NAME, KIND, ENABLED, PUBLISHER, SUBSCRIBED_SINCE, REVISION.
std::string SubscribedTrackTable(absl::Span<const v1::SubscribedTrack> tracks);

// Subscribe rules as JSON in the shape Twilio's API takes and returns:
//   [{"type":"include","all":true},{"type":"exclude","kind":"video","publisher":"alice"}]
// Parsing accepts exactly the keys type, all, kind, publisher, track; anything else, a
// wrong value type or an unknown type/kind is INVALID_ARGUMENT naming the rule
// ("rules[1].kind: …"). Range rules (1–20 rules, a filter per rule) are the server's.
absl::StatusOr<std::vector<v1::SubscribeRule>> ParseRulesJson(absl::string_view json);
std::string RulesJson(const v1::SubscribeRules& rules);  // one line, ending in '\n'

// The result of one event: "APPLIED at revision 12", then the participant's table.
std::string RecordEventTable(const v1::RecordEventResponse& response);

// `message` as one line of JSON, ending in '\n'. Fails only on values JSON cannot carry
// (e.g. a timestamp outside years 1–9999).
absl::StatusOr<std::string> JsonLine(const google::protobuf::Message& message);

// Watch output. Table lines use fixed column widths (the stream has no end to measure):
// REVISION, TIME, CHANGE, SID, NAME (identity or unique_name), STATUS, PREVIOUS.
std::string WatchTableHeader();
// The lines (each ending in '\n') for one stream message: one per change; with initial
// state, one per room or participant tagged INITIAL (revision and time of the record's last
// change), and one INITIAL_STATE_END; PROGRESS only when `show_progress`.
std::vector<std::string> WatchTableLines(const v1::WatchResponse& response, bool show_progress);
// JSON lines for one stream message: each change as a `Change` object; each initial record
// as a `WatchResponse` whose `initial_state` holds just that record; `initial_state_end` and
// (with `show_progress`) `progress` messages as `WatchResponse` objects.
absl::StatusOr<std::vector<std::string>> WatchJsonLines(const v1::WatchResponse& response,
                                                        bool show_progress);

}  // namespace rollcall::cli

#endif  // ROLLCALL_CLI_FORMAT_H_
