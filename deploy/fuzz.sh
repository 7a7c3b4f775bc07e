#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan+UBSan): the frame decoder,
# the HTTP target and static paths, the config parser and join tokens; runs each for a
# bounded time on its seed corpus under tests/fuzz/corpus.
#   deploy/fuzz.sh [SECONDS_PER_TARGET]   (default 20)
# Needs clang and libclang-rt-14-dev (deploy/install-deps.sh --test installs them).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
seconds=${1:-20}
out="$root/build-fuzz"
mkdir -p "$out"

sanitizers="fuzzer,address,undefined"
flags=(-std=c++20 -O1 -g "-fsanitize=$sanitizers" -fno-sanitize-recover=undefined
       -I"$root" -DBOOST_BEAST_USE_STD_STRING_VIEW -DCHATNODE_VERSION='"fuzz"'
       # toml++ as the node uses it: the shared library Debian built.
       -DTOML_HEADER_ONLY=0 -DTOML_SHARED_LIB=1)
build() { # name sources... ; rebuilt only when a source is newer
  local name=$1; shift
  local newer=false
  for s in "$@"; do [[ "$s" -nt "$out/$name" ]] && newer=true; done
  if $newer || [[ ! -x "$out/$name" ]]; then
    clang++ "${flags[@]}" "$@" -o "$out/$name" -ltomlplusplus -lcrypto
  fi
}
build protocol_fuzz "$root/tests/fuzz/protocol_fuzz.cpp" "$root/actors/protocol.cpp"
build http_target_fuzz "$root/tests/fuzz/http_target_fuzz.cpp" "$root/node/static_files.cpp"
build config_fuzz "$root/tests/fuzz/config_fuzz.cpp" "$root/node/config.cpp"
build token_fuzz "$root/tests/fuzz/token_fuzz.cpp" "$root/actors/token.cpp"

for target in protocol http_target config token; do
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
