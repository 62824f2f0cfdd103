#!/usr/bin/env bash
# The fuzz smoke test: runs a fuzz target over its corpus plus RUNS more inputs, seed 1.
# Usage: smoke.sh BINARY CORPUS_DIR RUNS. libFuzzer writes what it finds into its first
# directory, so that is a scratch one and the corpus in the repository stays as it is.
set -euo pipefail
binary="$1"
corpus="$2"
runs="$3"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
"$binary" -runs="$runs" -seed=1 "$scratch" "$corpus"
