// Living messages (PROTOCOL.md, 1.1): edits, deletes, reactions and read
// positions, the same cases over the embedded bus (one node), one Redis
// (three nodes) and a Redis Cluster with wait_replicas = 1 (three nodes).
// Real chatnode processes and real WebSocket clients; the clients of a case
// sit on different nodes. The state each client ends with is computed here
// from what it received, by the rules of PROTOCOL.md, and compared.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { isDeepStrictEqual } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { Client, Node, Redis, RedisCluster, waitFor } from './lib.mjs';

const fast = { CHATNODE_REDIS_TIMEOUT_SECONDS: '1', CHATNODE_REDIS_PRESENCE_TTL_SECONDS: '2' };
const retention = 100;

const buses = [
  { name: 'the embedded bus', nodes: 1, start: async () => ({ url: '', env: {}, stop: async () => {} }) },
  {
    name: 'one Redis', nodes: 3,
    start: async () => {
      const redis = await new Redis().start();
      return { url: redis.url, env: fast, stop: () => redis.destroy(), redis };
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

/** The messages of a room as a client would hold them, by PROTOCOL.md's
 *  rules: snapshots set a message as it now is; live events add a message or
 *  change one, a change only when newer than the last one applied to it (a
 *  retried cid's answer is an old one) and never a deleted message; an
 *  `unchanged` answer changes nothing. */
function roomState(events, room) {
  const messages = new Map();
  const fromSnapshot = (m) => messages.set(m.id, {
    id: m.id, user: m.user, text: m.text, edited: m.edited ?? null, deleted: m.deleted === true,
    reactions: new Map(Object.entries(m.reactions ?? {}).map(([emoji, users]) => [emoji, [...users]])),
    last: m.id,
  });
  for (const e of events) {
    if (e.room !== room) continue;
    if (e.type === 'joined') e.history.forEach(fromSnapshot);
    else if (e.type === 'history') e.messages.forEach(fromSnapshot);
    else if (e.type === 'message' && !messages.has(e.id)) fromSnapshot(e);
    const m = messages.get(e.target);
    if (!m || e.unchanged || m.deleted || compare(e.id, m.last) <= 0) continue;
    m.last = e.id;
    if (e.type === 'edit') { m.text = e.text; m.edited = e.ts; }
    if (e.type === 'delete') { m.deleted = true; m.text = ''; m.edited = null; m.reactions = new Map(); }
    if (e.type === 'reaction') {
      const users = (m.reactions.get(e.emoji) ?? []).filter((u) => u !== e.user);
      if (e.on) users.push(e.user);
      if (users.length === 0) m.reactions.delete(e.emoji);
      else if (m.reactions.has(e.emoji)) m.reactions.set(e.emoji, users);
      else m.reactions.set(e.emoji, users);
    }
  }
  return messages;
}

/** A state as plain, comparable data, oldest message first. */
function plain(state) {
  return [...state.values()].sort((a, b) => compare(a.id, b.id)).map(({ last, ...m }) => ({
    ...m, reactions: [...m.reactions.entries()],
  }));
}

function compare(a, b) {
  const [am, as] = a.split('-').map(Number), [bm, bs] = b.split('-').map(Number);
  return am - bm || as - bs;
}

/** Sends a request and waits for the first event after it that `match` accepts. */
async function ask(client, request, match, what) {
  const from = client.events.length;
  client.send(request);
  return waitFor(() => client.events.slice(from).find(match), what ?? `${client.name}: answer to ${request.type}`);
}

/** Whether a client has received the event or message with that id. */
const holds = (client, id) => client.events.some((e) => e.id === id || (e.type === 'joined' && e.history.some((m) => m.id === id)));

const errorFor = (cid) => (e) => e.type === 'error' && e.cid === cid;
const echoOf = (cid) => (e) => e.cid === cid;

for (const bus of buses) {
  describe(`living messages on ${bus.name}`, () => {
    let backend;
    const nodes = [];
    const on = (i) => nodes[i % nodes.length];
    let rooms = 0;
    const fresh = () => `living${++rooms}`;

    before(async () => {
      backend = await bus.start();
      for (let i = 1; i <= bus.nodes; i++) {
        const env = { ...backend.env, CHATNODE_HISTORY_RETENTION: String(retention) };
        nodes.push(await new Node(`l${i}`, backend.url, env).start());
      }
      await waitFor(async () => (await Promise.all(nodes.map((n) => n.ready()))).every(Boolean), 'nodes ready', 20000);
    });
    after(async () => {
      for (const n of nodes) await n.stop();
      await backend?.stop();
    });

    test('every request is checked: author, target, emoji, length, membership; a retried cid applies once', async () => {
      const room = fresh();
      const al = await new Client(on(0), 'al').connect();
      const bo = await new Client(on(1), 'bo').connect();
      await al.join(room);
      await bo.join(room);
      const sent = await ask(al, { type: 'send', room, text: 'hello', cid: 's1' }, echoOf('s1'));
      const id = sent.id;

      let e = await ask(bo, { type: 'edit', room, target: id, text: 'mine now', cid: 'x1' }, errorFor('x1'));
      assert.equal(e.code, 'forbidden');
      e = await ask(bo, { type: 'delete', room, target: id, cid: 'x2' }, errorFor('x2'));
      assert.equal(e.code, 'forbidden');
      e = await ask(al, { type: 'edit', room, target: '1-0', text: 'x', cid: 'x3' }, errorFor('x3'));
      assert.equal(e.code, 'not_found');
      e = await ask(al, { type: 'react', room, target: '1-0', emoji: '👍', on: true, cid: 'x4' }, errorFor('x4'));
      assert.equal(e.code, 'not_found');
      for (const emoji of ['a', ' ', '', '👍👍👍👍👍', '\u200b', 'x👍']) {
        e = await ask(al, { type: 'react', room, target: id, emoji, on: true, cid: 'x5' }, errorFor('x5'));
        assert.equal(e.code, 'bad_request', `emoji ${JSON.stringify(emoji)}`);
      }
      e = await ask(al, { type: 'react', room, target: id, emoji: '👍', cid: 'x6' }, errorFor('x6'));
      assert.equal(e.code, 'bad_request', 'on is required');
      e = await ask(al, { type: 'edit', room, target: id, text: 'x'.repeat(4001), cid: 'x7' }, errorFor('x7'));
      assert.equal(e.code, 'too_large');
      e = await ask(al, { type: 'edit', room, target: id, text: '', cid: 'x8' }, errorFor('x8'));
      assert.equal(e.code, 'bad_request');
      e = await ask(al, { type: 'edit', room, target: 'nope', text: 'y', cid: 'x9' }, errorFor('x9'));
      assert.equal(e.code, 'bad_request');
      e = await ask(al, { type: 'edit', room: 'elsewhere', target: id, text: 'y', cid: 'x10' }, errorFor('x10'));
      assert.equal(e.code, 'not_joined');
      e = await ask(al, { type: 'read', room: 'elsewhere', id }, (x) => x.type === 'error');
      assert.equal(e.code, 'not_joined');

      // An edit by its author reaches both; a retry of it is answered with
      // the same event and stored once.
      const edit = await ask(al, { type: 'edit', room, target: id, text: 'hello, all', cid: 'e1' }, echoOf('e1'));
      assert.equal(edit.type, 'edit');
      assert.equal(edit.target, id);
      await waitFor(() => bo.events.some((x) => x.type === 'edit' && x.id === edit.id), 'bo sees the edit');
      const again = await ask(al, { type: 'edit', room, target: id, text: 'hello, all', cid: 'e1' },
        (x) => x.cid === 'e1' && x !== edit);
      assert.equal(again.id, edit.id);

      // A reaction already there changes nothing and says how it stands.
      const r1 = await ask(bo, { type: 'react', room, target: id, emoji: '👍', on: true, cid: 'r1' }, echoOf('r1'));
      assert.equal(r1.count, 1);
      const r2 = await ask(bo, { type: 'react', room, target: id, emoji: '👍', on: true, cid: 'r2' }, echoOf('r2'));
      assert.equal(r2.count, 1);
      assert.equal(r2.on, true);
      assert.equal(r2.unchanged, true);
      const keycap = await ask(al, { type: 'react', room, target: id, emoji: '1️⃣', on: true, cid: 'r3' }, echoOf('r3'));
      assert.equal(keycap.type, 'reaction');

      // Deleted: a tombstone; no more edits or reactions.
      const del = await ask(al, { type: 'delete', room, target: id, cid: 'd1' }, echoOf('d1'));
      assert.equal(del.type, 'delete');
      e = await ask(al, { type: 'edit', room, target: id, text: 'back', cid: 'x11' }, errorFor('x11'));
      assert.equal(e.code, 'not_found');
      e = await ask(bo, { type: 'react', room, target: id, emoji: '👍', on: false, cid: 'x12' }, errorFor('x12'));
      assert.equal(e.code, 'not_found');
      const page = await ask(bo, { type: 'history', room }, (x) => x.type === 'history');
      const tomb = page.messages.find((m) => m.id === id);
      assert.equal(tomb.deleted, true);
      assert.equal(tomb.text, '');
      assert.deepEqual(tomb.reactions, {});
      // Old clients' view: the change events are not messages.
      assert.equal(bo.events.filter((x) => x.type === 'message' && x.room === room).length, 1);
      al.close(); bo.close();
    });

    test('concurrent edits, deletes and reactions from every node: every client ends with the same state', async (t) => {
      const room = fresh();
      const authors = [];
      for (let i = 0; i < 3; i++) {
        const c = await new Client(on(i), `u${i}`).connect();
        await c.join(room);
        authors.push(c);
      }
      const watcher = await new Client(on(1), 'watcher').connect();
      await watcher.join(room);
      const resumer = await new Client(on(2), 'resumer').connect();
      await resumer.join(room);

      for (let k = 0; k < 8; k++) for (const c of authors) c.send({ type: 'send', room, text: `${c.name} ${k}`, cid: `m${k}` });
      await waitFor(() => watcher.ids(room).length === 24, 'the 24 messages');
      const ids = watcher.ids(room);
      const author = new Map(watcher.messages(room).map((m) => [m.id, m.user]));
      // The resumer has seen the messages, and leaves before the changes.
      await waitFor(() => resumer.ids(room).length === 24, 'resumer has the messages');
      const since = resumer.ids(room).at(-1);
      resumer.close();

      // Every user, at once from three nodes: reactions on and off with
      // three emoji on every message; each author edits and deletes some of
      // their own, and tries others' (refused).
      const emoji = ['👍', '🎉', '❤️'];
      let n = 0;
      for (let round = 0; round < 3; round++) {
        for (const id of ids) {
          for (const c of authors) {
            const e = emoji[(round + n++) % 3];
            c.send({ type: 'react', room, target: id, emoji: e, on: (round + n) % 4 !== 0, cid: `r${round}-${id}-${e}` });
            if (author.get(id) === c.name && (n % 3 === round)) c.send({ type: 'edit', room, target: id, text: `${id} v${round}`, cid: `e${round}-${id}` });
          }
        }
      }
      for (const [i, id] of ids.entries()) {
        if (i % 5 === 0) authors.find((c) => c.name === author.get(id)).send({ type: 'delete', room, target: id, cid: `d-${id}` });
      }
      // Everything sent is answered: stored (echo), already so, or refused.
      for (const c of authors) c.send({ type: 'send', room, text: 'done', cid: 'done' });
      await waitFor(() => authors.every((c) => c.events.some((e) => e.type === 'message' && e.cid === 'done' && e.user === c.name))
        && watcher.events.filter((e) => e.type === 'message' && e.text === 'done').length === 3, 'every writer done', 30000);
      // The last change is an echo on every node: wait until the watcher and
      // every author hold the same newest id.
      const newest = () => watcher.events.filter((e) => e.id && e.room === room).map((e) => e.id).sort(compare).at(-1);
      await waitFor(() => authors.every((c) => holds(c, newest())), 'authors caught up', 20000);

      const truth = plain(roomState(watcher.events, room));
      assert.equal(truth.length, 27);
      assert.ok(truth.some((m) => m.deleted), 'some deleted');
      assert.ok(truth.some((m) => m.edited && !m.deleted), 'some edited');
      assert.ok(truth.some((m) => m.reactions.length > 0), 'some reactions');

      // A client joining now, on each node.
      const late = [];
      for (let i = 0; i < nodes.length; i++) {
        const c = await new Client(on(i), `late${i}`).connect();
        await c.join(room);
        late.push(c);
      }
      // The resumer comes back with since: messages after it, then the changes.
      const back = await new Client(on(2), 'resumer').connect();
      await back.join(room, since);
      // joined comes first, then the changes after `since` as events of their own.
      const resumedNow = () => plain(roomState([...resumer.events, ...back.events], room));
      await waitFor(() => holds(back, newest()), 'resumer caught up');
      // A pager: pages back from the newest message to the first, five at a
      // time, and knows the room from those pages alone.
      const pager = await new Client(on(0), 'pager').connect();
      await pager.join(room);
      const pages = [];
      let oldest = null, more = true;
      while (more) {
        const page = await ask(pager, { type: 'history', room, limit: 5, ...(oldest ? { before: oldest } : {}) },
          (e) => e.type === 'history');
        pages.push(page);
        oldest = page.messages[0].id; more = page.more;
      }
      assert.ok(pages.length >= 6);

      const holders = [['watcher', watcher.events], ...authors.map((c) => [c.name, c.events]),
        ...late.map((c) => [c.name, c.events]), ['pager', pages]];
      let differences = 0;
      for (const [name, events] of holders) {
        const state = plain(roomState(events, room));
        try { assert.deepEqual(state, truth, `${name} holds another state`); } catch (err) { differences++; throw err; }
      }
      await waitFor(() => isDeepStrictEqual(resumedNow(), truth), 'the resumer to apply the changes').catch(() => {});
      assert.deepEqual(resumedNow(), truth, 'the resumer holds another state');
      assert.equal(differences, 0);
      const changes = watcher.events.filter((e) => ['edit', 'delete', 'reaction'].includes(e.type)).length;
      t.diagnostic(`${holders.length + 1} clients compared (connected throughout, joined later on each node, `
        + `resumed with since, paged back), ${truth.length} messages, ${changes} changes: differences 0`);
      for (const c of [...authors, watcher, back, pager, ...late]) c.close();
    });

    test('retention counts messages: changes do not push them out, and what is trimmed takes its state along', async () => {
      const room = fresh();
      const al = await new Client(on(0), 'al').connect();
      const bo = await new Client(on(1), 'bo').connect();
      await al.join(room); await bo.join(room);
      const total = 2.5 * retention;
      for (let k = 0; k < total; k++) {
        const m = await ask(al, { type: 'send', room, text: `m${k}`, cid: `m${k}` }, echoOf(`m${k}`));
        // Two reactions and an edit per message: three changes to each.
        bo.send({ type: 'react', room, target: m.id, emoji: '👍', on: true, cid: `a${k}` });
        bo.send({ type: 'react', room, target: m.id, emoji: '🎉', on: true, cid: `b${k}` });
        al.send({ type: 'edit', room, target: m.id, text: `m${k}!`, cid: `e${k}` });
      }
      await waitFor(() => al.events.some((e) => e.cid === `e${total - 1}`), 'the last edit');
      const first = al.ids(room)[0];
      // Pages back from the newest: at least `retention` messages, each as it now is.
      const pager = await new Client(on(2), 'pager').connect();
      await pager.join(room);
      let kept = [], before = null, more = true;
      while (more) {
        const page = await ask(pager, { type: 'history', room, limit: 100, ...(before ? { before } : {}) }, (e) => e.type === 'history');
        kept = [...page.messages, ...kept]; before = page.messages[0].id; more = page.more;
      }
      assert.ok(kept.length >= retention && kept.length <= retention + Math.max(1, retention / 10),
        `${kept.length} messages kept`);
      assert.equal(kept.at(-1).text, `m${total - 1}!`);
      assert.ok(kept.every((m) => m.edited && m.reactions['👍']?.length === 1 && m.reactions['🎉']?.length === 1));
      // A change to a message no longer retained: not_found.
      const e = await ask(al, { type: 'edit', room, target: first, text: 'late', cid: 'old' }, errorFor('old'));
      assert.equal(e.code, 'not_found');
      if (backend.redis) {
        const cli = (...args) => Number(execFileSync('redis-cli', ['-p', String(backend.redis.port), ...args]).toString());
        const entries = cli('XLEN', `chatnode:{${room}}:log`);
        const states = cli('HLEN', `chatnode:{${room}}:states`);
        assert.ok(entries <= 8 * (retention + retention / 10), `${entries} stream entries`);
        assert.ok(states <= kept.length, `${states} message states for ${kept.length} messages`);
      }
      for (const c of [al, bo, pager]) c.close();
    });

    test('read position: kept per user, told to their sessions on every node, never back, carried by joined', async () => {
      const room = fresh();
      const writer = await new Client(on(0), 'writer').connect();
      await writer.join(room);
      const tab1 = await new Client(on(1), 'reader').connect();
      const tab2 = await new Client(on(2), 'reader').connect();
      const other = await new Client(on(1), 'someone').connect();
      await tab1.join(room); await tab2.join(room); await other.join(room);
      const first = await tab1.join(room);
      assert.equal(first.read, null);
      assert.equal(first.unread, 0);
      for (let k = 0; k < 10; k++) writer.send({ type: 'send', room, text: `m${k}`, cid: `c${k}` });
      await waitFor(() => tab1.ids(room).length >= 10, 'ten messages');
      const ids = tab1.ids(room);
      // A reaction between messages is not a message: unread counts messages.
      await ask(writer, { type: 'react', room, target: ids[2], emoji: '👍', on: true, cid: 'r' }, echoOf('r'));

      const seen = (c, id) => waitFor(() => c.events.find((e) => e.type === 'read' && e.id === id), `${c.name} told of ${id}`);
      tab1.send({ type: 'read', room, id: ids[3] });
      const [r1, r2] = await Promise.all([seen(tab1, ids[3]), seen(tab2, ids[3])]);
      assert.equal(r1.unread, 6);
      assert.equal(r2.unread, 6);
      assert.ok(!other.events.some((e) => e.type === 'read'), 'nobody else is told');

      // Never back: an older id is answered with where it stands, to the asker only.
      const before2 = tab2.events.length;
      const stay = await ask(tab1, { type: 'read', room, id: ids[1] }, (e) => e.type === 'read' && e.id === ids[3]);
      assert.equal(stay.unread, 6);
      assert.equal(tab2.events.slice(before2).filter((e) => e.type === 'read').length, 0);
      // Never past the newest entry.
      const far = await ask(tab2, { type: 'read', room, id: '99999999999999-0' }, (e) => e.type === 'read' && e.id !== ids[3]);
      assert.equal(far.unread, 0);
      assert.ok(compare(far.id, ids[9]) >= 0);

      // A new session of the user, on another node, joins with it.
      writer.send({ type: 'send', room, text: 'one more', cid: 'late' });
      await waitFor(() => tab1.ids(room).length >= 11, 'one more');
      const tab3 = await new Client(on(0), 'reader').connect();
      const j = await tab3.join(room);
      assert.equal(j.read, far.id);
      assert.equal(j.unread, 1);
      const stranger = await new Client(on(2), 'stranger').connect();
      const j2 = await stranger.join(room);
      assert.equal(j2.read, null);
      for (const c of [writer, tab1, tab2, tab3, other, stranger]) c.close();
    });
  });
}
