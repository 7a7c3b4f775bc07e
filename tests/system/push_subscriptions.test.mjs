// (1.2) Push subscriptions and notification levels (PROTOCOL.md,
// "Notifications when away"): kept per user, at most 10, the same endpoint
// again replacing its keys; kept across restarts (the embedded bus's file,
// Redis); `notify` reaches the user's sessions on every node and no one
// else's; refusals for bad input, plain http, no token and push off. On the
// embedded bus, one Redis with two nodes and a Redis Cluster with two nodes.
// Join tokens are made with jose.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createECDH, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SignJWT } from 'jose';
import { Client, Node, Redis, RedisCluster, waitFor } from './lib.mjs';

const SECRET = 'push-subscriptions-secret-0123456789';
const fast = { CHATNODE_REDIS_TIMEOUT_SECONDS: '1', CHATNODE_REDIS_PRESENCE_TTL_SECONDS: '2' };

let scratch;
before(() => { scratch = mkdtempSync(path.join(os.tmpdir(), 'chatnode-push-subs-')); });
after(() => rmSync(scratch, { recursive: true, force: true }));

const token = (sub) => new SignJWT({ rooms: '*' }).setProtectedHeader({ alg: 'HS256' }).setSubject(sub)
  .setExpirationTime('1h').sign(new TextEncoder().encode(SECRET));

/** A browser's subscription keys, as PushSubscription.toJSON() gives them. */
function browserKeys() {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  return { p256dh: ecdh.getPublicKey().toString('base64url'), auth: randomBytes(16).toString('base64url') };
}

class Person extends Client {
  async enter(room) {
    const from = this.events.length;
    this.send({ type: 'join', room, name: this.name, token: await token(this.name) });
    const got = await waitFor(() => this.events.slice(from).find((e) => (e.type === 'joined' && e.room === room) || e.type === 'error'),
      `${this.name} joining ${room}`);
    assert.equal(got.type, 'joined', JSON.stringify(got));
    return this;
  }
  subscribe(endpoint, keys = browserKeys()) { return this.ask({ type: 'push_subscribe', endpoint, keys }); }
  unsubscribe(endpoint) { return this.ask({ type: 'push_unsubscribe', endpoint }); }
}

async function person(node, name, room = 'lobby') {
  const p = await new Person(node, name).connect();
  return room ? p.enter(room) : p;
}

const endpoint = (i) => `https://push.example.net/send/ann-${i}`;

/** The story on two nodes (or one node twice); `restart` restarts the deployment. */
async function story(nodes, restart) {
  const [a, b] = nodes;
  const ann1 = await person(a, 'ann');
  const ann2 = await person(b, 'ann'); // her phone, on the other node
  const bob = await person(b, 'bob');
  try {
    const first = await ann1.subscribe(endpoint(0));
    assert.deepEqual({ type: first.type, endpoint: first.endpoint }, { type: 'push_subscribed', endpoint: endpoint(0) });
    for (let i = 1; i < 10; i++)
      assert.equal((await (i % 2 ? ann2 : ann1).subscribe(endpoint(i))).type, 'push_subscribed', `subscription ${i}`);
    const eleventh = await ann1.subscribe(endpoint(10));
    assert.deepEqual([eleventh.type, eleventh.code], ['error', 'forbidden'], JSON.stringify(eleventh));
    assert.match(eleventh.reason, /at most 10 push subscriptions per user/);
    assert.equal((await ann2.subscribe(endpoint(3))).type, 'push_subscribed', 'the same endpoint again: its keys renewed');
    assert.equal((await bob.subscribe('https://push.example.net/send/bob')).type, 'push_subscribed',
      'another user\'s are counted apart');

    // Levels: ann's sessions on both nodes hear hers, bob hears nothing.
    const seen = { ann2: ann2.events.length, bob: bob.events.length };
    ann1.send({ type: 'notify', room: 'lobby', level: 'none', cid: 'n1' });
    const told = await waitFor(() => ann2.events.slice(seen.ann2).find((e) => e.type === 'notify'), 'ann\'s phone told the level');
    assert.deepEqual(told, { type: 'notify', room: 'lobby', level: 'none' });
    await waitFor(() => ann1.events.find((e) => e.type === 'notify'), 'ann\'s desktop told the level');
    const bobWatch = bob.events.length;
    bob.send({ type: 'notify', room: 'lobby', level: 'all' });
    await waitFor(() => bob.events.slice(bobWatch).find((e) => e.type === 'notify'), 'bob told his own level');
    assert.equal(bob.events.slice(seen.bob).filter((e) => e.type === 'notify').length, 1, 'bob hears only his own');
    assert.equal(ann2.events.slice(seen.ann2).filter((e) => e.type === 'notify').length, 1, 'ann hears only hers');

    // Levels are kept for at most 1,000 rooms a user: 999 more are taken
    // (each told to both devices), the next refused, a kept one changed.
    const before = ann2.events.length;
    for (let i = 1; i < 1000; i++) ann1.send({ type: 'notify', room: `room-${i}`, level: 'all' });
    await waitFor(() => ann2.events.slice(before).filter((e) => e.type === 'notify').length === 999,
      'the phone told of 999 more levels', 30000);
    const tooMany = await ann1.ask({ type: 'notify', room: 'room-1000', level: 'all' });
    assert.deepEqual([tooMany.type, tooMany.code, tooMany.reason],
      ['error', 'forbidden', 'levels are kept for at most 1000 rooms per user']);
    ann1.send({ type: 'notify', room: 'room-7', level: 'mentions' });
    await waitFor(() => ann2.events.find((e) => e.type === 'notify' && e.room === 'room-7' && e.level === 'mentions'),
      'a kept level changed');

    // Kept across a restart: still ten, so an eleventh is still refused.
    for (const c of [ann1, ann2, bob]) c.close();
    const after = await restart();
    const back = await person(after[after.length - 1], 'ann');
    try {
      assert.equal((await back.subscribe(endpoint(10))).code, 'forbidden', 'the ten outlived the restart');
      // Every level of hers, for a page to show (and none of bob's).
      const levels = await back.ask({ type: 'notify_levels' });
      assert.equal(levels.type, 'notify_levels', JSON.stringify(levels).slice(0, 200));
      assert.equal(Object.keys(levels.levels).length, 1000);
      assert.deepEqual([levels.levels.lobby, levels.levels['room-7'], levels.levels['room-8']], ['none', 'mentions', 'all']);
      const gone = await back.unsubscribe(endpoint(4));
      assert.deepEqual({ type: gone.type, endpoint: gone.endpoint }, { type: 'push_unsubscribed', endpoint: endpoint(4) });
      assert.equal((await back.unsubscribe(endpoint(4))).type, 'push_unsubscribed', 'forgetting twice is no error');
      assert.equal((await back.subscribe(endpoint(10))).type, 'push_subscribed', 'room for one more');
    } finally {
      back.close();
    }
    return after;
  } finally {
    for (const c of [ann1, ann2, bob]) c.close();
  }
}

describe('on the embedded bus', () => {
  test('kept in the node\'s file, readable by the node alone', async () => {
    const dir = path.join(scratch, 'alone');
    const env = { CHATNODE_AUTH_SECRET: SECRET, CHATNODE_PUSH_KEY_FILE: path.join(dir, 'vapid.pem') };
    let node = await new Node('alone', '', env).start();
    try {
      node = (await story([node, node], async () => {
        await node.stop();
        node = await new Node('alone', '', env).start();
        return [node];
      }))[0];
      const file = path.join(dir, 'subscriptions.json');
      assert.equal(statSync(file).mode & 0o777, 0o600);
      const kept = JSON.parse(readFileSync(file, 'utf8'));
      assert.equal(kept.subscriptions.ann.length, 10);
      assert.deepEqual(Object.keys(kept.subscriptions.ann[0]).sort(), ['auth', 'endpoint', 'p256dh']);
      assert.equal(Object.keys(kept.levels.ann).length, 1000);
      assert.deepEqual([kept.levels.ann.lobby, kept.levels.ann['room-7'], kept.levels.bob], ['none', 'mentions', { lobby: 'all' }]);
    } finally {
      await node.stop();
    }
  });

  test('refused: bad keys, plain http, bad levels, no token, push off', async () => {
    const node = await new Node('refusals', '', { CHATNODE_AUTH_SECRET: SECRET,
      CHATNODE_PUSH_KEY_FILE: path.join(scratch, 'refusals', 'vapid.pem') }).start();
    try {
      const ann = await person(node, 'ann');
      const bad = async (request, reason) => {
        const r = await ann.ask(request);
        assert.deepEqual([r.type, r.code], ['error', 'bad_request'], JSON.stringify(r));
        assert.match(r.reason, reason);
      };
      const keys = browserKeys();
      await bad({ type: 'push_subscribe', endpoint: 'http://push.example.net/x', keys }, /endpoint must be https/);
      await bad({ type: 'push_subscribe', endpoint: 'ftp://push.example.net/x', keys }, /http\(s\) URL/);
      await bad({ type: 'push_subscribe', endpoint: `https://${'x'.repeat(2100)}`, keys }, /at most 2048 bytes/);
      await bad({ type: 'push_subscribe', endpoint: 'https://push.example.net/x' }, /keys must be an object/);
      await bad({ type: 'push_subscribe', endpoint: 'https://push.example.net/x', keys: { ...keys, p256dh: keys.p256dh.slice(1) } },
        /p256dh must be a P-256 public key/);
      await bad({ type: 'push_subscribe', endpoint: 'https://push.example.net/x', keys: { ...keys, auth: 'not base64url!!!!!!!!!' } },
        /auth must be 16 bytes/);
      await bad({ type: 'notify', room: 'lobby', level: 'loud' }, /level must be all, mentions or none/);
      await bad({ type: 'notify', level: 'all' }, /room/);
      const stranger = await new Person(node, 'stranger').connect(); // no token yet: nobody
      const r = await stranger.ask({ type: 'push_subscribe', endpoint: 'https://push.example.net/x', keys });
      assert.deepEqual([r.code, r.reason], ['forbidden', 'join a room with your token first: it says who you are']);
      for (const c of [ann, stranger]) c.close();
    } finally {
      await node.stop();
    }
    const open = await new Node('open', '', { CHATNODE_PUSH_KEY_FILE: path.join(scratch, 'open', 'vapid.pem') }).start();
    try {
      const c = await new Client(open, 'ann').connect();
      await c.join('lobby');
      const r = await c.ask({ type: 'push_subscribe', endpoint: 'https://push.example.net/x', keys: browserKeys() });
      assert.deepEqual([r.code, r.reason], ['forbidden', 'push notifications need join tokens']);
      c.close();
    } finally {
      await open.stop();
    }
    const off = await new Node('off', '', { CHATNODE_AUTH_SECRET: SECRET, CHATNODE_PUSH_ENABLED: 'false' }).start();
    try {
      const ann = await person(off, 'ann');
      const r = await ann.subscribe('https://push.example.net/x');
      assert.deepEqual([r.code, r.reason], ['unavailable', 'push notifications are off on this node']);
      ann.close();
    } finally {
      await off.stop();
    }
  });

  test('plain http taken where allowed (a local push service)', async () => {
    const node = await new Node('http', '', { CHATNODE_AUTH_SECRET: SECRET, CHATNODE_PUSH_ALLOW_HTTP_ENDPOINTS: 'true',
      CHATNODE_PUSH_KEY_FILE: path.join(scratch, 'http', 'vapid.pem') }).start();
    try {
      const ann = await person(node, 'ann');
      assert.equal((await ann.subscribe('http://127.0.0.1:9/push/ann')).type, 'push_subscribed');
      ann.close();
    } finally {
      await node.stop();
    }
  });
});

/** Two nodes over `url`; after the story, what Redis holds for ann. */
async function overRedis(url, env, cli) {
  const start = () => Promise.all(['r1', 'r2'].map((n) => new Node(n, url, { ...fast, ...env, CHATNODE_AUTH_SECRET: SECRET }).start()));
  let nodes = await start();
  try {
    nodes = await story(nodes, async () => {
      await Promise.all(nodes.map((n) => n.stop()));
      nodes = await start();
      return nodes;
    });
    const subs = cli('HGETALL', 'chatnode:{push:ann}:subs').split('\n').filter(Boolean);
    assert.equal(subs.length, 20, 'ten endpoints with their keys');
    assert.ok(subs.includes(endpoint(10)) && !subs.includes(endpoint(4)));
    const keys = subs[subs.indexOf(endpoint(0)) + 1].split(' ');
    assert.deepEqual(keys.map((k) => Buffer.from(k, 'base64url').length), [65, 16]);
    assert.equal(cli('HGET', 'chatnode:{push:ann}:levels', 'lobby').trim(), 'none');
    assert.equal(cli('HLEN', 'chatnode:{push:ann}:levels').trim(), '1000');
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
  }
}

test('over one Redis, two nodes', async () => {
  const redis = await new Redis().start();
  try {
    await overRedis(redis.url, {}, (...args) => execFileSync('redis-cli', ['-p', String(redis.port), ...args]).toString());
  } finally {
    await redis.destroy();
  }
});

test('over a Redis Cluster, two nodes', async () => {
  const cluster = await new RedisCluster({ masters: 3, replicas: 0 }).start();
  try {
    await overRedis(cluster.url, { CHATNODE_REDIS_MODE: 'cluster' },
      (...args) => execFileSync('redis-cli', ['-c', '-p', String(cluster.nodes[0].port), ...args]).toString());
  } finally {
    await cluster.destroy();
  }
});
