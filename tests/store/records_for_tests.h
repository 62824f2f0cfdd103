// Sample records for the store tests. Every field of a sample record differs
// from its default and from the other fields, so a dropped or swapped field changes the value.
#ifndef ROLLCALL_TESTS_STORE_RECORDS_FOR_TESTS_H_
#define ROLLCALL_TESTS_STORE_RECORDS_FOR_TESTS_H_

#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "state/records.h"
#include "state/sid.h"
#include "store/store.h"

namespace rollcall::store::test_records {

// A SID whose 16 bytes spell out `n` and a per-kind tag, so kinds never share bytes.
inline state::Sid MakeSid(absl::string_view prefix, uint64_t n) {
  state::Sid::Bytes bytes{};
  bytes[0] = static_cast<uint8_t>(prefix[0]);
  bytes[1] = static_cast<uint8_t>(prefix[1]);
  for (int i = 15; i >= 8; --i) {
    bytes[i] = static_cast<uint8_t>(n & 0xff);
    n >>= 8;
  }
  return state::Sid(prefix, bytes);
}
inline state::Sid Account(uint64_t n) { return MakeSid(state::kAccountPrefix, n); }
inline state::Sid RoomSid(uint64_t n) { return MakeSid(state::kRoomPrefix, n); }
inline state::Sid ParticipantSid(uint64_t n) { return MakeSid(state::kParticipantPrefix, n); }
inline state::Sid TrackSid(uint64_t n) { return MakeSid(state::kTrackPrefix, n); }

// A time with nanosecond detail, so a microsecond encoding would not round-trip.
inline absl::Time At(int64_t seconds, int64_t nanos = 123456789) {
  return absl::FromUnixNanos(1700000000LL * 1000000000LL + seconds * 1000000000LL + nanos);
}

inline state::Room InProgressRoom(uint64_t n, uint64_t revision = 1) {
  state::Room room;
  room.sid = RoomSid(n);
  room.account_sid = Account(1);
  room.unique_name = absl::StrCat("room-", n);
  room.status = state::RoomStatus::kInProgress;
  room.date_created = At(10);
  room.date_updated = At(11, 7);
  room.max_participants = 17;
  room.max_participant_duration = 3600;
  room.empty_room_timeout = 7;
  room.unused_room_timeout = 9;
  room.status_callback = "https://example.com/callback";
  room.status_callback_method = "POST";
  room.ad_hoc = true;
  room.revision = revision;
  return room;
}

inline state::Room CompletedRoom(uint64_t n, uint64_t revision = 2) {
  state::Room room = InProgressRoom(n, revision);
  room.status = state::RoomStatus::kCompleted;
  room.end_time = At(500, 999999999);
  room.duration = 489;
  room.ad_hoc = false;
  return room;
}

inline state::Participant ConnectedParticipant(uint64_t n, uint64_t room, uint64_t revision = 1) {
  state::Participant p;
  p.sid = ParticipantSid(n);
  p.account_sid = Account(1);
  p.room_sid = RoomSid(room);
  p.identity = absl::StrCat("user-", n, "-\xC3\xA9");  // UTF-8 survives as bytes
  p.status = state::ParticipantStatus::kConnected;
  p.date_created = At(20, 1);
  p.date_updated = At(21, 2);
  p.start_time = At(19, 3);
  p.revision = revision;
  p.last_event_time = At(19, 4);
  return p;
}

inline state::Participant ReconnectingParticipant(uint64_t n, uint64_t room,
                                                  uint64_t revision = 2) {
  state::Participant p = ConnectedParticipant(n, room, revision);
  p.status = state::ParticipantStatus::kReconnecting;
  p.reconnecting_since = At(30, 5);
  p.last_event_time = At(30, 5);
  return p;
}

inline state::Participant DisconnectedParticipant(uint64_t n, uint64_t room,
                                                  uint64_t revision = 3) {
  state::Participant p = ConnectedParticipant(n, room, revision);
  p.status = state::ParticipantStatus::kDisconnected;
  p.end_time = At(80, 6);
  p.duration = 61;
  p.disconnect_reason = state::DisconnectReason::kReconnectTimeout;
  p.last_event_time = At(79, 8);
  return p;
}

inline state::DedupeEntry Dedupe(uint64_t account, absl::string_view event_id, uint64_t revision,
                                 absl::Time recorded_at) {
  state::DedupeEntry entry;
  entry.account_sid = Account(account);
  entry.event_id = std::string(event_id);
  entry.fingerprint = 0xfedcba9876543210ULL ^ revision;
  entry.revision = revision;
  entry.participant_sid = ParticipantSid(revision);
  entry.recorded_at = recorded_at;
  return entry;
}

// Track `n`, published by participant `participant` in room `room`.
inline state::PublishedTrack Track(uint64_t n, uint64_t participant, uint64_t room,
                                   uint64_t revision = 2) {
  state::PublishedTrack track;
  track.sid = TrackSid(n);
  track.account_sid = Account(1);
  track.room_sid = RoomSid(room);
  track.participant_sid = ParticipantSid(participant);
  track.name = absl::StrCat("cam-", n);
  track.kind = state::TrackKind::kVideo;
  track.enabled = false;
  track.status = state::TrackStatus::kPublished;
  track.date_created = At(40, 1);
  track.date_updated = At(41, 2);
  track.revision = revision;
  track.last_event_time = At(39, 3);
  return track;
}

// A replaced rule set of participant `participant`: everything but video.
inline state::SubscribeRules Rules(uint64_t participant, uint64_t room, uint64_t revision = 3) {
  state::SubscribeRules rules;
  rules.participant_sid = ParticipantSid(participant);
  rules.account_sid = Account(1);
  rules.room_sid = RoomSid(room);
  state::SubscribeRule all;
  all.type = state::RuleType::kInclude;
  all.all = true;
  state::SubscribeRule no_video;
  no_video.type = state::RuleType::kExclude;
  no_video.kind = state::TrackKind::kVideo;
  no_video.publisher = "user-1";
  no_video.track = "cam-1";
  rules.rules = {all, no_video};
  rules.date_created = At(50, 1);
  rules.date_updated = At(51, 2);
  rules.revision = revision;
  return rules;
}

// Participant `subscriber` receiving `track`.
inline state::SubscribedTrack Subscription(uint64_t subscriber, const state::PublishedTrack& track,
                                           uint64_t revision = 2) {
  state::SubscribedTrack s;
  s.sid = track.sid;
  s.participant_sid = ParticipantSid(subscriber);
  s.publisher_sid = track.participant_sid;
  s.account_sid = track.account_sid;
  s.room_sid = track.room_sid;
  s.name = track.name;
  s.kind = track.kind;
  s.enabled = track.enabled;
  s.date_created = At(60, 1);
  s.date_updated = At(61, 2);
  s.revision = revision;
  return s;
}

inline WriteBatch CompactBefore(uint64_t revision) {
  WriteBatch batch;
  batch.compact_log_before = revision;
  return batch;
}

inline WriteBatch RevisionOnly(uint64_t revision) {
  WriteBatch batch;
  batch.revision = revision;
  return batch;
}

}  // namespace rollcall::store::test_records

#endif  // ROLLCALL_TESTS_STORE_RECORDS_FOR_TESTS_H_
