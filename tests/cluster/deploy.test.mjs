// The compose topology as processes: redis-server, three chatnode nodes and
// nginx with the very nginx.conf of deploy/. Clients connect through the
// balancer; a rolling restart (SIGTERM, then start again, one node at a time)
// under traffic loses and doubles nothing for clients that resume.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import { Balancer, Node, Redis, audit, waitFor } from './lib.mjs';

let redis, balancer;
const nodes = [];
const clients = []; // closed in after(), even when a test fails, or they reconnect forever

before(async () => {
  redis = await new Redis().start();
  for (const name of ['node1', 'node2', 'node3'])
    nodes.push(await new Node(name, redis.url, { CHATNODE_SHUTDOWN_DRAIN_SECONDS: '1' }).start());
  balancer = await new Balancer(nodes).start();
});

after(async () => {
  for (const c of clients) c.close();
  await balancer?.stop();
  for (const n of nodes) await n.stop();
  await redis.destroy();
});

/** A client through the balancer that reconnects when closed and resumes
 *  with since, as the browser client does. */
class ResumingClient {
  constructor(name, room) {
    this.name = name; this.room = room; this.ids = []; this.cids = new Set(); this.closes = [];
    this.open = true; this.reconnects = 0;
    clients.push(this);
  }
  connect() {
    // The Origin a browser on the balancer's page sends: the nodes check it.
    const ws = new WebSocket(`ws://127.0.0.1:${balancer.port}/ws`, { origin: balancer.origin });
    this.ws = ws;
    ws.on('message', (data) => {
      const parsed = JSON.parse(data.toString());
      for (const e of Array.isArray(parsed) ? parsed : [parsed]) this.handle(e);
    });
    ws.on('close', (code) => {
      this.closes.push(code);
      this.joined = false;
      if (this.open) { this.reconnects++; setTimeout(() => this.connect(), 50 + Math.random() * 200); }
    });
    ws.on('error', () => {});
  }
  handle(e) {
    if (e.type === 'welcome') {
      const since = this.ids.at(-1);
      ws_send(this.ws, { type: 'join', room: this.room, name: this.name, ...(since ? { since } : {}) });
    } else if (e.type === 'joined') {
      this.joined = true;
      for (const m of e.history) this.take(m);
      this.onJoined?.();
    } else if (e.type === 'message') {
      this.take(e);
    } else if (e.type === 'error' && e.code === 'unavailable') {
      this.onUnavailable?.(e.cid);
    }
  }
  take(m) { this.ids.push(m.id); if (m.cid) this.cids.add(m.cid); }
  close() { this.open = false; this.ws?.terminate(); }
}

function ws_send(ws, obj) { if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(obj)); }

test('rolling restart through the balancer: clients resume, nothing lost or doubled', async (t) => {
  const room = 'rolling';
  const readers = [...Array(6).keys()].map((i) => new ResumingClient(`reader${i}`, room));
  const writer = new ResumingClient('writer', room);
  for (const c of [...readers, writer]) c.connect();
  await waitFor(() => [...readers, writer].every((c) => c.joined), 'everyone joined');

  // The writer sends steadily; unacknowledged sends go again after each rejoin.
  const texts = new Map();
  let n = 0;
  const resend = () => { for (const [cid, text] of texts) if (!writer.cids.has(cid)) ws_send(writer.ws, { type: 'send', room, text, cid }); };
  writer.onJoined = resend;
  const timer = setInterval(() => {
    const cid = `w${n++}`;
    texts.set(cid, `rolling ${cid}`);
    if (writer.joined) ws_send(writer.ws, { type: 'send', room, text: texts.get(cid), cid });
  }, 10);

  for (const node of nodes) {
    await new Promise((r) => setTimeout(r, 700));
    const started = Date.now();
    await node.stop(); // SIGTERM: drain with 1012, exit 0
    const stopMs = Date.now() - started;
    t.diagnostic(`${node.name} drained and exited 0 in ${stopMs} ms`);
    await node.start();
    await waitFor(() => node.ready(), `${node.name} ready again`);
  }
  await new Promise((r) => setTimeout(r, 700));
  clearInterval(timer);
  await waitFor(() => { resend(); return writer.cids.size === texts.size; }, 'every send acknowledged', 20000);
  const acked = writer.cids.size;
  await waitFor(() => readers.every((r) => r.cids.size >= acked), 'readers to have every message', 20000);

  for (const r of readers) {
    const a = audit(r.ids);
    assert.equal(a.duplicates, 0, `${r.name} duplicates`);
    assert.equal(a.outOfOrder, 0, `${r.name} out of order`);
    assert.equal(r.cids.size, acked, `${r.name} lost messages`);
  }
  const closes = readers.flatMap((r) => r.closes);
  assert.ok(closes.includes(1012), 'drained clients were told 1012');
  t.diagnostic(`rolling restart of 3 nodes: sent ${texts.size}, acknowledged ${acked}; 6 readers each received ${readers[0].cids.size} ` +
    `(lost 0, duplicated 0, out of order 0); reconnects ${readers.reduce((s, r) => s + r.reconnects, 0)}, close codes ${[...new Set(closes)].join(',')}`);

  // /metrics through the balancer parses as Prometheus text. Right after the
  // restarts nginx may still count a node as failed for fail_timeout: retry.
  const text = await waitFor(async () => {
    const r = await fetch(`${balancer.url}metrics`).catch(() => null);
    return r?.status === 200 ? r.text() : null;
  }, 'metrics through the balancer');
  const families = new Set();
  for (const line of text.trim().split('\n')) {
    if (line.startsWith('# TYPE ')) { families.add(line.split(' ')[2]); continue; }
    if (line.startsWith('# HELP ')) continue;
    assert.match(line, /^[a-z_]+(\{[a-z_]+="[^"]*"\})? -?[0-9.e+-]+$/, `metric line: ${line}`);
  }
  for (const name of ['chatnode_connections', 'chatnode_messages_in_total', 'chatnode_messages_out_total',
    'chatnode_errors_total', 'chatnode_fanout_latency_seconds', 'chatnode_redis_up', 'chatnode_redis_rtt_seconds',
    'chatnode_slow_consumer_closes_total', 'process_resident_memory_bytes'])
    assert.ok(families.has(name), `metrics lack ${name}`);
  for (const c of [...readers, writer]) c.close();
});
