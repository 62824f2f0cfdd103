// Wire-format reading for the load generator's answers. Decoding an answer into its full
// protobuf (a participant record per event: SIDs, URLs, links, timestamps) would cost the
// generator more CPU than the server spends producing it on this 2-core machine, and the
// generator shares the cores with the server. So answers are read as bytes and only the
// fields a workload needs are picked out: a result's code, message, outcome and revision,
// and its participant's SID and room SID. Views point into the answer's bytes.
#ifndef ROLLCALL_BENCH_WIRE_H_
#define ROLLCALL_BENCH_WIRE_H_

#include <grpcpp/support/byte_buffer.h>

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "bench/workload.h"
#include "google/protobuf/message_lite.h"

namespace rollcall::bench::wire {

// The fields of one message, in order.
class FieldReader {
 public:
  explicit FieldReader(absl::string_view bytes)
      : at_(reinterpret_cast<const uint8_t*>(bytes.data())), end_(at_ + bytes.size()) {}

  // Moves to the next field; false at the end, or when the bytes are malformed (ok() false).
  bool Next();
  bool ok() const { return ok_; }
  int number() const { return number_; }
  bool is_varint() const { return wire_type_ == 0; }
  bool is_bytes() const { return wire_type_ == 2; }
  uint64_t varint() const { return varint_; }
  absl::string_view bytes() const { return bytes_; }

 private:
  bool ReadVarint(uint64_t* value);

  const uint8_t* at_;
  const uint8_t* end_;
  bool ok_ = true;
  int number_ = 0;
  int wire_type_ = 0;
  uint64_t varint_ = 0;
  absl::string_view bytes_;
};

// rollcall.v1.EventResult.
bool DecodeEventResult(absl::string_view bytes, OpResult* answer);
// rollcall.v1.RecordEventResponse (code 0 implied: errors are the RPC status).
bool DecodeRecordEventResponse(absl::string_view bytes, OpResult* answer);
// rollcall.v1.UpdateParticipantResponse: a kick's answer, reported as APPLIED.
bool DecodeUpdateParticipantResponse(absl::string_view bytes, OpResult* answer);
// The revision of a rollcall.v1.WatchResponse carrying a ChangeSet; 0 for other kinds.
uint64_t ChangeSetRevision(absl::string_view bytes);

// A ByteBuffer's bytes in one piece (no copy when gRPC delivered one slice).
class FlatBuffer {
 public:
  explicit FlatBuffer(const grpc::ByteBuffer& buffer);
  absl::string_view view() const {
    return {reinterpret_cast<const char*>(slice_.begin()), slice_.size()};
  }

 private:
  grpc::Slice slice_;
};

// Each EventResult of a rollcall.v1.StreamEventsResponse, in order; false when malformed.
template <typename Visit>
bool ForEachEventResult(absl::string_view bytes, Visit visit) {
  FieldReader field(bytes);
  while (field.Next()) {
    if (field.number() != 1 || !field.is_bytes()) continue;
    OpResult result;
    if (!DecodeEventResult(field.bytes(), &result)) return false;
    visit(result);
  }
  return field.ok();
}

// A message serialized into a ByteBuffer the way gRPC's generated stubs do it.
grpc::ByteBuffer Serialize(const google::protobuf::MessageLite& message);

}  // namespace rollcall::bench::wire

#endif  // ROLLCALL_BENCH_WIRE_H_
