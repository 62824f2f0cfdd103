// The one place absl::Status becomes grpc::Status. Codes map one to one; messages pass through.
#ifndef ROLLCALL_SERVICE_GRPC_STATUS_H_
#define ROLLCALL_SERVICE_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace rollcall::service {

inline grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return {static_cast<grpc::StatusCode>(status.code()), std::string(status.message())};
}

}  // namespace rollcall::service

#endif  // ROLLCALL_SERVICE_GRPC_STATUS_H_
