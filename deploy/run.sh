#!/usr/bin/env bash
# Installs what is missing, builds, and runs one node on the embedded bus.
# Extra arguments go to chatnode, e.g. deploy/run.sh --listen 127.0.0.1:9000
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/deploy/install-deps.sh"
"$root/deploy/build.sh"
cd "$root"
exec "$root/build/chatnode" --config config/node.toml "$@"
