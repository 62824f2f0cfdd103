// ROLLCALL_CHECK: for what "cannot happen" — an invariant the code relies on, not input it
// validates. A broken invariant is a bug; carrying on would be undefined behaviour or silently
// wrong state, so it logs the condition and where to stderr and aborts, in every build mode.
// Bad input never reaches a CHECK: it gets an error status naming the field.
#ifndef ROLLCALL_STATE_CHECK_H_
#define ROLLCALL_STATE_CHECK_H_

#include <cstdio>
#include <cstdlib>

#define ROLLCALL_CHECK(condition, why)                                                             \
  do {                                                                                             \
    if (!(condition)) [[unlikely]] {                                                               \
      std::fprintf(stderr, "%s:%d: CHECK failed: %s (%s)\n", __FILE__, __LINE__, #condition, why); \
      std::abort();                                                                                \
    }                                                                                              \
  } while (false)

#endif  // ROLLCALL_STATE_CHECK_H_
