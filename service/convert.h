// The one place rollcall.v1 messages and state:: records convert into each other. Outbound
// conversions fill url and links from the public base URL; inbound ones check what protobuf
// cannot (enum ranges, timestamp ranges, SID shapes) and name the field on error.
#ifndef ROLLCALL_SERVICE_CONVERT_H_
#define ROLLCALL_SERVICE_CONVERT_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"
#include "rollcall/v1/change.pb.h"
#include "rollcall/v1/event.pb.h"
#include "rollcall/v1/participant.pb.h"
#include "rollcall/v1/room.pb.h"
#include "rollcall/v1/track.pb.h"
#include "rollcall/v1/watch_service.pb.h"
#include "service/ingest_wire.pb.h"
#include "state/records.h"
#include "state/roster.h"
#include "state/sid.h"

namespace rollcall::service {

class Caller;

class Converter {
 public:
  Converter(std::string public_base_url, state::Sid default_account)
      : base_url_(std::move(public_base_url)), default_account_(default_account) {}

  const state::Sid& default_account() const { return default_account_; }

  void ToProto(const state::Participant& in, v1::Participant* out) const;
  // `participant_count` is the room's active participants at the time.
  void ToProto(const state::Room& in, int32_t participant_count, v1::Room* out) const;
  void ToProto(const state::PublishedTrack& in, v1::PublishedTrack* out) const;
  void ToProto(const state::SubscribedTrack& in, v1::SubscribedTrack* out) const;
  static void ToProto(const state::SubscribeRules& in, v1::SubscribeRules* out);
  // Rules as a request names them; state/ validation checks them (naming rules[i]).
  static absl::StatusOr<std::vector<state::SubscribeRule>> FromProto(
      const google::protobuf::RepeatedPtrField<v1::SubscribeRule>& in);
  // A whole revision's changes as the watch message: rendered at the edge from the change log's
  // domain records (store/codec.h), once per revision, and sent as the same bytes to every
  // watcher (service/watch_core.h).
  std::string SerializeChangeSet(const std::vector<state::Change>& changes) const;
  // An event as parsed from the wire mirror of rollcall.v1.Event (service/ingest_wire.proto):
  // strings arrive as raw bytes and state/ validation names any bad one. `field` prefixes
  // error messages, e.g. "event". The event's account is the one `caller` may act for
  // (Caller::Account).
  absl::StatusOr<state::Event> FromProto(const wire::Event& in, const Caller& caller,
                                         absl::string_view field) const;

 private:
  std::string base_url_;
  state::Sid default_account_;
};

// Timestamps: set/unset and range-checked (0001-01-01 .. 9999-12-31, nanos 0..999999999).
void ToProto(absl::Time time, google::protobuf::Timestamp* out);
absl::StatusOr<std::optional<absl::Time>> FromProto(const google::protobuf::Timestamp& in,
                                                    bool present, absl::string_view field);

// Enums: the numeric values match; out-of-range values are INVALID_ARGUMENT naming `field`.
absl::StatusOr<state::ParticipantStatus> ParticipantStatusFromProto(int value,
                                                                    absl::string_view field);
absl::StatusOr<state::RoomStatus> RoomStatusFromProto(int value, absl::string_view field);

// Opaque page tokens: the key to resume after, bound to a hash of the query's filters so a
// token is not replayed against a different query.
std::string EncodePageToken(const state::PageKey& key, uint64_t filter_hash);
absl::StatusOr<state::PageKey> DecodePageToken(absl::string_view token, uint64_t filter_hash);

// page_size: 0 means the default (50); otherwise 1..1000.
absl::StatusOr<int32_t> PageSize(int32_t requested);

}  // namespace rollcall::service

#endif  // ROLLCALL_SERVICE_CONVERT_H_
