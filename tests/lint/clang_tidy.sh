#!/usr/bin/env bash
# clang-tidy (the project's .clang-tidy) over the given source folders, using the build's
# compile_commands.json. Usage: clang_tidy.sh BUILD_DIR FOLDER...   Fails on any finding.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="$1"
shift
files=()
for folder in "$@"; do
  files+=("$root/$folder"/*.cc)
done
clang-tidy -p "$build" --quiet "${files[@]}" 2>/dev/null
echo "clang-tidy: clean (${#files[@]} files in $*)"
