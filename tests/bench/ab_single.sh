#!/usr/bin/env bash
# Two chatnode builds A and B under the same chatbench load, in turn (A B A B
# ...): two nodes on one redis-server, 1,000 clients in 100 rooms, 100
# senders x 20/s. Prints per pair B/A for node CPU per delivery, Redis CPU,
# p50 and p99 latency, and their medians. Each binary runs with the
# config/node.toml of its own checkout (two directories above it).
#
#   tests/bench/ab_single.sh A_BINARY B_BINARY [PAIRS]     (default 4 pairs)
#   LOAD="--clients 1000 --rooms 1 --senders 40 --rate 10" ...   another load
#                                                   (this one: 400,000 deliveries/s)
#
# Needs build/tests/bench/chatbench (deploy/build.sh --test).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bench=$root/build/tests/bench/chatbench
a=$1 b=$2 pairs=${3:-4}
load=${LOAD:---clients 1000 --rooms 100 --senders 100 --rate 20}
out=$(mktemp -d)
ulimit -n 65536 2>/dev/null || true
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap 'cleanup; rm -rf "$out"' EXIT

run() { # name binary
  local name=$1 bin=$2 config work
  config="$(dirname "$(dirname "$bin")")/config/node.toml"
  work=$(mktemp -d)
  redis-server --port 7300 --bind 127.0.0.1 --save '' --appendonly no --dir "$work" >/dev/null 2>&1 &
  local rp=$!
  pids=("$rp")
  for _ in $(seq 50); do redis-cli -p 7300 ping >/dev/null 2>&1 && break; sleep 0.1; done
  export CHATNODE_LIMITS_RATE_PER_SECOND=100000 CHATNODE_LIMITS_RATE_BURST=100000 \
    CHATNODE_LIMITS_OUTBOUND_QUEUE=100000 CHATNODE_LIMITS_MAX_CONNECTIONS=100000 \
    CHATNODE_LIMITS_MAX_CONNECTIONS_PER_ADDRESS=0 CHATNODE_LOG_LEVEL=warn
  "$bin" --config "$config" --web-root "$root/web" --node a --listen 127.0.0.1:9311 \
    --redis redis://127.0.0.1:7300 >/dev/null &
  local p1=$!
  "$bin" --config "$config" --web-root "$root/web" --node b --listen 127.0.0.1:9312 \
    --redis redis://127.0.0.1:7300 >/dev/null &
  local p2=$!
  pids+=("$p1" "$p2")
  for _ in $(seq 100); do
    curl -fs http://127.0.0.1:9311/readyz >/dev/null 2>&1 && curl -fs http://127.0.0.1:9312/readyz >/dev/null 2>&1 && break
    sleep 0.1
  done
  # shellcheck disable=SC2086 # LOAD is several arguments
  "$bench" fanout --url ws://127.0.0.1:9311/ws,ws://127.0.0.1:9312/ws $load \
    --size 100 --duration 8 --warmup 2 --pids "$p1,$p2" --redis-pids "$rp" \
    --json "$out/$name.json" >/dev/null 2>"$out/$name.err" || true
  cleanup
  pids=()
  rm -rf "$work"
  sleep 0.5
}

for i in $(seq "$pairs"); do run "a$i" "$a"; run "b$i" "$b"; done

python3 - "$out" "$pairs" <<'PY'
import json, os, statistics, sys
out, pairs = sys.argv[1], int(sys.argv[2])
load = lambda n: json.load(open(os.path.join(out, f"{n}.json")))
figures = [("node CPU us per delivery", lambda r: r["server_cpu_us_per_delivery"]),
           ("Redis CPU seconds", lambda r: sum(r["redis_cpu_seconds"])),
           ("latency p50 ms", lambda r: r["latency_ms_p50"]),
           ("latency p99 ms", lambda r: r["latency_ms_p99"])]
for label, f in figures:
    ratios = [f(load(f"b{i}")) / f(load(f"a{i}")) for i in range(1, pairs + 1)]
    print(f"{label}: B/A per pair {[round(x, 2) for x in ratios]}, median {statistics.median(ratios):.2f}")
print("lost:", [load(f"{s}{i}")["lost"] for i in range(1, pairs + 1) for s in "ab"])
PY
