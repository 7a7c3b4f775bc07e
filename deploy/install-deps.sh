#!/usr/bin/env bash
# Installs what chatnode needs on Debian 12 and is not there yet.
#   deploy/install-deps.sh          build and run
#   deploy/install-deps.sh --test   also the test suite's needs (redis-server, postgresql-15,
#                                   Boost.Test, chromium and an emoji font, playwright-core, Docker's
#                                   engine and docker-compose, iptables, debootstrap, the interop suite's
#                                   WebSocket clients: python3-websockets, Go with gorilla/websocket, and
#                                   awscli, which checks the S3 client against s3rver)
# Idempotent and quiet: prints only what it installs.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
with_tests=false
[[ "${1:-}" == "--test" ]] && with_tests=true

packages=(
  g++ cmake ninja-build pkg-config ccache
  libcaf-dev libboost1.81-dev libhiredis-dev libpq-dev nlohmann-json3-dev libtomlplusplus-dev libssl-dev libvips-dev
)
if $with_tests; then
  packages+=(libboost-test1.81-dev redis-server postgresql-15 nginx shellcheck clang libclang-rt-14-dev chromium fonts-noto-color-emoji nodejs npm iproute2 ca-certificates
             docker.io docker-compose iptables debootstrap clang-format
             python3-websockets golang-go golang-github-gorilla-websocket-dev awscli)
fi

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
# nodejs and npm may come from elsewhere than Debian: a working node is enough.
if $with_tests && command -v node >/dev/null && command -v npm >/dev/null; then
  missing=("${missing[@]/nodejs/}")
  missing=("${missing[@]/npm/}")
fi
read -r -a missing <<< "${missing[*]}"

if ((${#missing[@]} > 0)); then
  echo "installing: ${missing[*]}"
  # The tests run their own PostgreSQL servers; the package's own cluster
  # and service are not wanted.
  if [[ " ${missing[*]} " == *" postgresql-15 "* && ! -e /etc/postgresql-common/createcluster.conf ]]; then
    mkdir -p /etc/postgresql-common
    echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.conf
  fi
  log=$(mktemp)
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
           --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "apt-get install failed" >&2
    exit 1
  fi
  rm -f "$log"
fi

# The Node.js test suites' packages (playwright-core, ws, s3rver, http_ece, jose, ajv, the OpenAPI
# validator, typescript), from their lock files.
if $with_tests; then
  for lock in "$root"/tests/*/package-lock.json; do
    [[ -f "$lock" ]] || continue
    dir=$(dirname "$lock")
    if [[ ! -d "$dir/node_modules" || "$lock" -nt "$dir/node_modules" ]]; then
      echo "installing: npm packages of ${dir#"$root"/}"
      (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
      touch "$dir/node_modules"
    fi
  done
fi
