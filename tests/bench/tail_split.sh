#!/usr/bin/env bash
# Where chatnode's latency at 400,000 deliveries/s forms: two nodes over one
# redis-server under chatbench (1,000 clients in one room, 40 senders x
# 10/s), then the end-to-end p50/p99 that chatbench measured beside each
# node's own fan-out histogram (chatnode_fanout_latency_seconds: for each
# write, its oldest message from its arrival from Redis to the write), as
# the share of writes within each bound. RUNS times (default 3).
#
#   tests/bench/tail_split.sh [RUNS]
#
# Needs build/chatnode and build/tests/bench/chatbench (deploy/build.sh --test).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
runs=${1:-3}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap 'cleanup; rm -rf "$work"' EXIT
ulimit -n 65536 2>/dev/null || true

for run in $(seq "$runs"); do
  redis-server --port 7390 --bind 127.0.0.1 --save '' --appendonly no --dir "$work" >/dev/null 2>&1 &
  rp=$!
  pids=("$rp")
  for _ in $(seq 50); do redis-cli -p 7390 ping >/dev/null 2>&1 && break; sleep 0.1; done
  export CHATNODE_LIMITS_RATE_PER_SECOND=100000 CHATNODE_LIMITS_RATE_BURST=100000 \
    CHATNODE_LIMITS_OUTBOUND_QUEUE=100000 CHATNODE_LIMITS_MAX_CONNECTIONS=100000 \
    CHATNODE_LIMITS_MAX_CONNECTIONS_PER_ADDRESS=0 CHATNODE_LOG_LEVEL=warn
  for port in 9391 9392; do
    "$root/build/chatnode" --config "$root/config/node.toml" --web-root "$root/web" --node "n$port" \
      --listen 127.0.0.1:$port --redis redis://127.0.0.1:7390 >/dev/null &
    pids+=($!)
  done
  for _ in $(seq 100); do
    curl -fs http://127.0.0.1:9391/readyz >/dev/null 2>&1 && curl -fs http://127.0.0.1:9392/readyz >/dev/null 2>&1 && break
    sleep 0.1
  done
  "$root/build/tests/bench/chatbench" fanout --url ws://127.0.0.1:9391/ws,ws://127.0.0.1:9392/ws --clients 1000 \
    --rooms 1 --senders 40 --rate 10 --size 100 --duration 8 --warmup 2 --pids "${pids[1]},${pids[2]}" \
    --redis-pids "$rp" --json "$work/run.json" >/dev/null 2>&1
  for port in 9391 9392; do curl -fs http://127.0.0.1:$port/metrics >"$work/metrics-$port"; done
  python3 - "$run" "$work" <<'PY'
import json, re, sys
run, work = sys.argv[1], sys.argv[2]
r = json.load(open(f"{work}/run.json"))
line = f"run {run}: end to end p50 {r['latency_ms_p50']:.1f} ms, p99 {r['latency_ms_p99']:.1f} ms; writes within"
for port in (9391, 9392):
    buckets = {}
    for m in re.finditer(r'chatnode_fanout_latency_seconds_bucket\{le="([^"]+)"\} (\d+)', open(f"{work}/metrics-{port}").read()):
        buckets[m.group(1)] = int(m.group(2))
    total = buckets["+Inf"]
    shares = ", ".join(f"{float(le) * 1000:g} ms {100 * buckets[le] / total:.2f}%" for le in ("0.005", "0.01", "0.025", "0.05"))
    line += f" [node {port}: {shares}]"
print(line)
PY
  cleanup
  pids=()
  sleep 0.5
done
