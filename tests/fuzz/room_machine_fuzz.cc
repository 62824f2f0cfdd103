// Fuzz target: input sequences through RoomMachine + Roster. The input's bytes are the random
// choices of tests/state/random_inputs.h's generator (which room, identity, event type, clock
// step, stale or retried event, timer...), so the fuzzer steers the sequence; the property
// test's invariants (tests/state/invariants.h) are checked after every step, and the first
// failure aborts with the step and the roster.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <variant>

#include "absl/strings/string_view.h"
#include "gtest/gtest.h"
#include "tests/state/invariants.h"
#include "tests/state/random_inputs.h"
#include "tests/state/state_harness.h"

// Enough for every rule to fire (a room fills at 3), few enough that one input stays fast:
// the invariants walk the whole roster after every step.
constexpr int kMaxSteps = 48;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace rollcall::state;  // NOLINT(google-build-using-namespace)
  test::Harness h(test::PropertyLimits());
  test::InputGenerator gen(/*seed=*/size,
                           absl::string_view(reinterpret_cast<const char*>(data), size));
  test::SequenceChecker checker;
  for (int i = 0; i < kMaxSteps && !gen.out_of_choices(); ++i) {
    const test::InputGenerator::Step step = gen.Next(h.roster().NextTimer());
    h.SetNow(step.now);
    checker.Before(h.roster(), step);
    const absl::StatusOr<Outcome> result = h.Step(step.input);
    gen.Learn(result);
    if (const auto* fire = std::get_if<FireTimer>(&step.input);
        fire != nullptr && result.ok() && result->disposition == Disposition::kApplied) {
      gen.Fired(fire->timer);
    }
    checker.After(h, step, result);
    if (::testing::Test::HasFailure()) {
      std::cerr << "room_machine_fuzz: step " << i << " at " << test::TimeText(step.now)
                << " decided " << test::Describe(result)
                << "\nroster after: " << ::testing::PrintToString(h.Dump()) << "\n";
      std::abort();
    }
  }
  return 0;
}
