// Big rooms (PROTOCOL.md, "Big rooms"): presence in batches and member lists
// in pages. Real chatnode processes on one redis-server, real WebSocket
// clients: members on two nodes stay exact under churn while the room is
// big, hear at most one batch per interval, and a storm of joins gets pages,
// not whole lists, with counts that end right everywhere; a node killed and
// Redis losing its data in a big room leave every member exact.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { Client, Node, Redis, waitFor } from './lib.mjs';

const sorted = (names) => [...names].sort();

/** True when the client holds exactly the room's names up to its last one, and its count. */
function holdsExactly(client, room, truth) {
  const seen = client.presence(room);
  const held = truth.filter((n) => seen.upTo === null || n <= seen.upTo);
  return seen.count === truth.length && JSON.stringify(seen.members) === JSON.stringify(held);
}

/** Every name of the room, by `members` pages of `limit` from the first. */
async function allPages(client, room, limit) {
  const names = [];
  let after = null;
  for (let pages = 0; pages < 1000; pages++) {
    const from = client.events.length;
    client.send({ type: 'members', room, limit, ...(after !== null ? { after } : {}) });
    const page = await waitFor(() => client.events.slice(from).find((e) => e.type === 'members' && e.room === room),
      `${client.name}: a members page`);
    names.push(...page.members);
    if (!page.more) return { names, count: page.count };
    after = page.members.at(-1);
  }
  throw new Error('members pages never ended');
}

describe('a big room on two nodes over one Redis (big above 4 members, batches every 100 ms)', () => {
  let redis;
  let nodes = [];
  const batchMs = 100;
  before(async () => {
    redis = await new Redis().start();
    const env = { CHATNODE_PRESENCE_BIG_ROOM: '4', CHATNODE_PRESENCE_BATCH_MS: String(batchMs) };
    nodes = [await new Node('b1', redis.url, env).start(), await new Node('b2', redis.url, env).start()];
  });
  after(async () => {
    for (const n of nodes) await n.stop().catch(() => {});
    await redis?.destroy();
  });

  test('members on both nodes end with exactly the room under churn, at most one batch per interval', async () => {
    const room = 'churn';
    // Two members join while the room is small (given every name) and two
    // once it is big (given a first page); all page the rest at the end.
    const early = [await new Client(nodes[0], 'early-a').connect(), await new Client(nodes[1], 'early-b').connect()];
    for (const c of early) await c.join(room);
    const churners = [];
    for (let i = 0; i < 24; i++) churners.push(await new Client(nodes[i % 2], `c${String(i).padStart(2, '0')}`).connect());
    for (const c of churners.slice(0, 8)) await c.join(room);
    const late = [await new Client(nodes[0], 'late-a').connect(), await new Client(nodes[1], 'late-b').connect()];
    for (const c of late) {
      const joined = await c.join(room);
      assert.equal(joined.members_more, true, 'a big room lists a first page');
      assert.equal(joined.members.length, 4 + (joined.members.includes(c.name) ? 1 : 0));
    }
    const startedAt = Date.now();
    // Churn: each round some join, some leave, some leave by closing.
    const inRoom = new Set(churners.slice(0, 8).map((c) => c.name));
    let seed = 7;
    const random = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
    let changes = 0;
    for (let round = 0; round < 30; round++) {
      for (const c of churners) {
        if (random() > 0.3) continue;
        changes += 1;
        if (inRoom.has(c.name)) {
          if (random() < 0.2) { c.close(); await c.connect(); } else c.send({ type: 'leave', room });
          inRoom.delete(c.name);
        } else {
          c.send({ type: 'join', room, name: c.name });
          inRoom.add(c.name);
        }
      }
      await new Promise((r) => setTimeout(r, 20)); // spread the churn over several intervals
    }
    const truth = sorted([...inRoom, ...early.map((c) => c.name), ...late.map((c) => c.name)]);
    // Each holds exactly the room's names up to its last one (the early ones
    // were cut to the first page when the room became big) and its count.
    await waitFor(() => [...early, ...late].every((c) => c.presence(room).upTo !== null && holdsExactly(c, room, truth)),
      () => `every member to hold exactly its part of the room ${JSON.stringify(truth)}; held: ${
        [...early, ...late].map((c) => `${c.name} ${JSON.stringify(c.presence(room))}`).join('; ')}; errors: ${
        JSON.stringify([...early, ...late, ...churners].flatMap((c) => c.events.filter((e) => e.type === 'error')
          .map((e) => `${c.name} ${e.code} ${e.reason}`)))}`, 15000);
    const elapsed = Date.now() - startedAt;
    for (const c of [...early, ...late]) {
      const batches = c.events.filter((e) => e.type === 'presence_diff').length;
      const singles = c.events.filter((e) => e.type === 'presence' && e.room === room).length;
      assert.ok(batches <= elapsed / batchMs + 2, `${c.name}: ${batches} batches in ${elapsed} ms`);
      assert.ok(batches + singles < changes / 2, `${c.name}: ${batches} batches and ${singles} single events for ${changes} changes`);
    }
    // Paging from the start lists the room exactly, each name once.
    for (const c of [...early, ...late]) {
      const { names, count } = await allPages(c, room, 3);
      assert.deepEqual(names, truth);
      assert.equal(count, truth.length);
    }
    // After paging to the end a member hears every change.
    const newcomer = await new Client(nodes[1], 'zz-newcomer').connect();
    await newcomer.join(room);
    await waitFor(() => [...early, ...late].every((c) => c.presence(room).members.includes('zz-newcomer')),
      'the members to hear of a name past their first page');
    for (const c of [...early, ...late, ...churners, newcomer]) c.close();
  });

  test('members needs the room joined and a sensible limit', async () => {
    const c = await new Client(nodes[0], 'asker').connect();
    const ask = async (request) => {
      const from = c.events.length;
      c.send(request);
      return waitFor(() => c.events.slice(from).find((e) => e.type === 'error' || e.type === 'members'), 'an answer');
    };
    assert.equal((await ask({ type: 'members', room: 'elsewhere' })).code, 'not_joined');
    await c.join('asked');
    assert.equal((await ask({ type: 'members', room: 'asked', limit: 501 })).code, 'bad_request');
    assert.equal((await ask({ type: 'members', room: 'asked', after: 7 })).code, 'bad_request');
    const page = await ask({ type: 'members', room: 'asked' });
    assert.deepEqual(page.members, ['asker']);
    assert.equal(page.more, false);
    c.close();
  });
});

describe('a join storm into one room (default settings: big above 100 members)', () => {
  let redis;
  let nodes = [];
  before(async () => {
    redis = await new Redis().start();
    nodes = [await new Node('s1', redis.url).start(), await new Node('s2', redis.url).start()];
  });
  after(async () => {
    for (const n of nodes) await n.stop().catch(() => {});
    await redis?.destroy();
  });

  test('every joined carries at most a page, and every member ends with the right count', async () => {
    const room = 'storm';
    const clients = [];
    for (let i = 0; i < 300; i++) clients.push(new Client(nodes[i % 2], `u${String(i).padStart(3, '0')}`));
    await Promise.all(clients.map((c) => c.connect()));
    const first = await Promise.all(clients.slice(0, 200).map((c) => c.join(room)));
    await waitFor(() => clients.slice(0, 200).every((c) => c.presence(room).count === 200), 'every member to count 200', 15000);
    // Joining a room the node knows is big: a first page and the count.
    const later = await Promise.all(clients.slice(200).map((c) => c.join(room)));
    for (const j of [...first, ...later]) assert.ok(j.members.length <= 101, `joined listed ${j.members.length} names`);
    for (const j of later) {
      assert.equal(j.members_more, true);
      assert.ok(j.count >= 200, `joined counted ${j.count}`);
    }
    await waitFor(() => clients.every((c) => c.presence(room).count === 300), 'every member to count 300', 15000);
    const { names, count } = await allPages(clients[0], room, 100);
    assert.deepEqual(names, sorted(clients.map((c) => c.name)));
    assert.equal(count, 300);
    // Half leave at once: the counts follow.
    for (const c of clients.slice(150)) c.close();
    await waitFor(() => clients.slice(0, 150).every((c) => c.presence(room).count === 150), 'every member to count 150', 15000);
    for (const c of clients) c.close();
  });
});

describe('faults in a big room (big above 4 members, three nodes, presence TTL 2 s)', () => {
  let redis;
  let nodes = [];
  before(async () => {
    redis = await new Redis().start();
    const env = { CHATNODE_PRESENCE_BIG_ROOM: '4', CHATNODE_PRESENCE_BATCH_MS: '100',
      CHATNODE_REDIS_TIMEOUT_SECONDS: '1', CHATNODE_REDIS_PRESENCE_TTL_SECONDS: '2' };
    for (const name of ['f1', 'f2', 'f3']) nodes.push(await new Node(name, redis.url, env).start());
  });
  after(async () => {
    for (const n of nodes) await n.stop().catch(() => {});
    await redis?.destroy();
  });

  test('a node killed with SIGKILL: its members leave every part that held them, counts right', async () => {
    const room = 'killed';
    const stay = [];
    for (let i = 0; i < 6; i++) stay.push(await new Client(nodes[i % 2], `a${i}`).connect());
    const doomed = [];
    for (let i = 0; i < 6; i++) doomed.push(await new Client(nodes[2], `b${i}`).connect());
    for (const c of [...stay, ...doomed]) await c.join(room);
    const all = sorted([...stay, ...doomed].map((c) => c.name));
    // The watchers page to the end: they hold every name, the b's too.
    for (const c of stay.slice(0, 2)) await allPages(c, room, 5);
    await waitFor(() => stay.every((c) => holdsExactly(c, room, all)), 'everyone to hold the room of 12', 10000);
    nodes[2].kill('SIGKILL');
    const truth = sorted(stay.map((c) => c.name));
    await waitFor(() => stay.every((c) => holdsExactly(c, room, truth)), 'the killed node\'s members to leave everywhere', 15000);
    assert.deepEqual(stay[0].presence(room).members, truth);
    for (const c of [...stay, ...doomed]) c.close();
  });

  test('Redis loses its data (FLUSHALL): every member ends with the room as it is', async () => {
    const room = 'flushed';
    const members = [];
    for (let i = 0; i < 8; i++) members.push(await new Client(nodes[i % 2], `m${i}`).connect());
    for (const c of members) await c.join(room);
    await allPages(members[0], room, 3);
    execFileSync('redis-cli', ['-p', String(redis.port), 'FLUSHALL']);
    // After the flush: two leave, one comes; the nodes write their names
    // again and compare their lists with Redis.
    members[3].close();
    members[6].send({ type: 'leave', room });
    const late = await new Client(nodes[1], 'late').connect();
    await late.join(room);
    const truth = sorted([...members.filter((_, i) => i !== 3 && i !== 6), late].map((c) => c.name));
    const watching = [...members.filter((_, i) => i !== 3 && i !== 6), late];
    await waitFor(() => watching.every((c) => holdsExactly(c, room, truth)), 'every member to hold the room as it is', 15000);
    assert.deepEqual(members[0].presence(room).members, truth);
    for (const c of [...members, late]) c.close();
  });
});
