// A join storm: CLIENTS clients connect and join one room over NODES nodes
// on one redis-server as fast as they connect (what a big room sees after a
// node drains and its clients come back). The clients are chatbench's
// (`chatbench storm`, C++ on its own I/O threads, so that the load generator
// is not what is measured). Prints, from connect to `joined`, p50 and p99;
// the presence events (`presence`, and big rooms' `presence_diff` batches)
// and their bytes per join; the bytes of `joined` per join; node and Redis
// CPU until the last one joined; and Redis commands per join (INFO
// commandstats before and after; the calls a script makes count too, so the
// commonest are listed).
//
//   CHATNODE_BIN=build/chatnode node tests/bench/join_storm.mjs [CLIENTS] [NODES] [drain]
//
// With `drain`, once the room has settled the first node is stopped with
// SIGTERM (a rolling restart): it closes its clients with 1012 over
// `[shutdown] drain_seconds`, and they connect to the next node and join
// again; the time from each close to its new `joined` is printed too.
//
// CHATBENCH_BIN names chatbench (default: build/tests/bench/chatbench).

import { execFileSync, spawn } from 'node:child_process';
import path from 'node:path';
import { Node, Redis, sourceDir } from '../system/lib.mjs';

const clients = Number(process.argv[2] ?? 1000);
const nodeCount = Number(process.argv[3] ?? 2);
const drain = process.argv[4] === 'drain';
const chatbench = process.env.CHATBENCH_BIN ?? path.join(sourceDir, 'build/tests/bench/chatbench');

const redis = await new Redis().start();
/** Calls per command so far (INFO commandstats). */
const commandCalls = () => {
  const stats = execFileSync('redis-cli', ['-p', String(redis.port), 'INFO', 'commandstats'], { encoding: 'utf8' });
  const calls = {};
  for (const m of stats.matchAll(/^cmdstat_([a-z|]+):calls=(\d+)/gm)) calls[m[1]] = Number(m[2]);
  return calls;
};
const env = { CHATNODE_LIMITS_MAX_CONNECTIONS_PER_ADDRESS: '0', CHATNODE_LIMITS_MAX_CONNECTIONS: '100000',
  CHATNODE_LIMITS_OUTBOUND_QUEUE: '100000' };
const nodes = [];
try {
  for (let i = 0; i < nodeCount; i++) nodes.push(await new Node(`s${i}`, redis.url, env).start());
  const before = commandCalls();
  // chatbench says "settled" while its clients are still in the room: the
  // counters are read then, before their leaves count too.
  const bench = spawn(chatbench, ['storm', '--url', nodes.map((n) => `ws://127.0.0.1:${n.port}/ws`).join(','),
    '--clients', String(clients), '--threads', '2', '--pids', nodes.map((n) => n.child.pid).join(','),
    '--redis-pids', String(redis.child.pid)], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '', after = null;
  bench.stdout.on('data', (d) => {
    out += d;
    const settled = out.split('\n').filter((l) => l === 'settled').length;
    if (settled === 1 && !after) {
      after = commandCalls();
      if (!drain) { bench.stdin.end(); return; }
      nodes[0].child.kill('SIGTERM');
      bench.stdin.write(`drain ${Math.ceil(clients / nodeCount)}\n`);
    }
    if (settled === 2) bench.stdin.end();
  });
  const status = await new Promise((resolve, reject) => { bench.on('exit', resolve); bench.on('error', reject); });
  if (status !== 0 || !after) throw new Error(`chatbench failed (exit ${status})`);
  const r = JSON.parse(out.trim().split('\n').at(-1));
  const perCommand = Object.entries(after).map(([name, n]) => [name, n - (before[name] ?? 0)]).filter(([, n]) => n > 0);
  const used = perCommand.reduce((sum, [, n]) => sum + n, 0);
  const top = perCommand.sort((a, b) => b[1] - a[1]).slice(0, 6)
    .map(([name, n]) => `${name} ${(n / clients).toFixed(1)}`).join(', ');
  console.log(`join storm: ${clients} clients into one room over ${nodeCount} nodes: ${r.joined} joined in ` +
    `${(r.all_joined_seconds * 1000).toFixed(0)} ms (${r.closed} closed, ${r.errors} errors)`);
  console.log(`  connect to joined: p50 ${r.joined_ms_p50.toFixed(0)} ms, p99 ${r.joined_ms_p99.toFixed(0)} ms, ` +
    `max ${r.joined_ms_max.toFixed(0)} ms (of which the upgrade: p50 ${r.connect_ms_p50.toFixed(0)} ms, ` +
    `p99 ${r.connect_ms_p99.toFixed(0)} ms)`);
  console.log(`  presence: ${r.presence_events_per_join.toFixed(1)} events, ` +
    `${(r.presence_bytes_per_join / 1024).toFixed(1)} KiB per join; joined ${(r.joined_bytes_per_join / 1024).toFixed(1)} KiB per join`);
  console.log(`  CPU until the last joined: nodes ${r.server_cpu_seconds.toFixed(2)} s, redis ${Number(r.redis_cpu_seconds[0]).toFixed(2)} s`);
  console.log(`  Redis commands: ${used} (${(used / clients).toFixed(1)} per join: ${top})`);
  if (drain) {
    console.log(`  drain of node s0 (SIGTERM): ${r.drained} clients closed, ${r.rejoined} joined again on the next node: ` +
      `close to joined p50 ${r.rejoined_ms_p50.toFixed(0)} ms, p99 ${r.rejoined_ms_p99.toFixed(0)} ms`);
  }
} finally {
  for (const n of nodes) await n.stop().catch(() => {});
  await redis.destroy();
}
