// History that lasts (PROTOCOL.md, 1.1): every entry archived once in a real
// PostgreSQL (Debian's postgresql-15, initdb'd into a scratch folder and run
// as a child), history pages continuing from the bus's retention into the
// archive with no gap or duplicate at the seam, search, and an archive that
// is stopped, or a node killed, while people chat. Real chatnode processes,
// real redis-server, real WebSocket clients. Each case prints what it
// stored, archived, paged back, duplicated and missed.

import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { png } from './files.mjs';
import { Client, Node, Postgres, Redis, compareIds, sourceDir, waitFor } from './lib.mjs';

const run = promisify(execFile);
const SECRET = 'archive-suite-secret-0123456789';
const API_KEY = 'archive-suite-api-key-0123456789';
const fast = { CHATNODE_REDIS_TIMEOUT_SECONDS: '1', CHATNODE_REDIS_PRESENCE_TTL_SECONDS: '2' };

function token(sub) {
  const b64 = (x) => Buffer.from(JSON.stringify(x)).toString('base64url');
  const body = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub, rooms: '*', exp: Math.floor(Date.now() / 1000) + 3600 })}`;
  return `${body}.${createHmac('sha256', SECRET).update(body).digest('base64url')}`;
}

/** A client that can ask and wait for the answer. */
class Reader extends Client {
  constructor(node, name, { signed = false } = {}) { super(node, name); this.signed = signed; }
  async join(room) {
    const from = this.events.length;
    this.send({ type: 'join', room, name: this.name, ...(this.signed ? { token: token(this.name) } : {}) });
    return waitFor(() => this.events.slice(from).find((e) => (e.type === 'joined' && e.room === room) || e.type === 'error'),
      `${this.name} joined ${room}`);
  }
  async ask(request, match, what) {
    const from = this.events.length;
    this.send(request);
    return waitFor(() => this.events.slice(from).find(match), what ?? `${this.name}: answer to ${request.type}`, 20000);
  }
  /** Pages back from the newest message to the room's first. */
  async pageAll(room, limit = 100) {
    const all = [];
    let beforeId;
    for (let pages = 0; pages < 10000; pages++) {
      const page = await this.ask({ type: 'history', room, limit, ...(beforeId ? { before: beforeId } : {}) },
        (e) => (e.type === 'history' && e.room === room) || e.type === 'error');
      if (page.type !== 'history') {
        const said = `${this.node.stdout}${this.node.stderr}`.split('\n').filter((l) => /archive/.test(l)).slice(-20);
        assert.fail(`${JSON.stringify(page)}; the node's last archive lines:\n${said.join('\n')}`);
      }
      all.unshift(...page.messages);
      if (!page.more) return all;
      assert.ok(page.messages.length > 0, 'a page that says more holds messages');
      beforeId = page.messages[0].id;
    }
    throw new Error('too many pages');
  }
  async search(room, query, extra = {}) {
    return this.ask({ type: 'search', room, query, ...extra },
      (e) => (e.type === 'search' && e.room === room) || e.type === 'error');
  }
}

let sends = 0;

/** Sends `count` messages as fast as the rate allows, waiting for every echo. */
async function sendMany(client, room, count, text = (i) => `message ${i}`) {
  const cids = [];
  const batch = ++sends;
  for (let i = 0; i < count; i++) {
    const cid = `${client.name}-${batch}-${i}`;
    cids.push(cid);
    client.send({ type: 'send', room, text: text(i), cid });
  }
  const want = new Set(cids);
  await waitFor(() => {
    for (const e of client.events) if (e.type === 'message' && e.room === room && want.has(e.cid)) want.delete(e.cid);
    return want.size === 0;
  }, `${client.name}: ${count} echoes`, 30000);
}

/** What the archive holds of a room. */
function archived(pg, room) {
  const [[messages, numbers, events, missed]] = pg.query(
    `SELECT (SELECT count(*) FROM archive_messages WHERE room = '${room}'),
            (SELECT count(DISTINCT number) FROM archive_messages WHERE room = '${room}'),
            (SELECT count(*) FROM archive_events WHERE room = '${room}'),
            COALESCE((SELECT missed FROM archive_rooms WHERE room = '${room}'), 0)`);
  return { messages: Number(messages), numbers: Number(numbers), events: Number(events), missed: Number(missed) };
}

/** Checks a paged-back history against the ids sent: all of them, in order, none twice. */
function checkPaged(paged, sentIds, label) {
  const ids = paged.map((m) => m.id);
  const unique = new Set(ids);
  const sorted = [...ids].sort(compareIds);
  const missing = sentIds.filter((id) => !unique.has(id));
  console.log(`# ${label}: stored ${sentIds.length}, paged back ${ids.length}, duplicated ${ids.length - unique.size}, missing ${missing.length}`);
  assert.deepEqual(ids, sorted, 'pages are in id order across the seam');
  assert.equal(unique.size, ids.length, 'no message twice');
  assert.deepEqual(missing, [], 'no message missing');
  assert.equal(ids.length, sentIds.length);
}

function idsOf(client, room) {
  return client.events.filter((e) => e.type === 'message' && e.room === room && e.user === client.name).map((e) => e.id);
}

async function sumMetric(nodes, name) {
  let sum = 0;
  for (const n of nodes) sum += (await n.metrics())[name] ?? 0;
  return sum;
}

describe('the archive on the embedded bus', () => {
  let pg, node, plain;
  before(async () => {
    pg = await new Postgres().start();
    node = await new Node('solo', '', { CHATNODE_ARCHIVE_URL: pg.url, CHATNODE_HISTORY_RETENTION: '50',
      CHATNODE_PREVIEWS_ALLOW_PRIVATE: '127.0.0.1/32' }).start();
    plain = await new Node('plain', '', {}).start();
  });
  after(async () => { await node?.stop(); await plain?.stop(); await pg?.destroy(); });

  test('300 messages with retention 50 page back to the first, edits and deletes as they now are, and search finds words', async () => {
    const al = await new Reader(node, 'al').connect();
    await al.join('lounge');
    // The first messages change while the bus still has them.
    await sendMany(al, 'lounge', 30, (i) => (i % 10 === 3 ? `apple pie ${i}` : `plain text ${i}`));
    const early = idsOf(al, 'lounge');
    const edited = await al.ask({ type: 'edit', room: 'lounge', target: early[5], text: 'now with apple', cid: 'e1' }, (e) => e.cid === 'e1');
    assert.equal(edited.type, 'edit');
    const gone = await al.ask({ type: 'delete', room: 'lounge', target: early[13], cid: 'd1' }, (e) => e.cid === 'd1');
    assert.equal(gone.type, 'delete');
    const liked = await al.ask({ type: 'react', room: 'lounge', target: early[0], emoji: '👍', on: true, cid: 'r1' }, (e) => e.cid === 'r1');
    assert.equal(liked.type, 'reaction');
    // A burst far past the retention, faster than the archive's tick.
    await sendMany(al, 'lounge', 270, (i) => (i % 10 === 3 ? `apple tart ${i}` : `more text ${i}`));
    const sent = idsOf(al, 'lounge');
    await waitFor(() => archived(pg, 'lounge').messages === 300, 'the archive to hold 300 messages', 20000);

    const paged = await al.pageAll('lounge', 40);
    checkPaged(paged, sent, 'embedded bus, retention 50');
    const byId = new Map(paged.map((m) => [m.id, m]));
    assert.equal(byId.get(early[5]).text, 'now with apple');
    assert.equal(byId.get(early[5]).edited, edited.ts);
    assert.equal(byId.get(early[13]).deleted, true);
    assert.equal(byId.get(early[13]).text, '');
    assert.deepEqual(byId.get(early[0]).reactions, { '👍': ['al'] });
    const a = archived(pg, 'lounge');
    console.log(`# embedded bus: archived ${a.messages} messages, ${a.events} events (300 messages + 3 changes), missed ${a.missed}`);
    assert.deepEqual(a, { messages: 300, numbers: 300, events: 303, missed: 0 });

    // Search: every message with the word, newest first, the edit in and the deleted one out.
    const expected = paged.filter((m) => !m.deleted && /\bapple\b/.test(m.text)).map((m) => m.id).reverse();
    const found = [];
    let beforeId;
    for (;;) {
      const r = await al.search('lounge', 'apple', { limit: 7, ...(beforeId ? { before: beforeId } : {}) });
      assert.equal(r.type, 'search', JSON.stringify(r));
      assert.equal(r.query, 'apple');
      found.push(...r.messages.map((m) => m.id));
      if (!r.more) break;
      beforeId = r.messages.at(-1).id;
    }
    assert.deepEqual(found, expected);
    assert.ok(found.includes(early[5]) && !found.includes(early[13]));
    const both = await al.search('lounge', 'apple   TART');
    assert.ok(both.messages.length > 0 && both.messages.every((m) => /apple tart/.test(m.text)), 'every word, any case');
    const none = await al.search('lounge', 'nothingmatches');
    assert.deepEqual([none.messages, none.more], [[], false]);

    // Bad input and access.
    let e = await al.search('lounge', '   ');
    assert.deepEqual([e.type, e.code], ['error', 'bad_request']);
    e = await al.search('lounge', 'x'.repeat(201));
    assert.deepEqual([e.type, e.code], ['error', 'bad_request']);
    e = await al.search('elsewhere', 'apple');
    assert.deepEqual([e.type, e.code], ['error', 'not_joined']);
    const bo = await new Reader(plain, 'bo').connect();
    await bo.join('lounge');
    e = await bo.search('lounge', 'apple');
    assert.deepEqual([e.code, e.reason], ['unavailable', 'search needs an archive']);
    al.close(); bo.close();
  });

  test('a link\'s preview is archived with its message, paged back from the archive, and gone with the message', async () => {
    const page = http.createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html><head><title>Archived page</title><meta name="description" content="kept"></head></html>');
    });
    await new Promise((resolve) => page.listen(0, '127.0.0.1', resolve));
    try {
      const al = await new Reader(node, 'al').connect();
      await al.join('linked');
      const link = `http://127.0.0.1:${page.address().port}/page`;
      await sendMany(al, 'linked', 2, () => `see ${link}`);
      const [kept, deleted] = idsOf(al, 'linked');
      for (const id of [kept, deleted])
        await waitFor(() => al.events.find((e) => e.type === 'preview' && e.target === id), 'the preview');
      const gone = await al.ask({ type: 'delete', room: 'linked', target: deleted, cid: 'd-linked' }, (e) => e.cid === 'd-linked');
      assert.equal(gone.type, 'delete');
      await sendMany(al, 'linked', 60); // past the retention of 50
      await waitFor(() => archived(pg, 'linked').messages === 62, 'the archive to hold them', 20000);
      const paged = await al.pageAll('linked', 40);
      assert.deepEqual(paged.find((m) => m.id === kept).preview,
        { url: link, title: 'Archived page', description: 'kept', site: '127.0.0.1' });
      assert.equal(paged.find((m) => m.id === deleted).preview, undefined);
      al.close();
    } finally {
      page.close();
    }
  });

  test('the schema, run again as every node does on each connect, never takes a function from a query running beside it', async () => {
    // Functions dropped and made again on every run vanished under a page
    // being read on another node's link ("cache lookup failed for function").
    const schema = path.join(sourceDir, 'actors/archive/sql/archive_schema.sql');
    const psql = (...args) => run('psql', ['-X', '-q', '-h', '127.0.0.1', '-p', String(pg.port), '-U', 'chatnode', '-d', 'postgres', ...args]);
    let runs = 0;
    const rerun = (async () => { for (; runs < 25; runs++) await psql('-v', 'ON_ERROR_STOP=1', '-f', schema); })();
    const failures = [];
    let pages = 0;
    const reader = async () => {
      for (; runs < 25; pages++) {
        await psql('-c', "SELECT count(*) FROM chatnode_page('lounge', 9223372036854775807, 0, 50)")
          .catch((err) => failures.push(String(err.stderr).trim()));
      }
    };
    await Promise.all([rerun, reader(), reader(), reader()]);
    console.log(`# ${runs} runs of the schema beside ${pages} pages read: ${failures.length} failed`);
    assert.deepEqual(failures, []);
  });
});

describe('the archive over one Redis and three nodes', () => {
  let pg, redis, nodes, store;
  const env = () => ({ ...fast, CHATNODE_ARCHIVE_URL: pg.url, CHATNODE_HISTORY_RETENTION: '50', CHATNODE_AUTH_SECRET: SECRET,
    CHATNODE_API_KEY: API_KEY, CHATNODE_FILES_STORE: `dir:${store}` });
  before(async () => {
    store = mkdtempSync(path.join(os.tmpdir(), 'chatnode-archive-files-'));
    pg = await new Postgres().start();
    redis = await new Redis().start();
    nodes = [];
    for (const name of ['n1', 'n2', 'n3']) nodes.push(await new Node(name, redis.url, env()).start());
  });
  after(async () => {
    for (const n of nodes ?? []) await n.stop().catch(() => {});
    await redis?.destroy();
    await pg?.destroy();
    if (store) rmSync(store, { recursive: true, force: true });
  });

  test('1,000 messages from three nodes page back to the first, each archived once', async () => {
    const writers = [];
    for (const [i, n] of nodes.entries()) {
      const w = await new Reader(n, `w${i}`, { signed: true }).connect();
      await w.join('town');
      writers.push(w);
    }
    await Promise.all(writers.map((w, i) => sendMany(w, 'town', i === 0 ? 334 : 333)));
    const sent = writers.flatMap((w) => idsOf(w, 'town')).sort(compareIds);
    assert.equal(sent.length, 1000);
    await waitFor(() => archived(pg, 'town').messages === 1000, 'the archive to hold 1,000 messages', 30000);
    const reader = await new Reader(nodes[2], 'reader', { signed: true }).connect();
    await reader.join('town');
    checkPaged(await reader.pageAll('town'), sent, 'one Redis, three nodes, retention 50');
    const a = archived(pg, 'town');
    const written = await sumMetric(nodes, 'chatnode_archive_entries_total');
    console.log(`# one Redis: archived ${a.messages} messages (${a.numbers} distinct numbers), entries written by the nodes ${written}, missed ${a.missed}`);
    assert.deepEqual(a, { messages: 1000, numbers: 1000, events: 1000, missed: 0 });
    for (const c of [...writers, reader]) c.close();
  });

  test('the archive stopped under traffic: chat goes on, the backlog waits in Redis, and arrives once', async () => {
    const al = await new Reader(nodes[0], 'al', { signed: true }).connect();
    const bo = await new Reader(nodes[1], 'bo', { signed: true }).connect();
    await al.join('outage'); await bo.join('outage');
    await sendMany(al, 'outage', 20);
    await waitFor(() => archived(pg, 'outage').messages === 20, 'the first 20 archived');
    await pg.stop();
    const down = Date.now();
    // More than the retention (50) while the archive is away for 3 s: it must wait, not be trimmed.
    for (let round = 0; round < 10; round++) {
      await sendMany(al, 'outage', 20, (i) => `during the outage ${round}.${i}`);
      await new Promise((r) => setTimeout(r, 300));
    }
    await waitFor(() => bo.events.filter((e) => e.type === 'message' && e.room === 'outage').length >= 220,
      'bo gets every message while the archive is down');
    await waitFor(async () => (await nodes[0].metrics()).chatnode_archive_up === 0, 'the node to see the archive down');
    await waitFor(async () => (await nodes[0].metrics()).chatnode_archive_rooms_pending >= 1, 'the backlog counted');
    const ready = await (await fetch(`http://127.0.0.1:${nodes[0].port}/readyz`)).text();
    assert.match(ready, /^ready; archive unreachable/);
    const history = await al.ask({ type: 'history', room: 'outage', limit: 100 }, (e) => e.type === 'history');
    assert.equal(history.messages.length, 100, 'the bus still answers pages while the archive is down');
    await pg.start();
    const back = Date.now();
    await waitFor(() => { try { return archived(pg, 'outage').messages === 220; } catch { return false; } },
      'the backlog archived once the archive is back', 30000);
    const caughtUp = Date.now() - back;
    const a = archived(pg, 'outage');
    console.log(`# archive down for ${back - down} ms under traffic: stored 220, archived ${a.messages} (${a.numbers} distinct), missed ${a.missed}, caught up ${caughtUp} ms after it came back`);
    assert.deepEqual(a, { messages: 220, numbers: 220, events: 220, missed: 0 });
    await waitFor(async () => (await nodes[0].metrics()).chatnode_archive_up === 1, 'the node to see the archive back', 20000);
    checkPaged(await al.pageAll('outage'), idsOf(al, 'outage'), 'after the outage');
    al.close(); bo.close();
  });

  test('a node SIGKILLed while it archives: another node takes its rooms over, nothing lost or written twice', async () => {
    const victim = nodes[0];
    const al = await new Reader(victim, 'al', { signed: true }).connect();
    const bo = await new Reader(nodes[1], 'bo', { signed: true }).connect();
    await al.join('crash'); await bo.join('crash');
    // The database stalls, so that the victim's batch is under way (sent,
    // not answered) when it is killed; then the database goes on.
    pg.pause();
    let killedAt;
    try {
      await sendMany(al, 'crash', 300, (i) => `before the crash ${i}`);
      await waitFor(async () => (await victim.metrics()).chatnode_archive_rooms_pending >= 1, 'the victim to have the room pending');
      await new Promise((r) => setTimeout(r, 300)); // a tick or more: its batch is on the wire
      victim.kill('SIGKILL');
    } finally {
      pg.resume();
    }
    const sent = idsOf(al, 'crash');
    killedAt = archived(pg, 'crash').messages;
    await waitFor(() => archived(pg, 'crash').messages === 300, 'the rest archived by another node', 30000);
    const a = archived(pg, 'crash');
    console.log(`# node killed with its batch in flight to a stalled database (${killedAt} of 300 archived just after): archived ${a.messages} (${a.numbers} distinct), events ${a.events}, missed ${a.missed}`);
    assert.deepEqual(a, { messages: 300, numbers: 300, events: 300, missed: 0 });
    checkPaged(await bo.pageAll('crash'), sent, 'after the kill');
    al.close(); bo.close();
    nodes[0] = await new Node('n1', redis.url, env()).start();
  });

  test('search in a direct conversation only for its two users', async () => {
    const al = await new Reader(nodes[1], 'al', { signed: true }).connect();
    const bo = await new Reader(nodes[2], 'bo', { signed: true }).connect();
    const cy = await new Reader(nodes[0], 'cy', { signed: true }).connect();
    // Each connection proves who it is with a token first.
    await al.join('lobby'); await cy.join('lobby'); await bo.join('lobby');
    const opened = await al.ask({ type: 'dm', user: 'bo' }, (e) => e.type === 'joined' && e.dm);
    const room = opened.room;
    const said = await al.ask({ type: 'send', room, text: 'the secret plans', cid: 's1' }, (e) => e.cid === 's1');
    await waitFor(() => archived(pg, room).messages === 1, 'the conversation archived');
    const mine = await al.search(room, 'secret');
    assert.deepEqual(mine.messages.map((m) => m.id), [said.id]);
    await bo.join(room);
    const theirs = await bo.search(room, 'plans');
    assert.deepEqual(theirs.messages.map((m) => m.id), [said.id]);
    const refused = await cy.search(room, 'secret');
    assert.deepEqual([refused.type, refused.code], ['error', 'forbidden']);
    assert.doesNotMatch(JSON.stringify(refused), /secret plans/);
    al.close(); bo.close(); cy.close();
  });

  test('erasing a user through the server API: their messages deleted on every node and gone from the archive', async () => {
    const eve = await new Reader(nodes[0], 'eve', { signed: true }).connect();
    const al = await new Reader(nodes[1], 'al', { signed: true }).connect();
    await eve.join('erase1'); await eve.join('erase2'); await al.join('erase1');
    await sendMany(eve, 'erase1', 80, (i) => `eve's private words ${i}`);
    await sendMany(eve, 'erase2', 5, (i) => `eve elsewhere ${i}`);
    const kept = await al.ask({ type: 'send', room: 'erase1', text: 'al stays', cid: 'a1' }, (e) => e.cid === 'a1');
    await eve.ask({ type: 'react', room: 'erase1', target: kept.id, emoji: '👍', on: true, cid: 'r1' }, (e) => e.cid === 'r1');
    await waitFor(() => archived(pg, 'erase1').events === 82 && archived(pg, 'erase2').messages === 5, 'everything archived');
    const url = `http://127.0.0.1:${nodes[2].port}/api/users/eve/erase`;
    assert.equal((await fetch(url, { method: 'POST' })).status, 401, 'not without the key');
    const r = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${API_KEY}` } });
    assert.equal(r.status, 200);
    const body = await r.json();
    console.log(`# erase: ${JSON.stringify(body)}`);
    assert.equal(body.rooms, 2);
    assert.ok(body.retained_deleted >= 50 + 5, 'the retained ones deleted as a moderator would');
    // al, on another node, saw them deleted live.
    await waitFor(() => al.events.filter((e) => e.type === 'delete' && e.room === 'erase1').length >= 50, 'al sees the deletes');
    await waitFor(() => Number(pg.query("SELECT count(*) FROM archive_messages WHERE author = 'eve' AND NOT deleted")[0][0]) === 0,
      'no text of eve left in the archive');
    const paged = await al.pageAll('erase1');
    assert.ok(paged.every((m) => m.user !== 'eve' || (m.deleted && m.text === '')), 'no page shows eve\'s words');
    const alsMessage = paged.find((m) => m.id === kept.id);
    assert.deepEqual(alsMessage.reactions, {}, 'eve\'s reaction is gone from the archive too');
    const found = await al.search('erase1', 'private');
    assert.deepEqual(found.messages, []);
    eve.close(); al.close();
  });

  test('files of messages past the retention: paged and found by name from the archive, removed by its expiry and by an erasure', async () => {
    const ann = await new Reader(nodes[0], 'ann', { signed: true }).connect();
    await ann.join('filed');
    const put = async (name, bytes, mime) => {
      const up = await waitFor(async () => {
        const answer = await ann.ask({ type: 'upload', room: 'filed', name, size: bytes.length, mime, cid: `u${++sends}` },
          (e) => e.type === 'upload' || e.type === 'error');
        return answer.type === 'upload' ? answer : null; // `unavailable` until the node read the ticket secret
      }, `upload of ${name}`);
      const r = await fetch(`http://127.0.0.1:${nodes[1].port}${up.url}`, { method: 'PUT', body: bytes });
      assert.equal(r.status, 201);
      return up.file;
    };
    const report = await put('Quarterly-Report.pdf', randomBytes(5000), 'application/pdf');
    const photo = await put('beach.png', png(64, 48), 'image/png');
    const send = (text, files) => {
      const cid = `f${++sends}`;
      return ann.ask({ type: 'send', room: 'filed', text, files, cid }, (e) => e.type === 'message' && e.cid === cid);
    };
    const withReport = await send('the numbers', [report]);
    const withPhoto = await send('', [photo]);
    await sendMany(ann, 'filed', 60, (i) => `filler ${i}`);
    await waitFor(() => archived(pg, 'filed').messages === 62, 'everything archived', 20000).catch((e) => { console.log(JSON.stringify(archived(pg, 'filed'))); throw e; });

    // Out of Redis, in the archive: the files as they were sent, still served.
    const paged = await ann.pageAll('filed');
    assert.deepEqual(paged.find((m) => m.id === withReport.id).files, withReport.files);
    assert.deepEqual(paged.find((m) => m.id === withPhoto.id).files, withPhoto.files);
    const status = async (file) => (await fetch(`http://127.0.0.1:${nodes[2].port}/files/${file}/x`)).status;
    assert.equal(await status(report), 200);
    for (const words of ['quarterly', 'Quarterly-Report.pdf', 'report pdf', 'beach']) {
      const found = await ann.search('filed', words);
      assert.ok(found.messages.some((m) => m.files?.length), `search for ${words}: ${JSON.stringify(found)}`);
    }

    // The archive's retention takes the report's message, and its file.
    const [ms, seq] = withReport.id.split('-');
    pg.query(`UPDATE archive_messages SET ts = ts - 400 * 86400000::bigint WHERE room = 'filed' AND ms = ${ms} AND seq = ${seq}`);
    await nodes[2].stop();
    nodes[2] = await new Node('n3', redis.url, { ...env(), CHATNODE_ARCHIVE_RETENTION_DAYS: '365' }).start();
    await waitFor(async () => (await status(report)) === 404, 'the expired message\'s file to go');
    assert.equal(await status(photo), 200);

    // Erasing ann takes the photo of her archived message.
    const r = await fetch(`http://127.0.0.1:${nodes[0].port}/api/users/ann/erase`,
      { method: 'POST', headers: { authorization: `Bearer ${API_KEY}` } });
    assert.equal(r.status, 200);
    await waitFor(async () => (await status(photo)) === 404, 'the erased user\'s file to go');
    ann.close();
  });

  test('retention in days: a room\'s own through the server API, the expiry keeping the rest', async () => {
    const url = (room) => `http://127.0.0.1:${nodes[1].port}/api/rooms/${room}/retention`;
    const post = (room, body) => fetch(url(room), { method: 'POST', headers: { authorization: `Bearer ${API_KEY}` }, body: JSON.stringify(body) });
    assert.equal((await post('shortlived', { days: -1 })).status, 400);
    assert.equal((await post('shortlived', { days: 'x' })).status, 400);
    const r = await post('shortlived', { days: 1 });
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { room: 'shortlived', days: 1 });
    const now = Date.now();
    const day = 86400000;
    pg.query(`INSERT INTO archive_messages (room, ms, seq, number, author, body, ts) VALUES
      ('shortlived', ${now - 3 * day}, 0, 1, 'al', 'old', ${now - 3 * day}),
      ('shortlived', ${now - 1000}, 0, 2, 'al', 'new', ${now - 1000}),
      ('forever', ${now - 300 * day}, 0, 1, 'al', 'ancient', ${now - 300 * day})`);
    pg.query(`SELECT chatnode_expire(0, ${now})`);
    const left = pg.query("SELECT room, body FROM archive_messages WHERE room IN ('shortlived', 'forever') ORDER BY room, ms");
    assert.deepEqual(left, [['forever', 'ancient'], ['shortlived', 'new']]);
    pg.query(`SELECT chatnode_expire(100, ${now})`);
    assert.deepEqual(pg.query("SELECT body FROM archive_messages WHERE room = 'forever'"), [], 'the default applies to the rest');
    assert.equal((await post('shortlived', { days: 0 })).status, 200);
    assert.deepEqual(pg.query("SELECT retention_days IS NULL FROM archive_rooms WHERE room = 'shortlived'"), [['t']]);
  });
});
