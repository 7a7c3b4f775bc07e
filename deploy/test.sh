#!/usr/bin/env bash
# Installs what is missing, builds with the tests, and runs the whole suite.
# Extra arguments go to ctest, e.g. deploy/test.sh -L unit
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/deploy/install-deps.sh" --test
"$root/deploy/build.sh" --test
export SCREENSHOT_DIR="$root/build/screenshots"
mkdir -p "$SCREENSHOT_DIR"
ctest --test-dir "$root/build" --output-on-failure --timeout 600 "$@"
