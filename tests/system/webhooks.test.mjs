// Webhooks (PROTOCOL.md 1.2): every entry of every room POSTed to a
// receiver the test runs, signed (checked here with Node's own HMAC), at
// least once and in each room's order, on three nodes sharing a real
// redis-server; a receiver down for 20 s, a delivering node SIGKILLed; and
// on a node alone, a receiver that answers 500 forever, redirects, or never
// answers. Each case prints what was received, duplicated and retried.

import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import http from 'node:http';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client, Node, Redis, chatnodeBin, compareIds, freePort, sourceDir, waitFor } from './lib.mjs';

const HOOK_SECRET = 'webhook-suite-secret-0123456789';
const API_KEY = 'webhook-suite-api-key-0123456789';
const AUTH_SECRET = 'webhook-suite-auth-0123456789';

function token(sub) {
  const b64 = (x) => Buffer.from(JSON.stringify(x)).toString('base64url');
  const body = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub, exp: Math.floor(Date.now() / 1000) + 3600 })}`;
  return `${body}.${createHmac('sha256', AUTH_SECRET).update(body).digest('base64url')}`;
}

/** Joins with a token, as a node with [auth] secret asks. */
async function signedJoin(client, room) {
  const from = client.events.length;
  client.send({ type: 'join', room, name: client.name, token: token(client.name) });
  return waitFor(() => client.events.slice(from).find((e) => e.type === 'joined' && e.room === room),
    `${client.name} joined ${room}`);
}

/** The receiver: records every POST; `mode` says how it answers. */
class Receiver {
  constructor() { this.got = []; this.mode = 'ok'; this.sockets = new Set(); this.redirected = 0; this.connections = 0; }
  async start(port) {
    this.port = port ?? this.port ?? await freePort();
    this.server = http.createServer((req, res) => {
      if (req.url === '/elsewhere') { this.redirected++; res.writeHead(200).end(); return; }
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString();
        const mode = this.mode;
        this.got.push({ headers: req.headers, body, mode, at: Date.now() });
        if (mode === 'hang') return; // never answers
        if (mode === '500') { res.writeHead(500).end('broken'); return; }
        if (mode === 'redirect') { res.writeHead(302, { location: '/elsewhere' }).end(); return; }
        const delay = this.delayMs ?? 0;
        setTimeout(() => res.writeHead(204).end(), delay);
      });
    });
    this.server.on('connection', (s) => {
      this.connections++;
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise((r) => this.server.listen(this.port, '127.0.0.1', r));
    return this;
  }
  async stop() {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.server.close(r));
  }
  get url() { return `http://127.0.0.1:${this.port}/hooks`; }
  /** The deliveries taken (answered 2xx), parsed and checked. */
  taken() { return this.got.filter((d) => d.mode === 'ok').map(check); }
}

/** A delivery's signature, timestamp and id checked; its event returned. */
function check(d) {
  const ts = d.headers['x-chatnode-timestamp'];
  const expected = `sha256=${createHmac('sha256', HOOK_SECRET).update(`${ts}.${d.body}`).digest('hex')}`;
  assert.equal(d.headers['x-chatnode-signature'], expected, 'the signature is the HMAC of timestamp.body');
  assert.ok(Math.abs(Number(ts) - Date.now() / 1000) < 300, 'the timestamp is now');
  assert.equal(d.headers['content-type'], 'application/json');
  const event = JSON.parse(d.body);
  assert.equal(typeof event.type, 'string');
  assert.equal(d.headers['x-chatnode-delivery'], `${event.room}/${event.id}`, 'the delivery id names the entry');
  return event;
}

/** Per room: entry ids in the order received, and how many came more than once. */
function byRoom(events) {
  const rooms = new Map();
  for (const e of events) {
    if (!rooms.has(e.room)) rooms.set(e.room, { order: [], seen: new Set(), repeats: 0 });
    const r = rooms.get(e.room);
    if (r.seen.has(e.id)) r.repeats++;
    r.seen.add(e.id);
    r.order.push(e.id);
  }
  return rooms;
}

/** Each room's deliveries never go back: a repeat comes again only as the
 *  next after the one it repeats or in a run that starts over from an
 *  earlier entry and goes on in order. */
function assertOrdered(rooms) {
  for (const [room, r] of rooms) {
    const distinct = [];
    for (const id of r.order) if (!distinct.includes(id)) distinct.push(id);
    const sorted = [...distinct].sort(compareIds);
    assert.deepEqual(distinct, sorted, `${room}: first deliveries in the room's order`);
    for (let i = 1; i < r.order.length; i++) {
      if (compareIds(r.order[i], r.order[i - 1]) >= 0) continue;
      // A run sent again (a takeover or a lost answer) restarts from an entry not after the cursor.
      const from = r.order.indexOf(r.order[i]);
      assert.ok(from < i, `${room}: ${r.order[i]} after ${r.order[i - 1]} is a repeat of an earlier delivery`);
    }
  }
}

async function sendAll(client, room, count, tag) {
  const out = [];
  for (let i = 0; i < count; i++) out.push(client.ask({ type: 'send', room, text: `${tag} ${i}` }));
  return Promise.all(out);
}

describe('webhooks over three nodes and Redis', () => {
  let redis, receiver, nodes = [];
  const env = (extra = {}) => ({ CHATNODE_WEBHOOKS_URL: receiver.url, CHATNODE_WEBHOOKS_SECRET: HOOK_SECRET,
    CHATNODE_API_KEY: API_KEY, CHATNODE_REDIS_PRESENCE_TTL_SECONDS: '2', CHATNODE_LOG_LEVEL: 'info', ...extra });

  before(async () => {
    redis = await new Redis().start();
    receiver = await new Receiver().start();
    for (const name of ['w1', 'w2', 'w3']) nodes.push(await new Node(name, redis.url, env()).start());
  });
  after(async () => {
    for (const n of nodes) await n.stop();
    await receiver?.stop();
    await redis?.stop();
  });

  test('every entry of a run on three nodes, signed, in each room\'s order; private rooms not sent', async () => {
    const clients = await Promise.all(nodes.map((n, i) => new Client(n, `u${i}`).connect()));
    const rooms = ['alpha', 'beta', 'gamma'];
    for (const c of clients) for (const room of rooms) await c.join(room);
    const stored = [];
    await Promise.all(clients.map(async (c, i) => {
      for (const room of rooms) stored.push(...await sendAll(c, room, 40, `${c.name} in ${room}`));
      // Changes too: an edit, a reaction, a delete.
      const mine = stored.filter((m) => m.room === 'alpha' && m.user === c.name);
      stored.push(await c.ask({ type: 'edit', room: 'alpha', target: mine[0].id, text: 'edited' }));
      stored.push(await c.ask({ type: 'react', room: 'alpha', target: mine[1].id, emoji: '👍', on: true }));
      stored.push(await c.ask({ type: 'delete', room: 'alpha', target: mine[2].id }));
      // A private room and a direct conversation are not sent by default.
      await c.join(`_hidden${i}`);
      await c.ask({ type: 'send', room: `_hidden${i}`, text: 'not for the receiver' });
    }));
    const kicked = await fetch(`http://127.0.0.1:${nodes[1].port}/api/rooms/beta/moderation`, {
      method: 'POST', headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ action: 'mute', user: 'nobody', seconds: 60 }) });
    assert.equal(kicked.status, 200);
    const moderation = await kicked.json();
    const want = new Set([...stored.map((e) => `${e.room}/${e.id}`), `beta/${moderation.id}`]);
    assert.equal(want.size, 3 * 3 * 40 + 3 * 3 + 1);
    await waitFor(() => {
      const got = new Set(receiver.taken().map((e) => `${e.room}/${e.id}`));
      return [...want].every((k) => got.has(k));
    }, 'every entry received', 60000);
    const events = receiver.taken();
    const rooms3 = byRoom(events);
    assertOrdered(rooms3);
    assert.deepEqual([...rooms3.keys()].sort(), rooms, 'nothing of a private room');
    const types = new Set(events.map((e) => e.type));
    for (const t of ['message', 'edit', 'reaction', 'delete', 'moderation']) assert.ok(types.has(t), `a ${t} received`);
    const repeats = [...rooms3.values()].reduce((n, r) => n + r.repeats, 0);
    const per = await Promise.all(nodes.map(async (n) => (await n.metrics())['chatnode_webhook_deliveries_total{result="delivered"}']));
    console.log(`# three nodes: ${want.size} entries stored, ${events.length} deliveries received (${repeats} repeats) over ${receiver.connections} connections; delivered by node: ${per.join(', ')}`);
    assert.equal(repeats, 0, 'no repeats when nothing fails');
    assert.ok(receiver.connections <= events.length / 4, 'connections are kept between deliveries');
    for (const c of clients) c.close();
  });

  test('a receiver down for 20 s: everything once more or once, in order, after it is back', async () => {
    const a = await new Client(nodes[0], 'da').connect();
    const b = await new Client(nodes[2], 'db').connect();
    await a.join('outage'); await b.join('outage'); await a.join('outage2');
    receiver.got = [];
    await receiver.stop();
    const downAt = Date.now();
    const stored = [];
    while (Date.now() - downAt < 20000) {
      stored.push(await a.ask({ type: 'send', room: 'outage', text: `while down ${stored.length}` }));
      stored.push(await b.ask({ type: 'send', room: 'outage', text: `while down ${stored.length}` }));
      stored.push(await a.ask({ type: 'send', room: 'outage2', text: `while down ${stored.length}` }));
      await new Promise((r) => setTimeout(r, 400));
    }
    const failedBefore = (await nodes[0].metrics())['chatnode_webhook_deliveries_total{result="failed"}'];
    assert.ok(failedBefore >= 1, 'the node saw its posts fail');
    await receiver.start();
    const backAt = Date.now();
    const want = new Set(stored.map((e) => `${e.room}/${e.id}`));
    await waitFor(() => {
      const got = new Set(receiver.taken().map((e) => `${e.room}/${e.id}`));
      return [...want].every((k) => got.has(k));
    }, 'the backlog received once the receiver is back', 60000);
    const events = receiver.taken();
    const rooms = byRoom(events);
    assertOrdered(rooms);
    const repeats = [...rooms.values()].reduce((n, r) => n + r.repeats, 0);
    const backlog = (await nodes[0].metrics()).chatnode_webhook_backlog_seconds;
    console.log(`# receiver down 20 s: ${want.size} entries stored meanwhile, all received ${Date.now() - backAt} ms after it came back; ${events.length} deliveries, ${repeats} repeats; ${failedBefore} failed posts on w1`);
    assert.ok(repeats <= 2, 'at most the entry in flight per room comes twice');
    await waitFor(async () => (await nodes[0].metrics()).chatnode_webhook_rooms_pending === 0, 'no backlog left', 10000);
    assert.ok(backlog <= 60);
    a.close(); b.close();
  });

  test('the delivering node SIGKILLed: another takes its rooms over, nothing lost, order kept', async () => {
    const victim = nodes[0];
    const a = await new Client(victim, 'ka').connect();
    const b = await new Client(nodes[1], 'kb').connect();
    await a.join('crash'); await b.join('crash');
    receiver.got = [];
    receiver.delayMs = 50; // a backlog builds up on the victim
    const stored = await sendAll(a, 'crash', 120, 'before the kill');
    await waitFor(() => receiver.taken().length >= 10, 'the victim delivering');
    victim.kill('SIGKILL');
    const killedAt = Date.now();
    const got0 = receiver.taken().length;
    // The survivors go on: entries stored after the kill come after the rest.
    const later = await sendAll(b, 'crash', 10, 'after the kill');
    receiver.delayMs = 0;
    const want = new Set([...stored, ...later].map((e) => `${e.room}/${e.id}`));
    await waitFor(() => {
      const got = new Set(receiver.taken().map((e) => `${e.room}/${e.id}`));
      return [...want].every((k) => got.has(k));
    }, 'everything received after the takeover', 60000);
    const events = receiver.taken();
    const rooms = byRoom(events);
    assertOrdered(rooms);
    const takeovers = (await nodes[1].metrics()).chatnode_webhook_takeovers_total +
      (await nodes[2].metrics()).chatnode_webhook_takeovers_total;
    console.log(`# delivering node killed after ${got0} of 120 received: the rest received ${Date.now() - killedAt} ms after the kill; ${events.length} deliveries, ${rooms.get('crash').repeats} repeats; takeovers ${takeovers}`);
    assert.ok(takeovers >= 1, 'a survivor took the room over');
    assert.ok(rooms.get('crash').repeats <= 1, 'at most the entry in flight comes twice');
    a.close(); b.close();
    nodes[0] = await new Node('w1', redis.url, env()).start();
  });
});

describe('webhooks on a node alone', () => {
  let receiver, node;
  before(async () => {
    receiver = await new Receiver().start();
    node = await new Node('solo', '', { CHATNODE_WEBHOOKS_URL: receiver.url, CHATNODE_WEBHOOKS_SECRET: HOOK_SECRET,
      CHATNODE_AUTH_SECRET: AUTH_SECRET,
      CHATNODE_WEBHOOKS_PRIVATE: 'true', CHATNODE_WEBHOOKS_RETRY_FOR_SECONDS: '4', CHATNODE_LOG_LEVEL: 'info' }).start();
  });
  after(async () => {
    await node?.stop();
    await receiver?.stop();
  });

  test('private rooms and direct conversations are sent with private = true', async () => {
    const al = await new Client(node, 'al').connect();
    const bo = await new Client(node, 'bo').connect();
    await signedJoin(al, '_team');
    await signedJoin(bo, 'lobby');
    const said = await al.ask({ type: 'send', room: '_team', text: 'internal' });
    al.send({ type: 'dm', user: 'bo' });
    const opened = await waitFor(() => al.events.find((e) => e.type === 'joined' && e.dm), 'the conversation opened');
    const dm = opened.room;
    const direct = await al.ask({ type: 'send', room: dm, text: 'just us' });
    await waitFor(() => receiver.taken().some((e) => e.id === direct.id && e.room === dm), 'the direct message received');
    assert.ok(receiver.taken().some((e) => e.id === said.id && e.room === '_team'));
    al.close(); bo.close();
  });

  test('a receiver answering 500 forever: retried with backoff, dropped after retry_for, the room goes on', async () => {
    const al = await new Client(node, 'al2').connect();
    await signedJoin(al, 'broken');
    receiver.got = [];
    receiver.mode = '500';
    const first = await al.ask({ type: 'send', room: 'broken', text: 'never taken' });
    const second = await al.ask({ type: 'send', room: 'broken', text: 'waits behind it' });
    await waitFor(async () => (await node.metrics())['chatnode_webhook_deliveries_total{result="dropped"}'] === 1,
      'the first entry dropped after retry_for', 15000);
    const failed = receiver.got.filter((d) => d.mode === '500').map((d) => ({ ...d, id: JSON.parse(d.body).id }));
    const tries = failed.filter((d) => d.id === first.id);
    assert.ok(tries.length >= 3, 'tried at least three times');
    const lastOfFirst = failed.lastIndexOf(tries.at(-1));
    assert.ok(failed.slice(0, lastOfFirst).every((d) => d.id === first.id), 'the later entry waits behind the failing one');
    const gaps = tries.slice(1).map((d, i) => d.at - tries[i].at);
    assert.ok(gaps[1] >= gaps[0] * 1.5, `backoff grows (${gaps.join(', ')} ms)`);
    receiver.mode = 'ok';
    await waitFor(() => receiver.taken().some((e) => e.id === second.id), 'the next entry sent once the first is dropped', 15000);
    const m = await node.metrics();
    console.log(`# 500 forever: ${tries.length} tries of the first entry ${gaps.join(' ms, ')} ms apart; dropped ${m['chatnode_webhook_deliveries_total{result="dropped"}']}`);
    assert.ok(!receiver.taken().some((e) => e.id === first.id), 'the dropped entry is not sent again');
    assert.equal(m['chatnode_webhook_deliveries_total{result="dropped"}'], 1);
    assert.match(node.stdout + node.stderr, /webhook_dropped/);
    al.close();
  });

  test('a redirect is not followed, and a receiver that never answers is given up on after 10 s and tried again', async () => {
    const al = await new Client(node, 'al3').connect();
    await signedJoin(al, 'odd');
    receiver.got = [];
    receiver.mode = 'redirect';
    const dropped = async () => (await node.metrics())['chatnode_webhook_deliveries_total{result="dropped"}'];
    const droppedBefore = await dropped();
    await al.ask({ type: 'send', room: 'odd', text: 'where to?' });
    await waitFor(async () => (await dropped()) >= droppedBefore + 1, 'the redirected entry dropped after retry_for', 15000);
    const redirects = receiver.got.length;
    assert.ok(redirects >= 2, 'tried again after a redirect');
    assert.equal(receiver.redirected, 0, 'the redirect is not followed');
    receiver.mode = 'hang';
    const said = await al.ask({ type: 'send', room: 'odd', text: 'anyone?' });
    await waitFor(() => receiver.got.length >= redirects + 2, 'a try after the hung one', 30000);
    const hung = receiver.got.slice(redirects);
    const waited = hung[1].at - hung[0].at;
    console.log(`# redirect: ${redirects} tries, none followed; a receiver that never answers: tried again ${waited} ms later`);
    assert.ok(waited >= 10000, 'a post waits 10 s for its answer');
    assert.ok(hung.every((d) => JSON.parse(d.body).id === said.id));
    receiver.mode = 'ok';
    al.close();
  });

  test('webhooks need their secret', () => {
    const r = spawnSync(chatnodeBin, ['--config', path.join(sourceDir, 'config/node.toml'), '--check-config'], {
      env: { ...process.env, CHATNODE_WEBHOOKS_URL: 'http://127.0.0.1:9/x' }, encoding: 'utf8' });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /webhooks\.url needs webhooks\.secret/);
    const bad = spawnSync(chatnodeBin, ['--config', path.join(sourceDir, 'config/node.toml'), '--check-config'], {
      env: { ...process.env, CHATNODE_WEBHOOKS_URL: 'ftp://x', CHATNODE_WEBHOOKS_SECRET: HOOK_SECRET }, encoding: 'utf8' });
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /webhooks\.url/);
  });
});
