// Many connections on one machine: CLIENTS clients over NODES chatnode
// processes on one redis-server, every client joined to one room. A process
// may hold at most 20,000 descriptors here, so the clients come from NODES
// chatbench processes too (`chatbench storm`), each on its own 127.0.0.x
// source address so that ephemeral ports do not run out, each connecting to
// its own node. Prints:
//   - the connect rate (connections upgraded per second over all processes)
//     and connect-to-joined p50/p99;
//   - the nodes' memory per joined connection (RSS once joined and after the
//     idle period, less RSS before);
//   - CPU while everyone sits idle for IDLE seconds (pings go out after half
//     of `idle_timeout_seconds`, 30 s by default, and presence heartbeats
//     run), for the nodes and for Redis;
//   - one message to the room: the time until the last of the CLIENTS has
//     it, from the sender's clock stamp (one clock: all on one machine).
//
//   CHATNODE_BIN=build/chatnode node tests/bench/crowd.mjs [CLIENTS] [NODES] [IDLE]
//
// Defaults: 100000 clients, 6 nodes, 65 s idle. CROWD_RATE: connects per
// second over all processes (default 1500; each client joins as soon as it
// is connected); CROWD_BATCH_MS: the room's presence batch interval (default
// 500, the node's own default). CHATBENCH_BIN names
// chatbench (default: build/tests/bench/chatbench).

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Node, Redis, sourceDir } from '../system/lib.mjs';

const clients = Number(process.argv[2] ?? 100000);
const nodeCount = Number(process.argv[3] ?? 6);
const idleSeconds = Number(process.argv[4] ?? 65);
const chatbench = process.env.CHATBENCH_BIN ?? path.join(sourceDir, 'build/tests/bench/chatbench');
// Clients connect (and join) at most this many a second over all processes.
const rate = Number(process.env.CROWD_RATE ?? 1500);
// Presence batches in the room: every member hears the count change once a
// batch, so a room being filled writes to all of its members each interval.
const batchMs = process.env.CROWD_BATCH_MS ?? '500';

const ticks = 100; // USER_HZ
const cpuSeconds = (pid) => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / ticks;
};
const rssBytes = (pid) => {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
};
const sum = (xs) => xs.reduce((a, b) => a + b, 0);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** One chatbench process: its output by line, and a way to wait for one. */
class Bench {
  constructor(args) {
    this.lines = [];
    this.waiters = [];
    this.child = spawn(chatbench, args, { stdio: ['pipe', 'pipe', 'inherit'] });
    let partial = '';
    this.child.stdout.on('data', (d) => {
      partial += d;
      const parts = partial.split('\n');
      partial = parts.pop();
      this.lines.push(...parts);
      this.waiters = this.waiters.filter((w) => !w());
    });
    this.exited = new Promise((resolve) => this.child.on('exit', resolve));
  }

  /** The line that `match` finds among the first `after` on, within `seconds`. */
  line(match, { after = 0, seconds = 600 } = {}) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`chatbench: no "${match}" within ${seconds} s`)), seconds * 1000);
      const check = () => {
        const found = this.lines.slice(after).find((l) => l.startsWith(match));
        if (found === undefined) return false;
        clearTimeout(timer);
        resolve(found);
        return true;
      };
      if (!check()) this.waiters.push(check);
    });
  }
}

const redis = await new Redis().start();
const env = { CHATNODE_LIMITS_MAX_CONNECTIONS_PER_ADDRESS: '0', CHATNODE_LIMITS_MAX_CONNECTIONS: '100000',
  CHATNODE_LOG_LEVEL: 'warn', CHATNODE_PRESENCE_BATCH_MS: batchMs };
const nodes = [];
const benches = [];
try {
  for (let i = 0; i < nodeCount; i++) nodes.push(await new Node(`c${i}`, redis.url, env).start());
  const pids = nodes.map((n) => n.child.pid);
  const rssBefore = sum(pids.map(rssBytes));
  const cpuStart = sum(pids.map(cpuSeconds));
  const redisStart = cpuSeconds(redis.child.pid);
  const started = Date.now();
  let first = 0;
  for (let i = 0; i < nodeCount; i++) {
    const share = Math.floor(clients / nodeCount) + (i < clients % nodeCount ? 1 : 0);
    benches.push(new Bench(['storm', '--url', `ws://127.0.0.1:${nodes[i].port}/ws`, '--clients', String(share),
      '--first', String(first), '--senders', i === 0 ? '1' : '0', '--threads', '1',
      '--connect-rate', String(rate / nodeCount),
      '--sources', `127.0.0.${i + 2}`, '--pids', String(pids[i])]));
    first += share;
  }
  await Promise.all(benches.map((b) => b.line('settled')));
  const settledSeconds = (Date.now() - started) / 1000;
  const nodeJoinCpu = sum(pids.map(cpuSeconds)) - cpuStart;
  const redisJoinCpu = cpuSeconds(redis.child.pid) - redisStart;
  const rssAfter = sum(pids.map(rssBytes));
  const benchRss = sum(benches.map((b) => rssBytes(b.child.pid)));

  // Idle: nothing is sent; pings and heartbeats go on.
  const cpuBefore = pids.map(cpuSeconds);
  const redisBefore = cpuSeconds(redis.child.pid);
  await sleep(idleSeconds * 1000);
  const nodeIdle = sum(pids.map(cpuSeconds)) - sum(cpuBefore);
  const redisIdle = cpuSeconds(redis.child.pid) - redisBefore;
  const rssIdle = sum(pids.map(rssBytes));

  // One message to everyone.
  for (const b of benches) b.child.stdin.write('broadcast\n');
  const rounds = await Promise.all(benches.map(async (b) => JSON.parse((await b.line('broadcast ')).slice(10))));
  for (const b of benches) b.child.stdin.end();
  await Promise.all(benches.map((b) => b.exited));
  const results = benches.map((b) => JSON.parse(b.lines.filter((l) => l.startsWith('{')).at(-1)));

  const connected = sum(results.map((r) => r.connected));
  const joined = sum(results.map((r) => r.joined));
  const connectSeconds = Math.max(...results.map((r) => r.connect_seconds));
  const joinedSeconds = Math.max(...results.map((r) => r.all_joined_seconds));
  const closed = sum(results.map((r) => r.closed));
  const retries = sum(results.map((r) => r.join_retries));
  const received = sum(rounds.map((r) => r.received));
  const lastMs = Math.max(...rounds.map((r) => r.last_ms));
  const mib = (b) => (b / 1048576).toFixed(0);
  console.log(`crowd: ${clients} clients over ${nodeCount} nodes and ${nodeCount} client processes, one room; ` +
    `connecting at most ${rate}/s, presence batches every ${batchMs} ms`);
  console.log(`  connected ${connected} in ${connectSeconds.toFixed(1)} s (${(connected / connectSeconds).toFixed(0)}/s); ` +
    `joined ${joined} in ${joinedSeconds.toFixed(1)} s; settled after ${settledSeconds.toFixed(1)} s; ${closed} closed; ` +
    `${retries} joins tried again after "join again later"`);
  console.log(`  connect p99 per process: ${results.map((r) => r.connect_ms_p99.toFixed(0)).join(', ')} ms; ` +
    `connect to joined p99: ${results.map((r) => r.joined_ms_p99.toFixed(0)).join(', ')} ms`);
  console.log(`  CPU until settled: nodes ${nodeJoinCpu.toFixed(1)} s, redis ${redisJoinCpu.toFixed(1)} s`);
  const perJoined = (rss) => ((rss - rssBefore) / Math.max(1, joined)).toFixed(0);
  console.log(`  node memory: ${mib(rssBefore)} MiB before, ${mib(rssAfter)} MiB joined, ${mib(rssIdle)} MiB after the idle ` +
    `period: ${perJoined(rssAfter)} then ${perJoined(rssIdle)} bytes per joined connection ` +
    `(the clients' processes: ${mib(benchRss)} MiB)`);
  console.log(`  idle ${idleSeconds} s: nodes ${nodeIdle.toFixed(2)} CPU-s (${(100 * nodeIdle / idleSeconds).toFixed(1)}% of a core), ` +
    `redis ${redisIdle.toFixed(2)} CPU-s`);
  console.log(`  one message to the room: ${received} of ${joined} have it, the last after ${lastMs.toFixed(0)} ms ` +
    `(per process: ${rounds.map((r) => r.last_ms.toFixed(0)).join(', ')} ms)`);
} finally {
  for (const b of benches) b.child.kill();
  for (const n of nodes) await n.stop().catch(() => n.kill());
  await redis.destroy();
}
