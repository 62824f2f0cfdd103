#include "service/convert.h"

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "service/auth.h"
#include "state/status_macros.h"

namespace rollcall::service {
namespace {

constexpr int32_t kDefaultPageSize = 50;
constexpr int32_t kMaxPageSize = 1000;

absl::Status Invalid(absl::string_view field, absl::string_view rule) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", rule));
}

}  // namespace

void ToProto(absl::Time time, google::protobuf::Timestamp* out) {
  // Seconds round down, so nanos are 0..999999999 before the epoch too. (Unix nanoseconds in
  // an int64 would saturate before 1677.)
  const int64_t seconds = absl::ToUnixSeconds(time);
  out->set_seconds(seconds);
  out->set_nanos(
      static_cast<int32_t>(absl::ToInt64Nanoseconds(time - absl::FromUnixSeconds(seconds))));
}

absl::StatusOr<std::optional<absl::Time>> FromProto(const google::protobuf::Timestamp& in,
                                                    bool present, absl::string_view field) {
  if (!present) return std::optional<absl::Time>();
  using google::protobuf::util::TimeUtil;
  if (in.seconds() < TimeUtil::kTimestampMinSeconds ||
      in.seconds() > TimeUtil::kTimestampMaxSeconds || in.nanos() < 0 || in.nanos() > 999999999) {
    return Invalid(field, "must be a valid timestamp between 0001-01-01 and 9999-12-31");
  }
  return std::optional<absl::Time>(absl::FromUnixSeconds(in.seconds()) +
                                   absl::Nanoseconds(in.nanos()));
}

absl::StatusOr<state::ParticipantStatus> ParticipantStatusFromProto(int value,
                                                                    absl::string_view field) {
  if (value < 0 || value > state::kMaxParticipantStatus) {
    return Invalid(field, absl::StrCat("unknown participant status ", value));
  }
  return static_cast<state::ParticipantStatus>(value);
}

absl::StatusOr<state::RoomStatus> RoomStatusFromProto(int value, absl::string_view field) {
  if (value < 0 || value > state::kMaxRoomStatus) {
    return Invalid(field, absl::StrCat("unknown room status ", value));
  }
  return static_cast<state::RoomStatus>(value);
}

void Converter::ToProto(const state::Participant& in, v1::Participant* out) const {
  const std::string sid = in.sid.ToString();
  const std::string room_sid = in.room_sid.ToString();
  out->set_sid(sid);
  out->set_account_sid(in.account_sid.ToString());
  out->set_room_sid(room_sid);
  out->set_identity(in.identity);
  out->set_status(static_cast<v1::ParticipantStatus>(in.status));
  service::ToProto(in.date_created, out->mutable_date_created());
  service::ToProto(in.date_updated, out->mutable_date_updated());
  service::ToProto(in.start_time, out->mutable_start_time());
  if (in.end_time) service::ToProto(*in.end_time, out->mutable_end_time());
  if (in.duration) out->set_duration(*in.duration);
  std::string url = absl::StrCat(base_url_, "/v1/Rooms/", room_sid, "/Participants/", sid);
  v1::ParticipantLinks* links = out->mutable_links();
  links->set_published_tracks(absl::StrCat(url, "/PublishedTracks"));
  links->set_subscribed_tracks(absl::StrCat(url, "/SubscribedTracks"));
  links->set_subscribe_rules(absl::StrCat(url, "/SubscribeRules"));
  links->set_anonymize(absl::StrCat(url, "/Anonymize"));
  out->set_url(std::move(url));
  out->set_disconnect_reason(static_cast<v1::DisconnectReason>(in.disconnect_reason));
  out->set_revision(in.revision);
}

void Converter::ToProto(const state::Room& in, int32_t participant_count, v1::Room* out) const {
  const std::string sid = in.sid.ToString();
  out->set_sid(sid);
  out->set_account_sid(in.account_sid.ToString());
  out->set_unique_name(in.unique_name);
  out->set_status(static_cast<v1::RoomStatus>(in.status));
  service::ToProto(in.date_created, out->mutable_date_created());
  service::ToProto(in.date_updated, out->mutable_date_updated());
  if (in.end_time) service::ToProto(*in.end_time, out->mutable_end_time());
  if (in.duration) out->set_duration(*in.duration);
  out->set_max_participants(in.max_participants);
  out->set_max_participant_duration(in.max_participant_duration);
  out->set_empty_room_timeout(in.empty_room_timeout);
  out->set_unused_room_timeout(in.unused_room_timeout);
  out->set_status_callback(in.status_callback);
  out->set_status_callback_method(in.status_callback_method);
  std::string url = absl::StrCat(base_url_, "/v1/Rooms/", sid);
  out->mutable_links()->set_participants(absl::StrCat(url, "/Participants"));
  out->set_url(std::move(url));
  out->set_participant_count(participant_count);
  out->set_revision(in.revision);
  out->set_ad_hoc(in.ad_hoc);
}

void Converter::ToProto(const state::PublishedTrack& in, v1::PublishedTrack* out) const {
  const std::string sid = in.sid.ToString();
  const std::string room_sid = in.room_sid.ToString();
  const std::string participant_sid = in.participant_sid.ToString();
  out->set_sid(sid);
  out->set_account_sid(in.account_sid.ToString());
  out->set_room_sid(room_sid);
  out->set_participant_sid(participant_sid);
  out->set_name(in.name);
  out->set_kind(static_cast<v1::TrackKind>(in.kind));
  out->set_enabled(in.enabled);
  out->set_status(static_cast<v1::TrackStatus>(in.status));
  service::ToProto(in.date_created, out->mutable_date_created());
  service::ToProto(in.date_updated, out->mutable_date_updated());
  out->set_url(absl::StrCat(base_url_, "/v1/Rooms/", room_sid, "/Participants/", participant_sid,
                            "/PublishedTracks/", sid));
  out->set_revision(in.revision);
}

void Converter::ToProto(const state::SubscribedTrack& in, v1::SubscribedTrack* out) const {
  const std::string sid = in.sid.ToString();
  const std::string room_sid = in.room_sid.ToString();
  const std::string participant_sid = in.participant_sid.ToString();
  out->set_sid(sid);
  out->set_participant_sid(participant_sid);
  out->set_publisher_sid(in.publisher_sid.ToString());
  out->set_account_sid(in.account_sid.ToString());
  out->set_room_sid(room_sid);
  out->set_name(in.name);
  out->set_kind(static_cast<v1::TrackKind>(in.kind));
  out->set_enabled(in.enabled);
  service::ToProto(in.date_created, out->mutable_date_created());
  service::ToProto(in.date_updated, out->mutable_date_updated());
  out->set_url(absl::StrCat(base_url_, "/v1/Rooms/", room_sid, "/Participants/", participant_sid,
                            "/SubscribedTracks/", sid));
  out->set_revision(in.revision);
}

void Converter::ToProto(const state::SubscribeRules& in, v1::SubscribeRules* out) {
  out->set_participant_sid(in.participant_sid.ToString());
  out->set_account_sid(in.account_sid.ToString());
  out->set_room_sid(in.room_sid.ToString());
  for (const state::SubscribeRule& rule : in.rules) {
    v1::SubscribeRule* r = out->add_rules();
    r->set_type(static_cast<v1::SubscribeRuleType>(rule.type));
    r->set_all(rule.all);
    r->set_kind(static_cast<v1::TrackKind>(rule.kind));
    r->set_publisher(rule.publisher);
    r->set_track(rule.track);
  }
  service::ToProto(in.date_created, out->mutable_date_created());
  service::ToProto(in.date_updated, out->mutable_date_updated());
  out->set_revision(in.revision);
}

absl::StatusOr<std::vector<state::SubscribeRule>> Converter::FromProto(
    const google::protobuf::RepeatedPtrField<v1::SubscribeRule>& in) {
  std::vector<state::SubscribeRule> rules;
  rules.reserve(static_cast<size_t>(in.size()));
  for (int i = 0; i < in.size(); ++i) {
    const v1::SubscribeRule& r = in.Get(i);
    if (r.type() < 0 || r.type() > state::kMaxRuleType) {
      return Invalid(absl::StrCat("rules[", i, "].type"),
                     absl::StrCat("unknown rule type ", r.type()));
    }
    if (r.kind() < 0 || r.kind() > state::kMaxTrackKind) {
      return Invalid(absl::StrCat("rules[", i, "].kind"),
                     absl::StrCat("unknown track kind ", r.kind()));
    }
    state::SubscribeRule& rule = rules.emplace_back();
    rule.type = static_cast<state::RuleType>(r.type());
    rule.all = r.all();
    rule.kind = static_cast<state::TrackKind>(r.kind());
    rule.publisher = r.publisher();
    rule.track = r.track();
  }
  return rules;
}

std::string Converter::SerializeChangeSet(const std::vector<state::Change>& changes) const {
  v1::WatchResponse response;
  v1::ChangeSet* set = response.mutable_changes();
  if (!changes.empty()) set->set_revision(changes.front().revision);
  for (const state::Change& change : changes) {
    v1::Change* out = set->add_changes();
    out->set_revision(change.revision);
    out->set_type(static_cast<v1::ChangeType>(change.type));
    service::ToProto(change.time, out->mutable_time());
    if (const auto* participant = std::get_if<state::Participant>(&change.resource)) {
      ToProto(*participant, out->mutable_participant());
      out->set_previous_status(static_cast<v1::ParticipantStatus>(change.previous_status));
    } else if (const auto* room = std::get_if<state::Room>(&change.resource)) {
      // Always 0, so the change log need not carry a count: a room appears in a change only
      // when created (before any participant of the revision joins it) or ended (after every
      // active participant has left in that revision, or ad-hoc with nobody left; see
      // state/room_machine.cc, EndRoomAt and EndAdHocRoomIfEmpty). Checked for every outcome
      // of the state machine's property test (tests/state/property_test.cc).
      ToProto(*room, 0, out->mutable_room());
    } else if (const auto* track = std::get_if<state::PublishedTrack>(&change.resource)) {
      ToProto(*track, out->mutable_published_track());
    } else if (const auto* rules = std::get_if<state::SubscribeRules>(&change.resource)) {
      ToProto(*rules, out->mutable_subscribe_rules());
    } else {
      ToProto(std::get<state::SubscribedTrack>(change.resource), out->mutable_subscribed_track());
    }
  }
  return response.SerializeAsString();
}

absl::StatusOr<state::Event> Converter::FromProto(const wire::Event& in, const Caller& caller,
                                                  absl::string_view field) const {
  state::Event event;
  ASSIGN_OR_RETURN(event.account_sid,
                   caller.Account(in.account_sid(), absl::StrCat(field, ".account_sid")));
  event.event_id = in.event_id();
  if (in.type() < 0 || in.type() > state::kMaxEventType) {
    return Invalid(absl::StrCat(field, ".type"), absl::StrCat("unknown event type ", in.type()));
  }
  event.type = static_cast<state::EventType>(in.type());
  ASSIGN_OR_RETURN(event.occurred_at, service::FromProto(in.occurred_at(), in.has_occurred_at(),
                                                         absl::StrCat(field, ".occurred_at")));
  event.room = in.room();
  event.participant_sid = in.participant_sid();
  event.identity = in.identity();
  if (in.reason() < 0 || in.reason() > state::kMaxDisconnectReason) {
    return Invalid(absl::StrCat(field, ".reason"),
                   absl::StrCat("unknown disconnect reason ", in.reason()));
  }
  event.reason = static_cast<state::DisconnectReason>(in.reason());
  event.track_sid = in.track_sid();
  event.track_name = in.track_name();
  if (in.track_kind() < 0 || in.track_kind() > state::kMaxTrackKind) {
    return Invalid(absl::StrCat(field, ".track_kind"),
                   absl::StrCat("unknown track kind ", in.track_kind()));
  }
  event.track_kind = static_cast<state::TrackKind>(in.track_kind());
  if (in.has_track_enabled()) event.track_enabled = in.track_enabled();
  return event;
}

std::string EncodePageToken(const state::PageKey& key, uint64_t filter_hash) {
  std::string raw;
  auto put64 = [&raw](uint64_t value) {
    for (int i = 0; i < 8; ++i) raw.push_back(static_cast<char>(value >> (8 * i)));
  };
  put64(1);  // token format version
  put64(static_cast<uint64_t>(absl::ToUnixNanos(key.date_created)));
  raw.append(key.sid.prefix().data(), key.sid.prefix().size());
  raw.append(reinterpret_cast<const char*>(key.sid.bytes().data()), key.sid.bytes().size());
  put64(filter_hash);
  return absl::WebSafeBase64Escape(raw);
}

absl::StatusOr<state::PageKey> DecodePageToken(absl::string_view token, uint64_t filter_hash) {
  std::string raw;
  constexpr size_t kSize = 8 + 8 + 2 + 16 + 8;
  if (!absl::WebSafeBase64Unescape(token, &raw) || raw.size() != kSize) {
    return Invalid("page_token", "is not a token this server issued");
  }
  auto get64 = [&raw](size_t at) {
    uint64_t value = 0;
    for (int i = 0; i < 8; ++i) value |= uint64_t{static_cast<uint8_t>(raw[at + i])} << (8 * i);
    return value;
  };
  if (get64(0) != 1) return Invalid("page_token", "is not a token this server issued");
  if (get64(34) != filter_hash) {
    return Invalid("page_token", "was issued for a query with different filters");
  }
  state::Sid::Bytes bytes{};
  std::copy(raw.begin() + 18, raw.begin() + 34, bytes.begin());
  return state::PageKey{absl::FromUnixNanos(static_cast<int64_t>(get64(8))),
                        state::Sid(absl::string_view(raw.data() + 16, 2), bytes)};
}

absl::StatusOr<int32_t> PageSize(int32_t requested) {
  if (requested == 0) return kDefaultPageSize;
  if (requested < 1 || requested > kMaxPageSize) {
    return Invalid("page_size",
                   absl::StrCat("must be between 1 and ", kMaxPageSize, ", got ", requested));
  }
  return requested;
}

}  // namespace rollcall::service
