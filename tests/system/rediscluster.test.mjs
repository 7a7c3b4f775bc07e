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
const killedMasters = [];

before(async () => {
  cluster = await new RedisCluster({ masters: 3, replicas: 1 }).start();
  for (const name of ['c1', 'c2', 'c3']) nodes.push(await new Node(name, cluster.url, env).start());
  await waitFor(async () => (await Promise.all(nodes.map((n) => n.ready()))).every(Boolean), 'nodes ready', 20000);
});

after(async () => {
  // Every process is ended even when one node's exit fails the suite.
  const failures = [];
  for (const n of nodes) await n.stop().catch((e) => failures.push(e));
  await cluster?.destroy();
  if (failures.length) throw failures[0];
});

/** Room names until every master owns at least `perMaster` of them. */
const roomsOnEveryMaster = (perMaster, prefix) => cluster.roomsOnEveryMaster(perMaster, prefix);

test('rooms on every shard, senders on every node: each member gets every message once, in one order per room', async (t) => {
  const byMaster = roomsOnEveryMaster(2, 'spread');
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
  const room = [...roomsOnEveryMaster(1, 'presence').values()][1][0];
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

/** Sends numbered messages with cids at a steady pace and sends again, with
 *  the same cid, what was answered `unavailable` or not at all. */
class Sender {
  constructor(client, room) { this.client = client; this.room = room; this.texts = new Map(); this.n = 0; }
  start(perSecond) {
    this.timer = setInterval(() => {
      const cid = `k${this.n++}`;
      this.texts.set(cid, `text ${cid}`);
      this.client.send({ type: 'send', room: this.room, text: this.texts.get(cid), cid });
    }, 1000 / perSecond);
    this.timer.unref(); // a test that fails before settle() must still end
  }
  acked() { return new Set(this.client.events.filter((e) => e.type === 'message' && e.room === this.room && e.cid).map((e) => e.cid)); }
  refused() { return this.client.events.filter((e) => e.type === 'error' && e.cid).length; }
  async settle() {
    clearInterval(this.timer);
    await waitFor(() => {
      const acked = this.acked();
      for (const [cid, text] of this.texts) if (!acked.has(cid)) this.client.send({ type: 'send', room: this.room, text, cid });
      return acked.size === this.texts.size;
    }, 'every send acknowledged', 30000);
  }
}

test('a room\'s slot moved to another master under traffic: nothing lost, duplicated or reordered', async (t) => {
  const room = [...roomsOnEveryMaster(1, 'moved').values()][0][0];
  const key = `chatnode:{${room}}:log`;
  const slot = cluster.slotOf(key);
  const from = cluster.masterOf(key).port;
  const to = cluster.masters().find((m) => m.port !== from).port;
  const receivers = [];
  for (const node of nodes) {
    const c = await new Client(node, `m-${node.name}`).connect();
    await c.join(room);
    receivers.push(c);
  }
  const s = await new Client(nodes[0], 'mover').connect();
  await s.join(room);
  const sender = new Sender(s, room);
  sender.start(100);
  await waitFor(() => sender.acked().size > 50, 'traffic before the move');
  const started = Date.now();
  await cluster.migrateSlot(slot, from, to, 20);
  const moveMs = Date.now() - started;
  await waitFor(() => cluster.masterOf(key).port === to, 'the slot to be served by its new master');
  const ackedAtMove = sender.acked().size;
  await waitFor(() => sender.acked().size > ackedAtMove + 50, 'traffic after the move', 15000);
  await sender.settle();
  const acked = sender.acked();
  const has = (c, r, cids) => { const got = new Set(c.messages(r).map((m) => m.cid)); return [...cids].every((x) => got.has(x)); };
  await waitFor(() => receivers.every((r) => has(r, room, acked)), 'receivers to have every acknowledged message', 15000).catch(() => {});
  for (const r of receivers) {
    const a = audit(r.ids(room));
    const got = new Set(r.messages(room).map((m) => m.cid));
    const lost = [...acked].filter((cid) => !got.has(cid)).length;
    t.diagnostic(`${r.name}: sent ${sender.texts.size} (${sender.refused()} refused during the move, sent again), acknowledged ${acked.size}, ` +
      `delivered ${a.count}, lost ${lost}, duplicated ${a.duplicates}, out of order ${a.outOfOrder}`);
    assert.equal(lost, 0, `${r.name} lost messages`);
    assert.equal(a.duplicates, 0, `${r.name} got duplicates`);
    assert.equal(a.outOfOrder, 0, `${r.name} got messages out of order`);
  }
  const metrics = await Promise.all(nodes.map((n) => n.metrics()));
  t.diagnostic(`slot ${slot} moved from :${from} to :${to} in ${moveMs} ms; messages read back from the stream per node: ` +
    metrics.map((m) => m.chatnode_redis_replayed_total ?? 0).join(', '));
  for (const c of [...receivers, s]) c.close();
});

/** Waits until a node stays ready (200) while /readyz and /metrics name the
 *  master on `port` as unreachable; returns the /readyz body. */
function shardNamedDown(node, port) {
  return waitFor(async () => {
    const r = await fetch(`http://127.0.0.1:${node.port}/readyz`, { signal: AbortSignal.timeout(5000) });
    const body = await r.text();
    const m = await node.metrics();
    return r.status === 200 && body.includes(`127.0.0.1:${port}`) &&
      m[`chatnode_redis_shard_up{master="127.0.0.1:${port}"}`] === 0 ? body.trim() : null;
  }, `readiness and metrics to name the shard of :${port} as unreachable`, 10000);
}

/** A receiver on each of `on` nodes in every room, and in every room a
 *  sender on `senderNode` sending `rate` messages a second. */
async function traffic(on, rooms, senderNode, tag, rate) {
  const receivers = [];
  for (const node of on)
    for (const r of rooms) {
      const c = await new Client(node, `${tag}-${node.name}`).connect();
      await c.join(r);
      receivers.push({ c, room: r });
    }
  const senders = [];
  for (const r of rooms) {
    const s = await new Client(senderNode, `${tag}s-${r}`).connect();
    await s.join(r);
    const sender = new Sender(s, r);
    sender.start(rate);
    senders.push(sender);
  }
  return { receivers, senders };
}

/** Settles every sender, waits for the receivers to have what was
 *  acknowledged, and says per receiver what it got and what history (read
 *  from the room's master now) lacks of it; returns the totals. */
async function auditTraffic(t, { receivers, senders }, label) {
  for (const x of senders) await x.settle();
  const has = (c, r, cids) => { const got = new Set(c.messages(r).map((m) => m.cid)); return [...cids].every((x) => got.has(x)); };
  const totals = { lost: 0, missing: 0, duplicated: 0, outOfOrder: 0 };
  for (const x of senders) {
    const acked = x.acked();
    const rs = receivers.filter((r) => r.room === x.room);
    await waitFor(() => rs.every(({ c }) => has(c, x.room, acked)), `receivers of ${x.room} to have every acknowledged message`, 20000)
      .catch(() => {}); // the audit below says what is missing
    const history = new Set(cluster.cli(cluster.masterOf(`chatnode:{${x.room}}:log`).port, 'XRANGE', `chatnode:{${x.room}}:log`, '-', '+')
      .split('\n').filter((l) => /^\d+-\d+$/.test(l)));
    for (const { c } of rs) {
      const a = audit(c.ids(x.room));
      const got = new Set(c.messages(x.room).map((m) => m.cid));
      const lost = [...acked].filter((cid) => !got.has(cid)).length;
      const missing = c.ids(x.room).filter((id) => !history.has(id)).length;
      t.diagnostic(`${label(x.room)} ${c.name}: sent ${x.texts.size} (${x.refused()} refused, sent again), ` +
        `acknowledged ${acked.size}, delivered ${a.count}, lost ${lost}, shown but missing from history ${missing}, ` +
        `duplicated ${a.duplicates}, out of order ${a.outOfOrder}`);
      totals.lost += lost; totals.missing += missing; totals.duplicated += a.duplicates; totals.outOfOrder += a.outOfOrder;
    }
  }
  return totals;
}

/** Kills the master of one room's shard under traffic in it and in a room
 *  of another shard, with receivers on each of `on` nodes; audits every
 *  receiver against what was acknowledged and what history holds after. */
async function failover(t, on, avoid, prefix) {
  const byMaster = roomsOnEveryMaster(1, prefix);
  const [[victimPort, [room]], [, [calm]]] = [...byMaster.entries()].filter(([port]) => !avoid.includes(port));
  const key = `chatnode:{${room}}:log`;
  const load = await traffic(on, [room, calm], on[1], 'f', 100);
  const { receivers, senders } = load;
  await waitFor(() => senders.every((x) => x.acked().size > 50), 'traffic before the kill');
  const ackedBefore = senders[0].acked().size;
  const calmRefusedBefore = senders[1].refused();
  await cluster.kill(victimPort);
  killedMasters.push(victimPort);
  const killed = Date.now();
  // The room's sends are refused until the replica is promoted and found;
  // meanwhile the nodes stay ready and say which shard they cannot reach.
  await waitFor(() => senders[0].refused() > 0, 'the shard\'s sends to be refused', 10000);
  const said = await shardNamedDown(on[2], victimPort);
  t.diagnostic(`while the shard had no master: /readyz 200 "${said}"`);
  await waitFor(() => { const m = cluster.masterOf(key); return m && m.port !== victimPort; }, 'a replica promoted', 20000);
  const promotedAfter = Date.now() - killed;
  // The killed server comes back, as a supervisor would start it again, and
  // joins as its old replica's replica: with wait_replicas the shard takes
  // sends again only once a replica is back.
  await cluster.restart(victimPort);
  await waitFor(() => senders[0].acked().size > ackedBefore + 20, 'the room to accept sends again', 20000);
  // The first send acknowledged after the kill tells when the room came back.
  const firstBack = senders[0].client.events.find((e, i) => e.type === 'message' && e.cid &&
    senders[0].client.events.indexOf(e) === i && e.ts >= killed);
  const recoveryMs = (firstBack?.ts ?? Date.now()) - killed;
  const ready = await Promise.all(on.map((n) => n.ready()));
  const totals = await auditTraffic(t, load, (r) => (r === room ? 'failed-over' : 'other shard'));
  t.diagnostic(`master :${victimPort} SIGKILLed: a replica was promoted after ${promotedAfter} ms, its room accepted sends again after ${recoveryMs} ms; ` +
    `the other shard's room was refused ${senders[1].refused() - calmRefusedBefore} sends meanwhile; nodes ready throughout: ${ready.join(',')}`);
  const calmErrors = senders[1].client.events.filter((e) => e.type === 'error' && e.cid).slice(calmRefusedBefore);
  for (const { c } of receivers) c.close();
  for (const x of senders) x.client.close();
  return { ...totals, calmErrors, ready, newMaster: cluster.masterOf(key).port };
}

let promoted = [];

test('a master SIGKILLed under traffic: its replica takes over, its rooms recover with no gap, other shards go on', async (t) => {
  const r = await failover(t, nodes, [], 'failover');
  promoted.push(r.newMaster);
  assert.equal(r.lost, 0, 'acknowledged messages lost');
  assert.equal(r.duplicated, 0);
  assert.equal(r.outOfOrder, 0);
  // Without wait_replicas a message can be shown and then lost with its
  // master: counted above, not asserted (see the next test).
  assert.equal(r.calmErrors.length, 0, `a room on another shard was not disturbed: ${JSON.stringify(r.calmErrors.slice(0, 3))}`);
  assert.ok(r.ready.every(Boolean), 'nodes stay ready while other shards answer');
});

test('with wait_replicas = 1, a master SIGKILLed under traffic: nothing shown is missing from history afterwards', async (t) => {
  // Nodes that publish and acknowledge a message only once a replica has it.
  const waiting = [];
  try {
    for (const name of ['w1', 'w2', 'w3'])
      waiting.push(await new Node(name, cluster.url, { ...env, CHATNODE_REDIS_WAIT_REPLICAS: '1' }).start());
    await waitFor(async () => (await Promise.all(waiting.map((n) => n.ready()))).every(Boolean), 'nodes ready', 20000);
    const waits = () => cluster.masters().reduce((n, m) => n + (cluster.commandCalls(m.port).wait ?? 0), 0);
    const waitsBefore = waits();

    // Senders on every node in one room: messages reach the replicas in
    // stream order but may be published out of it; every node still hands
    // them on once each, in the stream's order.
    const room = [...roomsOnEveryMaster(1, 'ordered').values()][0][0];
    const receivers = [];
    for (const node of waiting) {
      const c = await new Client(node, `o-${node.name}`).connect();
      await c.join(room);
      receivers.push(c);
    }
    const senders = [];
    for (const node of waiting) {
      const c = await new Client(node, `os-${node.name}`).connect();
      await c.join(room);
      senders.push(c);
    }
    const perSender = 100;
    for (let k = 0; k < perSender; k++) for (const c of senders) c.send({ type: 'send', room, text: `m${k}`, cid: `c${k}` });
    const total = perSender * senders.length;
    await waitFor(() => receivers.every((c) => c.ids(room).length >= total), 'every receiver to have every message', 20000);
    const history = cluster.cli(cluster.masterOf(`chatnode:{${room}}:log`).port, 'XRANGE', `chatnode:{${room}}:log`, '-', '+')
      .split('\n').filter((l) => /^\d+-\d+$/.test(l));
    for (const c of receivers) {
      const a = audit(c.ids(room));
      t.diagnostic(`${c.name}: sent ${total} from ${senders.length} nodes at once, delivered ${a.count}, duplicated ${a.duplicates}, out of order ${a.outOfOrder}`);
      assert.deepEqual(c.ids(room), history, `${c.name}: every message once, in the stream's order`);
    }
    const replayed = (await Promise.all(waiting.map((n) => n.metrics()))).map((m) => m.chatnode_redis_replayed_total ?? 0);
    t.diagnostic(`messages read from the stream because one was published ahead of them, per node: ${replayed.join(', ')}; ` +
      `WAIT calls on the masters: ${waits() - waitsBefore}`);
    assert.ok(waits() - waitsBefore > 0, 'the nodes waited for replicas');
    for (const c of [...receivers, ...senders]) c.close();

    // A shard whose replica is in sync: not the one just failed over.
    const r = await failover(t, waiting, [...killedMasters, ...promoted], 'durable');
    assert.equal(r.lost, 0, 'acknowledged messages lost');
    assert.equal(r.missing, 0, 'messages shown but missing from history');
    assert.equal(r.duplicated, 0);
    assert.equal(r.outOfOrder, 0);
    assert.equal(r.calmErrors.length, 0, `a room on another shard was not disturbed: ${JSON.stringify(r.calmErrors.slice(0, 3))}`);
  } finally {
    for (const n of waiting) await n.stop();
  }
});

test('a whole shard down, master and replica: its rooms answer unavailable, the others chat on, and it comes back with no gap', async (t) => {
  const byMaster = [...roomsOnEveryMaster(1, 'down').entries()];
  // A shard with a replica, one not failed over in this suite if there is
  // one (its replica is in sync). A master restarted by an earlier test
  // shows as a replica only once it has attached: wait for one.
  const untouched = ([port]) => !killedMasters.includes(port) && !promoted.includes(port);
  let shard;
  await waitFor(() => {
    const withReplica = byMaster.filter(([port]) => cluster.replicasOf(port).length > 0);
    shard = withReplica.find(untouched) ?? withReplica[0];
    return shard !== undefined;
  }, 'a shard with a replica', 20000);
  const [masterPort, [room]] = shard;
  const [, [calm]] = byMaster.find(([port]) => port !== masterPort);
  const replicaPorts = cluster.replicasOf(masterPort);
  const load = await traffic(nodes, [room, calm], nodes[0], 'd', 50);
  const { receivers, senders } = load;
  await waitFor(() => senders.every((x) => x.acked().size > 25), 'traffic before the shard goes down');
  for (const port of [masterPort, ...replicaPorts]) { await cluster.kill(port); killedMasters.push(port); }
  const down = Date.now();
  await waitFor(() => senders[0].refused() > 0, 'the shard\'s sends to be refused', 10000);
  const calmAcked = senders[1].acked().size;
  // The outage lasts while the other room takes 100 more messages (2 s).
  await waitFor(() => senders[1].acked().size > calmAcked + 100, 'the other shard\'s room to chat on', 10000);
  const errors = senders[0].client.events.filter((e) => e.type === 'error' && e.cid).map((e) => e.code);
  assert.ok(errors.every((code) => code === 'unavailable'), `refused as unavailable: ${[...new Set(errors)]}`);
  const said = await shardNamedDown(nodes[1], masterPort);
  // A join in a room of the shard that is down fails clearly, not silently.
  const late = await new Client(nodes[2], 'late').connect();
  late.send({ type: 'join', room, name: 'late' });
  await waitFor(() => late.events.some((e) => e.type === 'error'), 'a join in the room that is down to be refused', 10000);
  const joinError = late.events.find((e) => e.type === 'error');
  assert.equal(joinError.code, 'unavailable', 'the join is refused as unavailable');
  late.close();
  const outageMs = Date.now() - down;
  for (const port of [masterPort, ...replicaPorts]) await cluster.restart(port);
  const restarted = Date.now();
  const refusedAtRestart = senders[0].acked().size;
  await waitFor(() => senders[0].acked().size > refusedAtRestart + 10, 'the room to accept sends again', 30000);
  const backMs = Date.now() - restarted;
  const totals = await auditTraffic(t, load, (r) => (r === room ? 'shard down' : 'other shard'));
  assert.equal(totals.lost, 0, 'acknowledged messages lost');
  assert.equal(totals.duplicated, 0);
  assert.equal(totals.outOfOrder, 0);
  t.diagnostic(`shard :${masterPort} (replicas ${replicaPorts.map((p) => ':' + p).join(', ')}) down ${outageMs} ms: /readyz 200 "${said}"; ` +
    `a join there: ${JSON.stringify(joinError)}; after both came back its room took sends in ${backMs} ms`);
  const calmErrors = senders[1].client.events.filter((e) => e.type === 'error' && e.cid);
  assert.equal(calmErrors.length, 0, 'a room on another shard was not disturbed');
  for (const { c } of receivers) c.close();
  for (const x of senders) x.client.close();
});

test('a node SIGKILLed and started again at once under its old name: its members leave every node in time', async (t) => {
  const room = [...roomsOnEveryMaster(1, 'again').values()][2][0];
  const a = await new Client(nodes[0], 'amy').connect();
  await a.join(room);
  const b = await new Client(nodes[1], 'bob').connect();
  await b.join(room);
  let restarted = new Node('c5', cluster.url, env);
  await restarted.start();
  const zombie = await new Client(restarted, 'zed').connect();
  await zombie.join(room);
  await waitFor(() => a.presence(room).members.includes('zed') && b.presence(room).members.includes('zed'), 'zed to join');
  restarted.kill('SIGKILL');
  const killed = Date.now();
  restarted = new Node('c5', cluster.url, env); // the same name, at once; zed does not come back
  try {
    await restarted.start();
    await waitFor(() => !a.presence(room).members.includes('zed') && !b.presence(room).members.includes('zed'),
      'zed to leave on every node', 10000);
    const leftMs = Date.now() - killed;
    const fields = cluster.cli(cluster.masterOf(`chatnode:{${room}}:members`).port, 'HKEYS', `chatnode:{${room}}:members`);
    t.diagnostic(`c5 SIGKILLed and started again under its name: zed left every node after ${leftMs} ms (ttl 2 s); ` +
      `the room's members hash now: ${JSON.stringify(fields.trim().split('\n'))}`);
    assert.ok(!fields.includes('zed'), 'the members hash holds no entry of the earlier life');
    const other = await new Client(nodes[2], 'cy').connect();
    await other.join(room);
    assert.deepEqual(other.presence(room).members, ['amy', 'bob', 'cy'], 'a new joiner is told only who is there');
    other.close();
  } finally {
    await restarted.stop();
  }
  for (const c of [a, b, zombie]) c.close();
});

test('no link to a master that stayed up was dropped as silent', () => {
  // A subscriber with no channel left answers PING with +PONG, not a
  // subscribed-mode array; taking that for silence dropped the link again
  // and again.
  for (const node of nodes) {
    const silent = (node.stderr.match(/redis_lost link="[^"]*" reason="no reply to PING[^\n]*/g) ?? [])
      .filter((line) => !killedMasters.some((port) => line.includes(`127.0.0.1:${port}`)));
    assert.deepEqual(silent, [], `${node.name} dropped live links`);
  }
});
