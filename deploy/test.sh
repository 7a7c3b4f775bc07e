#!/usr/bin/env bash
# Installs what is missing, builds with the tests, and runs the whole suite:
# first the Release build (with deploy/compose.yaml run for real in Docker),
# then again under AddressSanitizer and UndefinedBehaviorSanitizer, then a
# bounded fuzzing run of each libFuzzer target. Extra arguments go to ctest (e.g. -L unit).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/deploy/install-deps.sh" --test

echo "== Release build"
"$root/deploy/build.sh" --test
ctest --test-dir "$root/build" --output-on-failure "$@"

echo "== AddressSanitizer + UndefinedBehaviorSanitizer build"
"$root/deploy/build.sh" --test --sanitize address,undefined
# Once is enough for the slow suites whose subject is not the node's memory:
# compose builds its image from deploy/Dockerfile, chaos measures faults,
# and the browser suites test the page (the node paths they take run here
# in the system suites).
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir "$root/build-address-undefined" --output-on-failure -LE 'compose|chaos|browser' "$@"

echo "== Fuzzing (libFuzzer, ASan+UBSan): protocol decoder, HTTP target and static paths, config, join tokens, WebSocket frames, page metadata, S3 XML, upload tickets and ranges"
"$root/deploy/fuzz.sh" "${CHATNODE_FUZZ_SECONDS:-20}"
