#include "store/codec.h"

#include <limits>
#include <type_traits>
#include <variant>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "state/status_macros.h"
#include "store/records.pb.h"

namespace rollcall::store {
namespace {

constexpr int64_t kInfinitePastNanos = std::numeric_limits<int64_t>::min();
constexpr int64_t kInfiniteFutureNanos = std::numeric_limits<int64_t>::max();

void SetSid(const state::Sid& sid, std::string* field) {
  if (sid == state::Sid()) {
    field->clear();
    return;
  }
  // prefix() is empty for a prefix-less SID; keep the width fixed so decoding is positional.
  const absl::string_view prefix = sid.prefix();
  char buffer[kEncodedSidBytes] = {};
  for (size_t i = 0; i < prefix.size() && i < 2; ++i) buffer[i] = prefix[i];
  for (size_t i = 0; i < kSidBytes; ++i) buffer[2 + i] = static_cast<char>(sid.bytes()[i]);
  field->assign(buffer, sizeof(buffer));
}

absl::Status CorruptField(absl::string_view record, absl::string_view field) {
  return absl::DataLossError(absl::StrCat("stored ", record, " has a malformed ", field));
}

absl::Status GetSid(absl::string_view bytes, absl::string_view record, absl::string_view field,
                    state::Sid* out) {
  if (!DecodeSid(bytes, out)) return CorruptField(record, field);
  return absl::OkStatus();
}

template <typename Enum>
absl::Status GetEnum(uint32_t value, int max, absl::string_view record, absl::string_view field,
                     Enum* out) {
  if (value > static_cast<uint32_t>(max)) return CorruptField(record, field);
  *out = static_cast<Enum>(value);
  return absl::OkStatus();
}

// Scratch messages: a message keeps its string fields' capacity across Clear() and parses.
ParticipantRecord& ParticipantScratch() {
  thread_local ParticipantRecord message;
  return message;
}
RoomRecord& RoomScratch() {
  thread_local RoomRecord message;
  return message;
}
DedupeRecord& DedupeScratch() {
  thread_local DedupeRecord message;
  return message;
}

TrackRecord& TrackScratch() {
  thread_local TrackRecord message;
  return message;
}
SubscribeRulesRecord& RulesScratch() {
  thread_local SubscribeRulesRecord message;
  return message;
}
SubscribedTrackRecord& SubscribedScratch() {
  thread_local SubscribedTrackRecord message;
  return message;
}

template <typename Message>
bool Parse(absl::string_view bytes, Message& message) {
  if (bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max())) return false;
  return message.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
}

}  // namespace

std::string EncodeSid(const state::Sid& sid) {
  std::string out;
  SetSid(sid, &out);
  return out;
}

bool DecodeSid(absl::string_view bytes, state::Sid* out) {
  if (bytes.empty()) {
    *out = state::Sid();
    return true;
  }
  if (bytes.size() != kEncodedSidBytes) return false;
  // Two capital letters, or none (two zero bytes): anything else would decode to a SID that
  // encodes differently (Sid keeps a prefix only when its first byte is set). Found by
  // tests/fuzz/codec_fuzz.cc.
  const bool no_prefix = bytes[0] == '\0' && bytes[1] == '\0';
  if (!no_prefix && !(absl::ascii_isupper(bytes[0]) && absl::ascii_isupper(bytes[1]))) {
    return false;
  }
  state::Sid::Bytes raw;
  for (size_t i = 0; i < kSidBytes; ++i) raw[i] = static_cast<uint8_t>(bytes[2 + i]);
  *out = state::Sid(bytes.substr(0, 2), raw);
  return true;
}

int64_t EncodeTime(absl::Time time) {
  if (time == absl::InfinitePast()) return kInfinitePastNanos;
  if (time == absl::InfiniteFuture()) return kInfiniteFutureNanos;
  return absl::ToUnixNanos(time);
}

absl::Time DecodeTime(int64_t unix_nanos) {
  if (unix_nanos == kInfinitePastNanos) return absl::InfinitePast();
  if (unix_nanos == kInfiniteFutureNanos) return absl::InfiniteFuture();
  return absl::FromUnixNanos(unix_nanos);
}

// Each kind of record to and from its message: Encode and Decode wrap these with a scratch
// message and the bytes; a change-log entry nests the same messages.
namespace {

void ToRecord(const state::Participant& participant, ParticipantRecord& m) {
  SetSid(participant.sid, m.mutable_sid());
  SetSid(participant.account_sid, m.mutable_account_sid());
  SetSid(participant.room_sid, m.mutable_room_sid());
  m.mutable_identity()->assign(participant.identity);
  m.set_status(static_cast<uint32_t>(participant.status));
  m.set_date_created(EncodeTime(participant.date_created));
  m.set_date_updated(EncodeTime(participant.date_updated));
  m.set_start_time(EncodeTime(participant.start_time));
  if (participant.end_time) m.set_end_time(EncodeTime(*participant.end_time));
  if (participant.duration) m.set_duration(*participant.duration);
  m.set_disconnect_reason(static_cast<uint32_t>(participant.disconnect_reason));
  m.set_revision(participant.revision);
  m.set_last_event_time(EncodeTime(participant.last_event_time));
  if (participant.reconnecting_since) {
    m.set_reconnecting_since(EncodeTime(*participant.reconnecting_since));
  }
}

void ToRecord(const state::Room& room, RoomRecord& m) {
  SetSid(room.sid, m.mutable_sid());
  SetSid(room.account_sid, m.mutable_account_sid());
  m.mutable_unique_name()->assign(room.unique_name);
  m.set_status(static_cast<uint32_t>(room.status));
  m.set_date_created(EncodeTime(room.date_created));
  m.set_date_updated(EncodeTime(room.date_updated));
  if (room.end_time) m.set_end_time(EncodeTime(*room.end_time));
  if (room.duration) m.set_duration(*room.duration);
  m.set_max_participants(room.max_participants);
  m.set_max_participant_duration(room.max_participant_duration);
  m.set_empty_room_timeout(room.empty_room_timeout);
  m.set_unused_room_timeout(room.unused_room_timeout);
  m.mutable_status_callback()->assign(room.status_callback);
  m.mutable_status_callback_method()->assign(room.status_callback_method);
  m.set_ad_hoc(room.ad_hoc);
  m.set_revision(room.revision);
}

void ToRecord(const state::DedupeEntry& entry, DedupeRecord& m) {
  SetSid(entry.account_sid, m.mutable_account_sid());
  m.mutable_event_id()->assign(entry.event_id);
  m.set_fingerprint(entry.fingerprint);
  m.set_revision(entry.revision);
  SetSid(entry.participant_sid, m.mutable_participant_sid());
  m.set_recorded_at(EncodeTime(entry.recorded_at));
}

absl::Status FromRecord(const ParticipantRecord& m, state::Participant* out) {
  constexpr absl::string_view kRecord = "participant";
  RETURN_IF_ERROR(GetSid(m.sid(), kRecord, "sid", &out->sid));
  RETURN_IF_ERROR(GetSid(m.account_sid(), kRecord, "account_sid", &out->account_sid));
  RETURN_IF_ERROR(GetSid(m.room_sid(), kRecord, "room_sid", &out->room_sid));
  out->identity.assign(m.identity());
  RETURN_IF_ERROR(
      GetEnum(m.status(), state::kMaxParticipantStatus, kRecord, "status", &out->status));
  out->date_created = DecodeTime(m.date_created());
  out->date_updated = DecodeTime(m.date_updated());
  out->start_time = DecodeTime(m.start_time());
  out->end_time = m.has_end_time() ? std::optional(DecodeTime(m.end_time())) : std::nullopt;
  out->duration = m.has_duration() ? std::optional(m.duration()) : std::nullopt;
  RETURN_IF_ERROR(GetEnum(m.disconnect_reason(), state::kMaxDisconnectReason, kRecord,
                          "disconnect_reason", &out->disconnect_reason));
  out->revision = m.revision();
  out->last_event_time = DecodeTime(m.last_event_time());
  out->reconnecting_since =
      m.has_reconnecting_since() ? std::optional(DecodeTime(m.reconnecting_since())) : std::nullopt;
  return absl::OkStatus();
}

absl::Status FromRecord(const RoomRecord& m, state::Room* out) {
  constexpr absl::string_view kRecord = "room";
  RETURN_IF_ERROR(GetSid(m.sid(), kRecord, "sid", &out->sid));
  RETURN_IF_ERROR(GetSid(m.account_sid(), kRecord, "account_sid", &out->account_sid));
  out->unique_name.assign(m.unique_name());
  RETURN_IF_ERROR(GetEnum(m.status(), state::kMaxRoomStatus, kRecord, "status", &out->status));
  out->date_created = DecodeTime(m.date_created());
  out->date_updated = DecodeTime(m.date_updated());
  out->end_time = m.has_end_time() ? std::optional(DecodeTime(m.end_time())) : std::nullopt;
  out->duration = m.has_duration() ? std::optional(m.duration()) : std::nullopt;
  out->max_participants = m.max_participants();
  out->max_participant_duration = m.max_participant_duration();
  out->empty_room_timeout = m.empty_room_timeout();
  out->unused_room_timeout = m.unused_room_timeout();
  out->status_callback.assign(m.status_callback());
  out->status_callback_method.assign(m.status_callback_method());
  out->ad_hoc = m.ad_hoc();
  out->revision = m.revision();
  return absl::OkStatus();
}

absl::Status FromRecord(const DedupeRecord& m, state::DedupeEntry* out) {
  constexpr absl::string_view kRecord = "dedupe entry";
  RETURN_IF_ERROR(GetSid(m.account_sid(), kRecord, "account_sid", &out->account_sid));
  out->event_id.assign(m.event_id());
  out->fingerprint = m.fingerprint();
  out->revision = m.revision();
  RETURN_IF_ERROR(GetSid(m.participant_sid(), kRecord, "participant_sid", &out->participant_sid));
  out->recorded_at = DecodeTime(m.recorded_at());
  return absl::OkStatus();
}

void ToRecord(const state::PublishedTrack& track, TrackRecord& m) {
  SetSid(track.sid, m.mutable_sid());
  SetSid(track.account_sid, m.mutable_account_sid());
  SetSid(track.room_sid, m.mutable_room_sid());
  SetSid(track.participant_sid, m.mutable_participant_sid());
  m.mutable_name()->assign(track.name);
  m.set_kind(static_cast<uint32_t>(track.kind));
  m.set_enabled(track.enabled);
  m.set_status(static_cast<uint32_t>(track.status));
  m.set_date_created(EncodeTime(track.date_created));
  m.set_date_updated(EncodeTime(track.date_updated));
  m.set_revision(track.revision);
  m.set_last_event_time(EncodeTime(track.last_event_time));
}

void ToRecord(const state::SubscribeRules& rules, SubscribeRulesRecord& m) {
  SetSid(rules.participant_sid, m.mutable_participant_sid());
  SetSid(rules.account_sid, m.mutable_account_sid());
  SetSid(rules.room_sid, m.mutable_room_sid());
  for (const state::SubscribeRule& rule : rules.rules) {
    SubscribeRuleRecord* r = m.add_rules();
    r->set_type(static_cast<uint32_t>(rule.type));
    r->set_all(rule.all);
    r->set_kind(static_cast<uint32_t>(rule.kind));
    r->set_publisher(rule.publisher);
    r->set_track(rule.track);
  }
  m.set_date_created(EncodeTime(rules.date_created));
  m.set_date_updated(EncodeTime(rules.date_updated));
  m.set_revision(rules.revision);
}

void ToRecord(const state::SubscribedTrack& subscribed, SubscribedTrackRecord& m) {
  SetSid(subscribed.sid, m.mutable_sid());
  SetSid(subscribed.participant_sid, m.mutable_participant_sid());
  SetSid(subscribed.publisher_sid, m.mutable_publisher_sid());
  SetSid(subscribed.account_sid, m.mutable_account_sid());
  SetSid(subscribed.room_sid, m.mutable_room_sid());
  m.mutable_name()->assign(subscribed.name);
  m.set_kind(static_cast<uint32_t>(subscribed.kind));
  m.set_enabled(subscribed.enabled);
  m.set_date_created(EncodeTime(subscribed.date_created));
  m.set_date_updated(EncodeTime(subscribed.date_updated));
  m.set_revision(subscribed.revision);
}

absl::Status FromRecord(const TrackRecord& m, state::PublishedTrack* out) {
  constexpr absl::string_view kRecord = "track";
  RETURN_IF_ERROR(GetSid(m.sid(), kRecord, "sid", &out->sid));
  RETURN_IF_ERROR(GetSid(m.account_sid(), kRecord, "account_sid", &out->account_sid));
  RETURN_IF_ERROR(GetSid(m.room_sid(), kRecord, "room_sid", &out->room_sid));
  RETURN_IF_ERROR(GetSid(m.participant_sid(), kRecord, "participant_sid", &out->participant_sid));
  out->name.assign(m.name());
  RETURN_IF_ERROR(GetEnum(m.kind(), state::kMaxTrackKind, kRecord, "kind", &out->kind));
  out->enabled = m.enabled();
  RETURN_IF_ERROR(GetEnum(m.status(), state::kMaxTrackStatus, kRecord, "status", &out->status));
  out->date_created = DecodeTime(m.date_created());
  out->date_updated = DecodeTime(m.date_updated());
  out->revision = m.revision();
  out->last_event_time = DecodeTime(m.last_event_time());
  return absl::OkStatus();
}

absl::Status FromRecord(const SubscribeRulesRecord& m, state::SubscribeRules* out) {
  constexpr absl::string_view kRecord = "subscribe rules";
  RETURN_IF_ERROR(GetSid(m.participant_sid(), kRecord, "participant_sid", &out->participant_sid));
  RETURN_IF_ERROR(GetSid(m.account_sid(), kRecord, "account_sid", &out->account_sid));
  RETURN_IF_ERROR(GetSid(m.room_sid(), kRecord, "room_sid", &out->room_sid));
  out->rules.clear();
  for (const SubscribeRuleRecord& r : m.rules()) {
    state::SubscribeRule& rule = out->rules.emplace_back();
    RETURN_IF_ERROR(GetEnum(r.type(), state::kMaxRuleType, kRecord, "rule type", &rule.type));
    rule.all = r.all();
    RETURN_IF_ERROR(GetEnum(r.kind(), state::kMaxTrackKind, kRecord, "rule kind", &rule.kind));
    rule.publisher.assign(r.publisher());
    rule.track.assign(r.track());
  }
  out->date_created = DecodeTime(m.date_created());
  out->date_updated = DecodeTime(m.date_updated());
  out->revision = m.revision();
  return absl::OkStatus();
}

absl::Status FromRecord(const SubscribedTrackRecord& m, state::SubscribedTrack* out) {
  constexpr absl::string_view kRecord = "subscribed track";
  RETURN_IF_ERROR(GetSid(m.sid(), kRecord, "sid", &out->sid));
  RETURN_IF_ERROR(GetSid(m.participant_sid(), kRecord, "participant_sid", &out->participant_sid));
  RETURN_IF_ERROR(GetSid(m.publisher_sid(), kRecord, "publisher_sid", &out->publisher_sid));
  RETURN_IF_ERROR(GetSid(m.account_sid(), kRecord, "account_sid", &out->account_sid));
  RETURN_IF_ERROR(GetSid(m.room_sid(), kRecord, "room_sid", &out->room_sid));
  out->name.assign(m.name());
  RETURN_IF_ERROR(GetEnum(m.kind(), state::kMaxTrackKind, kRecord, "kind", &out->kind));
  out->enabled = m.enabled();
  out->date_created = DecodeTime(m.date_created());
  out->date_updated = DecodeTime(m.date_updated());
  out->revision = m.revision();
  return absl::OkStatus();
}

// A record as bytes through its thread's scratch message.
template <typename Record, typename Message>
void EncodeWith(const Record& record, Message& scratch, std::string* out) {
  scratch.Clear();
  ToRecord(record, scratch);
  scratch.SerializeToString(out);
}

template <typename Record, typename Message>
absl::Status DecodeWith(absl::string_view bytes, Message& scratch, absl::string_view does_not_parse,
                        Record* out) {
  if (!Parse(bytes, scratch)) return absl::DataLossError(does_not_parse);
  return FromRecord(scratch, out);
}

}  // namespace

void Encode(const state::Participant& participant, std::string* out) {
  EncodeWith(participant, ParticipantScratch(), out);
}
void Encode(const state::Room& room, std::string* out) { EncodeWith(room, RoomScratch(), out); }
void Encode(const state::DedupeEntry& entry, std::string* out) {
  EncodeWith(entry, DedupeScratch(), out);
}
void Encode(const state::PublishedTrack& track, std::string* out) {
  EncodeWith(track, TrackScratch(), out);
}
void Encode(const state::SubscribeRules& rules, std::string* out) {
  EncodeWith(rules, RulesScratch(), out);
}
void Encode(const state::SubscribedTrack& subscribed, std::string* out) {
  EncodeWith(subscribed, SubscribedScratch(), out);
}

absl::Status Decode(absl::string_view bytes, state::Participant* out) {
  return DecodeWith(bytes, ParticipantScratch(), "stored participant does not parse", out);
}
absl::Status Decode(absl::string_view bytes, state::Room* out) {
  return DecodeWith(bytes, RoomScratch(), "stored room does not parse", out);
}
absl::Status Decode(absl::string_view bytes, state::DedupeEntry* out) {
  return DecodeWith(bytes, DedupeScratch(), "stored dedupe entry does not parse", out);
}
absl::Status Decode(absl::string_view bytes, state::PublishedTrack* out) {
  return DecodeWith(bytes, TrackScratch(), "stored track does not parse", out);
}
absl::Status Decode(absl::string_view bytes, state::SubscribeRules* out) {
  return DecodeWith(bytes, RulesScratch(), "stored subscribe rules do not parse", out);
}
absl::Status Decode(absl::string_view bytes, state::SubscribedTrack* out) {
  return DecodeWith(bytes, SubscribedScratch(), "stored subscribed track does not parse", out);
}

void Encode(const state::Callback& callback, std::string* out) {
  // Not a scratch message: its nested records are encoded with their own scratch messages.
  CallbackRecord m;
  SetSid(callback.room_sid, m.mutable_room_sid());
  m.set_sequence(callback.sequence);
  m.set_revision(callback.revision);
  m.set_event(static_cast<uint32_t>(callback.event));
  m.set_timestamp(EncodeTime(callback.timestamp));
  Encode(callback.room, m.mutable_room());
  if (callback.participant) Encode(*callback.participant, m.mutable_participant());
  if (callback.track) Encode(*callback.track, m.mutable_track());
  m.SerializeToString(out);
}

void Encode(const state::FailedCallback& failed, std::string* out) {
  FailedCallbackRecord m;
  Encode(failed.callback, m.mutable_callback());
  m.set_failed_at(EncodeTime(failed.failed_at));
  m.set_attempts(failed.attempts);
  m.set_last_error(failed.last_error);
  m.SerializeToString(out);
}

absl::Status Decode(absl::string_view bytes, state::Callback* out) {
  constexpr absl::string_view kRecord = "callback";
  CallbackRecord m;
  if (!Parse(bytes, m)) return absl::DataLossError("stored callback does not parse");
  RETURN_IF_ERROR(GetSid(m.room_sid(), kRecord, "room_sid", &out->room_sid));
  out->sequence = m.sequence();
  out->revision = m.revision();
  RETURN_IF_ERROR(GetEnum(m.event(), state::kMaxCallbackEvent, kRecord, "event", &out->event));
  out->timestamp = DecodeTime(m.timestamp());
  RETURN_IF_ERROR(Decode(m.room(), &out->room));
  out->participant.reset();
  if (m.has_participant()) {
    RETURN_IF_ERROR(Decode(m.participant(), &out->participant.emplace()));
  }
  out->track.reset();
  if (m.has_track()) {
    RETURN_IF_ERROR(Decode(m.track(), &out->track.emplace()));
  }
  return absl::OkStatus();
}

absl::Status Decode(absl::string_view bytes, state::FailedCallback* out) {
  FailedCallbackRecord m;
  if (!Parse(bytes, m)) return absl::DataLossError("stored failed callback does not parse");
  RETURN_IF_ERROR(Decode(m.callback(), &out->callback));
  out->failed_at = DecodeTime(m.failed_at());
  out->attempts = m.attempts();
  out->last_error.assign(m.last_error());
  return absl::OkStatus();
}

namespace {

ChangeSetRecord& ChangeSetScratch() {
  thread_local ChangeSetRecord message;
  return message;
}

// The room a change belongs to, and its account: a revision's scope.
LogScope ScopeOf(const state::Change& change) {
  return std::visit(
      [](const auto& resource) {
        if constexpr (std::is_same_v<std::decay_t<decltype(resource)>, state::Room>) {
          return LogScope{resource.account_sid, resource.sid};
        } else {
          return LogScope{resource.account_sid, resource.room_sid};
        }
      },
      change.resource);
}

// The header's fixed-width SID: prefix (two zero bytes when none) | raw bytes, so the empty Sid
// is 18 zero bytes and the header needs no lengths.
void AppendHeaderSid(const state::Sid& sid, std::string* out) {
  char buffer[kEncodedSidBytes] = {};
  const absl::string_view prefix = sid.prefix();
  for (size_t i = 0; i < prefix.size() && i < 2; ++i) buffer[i] = prefix[i];
  for (size_t i = 0; i < kSidBytes; ++i) buffer[2 + i] = static_cast<char>(sid.bytes()[i]);
  out->append(buffer, sizeof(buffer));
}

// Which resource each change type carries (proto/rollcall/v1/change.proto says the same).
ChangeRecord::ResourceCase ResourceOf(state::ChangeType type) {
  switch (type) {
    case state::ChangeType::kRoomCreated:
    case state::ChangeType::kRoomEnded:
      return ChangeRecord::kRoom;
    case state::ChangeType::kParticipantConnected:
    case state::ChangeType::kParticipantReconnecting:
    case state::ChangeType::kParticipantReconnected:
    case state::ChangeType::kParticipantDisconnected:
    case state::ChangeType::kParticipantAnonymized:
      return ChangeRecord::kParticipant;
    case state::ChangeType::kTrackPublished:
    case state::ChangeType::kTrackUnpublished:
    case state::ChangeType::kTrackEnabled:
    case state::ChangeType::kTrackDisabled:
      return ChangeRecord::kTrack;
    case state::ChangeType::kSubscribeRulesUpdated:
      return ChangeRecord::kRules;
    case state::ChangeType::kSubscribedTrackAdded:
    case state::ChangeType::kSubscribedTrackRemoved:
    case state::ChangeType::kSubscribedTrackUpdated:
      return ChangeRecord::kSubscribedTrack;
    case state::ChangeType::kUnspecified:
      break;
  }
  return ChangeRecord::RESOURCE_NOT_SET;
}

void ToRecord(const state::Change& change, ChangeRecord& m) {
  m.set_revision(change.revision);
  m.set_type(static_cast<uint32_t>(change.type));
  m.set_time(EncodeTime(change.time));
  m.set_previous_status(static_cast<uint32_t>(change.previous_status));
  std::visit(
      [&m](const auto& resource) {
        using Resource = std::decay_t<decltype(resource)>;
        if constexpr (std::is_same_v<Resource, state::Participant>) {
          ToRecord(resource, *m.mutable_participant());
        } else if constexpr (std::is_same_v<Resource, state::Room>) {
          ToRecord(resource, *m.mutable_room());
        } else if constexpr (std::is_same_v<Resource, state::PublishedTrack>) {
          ToRecord(resource, *m.mutable_track());
        } else if constexpr (std::is_same_v<Resource, state::SubscribeRules>) {
          ToRecord(resource, *m.mutable_rules());
        } else {
          ToRecord(resource, *m.mutable_subscribed_track());
        }
      },
      change.resource);
}

absl::Status FromRecord(const ChangeRecord& m, state::Change* out) {
  constexpr absl::string_view kRecord = "change";
  out->revision = m.revision();
  RETURN_IF_ERROR(GetEnum(m.type(), state::kMaxChangeType, kRecord, "type", &out->type));
  out->time = DecodeTime(m.time());
  RETURN_IF_ERROR(GetEnum(m.previous_status(), state::kMaxParticipantStatus, kRecord,
                          "previous_status", &out->previous_status));
  if (m.resource_case() != ResourceOf(out->type)) {
    return absl::DataLossError(absl::StrCat("stored change of type ", m.type(),
                                            " does not carry the resource of that type"));
  }
  switch (m.resource_case()) {
    case ChangeRecord::kParticipant:
      return FromRecord(m.participant(), &out->resource.emplace<state::Participant>());
    case ChangeRecord::kRoom:
      return FromRecord(m.room(), &out->resource.emplace<state::Room>());
    case ChangeRecord::kTrack:
      return FromRecord(m.track(), &out->resource.emplace<state::PublishedTrack>());
    case ChangeRecord::kRules:
      return FromRecord(m.rules(), &out->resource.emplace<state::SubscribeRules>());
    case ChangeRecord::kSubscribedTrack:
      return FromRecord(m.subscribed_track(), &out->resource.emplace<state::SubscribedTrack>());
    case ChangeRecord::RESOURCE_NOT_SET:
      break;
  }
  return CorruptField(kRecord, "resource");  // type 0 and no resource
}

}  // namespace

void EncodeLogPayload(const std::vector<state::Change>& changes, std::string* out) {
  out->clear();
  const LogScope scope = changes.empty() ? LogScope() : ScopeOf(changes.front());
  AppendHeaderSid(scope.account_sid, out);
  AppendHeaderSid(scope.room_sid, out);
  ChangeSetRecord& m = ChangeSetScratch();
  m.Clear();
  for (const state::Change& change : changes) ToRecord(change, *m.add_changes());
  // Appended after the header: no second buffer, no copy.
  m.AppendToString(out);
}

absl::StatusOr<LogScope> DecodeLogScope(absl::string_view payload) {
  if (payload.size() < kLogHeaderBytes) {
    return absl::DataLossError(absl::StrCat("change-log entry has ", payload.size(),
                                            " bytes, fewer than its scope header's ",
                                            kLogHeaderBytes));
  }
  LogScope scope;
  if (!DecodeSid(payload.substr(0, kEncodedSidBytes), &scope.account_sid)) {
    return absl::DataLossError("change-log entry's scope header has a malformed account_sid");
  }
  if (!DecodeSid(payload.substr(kEncodedSidBytes, kEncodedSidBytes), &scope.room_sid)) {
    return absl::DataLossError("change-log entry's scope header has a malformed room_sid");
  }
  return scope;
}

absl::Status DecodeLogPayload(absl::string_view payload, LogScope* scope,
                              std::vector<state::Change>* changes) {
  ASSIGN_OR_RETURN(*scope, DecodeLogScope(payload));
  ChangeSetRecord& m = ChangeSetScratch();
  if (!Parse(payload.substr(kLogHeaderBytes), m)) {
    return absl::DataLossError("change-log entry's changes do not parse");
  }
  if (m.changes().empty()) return absl::DataLossError("change-log entry holds no changes");
  changes->clear();
  changes->reserve(static_cast<size_t>(m.changes_size()));
  for (int i = 0; i < m.changes_size(); ++i) {
    state::Change& change = changes->emplace_back();
    if (absl::Status decoded = FromRecord(m.changes(i), &change); !decoded.ok()) {
      return absl::DataLossError(
          absl::StrCat("change-log entry's change ", i, ": ", decoded.message()));
    }
    if (change.revision != changes->front().revision) {
      return absl::DataLossError(absl::StrCat("change-log entry's change ", i, " is of revision ",
                                              change.revision, ", change 0 of ",
                                              changes->front().revision));
    }
  }
  // The header is what the encoder derives from the first change; anything else would filter
  // watchers by a scope the changes do not have.
  const LogScope derived = ScopeOf(changes->front());
  if (derived.account_sid != scope->account_sid || derived.room_sid != scope->room_sid) {
    return absl::DataLossError("change-log entry's scope header does not match its changes");
  }
  return absl::OkStatus();
}

}  // namespace rollcall::store
