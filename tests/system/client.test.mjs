// The client library (web/chatnode.mjs) against real nodes over one Redis:
// what an application built on it gets, as it gets it (the library loaded as
// it is, with the ws package's WebSocket as Node lacks a global one).

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import { ChatClient, compareIds, mentionsIn, splitMentions } from '../../web/chatnode.mjs';
import { Node, Redis, waitFor } from './lib.mjs';

let redis;
const nodes = [];
const clients = [];

before(async () => {
  redis = await new Redis().start();
  const env = { CHATNODE_REDIS_TIMEOUT_SECONDS: '1', CHATNODE_REDIS_PRESENCE_TTL_SECONDS: '2' };
  for (const name of ['c1', 'c2']) nodes.push(await new Node(name, redis.url, env).start());
  await waitFor(async () => (await Promise.all(nodes.map((n) => n.ready()))).every(Boolean), 'nodes ready', 20000);
});
after(async () => {
  for (const c of clients) c.close();
  for (const n of nodes) await n.stop();
  await redis?.destroy();
});

function client(node, name) {
  const c = new ChatClient({ url: `ws://127.0.0.1:${node.port}/ws`, name, WebSocket });
  clients.push(c);
  return c.connect();
}

/** A room's messages as plain data, to compare two clients' views. */
function view(room) {
  return room.messages.map((m) => ({ id: m.id, user: m.user, text: m.text, edited: m.edited, deleted: m.deleted,
    reactions: [...m.reactions.entries()] }));
}

const joined = (room) => new Promise((resolve) => { const off = room.on('joined', () => { off(); resolve(); }); });

test('ids compare numerically, mentions are found and split as text', () => {
  assert.ok(compareIds('10-0', '9-5') > 0);
  assert.ok(compareIds('9-10', '9-9') > 0);
  assert.equal(compareIds('7-1', '7-1'), 0);
  assert.deepEqual(mentionsIn('hi @al and @bo, (@cy) x@no'), ['al', 'bo', 'cy']);
  assert.deepEqual(splitMentions('hi @al!'), [{ text: 'hi ' }, { text: '@al', mention: 'al' }, { text: '!' }]);
});

test('several rooms on one connection; writes resolve with their stored event; refusals reject with the code', async () => {
  const al = client(nodes[0], 'al');
  const bo = client(nodes[1], 'bo');
  const [a1, a2] = [al.room('lib1').join(), al.room('lib2').join()];
  const b1 = bo.room('lib1').join();
  await Promise.all([joined(a1), joined(a2), joined(b1)]);

  const m = await a1.send('hello @bo');
  assert.equal(m.type, 'message');
  assert.equal(m.text, 'hello @bo');
  await a2.send('elsewhere');
  await waitFor(() => b1.get(m.id), 'bo has it');
  assert.equal(b1.messages.length, 1, 'one room\'s messages stay in it');

  await assert.rejects(b1.edit(m.id, 'not mine'), (err) => err.code === 'forbidden');
  await assert.rejects(b1.react(m.id, 'no', true), (err) => err.code === 'bad_request');
  await a1.edit(m.id, 'hello, @bo');
  await b1.react(m.id, '👍', true);
  const same = await b1.react(m.id, '👍', true);
  assert.equal(same.unchanged, true);
  await waitFor(() => a1.get(m.id).reactions.get('👍')?.length === 1 && b1.get(m.id).text === 'hello, @bo', 'both views');
  assert.deepEqual(view(a1), view(b1));
  const gone = await a1.send('oops');
  await a1.delete(gone.id);
  await waitFor(() => b1.get(gone.id)?.deleted, 'the delete on the other node');
  assert.deepEqual(view(a1), view(b1));
});

test('a node restart: the client reconnects, resumes with since, sends what was written meanwhile once, and holds the same state', async () => {
  const room = 'lib-restart';
  const al = client(nodes[0], 'al');
  const bo = client(nodes[1], 'bo');
  const a = al.room(room).join();
  const b = bo.room(room).join();
  await Promise.all([joined(a), joined(b)]);
  const first = await b.send('before');
  await waitFor(() => a.get(first.id), 'al has it');

  const statuses = [];
  al.on('status', (e) => statuses.push(e.status));
  await nodes[0].stop();
  await waitFor(() => !al.connected, 'al notices');
  // While al is away: bo writes, edits and reacts; al writes too (held).
  const during = await b.send('while you were away');
  await b.edit(first.id, 'before (edited)');
  await b.react(during.id, '🎉', true);
  const held = a.send('written offline');
  await nodes[0].start();
  const mine = await held;
  assert.equal(mine.text, 'written offline');
  await waitFor(() => a.get(during.id) && a.get(first.id).text === 'before (edited)'
    && a.get(during.id).reactions.get('🎉')?.length === 1 && b.get(mine.id), 'al resumed', 15000);
  assert.ok(statuses.includes('offline') && statuses.includes('online'));
  assert.deepEqual(view(a), view(b));
  assert.equal(a.messages.filter((m) => m.text === 'written offline').length, 1);
});

test('read position: one tab marks, the other tab on another node follows; unread counts others\' messages', async () => {
  const room = 'lib-read';
  const writer = client(nodes[0], 'writer');
  const w = writer.room(room).join();
  await joined(w);
  const ids = [];
  for (let k = 0; k < 5; k++) ids.push((await w.send(`m${k}`)).id);
  const tab1 = client(nodes[0], 'reader').room(room).join();
  const tab2 = client(nodes[1], 'reader').room(room).join();
  await Promise.all([joined(tab1), joined(tab2)]);
  assert.equal(tab1.read, null);
  tab1.markRead(ids[2]);
  await waitFor(() => tab2.read === ids[2] && tab2.unread === 2, 'tab2 follows');
  await w.send('one more');
  await waitFor(() => tab2.unread === 3 && tab1.unread === 3, 'a new message counts as unread');
  assert.equal(tab2.unreadMessages().length, 3);
  tab2.markRead();
  await waitFor(() => tab1.unread === 0 && tab1.read === tab2.lastMessageId(), 'tab1 follows');
});

test('older messages load a page at a time to the first one', async () => {
  const room = 'lib-older';
  const al = client(nodes[0], 'al');
  const a = al.room(room).join();
  await joined(a);
  for (let k = 0; k < 120; k++) a.send(`m${k}`);
  await waitFor(() => a.messages.length === 120 && al.pending.size === 0, 'all stored');
  const late = client(nodes[1], 'late').room(room).join();
  await joined(late);
  assert.equal(late.messages.length, 50);
  while (late.more) await late.loadOlder(30);
  assert.deepEqual(late.messages.map((m) => m.text), Array.from({ length: 120 }, (_, k) => `m${k}`));
});

test('a join the node cannot admit (Redis away) is tried again until it is in, without the application asking', async () => {
  const unavailable = async () => (await nodes[0].metrics())['chatnode_errors_total{code="unavailable"}'] ?? 0;
  const c = client(nodes[0], 'patient');
  await waitFor(() => c.connected, 'connected');
  const errors = [];
  c.on('error', (e) => errors.push(e));
  const refusedBefore = await unavailable();
  redis.pause();
  try {
    await waitFor(async () => !(await nodes[0].ready()), 'the node to see Redis gone', 10000);
    const room = c.room('lib-patience').join();
    await waitFor(async () => (await unavailable()) > refusedBefore, 'the join to be refused');
    assert.equal(room.joined, false);
    redis.resume();
    await waitFor(() => room.joined, 'the room joined once Redis is back', 20000);
    assert.deepEqual(errors, [], 'a refusal it tries again is not the application\'s to show');
    const sent = await room.send('made it');
    assert.equal(sent.text, 'made it');
  } finally {
    redis.resume();
    await waitFor(async () => (await Promise.all(nodes.map((n) => n.ready()))).every(Boolean), 'nodes ready', 20000);
  }
});
