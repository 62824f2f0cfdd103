#!/usr/bin/env bash
# The build enforces the layer rules of docs/architecture.md: builds each probe target of
# tests/CMakeLists.txt. layering_forbidden_* must fail, and fail because the header cannot be
# found (not for another reason); layering_allowed_* must compile.
# Usage: layering.sh BUILD_DIR PROBE_TARGET...
set -uo pipefail
build="$1"
shift
failures=0
for probe in "$@"; do
  output="$(cmake --build "$build" --target "$probe" 2>&1)"
  status=$?
  case "$probe" in
    layering_forbidden_*)
      if [[ $status -eq 0 ]]; then
        echo "FAIL $probe: compiled, but its layer may not include that header"
        failures=$((failures + 1))
      elif ! grep -q "No such file or directory" <<<"$output"; then
        echo "FAIL $probe: failed for another reason than an unreachable header:"
        echo "$output" | tail -5
        failures=$((failures + 1))
      else
        echo "ok   $probe: refused"
      fi
      ;;
    *)
      if [[ $status -ne 0 ]]; then
        echo "FAIL $probe: an allowed include does not compile:"
        echo "$output" | tail -5
        failures=$((failures + 1))
      else
        echo "ok   $probe: compiles"
      fi
      ;;
  esac
done
echo "layering: $# probes, $failures failures"
[[ $failures -eq 0 ]]
