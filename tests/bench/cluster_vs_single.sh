#!/usr/bin/env bash
# The same chatbench load over 100 rooms against two chatnode nodes on one
# redis-server, then on a Redis Cluster of 3 masters and 3 replicas, then on
# that cluster with [redis] wait_replicas = 1. Prints deliveries/s, latency,
# node CPU, Redis CPU per process and Redis commands per message for each,
# with ratios against one Redis. JSON results go to OUT.
#
#   tests/bench/cluster_vs_single.sh [OUT]     (default build/bench-cluster)
#   RATE=20 SENDERS=100 CLIENTS=1000 DURATION=8 ... to change the load
#
# Needs build/chatnode and build/tests/bench/chatbench (deploy/build.sh --test).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=${1:-$root/build/bench-cluster}
bench=$root/build/tests/bench/chatbench
mkdir -p "$out"
[[ -x "$bench" && -x "$root/build/chatnode" ]] || { echo "build first: deploy/build.sh --test" >&2; exit 1; }
ulimit -n 65536 2>/dev/null || true
rate=${RATE:-20} senders=${SENDERS:-100} clients=${CLIENTS:-1000} duration=${DURATION:-8}
work=$(mktemp -d)

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap 'cleanup; rm -rf "$work"' EXIT

wait_http() { for _ in $(seq 100); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "no answer from $1" >&2; return 1; }
wait_redis() { for _ in $(seq 50); do redis-cli -p "$1" ping >/dev/null 2>&1 && return 0; sleep 0.1; done; return 1; }

redis_ports=()
start_redis() { # mode: single | cluster
  redis_ports=()
  if [[ $1 == single ]]; then
    redis-server --port 7300 --bind 127.0.0.1 --save '' --appendonly no --dir "$work" >/dev/null 2>&1 &
    pids+=($!) redis_pids=$!
    redis_ports=(7300)
    wait_redis 7300
    redis_url=redis://127.0.0.1:7300
    return
  fi
  rm -f "$work"/nodes-*.conf
  redis_pids=
  for port in 7301 7302 7303 7304 7305 7306; do
    redis-server --port $port --bind 127.0.0.1 --cluster-enabled yes --cluster-config-file "nodes-$port.conf" \
      --save '' --appendonly no --dir "$work" >/dev/null 2>&1 &
    pids+=($!) redis_pids+=${redis_pids:+,}$!
    redis_ports+=($port)
  done
  for port in "${redis_ports[@]}"; do wait_redis $port; done
  redis-cli --cluster create $(printf '127.0.0.1:%s ' "${redis_ports[@]}") --cluster-replicas 1 --cluster-yes >/dev/null
  for _ in $(seq 100); do
    ok=1
    for port in "${redis_ports[@]}"; do
      redis-cli -p $port cluster info | grep -q cluster_state:ok || ok=0
      redis-cli -p $port info replication | grep -qE 'role:master|master_link_status:up' || ok=0
    done
    ((ok)) && break
    sleep 0.2
  done
  redis_url=redis://127.0.0.1:7301,127.0.0.1:7302
}

node_commands() { # Redis commands the two nodes have sent (scripts count once)
  local total=0
  for port in 9311 9312; do
    n=$(curl -fs http://127.0.0.1:$port/metrics | sed -n 's/^chatnode_redis_commands_total \([0-9]*\)$/\1/p')
    total=$((total + ${n:-0}))
  done
  echo $total
}

commands() { # calls of every command over the Redis processes, those inside scripts too
  local total=0
  for port in "${redis_ports[@]}"; do
    n=$(redis-cli -p "$port" info commandstats | sed -n 's/^cmdstat_[^:]*:calls=\([0-9]*\).*/\1/p' | paste -sd+ | bc)
    total=$((total + ${n:-0}))
  done
  echo $total
}

run() { # name mode wait_replicas
  local name=$1 mode=$2 wait=$3
  start_redis "$mode"
  export CHATNODE_LIMITS_RATE_PER_SECOND=100000 CHATNODE_LIMITS_RATE_BURST=100000 \
    CHATNODE_LIMITS_OUTBOUND_QUEUE=100000 CHATNODE_LIMITS_MAX_CONNECTIONS=100000 \
    CHATNODE_LIMITS_MAX_CONNECTIONS_PER_ADDRESS=0 CHATNODE_LOG_LEVEL=warn \
    CHATNODE_REDIS_MODE=$mode CHATNODE_REDIS_WAIT_REPLICAS=$wait
  "$root/build/chatnode" --config "$root/config/node.toml" --web-root "$root/web" --node a \
    --listen 127.0.0.1:9311 --redis "$redis_url" >/dev/null & local p1=$!
  "$root/build/chatnode" --config "$root/config/node.toml" --web-root "$root/web" --node b \
    --listen 127.0.0.1:9312 --redis "$redis_url" >/dev/null & local p2=$!
  pids+=("$p1" "$p2")
  wait_http http://127.0.0.1:9311/readyz && wait_http http://127.0.0.1:9312/readyz
  for port in "${redis_ports[@]}"; do redis-cli -p "$port" config resetstat >/dev/null; done
  local sent_before
  sent_before=$(node_commands)
  "$bench" fanout --url ws://127.0.0.1:9311/ws,ws://127.0.0.1:9312/ws --clients "$clients" --rooms 100 \
    --senders "$senders" --rate "$rate" --size 100 --duration "$duration" --warmup 2 \
    --pids "$p1,$p2" --redis-pids "$redis_pids" --json "$out/$name.json" >/dev/null 2>"$out/$name.err" || true
  echo "{\"commands\": $(commands), \"node_commands\": $(($(node_commands) - sent_before))}" >"$out/$name.redis.json"
  cleanup
  pids=()
  sleep 0.5
}

run single single 0
run cluster cluster 0
run cluster-wait1 cluster 1

python3 - "$out" <<'PY'
import json, os, sys
out = sys.argv[1]
runs = {}
for name in ("single", "cluster", "cluster-wait1"):
    r = json.load(open(os.path.join(out, f"{name}.json")))
    r.update(json.load(open(os.path.join(out, f"{name}.redis.json"))))
    runs[name] = r
base = runs["single"]
print(f"load: {base['clients']} clients in {base['rooms']} rooms over two nodes, {base['senders']} senders x "
      f"{base['rate_per_sender']}/s ({base['offered_deliveries_per_second']:.0f} deliveries/s offered)\n")
print("| figure | one Redis | 3-shard cluster | ratio | cluster, wait_replicas = 1 | ratio |")
print("|---|---|---|---|---|---|")
def row(label, f, higher, fmt="{:.4g}"):
    x = f(base)
    cells = [fmt.format(x)]
    for name in ("cluster", "cluster-wait1"):
        y = f(runs[name])
        ratio = (y / x if higher else x / y) if x and y else float("nan")
        cells += [fmt.format(y), f"{ratio:.2f}"]
    print(f"| {label} | " + " | ".join(cells) + " |")
row("delivered/s", lambda r: r["delivered_per_second"], True, "{:,.0f}")
row("p50 ms", lambda r: r["latency_ms_p50"], False)
row("p99 ms", lambda r: r["latency_ms_p99"], False)
row("node CPU per delivery (us)", lambda r: r["server_cpu_us_per_delivery"], False)
row("Redis CPU, all processes (s)", lambda r: sum(r["redis_cpu_seconds"]), False, "{:.3f}")
row("Redis CPU per message (us)", lambda r: sum(r["redis_cpu_seconds"]) * 1e6 / max(1, r["messages_acknowledged"]), False)
row("Redis commands sent per message (a script once)", lambda r: r["node_commands"] / max(1, r["messages_acknowledged"]), False, "{:.2f}")
row("Redis commands run per message (inside scripts too)", lambda r: r["commands"] / max(1, r["messages_acknowledged"]), False, "{:.2f}")
row("lost / duplicated / reordered", lambda r: r["lost"] + r["duplicates"] + r["out_of_order"], False, "{:.0f}")
for name in ("cluster", "cluster-wait1"):
    cpu = runs[name]["redis_cpu_seconds"]
    print(f"\n{name}: Redis CPU s per process (masters and replicas, ports 7301-7306 in start order): "
          + ", ".join(f"{c:.3f}" for c in cpu))
PY
