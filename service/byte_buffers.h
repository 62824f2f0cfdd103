// Protobuf messages to and from grpc::ByteBuffer, for the services on gRPC's raw API (ingest
// parses through wire-compatible mirrors; watch sends bytes serialized once).
#ifndef ROLLCALL_SERVICE_BYTE_BUFFERS_H_
#define ROLLCALL_SERVICE_BYTE_BUFFERS_H_

#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/proto_buffer_reader.h>

#include <string>

#include "google/protobuf/message_lite.h"

namespace rollcall::service {

// Parses straight from the buffer's slices (grpc::ProtoBufferReader), without flattening them
// into one string first. The buffer is copied by reference count only.
inline bool ParseFrom(const grpc::ByteBuffer& buffer, google::protobuf::MessageLite* message) {
  grpc::ByteBuffer shared(buffer);
  grpc::ProtoBufferReader reader(&shared);
  return message->ParseFromZeroCopyStream(&reader);
}

inline grpc::ByteBuffer ToByteBuffer(std::string bytes) {
  grpc::Slice slice(std::move(bytes));
  return grpc::ByteBuffer(&slice, 1);
}

inline grpc::ByteBuffer Serialize(const google::protobuf::MessageLite& message) {
  return ToByteBuffer(message.SerializeAsString());
}

}  // namespace rollcall::service

#endif  // ROLLCALL_SERVICE_BYTE_BUFFERS_H_
