// Faults: Redis restarted or paused under traffic, Redis losing its data, a
// node killed, a send retried after `unavailable`. Each test reports what it sent, what was
// acknowledged and delivered, and what was lost, duplicated or reordered.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { afterEach, test } from 'node:test';
import { Client, Node, Redis, audit, freePort, waitFor } from './lib.mjs';

const fast = { CHATNODE_REDIS_TIMEOUT_SECONDS: '1', CHATNODE_REDIS_PRESENCE_TTL_SECONDS: '2' };
let cleanup = [];
afterEach(async () => {
  for (const f of cleanup.reverse()) await f();
  cleanup = [];
});

async function cluster(count) {
  const redis = await new Redis().start();
  const nodes = [];
  for (let i = 1; i <= count; i++) nodes.push(await new Node(`n${i}`, redis.url, fast).start());
  cleanup.push(async () => { for (const n of nodes) await n.stop(); await redis.destroy(); });
  await waitFor(async () => (await Promise.all(nodes.map((n) => n.ready()))).every(Boolean), 'nodes ready');
  return { redis, nodes };
}

/** Sends numbered messages with cids at a steady pace; retries the
 *  unacknowledged ones (same cid) on `retry()`. */
class Sender {
  constructor(client, room) {
    this.client = client; this.room = room; this.sent = 0; this.texts = new Map();
  }
  start(perSecond) {
    this.timer = setInterval(() => {
      const cid = `c${this.sent++}`;
      this.texts.set(cid, `message ${cid}`);
      this.client.send({ type: 'send', room: this.room, text: this.texts.get(cid), cid });
    }, 1000 / perSecond);
    this.timer.unref(); // a test that fails before stop() must still end
  }
  stop() { clearInterval(this.timer); }
  acked() {
    return new Set(this.client.events.filter((e) => e.type === 'message' && e.cid).map((e) => e.cid));
  }
  unavailable() {
    return this.client.events.filter((e) => e.type === 'error' && e.code === 'unavailable').length;
  }
  retry() {
    const acked = this.acked();
    for (const [cid, text] of this.texts) if (!acked.has(cid)) this.client.send({ type: 'send', room: this.room, text, cid });
  }
  async settle() {
    await waitFor(() => { this.retry(); return this.acked().size === this.texts.size; }, 'every send acknowledged', 20000);
  }
}

function report(t, label, sender, receivers, room) {
  const acked = sender.acked();
  for (const r of receivers) {
    const a = audit(r.ids(room));
    const got = new Set(r.messages(room).map((m) => m.cid));
    const lost = [...acked].filter((cid) => !got.has(cid)).length;
    t.diagnostic(`${label} ${r.name}: sent ${sender.texts.size} (${sender.unavailable()} unavailable, retried), ` +
      `acknowledged ${acked.size}, delivered ${a.count}, lost ${lost}, duplicated ${a.duplicates}, out of order ${a.outOfOrder}`);
    assert.equal(lost, 0, `${r.name} lost acknowledged messages`);
    assert.equal(a.duplicates, 0, `${r.name} got duplicates`);
    assert.equal(a.outOfOrder, 0, `${r.name} got messages out of order`);
    assert.equal(a.count, acked.size, `${r.name} got other messages than those acknowledged`);
  }
}

test('Redis restarted under traffic: readiness flips and recovers, nothing lost or doubled', async (t) => {
  const { redis, nodes } = await cluster(2);
  const room = 'restart';
  const s = await new Client(nodes[0], 'sender').connect();
  await s.join(room);
  const receivers = [await new Client(nodes[0], 'near').connect(), await new Client(nodes[1], 'far').connect()];
  for (const r of receivers) await r.join(room);
  const sender = new Sender(s, room);
  sender.start(200);
  await waitFor(() => sender.acked().size > 100, 'traffic before the restart');
  await redis.stop();
  await waitFor(async () => !(await nodes[0].ready()) && !(await nodes[1].ready()), 'readiness to fail');
  const down = await fetch(`http://127.0.0.1:${nodes[1].port}/readyz`);
  assert.equal(down.status, 503);
  assert.match(await down.text(), /redis/);
  await new Promise((r) => setTimeout(r, 500));
  await redis.start();
  await waitFor(async () => (await nodes[0].ready()) && (await nodes[1].ready()), 'readiness to return', 15000);
  const ackedAtReturn = sender.acked().size;
  await waitFor(() => sender.acked().size > ackedAtReturn + 100, 'traffic after the restart', 15000);
  sender.stop();
  await sender.settle();
  await waitFor(() => receivers.every((r) => r.ids(room).length >= sender.acked().size), 'receivers to catch up', 15000);
  assert.ok(sender.unavailable() > 0, 'sends during the outage were answered unavailable');
  report(t, 'restart', sender, receivers, room);
  const m = await nodes[1].metrics();
  assert.ok(m.chatnode_redis_up === 1 && m.chatnode_redis_reconnects_total >= 1, 'metrics show the reconnect');
  for (const c of [s, ...receivers]) c.close();
});

test('Redis paused (SIGSTOP) for seconds: links time out, come back, catch up', async (t) => {
  const { redis, nodes } = await cluster(2);
  const room = 'pause';
  const s = await new Client(nodes[0], 'sender').connect();
  await s.join(room);
  const receivers = [await new Client(nodes[1], 'far').connect()];
  await receivers[0].join(room);
  const sender = new Sender(s, room);
  sender.start(100);
  await waitFor(() => sender.acked().size > 50, 'traffic before the pause');
  redis.pause();
  await waitFor(async () => !(await nodes[0].ready()), 'readiness to fail while paused', 10000);
  await new Promise((r) => setTimeout(r, 1500));
  redis.resume();
  await waitFor(async () => (await nodes[0].ready()) && (await nodes[1].ready()), 'readiness to return', 15000);
  await new Promise((r) => setTimeout(r, 500));
  sender.stop();
  await sender.settle();
  await waitFor(() => receivers[0].ids(room).length >= sender.acked().size, 'receiver to catch up', 15000);
  report(t, 'pause', sender, receivers, room);
  for (const c of [s, ...receivers]) c.close();
});

test('Redis loses its data (FLUSHALL): presence versions start over, member lists stay right', async (t) => {
  const { redis, nodes } = await cluster(2);
  const room = 'flushed';
  const clients = [];
  const connect = async (node, name) => {
    const c = await new Client(node, name).connect();
    clients.push(c);
    await c.join(room);
    return c;
  };
  for (const name of ['p1', 'p2', 'p3']) await connect(nodes[0], name);
  for (const name of ['q1', 'q2', 'q3']) await connect(nodes[1], name);
  // Versions climb past what the nodes will write again after the flush.
  for (const c of clients.splice(4)) c.close();
  const [p1, p2, , q1] = clients;
  await waitFor(() => clients.every((c) => c.presence(room).members.join() === 'p1,p2,p3,q1'),
    'everyone to see the leaves');

  execFileSync('redis-cli', ['-p', String(redis.port), 'FLUSHALL']);
  // Each node finds its liveness key gone, writes its names again (versions
  // from 1) and compares its member list with Redis.
  await waitFor(async () => (await Promise.all(nodes.map((n) => n.metrics())))
    .every((m) => m.chatnode_presence_resyncs_total >= 1), 'both nodes to compare with Redis', 10000);
  const late = await connect(nodes[0], 'late');
  p2.close();
  const expected = 'late,p1,p3,q1';
  const watchers = [p1, clients[2], q1, late];
  await waitFor(() => watchers.every((c) => c.presence(room).members.join() === expected),
    'every client to see late join and p2 leave', 10000);
  for (const c of watchers) {
    const p = c.presence(room);
    t.diagnostic(`${c.name}: ${p.members.join(',')}, redundant ${JSON.stringify(p.redundant)}`);
    assert.deepEqual(p.redundant, [], `${c.name} was told nothing twice`);
  }
  for (const c of clients) c.close();
});

test('Redis loses its data and people come and go at once: member lists end right', async () => {
  // A join or leave right after the loss renews the node's entry in Redis
  // before its heartbeat can find it forgotten: the node still tells Redis
  // all its names again and its members are corrected.
  const { redis, nodes } = await cluster(2);
  const room = 'flushed-busy';
  const clients = [];
  for (const [i, name] of ['p1', 'p2', 'p3', 'q1', 'q2', 'q3'].entries()) {
    const c = await new Client(nodes[i < 3 ? 0 : 1], name).connect();
    await c.join(room);
    clients.push(c);
  }
  await waitFor(() => clients.every((c) => c.presence(room).members.length === 6), 'everyone to see six');
  execFileSync('redis-cli', ['-p', String(redis.port), 'FLUSHALL']);
  clients[1].close();                                // p2 leaves on the first node
  clients[4].send({ type: 'leave', room });          // q2 leaves on the second
  const late = await new Client(nodes[1], 'late').connect();
  await late.join(room);
  const watchers = [clients[0], clients[2], clients[3], clients[5], late];
  const expected = 'late,p1,p3,q1,q3';
  await waitFor(() => watchers.every((c) => c.presence(room).members.join() === expected && c.presence(room).count === 5),
    'every client to list late, p1, p3, q1 and q3', 10000);
  for (const c of [...clients, late]) c.close();
});

test('a node killed with SIGKILL: its clients resume elsewhere, presence forgets it in time', async (t) => {
  const { nodes } = await cluster(3);
  const room = 'kill';
  const s = await new Client(nodes[1], 'sender').connect();
  await s.join(room);
  const watcher = await new Client(nodes[0], 'watcher').connect();
  await watcher.join(room);
  const victim = await new Client(nodes[2], 'ghost').connect();
  await victim.join(room);
  await waitFor(() => watcher.events.find((e) => e.type === 'presence' && e.user === 'ghost' && e.event === 'join'), 'ghost joins');
  const sender = new Sender(s, room);
  sender.start(100);
  await waitFor(() => victim.ids(room).length > 30, 'ghost receiving');
  nodes[2].kill('SIGKILL');
  const killedAt = Date.now();
  await waitFor(() => victim.closeCode !== null, 'ghost to see its node die');
  const last = victim.ids(room).at(-1);
  // The client reconnects to another node and resumes with since.
  const back = await new Client(nodes[0], 'ghost2').connect();
  await back.join(room, last);
  const left = await waitFor(() => watcher.events.find((e) => e.type === 'presence' && e.user === 'ghost' && e.event === 'leave'),
    'ghost to leave presence', 10000);
  const leaveMs = Date.now() - killedAt;
  assert.ok(left.count >= 2);
  sender.stop();
  await sender.settle();
  await waitFor(() => victim.ids(room).length + back.ids(room).length >= sender.acked().size, 'resumed client to catch up', 15000);
  const seen = [...victim.ids(room), ...back.ids(room)];
  const a = audit(seen);
  t.diagnostic(`kill: sent ${sender.texts.size}, acknowledged ${sender.acked().size}, delivered to the moved client ${a.count} ` +
    `(before ${victim.ids(room).length}, after ${back.ids(room).length}), duplicated ${a.duplicates}, out of order ${a.outOfOrder}; ` +
    `presence leave after ${leaveMs} ms (ttl 2 s)`);
  assert.equal(a.count, sender.acked().size);
  assert.equal(a.duplicates, 0);
  assert.equal(a.outOfOrder, 0);
  assert.ok(leaveMs < 6000, `presence leave took ${leaveMs} ms`);
  for (const c of [s, watcher, back]) c.close();
});

test('a node killed and started again at once under its old name: the members of its earlier life leave everywhere', async (t) => {
  // What compose (restart: unless-stopped) and Kubernetes (a container
  // restarted in its pod) do: the new process has the old one's name.
  const { redis, nodes } = await cluster(2);
  const room = 'reborn';
  const watcher = await new Client(nodes[0], 'watcher').connect();
  await watcher.join(room);
  const ghost = await new Client(nodes[1], 'ghost').connect();
  await ghost.join(room);
  const stayer = await new Client(nodes[1], 'stayer').connect();
  await stayer.join(room);
  await waitFor(() => watcher.presence(room).members.join() === 'ghost,stayer,watcher', 'watcher to list everyone');

  nodes[1].kill('SIGKILL');
  await waitFor(() => ghost.closeCode !== null && stayer.closeCode !== null, 'clients to see their node die');
  const killedAt = Date.now();
  await nodes[1].start();
  await waitFor(() => nodes[1].ready(), 'the node ready again under its old name');
  // stayer comes back to the same node at once; ghost never does.
  const back = await new Client(nodes[1], 'stayer').connect();
  await back.join(room);
  await waitFor(() => watcher.presence(room).members.join() === 'stayer,watcher', 'ghost to leave on the other node', 10000);
  const leaveMs = Date.now() - killedAt;
  await waitFor(() => back.presence(room).members.join() === 'stayer,watcher', 'ghost to leave on the restarted node', 10000);
  const fields = execFileSync('redis-cli', ['-p', String(redis.port), 'HKEYS', `chatnode:{${room}}:members`], { encoding: 'utf8' });
  assert.doesNotMatch(fields, /ghost/, 'Redis still lists ghost');
  const p = watcher.presence(room);
  t.diagnostic(`restart under the same name: ghost left after ${leaveMs} ms (ttl 2 s); watcher lists ${p.members.join(',')}, ` +
    `redundant ${JSON.stringify(p.redundant)}`);
  assert.ok(leaveMs < 6000, `ghost's leave took ${leaveMs} ms`);
  assert.deepEqual(p.redundant, [], 'the watcher was told nothing twice');
  for (const c of [watcher, back]) c.close();
});

test('a send retried with its cid after `unavailable` is stored once', async () => {
  const { redis, nodes } = await cluster(1);
  const room = 'retry';
  const c = await new Client(nodes[0], 'ret').connect();
  await c.join(room);
  await redis.stop();
  await waitFor(async () => !(await nodes[0].ready()), 'node to see Redis gone');
  c.send({ type: 'send', room, text: 'once', cid: 'k1' });
  const err = await waitFor(() => c.events.find((e) => e.type === 'error' && e.cid === 'k1'), 'unavailable');
  assert.equal(err.code, 'unavailable');
  await redis.start();
  await waitFor(async () => nodes[0].ready(), 'node ready again', 15000);
  c.send({ type: 'send', room, text: 'once', cid: 'k1' });
  const stored = await waitFor(() => c.events.find((e) => e.type === 'message' && e.cid === 'k1'), 'stored');
  c.send({ type: 'send', room, text: 'once', cid: 'k1' });
  await waitFor(() => c.events.filter((e) => e.type === 'message' && e.cid === 'k1').length === 2, 'answer to the retry');
  const answers = c.events.filter((e) => e.type === 'message' && e.cid === 'k1');
  assert.equal(answers[1].id, stored.id);
  c.send({ type: 'history', room });
  const page = await waitFor(() => c.events.find((e) => e.type === 'history'), 'history');
  assert.equal(page.messages.filter((m) => m.cid === 'k1').length, 1);
  c.close();
});

test('retry ids are remembered while their message is in history and within the cid TTL, and no longer', async (t) => {
  const redis = await new Redis().start();
  const node = await new Node('cids', redis.url, { ...fast, CHATNODE_HISTORY_RETENTION: '100', CHATNODE_REDIS_CID_TTL_SECONDS: '2' }).start();
  cleanup.push(async () => { await node.stop(); await redis.destroy(); });
  const cli = (...args) => execFileSync('redis-cli', ['-p', String(redis.port), ...args], { encoding: 'utf8' }).trim();
  const room = 'cids';
  const c = await new Client(node, 'ret').connect();
  await c.join(room);
  const answers = (cid) => c.events.filter((e) => e.type === 'message' && e.cid === cid);
  const sendAndWait = async (cid, n) => {
    c.send({ type: 'send', room, text: cid, cid });
    return waitFor(() => answers(cid)[n - 1], `answer ${n} to ${cid}`);
  };
  // Within the TTL and in history: the retry gets the stored message.
  const first = await sendAndWait('early', 1);
  assert.equal((await sendAndWait('early', 2)).id, first.id);

  // 1,000 more: the stream keeps about 100, and so do the retry ids.
  for (let i = 0; i < 1000; i++) c.send({ type: 'send', room, text: `m${i}`, cid: `m${i}` });
  await waitFor(() => answers('m999').length === 1, 'the last of 1,000 acknowledged', 20000);
  const length = Number(cli('XLEN', `chatnode:{${room}}:log`));
  const ids = Number(cli('ZCARD', `chatnode:{${room}}:cids`));
  t.diagnostic(`after 1,001 sends with retention 100: stream ${length} entries, ${ids} retry ids, ${cli('DBSIZE')} keys`);
  assert.ok(length < 300, `the stream is trimmed (${length})`);
  // Ids leave with their messages, give or take those stored in the oldest
  // entry's millisecond (Redis runs dozens of sends in one).
  assert.ok(ids < 200, `retry ids (${ids}) are bounded by the history (${length}), not by the 1,001 sent`);
  assert.ok(Number(cli('DBSIZE')) < 10, 'no key of its own per retry id');
  // A retry of a message no longer in history is a new message.
  const again = await sendAndWait('early', 3);
  assert.notEqual(again.id, first.id);

  // Past the TTL the id is forgotten, though its message is still in history.
  const recent = await sendAndWait('recent', 1);
  assert.equal((await sendAndWait('recent', 2)).id, recent.id);
  await new Promise((r) => setTimeout(r, 2200));
  assert.equal(cli('EXISTS', `chatnode:{${room}}:cids`), '0', 'an idle room\'s retry ids expire with the TTL');
  const later = await sendAndWait('recent', 3);
  assert.notEqual(later.id, recent.id);
  c.close();
});

test('one Redis with a replica and wait_replicas = 1: nodes sending at once keep one order; with the replica gone a send is refused, and stored once when retried after it is back', async (t) => {
  const redis = new Redis();
  redis.extraArgs = ['--repl-diskless-sync-delay', '0']; // a replica syncs at once
  await redis.start();
  const replica = new Redis();
  replica.port = await freePort();
  replica.extraArgs = ['--replicaof', '127.0.0.1', String(redis.port)];
  await replica.start();
  const env = { ...fast, CHATNODE_REDIS_WAIT_REPLICAS: '1' };
  const nodes = [await new Node('w1', redis.url, env).start(), await new Node('w2', redis.url, env).start()];
  cleanup.push(async () => { for (const n of nodes) await n.stop(); await replica.destroy(); await redis.destroy(); });
  // In sync: a write reaches the replica. (Redis 7 streams writes to a replica
  // after a diskless sync only once it first acknowledges, up to a second
  // after its link is up; a WAIT meanwhile finds no replica.)
  const linked = () => execFileSync('redis-cli', ['-p', String(redis.port)],
    { input: 'SET probe 1\nWAIT 1 200\n', encoding: 'utf8' }).trim().split('\n').at(-1) === '1';
  await waitFor(linked, 'the replica in sync', 20000);
  await waitFor(async () => (await Promise.all(nodes.map((n) => n.ready()))).every(Boolean), 'nodes ready');

  const a = await new Client(nodes[0], 'ava').connect();
  await a.join('durable');
  const b = await new Client(nodes[1], 'bea').connect();
  await b.join('durable');
  const each = 100;
  const retried = { a: 0, b: 0 };
  const resendRefused = (client, key) => {
    const refused = client.events.filter((e) => e.type === 'error' && e.cid);
    for (const e of refused.slice(retried[key])) {
      assert.equal(e.code, 'unavailable', `${client.name}: ${e.cid} refused: ${e.reason}`);
      client.send({ type: 'send', room: 'durable', text: e.cid, cid: e.cid });
    }
    retried[key] = refused.length;
  };
  const seen = (client) => [...new Set(client.ids('durable'))];
  const sendFrom = (from, to) => {
    for (let i = from; i < to; i++) {
      a.send({ type: 'send', room: 'durable', text: `a${i}`, cid: `a${i}` });
      b.send({ type: 'send', room: 'durable', text: `b${i}`, cid: `b${i}` });
    }
  };
  // A WAIT longer than its timeout (a third of the Redis timeout: 333 ms here)
  // refuses the send as `unavailable`: so it is for the second half, sent
  // while the replica is paused. The client retries under the same cid, as
  // every client does. An entry may reach the room meanwhile (a later WAIT
  // covered it): its retry is then answered with it again, and the client
  // knows it by its id.
  sendFrom(0, each / 2);
  await waitFor(() => {
    resendRefused(a, 'a');
    resendRefused(b, 'b');
    return seen(a).length === each && seen(b).length === each;
  }, 'the first half shown', 20000);
  const before = retried.a + retried.b;
  replica.child.kill('SIGSTOP');
  sendFrom(each / 2, each);
  await waitFor(() => a.events.filter((e) => e.type === 'error').length > retried.a &&
    b.events.filter((e) => e.type === 'error').length > retried.b, 'sends refused while the replica is paused');
  replica.child.kill('SIGCONT');
  await waitFor(() => {
    resendRefused(a, 'a');
    resendRefused(b, 'b');
    return seen(a).length === 2 * each && seen(b).length === 2 * each;
  }, 'both to have every message', 20000);
  assert.ok(retried.a + retried.b > before, 'sends were refused while the replica was paused');
  for (const [client, key] of [[a, 'a'], [b, 'b']]) {
    const repeats = client.ids('durable').length - seen(client).length;
    assert.ok(repeats <= retried[key], `${client.name}: ${repeats} messages twice, ${retried[key]} retries`);
  }
  const history = execFileSync('redis-cli', ['-p', String(redis.port), 'XRANGE', 'chatnode:{durable}:log', '-', '+'], { encoding: 'utf8' })
    .split('\n').filter((l) => /^\d+-\d+$/.test(l));
  assert.deepEqual(seen(a), history, 'ava: the stream\'s order');
  assert.deepEqual(seen(b), history, 'bea: the stream\'s order');
  const waits = Number(execFileSync('redis-cli', ['-p', String(redis.port), 'INFO', 'commandstats'], { encoding: 'utf8' })
    .match(/cmdstat_wait:calls=(\d+)/)?.[1] ?? 0);
  t.diagnostic(`${2 * each} messages from two nodes at once: one order on both, the stream's; ${waits} WAITs; ` +
    `${before} refused before the pause and ${retried.a + retried.b - before} during it, each retried`);

  // The replica stops: a send cannot reach it and is refused, not shown.
  replica.child.kill('SIGKILL');
  await new Promise((resolve) => replica.child.once('exit', resolve));
  a.send({ type: 'send', room: 'durable', text: 'while alone', cid: 'alone' });
  await waitFor(() => a.events.some((e) => e.type === 'error' && e.cid === 'alone'), 'the send to be refused', 10000);
  const refused = a.events.find((e) => e.type === 'error' && e.cid === 'alone');
  assert.equal(refused.code, 'unavailable');
  assert.ok(!b.messages('durable').some((m) => m.cid === 'alone'), 'nobody was shown it');
  // Back, and the retry is acknowledged: the entry stored once.
  replica.child = null;
  await replica.start();
  await waitFor(linked, 'the replica in sync again', 20000);
  await waitFor(() => {
    if (!a.messages('durable').some((m) => m.cid === 'alone')) a.send({ type: 'send', room: 'durable', text: 'while alone', cid: 'alone' });
    return b.messages('durable').some((m) => m.cid === 'alone');
  }, 'the retried send to reach bea', 20000);
  const stored = execFileSync('redis-cli', ['-p', String(redis.port), 'XRANGE', 'chatnode:{durable}:log', '-', '+'], { encoding: 'utf8' })
    .split('\n').filter((l) => l === 'alone').length;
  t.diagnostic(`with the replica down a send was refused (${refused.code}: ${refused.reason}); retried once it was back, stored ${stored} time(s)`);
  assert.equal(stored, 1, 'stored once');
  assert.equal(b.messages('durable').filter((m) => m.cid === 'alone').length, 1, 'bea was shown it once');
});
