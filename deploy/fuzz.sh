#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan+UBSan) through CMake: the frame decoder,
# the HTTP target and static paths, the config parser, join tokens, the WebSocket frame
# reader (alone and against Beast's), the link preview's HTML reader, the S3 client's XML
# reader, upload tickets and download ranges, Web Push subscription keys, a push
# service's Retry-After, and an identity provider's JWKS; runs each
# for a bounded time on its seed corpus under tests/fuzz/corpus.
#   deploy/fuzz.sh [SECONDS_PER_TARGET]   (default 20)
#   deploy/fuzz.sh --build-only            builds the targets and stops
# Needs clang and libclang-rt-14-dev (deploy/install-deps.sh --test installs them).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
seconds=${1:-20}
build_only=false
[[ "$seconds" == --build-only ]] && build_only=true
out="$root/build-fuzz"
mkdir -p "$out"

# The targets are CMake's (tests/fuzz/CMakeLists.txt), built with clang.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! { CXX=clang++ cmake -S "$root" -B "$out" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCHATNODE_FUZZ=ON &&
       cmake --build "$out" -j "$(nproc)"; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "fuzz: the targets did not build" >&2
  exit 1
fi
$build_only && exit 0

for target in protocol http_target config token ws_frame ws_frame_beast page_metadata s3_xml upload push_keys retry_after jwks command_answer api_keys; do
  work="$out/corpus-$target"
  mkdir -p "$work"
  # New inputs go to the scratch corpus; the seeds in the tree stay as they are.
  if ! "$out/${target}_fuzz" "$work" "$root/tests/fuzz/corpus/$target" -max_total_time="$seconds" \
       -max_len=4096 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="$out/crash-$target-" >"$out/$target.log" 2>&1; then
    tail -40 "$out/$target.log" >&2
    echo "fuzz: $target failed; the input is in $out/crash-$target-*" >&2
    exit 1
  fi
  runs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$out/$target.log" | grep -o '[0-9]*$' || echo '?')
  echo "fuzz: $target: $runs executions in ${seconds} s, no crash"
done
