// People and rooms (PROTOCOL.md, 1.1): roles from join tokens, moderation
// (mute, kick, ban, and a moderator's delete), direct conversations and the
// room directory, on the embedded bus (one node), one Redis (three nodes)
// and a Redis Cluster with wait_replicas = 1 (three nodes). Real chatnode
// processes that require join tokens, real WebSocket clients, each user on
// another node where there are several.

import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Client, Node, Redis, RedisCluster, waitFor } from './lib.mjs';

const SECRET = 'people-suite-secret-0123456789';
const fast = { CHATNODE_REDIS_TIMEOUT_SECONDS: '1', CHATNODE_REDIS_PRESENCE_TTL_SECONDS: '2' };

/** A join token as any JWT library would make it (HS256). */
function token(sub, { role, rooms = '*' } = {}) {
  const b64 = (x) => Buffer.from(JSON.stringify(x)).toString('base64url');
  const body = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub, rooms, exp: Math.floor(Date.now() / 1000) + 3600, ...(role ? { role } : {}) })}`;
  return `${body}.${createHmac('sha256', SECRET).update(body).digest('base64url')}`;
}

/** A client that joins with its token. */
class Person extends Client {
  constructor(node, name, options) { super(node, name); this.token = token(name, options); }
  async join(room, since) {
    const from = this.events.length;
    this.send({ type: 'join', room, name: this.name, token: this.token, ...(since ? { since } : {}) });
    return waitFor(() => this.events.slice(from).find((e) => (e.type === 'joined' && e.room === room) || e.type === 'error'),
      `${this.name}: answer to joining ${room}`);
  }
  /** Sends a request; resolves with the first event after it that `match` accepts. */
  async ask(request, match, what) {
    const from = this.events.length;
    this.send(request);
    return waitFor(() => this.events.slice(from).find(match), what ?? `${this.name}: answer to ${request.type}`);
  }
}

const buses = [
  { name: 'the embedded bus', nodes: 1, start: async () => ({ url: '', env: {}, stop: async () => {} }) },
  {
    name: 'one Redis', nodes: 3,
    start: async () => {
      const redis = await new Redis().start();
      return { url: redis.url, env: fast, stop: () => redis.destroy() };
    },
  },
  {
    name: 'a Redis Cluster with wait_replicas = 1', nodes: 3,
    start: async () => {
      const cluster = await new RedisCluster({ masters: 3, replicas: 1 }).start();
      return { url: cluster.url, env: { ...fast, CHATNODE_REDIS_MODE: 'cluster', CHATNODE_REDIS_WAIT_REPLICAS: '1' },
        stop: () => cluster.destroy() };
    },
  },
];

const errorOf = (e) => e.type === 'error';

for (const bus of buses) {
  describe(`people and rooms on ${bus.name}`, () => {
    let backend;
    const nodes = [];
    const on = (i) => nodes[i % nodes.length];
    let rooms = 0;
    const fresh = () => `people${++rooms}`;

    before(async () => {
      backend = await bus.start();
      for (let i = 1; i <= bus.nodes; i++)
        nodes.push(await new Node(`q${i}`, backend.url, { ...backend.env, CHATNODE_AUTH_SECRET: SECRET }).start());
      await waitFor(async () => (await Promise.all(nodes.map((n) => n.ready()))).every(Boolean), 'nodes ready', 20000);
    });
    after(async () => {
      for (const n of nodes) await n.stop();
      await backend?.stop();
    });

    test('moderators mute, kick and ban on every node; members cannot; joined says the role', async (t) => {
      const room = fresh();
      const mo = await new Person(on(0), 'mo', { role: 'moderator' }).connect();
      const al = await new Person(on(1), 'al').connect();
      const bo = await new Person(on(2), 'bo').connect();
      const moJoined = await mo.join(room);
      assert.equal(moJoined.role, 'moderator');
      assert.equal((await al.join(room)).role, undefined);
      await bo.join(room);

      let e = await al.ask({ type: 'moderate', room, action: 'kick', user: 'bo' }, errorOf);
      assert.equal(e.code, 'forbidden');
      e = await mo.ask({ type: 'moderate', room, action: 'shout', user: 'bo' }, errorOf);
      assert.equal(e.code, 'bad_request');

      // Mute: al reads on but cannot write; unmute lifts it.
      const muted = await mo.ask({ type: 'moderate', room, action: 'mute', user: 'al' }, (x) => x.type === 'moderation');
      assert.deepEqual([muted.action, muted.user, muted.by, muted.until], ['mute', 'al', 'mo', null]);
      await waitFor(() => bo.events.some((x) => x.type === 'moderation' && x.id === muted.id), 'bo sees the mute');
      e = await al.ask({ type: 'send', room, text: 'let me speak', cid: 'm1' }, (x) => x.cid === 'm1');
      assert.equal(e.code, 'forbidden');
      await mo.ask({ type: 'moderate', room, action: 'unmute', user: 'al' }, (x) => x.type === 'moderation' && x.action === 'unmute');
      const spoke = await al.ask({ type: 'send', room, text: 'thank you', cid: 'm2' }, (x) => x.cid === 'm2');
      assert.equal(spoke.type, 'message');

      // A moderator deletes anyone's message; a member only their own.
      e = await bo.ask({ type: 'delete', room, target: spoke.id, cid: 'd0' }, (x) => x.cid === 'd0');
      assert.equal(e.code, 'forbidden');
      const removed = await mo.ask({ type: 'delete', room, target: spoke.id, cid: 'd1' }, (x) => x.cid === 'd1');
      assert.equal(removed.type, 'delete');

      // Kick: bo's session on another node leaves the room at once; bo may come back.
      const kickedAt = Date.now();
      mo.send({ type: 'moderate', room, action: 'kick', user: 'bo' });
      const kicked = await waitFor(() => bo.events.find((x) => x.type === 'kicked' && x.room === room), 'bo kicked');
      const kickMs = Date.now() - kickedAt;
      assert.equal(kicked.by, 'mo');
      e = await bo.ask({ type: 'send', room, text: 'still here?', cid: 'k1' }, (x) => x.cid === 'k1');
      assert.equal(e.code, 'not_joined');
      await waitFor(() => mo.presence(room).members.join() === 'al,mo', 'the room sees bo leave');
      assert.equal((await bo.join(room)).type, 'joined', 'a kick is not a ban');

      // Ban: out at once, and every join refused on every node until lifted.
      const bannedAt = Date.now();
      mo.send({ type: 'moderate', room, action: 'ban', user: 'bo' });
      await waitFor(() => bo.events.filter((x) => x.type === 'kicked').length === 2, 'bo put out by the ban');
      const banMs = Date.now() - bannedAt;
      for (let i = 0; i < nodes.length; i++) {
        const again = await new Person(on(i), 'bo').connect();
        const answer = await again.join(room);
        assert.equal(answer.code, 'forbidden', `bo's join on node ${i + 1}`);
        again.close();
      }
      await mo.ask({ type: 'moderate', room, action: 'unban', user: 'bo' }, (x) => x.action === 'unban');
      assert.equal((await bo.join(room)).type, 'joined');

      // A ban for a second ends by itself.
      await mo.ask({ type: 'moderate', room, action: 'ban', user: 'al', seconds: 1 }, (x) => x.action === 'ban' && x.user === 'al');
      const until = mo.events.findLast((x) => x.type === 'moderation' && x.user === 'al').until;
      assert.ok(until > Date.now() - 1000 && until <= Date.now() + 1000);
      assert.equal((await al.join(room)).code, 'forbidden');
      await waitFor(async () => (await al.join(room)).type === 'joined', 'the ban over', 5000);

      // What the room saw is in its order: a joiner resuming gets the events.
      const late = await new Person(on(1), 'late').connect();
      const j = await late.join(room, moJoined.history.at(-1)?.id ?? '0-1');
      assert.equal(j.type, 'joined');
      await waitFor(() => late.events.filter((x) => x.type === 'moderation').length >= 6, 'moderation events on resume');
      t.diagnostic(`kick reached bo's node in ${kickMs} ms, ban in ${banMs} ms`);
      const metrics = await on(0).metrics();
      assert.ok(metrics['chatnode_moderations_total{action="ban"}'] >= 2);
      for (const c of [mo, al, bo, late]) c.close();
    });

    test('direct conversations: only their two users, on any node; nothing learnt by others', async () => {
      const al = await new Person(on(0), 'al').connect();
      const bo = await new Person(on(1), 'bo').connect();
      const cy = await new Person(on(2), 'cy').connect();
      // The connection proves who it is with a token first.
      let e = await al.ask({ type: 'dm', user: 'bo' }, errorOf);
      assert.equal(e.code, 'forbidden');
      await al.join('lobby'); await bo.join('lobby'); await cy.join('lobby');
      e = await al.ask({ type: 'dm', user: 'al' }, errorOf);
      assert.equal(e.code, 'bad_request');

      const opened = await al.ask({ type: 'dm', user: 'bo' }, (x) => x.type === 'joined' && x.dm);
      assert.equal(opened.peer, 'bo');
      assert.match(opened.room, /^_dm\.[0-9a-f]{40}$/);
      const room = opened.room;
      // bo, in another room on another node, hears of it; both can list it.
      const told = await waitFor(() => bo.events.find((x) => x.type === 'conversation'), 'bo told of the conversation');
      assert.deepEqual([told.room, told.peer], [room, 'al']);
      assert.ok(!cy.events.some((x) => x.type === 'conversation'), 'nobody else is told');
      const list = await bo.ask({ type: 'dms' }, (x) => x.type === 'dms');
      assert.deepEqual(list.conversations, [{ room, peer: 'al' }]);
      assert.deepEqual((await cy.ask({ type: 'dms' }, (x) => x.type === 'dms')).conversations, []);
      const other = await bo.ask({ type: 'dm', user: 'al' }, (x) => x.type === 'joined' && x.dm);
      assert.equal(other.room, room, 'the same conversation from either side');
      assert.equal(other.peer, 'al');
      const hi = await al.ask({ type: 'send', room, text: 'psst', cid: 'p1' }, (x) => x.cid === 'p1');
      await waitFor(() => bo.ids(room).includes(hi.id), 'bo gets it on another node');
      // bo's other session joins by the room's name, on a third node.
      const bo2 = await new Person(on(2), 'bo').connect();
      const j = await bo2.join(room);
      assert.equal(j.peer, 'al');
      assert.deepEqual(j.history.map((m) => m.text), ['psst']);

      // cy: every way in is refused alike, and the answer does not tell a
      // real conversation from a made-up name.
      const refusals = [];
      refusals.push(await cy.join(room));
      refusals.push(await cy.join(room, hi.id));
      refusals.push(await cy.join(`_dm.${'0'.repeat(40)}`));
      for (const r of refusals) assert.deepEqual([r.type, r.code, r.reason], ['error', 'forbidden', 'this direct conversation is not yours']);
      e = await cy.ask({ type: 'history', room }, errorOf);
      assert.equal(e.code, 'not_joined');
      e = await cy.ask({ type: 'send', room, text: 'hi', cid: 'c' }, errorOf);
      assert.equal(e.code, 'not_joined');
      assert.ok(!cy.events.some((x) => x.type === 'message' && x.room === room), 'cy saw nothing');
      for (const c of [al, bo, bo2, cy]) c.close();
    });

    test('the directory: counts equal the truth after churn on every node, pages, watchers kept current, unlisted rooms never shown', async (t) => {
      const tag = `dir${rooms++}`;
      const listed = [`${tag}-a`, `${tag}-b`, `${tag}-c`];
      const people = [];
      // Churn: 12 people join and leave rooms on every node; some stay.
      const inRoom = new Map(listed.map((room) => [room, new Set()]));
      for (let i = 0; i < 12; i++) people.push(await new Person(on(i), `p${i}`).connect());
      for (let round = 0; round < 3; round++) {
        for (const [i, p] of people.entries()) {
          const room = listed[(i + round) % 3];
          await p.join(room);
          inRoom.get(room).add(p.name);
          if ((i + round) % 2 === 0) {
            p.send({ type: 'leave', room });
            inRoom.get(room).delete(p.name);
          }
        }
      }
      await people[0].join(`_${tag}-hidden`);
      const al = await new Person(on(0), 'al').connect();
      await al.join('lobby');
      const bo = await new Person(on(1), 'bo').connect();
      await bo.join('lobby');
      await al.ask({ type: 'dm', user: 'bo' }, (x) => x.type === 'joined' && x.dm);
      const expected = Object.fromEntries(listed.map((room) => [room, inRoom.get(room).size]));
      const observer = await new Person(on(2), 'observer').connect();
      const listing = async () => {
        const all = [];
        let cursor = null;
        do {
          const page = await observer.ask({ type: 'rooms', limit: 2, ...(cursor ? { cursor } : {}) }, (x) => x.type === 'rooms');
          all.push(...page.rooms); cursor = page.next;
        } while (cursor);
        return all;
      };
      await waitFor(async () => {
        const all = await listing();
        return listed.every((room) => all.find((r) => r.room === room)?.members === expected[room]);
      }, 'the directory to agree with the rooms', 15000);
      const all = await listing();
      t.diagnostic(`directory: ${listed.map((r) => `${r} ${all.find((x) => x.room === r).members}`).join(', ')}`);
      assert.ok(!all.some((r) => r.room.startsWith('_')), 'unlisted rooms and direct conversations are not listed');
      assert.equal(new Set(all.map((r) => r.room)).size, all.length, 'no room twice across pages');
      for (let i = 1; i < all.length; i++) assert.ok(all[i - 1].members >= all[i].members, 'most members first');

      // A watcher hears a change within a couple of seconds, without asking.
      const watcher = await new Person(on(0), 'watcher').connect();
      await watcher.ask({ type: 'rooms', watch: true }, (x) => x.type === 'rooms');
      const newcomer = await new Person(on(1), 'newcomer').connect();
      await newcomer.join(listed[0]);
      const update = await waitFor(() => watcher.events.find((x) => x.type === 'room_update' && x.room === listed[0]
        && x.members === expected[listed[0]] + 1), 'a room_update for the join', 10000);
      assert.ok(update);
      await newcomer.ask({ type: 'send', room: listed[0], text: 'news', cid: 'n' }, (x) => x.cid === 'n');
      await waitFor(() => watcher.events.some((x) => x.type === 'room_update' && x.room === listed[0] && x.last_ts),
        'a room_update for the message', 10000);
      assert.ok(!watcher.events.some((x) => x.type === 'room_update' && x.room.startsWith('_')));
      for (const c of [...people, al, bo, observer, watcher, newcomer]) c.close();
    });

    if (bus.nodes > 1) {
      test('a ban survives the restart of every node', async () => {
        const room = fresh();
        const mo = await new Person(on(0), 'mo', { role: 'admin' }).connect();
        await mo.join(room);
        await mo.ask({ type: 'moderate', room, action: 'ban', user: 'zed' }, (x) => x.action === 'ban');
        mo.close();
        for (const n of nodes) { await n.stop(); await n.start(); }
        await waitFor(async () => (await Promise.all(nodes.map((n) => n.ready()))).every(Boolean), 'nodes back', 20000);
        for (let i = 0; i < nodes.length; i++) {
          const zed = await new Person(on(i), 'zed').connect();
          assert.equal((await zed.join(room)).code, 'forbidden', `zed on node ${i + 1}`);
          zed.close();
        }
      });
    }
  });
}

describe('without join tokens', () => {
  let node;
  before(async () => { node = await new Node('open', '', {}).start(); });
  after(async () => { await node.stop(); });

  test('direct messages and their rooms are refused, saying why; moderation needs a role nobody has', async () => {
    const c = await new Client(node, 'al').connect();
    const from = c.events.length;
    c.send({ type: 'dm', user: 'bo' });
    const e = await waitFor(() => c.events.slice(from).find(errorOf), 'an answer');
    assert.deepEqual([e.code, e.reason], ['forbidden', 'direct messages need join tokens']);
    c.send({ type: 'join', room: `_dm.${'a'.repeat(40)}`, name: 'al', cid: 'j1' });
    await waitFor(() => c.events.filter(errorOf).length === 2, 'the join refused');
    assert.equal(c.events.filter(errorOf)[1].code, 'forbidden');
    assert.equal(c.events.filter(errorOf)[1].cid, 'j1', 'a join\'s refusal carries its cid');
    await c.join('open-room');
    c.send({ type: 'moderate', room: 'open-room', action: 'kick', user: 'bo' });
    await waitFor(() => c.events.filter(errorOf).length === 3, 'moderation refused');
    assert.equal(c.events.filter(errorOf)[2].code, 'forbidden');
    c.close();
  });
});
