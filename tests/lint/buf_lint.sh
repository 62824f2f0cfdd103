#!/usr/bin/env bash
# Lints the public API (proto/) with buf's STANDARD rules, using the buf version pinned in
# the repo's package.json/package-lock.json (npm package @bufbuild/buf). Works offline once
# node_modules/ exists; otherwise installs it first with `npm ci` (needs the npm registry).
# Exits non-zero on any lint error; prints "buf lint: clean" on success.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

if [[ ! -x "${repo_root}/node_modules/.bin/buf" ]]; then
  echo "buf lint: node_modules missing, running npm ci" >&2
  (cd "${repo_root}" && npm ci --no-audit --no-fund)
fi

cd "${repo_root}/proto"
if ! npx --no-install buf lint; then
  echo "buf lint: FAILED" >&2
  exit 1
fi
echo "buf lint: clean"
