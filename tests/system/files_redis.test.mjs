// Files across nodes (PROTOCOL.md, "Files and images (1.2)"): three nodes
// on a real redis-server sharing one store (the one FILES_STORE names, as
// in file_stores.mjs: a directory, or an s3rver bucket), with nginx in front
// as deploy/nginx.conf configures it. A ticket one node grants is taken by
// whichever node the balancer sends the PUT to; the message and its file
// reach members on the other nodes, bytes and thumbnail served by every
// node; a file is sent in one message only, even when two nodes are asked
// at once; a deleted message's files, and those of messages the stream's
// retention drops (no archive here), are gone on every node; a restarted
// node keeps serving the files of messages Redis still holds; a user's daily
// quota is one total over every node. The same on a
// Redis Cluster: the ticket secret's key and each room's claims live on
// their own shards.
//
//   CHATNODE_BIN=build/chatnode [FILES_STORE=s3] node --test tests/system/files_redis.test.mjs

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { openStore } from './file_stores.mjs';
import { png } from './files.mjs';
import { Balancer, Client, Node, Redis, RedisCluster, waitFor } from './lib.mjs';

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');
const retention = 5;
const dailyQuota = 8 * 1024 * 1024;

/** A client that uploads through the balancer. */
class Member extends Client {
  /** Uploads `bytes` through `base` (the balancer): the file's id. */
  async upload(base, room, name, bytes, mime) {
    const up = await this.ask({ type: 'upload', room, name, size: bytes.length, mime });
    assert.equal(up.type, 'upload', JSON.stringify(up));
    const put = await fetch(base + up.url, { method: 'PUT', body: bytes });
    assert.equal(put.status, 201, await put.clone().text());
    return up.file;
  }
}

let store, redis, dir, balancer;
const nodes = [];
const members = [];
before(async () => {
  store = await openStore();
  dir = store.scratch;
  redis = await new Redis().start();
  const env = { ...store.env, CHATNODE_HISTORY_RETENTION: String(retention),
    CHATNODE_FILES_DAILY_BYTES_PER_USER: String(dailyQuota) };
  for (const name of ['f1', 'f2', 'f3']) nodes.push(await new Node(name, redis.url, env).start());
  await waitFor(async () => (await Promise.all(nodes.map((n) => n.ready()))).every(Boolean), 'nodes ready');
  balancer = await new Balancer(nodes).start();
});
after(async () => {
  for (const m of members) m.close();
  await balancer?.stop();
  for (const n of nodes) await n.stop();
  await redis?.destroy();
  await store?.close();
});

async function member(node, name, room) {
  const m = await new Member(node, name).connect();
  members.push(m);
  assert.ok(m.events.find((e) => e.type === 'welcome')?.files?.max_bytes > 0, 'welcome offers files');
  await m.join(room);
  return m;
}

const fileStatus = async (node, file) => (await fetch(`http://127.0.0.1:${node.port}/files/${file}/x`)).status;

test('a file uploaded through the balancer and sent on one node reaches the others, bytes and thumbnail alike', async () => {
  const ann = await member(nodes[0], 'ann', 'share');
  const bob = await member(nodes[2], 'bob', 'share');
  // Every node must have read the shared secret: any of them may take the PUT.
  const image = png(1200, 800);
  const pdf = randomBytes(200 * 1024);
  const ids = [];
  for (const [name, bytes, mime] of [['chart.png', image, 'image/png'], ['notes.pdf', pdf, 'application/pdf']])
    ids.push(await ann.upload(balancer.origin, 'share', name, bytes, mime));
  const sent = await ann.ask({ type: 'send', room: 'share', text: 'both', files: ids });
  assert.equal(sent.type, 'message', JSON.stringify(sent));
  const got = await waitFor(() => bob.events.find((e) => e.type === 'message' && e.id === sent.id), 'bob to get the message');
  assert.deepEqual(got.files.map((f) => [f.file, f.name, f.size, f.mime]),
    [[ids[0], 'chart.png', image.length, 'image/png'], [ids[1], 'notes.pdf', pdf.length, 'application/pdf']]);
  assert.equal(got.files[0].width, 1200);
  assert.equal(got.files[0].height, 800);
  assert.equal(got.files[0].thumb, `/files/thumb/${ids[0]}`);

  for (const node of nodes) {
    const base = `http://127.0.0.1:${node.port}`;
    assert.equal(sha256(Buffer.from(await (await fetch(base + got.files[0].url)).arrayBuffer())), sha256(image), node.name);
    assert.equal(sha256(Buffer.from(await (await fetch(base + got.files[1].url)).arrayBuffer())), sha256(pdf), node.name);
  }
  const thumb = await fetch(`${balancer.origin}${got.files[0].thumb}`);
  assert.equal(thumb.status, 200);
  const file = path.join(dir, 'thumb.jpg');
  writeFileSync(file, Buffer.from(await thumb.arrayBuffer()));
  assert.match(execFileSync('file', ['-b', file], { encoding: 'utf8' }), /^JPEG image data.*, 320x213/);

  // History read on another node carries the files too.
  const carl = await member(nodes[1], 'carl', 'share');
  const joined = carl.events.find((e) => e.type === 'joined' && e.room === 'share');
  assert.deepEqual(joined.history.find((m) => m.id === sent.id).files, got.files);
});

test('a file is sent in one message only, though two nodes are asked at once', async () => {
  const ann = await member(nodes[0], 'dee', 'once');
  const again = await member(nodes[1], 'dee', 'once'); // the same user on another node
  const id = await ann.upload(balancer.origin, 'once', 'one.pdf', randomBytes(1000), 'application/pdf');
  const answers = await Promise.all([ann.ask({ type: 'send', room: 'once', text: 'a', files: [id] }),
    again.ask({ type: 'send', room: 'once', text: 'b', files: [id] })]);
  assert.deepEqual(answers.map((a) => a.type).sort(), ['error', 'message'], JSON.stringify(answers));
  const refused = answers.find((a) => a.type === 'error');
  assert.equal(refused.code, 'bad_request');
  assert.match(refused.reason, /sent already/);
  const later = await again.ask({ type: 'send', room: 'once', text: 'c', files: [id] });
  assert.equal(later.type, 'error');
});

test("a deleted message's files are gone on every node, and the stream's retention takes those of older messages", async () => {
  const ann = await member(nodes[0], 'eve', 'gone');
  const bob = await member(nodes[1], 'fay', 'gone');
  const upload = (name) => ann.upload(balancer.origin, 'gone', name, png(400, 300), 'image/png');
  const deleted = await upload('deleted.png');
  const kept = await upload('aged.png');
  const first = await ann.ask({ type: 'send', room: 'gone', text: 'to delete', files: [deleted] });
  const second = await ann.ask({ type: 'send', room: 'gone', text: 'to age', files: [kept] });
  for (const node of nodes) assert.equal(await fileStatus(node, deleted), 200);

  const removal = await bob.ask({ type: 'delete', room: 'gone', target: first.id });
  assert.equal(removal.type, 'error', 'only its author may delete it');
  const done = await ann.ask({ type: 'delete', room: 'gone', target: first.id });
  assert.equal(done.type, 'delete', JSON.stringify(done));
  for (const node of nodes) {
    assert.equal(await fileStatus(node, deleted), 404, node.name);
    assert.equal((await fetch(`http://127.0.0.1:${node.port}/files/thumb/${deleted}`)).status, 404, node.name);
  }

  // A restarted node serves the files of messages Redis still holds.
  await nodes[2].stop();
  await nodes[2].start();
  await waitFor(() => nodes[2].ready(), 'f3 ready again');
  assert.equal(await fileStatus(nodes[2], kept), 200);

  // `retention` more messages: the one with the file leaves the stream.
  for (let i = 0; i < retention + 1; i++) await ann.ask({ type: 'send', room: 'gone', text: `filler ${i}` });
  await waitFor(async () => (await fileStatus(nodes[1], kept)) === 404, 'the aged file to go');
  const from = ann.events.length;
  ann.send({ type: 'history', room: 'gone', limit: 50 });
  const history = await waitFor(() => ann.events.slice(from).find((e) => e.type === 'history'), 'a history page');
  assert.ok(!history.messages.some((m) => m.id === second.id), 'the aged message left the history');
});

test('the daily upload quota is one total over every node', async () => {
  const [on1, on2, on3] = await Promise.all(nodes.map((n) => member(n, 'quinn', 'quota')));
  const ask = (m, size) => m.ask({ type: 'upload', room: 'quota', name: 'part.bin', size, mime: 'application/octet-stream' });
  const mib = 1024 * 1024;
  assert.equal((await ask(on1, 3 * mib)).type, 'upload');
  assert.equal((await ask(on2, 3 * mib)).type, 'upload');
  // 9 MiB announced in all would pass the 8 MiB a day, though no node saw more than 3.
  const refused = await ask(on3, 3 * mib);
  assert.deepEqual([refused.type, refused.code], ['error', 'rate_limited'], JSON.stringify(refused));
  assert.match(refused.reason, /daily upload quota/);
  // What was refused was not counted: 2 MiB more still fits exactly.
  assert.equal((await ask(on3, 2 * mib)).type, 'upload');
  const over = await ask(on1, 1);
  assert.equal(over.code, 'rate_limited', JSON.stringify(over));
});

test('a Redis that lost its data gets a new ticket secret, and every node follows within a heartbeat', async () => {
  const key = 'chatnode:{files}:secret';
  const cli = (...args) => execFileSync('redis-cli', ['-p', String(redis.port), ...args], { encoding: 'utf8' }).trim();
  const before = cli('GET', key);
  assert.ok(before.length >= 16, 'the first node stored a secret');
  cli('FLUSHALL');
  await waitFor(() => cli('GET', key).length >= 16, 'a node to store a secret again', 30000);
  assert.notEqual(cli('GET', key), before, 'a new secret');
  // A node started now knows only the new secret: f1 takes its tickets once it follows.
  const late = await new Node('f4', redis.url, store.env).start();
  try {
    await waitFor(() => late.ready(), 'f4 ready: it has read the secret');
    const ann = await member(late, 'ida', 'reset');
    const bytes = randomBytes(1000);
    // One ticket, PUT to f1 until f1 follows (a refused PUT leaves the ticket as it was).
    const up = await ann.ask({ type: 'upload', room: 'reset', name: 'after.bin', size: bytes.length, mime: 'application/octet-stream' });
    assert.equal(up.type, 'upload', JSON.stringify(up));
    let status;
    await waitFor(async () => {
      status = (await fetch(`http://127.0.0.1:${nodes[0].port}${up.url}`, { method: 'PUT', body: bytes })).status;
      return status === 201;
    }, () => `f1 to take a ticket sealed with the new secret (its last answer: ${status})`, 30000);
  } finally {
    await late.stop();
  }
});

test('on a Redis Cluster: a ticket from one node taken by another, the file sent once and received elsewhere', async () => {
  const cluster = await new RedisCluster({ masters: 3, replicas: 0 }).start();
  const onCluster = [];
  try {
    const env = { CHATNODE_REDIS_MODE: 'cluster', ...store.env };
    for (const name of ['k1', 'k2']) onCluster.push(await new Node(name, cluster.url, env).start());
    await waitFor(async () => (await Promise.all(onCluster.map((n) => n.ready()))).every(Boolean), 'nodes ready', 20000);
    const ann = await member(onCluster[0], 'gus', 'sharded');
    const bob = await member(onCluster[1], 'hal', 'sharded');
    const bytes = randomBytes(64 * 1024);
    // Granted by k1, PUT to k2.
    // Ready means the secret is read: the first try is taken.
    const id = await ann.upload(`http://127.0.0.1:${onCluster[1].port}`, 'sharded', 'data.bin', bytes,
      'application/octet-stream');
    const sent = await ann.ask({ type: 'send', room: 'sharded', text: 'sharded', files: [id] });
    assert.equal(sent.type, 'message', JSON.stringify(sent));
    const got = await waitFor(() => bob.events.find((e) => e.type === 'message' && e.id === sent.id), 'hal to get it');
    const download = await fetch(`http://127.0.0.1:${onCluster[1].port}${got.files[0].url}`);
    assert.equal(sha256(Buffer.from(await download.arrayBuffer())), sha256(bytes));
    const twice = await bob.ask({ type: 'send', room: 'sharded', text: 'again', files: [id] });
    assert.equal(twice.type, 'error');
  } finally {
    for (const n of onCluster) await n.stop();
    await cluster.destroy();
  }
});
