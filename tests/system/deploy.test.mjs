// The compose topology as processes: redis-server, three chatnode nodes and
// nginx with the very nginx.conf of deploy/. Clients connect through the
// balancer; a rolling restart (SIGTERM, then start again, one node at a time)
// under traffic loses and doubles nothing for clients that resume. Clients send
// the Origin of the balancer's page, as a browser there does.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Balancer, Node, Redis, ResumingClient, SteadyWriter, tally, waitFor } from './lib.mjs';

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

test('rolling restart through the balancer: clients resume, nothing lost or doubled', async (t) => {
  const room = 'rolling';
  const client = (name) => {
    const c = new ResumingClient(`ws://127.0.0.1:${balancer.port}/ws`, balancer.origin, name, room);
    clients.push(c);
    return c.connect();
  };
  const readers = [...Array(6).keys()].map((i) => client(`reader${i}`));
  const writer = new SteadyWriter(client('writer'));
  await waitFor(() => [...readers, writer.client].every((c) => c.joined), 'everyone joined');
  writer.start(10);

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
  await writer.settle();
  const acked = writer.client.cids.size;
  const got = await tally(writer, readers);
  for (const r of got) {
    assert.equal(r.duplicated, 0, `${r.name} duplicates`);
    assert.equal(r.outOfOrder, 0, `${r.name} out of order`);
    assert.equal(r.lost, 0, `${r.name} lost messages`);
  }
  const closes = readers.flatMap((r) => r.closes);
  assert.ok(closes.includes(1012), 'drained clients were told 1012');
  t.diagnostic(`rolling restart of 3 nodes: sent ${writer.texts.size}, acknowledged ${acked}; 6 readers each received ${readers[0].cids.size} ` +
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
  for (const c of [...readers, writer.client]) c.close();
});
