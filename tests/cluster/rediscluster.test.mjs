// chatnode on a Redis Cluster: real redis-server processes in cluster mode
// (3 masters, 3 replicas, made with redis-cli --cluster create), three nodes
// with [redis] mode = "cluster", real WebSocket clients. Each test reports
// what was sent, acknowledged and delivered, and what was lost, duplicated
// or reordered.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Client, Node, RedisCluster, audit, waitFor } from './lib.mjs';

const env = { CHATNODE_REDIS_MODE: 'cluster', CHATNODE_REDIS_TIMEOUT_SECONDS: '1', CHATNODE_REDIS_PRESENCE_TTL_SECONDS: '2' };
let cluster;
const nodes = [];

before(async () => {
  cluster = await new RedisCluster({ masters: 3, replicas: 1 }).start();
  for (const name of ['c1', 'c2', 'c3']) nodes.push(await new Node(name, cluster.url, env).start());
  await waitFor(async () => (await Promise.all(nodes.map((n) => n.ready()))).every(Boolean), 'nodes ready', 20000);
});

after(async () => {
  for (const n of nodes) await n.stop();
  await cluster?.destroy();
});

/** Room names until every master owns at least `perMaster` of them. */
function roomsOnEveryMaster(perMaster) {
  const masters = cluster.masters().map((m) => m.port);
  const byMaster = new Map(masters.map((p) => [p, []]));
  for (let i = 0; [...byMaster.values()].some((r) => r.length < perMaster); i++) {
    const room = `room${i}`;
    const owner = cluster.masterOf(`chatnode:{${room}}:log`);
    if (byMaster.get(owner.port).length < perMaster) byMaster.get(owner.port).push(room);
  }
  return byMaster;
}

test('rooms on every shard, senders on every node: each member gets every message once, in one order per room', async (t) => {
  const byMaster = roomsOnEveryMaster(2);
  const rooms = [...byMaster.values()].flat();
  const before = Object.fromEntries(cluster.masters().map((m) => [m.port, cluster.commandCalls(m.port)]));
  // In each room: a receiver on every node, and a sender on one of them.
  const receivers = [];
  const senders = [];
  for (const [i, room] of rooms.entries()) {
    for (const node of nodes) {
      const c = await new Client(node, `r-${node.name}`).connect();
      await c.join(room);
      receivers.push({ c, room });
    }
    const s = await new Client(nodes[i % nodes.length], `s${i}`).connect();
    await s.join(room);
    senders.push({ s, room });
  }
  const perSender = 60;
  for (let k = 0; k < perSender; k++)
    for (const { s, room } of senders) s.send({ type: 'send', room, text: `m${k}`, cid: `c${k}` });
  const acked = ({ s, room }) => s.events.filter((e) => e.type === 'message' && e.room === room && e.cid && e.user === s.name).length;
  await waitFor(() => senders.every((x) => acked(x) === perSender), 'every send acknowledged', 20000);
  await waitFor(() => receivers.every(({ c, room }) => c.ids(room).length >= perSender), 'every receiver to have every message', 20000);

  let lost = 0, duplicated = 0, outOfOrder = 0, delivered = 0;
  for (const room of rooms) {
    const seen = receivers.filter((r) => r.room === room).map(({ c }) => c.ids(room));
    for (const ids of seen) {
      const a = audit(ids);
      delivered += a.count; duplicated += a.duplicates; outOfOrder += a.outOfOrder;
      lost += perSender - a.unique;
      assert.deepEqual(ids, seen[0], `${room}: one order on every node`);
    }
  }
  t.diagnostic(`${rooms.length} rooms over ${byMaster.size} masters, ${nodes.length} nodes: sent ${rooms.length * perSender}, ` +
    `acknowledged ${senders.reduce((n, x) => n + acked(x), 0)}, delivered ${delivered} (${receivers.length} receivers), ` +
    `lost ${lost}, duplicated ${duplicated}, out of order ${outOfOrder}`);
  assert.equal(lost, 0);
  assert.equal(duplicated, 0);
  assert.equal(outOfOrder, 0);

  // Room traffic went by sharded pub/sub to each room's own shard.
  for (const m of cluster.masters()) {
    const now = cluster.commandCalls(m.port);
    const spublish = (now.spublish ?? 0) - (before[m.port]?.spublish ?? 0);
    const publish = (now.publish ?? 0) - (before[m.port]?.publish ?? 0);
    t.diagnostic(`master :${m.port}: SPUBLISH ${spublish}, PUBLISH ${publish}, EVALSHA ${(now.evalsha ?? 0) - (before[m.port]?.evalsha ?? 0)}`);
    assert.ok(spublish >= byMaster.get(m.port).length * perSender, `master ${m.port} published its rooms' messages`);
    assert.equal(publish, 0, `master ${m.port} saw no PUBLISH`);
  }
  for (const { c } of receivers) c.close();
  for (const { s } of senders) s.close();
});

test('members and typing cross nodes on a cluster; a node killed leaves presence in time', async (t) => {
  const room = [...roomsOnEveryMaster(1).values()][1][0];
  const a = await new Client(nodes[0], 'ann').connect();
  await a.join(room);
  const b = await new Client(nodes[1], 'ben').connect();
  await b.join(room);
  await waitFor(() => a.presence(room).members.join() === 'ann,ben' && b.presence(room).members.join() === 'ann,ben',
    'both to list both');
  b.send({ type: 'typing', room });
  await waitFor(() => a.events.some((e) => e.type === 'typing' && e.user === 'ben'), 'ann to see ben typing');
  const extra = await new Node('c4', cluster.url, env).start();
  const ghost = await new Client(extra, 'ghost').connect();
  await ghost.join(room);
  await waitFor(() => a.presence(room).members.includes('ghost'), 'ghost to join');
  extra.kill('SIGKILL');
  const killed = Date.now();
  await waitFor(() => !a.presence(room).members.includes('ghost') && !b.presence(room).members.includes('ghost'),
    'ghost to leave on both nodes', 10000);
  t.diagnostic(`ghost's node SIGKILLed: its member left every node after ${Date.now() - killed} ms (ttl 2 s)`);
  for (const c of [a, b, ghost]) c.close();
});
