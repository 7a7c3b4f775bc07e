// (1.2) Webhooks measured, in one session on one machine:
//
// 1. Deliveries a second to a local receiver (a Node.js HTTP server that
//    answers 204 at once): ROOMS rooms, one writer each, MESSAGES messages
//    each sent as fast as they are echoed; from the first send to the last
//    delivery received. On a node alone (embedded bus) and on a node over
//    a real redis-server (the cursor and lease in Redis).
// 2. What webhooks cost the chat path: the same room traffic (a writer, 9
//    readers, a window of 32 messages in flight) on a node without and with
//    webhooks, in turns (A B A B ...): messages a second, the send-to-echo
//    median and p99, and the node's CPU per message (user + system, /proc).
//
//   CHATNODE_BIN=build/chatnode node tests/bench/webhooks.mjs [ROUNDS (3)] [MESSAGES (2000)] [ROOMS (8)]

import { execFileSync } from 'node:child_process';
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { Client, Node, Redis, freePort, waitFor } from '../system/lib.mjs';

const [rounds = 3, messages = 2000, roomCount = 8] = process.argv.slice(2).map(Number);
const SECRET = 'webhook-bench-secret-0123456789';
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p99 = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.99)];
const ticks = Number(execFileSync('getconf', ['CLK_TCK']).toString());

function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / ticks;
}

let received = 0;
const receiverPort = await freePort();
const receiver = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => { received++; res.writeHead(204).end(); });
});
await new Promise((r) => receiver.listen(receiverPort, '127.0.0.1', r));
const hookEnv = { CHATNODE_WEBHOOKS_URL: `http://127.0.0.1:${receiverPort}/hooks`, CHATNODE_WEBHOOKS_SECRET: SECRET };

/** Sends `count` messages keeping `window` in flight; the send-to-echo times in ms. */
async function sendWindowed(client, room, count, window) {
  const sentAt = new Map();
  const latencies = [];
  let next = 0;
  let done = 0;
  await new Promise((resolve) => {
    const send = () => {
      const cid = `b${next++}`;
      sentAt.set(cid, performance.now());
      client.send({ type: 'send', room, text: `bench ${cid}`, cid });
    };
    client.onEvent = (e) => {
      if (e.type !== 'message' || !sentAt.has(e.cid)) return;
      latencies.push(performance.now() - sentAt.get(e.cid));
      sentAt.delete(e.cid);
      if (++done === count) resolve();
      else if (next < count) send();
    };
    for (let i = 0; i < Math.min(window, count); i++) send();
  });
  client.onEvent = null;
  return latencies;
}

async function throughput(label, redisUrl) {
  const node = await new Node(`bench-${label}`, redisUrl, hookEnv).start();
  const writers = [];
  for (let i = 0; i < roomCount; i++) {
    const c = await new Client(node, `w${i}`).connect();
    await c.join(`room${i}`);
    writers.push(c);
  }
  received = 0;
  const start = performance.now();
  await Promise.all(writers.map((c, i) => sendWindowed(c, `room${i}`, messages, 32)));
  const stored = performance.now();
  await waitFor(() => received >= roomCount * messages, 'every delivery received', 300000);
  const elapsed = (performance.now() - start) / 1000;
  const m = await node.metrics();
  console.log(`${label}: ${roomCount * messages} entries in ${roomCount} rooms stored in ${((stored - start) / 1000).toFixed(2)} s, ` +
    `all delivered in ${elapsed.toFixed(2)} s: ${(roomCount * messages / elapsed).toFixed(0)} deliveries/s ` +
    `(failed ${m['chatnode_webhook_deliveries_total{result="failed"}']})`);
  for (const c of writers) c.close();
  await node.stop();
  return roomCount * messages / elapsed;
}

async function chatPath(withHooks) {
  const node = await new Node(withHooks ? 'bench-hooks' : 'bench-plain', '', withHooks ? hookEnv : {}).start();
  const writer = await new Client(node, 'writer').connect();
  await writer.join('path');
  const readers = [];
  for (let i = 0; i < 9; i++) {
    const r = await new Client(node, `reader${i}`).connect();
    await r.join('path');
    readers.push(r);
  }
  received = 0;
  const cpu0 = cpuSeconds(node.child.pid);
  const start = performance.now();
  const latencies = await sendWindowed(writer, 'path', messages, 32);
  const seconds = (performance.now() - start) / 1000;
  if (withHooks) await waitFor(() => received >= messages, 'the deliveries', 120000);
  const cpu = cpuSeconds(node.child.pid) - cpu0;
  for (const c of [writer, ...readers]) c.close();
  await node.stop();
  return { rate: messages / seconds, p50: median(latencies), p99: p99(latencies), cpuPerMessage: cpu / messages * 1e6 };
}

console.log(`# webhooks bench: ${rounds} rounds, ${messages} messages, ${roomCount} rooms`);
const redis = await new Redis().start();
const alone = [];
const overRedis = [];
for (let i = 0; i < rounds; i++) {
  alone.push(await throughput('alone', ''));
  overRedis.push(await throughput('redis', redis.url));
}
await redis.stop();

const plain = [];
const hooked = [];
for (let i = 0; i < rounds; i++) {
  for (const withHooks of [false, true]) {
    const r = await chatPath(withHooks);
    (withHooks ? hooked : plain).push(r);
    console.log(`chat path ${withHooks ? 'with webhooks   ' : 'without webhooks'}: ${r.rate.toFixed(0)} msg/s, echo p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, node CPU ${r.cpuPerMessage.toFixed(0)} µs/message`);
  }
}
receiver.close();

const med = (rs, k) => median(rs.map((r) => r[k]));
console.log('\n# medians');
console.log(`deliveries/s: node alone ${median(alone).toFixed(0)}, over Redis ${median(overRedis).toFixed(0)}`);
for (const k of ['rate', 'p50', 'p99', 'cpuPerMessage'])
  console.log(`chat path ${k}: without ${med(plain, k).toFixed(2)}, with ${med(hooked, k).toFixed(2)}, with/without ${(med(hooked, k) / med(plain, k)).toFixed(2)}`);
