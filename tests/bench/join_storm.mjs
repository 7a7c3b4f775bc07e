// A join storm: CLIENTS clients connect and join one room over NODES nodes
// on one redis-server as fast as they connect (what a big room sees after a
// node drains and its clients come back). Prints, from connect to `joined`,
// p50 and p99; the presence frames (`presence` events and big rooms'
// `presence_diff` batches) and their bytes per join; the bytes of `joined`
// per join and the members the last one listed; and Redis commands
// per join (INFO commandstats before and after; the calls a script makes
// count too, so the commonest are listed).
//
//   CHATNODE_BIN=build/chatnode node tests/bench/join_storm.mjs [CLIENTS] [NODES]
//
// Run with a raised descriptor limit (ulimit -n 65536) for thousands of clients.

import { execFileSync } from 'node:child_process';
import { Node, Redis } from '../cluster/lib.mjs';

// The WebSocket client the cluster suites install (tests/cluster/node_modules).
const { default: WebSocket } = await import(new URL('../cluster/node_modules/ws/wrapper.mjs', import.meta.url));

const clients = Number(process.argv[2] ?? 1000);
const nodeCount = Number(process.argv[3] ?? 2);
const room = 'storm';
const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];

const redis = await new Redis().start();
/** Calls per command so far (INFO commandstats). */
const commandCalls = () => {
  const stats = execFileSync('redis-cli', ['-p', String(redis.port), 'INFO', 'commandstats'], { encoding: 'utf8' });
  const calls = {};
  for (const m of stats.matchAll(/^cmdstat_([a-z|]+):calls=(\d+)/gm)) calls[m[1]] = Number(m[2]);
  return calls;
};
const commands = () => Object.values(commandCalls()).reduce((a, b) => a + b, 0);
const env = { CHATNODE_LIMITS_MAX_CONNECTIONS_PER_ADDRESS: '0', CHATNODE_LIMITS_MAX_CONNECTIONS: '100000',
  CHATNODE_LIMITS_OUTBOUND_QUEUE: '100000' };
const nodes = [];
for (let i = 0; i < nodeCount; i++) nodes.push(await new Node(`s${i}`, redis.url, env).start());

const sockets = [];
const joinedMs = [];
let presenceEvents = 0, presenceBytes = 0, batches = 0, lastMembers = 0, joinedBytes = 0;
try {
  const before = commands();
  const beforeEach = commandCalls();
  const started = Date.now();
  await Promise.all([...Array(clients).keys()].map((i) => new Promise((resolve, reject) => {
    const node = nodes[i % nodeCount];
    const t0 = Date.now();
    const ws = new WebSocket(`ws://127.0.0.1:${node.port}/ws`);
    sockets.push(ws);
    ws.on('error', reject);
    ws.on('open', () => ws.send(JSON.stringify({ type: 'join', room, name: `u${i}` })));
    ws.on('message', (data) => {
      const text = data.toString();
      const parsed = JSON.parse(text);
      for (const e of Array.isArray(parsed) ? parsed : [parsed]) {
        if (e.type === 'joined') {
          joinedMs.push(Date.now() - t0); lastMembers = e.members.length; joinedBytes += JSON.stringify(e).length; resolve();
        }
        if (e.type === 'presence' || e.type === 'presence_diff') {
          presenceEvents += 1; presenceBytes += JSON.stringify(e).length;
          if (e.type === 'presence_diff') batches += 1;
        }
      }
    });
  })));
  const allJoinedMs = Date.now() - started;
  // Presence still on its way when the last joined arrived.
  await new Promise((r) => setTimeout(r, 2000));
  const used = commands() - before;
  joinedMs.sort((a, b) => a - b);
  console.log(`join storm: ${clients} clients into one room over ${nodeCount} nodes, all joined in ${allJoinedMs} ms`);
  console.log(`  connect to joined: p50 ${percentile(joinedMs, 0.5)} ms, p99 ${percentile(joinedMs, 0.99)} ms, max ${joinedMs.at(-1)} ms`);
  console.log(`  presence frames received: ${presenceEvents} (${batches} of them batches; ` +
    `${(presenceEvents / clients).toFixed(1)} per join), ${(presenceBytes / clients / 1024).toFixed(1)} KiB per join`);
  console.log(`  joined: ${(joinedBytes / clients / 1024).toFixed(1)} KiB per join; the last listed ${lastMembers} members`);
  const after = commandCalls();
  const top = Object.entries(after).map(([name, n]) => [name, n - (beforeEach[name] ?? 0)]).filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1]).slice(0, 6).map(([name, n]) => `${name} ${(n / clients).toFixed(1)}`).join(', ');
  console.log(`  Redis commands: ${used} (${(used / clients).toFixed(1)} per join: ${top})`);
} finally {
  for (const ws of sockets) ws.terminate();
  for (const n of nodes) await n.stop().catch(() => {});
  await redis.destroy();
}
