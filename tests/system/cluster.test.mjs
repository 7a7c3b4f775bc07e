// Many nodes, one chat: delivery, order, resume and presence across nodes.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Client, Node, Redis, audit, compareIds, waitFor } from './lib.mjs';

let redis;
const nodes = [];

before(async () => {
  redis = await new Redis().start();
  for (const name of ['n1', 'n2', 'n3'])
    nodes.push(await new Node(name, redis.url, { CHATNODE_REDIS_PRESENCE_TTL_SECONDS: '2' }).start());
  await waitFor(async () => (await Promise.all(nodes.map((n) => n.ready()))).every(Boolean), 'nodes ready');
});

after(async () => {
  for (const n of nodes) await n.stop();
  await redis.destroy();
});

test('a burst sent the moment a node first stores on a fresh Redis is stored in the order sent', async () => {
  // A Redis that has never seen the scripts: had a node sent EVALSHA, found
  // them missing and sent the first ones again by source, later ones could
  // have gone in before them.
  const fresh = await new Redis().start();
  const node = await new Node('fresh', fresh.url).start();
  try {
    const c = await new Client(node, 'burst').connect();
    await c.join('burst');
    for (let i = 0; i < 200; i++) c.send({ type: 'send', room: 'burst', text: `${i}`, cid: `b${i}` });
    await waitFor(() => c.events.filter((e) => e.type === 'message').length === 200, 'all 200 echoed');
    const stored = c.events.filter((e) => e.type === 'message').map((e) => e.id);
    const inSendOrder = [...Array(200).keys()].map((i) => c.events.find((e) => e.cid === `b${i}`).id);
    assert.deepEqual(inSendOrder, [...inSendOrder].sort(compareIds), 'ids rise in the order the messages were sent');
    assert.equal(new Set(stored).size, 200);
    c.close();
  } finally {
    await node.stop();
    await fresh.destroy();
  }
});

test('every member on every node receives every message once, in one order', async (t) => {
  const rooms = ['alpha', 'beta', 'gamma'];
  const perSender = 150;
  const members = {};
  for (const room of rooms) {
    members[room] = [];
    for (let i = 0; i < 6; i++) {
      const c = await new Client(nodes[i % 3], `${room}-u${i}`).connect();
      await c.join(room);
      members[room].push(c);
    }
  }
  // Three senders per room, one on each node, all at once.
  for (const room of rooms)
    for (let s = 0; s < 3; s++)
      for (let k = 0; k < perSender; k++)
        members[room][s].send({ type: 'send', room, text: `${room} ${s} ${k}`, cid: `${s}-${k}` });
  const total = 3 * perSender;
  for (const room of rooms)
    await waitFor(() => members[room].every((c) => c.ids(room).length >= total),
      `${total} messages in ${room}`, 30000);
  for (const room of rooms) {
    const reference = members[room][0].ids(room);
    for (const c of members[room]) {
      const a = audit(c.ids(room));
      assert.deepEqual(a, { count: total, unique: total, duplicates: 0, outOfOrder: 0 }, c.name);
      assert.deepEqual(c.ids(room), reference, `${c.name} saw another order`);
    }
  }
  t.diagnostic(`3 rooms x 6 members over 3 nodes, ${total} messages a room: all delivered once, same order`);
  const metrics = await Promise.all(nodes.map((n) => n.metrics()));
  const sum = (name) => metrics.reduce((acc, m) => acc + (m[name] ?? 0), 0);
  const stored = sum('chatnode_messages_stored_total');
  assert.equal(stored, rooms.length * total, 'every message stored once');
  t.diagnostic(`redis commands ${sum('chatnode_redis_commands_total')} for ${stored} messages stored ` +
    `(${(sum('chatnode_redis_commands_total') / stored).toFixed(2)} a message, joins and heartbeats included)`);
  for (const room of rooms) for (const c of members[room]) c.close();
});

test('a client that moves to another node resumes with since: no gap, no duplicate', async () => {
  const room = 'resume';
  const sender = await new Client(nodes[2], 'sender').connect();
  await sender.join(room);
  const mover = await new Client(nodes[0], 'mover').connect();
  await mover.join(room);
  for (let k = 0; k < 20; k++) sender.send({ type: 'send', room, text: `before ${k}`, cid: `b${k}` });
  await waitFor(() => mover.ids(room).length === 20, 'mover to get 20');
  const last = mover.ids(room).at(-1);
  mover.close();
  for (let k = 0; k < 30; k++) sender.send({ type: 'send', room, text: `missed ${k}`, cid: `m${k}` });
  await waitFor(() => sender.ids(room).length === 50, 'sender echoes');
  const back = await new Client(nodes[1], 'mover').connect();
  const joined = await back.join(room, last);
  assert.deepEqual(joined.history.map((m) => m.text), [...Array(30).keys()].map((k) => `missed ${k}`));
  assert.equal(joined.history[0].id, sender.ids(room)[20]);
  sender.send({ type: 'send', room, text: 'live', cid: 'live' });
  await waitFor(() => back.messages(room).some((m) => m.text === 'live'), 'live message after resume');
  assert.deepEqual(audit(back.ids(room)).duplicates, 0);
  sender.close(); back.close();
});

test('members and counts agree on every node; typing crosses nodes', async () => {
  const room = 'presence';
  const a = await new Client(nodes[0], 'ann').connect();
  await a.join(room);
  const b = await new Client(nodes[1], 'ben').connect();
  const joined = await b.join(room);
  assert.deepEqual(joined.members, ['ann', 'ben']);
  await waitFor(() => a.events.find((e) => e.type === 'presence' && e.user === 'ben' && e.event === 'join' && e.count === 2),
    'ann to see ben join');
  // A second tab of ben on another node is not a new member.
  const b2 = await new Client(nodes[2], 'ben').connect();
  assert.deepEqual((await b2.join(room)).members, ['ann', 'ben']);
  b.send({ type: 'typing', room });
  await waitFor(() => a.events.find((e) => e.type === 'typing' && e.user === 'ben'), 'typing on another node');
  assert.ok(!b.events.find((e) => e.type === 'typing'), 'typing is not echoed');
  b.close();
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(!a.events.find((e) => e.type === 'presence' && e.event === 'leave'), 'ben still has a tab open');
  b2.close();
  await waitFor(() => a.events.find((e) => e.type === 'presence' && e.user === 'ben' && e.event === 'leave' && e.count === 1),
    'ann to see ben leave');
  a.close();
});

test('a busy connection gets what arrives together in one frame', async () => {
  // The longest interval allowed, so that the burst below surely falls in it.
  const node = await new Node('coalescing', redis.url, { CHATNODE_NODE_WRITE_COALESCE_MS: '100' }).start();
  const sender = await new Client(node, 'co-sender').connect();
  const reader = await new Client(node, 'co-reader').connect();
  try {
    await sender.join('coalesce');
    await reader.join('coalesce');
    sender.send({ type: 'send', room: 'coalesce', text: 'first', cid: 'c0' });
    await waitFor(() => reader.messages('coalesce').length === 1, 'the first message');
    // The reader has just been written to: a burst right behind waits out the
    // interval and leaves in one frame.
    const framesBefore = reader.frames.length;
    for (let k = 1; k <= 5; k++) sender.send({ type: 'send', room: 'coalesce', text: `burst ${k}`, cid: `c${k}` });
    await waitFor(() => reader.messages('coalesce').length === 6, 'the burst');
    assert.deepEqual(reader.frames.slice(framesBefore), [5], 'five events, one frame');
    assert.deepEqual(reader.messages('coalesce').map((m) => m.text),
      ['first', 'burst 1', 'burst 2', 'burst 3', 'burst 4', 'burst 5']);
    const m = await node.metrics();
    assert.ok(m.chatnode_frames_out_total < m.chatnode_messages_out_total, 'frames_out counts writes, not events');
  } finally {
    sender.close();
    reader.close();
    await node.stop();
  }
});

test('with [log] format = "json" every log line is one JSON object', async () => {
  const node = await new Node('jsonlog', redis.url, { CHATNODE_LOG_FORMAT: 'json', CHATNODE_LOG_LEVEL: 'info' }).start();
  try {
    await waitFor(() => node.ready(), 'the node ready');
    const c = await new Client(node, 'logged').connect();
    await c.join('logs');
    c.close();
  } finally {
    await node.stop();
  }
  // Both streams: stderr's log lines and stdout's line that the node listens.
  const lines = [...node.stderr.trim().split('\n'), ...node.stdout.trim().split('\n')];
  const events = lines.map((line) => JSON.parse(line)); // throws on any other line
  const up = events.find((e) => e.event === 'listening' && e.message?.startsWith('chatnode listening on http://'));
  assert.ok(up, 'stdout says where the node listens, as JSON');
  for (const e of events) assert.ok(e.time && e.level && e.event, JSON.stringify(e));
  const configured = events.find((e) => e.event === 'redis_configured');
  assert.equal(configured?.mode, 'single');
  assert.ok(events.some((e) => e.event === 'redis_connected'), 'the link came up, in JSON too');
});
