// RETURN_IF_ERROR and ASSIGN_OR_RETURN: abseil 20220623 ships neither, so rollcall defines
// them once here. Both evaluate their argument exactly once.
#ifndef ROLLCALL_STATE_STATUS_MACROS_H_
#define ROLLCALL_STATE_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define ROLLCALL_CONCAT_INNER_(a, b) a##b
#define ROLLCALL_CONCAT_(a, b) ROLLCALL_CONCAT_INNER_(a, b)

// Returns the status from the enclosing function when `expr` is not OK.
#define RETURN_IF_ERROR(expr)                             \
  do {                                                    \
    if (::absl::Status status_ = (expr); !status_.ok()) { \
      return status_;                                     \
    }                                                     \
  } while (false)

// `ASSIGN_OR_RETURN(auto x, F());` declares x from F()'s value or returns F()'s error.
#define ASSIGN_OR_RETURN(lhs, rexpr) \
  ASSIGN_OR_RETURN_IMPL_(ROLLCALL_CONCAT_(statusor_, __LINE__), lhs, rexpr)
#define ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                           \
  if (!statusor.ok()) {                              \
    return std::move(statusor).status();             \
  }                                                  \
  lhs = *std::move(statusor)

#endif  // ROLLCALL_STATE_STATUS_MACROS_H_
