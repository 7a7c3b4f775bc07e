#!/usr/bin/env bash
# Installs what is missing, builds with the tests, and runs the whole suite:
# first the Release build (with deploy/compose.yaml run for real in Docker),
# then again under AddressSanitizer and UndefinedBehaviorSanitizer, then a
# bounded fuzzing run of each libFuzzer target. Extra arguments go to ctest (e.g. -L unit).
#
# The suites mostly wait on processes, timers and the network, so the
# sanitizer and fuzzing builds run beside the Release suites, and the
# fuzzing beside the sanitizer suites, at the lowest priority (nice 19):
# they take the CPU the suites leave idle, never the suites' own.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
started=$SECONDS
phase() { echo "== $1 (at $(((SECONDS - started) / 60)) min $(((SECONDS - started) % 60)) s)"; }

phase "Installing what is missing"
"$root/deploy/install-deps.sh" --test

phase "Release build"
"$root/deploy/build.sh" --test

# The sanitizer and fuzzing builds, in the background; their output is kept
# and shown only if one fails.
background_log=$(mktemp)
set -m # a process group of its own, so that an early exit stops all of it
(
  renice -n 19 "$BASHPID" >/dev/null
  "$root/deploy/build.sh" --test --sanitize address,undefined
  "$root/deploy/fuzz.sh" --build-only
) >"$background_log" 2>&1 &
background=$!
set +m
trap 'kill -- "-$background" 2>/dev/null || true; rm -f "$background_log"' EXIT

phase "Release suites (the sanitizer and fuzzing builds beside them, at nice 19)"
ctest --test-dir "$root/build" --output-on-failure "$@"

phase "Waiting for the sanitizer and fuzzing builds"
if ! wait "$background"; then
  cat "$background_log" >&2
  echo "the sanitizer or fuzzing build failed" >&2
  exit 1
fi

# The fuzzing runs beside the sanitizer suites, again at nice 19: bounded
# in time, they take what CPU the suites leave.
fuzz_log=$(mktemp)
set -m
(
  renice -n 19 "$BASHPID" >/dev/null
  "$root/deploy/fuzz.sh" "${CHATNODE_FUZZ_SECONDS:-20}"
) >"$fuzz_log" 2>&1 &
fuzzing=$!
set +m
trap 'kill -- "-$background" "-$fuzzing" 2>/dev/null || true; rm -f "$background_log" "$fuzz_log"' EXIT

phase "AddressSanitizer + UndefinedBehaviorSanitizer suites (fuzzing beside them, at nice 19)"
# Once is enough for the slow suites whose subject is not the node's memory:
# compose builds its image from deploy/Dockerfile, chaos measures faults,
# the browser suites test the page (the node paths they take run here in
# the system suites), and the lint and deploy checks read files, not the
# binary.
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir "$root/build-address-undefined" --output-on-failure -LE 'compose|chaos|browser|lint|deploy' "$@"

phase "Fuzzing (libFuzzer, ASan+UBSan): protocol decoder, HTTP target and static paths, config, join tokens, WebSocket frames, page metadata, S3 XML and file descriptions, upload tickets and ranges, Web Push subscription keys, Retry-After"
fuzzed=0
wait "$fuzzing" || fuzzed=$?
cat "$fuzz_log"
if ((fuzzed != 0)); then
  echo "fuzzing failed" >&2
  exit 1
fi
phase "Done"
