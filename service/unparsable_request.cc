#include "service/unparsable_request.h"

#include <grpc/byte_buffer_reader.h>
#include <grpc/slice.h>

#include <cstdlib>
#include <limits>
#include <string>

#include "absl/strings/str_cat.h"
#include "google/protobuf/stubs/common.h"
#include "google/protobuf/unknown_field_set.h"

namespace rollcall::service {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::UnknownField;
using google::protobuf::UnknownFieldSet;

// Nesting deeper than this is not walked (protobuf's own parse limit is 100).
constexpr int kMaxDepth = 32;

// The first string field under `type` with malformed UTF-8, or OK when there is none (or
// the bytes are no protobuf message at all).
absl::Status FindBadUtf8(absl::string_view bytes, const Descriptor& type, const std::string& path,
                         int depth) {
  UnknownFieldSet fields;
  if (bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max()) ||
      !fields.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::OkStatus();
  }
  for (int i = 0; i < fields.field_count(); ++i) {
    const UnknownField& value = fields.field(i);
    const FieldDescriptor* field = type.FindFieldByNumber(value.number());
    if (field == nullptr || value.type() != UnknownField::TYPE_LENGTH_DELIMITED) continue;
    const std::string name = path.empty() ? field->name() : absl::StrCat(path, ".", field->name());
    if (field->type() == FieldDescriptor::TYPE_STRING &&
        !google::protobuf::internal::IsStructurallyValidUTF8(value.length_delimited())) {
      return absl::InvalidArgumentError(absl::StrCat(name, ": must be valid UTF-8"));
    }
    if (field->type() == FieldDescriptor::TYPE_MESSAGE && depth < kMaxDepth) {
      absl::Status nested =
          FindBadUtf8(value.length_delimited(), *field->message_type(), name, depth + 1);
      if (!nested.ok()) return nested;
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status UnparsableRequestError(absl::string_view bytes, const Descriptor& type) {
  absl::Status bad_field = FindBadUtf8(bytes, type, "", 0);
  if (!bad_field.ok()) return bad_field;
  return absl::InvalidArgumentError(absl::StrCat("request: is not a ", type.name(), " message"));
}

std::string TakeBytes(grpc_byte_buffer* buffer) {
  std::string bytes;
  if (buffer == nullptr) return bytes;
  grpc_byte_buffer_reader reader;
  if (grpc_byte_buffer_reader_init(&reader, buffer) != 0) {
    grpc_slice all = grpc_byte_buffer_reader_readall(&reader);
    bytes.assign(reinterpret_cast<const char*>(GRPC_SLICE_START_PTR(all)), GRPC_SLICE_LENGTH(all));
    grpc_slice_unref(all);
    grpc_byte_buffer_reader_destroy(&reader);
  }
  grpc_byte_buffer_destroy(buffer);
  return bytes;
}

int MethodIndex(absl::string_view service_full_name, absl::string_view method) {
  const google::protobuf::ServiceDescriptor* service =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
          std::string(service_full_name));
  const google::protobuf::MethodDescriptor* found =
      service == nullptr ? nullptr : service->FindMethodByName(std::string(method));
  if (found == nullptr) std::abort();  // a typo in a constructor: cannot serve at all
  return found->index();
}

}  // namespace rollcall::service
