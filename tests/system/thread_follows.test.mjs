// Following threads (PROTOCOL.md, "Following threads", 1.2): who follows a
// thread (its root's author, everyone who replied, everyone mentioned in a
// reply), each follower's unread count, and a read position per thread kept
// like the room's, on two devices of one user on different nodes. The same
// story runs on the embedded bus (one node), over one real redis-server
// (two nodes) and on a Redis Cluster (two nodes); every answer is checked
// against what the story makes it.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { Client, Node, Redis, RedisCluster, waitFor } from './lib.mjs';

const retention = 30;
const env = { CHATNODE_HISTORY_RETENTION: String(retention), CHATNODE_REDIS_TIMEOUT_SECONDS: '1',
  CHATNODE_REDIS_PRESENCE_TTL_SECONDS: '2' };

/** A client that asks and waits for the answer of a type. */
class Member extends Client {
  async answer(request, type) {
    const from = this.events.length;
    this.send(request);
    const got = await waitFor(() => this.events.slice(from).find((e) => e.type === type || e.type === 'error'),
      `${this.name}: answer to ${request.type}`, 20000);
    assert.equal(got.type, type, `${this.name}: ${JSON.stringify(got)}`);
    return got;
  }
  async store(request) {
    const got = await this.answer({ ...request, cid: request.cid ?? `c${Math.random().toString(36).slice(2)}` },
      request.type === 'delete' ? 'delete' : 'message');
    return got;
  }
  followed(room) { return this.answer({ type: 'threads', room }, 'threads').then((a) => a.threads); }
}

/** What a `threads` answer says of one thread, without its timestamps. */
const summary = (t) => ({ root: t.root, read: t.read, unread: t.unread, replies: t.replies });

/** The story, on two nodes (the same node twice on the embedded bus). */
async function story(nodeA, nodeB, room) {
  const people = [];
  const member = async (node, name) => {
    const c = await new Member(node, name).connect();
    await c.join(room);
    people.push(c);
    return c;
  };
  const ann1 = await member(nodeA, 'ann');
  const ann2 = await member(nodeB, 'ann'); // the same user on a second device
  const bob = await member(nodeB, 'bob');
  const cat = await member(nodeA, 'cat');
  const dan = await member(nodeB, 'dan');
  try {
    const root = await ann1.store({ type: 'send', room, text: 'Where do we meet on Friday?' });
    const say = (who, text) => who.store({ type: 'send', room, text, thread: root.id });
    const b1 = await say(bob, 'At the station, @cat can you book?');

    // Followers: the root's author, the one who replied (read up to his
    // reply), the one mentioned; not someone who only reads the room.
    assert.deepEqual((await ann1.followed(room)).map(summary), [{ root: root.id, read: null, unread: 1, replies: 1 }]);
    const [annThread] = await ann2.followed(room);
    assert.equal(annThread.last_reply, b1.ts, 'last_reply is the newest reply\'s ts');
    assert.deepEqual((await bob.followed(room)).map(summary), [{ root: root.id, read: b1.id, unread: 0, replies: 1 }]);
    assert.deepEqual((await cat.followed(room)).map(summary), [{ root: root.id, read: null, unread: 1, replies: 1 }]);
    assert.deepEqual(await dan.followed(room), [], 'reading a room follows no thread');
    const notFollowed = await dan.answer({ type: 'thread_read', room, root: root.id, id: b1.id }, 'thread_read');
    assert.deepEqual({ id: notFollowed.id, unread: notFollowed.unread }, { id: null, unread: 0 },
      'a thread not followed has no read position');

    const c1 = await say(cat, 'Booked for 10.');
    const b2 = await say(bob, 'Great, thanks.');
    assert.deepEqual((await cat.followed(room)).map(summary), [{ root: root.id, read: c1.id, unread: 1, replies: 3 }]);
    assert.deepEqual((await bob.followed(room)).map(summary), [{ root: root.id, read: b2.id, unread: 0, replies: 3 }]);

    // Two devices: what one reads, the other is told at once, on another node.
    const seenOn2 = ann2.events.length;
    const moved = await ann1.answer({ type: 'thread_read', room, root: root.id, id: c1.id }, 'thread_read');
    assert.deepEqual({ root: moved.root, id: moved.id, unread: moved.unread }, { root: root.id, id: c1.id, unread: 1 });
    const told = await waitFor(() => ann2.events.slice(seenOn2).find((e) => e.type === 'thread_read'),
      'the second device to hear the first one read');
    assert.deepEqual({ room: told.room, root: told.root, id: told.id, unread: told.unread },
      { room, root: root.id, id: c1.id, unread: 1 });
    assert.deepEqual((await ann2.followed(room)).map(summary), [{ root: root.id, read: c1.id, unread: 1, replies: 3 }]);
    const seenOn1 = ann1.events.length;
    await ann2.answer({ type: 'thread_read', room, root: root.id, id: b2.id }, 'thread_read');
    const back = await waitFor(() => ann1.events.slice(seenOn1).find((e) => e.type === 'thread_read'),
      'the first device to hear the second one read');
    assert.deepEqual({ id: back.id, unread: back.unread }, { id: b2.id, unread: 0 });
    // Never back; an id past the thread's newest stops at it.
    const stays = await ann1.answer({ type: 'thread_read', room, root: root.id, id: b1.id }, 'thread_read');
    assert.deepEqual({ id: stays.id, unread: stays.unread }, { id: b2.id, unread: 0 }, 'a read position never moves back');
    const other = await dan.store({ type: 'send', room, text: 'Unrelated.' });
    const capped = await cat.answer({ type: 'thread_read', room, root: root.id, id: other.id }, 'thread_read');
    assert.deepEqual({ id: capped.id, unread: capped.unread }, { id: b2.id, unread: 0 },
      'a position past the thread stops at its newest message');

    // A deleted reply is not unread; a mention in a reply makes dan follow.
    const d1 = await say(bob, 'Bring umbrellas, @dan.');
    assert.deepEqual((await dan.followed(room)).map(summary), [{ root: root.id, read: null, unread: 4, replies: 4 }]);
    assert.equal((await ann1.followed(room))[0].unread, 1);
    await bob.store({ type: 'delete', room, target: d1.id });
    assert.deepEqual((await ann1.followed(room)).map(summary), [{ root: root.id, read: b2.id, unread: 0, replies: 3 }],
      'a deleted reply is neither unread nor counted');

    // Newest reply first, over two threads.
    const root2 = await cat.store({ type: 'send', room, text: 'Lunch?' });
    await bob.store({ type: 'send', room, text: 'Yes @ann', thread: root2.id });
    assert.deepEqual((await ann1.followed(room)).map((t) => t.root), [root2.id, root.id], 'newest reply first');

    // Not joined: refused.
    const stranger = await new Member(nodeA, 'eve').connect();
    people.push(stranger);
    const refused = await stranger.answer({ type: 'threads', room }, 'error');
    assert.equal(refused.code, 'not_joined');

    // A root that leaves the retained history takes no more replies: nobody follows it.
    // Five more than retained: the bus trims every few messages.
    for (let k = 0; k < retention + 5; k++) await dan.store({ type: 'send', room, text: `filler ${k}` });
    await waitFor(async () => (await ann1.followed(room)).length === 0, 'the follows of roots gone to end');
    const gone = await bob.answer({ type: 'thread_read', room, root: root.id, id: b2.id }, 'thread_read');
    assert.equal(gone.id, null);
    console.log(`# ${room}: followers, unread, two devices, deletes, mentions and retention as the story makes them`);
  } finally {
    for (const c of people) c.close();
  }
}

describe('following threads on the embedded bus', () => {
  let node;
  before(async () => { node = await new Node('solo', '', env).start(); });
  after(async () => { await node?.stop(); });
  test('followers, unread per thread, two devices, deletes, mentions and retention', () => story(node, node, 'embedded'));
});

/** The follow keys a Redis server holds: followers' hashes and users' sets of roots. */
function followKeys(port) {
  const keys = execFileSync('redis-cli', ['-p', String(port), '--scan', '--pattern', '*thread:*'], { encoding: 'utf8' });
  return keys.split('\n').filter((k) => k.endsWith('>') || k.includes('}:thread:@'));
}

describe('following threads over one Redis, two nodes', () => {
  let redis;
  const nodes = [];
  before(async () => {
    redis = await new Redis().start();
    for (const name of ['f1', 'f2']) nodes.push(await new Node(name, redis.url, env).start());
    await waitFor(async () => (await Promise.all(nodes.map((n) => n.ready()))).every(Boolean), 'nodes ready', 20000);
  });
  after(async () => {
    for (const n of nodes) await n.stop().catch(() => {});
    await redis?.destroy();
  });
  test('followers, unread per thread, two devices, deletes, mentions and retention', async () => {
    await story(nodes[0], nodes[1], 'redis');
    assert.deepEqual(followKeys(redis.port), [], 'no follow is left in Redis once the roots are gone');
  });
});

describe('following threads on a Redis Cluster, two nodes', () => {
  let cluster;
  const nodes = [];
  before(async () => {
    cluster = await new RedisCluster({ masters: 3, replicas: 0 }).start();
    const clusterEnv = { ...env, CHATNODE_REDIS_MODE: 'cluster' };
    for (const name of ['k1', 'k2']) nodes.push(await new Node(name, cluster.url, clusterEnv).start());
    await waitFor(async () => (await Promise.all(nodes.map((n) => n.ready()))).every(Boolean), 'nodes ready', 20000);
  });
  after(async () => {
    for (const n of nodes) await n.stop().catch(() => {});
    await cluster?.destroy();
  });
  test('followers, unread per thread, two devices, deletes, mentions and retention', async () => {
    await story(nodes[0], nodes[1], 'cluster');
    assert.deepEqual(cluster.masters().flatMap((m) => followKeys(m.port)), [], 'no follow is left on any shard');
  });
});
