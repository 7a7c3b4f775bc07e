// Presence counts after a node misses presence and another crashes: small
// rooms of three members, one on each of nodes A, B and C, each node and
// Redis in its own network namespace (as in partition.test.mjs):
//
//   root ──── redis      A ──── redis   (the link that is cut)
//   root ──── A, B, C    B ──── redis
//                        C ──── redis
//
// C is killed with SIGKILL and comes back, its clients joining again, while
// A is away from Redis for longer than the presence TTL: cut off (its links
// down), or stopped (SIGSTOP: its links hold, and it reads what it missed
// in order when it goes on). Redis takes A's members for gone meanwhile, so
// A hears of C's members coming back with a count that leaves its own out,
// before its own return, which it tells nobody about itself. Afterwards
// every client must hold the room's names, and its last `count` must be
// their number, within the presence TTL + 2 s. The same for a big room that
// A's stop makes small and its return big again: a batch never tells a
// member it left itself. Needs root (CI runs as root).

import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { Client, Netlab, Node, Redis, readyz, waitFor } from './lib.mjs';

const ttlSeconds = 1;
const env = { CHATNODE_REDIS_TIMEOUT_SECONDS: '1', CHATNODE_REDIS_PRESENCE_TTL_SECONDS: String(ttlSeconds) };
// A stopped node's links must outlast the stop: what it missed waits on them.
const patient = { ...env, CHATNODE_REDIS_TIMEOUT_SECONDS: '10' };
const rooms = 6;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let cleanup = [];
afterEach(async () => {
  let failure = null;
  for (const f of cleanup.reverse()) {
    try { await f(); } catch (e) { failure ??= e; }
  }
  cleanup = [];
  if (failure) throw failure;
});

/** Redis and nodes a, b, c, each in its own namespace, ready. */
async function startLab(nodeEnv = env) {
  const lab = Netlab.create();
  cleanup.push(() => lab.destroy());
  const nsRedis = lab.namespace('redis');
  const toRedis = lab.link(null, nsRedis);
  const redis = new Redis({ netns: nsRedis, host: toRedis.b.addr });
  cleanup.push(() => redis.destroy());
  await redis.start();
  const nodes = [], toRedisOf = {};
  for (const name of ['a', 'b', 'c']) {
    const ns = lab.namespace(name);
    const fromRoot = lab.link(null, ns), link = lab.link(ns, nsRedis);
    toRedisOf[name] = link;
    nodes.push(new Node(name, `redis://${link.b.addr}:${redis.port}`, nodeEnv, { netns: ns, host: fromRoot.b.addr }));
  }
  cleanup.push(async () => {
    for (const n of nodes) if (n.child.exitCode === null && n.child.signalCode === null) await n.stop();
  });
  for (const n of nodes) await n.start();
  await waitFor(async () => (await Promise.all(nodes.map((n) => n.ready()))).every(Boolean), 'nodes ready');
  return { lab, nodes, toRedisOf };
}

/** Small rooms of three: in room i, user j on node (i + j) % 3. */
function layout(nodes) {
  const out = [];
  for (let i = 0; i < rooms; i++)
    for (let j = 0; j < 3; j++)
      out.push({ room: `room${i}`, name: `room${i}-u${j}`, node: nodes[(i + j) % 3] });
  return out;
}

async function joinAll(seats, clients) {
  await Promise.all(seats.map(async (s) => {
    const c = await new Client(s.node, s.name).connect();
    clients.push(c);
    c.room = s.room;
    await c.join(s.room);
    s.client = c;
  }));
}

/** Where a client's member list or count differs from the room's names (in
 *  a big room, the names up to the last one it holds). */
function wrong(seats) {
  const out = [];
  for (const s of seats) {
    const truth = seats.filter((o) => o.room === s.room).map((o) => o.name).sort();
    const p = s.client.presence(s.room);
    const held = p.upTo === null ? truth : truth.filter((n) => n <= p.upTo);
    if (p.members.join() !== held.join() || (p.count ?? p.members.length) !== truth.length)
      out.push({ name: s.name, node: s.node.name, members: p.members, count: p.count,
        last: s.client.events.filter((e) => e.room === s.room && ['joined', 'presence', 'presence_diff'].includes(e.type)).slice(-6)
          .map((e) => (e.type === 'joined' ? `joined ${e.members.join(',')} ${e.count}`
            : e.type === 'presence_diff' ? `diff +${e.joins.join(',')} -${e.leaves.join(',')} ${e.count}${e.upto ? ` upto ${e.upto}` : ''}`
              : `${e.event} ${e.user} ${e.count}`)) });
  }
  return out;
}

for (const order of ['kill, then cut', 'cut, then kill'])
  test(`C killed and back while A is cut off from Redis longer than the TTL (${order}): every member's names and count are the room's`,
    { timeout: 60000 }, async (t) => {
      const { lab, nodes, toRedisOf } = await startLab();
      const [a, , c] = nodes;
      const clients = [];
      cleanup.push(() => { for (const cl of clients) cl.close(); });
      const seats = layout(nodes);
      await joinAll(seats, clients);
      await waitFor(() => wrong(seats).length === 0, 'every member to list its room', 10000);

      const cut = async () => {
        lab.down(toRedisOf.a.b);
        await waitFor(async () => (await readyz(a)).status === 503, 'A to notice the cut', 10000);
      };
      const kill = async () => { c.kill('SIGKILL'); await waitFor(() => c.child.signalCode !== null, 'C to die'); };
      if (order === 'kill, then cut') {
        await kill();
        await sleep(300);
        await cut();
      } else {
        await cut();
        await kill();
      }
      // Long enough for Redis to take A's members for gone, and C's.
      await sleep(ttlSeconds * 1000 + 1500);
      await c.start();
      await waitFor(() => c.ready(), 'C ready again', 10000);
      const onC = seats.filter((s) => s.node === c);
      await joinAll(onC, clients);
      await sleep(500);
      lab.up(toRedisOf.a.b);
      await waitFor(async () => (await readyz(a)).status === 200, 'A ready again', 15000);
      const backAt = Date.now();

      // By the TTL + 2 s every node has heard everything: what members hold
      // then is what they keep.
      await sleep(backAt + ttlSeconds * 1000 + 2000 - Date.now());
      const left = wrong(seats);
      const m = await a.metrics();
      t.diagnostic(`A: presence resyncs ${m.chatnode_presence_resyncs_total}, reconnects ${m.chatnode_redis_reconnects_total}`);
      for (const s of seats.filter((x) => x.node === a))
        t.diagnostic(`${s.name} on a: ${s.client.events.filter((e) => e.room === s.room && ['joined', 'presence'].includes(e.type))
          .map((e) => (e.type === 'joined' ? `joined ${e.members.join(',')} ${e.count}` : `${e.event} ${e.user} ${e.count}`)).join(' | ')}`);
      for (const w of left) t.diagnostic(`${w.name} on ${w.node}: ${w.members.join(',')} count ${w.count}; last: ${w.last.join(' | ')}`);
      assert.deepEqual(left.map((w) => `${w.name}: ${w.members.join(',')} count ${w.count}`), [],
        'every member holds its room\'s names, and their number as its count');
    });

/** The names a client of `room` holds, from its room mates `seats`. */
const holds = (seat, name) => seat.client.presence(seat.room).members.includes(name);

test('C killed and back while A is stopped longer than the TTL: A\'s members count themselves, though the room lost them meanwhile',
  { timeout: 60000 }, async (t) => {
    const { nodes } = await startLab(patient);
    const [a, b, c] = nodes;
    const clients = [];
    cleanup.push(() => { for (const cl of clients) cl.close(); });
    const seats = layout(nodes);
    await joinAll(seats, clients);
    await waitFor(() => wrong(seats).length === 0, 'every member to list its room', 10000);
    const onB = seats.filter((s) => s.node === b);
    const mate = (s, node) => seats.find((o) => o.room === s.room && o.node === node);

    a.kill('SIGSTOP');
    cleanup.push(() => { if (a.child.exitCode === null) a.kill('SIGCONT'); });
    await waitFor(() => onB.every((s) => !holds(s, mate(s, a).name)), 'B\'s members to hear A\'s leave', 10000);
    c.kill('SIGKILL');
    await waitFor(() => c.child.signalCode !== null, 'C to die');
    await waitFor(() => onB.every((s) => !holds(s, mate(s, c).name)), 'B\'s members to hear C\'s leave', 10000);
    await c.start();
    await joinAll(seats.filter((s) => s.node === c), clients);
    await waitFor(() => onB.every((s) => holds(s, mate(s, c).name)), 'B\'s members to hear C\'s members back', 10000);
    a.kill('SIGCONT');
    const goneOnAt = Date.now();

    await sleep(goneOnAt + ttlSeconds * 1000 + 2000 - Date.now());
    const left = wrong(seats);
    for (const w of left) t.diagnostic(`${w.name} on ${w.node}: ${w.members.join(',')} count ${w.count}; last: ${w.last.join(' | ')}`);
    assert.deepEqual(left.map((w) => `${w.name}: ${w.members.join(',')} count ${w.count}`), [],
      'every member holds its room\'s names, and their number as its count');
  });

test('A stopped longer than the TTL in a big room that its members\' leaves make small, then big again: A\'s members keep their own names',
  { timeout: 60000 }, async (t) => {
    // Nine members, three a node; big above six. Going on, A reads the
    // leaves of its own members (a batch: the room was big) and tells the
    // bus of them again: the room is small after the first, big after the
    // last, whose join is batched.
    const { nodes } = await startLab({ ...patient, CHATNODE_PRESENCE_BIG_ROOM: '6', CHATNODE_PRESENCE_BATCH_MS: '10' });
    const [a] = nodes;
    const clients = [];
    cleanup.push(() => { for (const cl of clients) cl.close(); });
    const seats = [];
    for (let j = 0; j < 9; j++) seats.push({ room: 'big', name: `big-u${j}`, node: nodes[j % 3] });
    await joinAll(seats, clients);
    await waitFor(() => wrong(seats).length === 0, 'every member to list the room', 10000);

    a.kill('SIGSTOP');
    cleanup.push(() => { if (a.child.exitCode === null) a.kill('SIGCONT'); });
    const onOthers = seats.filter((s) => s.node !== a);
    await waitFor(() => onOthers.every((s) => s.client.presence(s.room).count === 6), 'the others to hear A\'s members leave', 10000);
    a.kill('SIGCONT');
    const goneOnAt = Date.now();

    await sleep(goneOnAt + ttlSeconds * 1000 + 2000 - Date.now());
    const left = wrong(seats);
    for (const w of left) t.diagnostic(`${w.name} on ${w.node}: ${w.members.join(',')} count ${w.count}; last: ${w.last.join(' | ')}`);
    assert.deepEqual(left.map((w) => `${w.name}: ${w.members.join(',')} count ${w.count}`), [],
      'every member holds the room\'s names up to the last it holds, and their number as its count');
  });
