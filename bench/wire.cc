#include "bench/wire.h"

#include <grpcpp/impl/codegen/proto_utils.h>

namespace rollcall::bench::wire {
namespace {

// Participant.sid = 1, Participant.room_sid = 3.
void DecodeParticipant(absl::string_view bytes, OpResult* answer) {
  FieldReader field(bytes);
  while (field.Next()) {
    if (field.number() == 1 && field.is_bytes()) answer->participant_sid = field.bytes();
    if (field.number() == 3 && field.is_bytes()) answer->room_sid = field.bytes();
  }
}

}  // namespace

bool FieldReader::ReadVarint(uint64_t* value) {
  *value = 0;
  for (int shift = 0; at_ < end_ && shift < 64; shift += 7) {
    const uint8_t byte = *at_++;
    *value |= uint64_t{byte & 0x7fu} << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

bool FieldReader::Next() {
  if (!ok_ || at_ >= end_) return false;
  uint64_t tag = 0;
  ok_ = ReadVarint(&tag);
  number_ = static_cast<int>(tag >> 3);
  wire_type_ = static_cast<int>(tag & 7);
  uint64_t length = 0;
  switch (wire_type_) {
    case 0:
      ok_ = ok_ && ReadVarint(&varint_);
      break;
    case 1:
    case 5:
      length = wire_type_ == 1 ? 8 : 4;
      ok_ = ok_ && length <= static_cast<uint64_t>(end_ - at_);
      at_ += ok_ ? length : 0;
      break;
    case 2:
      ok_ = ok_ && ReadVarint(&length) && length <= static_cast<uint64_t>(end_ - at_);
      if (ok_) {
        bytes_ = absl::string_view(reinterpret_cast<const char*>(at_), length);
        at_ += length;
      }
      break;
    default:
      ok_ = false;
  }
  return ok_;
}

bool DecodeEventResult(absl::string_view bytes, OpResult* answer) {
  FieldReader field(bytes);
  while (field.Next()) {
    switch (field.number()) {
      case 2:
        answer->code = static_cast<int>(field.varint());
        break;
      case 3:
        answer->message = field.bytes();
        break;
      case 4:
        answer->outcome = static_cast<int>(field.varint());
        break;
      case 5:
        answer->revision = field.varint();
        break;
      case 6:
        DecodeParticipant(field.bytes(), answer);
        break;
      default:
        break;
    }
  }
  return field.ok();
}

bool DecodeRecordEventResponse(absl::string_view bytes, OpResult* answer) {
  FieldReader field(bytes);
  while (field.Next()) {
    if (field.number() == 1 && field.is_varint())
      answer->outcome = static_cast<int>(field.varint());
    if (field.number() == 2 && field.is_varint()) answer->revision = field.varint();
    if (field.number() == 3 && field.is_bytes()) DecodeParticipant(field.bytes(), answer);
  }
  return field.ok();
}

bool DecodeUpdateParticipantResponse(absl::string_view bytes, OpResult* answer) {
  answer->outcome = 1;  // EVENT_OUTCOME_APPLIED
  FieldReader field(bytes);
  while (field.Next()) {
    if (field.number() == 1 && field.is_bytes()) DecodeParticipant(field.bytes(), answer);
    if (field.number() == 2 && field.is_varint()) answer->revision = field.varint();
  }
  return field.ok();
}

uint64_t ChangeSetRevision(absl::string_view bytes) {
  FieldReader field(bytes);
  while (field.Next()) {
    if (field.number() != 1 || !field.is_bytes()) continue;  // WatchResponse.changes
    FieldReader set(field.bytes());
    while (set.Next()) {
      if (set.number() == 1 && set.is_varint()) return set.varint();  // ChangeSet.revision
    }
    return 0;
  }
  return 0;
}

FlatBuffer::FlatBuffer(const grpc::ByteBuffer& buffer) {
  if (!buffer.TrySingleSlice(&slice_).ok() && !buffer.DumpToSingleSlice(&slice_).ok()) {
    slice_ = grpc::Slice();
  }
}

grpc::ByteBuffer Serialize(const google::protobuf::MessageLite& message) {
  grpc::ByteBuffer buffer;
  bool own = false;
  grpc::SerializationTraits<google::protobuf::MessageLite>::Serialize(message, &buffer, &own);
  return buffer;
}

}  // namespace rollcall::bench::wire
