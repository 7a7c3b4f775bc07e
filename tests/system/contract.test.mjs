// The bus contract (actors/contracts/bus_interface.hpp), the same cases over every bus a node
// can run on: the embedded bus (one node), one Redis (two nodes), a Redis
// Cluster (two nodes) and that cluster with wait_replicas = 1. Real
// chatnode processes and real WebSocket clients; on the buses that join
// nodes, the clients of each case sit on both of them.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client, Node, Redis, RedisCluster, audit, waitFor } from './lib.mjs';

const fast = { CHATNODE_REDIS_TIMEOUT_SECONDS: '1', CHATNODE_REDIS_PRESENCE_TTL_SECONDS: '2' };

const buses = [
  { name: 'the embedded bus', nodes: 1, start: async () => ({ url: '', env: {}, stop: async () => {} }) },
  {
    name: 'one Redis', nodes: 2,
    start: async () => {
      const redis = await new Redis().start();
      return { url: redis.url, env: fast, stop: () => redis.destroy() };
    },
  },
  {
    name: 'a Redis Cluster', nodes: 2,
    start: async () => {
      const cluster = await new RedisCluster({ masters: 3, replicas: 1 }).start();
      return { url: cluster.url, env: { ...fast, CHATNODE_REDIS_MODE: 'cluster' }, stop: () => cluster.destroy(), cluster };
    },
  },
  {
    name: 'a Redis Cluster with wait_replicas = 1', nodes: 2,
    start: async () => {
      const cluster = await new RedisCluster({ masters: 3, replicas: 1 }).start();
      return { url: cluster.url, env: { ...fast, CHATNODE_REDIS_MODE: 'cluster', CHATNODE_REDIS_WAIT_REPLICAS: '1' },
        stop: () => cluster.destroy() };
    },
  },
];

for (const bus of buses) {
  describe(`the bus contract on ${bus.name}`, () => {
    let backend;
    const nodes = [];
    /** The node a case's i-th client uses: alternating over the nodes. */
    const on = (i) => nodes[i % nodes.length];
    let rooms = 0;
    const fresh = () => `contract${++rooms}`;

    before(async () => {
      backend = await bus.start();
      for (let i = 1; i <= bus.nodes; i++) {
        const args = backend.url ? [backend.url, backend.env] : ['', {}];
        nodes.push(await new Node(`k${i}`, ...args).start());
      }
      await waitFor(async () => (await Promise.all(nodes.map((n) => n.ready()))).every(Boolean), 'nodes ready', 20000);
    });
    after(async () => {
      for (const n of nodes) await n.stop();
      await backend?.stop();
    });

    test('messages from several senders reach every member once, in one order for all', async () => {
      const room = fresh();
      const members = [];
      for (let i = 0; i < 4; i++) {
        const c = await new Client(on(i), `m${i}`).connect();
        await c.join(room);
        members.push(c);
      }
      const each = 50;
      for (let k = 0; k < each; k++) for (const c of members) c.send({ type: 'send', room, text: `${c.name} ${k}`, cid: `${k}` });
      const total = each * members.length;
      await waitFor(() => members.every((c) => c.ids(room).length >= total), 'every member to have every message');
      for (const c of members) {
        const a = audit(c.ids(room));
        assert.equal(a.duplicates, 0, `${c.name} got duplicates`);
        assert.equal(a.outOfOrder, 0, `${c.name} got messages out of order`);
        assert.deepEqual(c.ids(room), members[0].ids(room), `${c.name}: one order for all`);
      }
      for (const c of members) c.close();
    });

    test('a send repeated with its cid is answered with the same message and stored once', async () => {
      const room = fresh();
      const a = await new Client(on(0), 'ann').connect();
      await a.join(room);
      const b = await new Client(on(1), 'ben').connect();
      await b.join(room);
      a.send({ type: 'send', room, text: 'once', cid: 'same' });
      await waitFor(() => a.messages(room).some((m) => m.cid === 'same'), 'the first answer');
      a.send({ type: 'send', room, text: 'once', cid: 'same' });
      await waitFor(() => a.messages(room).filter((m) => m.cid === 'same').length === 2, 'the repeat answered');
      const [first, again] = a.messages(room).filter((m) => m.cid === 'same');
      assert.equal(again.id, first.id, 'the same message');
      // A marker after it: once it arrives, the repeat would have too.
      a.send({ type: 'send', room, text: 'marker', cid: 'marker' });
      await waitFor(() => b.messages(room).some((m) => m.cid === 'marker'), 'the marker');
      assert.equal(b.messages(room).filter((m) => m.cid === 'same').length, 1, 'the others see it once');
      const c = await new Client(on(1), 'cat').connect();
      await c.join(room);
      assert.deepEqual(c.messages(room).map((m) => m.text), ['once', 'marker'], 'history holds it once');
      for (const x of [a, b, c]) x.close();
    });

    test('a join with since gets exactly what came after it; history pages back through everything', async () => {
      const room = fresh();
      const writer = await new Client(on(0), 'wes').connect();
      await writer.join(room);
      for (let k = 0; k < 30; k++) writer.send({ type: 'send', room, text: `early ${k}`, cid: `e${k}` });
      await waitFor(() => writer.ids(room).length === 30, 'the early messages');
      const since = writer.ids(room)[19];
      for (let k = 0; k < 5; k++) writer.send({ type: 'send', room, text: `late ${k}`, cid: `l${k}` });
      await waitFor(() => writer.ids(room).length === 35, 'the late messages');
      const resumer = await new Client(on(1), 'ria').connect();
      const joined = await resumer.join(room, since);
      assert.deepEqual(joined.history.map((m) => m.id), writer.ids(room).slice(20), 'every message after since, nothing else');
      // Paging back from the newest, 8 at a time.
      const paged = [];
      let beforeId;
      for (let page = 0; page < 10; page++) {
        const n = resumer.events.length;
        resumer.send({ type: 'history', room, limit: 8, ...(beforeId ? { before: beforeId } : {}) });
        const reply = await waitFor(() => resumer.events.slice(n).find((e) => e.type === 'history'), 'a history page');
        paged.unshift(...reply.messages.map((m) => m.id));
        if (!reply.more) break;
        beforeId = reply.messages[0].id;
      }
      assert.deepEqual(paged, writer.ids(room), 'the pages hold every message once, in order');
      for (const x of [writer, resumer]) x.close();
    });

    test('presence: one join and one leave per name over all its sessions, with counts', async () => {
      const room = fresh();
      const watcher = await new Client(on(0), 'wil').connect();
      await watcher.join(room);
      const tab1 = await new Client(on(1), 'zoe').connect();
      await tab1.join(room);
      await waitFor(() => watcher.presence(room).members.join() === 'wil,zoe', 'zoe to join');
      const tab2 = await new Client(on(0), 'zoe').connect(); // her second tab, on the other node
      await tab2.join(room);
      tab1.close();
      // Her first tab gone, the second still there: she stays.
      const marker = await new Client(on(1), 'max').connect();
      await marker.join(room);
      await waitFor(() => watcher.presence(room).members.includes('max'), 'max to join');
      assert.ok(watcher.presence(room).members.includes('zoe'), 'zoe stays while a tab is there');
      tab2.close();
      await waitFor(() => !watcher.presence(room).members.includes('zoe'), 'zoe to leave', 10000);
      const p = watcher.presence(room);
      assert.deepEqual(p.members, ['max', 'wil']);
      assert.equal(p.count, 2, 'the count agrees');
      assert.deepEqual(p.redundant, [], 'no join or leave that changed nothing');
      for (const x of [watcher, marker]) x.close();
    });

    test('requests sent right after a join, before its joined, are served in order once it is answered', async () => {
      const room = fresh();
      const c = await new Client(on(0), 'eager').connect();
      c.send({ type: 'join', room, name: 'eager' });
      for (let k = 0; k < 20; k++) c.send({ type: 'send', room, text: `early ${k}`, cid: `e${k}` });
      c.send({ type: 'history', room });
      // Stored after the join: in joined's history or as messages after it.
      await waitFor(() => c.messages(room).length === 20, 'all twenty stored');
      assert.deepEqual(c.messages(room).map((m) => m.text), Array.from({ length: 20 }, (_, k) => `early ${k}`));
      assert.ok(!c.events.some((e) => e.type === 'error'), 'nothing refused');
      await waitFor(() => c.events.some((e) => e.type === 'history'), 'the history answered');
      c.close();
    });

    /** The answer to a request after it was sent, found by `pick`. */
    const ask = async (client, request, pick, what) => {
      const n = client.events.length;
      client.send(request);
      return waitFor(() => client.events.slice(n).find(pick), what);
    };
    const stored = (client, room, cid) =>
      waitFor(() => client.messages(room).find((m) => m.cid === cid), `${client.name}'s ${cid}`);

    test('replies and threads: carried back, counted on the root in every snapshot, paged by thread', async () => {
      const room = fresh();
      const a = await new Client(on(0), 'ana').connect();
      await a.join(room);
      const b = await new Client(on(1), 'bob').connect();
      await b.join(room);
      a.send({ type: 'send', room, text: 'root', cid: 'root' });
      const root = await stored(a, room, 'root');
      b.send({ type: 'send', room, text: 'first', cid: 'r1', thread: root.id, reply_to: root.id });
      const first = await stored(b, room, 'r1');
      assert.equal(first.thread, root.id);
      assert.equal(first.reply_to, root.id);
      // A reply to a message in a thread goes into the root's thread.
      a.send({ type: 'send', room, text: 'second', cid: 'r2', thread: first.id });
      const second = await stored(a, room, 'r2');
      assert.equal(second.thread, root.id, 'the root\'s thread');
      assert.equal(second.reply_to, undefined);
      await waitFor(() => b.messages(room).some((m) => m.cid === 'r2'), 'bob to see the second reply');

      const joiner = await new Client(on(1), 'cy').connect();
      const joined = await joiner.join(room);
      const seen = joined.history.find((m) => m.id === root.id);
      assert.equal(seen.replies, 2);
      assert.equal(seen.last_reply, second.ts);
      assert.equal(joined.history.find((m) => m.id === first.id).replies, undefined, 'only roots carry replies');
      assert.deepEqual(joined.history.map((m) => m.id), [root.id, first.id, second.id], 'thread messages are in the room\'s order');
      const page = await ask(joiner, { type: 'history', room }, (e) => e.type === 'history', 'a history page');
      assert.equal(page.messages.find((m) => m.id === root.id).replies, 2);

      const newest = await ask(joiner, { type: 'thread', room, root: root.id, limit: 1 }, (e) => e.type === 'thread', 'a thread page');
      assert.equal(newest.root, root.id);
      assert.deepEqual(newest.messages.map((m) => m.id), [second.id]);
      assert.equal(newest.more, true);
      const older = await ask(joiner, { type: 'thread', room, root: root.id, before: second.id }, (e) => e.type === 'thread', 'an older thread page');
      assert.deepEqual(older.messages.map((m) => m.id), [first.id]);
      assert.equal(older.more, false);

      const refused = await ask(a, { type: 'send', room, text: 'x', cid: 'bad', thread: '1-0' }, (e) => e.type === 'error', 'a refusal');
      assert.equal(refused.code, 'not_found');
      assert.equal(refused.cid, 'bad');
      const quoted = await ask(a, { type: 'send', room, text: 'x', cid: 'bad2', reply_to: '1-0' }, (e) => e.type === 'error', 'a refusal');
      assert.equal(quoted.code, 'not_found');
      const over = await ask(a, { type: 'thread', room, root: root.id, limit: 101 }, (e) => e.type === 'error', 'a refusal');
      assert.equal(over.code, 'bad_request');
      for (const x of [a, b, joiner]) x.close();
    });

    test('a deleted reply leaves its root\'s count, in the delete event and in snapshots', async () => {
      const room = fresh();
      const a = await new Client(on(0), 'ann').connect();
      await a.join(room);
      const b = await new Client(on(1), 'ben').connect();
      await b.join(room);
      a.send({ type: 'send', room, text: 'root', cid: 'root' });
      const root = await stored(a, room, 'root');
      b.send({ type: 'send', room, text: 'one', cid: 'r1', thread: root.id });
      const one = await stored(b, room, 'r1');
      b.send({ type: 'send', room, text: 'two', cid: 'r2', thread: root.id });
      const two = await stored(b, room, 'r2');
      const since = two.id;
      b.send({ type: 'delete', room, target: two.id, cid: 'd2' });
      const deleted = await waitFor(() => a.events.find((e) => e.type === 'delete' && e.target === two.id), 'the delete');
      assert.equal(deleted.thread, root.id);
      assert.equal(deleted.replies, 1);
      assert.equal(deleted.last_reply, one.ts);
      const joiner = await new Client(on(1), 'cat').connect();
      const joined = await joiner.join(room);
      const seen = joined.history.find((m) => m.id === root.id);
      assert.equal(seen.replies, 1);
      assert.equal(seen.last_reply, one.ts);
      const page = await ask(joiner, { type: 'thread', room, root: root.id }, (e) => e.type === 'thread', 'a thread page');
      assert.deepEqual(page.messages.map((m) => [m.id, m.deleted === true]), [[one.id, false], [two.id, true]]);
      // Resumed: the delete comes again, with the root's count.
      const resumer = await new Client(on(0), 'dee').connect();
      await resumer.join(room, since);
      const again = await waitFor(() => resumer.events.find((e) => e.type === 'delete' && e.target === two.id), 'the delete on resume');
      assert.equal(again.replies, 1);
      b.send({ type: 'delete', room, target: one.id, cid: 'd1' });
      const last = await waitFor(() => a.events.find((e) => e.type === 'delete' && e.target === one.id), 'the last delete');
      assert.equal(last.replies, 0);
      assert.equal(last.last_reply, null);
      for (const x of [a, b, joiner, resumer]) x.close();
    });

    test('typing reaches the others in the room and not the typist', async () => {
      const room = fresh();
      const a = await new Client(on(0), 'ada').connect();
      await a.join(room);
      const b = await new Client(on(1), 'bo').connect();
      await b.join(room);
      a.send({ type: 'typing', room });
      await waitFor(() => b.events.some((e) => e.type === 'typing' && e.user === 'ada' && e.room === room), 'bo to see ada typing');
      // A message after it, so the typist would have had its own notice by then.
      a.send({ type: 'send', room, text: 'done', cid: 'd' });
      await waitFor(() => a.messages(room).length === 1, 'the message');
      assert.ok(!a.events.some((e) => e.type === 'typing'), 'the typist is not told of itself');
      for (const x of [a, b]) x.close();
    });
  });
}
