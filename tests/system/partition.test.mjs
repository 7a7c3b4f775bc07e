// Partition: node A loses its network path to Redis for seconds while
// clients on it and on node B keep sending. Redis, A and B each run in their
// own network namespace, joined by veth pairs; the test reaches every one of
// them over its own veth from the root namespace:
//
//   root ──── redis        A ──── redis   (the link that is cut)
//   root ──── A            B ──── redis
//   root ──── B
//
// The cut takes Redis's end of the A–Redis link down: A's end loses carrier
// and everything A sends towards Redis is dropped, nobody gets a reset, and
// both TCP connections of A's Redis bridge go half-open. A must notice
// through its own timeouts, fail readiness and answer sends `unavailable`
// while its clients stay connected, then reconnect once the link is back and
// read back what it missed, so that every receiver on A and on B ends up with
// every acknowledged message once, in id order.
//
// The second test cuts A for longer than the presence TTL: B announces A's
// members gone, the room changes while A hears nothing of it, and afterwards
// every client's member list must match the room, with no client told of a
// join or leave that changed nothing for it. Needs root (CI runs as root).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, test } from 'node:test';
import { Client, Netlab, Node, Redis, audit, chatnodeBin, readyz, waitFor } from './lib.mjs';

const fast = { CHATNODE_REDIS_TIMEOUT_SECONDS: '1' };
const cutMs = 3000;
const perSecond = 100;
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

/** Sends numbered messages with cids (`<prefix><n>`) at a steady pace;
 *  retries the unacknowledged ones (same cid) on `retry()`. */
class Sender {
  constructor(client, room, prefix) {
    this.client = client; this.room = room; this.prefix = prefix; this.sent = 0; this.texts = new Map();
  }
  start(rate) { this.timer = setInterval(() => this.sendOne(), 1000 / rate); }
  stop() { clearInterval(this.timer); }
  sendOne() {
    const cid = `${this.prefix}${this.sent++}`;
    this.texts.set(cid, `message ${cid}`);
    this.client.send({ type: 'send', room: this.room, text: this.texts.get(cid), cid });
    return cid;
  }
  acked() {
    return new Set(this.client.events.filter((e) => e.type === 'message' && this.texts.has(e.cid) &&
      e.user === this.client.name).map((e) => e.cid));
  }
  errors(code) {
    return this.client.events.filter((e) => e.type === 'error' && (code ? e.code === code : e.code !== 'unavailable'));
  }
  unavailable() { return this.errors('unavailable').length; }
  retry() {
    const acked = this.acked();
    for (const [cid, text] of this.texts) if (!acked.has(cid)) this.client.send({ type: 'send', room: this.room, text, cid });
  }
  async settle() {
    await waitFor(() => { this.retry(); return this.acked().size === this.texts.size; }, 'every send acknowledged', 20000);
  }
}

/** The ids of the clients Redis holds from `addr` (CLIENT LIST over RESP). */
function redisClientsFrom(redis, addr) {
  return new Promise((resolve, reject) => {
    const s = net.connect(redis.port, redis.host, () => s.write('*2\r\n$6\r\nCLIENT\r\n$4\r\nLIST\r\n'));
    let buf = '';
    s.setTimeout(2000, () => { s.destroy(); reject(new Error('CLIENT LIST timed out')); });
    s.on('error', reject);
    s.on('data', (d) => {
      buf += d;
      const head = buf.match(/^\$(\d+)\r\n/);
      if (!head || buf.length < head[0].length + Number(head[1])) return;
      s.end();
      resolve(buf.slice(head[0].length).split('\n')
        .filter((line) => line.includes(` addr=${addr}:`)).map((line) => line.match(/^id=(\d+)/)[1]));
    });
  });
}

/** Redis, node A and node B, each in its own namespace (see the top), ready. */
async function startLab(env) {
  const lab = Netlab.create();
  cleanup.push(() => lab.destroy());
  const nsRedis = lab.namespace('redis'), nsA = lab.namespace('a'), nsB = lab.namespace('b');
  const toRedis = lab.link(null, nsRedis), toA = lab.link(null, nsA), toB = lab.link(null, nsB);
  const aRedis = lab.link(nsA, nsRedis), bRedis = lab.link(nsB, nsRedis);

  const redis = new Redis({ netns: nsRedis, host: toRedis.b.addr });
  cleanup.push(() => redis.destroy());
  await redis.start();
  const a = new Node('a', `redis://${aRedis.b.addr}:${redis.port}`, env, { netns: nsA, host: toA.b.addr });
  const b = new Node('b', `redis://${bRedis.b.addr}:${redis.port}`, env, { netns: nsB, host: toB.b.addr });
  cleanup.push(async () => { await a.stop(); await b.stop(); });
  await a.start();
  await b.start();
  // `ip netns exec` has exec'd chatnode itself, so SIGTERM in stop() reaches it.
  for (const n of [a, b])
    assert.equal(readFileSync(`/proc/${n.child.pid}/comm`, 'utf8').trim(), path.basename(chatnodeBin).slice(0, 15));
  await waitFor(async () => (await a.ready()) && (await b.ready()), 'nodes ready');
  return { lab, redis, a, b, aRedis };
}

/** connect(node, name): a client on that node, joined to `room`, closed at
 *  the end; connect.clients lists them all. */
function joiner(room) {
  const connect = async (node, name) => {
    const c = await new Client(node, name).connect();
    connect.clients.push(c);
    await c.join(room);
    return c;
  };
  connect.clients = [];
  cleanup.push(() => { for (const c of connect.clients) c.close(); });
  return connect;
}

test('node A cut off from Redis by a link down for 3 s under traffic: notices, refuses, recovers, nothing lost or doubled',
  { timeout: 50000 }, async (t) => {
    const { lab, redis, a, b, aRedis } = await startLab(fast);
    const room = 'partition';
    const connect = joiner(room);
    const sa = await connect(a, 'sender-a'), sb = await connect(b, 'sender-b');
    const receivers = [await connect(a, 'recv-a'), await connect(b, 'recv-b')];
    const senders = [new Sender(sa, room, 'a'), new Sender(sb, room, 'b')];
    cleanup.push(() => { for (const s of senders) s.stop(); });
    for (const s of senders) s.start(perSecond);
    await waitFor(() => senders.every((s) => s.acked().size > 50), 'traffic before the cut');

    // The cut. Watch both nodes' readiness all along it.
    const seen = { a: [], b: [] };
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const at = Date.now();
        const [ra, rb] = await Promise.all([readyz(a), readyz(b)]);
        seen.a.push({ at, ...ra }); seen.b.push({ at, ...rb });
        await sleep(50);
      }
    })();
    cleanup.push(async () => { watching = false; await watcher; });
    const aConnections = await redisClientsFrom(redis, aRedis.a.addr);
    assert.equal(aConnections.length, 2, 'A holds two Redis connections: commands and subscriber');
    const unavailableBefore = senders[0].unavailable();
    const bAtCut = receivers[1].messages(room).filter((m) => m.cid?.startsWith('b')).length;
    const cutAt = Date.now();
    lab.down(aRedis.b);
    let down;
    await waitFor(async () => { down = await readyz(a); return down.status === 503; }, 'A to fail readiness', cutMs);
    const noticeMs = Date.now() - cutAt;
    assert.match(down.text, /redis/i, `A's readiness reason names Redis: ${down.text}`);
    await waitFor(() => senders[0].unavailable() > unavailableBefore, 'sends on A answered unavailable', cutAt + cutMs - Date.now());
    await waitFor(() => receivers[1].messages(room).filter((m) => m.cid?.startsWith('b')).length > bAtCut + 50,
      'B to keep delivering its own traffic during the cut', cutAt + cutMs - Date.now());
    // A has given up its connections, but nothing it sent got through: Redis
    // still holds them, half-open.
    const halfOpen = (await redisClientsFrom(redis, aRedis.a.addr)).filter((id) => aConnections.includes(id));
    await sleep(cutAt + cutMs - Date.now());
    const restoreAt = Date.now();
    watching = false;
    await watcher;
    lab.up(aRedis.b);

    const readyAgain = await waitFor(async () => (await readyz(a)).status === 200 && Date.now(), 'A ready again', 15000);
    const recoverMs = readyAgain - restoreAt;
    const ackedAtReturn = senders[0].acked().size;
    await waitFor(() => senders[0].acked().size > ackedAtReturn + 50, 'sends on A acknowledged after the cut', 10000);
    for (const s of senders) s.stop();
    for (const s of senders) await s.settle();
    // A last message from each sender, sent once everything before it is
    // stored: it must reach every receiver after all the others.
    for (const s of senders) s.sendOne();
    for (const s of senders) await s.settle();
    const acked = new Set(senders.flatMap((s) => [...s.acked()]));
    await waitFor(() => receivers.every((r) => { const got = new Set(r.messages(room).map((m) => m.cid)); return [...acked].every((c) => got.has(c)); }),
      'receivers to get every acknowledged message', 15000);

    const afterNotice = seen.a.filter((r) => r.at >= cutAt + noticeMs);
    const m = await a.metrics();
    t.diagnostic(`cut ${restoreAt - cutAt} ms: A noticed after ${noticeMs} ms ("${down.text}"), ready again ${recoverMs} ms after the link came back; ` +
      `A readiness during the cut: ${afterNotice.filter((r) => r.status === 503).length}/${afterNotice.length} polls 503 after notice; ` +
      `B ready in ${seen.b.filter((r) => r.status === 200).length}/${seen.b.length} polls`);
    const nowHeld = await redisClientsFrom(redis, aRedis.a.addr);
    t.diagnostic(`Redis still held ${halfOpen.length} of A's ${aConnections.length} connections after A gave them up (half-open); ` +
      `at the end it holds ${nowHeld.length} from A, ${nowHeld.filter((id) => aConnections.includes(id)).length} of them the old ones`);
    t.diagnostic(`A metrics: redis_up ${m.chatnode_redis_up}, reconnects ${m.chatnode_redis_reconnects_total}, replayed ${m.chatnode_redis_replayed_total}`);
    for (const s of senders)
      t.diagnostic(`${s.client.name}: sent ${s.texts.size}, ${s.unavailable()} unavailable (retried), acknowledged ${s.acked().size}`);
    for (const r of receivers) {
      const msgs = r.messages(room);
      const x = audit(r.ids(room));
      const got = new Set(msgs.map((e) => e.cid));
      const lost = [...acked].filter((cid) => !got.has(cid)).length;
      t.diagnostic(`${r.name}: acknowledged ${acked.size}, delivered ${x.count}, lost ${lost}, duplicated ${x.duplicates}, out of order ${x.outOfOrder}`);
    }

    assert.equal(halfOpen.length, aConnections.length, 'the cut dropped packets: Redis never learnt A closed its connections');
    assert.ok(senders[0].unavailable() > 0, 'sends on A during the cut were answered unavailable');
    for (const s of senders) assert.deepEqual(s.errors().map((e) => e.code), [], `${s.client.name} got no other errors`);
    assert.equal(senders[1].unavailable(), 0, 'B, which kept its link, answered no send unavailable');
    assert.ok(afterNotice.length > 0 && afterNotice.every((r) => r.status === 503 && /redis/i.test(r.text)),
      `A failed readiness, naming Redis, from the notice to the restore: ${JSON.stringify(afterNotice.filter((r) => r.status !== 503))}`);
    assert.ok(seen.b.every((r) => r.status === 200), `B stayed ready: ${JSON.stringify(seen.b.filter((r) => r.status !== 200))}`);
    assert.ok(m.chatnode_redis_up === 1 && m.chatnode_redis_reconnects_total >= 1, 'A\'s metrics show the reconnect');
    for (const c of connect.clients) assert.equal(c.closeCode, null, `${c.name} stayed connected`);
    for (const r of receivers) {
      const x = audit(r.ids(room));
      const got = new Set(r.messages(room).map((e) => e.cid));
      assert.equal([...acked].filter((cid) => !got.has(cid)).length, 0, `${r.name} lost acknowledged messages`);
      assert.equal(x.duplicates, 0, `${r.name} got duplicates`);
      assert.equal(x.outOfOrder, 0, `${r.name} got messages out of order`);
      assert.equal(x.count, acked.size, `${r.name} got other messages than those acknowledged`);
    }
    assert.deepEqual(receivers[0].ids(room), receivers[1].ids(room), 'receivers on A and B saw the same order');
  });

test('node A cut off for longer than the presence TTL: afterwards every client lists the same members, none told twice',
  { timeout: 50000 }, async (t) => {
    const { lab, a, b, aRedis } = await startLab({ ...fast, CHATNODE_REDIS_PRESENCE_TTL_SECONDS: '1' });
    const room = 'presence-cut';
    const connect = joiner(room);
    const ann = await connect(a, 'ann'), abe = await connect(a, 'abe'), amy = await connect(a, 'amy');
    const bea = await connect(b, 'bea'), bo = await connect(b, 'bo');
    const everyone = ['abe', 'amy', 'ann', 'bea', 'bo'];
    await waitFor(() => [ann, abe, amy, bea, bo].every((c) => c.presence(room).members.join() === everyone.join()),
      'everyone to see everyone');

    // The cut: A gives up its Redis links, and B's reaper removes A's members
    // once A's liveness key expires.
    lab.down(aRedis.b);
    await waitFor(async () => (await readyz(a)).status === 503, 'A to notice the cut', 15000);
    await waitFor(() => ['ann', 'abe', 'amy'].every((n) => !bea.presence(room).members.includes(n)),
      'B to announce that A\'s members left', 15000);
    // Meanwhile the room changes on both sides of the cut: A hears nothing of
    // it, having no subscription to hear it on.
    const cy = await connect(b, 'cy');
    bo.close();
    amy.close();
    await waitFor(() => !bea.presence(room).members.includes('bo') && cy.presence(room).members.join() === 'bea,cy',
      'B to see bo leave and cy join');
    assert.equal(abe.presence(room).members.join(), everyone.join(), 'A\'s clients heard nothing during the cut');
    lab.up(aRedis.b);
    await waitFor(async () => (await a.ready()), 'A ready again', 15000);

    const expected = ['abe', 'ann', 'bea', 'cy'];
    const watchers = [ann, abe, bea, cy];
    await waitFor(() => watchers.every((c) => c.presence(room).members.join() === expected.join()),
      'every client to list the room as it is', 15000);
    const m = await a.metrics();
    for (const c of watchers) {
      const p = c.presence(room);
      t.diagnostic(`${c.name} on ${c.node.name}: ${p.members.join(',')} (count ${p.count}), ` +
        `redundant ${JSON.stringify(p.redundant)}, presence events ${c.events.filter((e) => e.type === 'presence').length}`);
    }
    t.diagnostic(`A metrics: presence resyncs ${m.chatnode_presence_resyncs_total}, reconnects ${m.chatnode_redis_reconnects_total}`);
    for (const c of watchers)
      assert.deepEqual(c.presence(room).redundant, [], `${c.name} was told nothing twice`);
    // A member hears no event about itself: on A, where the room had lost
    // them, the counts it heard counted it all the same.
    for (const c of watchers)
      assert.equal(c.presence(room).count, expected.length, `${c.name}'s last presence count is the room's`);
    assert.ok(m.chatnode_redis_reconnects_total >= 1, 'A lost its links and made them again');
    assert.ok(m.chatnode_presence_resyncs_total >= 1, 'A counted the correction');
  });
