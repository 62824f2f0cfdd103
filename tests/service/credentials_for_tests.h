// Credentials shared by the service unit tests: fixed SIDs and secrets (never real ones) and
// a helper that turns a status message into something gmock's string matchers take.
#ifndef ROLLCALL_TESTS_SERVICE_CREDENTIALS_FOR_TESTS_H_
#define ROLLCALL_TESTS_SERVICE_CREDENTIALS_FOR_TESTS_H_

#include <string>

#include "absl/status/status.h"

namespace rollcall::service::test {

inline constexpr char kAccount[] = "AC0123456789abcdef0123456789abcdef";
inline constexpr char kToken[] = "00112233445566778899aabbccddeeff";
inline constexpr char kReadKey[] = "SK22222222222222222222222222222222";
inline constexpr char kOtherAccount[] = "ACfedcba9876543210fedcba9876543210";

inline std::string Message(const absl::Status& status) { return std::string(status.message()); }

}  // namespace rollcall::service::test

#endif  // ROLLCALL_TESTS_SERVICE_CREDENTIALS_FOR_TESTS_H_
