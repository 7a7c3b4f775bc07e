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
if [[ -n "$sanitize" ]]; then
  dir="$root/build-${sanitize//,/-}"
  type=RelWithDebInfo
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! { cmake -S "$root" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE="$type" \
         -DCHATNODE_BUILD_TESTS="$tests" -DCHATNODE_WERROR="$tests" -DCHATNODE_SANITIZE="$sanitize" &&
       cmake --build "$dir" -j "$(nproc)"; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "build failed" >&2
  exit 1
fi
