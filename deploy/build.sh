#!/usr/bin/env bash
# Configures and builds chatnode in build/ (Release). Quiet unless it fails.
#   deploy/build.sh [--test]   --test also builds the test suite, warnings as errors
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tests=OFF
[[ "${1:-}" == "--test" ]] && tests=ON

log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! { cmake -S "$root" -B "$root/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
         -DCHATNODE_BUILD_TESTS="$tests" -DCHATNODE_WERROR="$tests" &&
       cmake --build "$root/build" -j "$(nproc)"; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "build failed" >&2
  exit 1
fi
