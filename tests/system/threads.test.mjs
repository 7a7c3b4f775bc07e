// Replies and threads (PROTOCOL.md, 1.2) across nodes on a real redis-server,
// and again on a Redis Cluster, with the archive in a real PostgreSQL: what a connected client, a joiner on
// each node, a client resumed with `since` (all three through the client
// library, web/chatnode.mjs) and a reader of `history` and `thread` pages
// only make of the same activity must agree; root counts are right at once
// after concurrent replies from three nodes and after a reply is deleted;
// thread pages continue past the bus's retention from the archive. Each case
// prints the differences it found.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { ChatClient, compareIds } from '../../web/chatnode.mjs';
import { Client, Node, Postgres, Redis, RedisCluster, waitFor } from './lib.mjs';

const fast = { CHATNODE_REDIS_TIMEOUT_SECONDS: '1', CHATNODE_REDIS_PRESENCE_TTL_SECONDS: '2' };

/** A raw client that can ask and wait for the answer. */
class Reader extends Client {
  async ask(request, type) {
    const from = this.events.length;
    this.send(request);
    const answer = await waitFor(() => this.events.slice(from).find((e) => e.type === type || e.type === 'error'),
      `${this.name}: answer to ${request.type}`, 20000);
    assert.equal(answer.type, type, JSON.stringify(answer));
    return answer;
  }
  /** Every page of `request` (history or thread), oldest message first. */
  async pageAll(request, limit) {
    const all = [];
    let beforeId;
    for (let pages = 0; pages < 1000; pages++) {
      const page = await this.ask({ ...request, limit, ...(beforeId ? { before: beforeId } : {}) }, request.type);
      all.unshift(...page.messages);
      if (!page.more) return all;
      assert.ok(page.messages.length > 0, 'a page that says more holds messages');
      beforeId = page.messages[0].id;
    }
    throw new Error('too many pages');
  }
  /** Sends and waits for the echo (or the error) of each request. */
  async store(requests) {
    const want = new Set(requests.map((r) => r.cid));
    for (const r of requests) this.send(r);
    await waitFor(() => {
      for (const e of this.events) if (e.cid && want.has(e.cid) && (e.user === this.name || e.type === 'error')) want.delete(e.cid);
      return want.size === 0;
    }, `${this.name}: ${requests.length} stored`, 20000);
    const cids = new Set(requests.map((r) => r.cid));
    const refused = this.events.filter((e) => e.type === 'error' && cids.has(e.cid));
    assert.deepEqual(refused, [], `${this.name}: nothing refused`);
    return this.events.filter((e) => e.type === 'message' && e.user === this.name && cids.has(e.cid));
  }
}

/** What a view shows of a message: the fields replies and threads touch. */
const shape = (m) => ({ id: m.id, text: m.text, deleted: m.deleted === true, thread: m.thread ?? null,
  reply_to: m.reply_to ?? null, replies: m.replies ?? 0, last_reply: m.last_reply ?? null });

/** The fields on which two views differ, as "id: field". */
function differences(a, b) {
  const out = [];
  const byId = new Map(b.map((m) => [m.id, m]));
  for (const m of a) {
    const other = byId.get(m.id);
    if (!other) { out.push(`${m.id}: missing`); continue; }
    for (const k of Object.keys(m)) if (m[k] !== other[k]) out.push(`${m.id}: ${k} ${m[k]} / ${other[k]}`);
  }
  if (a.length !== b.length) out.push(`length ${a.length} / ${b.length}`);
  return out;
}

/** One Redis, or a Redis Cluster of three masters: the same cases on each. */
const buses = {
  'one Redis': { start: () => new Redis().start(), env: {} },
  'a Redis Cluster': { start: () => new RedisCluster({ masters: 3, replicas: 0 }).start(), env: { CHATNODE_REDIS_MODE: 'cluster' } },
};

for (const [busName, bus] of Object.entries(buses)) describe(`replies and threads over ${busName}, three nodes and an archive`, () => {
  let pg, redis;
  const nodes = [];
  const libraryClients = [];
  before(async () => {
    pg = await new Postgres().start();
    redis = await bus.start();
    const env = { ...fast, ...bus.env, CHATNODE_ARCHIVE_URL: pg.url, CHATNODE_HISTORY_RETENTION: '50' };
    for (const name of ['t1', 't2', 't3']) nodes.push(await new Node(name, redis.url, env).start());
    await waitFor(async () => (await Promise.all(nodes.map((n) => n.ready()))).every(Boolean), 'nodes ready', 20000);
  });
  after(async () => {
    for (const c of libraryClients) c.close();
    for (const n of nodes) await n.stop().catch(() => {});
    await redis?.destroy();
    await pg?.destroy();
  });

  const library = (node, name) => {
    const c = new ChatClient({ url: `ws://127.0.0.1:${node.port}/ws`, name, WebSocket });
    libraryClients.push(c);
    return c.connect();
  };
  const joinedRoom = async (client, name) => {
    const room = client.room(name);
    const done = new Promise((resolve) => { const off = room.on('joined', () => { off(); resolve(); }); });
    room.join();
    await done;
    return room;
  };
  const readers = async (room) => {
    const out = [];
    for (const [i, n] of nodes.entries()) {
      const r = await new Reader(n, `w${i}`).connect();
      await r.join(room);
      out.push(r);
    }
    return out;
  };
  const reply = (root, text, cid, extra = {}) => ({ type: 'send', room: '', text, cid, thread: root, ...extra });

  test('a connected client, a joiner on each node, a resumed client and a pages reader see the same', async () => {
    const name = 'weave';
    const writers = await readers(name);
    const at = (req) => ({ ...req, room: name });
    const [a, b] = await writers[0].store([at({ type: 'send', text: 'root a', cid: 'ra' }), at({ type: 'send', text: 'root b', cid: 'rb' })]);
    const live = await joinedRoom(await library(nodes[0], 'live'), name);
    const liveThread = live.thread(a.id);
    const resumerClient = await library(nodes[1], 'resumer');
    const resumer = await joinedRoom(resumerClient, name);
    // Before the resumer goes: a reply from each node, one of which is deleted later.
    const early = [];
    for (const [i, w] of writers.entries()) early.push(...await w.store([at(reply(a.id, `early ${i}`, `e${i}`))]));
    await waitFor(() => resumer.get(a.id)?.replies === 3, 'the resumer to count the early replies');
    resumerClient.wantOpen = false;
    resumerClient.ws.close();
    await waitFor(() => !resumerClient.connected, 'the resumer offline');

    // While it is away: concurrent replies from three nodes into both threads,
    // a reply to a thread message, a quote, deletes, and replies after them.
    await Promise.all(writers.map((w, i) => w.store([0, 1, 2].flatMap((k) => [
      at(reply(a.id, `a ${i}.${k}`, `a${i}.${k}`)), at(reply(b.id, `b ${i}.${k}`, `b${i}.${k}`))]))));
    await writers[1].store([at(reply(early[0].id, 'nested', 'n', { reply_to: early[0].id }))]);
    await writers[0].store([at({ type: 'delete', target: early[0].id, cid: 'd0' })]);
    const bReplies = writers[2].events.filter((e) => e.type === 'message' && e.thread === b.id && e.user === 'w2');
    await writers[2].store([at({ type: 'delete', target: bReplies.at(-1).id, cid: 'd1' })]);
    await writers[2].store([at(reply(a.id, 'after the deletes', 'late'))]);

    const pages = new Reader(nodes[2], 'pages');
    await pages.connect();
    await pages.join(name);
    const paged = await pages.pageAll({ type: 'history', room: name }, 7);
    const truth = paged.map(shape);
    await waitFor(() => live.messages.length === truth.length && live.get(a.id).replies === truth.find((m) => m.id === a.id).replies,
      'the live client to have everything');
    resumerClient.connect();
    await waitFor(() => resumer.joined && resumer.messages.length === truth.length, 'the resumer back');
    await waitFor(() => resumer.get(bReplies.at(-1).id)?.deleted, 'the resumer to have the deletes');
    const views = { live: live.messages.map(shape), resumed: resumer.messages.map(shape) };
    for (const [i, n] of nodes.entries()) views[`joiner on ${n.name}`] = (await joinedRoom(await library(n, `j${i}`), name)).messages.map(shape);

    let total = 0;
    for (const [who, view] of Object.entries(views)) {
      const diff = differences(view, truth);
      console.log(`# ${who}: ${view.length} messages, differences: ${diff.length}${diff.length ? ` (${diff.join('; ')})` : ''}`);
      total += diff.length;
    }
    assert.equal(total, 0, 'every view agrees with the pages');
    // The counts the pages show are the thread's messages not deleted.
    for (const root of [a, b]) {
      const thread = await pages.pageAll({ type: 'thread', room: name, root: root.id }, 3);
      assert.deepEqual(thread.map((m) => m.id), truth.filter((m) => m.thread === root.id).map((m) => m.id), 'thread pages hold the thread');
      const kept = thread.filter((m) => !m.deleted);
      const shown = truth.find((m) => m.id === root.id);
      assert.equal(shown.replies, kept.length);
      assert.equal(shown.last_reply, kept.at(-1)?.ts ?? null);
    }
    assert.equal(truth.find((m) => m.id === a.id).replies, 3 + 9 + 1 + 1 - 1);
    assert.deepEqual(liveThread.messages.map((m) => m.id), truth.filter((m) => m.thread === a.id).map((m) => m.id),
      'the live client\'s thread has every message of it');
    for (const w of [...writers, pages]) w.close();
  });

  test('counts are right at once after concurrent replies from three nodes, and after a delete', async () => {
    const name = 'rush';
    const writers = await readers(name);
    const [root] = await writers[0].store([{ type: 'send', room: name, text: 'root', cid: 'root' }]);
    // 45 replies: the root stays within the retention (50), where it takes replies.
    await Promise.all(writers.map((w, i) => w.store(Array.from({ length: 15 }, (_, k) =>
      ({ type: 'send', room: name, text: `${i}.${k}`, cid: `${i}.${k}`, thread: root.id })))));
    const replies = writers.flatMap((w) => w.events.filter((e) => e.type === 'message' && e.user === w.name && e.thread === root.id));
    assert.equal(replies.length, 45);
    const newest = replies.reduce((x, y) => (compareIds(x.id, y.id) > 0 ? x : y));
    const oldest = replies.reduce((x, y) => (compareIds(x.id, y.id) < 0 ? x : y));
    // The root as a history page just before the replies shows it.
    const rootOn = async (node, who) => {
      const j = new Reader(node, who);
      await j.connect();
      await j.join(name);
      const page = await j.ask({ type: 'history', room: name, before: oldest.id, limit: 1 }, 'history');
      j.close();
      assert.equal(page.messages[0].id, root.id);
      return page.messages[0];
    };
    for (const n of nodes) {
      const shown = await rootOn(n, `j${n.name}`);
      assert.equal(shown.replies, 45, `a joiner on ${n.name}`);
      assert.equal(shown.last_reply, newest.ts);
    }
    await writers.find((w) => w.name === newest.user).store([{ type: 'delete', room: name, target: newest.id, cid: 'gone' }]);
    const after = await rootOn(nodes[2], 'after');
    assert.equal(after.replies, 44, 'right after the delete, on another node');
    const thread = await writers[0].pageAll({ type: 'thread', room: name, root: root.id }, 100);
    assert.equal(thread.length, 45);
    console.log(`# three nodes, 45 concurrent replies: counted 45, after a delete ${after.replies}, thread pages ${thread.length}`);
    for (const w of writers) w.close();
  });

  test('thread pages continue past the bus\'s retention from the archive, with no gap or duplicate', async () => {
    const name = 'longago';
    const writers = await readers(name);
    const [root] = await writers[0].store([{ type: 'send', room: name, text: 'root', cid: 'root' }]);
    await Promise.all(writers.map((w, i) => w.store(Array.from({ length: 16 }, (_, k) =>
      ({ type: 'send', room: name, text: `${i}.${k}`, cid: `${i}.${k}`, thread: root.id })))));
    const sent = writers.flatMap((w) => w.events.filter((e) => e.type === 'message' && e.user === w.name && e.thread === root.id))
      .map((m) => m.id).sort(compareIds);
    // Other messages push the root and the first replies out of the bus.
    const other = new Reader(nodes[0], 'other');
    await other.connect();
    await other.join(name);
    await other.store(Array.from({ length: 30 }, (_, k) => ({ type: 'send', room: name, text: `other ${k}`, cid: `o${k}` })));
    await waitFor(() => Number(pg.query(`SELECT count(*) FROM archive_messages WHERE room = '${name}'`)[0][0]) === 1 + 48 + 30,
      'the archive to hold every message', 30000);
    const reader = new Reader(nodes[1], 'reader');
    await reader.connect();
    await reader.join(name);
    const thread = await reader.pageAll({ type: 'thread', room: name, root: root.id }, 10);
    const ids = thread.map((m) => m.id);
    console.log(`# thread past retention: sent ${sent.length}, paged ${ids.length}, distinct ${new Set(ids).size}`);
    assert.deepEqual(ids, sent, 'every thread message once, in order, across the seam');
    const history = await reader.pageAll({ type: 'history', room: name }, 100);
    const archivedRoot = history.find((m) => m.id === root.id);
    assert.equal(archivedRoot.replies, 48, 'the archive keeps the root\'s count');
    assert.equal(archivedRoot.last_reply, thread.at(-1).ts);
    for (const w of [...writers, other, reader]) w.close();
  });
});
