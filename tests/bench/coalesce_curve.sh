#!/usr/bin/env bash
# What write coalescing buys, measured: the same load (1,000 clients in one
# room, 40 senders at RATE messages/s each: 400,000 deliveries/s at 10) against
# the floor (tests/bench/floor.cpp) and two chatnode nodes on one Redis, at
# several coalescing windows. Prints, per window: CPU per delivery, events
# per write (per frame for chatnode), p50 and p99 latency, chatnode / floor;
# and the floor's CPU per write without coalescing (one event, one write).
#
#   tests/bench/coalesce_curve.sh [OUT]     (default build/bench/coalesce)
#   WINDOWS="0 2 10" RATE=10 DURATION=6 ...
#
# Needs: build/chatnode, build/tests/bench/chatbench and build/tests/bench/floor
# (deploy/build.sh --test).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=${1:-$root/build/bench/coalesce}
bench=$root/build/tests/bench/chatbench
floor=$root/build/tests/bench/floor
windows=${WINDOWS:-0 1 2 5 10 20}
rate=${RATE:-10}
duration=${DURATION:-6}
mkdir -p "$out"
for f in "$bench" "$floor" "$root/build/chatnode"; do [[ -x $f ]] || { echo "build first: deploy/build.sh --test" >&2; exit 1; }; done
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" || true

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; pids=(); }
trap cleanup EXIT
wait_http() { for _ in $(seq 100); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "no answer from $1" >&2; return 1; }
load() { # pids json
  "$bench" fanout --url ws://127.0.0.1:9301/ws,ws://127.0.0.1:9302/ws --clients 1000 --rooms 1 --senders 40 \
    --rate "$rate" --size 100 --duration "$duration" --warmup 1 --pids "$1" --json "$2" >/dev/null 2>"$2.err" || true
}
metric() { curl -fs "http://127.0.0.1:$1/metrics" | awk -v m="$2" '$1 == m { print $2 }'; }

for w in $windows; do
  "$floor" --listen 127.0.0.1:9301 --listen 127.0.0.1:9302 --coalesce-ms "$w" >"$out/floor-$w.writes" &
  pids+=($!)
  wait_http http://127.0.0.1:9301/readyz
  load "${pids[0]}" "$out/floor-$w.json"
  cleanup
  sleep 0.3

  redis-server --port 6399 --bind 127.0.0.1 --save '' --appendonly no >/dev/null 2>&1 &
  pids+=($!)
  for _ in $(seq 50); do redis-cli -p 6399 ping >/dev/null 2>&1 && break; sleep 0.1; done
  export CHATNODE_LIMITS_RATE_PER_SECOND=100000 CHATNODE_LIMITS_RATE_BURST=100000 \
    CHATNODE_LIMITS_OUTBOUND_QUEUE=100000 CHATNODE_LIMITS_MAX_CONNECTIONS_PER_ADDRESS=0 \
    CHATNODE_LOG_LEVEL=warn CHATNODE_NODE_WRITE_COALESCE_MS=$w
  for n in 1 2; do
    "$root/build/chatnode" --config "$root/config/node.toml" --web-root "$root/web" --node "n$n" \
      --listen "127.0.0.1:930$n" --redis redis://127.0.0.1:6399 >/dev/null &
    pids+=($!)
  done
  wait_http http://127.0.0.1:9301/readyz && wait_http http://127.0.0.1:9302/readyz
  load "${pids[1]},${pids[2]}" "$out/chatnode-$w.json"
  events=0 frames=0
  for port in 9301 9302; do
    events=$((events + $(metric "$port" chatnode_messages_out_total)))
    frames=$((frames + $(metric "$port" chatnode_frames_out_total)))
  done
  echo "{\"events\":$events,\"frames\":$frames}" >"$out/chatnode-$w.frames"
  cleanup
  sleep 0.3
done

# shellcheck disable=SC2086 # one argument per window
python3 - "$out" $windows <<'PY'
import json, sys, os
out, windows = sys.argv[1], sys.argv[2:]
def j(name):
    try:
        return json.loads(open(os.path.join(out, name)).read().strip().splitlines()[-1])
    except Exception:
        return None
print("| window (ms) | floor CPU us/delivery | floor events/write | floor p50 / p99 ms | chatnode CPU us/delivery | chatnode events/frame | chatnode p50 / p99 ms | chatnode / floor CPU |")
print("|---|---|---|---|---|---|---|---|")
notes = []
for w in windows:
    f, fw, c, cf = j(f"floor-{w}.json"), j(f"floor-{w}.writes"), j(f"chatnode-{w}.json"), j(f"chatnode-{w}.frames")
    if not f or not c:
        print(f"| {w} | missing | | | | | | |"); continue
    fc, cc = f["server_cpu_us_per_delivery"], c["server_cpu_us_per_delivery"]
    epw = fw["events_per_write"] if fw else float("nan")
    epf = cf["events"] / cf["frames"] if cf and cf["frames"] else float("nan")
    print(f"| {w} | {fc:.3g} | {epw:.3g} | {f['latency_ms_p50']:.3g} / {f['latency_ms_p99']:.3g} | {cc:.3g} | {epf:.3g} | "
          f"{c['latency_ms_p50']:.3g} / {c['latency_ms_p99']:.3g} | {cc / fc:.2f} |")
    if w == "0" and fw and fw["writes"]:
        notes.append(f"floor without coalescing: about {f['server_cpu_seconds'] / fw['writes'] * 1e6:.3g} us of CPU per write "
                     f"({fw['writes']} writes over the whole run, {f['delivered']} deliveries, lost {f['lost']})")
for n in notes:
    print("\n" + n)
PY
