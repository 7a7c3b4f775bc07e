// The server API (README, "Server API"): every endpoint with the key,
// without it, with a wrong one and with bad input, against three real nodes
// over one Redis, with real WebSocket clients on the other nodes seeing what
// it did.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Client, Node, Redis, waitFor } from './lib.mjs';

const KEY = 'api-suite-key-0123456789abcdef';
let redis, open;
const nodes = [];

before(async () => {
  redis = await new Redis().start();
  for (const name of ['a1', 'a2', 'a3'])
    nodes.push(await new Node(name, redis.url, { CHATNODE_API_KEY: KEY, CHATNODE_REDIS_PRESENCE_TTL_SECONDS: '2' }).start());
  open = await new Node('a-off', redis.url).start();
  await waitFor(async () => (await Promise.all([...nodes, open].map((n) => n.ready()))).every(Boolean), 'nodes ready', 20000);
});
after(async () => {
  for (const n of [...nodes, open]) await n?.stop();
  await redis?.destroy();
});

/** An API call: { status, body } (body parsed when JSON). */
async function api(node, method, path, { body, key = KEY } = {}) {
  const headers = key === null ? {} : { authorization: `Bearer ${key}` };
  const res = await fetch(`http://127.0.0.1:${node.port}${path}`, {
    method, headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(10000),
  });
  const text = await res.text();
  let parsed = text;
  try { parsed = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, body: parsed, type: res.headers.get('content-type') };
}

const endpoints = [
  ['GET', '/api/rooms'],
  ['GET', '/api/rooms/lobby/members'],
  ['POST', '/api/rooms/lobby/messages', { user: 'ops', text: 'hi' }],
  ['POST', '/api/rooms/lobby/moderation', { action: 'kick', user: 'x' }],
  ['POST', '/api/users/x/disconnect'],
];

test('without the key, or with a wrong one, every endpoint is refused 401 and does nothing', async () => {
  for (const [method, path, body] of endpoints) {
    for (const key of [null, 'wrong-key-0123456789abcdef', `${KEY}x`, KEY.slice(0, -1)]) {
      const r = await api(nodes[0], method, path, { body, key });
      assert.equal(r.status, 401, `${method} ${path} with key ${key}`);
      assert.equal(r.body.error, 'a valid API key is required');
    }
  }
  const page = await api(nodes[0], 'GET', '/api/rooms');
  assert.ok(!page.body.rooms.some((r) => r.room === 'lobby'), 'nothing was posted');
});

test('a node without a key serves no API at all', async () => {
  const r = await api(open, 'GET', '/api/rooms');
  assert.equal(r.status, 404);
});

test('with the key: a message from a system user reaches clients on other nodes; rooms and members list the truth', async () => {
  const room = 'api-news';
  const reader = await new Client(nodes[1], 'reader').connect();
  await reader.join(room);
  const posted = await api(nodes[0], 'POST', `/api/rooms/${room}/messages`, { body: { user: 'ops', text: 'maintenance at five' } });
  assert.equal(posted.status, 201);
  assert.match(posted.body.id, /^\d+-\d+$/);
  assert.equal(posted.type, 'application/json');
  const seen = await waitFor(() => reader.events.find((e) => e.type === 'message' && e.id === posted.body.id), 'the reader on another node');
  assert.deepEqual([seen.user, seen.text], ['ops', 'maintenance at five']);
  // The same cid twice: stored once.
  const again = await api(nodes[2], 'POST', `/api/rooms/${room}/messages`, { body: { user: 'ops', text: 'once', cid: 'c1' } });
  const twice = await api(nodes[2], 'POST', `/api/rooms/${room}/messages`, { body: { user: 'ops', text: 'once', cid: 'c1' } });
  assert.deepEqual([again.status, twice.status, twice.body.id], [201, 200, again.body.id]);

  const members = await api(nodes[2], 'GET', `/api/rooms/${room}/members`);
  assert.deepEqual(members.body, { room, members: ['reader'] });
  await waitFor(async () => (await api(nodes[0], 'GET', '/api/rooms')).body.rooms
    .some((r) => r.room === room && r.members === 1 && r.last_ts >= Number(posted.body.id.split('-')[0])), 'the room in the listing');
  reader.close();
});

test('with the key: kick, ban and unban on every node; disconnect closes the user everywhere', async () => {
  const room = 'api-mod';
  const al = [];
  for (const n of nodes) {
    const c = await new Client(n, 'al').connect();
    await c.join(room);
    al.push(c);
  }
  const kicked = await api(nodes[0], 'POST', `/api/rooms/${room}/moderation`, { body: { action: 'kick', user: 'al' } });
  assert.equal(kicked.status, 200);
  assert.deepEqual([kicked.body.type, kicked.body.action, kicked.body.by], ['moderation', 'kick', 'api']);
  for (const c of al) await waitFor(() => c.events.some((e) => e.type === 'kicked' && e.by === 'api'), `al on ${c.node.name} kicked`);
  const banned = await api(nodes[1], 'POST', `/api/rooms/${room}/moderation`, { body: { action: 'ban', user: 'al', seconds: 3600 } });
  assert.ok(banned.body.until > Date.now());
  al[2].send({ type: 'join', room, name: 'al' });
  await waitFor(() => al[2].events.some((e) => e.type === 'error' && e.code === 'forbidden'), 'the banned join refused');
  await api(nodes[2], 'POST', `/api/rooms/${room}/moderation`, { body: { action: 'unban', user: 'al' } });
  for (const c of al) await c.join(room);

  const gone = await api(nodes[0], 'POST', '/api/users/al/disconnect');
  assert.equal(gone.status, 202);
  await waitFor(() => al.every((c) => c.closeCode === 1008), 'al closed on every node with 1008');
  const metrics = await nodes[1].metrics();
  assert.ok(metrics['chatnode_moderations_total{action="ban"}'] >= 1);
});

test('bad input: a clear 4xx for each, nothing done', async () => {
  const cases = [
    ['POST', '/api/rooms/lobby/messages', '{"user":"ops"', 400],
    ['POST', '/api/rooms/lobby/messages', '[1,2]', 400],
    ['POST', '/api/rooms/lobby/messages', { user: '', text: 'x' }, 400],
    ['POST', '/api/rooms/lobby/messages', { user: 'ops' }, 400],
    ['POST', '/api/rooms/lobby/messages', { user: 'ops', text: 'x'.repeat(4001) }, 413],
    ['POST', '/api/rooms/bad%20room/messages', { user: 'ops', text: 'x' }, 400],
    ['POST', '/api/rooms/lobby/moderation', { action: 'smite', user: 'x' }, 400],
    ['POST', '/api/rooms/lobby/moderation', { action: 'ban', user: 'x', seconds: -5 }, 400],
    ['POST', '/api/rooms/lobby/moderation', { action: 'ban' }, 400],
    ['GET', '/api/rooms/lobby/messages', undefined, 404],
    ['GET', '/api/nothing', undefined, 404],
    ['DELETE', '/api/rooms', undefined, 405],
  ];
  for (const [method, path, body, status] of cases) {
    const r = await api(nodes[0], method, path, { body });
    assert.equal(r.status, status, `${method} ${path} ${JSON.stringify(body)?.slice(0, 60)}: ${JSON.stringify(r.body)}`);
    assert.equal(typeof r.body.error, 'string');
  }
  assert.ok(!(await api(nodes[0], 'GET', '/api/rooms')).body.rooms.some((r) => r.room === 'lobby'));
});
