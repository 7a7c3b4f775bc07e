#!/usr/bin/env bash
# Every figure of the performance report in one run, one after another on
# this machine, so that they can be read against each other:
#   1. chatnode, the baseline and the floor at every offered load
#      (side_by_side.sh with SWEEP=1): CPU per delivery and p99, chatnode /
#      floor and baseline / floor;
#   2. what coalescing buys, and the floor's cost of one write
#      (coalesce_curve.sh);
#   3. heap per idle joined connection and where it goes (idle_memory.sh,
#      5,000 clients each in a room of its own, then 200 to a room);
#   4. CLIENTS connections over several processes (crowd.mjs, default
#      100,000): connect rate, memory per connection, idle CPU, one broadcast.
# Each part's output goes to OUT/NAME.txt as well as to the terminal. With
# BEFORE=path/to/an/older/chatnode, part 3 runs for that binary too.
#
#   tests/bench/floor_report.sh [OUT] [CLIENTS]   (default build/bench/report 100000)
#
# Needs what the four need: build/chatnode, build/tests/bench/{chatbench,floor},
# the baseline (../shared/baseline/gochat/build.sh /tmp/gochat/gochat),
# heaptrack, Node.js; about 25 minutes.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=${1:-$root/build/bench/report}
clients=${2:-100000}
mkdir -p "$out"

part() { # name command...
  local name=$1
  shift
  echo "== $name ($(date -u +%H:%M:%S))"
  "$@" 2>&1 | tee "$out/$name.txt" || echo "== $name failed; the report goes on"
}

part side_by_side env SWEEP=1 "$root/tests/bench/side_by_side.sh" "$out/side_by_side"
part coalesce "$root/tests/bench/coalesce_curve.sh" "$out/coalesce"
part idle_memory_own_rooms "$root/tests/bench/idle_memory.sh" 5000
part idle_memory_shared_rooms "$root/tests/bench/idle_memory.sh" 5000 25
if [[ -n "${BEFORE:-}" ]]; then
  part idle_memory_own_rooms_before env CHATNODE_BIN="$BEFORE" "$root/tests/bench/idle_memory.sh" 5000
  part idle_memory_shared_rooms_before env CHATNODE_BIN="$BEFORE" "$root/tests/bench/idle_memory.sh" 5000 25
fi
part crowd node "$root/tests/bench/crowd.mjs" "$clients"
echo "== done ($(date -u +%H:%M:%S)): $out"
