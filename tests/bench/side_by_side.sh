#!/usr/bin/env bash
# Runs the same chatbench scenarios against two chatnode nodes, two baseline
# gochat nodes (-atomic), each pair over a fresh redis-server on this
# machine, and the floor (tests/bench/floor.cpp: one process on both ports,
# no chat logic, the same frames and coalescing), and prints every figure
# with chatnode against the baseline and each against the floor. JSON
# results go to OUT; the floor's writes and events per write to
# OUT/floor-NAME.writes.
#
#   tests/bench/side_by_side.sh [OUT]     (default build/bench)
#   SWEEP=1 tests/bench/side_by_side.sh   also sweeps the offered load in one room
#                                          and draws OUT/sweep.svg
#   CONNS=N ...                            idle connections over both nodes (default 5000)
#   ONE_NODE_CONNS=50000 ...               also this many idle connections on one node
#   KINDS="chatnode floor" ...              only these servers (default: chatnode gochat floor)
#
# Needs: build/chatnode and build/tests/bench/chatbench (deploy/build.sh --test),
# and the baseline built with ../shared/baseline/gochat/build.sh /tmp/gochat/gochat.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=${1:-$root/build/bench}
bench=$root/build/tests/bench/chatbench
floor=$root/build/tests/bench/floor
gochat=${GOCHAT:-/tmp/gochat/gochat}
kinds=${KINDS:-chatnode gochat floor}
mkdir -p "$out"
[[ -x "$bench" && -x "$root/build/chatnode" ]] || { echo "build first: deploy/build.sh --test" >&2; exit 1; }
[[ $kinds != *gochat* || -x "$gochat" ]] || { echo "build the baseline first: ../shared/baseline/gochat/build.sh $gochat" >&2; exit 1; }
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" || true
echo "open files per process: $(ulimit -n)" >&2

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

wait_http() { for _ in $(seq 100); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "no answer from $1" >&2; return 1; }

start_pair() { # kind scenario -> starts redis and two servers (the floor: one), sets servers="pid[,pid]"
  if [[ $1 == floor ]]; then
    "$floor" --listen 127.0.0.1:9301 --listen 127.0.0.1:9302 >"$out/floor-$2.writes" &
    pids+=($!)
    servers=$!
    wait_http http://127.0.0.1:9301/readyz
    return
  fi
  redis-server --port 6399 --bind 127.0.0.1 --save '' --appendonly no >/dev/null 2>&1 &
  pids+=($!)
  for _ in $(seq 50); do redis-cli -p 6399 ping >/dev/null 2>&1 && break; sleep 0.1; done
  local p1 p2
  if [[ $1 == chatnode ]]; then
    # The load comes from a few addresses, faster than any person: no per-address or rate limit.
    export CHATNODE_LIMITS_RATE_PER_SECOND=100000 CHATNODE_LIMITS_RATE_BURST=100000 \
      CHATNODE_LIMITS_OUTBOUND_QUEUE=100000 CHATNODE_LIMITS_MAX_CONNECTIONS=100000 \
      CHATNODE_LIMITS_MAX_CONNECTIONS_PER_ADDRESS=0 CHATNODE_LOG_LEVEL=warn
    "$root/build/chatnode" --config "$root/config/node.toml" --web-root "$root/web" --node a \
      --listen 127.0.0.1:9301 --redis redis://127.0.0.1:6399 >/dev/null & p1=$!
    "$root/build/chatnode" --config "$root/config/node.toml" --web-root "$root/web" --node b \
      --listen 127.0.0.1:9302 --redis redis://127.0.0.1:6399 >/dev/null & p2=$!
  else
    "$gochat" -addr 127.0.0.1:9301 -redis 127.0.0.1:6399 -node a -atomic 2>/dev/null & p1=$!
    "$gochat" -addr 127.0.0.1:9302 -redis 127.0.0.1:6399 -node b -atomic 2>/dev/null & p2=$!
  fi
  pids+=("$p1" "$p2")
  servers="$p1,$p2"
  wait_http http://127.0.0.1:9301/readyz && wait_http http://127.0.0.1:9302/readyz
}

stop_pair() { cleanup; pids=(); sleep 0.5; }
# The floor prints its writes when stopped: cleanup sends SIGTERM and waits.

urls=ws://127.0.0.1:9301/ws,ws://127.0.0.1:9302/ws
scenarios=(
  "small fanout --clients 200 --rooms 10 --senders 20 --rate 10 --size 100 --duration 8 --warmup 2"
  "room400k fanout --clients 1000 --rooms 1 --senders 40 --rate 10 --size 100 --duration 8 --warmup 2"
  "saturate fanout --clients 1000 --rooms 1 --senders 40 --rate 40 --size 100 --duration 8 --warmup 2"
  "idle conns --clients ${CONNS:-5000} --sources 127.0.0.1,127.0.0.2,127.0.0.3,127.0.0.4"
)
if [[ -n "${ONE_NODE_CONNS:-}" ]]; then
  scenarios+=("onenode conns --clients $ONE_NODE_CONNS --url ws://127.0.0.1:9301/ws --pids-first --sources 127.0.0.1,127.0.0.2,127.0.0.3,127.0.0.4")
fi
if [[ -n "${SWEEP:-}" ]]; then
  # 1,000 clients in one room, 40 senders: 40k to 6.4M deliveries/s offered.
  for rate in 1 2.5 5 10 20 40 80 160; do
    scenarios+=("sweep-${rate/./_} fanout --clients 1000 --rooms 1 --senders 40 --rate $rate --size 100 --duration 6 --warmup 1")
  done
fi

for kind in $kinds; do
  for s in "${scenarios[@]}"; do
    read -r name scenario args <<<"$s"
    [[ $kind == floor && $scenario == conns ]] && continue # the floor holds connections in a few bytes: not a server's
    start_pair "$kind" "$name"
    pids_arg=$servers
    if [[ $args == *--pids-first* ]]; then # one node: only its process is measured
      args=${args/--pids-first/}
      pids_arg=${servers%%,*}
    fi
    # The scenario's own --url, if any, comes last and wins.
    # shellcheck disable=SC2086
    "$bench" "$scenario" --url "$urls" $args --pids "$pids_arg" --json "$out/$kind-$name.json" >/dev/null 2>"$out/$kind-$name.err" || true
    stop_pair
  done
done

if [[ -n "${SWEEP:-}" ]]; then
  node "$root/tests/bench/plot.mjs" "$out/sweep.svg" "$out"
fi

python3 - "$out" <<'PY'
import json, sys, os
out = sys.argv[1]
rows = [("delivered_per_second", "delivered/s", True), ("latency_ms_p50", "p50 ms", False),
        ("latency_ms_p99", "p99 ms", False), ("latency_ms_max", "max ms", False),
        ("server_cpu_us_per_delivery", "server CPU us/delivery", False),
        ("lost", "lost", False), ("duplicates", "duplicates", False), ("out_of_order", "out of order", False),
        ("connects_per_second", "connects/s", True), ("rss_per_connection_bytes", "RSS bytes/connection", False)]
print("| scenario | figure | chatnode | gochat | floor | chatnode vs gochat (better > 1) | chatnode / floor | gochat / floor |")
print("|---|---|---|---|---|---|---|---|")
names = ["small", "room400k", "saturate", "idle", "onenode"] + sorted(
    {f[len("chatnode-"):-len(".json")] for f in os.listdir(out)
     if f.startswith("chatnode-sweep-") and f.endswith(".json")},
    key=lambda n: float(n[len("sweep-"):].replace("_", ".")))
def load(kind, name):
    try:
        return json.load(open(os.path.join(out, f"{kind}-{name}.json")))
    except Exception:
        return None
fmt = lambda v: "" if v is None else f"{v:.4g}"
for name in names:
    a, b, f = load("chatnode", name), load("gochat", name), load("floor", name)
    if a is None:
        continue
    writes = None
    try:
        writes = json.loads(open(os.path.join(out, f"floor-{name}.writes")).read().strip().splitlines()[-1])
    except Exception:
        pass
    for key, label, higher in rows:
        if key not in a:
            continue
        x, y, z = a[key], (b or {}).get(key), (f or {}).get(key)
        ratio = ((x / y if higher else y / x) if x and y else float('nan')) if y is not None else None
        over = lambda v: (v / z if z else float('nan')) if v is not None and z is not None else None
        cells = [fmt(x), fmt(y), fmt(z), "" if ratio is None else f"{ratio:.2f}",
                 "" if over(x) is None else f"{over(x):.2f}", "" if over(y) is None else f"{over(y):.2f}"]
        print(f"| {name} | {label} | " + " | ".join(cells) + " |")
    if writes:
        print(f"| {name} | floor events per write | | | {writes['events_per_write']:.3g} | | | |")

# Saturation: the most either server delivered at any offered load of the sweep.
peaks = {}
for kind in ("chatnode", "gochat"):
    runs = [json.load(open(os.path.join(out, f))) for f in os.listdir(out)
            if f.startswith(f"{kind}-sweep-") and f.endswith(".json")]
    if runs:
        best = max(runs, key=lambda r: r["delivered_per_second"])
        peaks[kind] = best
if len(peaks) == 2:
    a, b = peaks["chatnode"], peaks["gochat"]
    print(f"\npeak delivered/s over the sweep: chatnode {a['delivered_per_second']:.4g} "
          f"(offered {a['offered_deliveries_per_second']:.4g}, lost {a['lost']}), gochat {b['delivered_per_second']:.4g} "
          f"(offered {b['offered_deliveries_per_second']:.4g}, lost {b['lost']}), ratio {a['delivered_per_second'] / b['delivered_per_second']:.2f}")
lossless = {}
for kind in ("chatnode", "gochat"):
    runs = [json.load(open(os.path.join(out, f))) for f in os.listdir(out)
            if f.startswith(f"{kind}-sweep-") and f.endswith(".json")]
    runs = [r for r in runs if r["lost"] == 0 and r["duplicates"] == 0 and r["out_of_order"] == 0]
    if runs:
        lossless[kind] = max(r["delivered_per_second"] for r in runs)
if len(lossless) == 2:
    print(f"peak delivered/s with nothing lost, duplicated or reordered: chatnode {lossless['chatnode']:.4g}, "
          f"gochat {lossless['gochat']:.4g}, ratio {lossless['chatnode'] / lossless['gochat']:.2f}")
PY
