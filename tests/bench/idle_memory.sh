#!/usr/bin/env bash
# Heap per idle joined connection, and where it goes. One node on the
# embedded bus runs under heaptrack twice, with CLIENTS and with twice as
# many clients connected and joined (`chatbench fanout --senders 0`: nobody
# sends) to ROOMS rooms, or to as many rooms as clients. Once the node has
# written nothing for six seconds (presence has settled, and the timeouts of
# the joins' requests to the bus, 5 s, have fired) it is killed, so
# that what heaptrack saw allocated then is the idle state, not the joins'
# peak. The difference between the two runs, per added connection, is what
# one idle joined connection costs, without the node's start-up. The
# allocation sites are grouped by the first frame in chatnode's, Beast's,
# Asio's or CAF's code above the allocator, and listed per connection.
#
#   tests/bench/idle_memory.sh [CLIENTS] [ROOMS]     (default 5000 CLIENTS)
#
# Needs build/chatnode, build/tests/bench/chatbench and heaptrack
# (apt-get install heaptrack).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
clients=${1:-5000}
rooms=${2:-}
chatnode=${CHATNODE_BIN:-$root/build/chatnode}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
command -v heaptrack >/dev/null || { echo "needs heaptrack: apt-get install heaptrack" >&2; exit 1; }

wait_http() { for _ in $(seq 100); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "no answer from $1" >&2; return 1; }

run() { # clients -> $out/peak-N.stacks
  local n=$1 port=9501
  CHATNODE_LIMITS_MAX_CONNECTIONS=100000 CHATNODE_LIMITS_MAX_CONNECTIONS_PER_ADDRESS=0 CHATNODE_LOG_LEVEL=warn \
    heaptrack -o "$out/run-$n" "$chatnode" --config "$root/config/node.toml" --web-root "$root/web" \
    --node m --listen 127.0.0.1:$port >/dev/null 2>&1 &
  local tracer=$!
  wait_http http://127.0.0.1:$port/readyz
  "$root/build/tests/bench/chatbench" fanout --url ws://127.0.0.1:$port/ws --clients "$n" --rooms "${rooms:-$n}" \
    --senders 0 --duration 60 --warmup 1 >/dev/null 2>&1 &
  local bench=$!
  # Quiet: every client connected, and no event written for six seconds.
  local metric last=-1 quiet=0
  for _ in $(seq 600); do
    metric=$(curl -fs http://127.0.0.1:$port/metrics)
    local conns events
    conns=$(awk '/^chatnode_connections / {print $2}' <<<"$metric")
    events=$(awk '/^chatnode_messages_out_total / {print $2}' <<<"$metric")
    if [[ $conns == "$n" && $events == "$last" ]]; then quiet=$((quiet + 1)); else quiet=0; fi
    last=$events
    ((quiet >= 30)) && break
    sleep 0.2
  done
  ((quiet >= 30)) || { echo "the node did not go quiet with $n clients" >&2; exit 1; }
  pkill -KILL -f -- "--node m --listen 127.0.0.1:$port" || true
  { wait "$tracer" || true; } 2>/dev/null # bash's "Killed" notice
  kill "$bench" 2>/dev/null || true
  wait "$bench" 2>/dev/null || true
  heaptrack_print -f "$out/run-$n.zst" --flamegraph-cost-type leaked -F "$out/peak-$n.stacks" >/dev/null 2>&1
}

run "$clients"
run $((clients * 2))
python3 - "$out/peak-$clients.stacks" "$out/peak-$((clients * 2)).stacks" "$clients" "${rooms:-per client}" <<'PY'
import collections, re, sys

ours = re.compile(r'chatnode::|boost::beast::|boost::asio::|caf::')
alloc = re.compile(r'operator new|malloc|realloc|calloc|allocate|__gnu_cxx|std::_|std::allocator|'
                   r'make_shared|allocate_shared|_M_|basic_string|vector<|construct')

def site(stack):
    frames = stack.split(';')
    # flamegraph stacks run from the outermost frame to the allocation
    for frame in reversed(frames):
        frame = frame.replace('(anonymous namespace)', '')
        head = re.sub(r'<[^<>]*(<[^<>]*>[^<>]*)*>', '<>', frame.split('(')[0])
        if ours.search(head) and not alloc.search(head):
            return head[:110]
    return '(elsewhere)'

def read(path):
    total, by = 0, collections.Counter()
    for line in open(path):
        stack, _, cost = line.rstrip('\n').rpartition(' ')
        if not cost.isdigit():
            continue
        total += int(cost)
        by[site(stack)] += int(cost)
    return total, by

small, big = read(sys.argv[1]), read(sys.argv[2])
n = int(sys.argv[3])
per = (big[0] - small[0]) / n
print(f"heap when idle: {small[0] / 1e6:.1f} MB with {n} clients, {big[0] / 1e6:.1f} MB with {2 * n} "
      f"(rooms: {sys.argv[4]}): {per:.0f} bytes per idle joined connection")
rows = sorted(((big[1][k] - small[1].get(k, 0)) / n, k) for k in big[1])
for cost, k in reversed(rows):
    if cost >= 16:
        print(f"  {cost:7.0f}  {k}")
PY
