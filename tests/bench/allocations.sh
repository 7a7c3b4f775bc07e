#!/usr/bin/env bash
# Heap allocations on the fan-out path, counted by heaptrack: node a runs under
# heaptrack while 1,000 clients in one room get 400,000 deliveries/s (two
# nodes over a redis-server on 127.0.0.1:6399), once for SHORT and once for
# LONG seconds. The difference between the two runs is the steady state,
# without start-up and joins: allocations per message and per delivery.
#
#   tests/bench/allocations.sh [SHORT LONG]      (default 4 12)
#
# Needs: build/chatnode and build/tests/bench/chatbench, redis-server, and
# heaptrack (apt-get install heaptrack).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
short=${1:-4}
long=${2:-12}
out=$(mktemp -d)
command -v heaptrack >/dev/null || { echo "needs heaptrack: apt-get install heaptrack" >&2; exit 1; }

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

wait_http() { for _ in $(seq 100); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "no answer from $1" >&2; return 1; }

run() { # seconds -> heaptrack file in $out, and node a's events written
  local seconds=$1
  redis-server --port 6399 --bind 127.0.0.1 --save '' --appendonly no >/dev/null 2>&1 &
  pids+=($!)
  for _ in $(seq 50); do redis-cli -p 6399 ping >/dev/null 2>&1 && break; sleep 0.1; done
  export CHATNODE_LIMITS_RATE_PER_SECOND=100000 CHATNODE_LIMITS_RATE_BURST=100000 \
    CHATNODE_LIMITS_OUTBOUND_QUEUE=100000 CHATNODE_LIMITS_MAX_CONNECTIONS=100000 \
    CHATNODE_LIMITS_MAX_CONNECTIONS_PER_ADDRESS=0 CHATNODE_LOG_LEVEL=warn
  heaptrack -o "$out/run-$seconds" "$root/build/chatnode" --config "$root/config/node.toml" --web-root "$root/web" \
    --node a --listen 127.0.0.1:9301 --redis redis://127.0.0.1:6399 >/dev/null 2>&1 &
  local a=$!
  "$root/build/chatnode" --config "$root/config/node.toml" --web-root "$root/web" --node b \
    --listen 127.0.0.1:9302 --redis redis://127.0.0.1:6399 >/dev/null &
  pids+=($!)
  wait_http http://127.0.0.1:9301/readyz && wait_http http://127.0.0.1:9302/readyz
  "$root/build/tests/bench/chatbench" fanout --url ws://127.0.0.1:9301/ws,ws://127.0.0.1:9302/ws --clients 1000 \
    --rooms 1 --senders 40 --rate 10 --size 100 --duration "$seconds" --warmup 1 >"$out/bench-$seconds.json" 2>/dev/null
  curl -fs http://127.0.0.1:9301/metrics | awk '/^chatnode_messages_out_total/ {print $2}' >"$out/events-$seconds"
  # heaptrack runs the node as its child: stop the node itself, then wait for
  # heaptrack to finish writing.
  pkill -INT -f -- "--node a --listen 127.0.0.1:9301" || true
  wait "$a" 2>/dev/null || true
  cleanup
  pids=()
}

calls() { heaptrack_print -f "$1" 2>/dev/null | awk '/^calls to allocation functions:/ {print $5}'; }

run "$short"
run "$long"
short_calls=$(calls "$out/run-$short.zst")
long_calls=$(calls "$out/run-$long.zst")
short_events=$(cat "$out/events-$short")
long_events=$(cat "$out/events-$long")
python3 - "$short_calls" "$long_calls" "$short_events" "$long_events" "$short" "$long" <<'PY'
import sys
sc, lc, se, le, s, l = (float(x) for x in sys.argv[1:])
calls, events = lc - sc, le - se
messages = (l - s) * 400  # 40 senders x 10 messages/s
print(f"steady state over {l - s:.0f} s on node a: {calls:.0f} allocations, {events:.0f} events written, "
      f"{messages:.0f} messages")
print(f"allocations per delivery: {calls / events:.3f}; per message: {calls / messages:.1f}")
PY
for seconds in "$short" "$long"; do
  python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(f'run of {sys.argv[2]} s: delivered {r[\"delivered\"]}, lost {r[\"lost\"]}, p99 {r[\"latency_ms_p99\"]} ms')" \
    "$out/bench-$seconds.json" "$seconds"
done
echo "(the difference is the steady state only if both runs joined alike: run on a quiet machine)"
echo "where they come from:"
heaptrack_print -f "$out/run-$long.zst" -d "$out/run-$short.zst" -n 8 -s 0 2>/dev/null |
  sed -n '/MOST CALLS TO ALLOCATION FUNCTIONS/,/PEAK MEMORY CONSUMERS/p' | grep -E "^[0-9]+ calls|^[^ ].*\(" | head -16
