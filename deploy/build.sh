#!/usr/bin/env bash
# Configures and builds chatnode. Quiet unless it fails.
#   deploy/build.sh                      build/, Release: the node
#   deploy/build.sh --test               build/, Release, with the tests, warnings as errors
#   deploy/build.sh --test --sanitize S  build-S/, with the tests, under the sanitizers S
#                                        (e.g. address,undefined)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tests=OFF
sanitize=""
while (($#)); do
  case "$1" in
    --test) tests=ON ;;
    --sanitize) sanitize="$2"; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
dir="$root/build"
type=Release
flags=()
if [[ -n "$sanitize" ]]; then
  dir="$root/build-${sanitize//,/-}"
  type=RelWithDebInfo
  # -O1 with line tables: what the sanitizers need for fast runs and stack
  # traces with file and line, built in half the time of -O2 -g.
  flags=(-DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG")
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! { cmake -S "$root" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE="$type" \
         -DCHATNODE_BUILD_TESTS="$tests" -DCHATNODE_WERROR="$tests" -DCHATNODE_SANITIZE="$sanitize" "${flags[@]}" &&
       cmake --build "$dir" -j "$(nproc)"; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "build failed" >&2
  exit 1
fi
