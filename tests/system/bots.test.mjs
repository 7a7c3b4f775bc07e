// (1.2) Bots: named API keys with scopes and rooms ([api] keys_file). A bot
// posts under its own name and its messages carry `bot: true`, live, in a
// joiner's snapshot, in history pages from the bus (Redis) and from the
// archive (PostgreSQL); a key limited to one room is refused elsewhere; a
// key without a scope is refused what it needs; the old [api] key keeps
// every scope. Real chatnode processes, redis-server and PostgreSQL.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client, Node, Postgres, Redis, chatnodeBin, sourceDir, waitFor } from './lib.mjs';

const OLD_KEY = 'bots-suite-old-key-0123456789ab';
const DEPLOY = 'bots-suite-deploybot-0123456789';
const READER = 'bots-suite-reader-0123456789abc';
const MOD = 'bots-suite-moderator-012345678';
const AUTH = 'bots-suite-auth-secret-0123456';

function token(sub, name) {
  const b64 = (x) => Buffer.from(JSON.stringify(x)).toString('base64url');
  const body = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub, name, exp: Math.floor(Date.now() / 1000) + 3600 })}`;
  return `${body}.${createHmac('sha256', AUTH).update(body).digest('base64url')}`;
}

const KEYS = `
[[key]]
name = "deploybot"
secret = "${DEPLOY}"
scopes = ["post"]
rooms = ["ops"]

[[key]]
name = "census"
secret = "${READER}"
scopes = ["read_members"]
rooms = ["ops", "lobby"]

[[key]]
name = "warden"
secret = "${MOD}"
scopes = ["moderate", "post"]
rooms = ["*"]
`;

async function api(node, key, method, route, body) {
  const r = await fetch(`http://127.0.0.1:${node.port}${route}`, {
    method, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: r.status, body: await r.json() };
}

describe('bots: named API keys', () => {
  let scratch, redis, pg, nodes = [];
  before(async () => {
    scratch = mkdtempSync(path.join(os.tmpdir(), 'chatnode-bots-'));
    const keys = path.join(scratch, 'keys.toml');
    writeFileSync(keys, KEYS);
    redis = await new Redis().start();
    pg = await new Postgres().start();
    const env = { CHATNODE_API_KEY: OLD_KEY, CHATNODE_API_KEYS_FILE: keys, CHATNODE_ARCHIVE_URL: pg.url,
      CHATNODE_HISTORY_RETENTION: '5' };
    for (const name of ['b1', 'b2']) nodes.push(await new Node(name, redis.url, env).start());
    await waitFor(async () => (await nodes[0].metrics()).chatnode_archive_up === 1, 'the archive up', 20000);
  });
  after(async () => {
    for (const n of nodes) await n.stop();
    await redis?.stop();
    await pg?.destroy();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  test('a bot posts under its own name with bot: true, live, in snapshots and in history from the bus and the archive', async () => {
    const al = await new Client(nodes[1], 'al').connect();
    await al.join('ops');
    const posted = [];
    for (let i = 0; i < 12; i++) {
      const r = await api(nodes[0], DEPLOY, 'POST', '/api/rooms/ops/messages', { text: `deployed build ${i}` });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      posted.push(r.body.id);
    }
    await waitFor(() => al.messages('ops').length >= 12, 'al sees the bot\'s messages live');
    const live = al.events.filter((e) => e.type === 'message' && e.room === 'ops');
    assert.ok(live.every((m) => m.user === 'deploybot' && m.bot === true), JSON.stringify(live[0]));
    // A human's message does not say bot.
    const own = await al.ask({ type: 'send', room: 'ops', text: 'thanks, bot' });
    assert.equal(own.bot, undefined);
    // Naming another user is refused: a bot is who its key says.
    const other = await api(nodes[0], DEPLOY, 'POST', '/api/rooms/ops/messages', { user: 'al', text: 'I am al' });
    assert.equal(other.status, 400);
    // A late joiner's snapshot, and pages back past the retention (5) into the archive.
    const bo = await new Client(nodes[0], 'bo').connect();
    const joined = await bo.join('ops');
    assert.ok(joined.history.filter((m) => m.user === 'deploybot').every((m) => m.bot === true));
    await waitFor(async () => {
      try {
        return Number(pg.query(`SELECT count(*) FROM archive_messages WHERE room = 'ops' AND bot`)[0][0]) === 12;
      } catch { return false; }
    }, 'the bot\'s messages archived with their flag', 20000);
    const pages = [];
    let before;
    for (;;) {
      const from = bo.events.length;
      bo.send({ type: 'history', room: 'ops', limit: 4, ...(before ? { before } : {}) });
      const page = await waitFor(() => bo.events.slice(from).find((e) => e.type === 'history'), 'a page');
      pages.unshift(...page.messages);
      if (!page.more) break;
      before = page.messages[0].id;
    }
    const bots = pages.filter((m) => m.user === 'deploybot');
    assert.deepEqual(bots.map((m) => m.id), posted, 'every bot message paged back, in order');
    assert.ok(bots.every((m) => m.bot === true), 'the flag kept in the bus and in the archive');
    console.log(`# bot messages: 12 posted, ${live.length} seen live, ${bots.length} paged back (the bus keeps 5), all with bot: true`);
    al.close(); bo.close();
  });

  test('a token\'s name claim is shown with its holder\'s messages, kept in the bus and the archive', async () => {
    const signed = await new Node('b3', redis.url, { CHATNODE_AUTH_SECRET: AUTH, CHATNODE_ARCHIVE_URL: pg.url,
      CHATNODE_HISTORY_RETENTION: '5' }).start();
    try {
      const ada = await new Client(signed, 'u-1815').connect();
      const from = ada.events.length;
      ada.send({ type: 'join', room: 'named', name: 'u-1815', token: token('u-1815', 'Ada Lovelace') });
      await waitFor(() => ada.events.slice(from).find((e) => e.type === 'joined'), 'ada joined');
      const sent = [];
      for (let i = 0; i < 8; i++) sent.push(await ada.ask({ type: 'send', room: 'named', text: `note ${i}` }));
      assert.ok(sent.every((m) => m.user === 'u-1815' && m.name === 'Ada Lovelace'), JSON.stringify(sent[0]));
      // A name that cannot be shown is not: the token still works.
      const bob = await new Client(signed, 'u-2').connect();
      const at = bob.events.length;
      bob.send({ type: 'join', room: 'named', name: 'u-2', token: token('u-2', 'bad\u0007name') });
      await waitFor(() => bob.events.slice(at).find((e) => e.type === 'joined'), 'bob joined');
      const plain = await bob.ask({ type: 'send', room: 'named', text: 'plain' });
      assert.equal(plain.name, undefined);
      await waitFor(() => {
        try {
          return Number(pg.query(`SELECT count(*) FROM archive_messages WHERE room = 'named' AND display = 'Ada Lovelace'`)[0][0]) === 8;
        } catch { return false; }
      }, 'the names archived', 20000);
      const pages = [];
      let before;
      for (;;) {
        const f = bob.events.length;
        bob.send({ type: 'history', room: 'named', limit: 3, ...(before ? { before } : {}) });
        const page = await waitFor(() => bob.events.slice(f).find((e) => e.type === 'history'), 'a page');
        pages.unshift(...page.messages);
        if (!page.more) break;
        before = page.messages[0].id;
      }
      const adas = pages.filter((m) => m.user === 'u-1815');
      assert.equal(adas.length, 8);
      assert.ok(adas.every((m) => m.name === 'Ada Lovelace'), 'from the bus and from the archive');
      ada.close(); bob.close();
    } finally {
      await signed.stop();
    }
  });

  test('a key limited to one room is refused elsewhere, and a key without a scope is refused what needs it', async () => {
    const elsewhere = await api(nodes[1], DEPLOY, 'POST', '/api/rooms/lobby/messages', { text: 'wrong room' });
    assert.equal(elsewhere.status, 403);
    assert.match(elsewhere.body.error, /deploybot may not post in room lobby/);
    assert.equal((await api(nodes[1], DEPLOY, 'GET', '/api/rooms/ops/members')).status, 403, 'no read_members');
    assert.equal((await api(nodes[1], DEPLOY, 'POST', '/api/rooms/ops/moderation', { action: 'kick', user: 'al' })).status, 403);
    assert.equal((await api(nodes[1], DEPLOY, 'POST', '/api/users/al/erase')).status, 403);
    // The reader lists only its rooms, and may not post.
    const al = await new Client(nodes[0], 'al2').connect();
    await al.join('lobby'); await al.join('secret-room');
    await waitFor(async () => (await api(nodes[1], OLD_KEY, 'GET', '/api/rooms')).body.rooms.some((r) => r.room === 'secret-room'),
      'the room directory has the rooms');
    const listed = await api(nodes[1], READER, 'GET', '/api/rooms');
    assert.equal(listed.status, 200);
    assert.ok(listed.body.rooms.every((r) => ['ops', 'lobby'].includes(r.room)), JSON.stringify(listed.body));
    assert.ok(listed.body.rooms.some((r) => r.room === 'lobby'));
    const members = await api(nodes[1], READER, 'GET', '/api/rooms/lobby/members');
    assert.deepEqual(members.body.members, ['al2']);
    assert.equal((await api(nodes[1], READER, 'GET', '/api/rooms/secret-room/members')).status, 403);
    assert.equal((await api(nodes[1], READER, 'POST', '/api/rooms/lobby/messages', { text: 'hi' })).status, 403);
    // A moderator bot in every room: moderation is done under its name.
    const muted = await api(nodes[1], MOD, 'POST', '/api/rooms/lobby/moderation', { action: 'mute', user: 'al2', seconds: 30 });
    assert.equal(muted.status, 200);
    assert.equal(muted.body.by, 'warden');
    // The old key: every scope, any name.
    const old = await api(nodes[0], OLD_KEY, 'POST', '/api/rooms/lobby/messages', { user: 'ops-team', text: 'old key' });
    assert.equal(old.status, 201);
    assert.equal((await api(nodes[0], 'bots-suite-no-such-key-01234567', 'GET', '/api/rooms')).status, 401);
    al.close();
  });

  test('a keys file with a mistake stops the node with the line and the reason', () => {
    for (const [text, reason] of [
      ['[[key]]\nname = "x"\nsecret = "short"\nscopes = ["post"]\nrooms = ["*"]\n', /secret: expected 16/],
      ['[[key]]\nname = "x"\nsecret = "long-enough-secret-0123"\nscopes = ["fly"]\nrooms = ["*"]\n', /"fly" is not one of/],
      ['[[key]]\nname = "x"\nsecret = "long-enough-secret-0123"\nscopes = ["post"]\n', /rooms: expected/],
      ['[[key]]\nname = "api"\nsecret = "long-enough-secret-0123"\nscopes = ["post"]\nrooms = ["*"]\n', /"api" is taken/],
      ['[[key]]\nname = "x"\nsecret = "long-enough-secret-0123"\nscopes = ["post"]\nrooms = ["*"]\ncolour = 1\n', /key.colour: unknown/],
    ]) {
      const file = path.join(scratch, 'bad.toml');
      writeFileSync(file, text);
      const r = spawnSync(chatnodeBin, ['--config', path.join(sourceDir, 'config/node.toml'), '--listen', '127.0.0.1:0',
        '--web-root', path.join(sourceDir, 'web')], {
        env: { ...process.env, CHATNODE_API_KEYS_FILE: file }, encoding: 'utf8', timeout: 10000 });
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, reason);
      assert.match(r.stderr, /bad\.toml:\d+/);
    }
  });
});
