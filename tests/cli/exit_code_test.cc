// The gRPC status → exit code mapping of cli/exit_code.h, one row per status code.
#include "cli/exit_code.h"

#include "gtest/gtest.h"

namespace rollcall::cli {
namespace {

struct Row {
  grpc::StatusCode code;
  const char* name;
  int exit_code;
};

constexpr Row kRows[] = {
    {grpc::StatusCode::OK, "OK", 0},
    {grpc::StatusCode::CANCELLED, "CANCELLED", 1},
    {grpc::StatusCode::UNKNOWN, "UNKNOWN", 1},
    {grpc::StatusCode::INVALID_ARGUMENT, "INVALID_ARGUMENT", 4},
    {grpc::StatusCode::DEADLINE_EXCEEDED, "DEADLINE_EXCEEDED", 6},
    {grpc::StatusCode::NOT_FOUND, "NOT_FOUND", 3},
    {grpc::StatusCode::ALREADY_EXISTS, "ALREADY_EXISTS", 5},
    {grpc::StatusCode::PERMISSION_DENIED, "PERMISSION_DENIED", 1},
    {grpc::StatusCode::RESOURCE_EXHAUSTED, "RESOURCE_EXHAUSTED", 5},
    {grpc::StatusCode::FAILED_PRECONDITION, "FAILED_PRECONDITION", 5},
    {grpc::StatusCode::ABORTED, "ABORTED", 1},
    {grpc::StatusCode::OUT_OF_RANGE, "OUT_OF_RANGE", 4},
    {grpc::StatusCode::UNIMPLEMENTED, "UNIMPLEMENTED", 1},
    {grpc::StatusCode::INTERNAL, "INTERNAL", 1},
    {grpc::StatusCode::UNAVAILABLE, "UNAVAILABLE", 6},
    {grpc::StatusCode::DATA_LOSS, "DATA_LOSS", 1},
    {grpc::StatusCode::UNAUTHENTICATED, "UNAUTHENTICATED", 1},
};

TEST(ExitCode, EveryStatusCode) {
  for (const Row& row : kRows) {
    EXPECT_EQ(ExitCodeFor(row.code), row.exit_code) << row.name;
    EXPECT_EQ(StatusCodeName(row.code), row.name);
  }
}

TEST(ExitCode, UnknownNumbersAreGenericErrors) {
  const auto odd = static_cast<grpc::StatusCode>(99);
  EXPECT_EQ(ExitCodeFor(odd), kExitError);
  EXPECT_EQ(StatusCodeName(odd), "UNKNOWN");
}

TEST(ExitCode, UsageIsDistinctFromEveryRpcOutcome) {
  for (const Row& row : kRows) EXPECT_NE(ExitCodeFor(row.code), kExitUsage) << row.name;
}

}  // namespace
}  // namespace rollcall::cli
