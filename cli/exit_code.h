// Exit codes of `rollcall` and how gRPC status codes map onto them. This is the one place
// that mapping lives; `rollcall --help` documents the same table.
//
//   0  success
//   1  any other error (INTERNAL, UNKNOWN, PERMISSION_DENIED, CANCELLED, ...)
//   2  usage error: unknown command or flag, missing or bad value (the message names the flag)
//   3  NOT_FOUND
//   4  INVALID_ARGUMENT, OUT_OF_RANGE
//   5  FAILED_PRECONDITION, ALREADY_EXISTS, RESOURCE_EXHAUSTED
//   6  UNAVAILABLE, DEADLINE_EXCEEDED (server unreachable, too slow, or shutting down)
#ifndef ROLLCALL_CLI_EXIT_CODE_H_
#define ROLLCALL_CLI_EXIT_CODE_H_

#include "absl/strings/string_view.h"
#include "grpcpp/support/status.h"

namespace rollcall::cli {

enum ExitCode : int {
  kExitOk = 0,
  kExitError = 1,
  kExitUsage = 2,
  kExitNotFound = 3,
  kExitInvalid = 4,
  kExitConflict = 5,
  kExitUnavailable = 6,
};

// The exit code for an RPC that ended with `code` (kExitOk for OK).
ExitCode ExitCodeFor(grpc::StatusCode code);

// The canonical upper-case name of `code`, e.g. "NOT_FOUND"; "UNKNOWN" for numbers outside
// the gRPC table.
absl::string_view StatusCodeName(grpc::StatusCode code);

}  // namespace rollcall::cli

#endif  // ROLLCALL_CLI_EXIT_CODE_H_
