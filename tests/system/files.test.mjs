// Files (PROTOCOL.md, "Files and images (1.2)") on the embedded default,
// against a real node, on the store FILES_STORE names (file_stores.mjs: a
// directory by default; "s3": a bucket of s3rver, read with the aws CLI): `upload` over the WebSocket, the bytes PUT with
// Node's fetch (undici) and with curl, downloads read back byte for byte,
// one byte range honoured, and every bad upload refused with nothing left
// in the store. Twenty uploads of 25 MiB at once do not cost the node
// 500 MiB: the bytes go to the store as they arrive.
//
//   CHATNODE_BIN=build/chatnode [FILES_STORE=s3] node --test tests/system/files.test.mjs

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { png } from './files.mjs';
import { openStore } from './file_stores.mjs';
import { Client, Node, waitFor } from './lib.mjs';

const MiB = 1024 * 1024;
const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

/** A raw client that uploads. */
class Uploader extends Client {
  async upload(room, name, size, mime) {
    const answer = await this.ask({ type: 'upload', room, name, size, mime });
    assert.equal(answer.type, 'upload', JSON.stringify(answer));
    return answer;
  }
}

function rssKiB(pid) {
  const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+) kB/);
  return Number(m[1]);
}

let store, dir, node, base, ann;
before(async () => {
  store = await openStore();
  dir = store.scratch;
  node = await new Node('files', '', {
    ...store.env,
    CHATNODE_FILES_MAX_BYTES: String(25 * MiB),
    CHATNODE_FILES_REFUSED_TYPES: 'text/x-shellscript, video/*',
    CHATNODE_FILES_MAX_UPLOADS_PER_CONNECTION: '30',
    CHATNODE_FILES_DAILY_BYTES_PER_USER: String(700 * MiB),
  }).start();
  base = `http://127.0.0.1:${node.port}`;
  ann = await new Uploader(node, 'ann').connect();
  await ann.join('files');
});
after(async () => {
  ann?.close();
  await node?.stop();
  await store?.close();
});

describe('uploading and downloading', () => {
  test('a PDF PUT with fetch comes back byte for byte, as an attachment that nothing runs', async () => {
    const bytes = randomBytes(300 * 1024);
    const up = await ann.upload('files', 'Q3 "final" report.pdf', bytes.length, 'application/pdf');
    assert.match(up.file, /^[A-Za-z0-9_-]{22}$/);
    assert.ok(up.url.startsWith('/files/upload/'));
    const put = await fetch(base + up.url, { method: 'PUT', body: bytes });
    assert.equal(put.status, 201);
    assert.deepEqual(await put.json(), { file: up.file, size: bytes.length, mime: 'application/pdf', sha256: sha256(bytes) });

    const got = await fetch(`${base}/files/${up.file}/report.pdf`);
    assert.equal(got.status, 200);
    assert.equal(got.headers.get('content-type'), 'application/octet-stream');
    assert.match(got.headers.get('content-disposition'), /^attachment; /);
    assert.match(got.headers.get('content-disposition'), /filename\*=UTF-8''Q3%20%22final%22%20report\.pdf$/);
    assert.equal(got.headers.get('x-content-type-options'), 'nosniff');
    assert.match(got.headers.get('content-security-policy'), /^sandbox/);
    assert.equal(sha256(Buffer.from(await got.arrayBuffer())), sha256(bytes));
    // And as the store keeps them, read by the store's own means (for a
    // bucket: Debian's aws CLI).
    assert.equal(sha256(await store.bytesOf(up.file)), sha256(bytes), `the ${store.kind} store's bytes`);

    // The same URL again: used.
    const again = await fetch(base + up.url, { method: 'PUT', body: bytes });
    assert.equal(again.status, 404);
    // Revalidation by its hash.
    const cached = await fetch(`${base}/files/${up.file}/x`, { headers: { 'if-none-match': got.headers.get('etag') } });
    assert.equal(cached.status, 304);
  });

  test('images are shown inline with their type; HTML never is', async () => {
    const png = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');
    const img = await ann.upload('files', 'dot.png', png.length, 'image/png');
    assert.equal((await fetch(base + img.url, { method: 'PUT', body: png })).status, 201);
    const shown = await fetch(`${base}/files/${img.file}/dot.png`);
    assert.equal(shown.headers.get('content-type'), 'image/png');
    assert.match(shown.headers.get('content-disposition'), /^inline; /);

    const html = Buffer.from('<script>alert(document.cookie)</script>');
    const page = await ann.upload('files', 'page.html', html.length, 'text/html');
    assert.equal((await fetch(base + page.url, { method: 'PUT', body: html })).status, 201);
    const served = await fetch(`${base}/files/${page.file}/page.html`);
    assert.equal(served.headers.get('content-type'), 'application/octet-stream');
    assert.match(served.headers.get('content-disposition'), /^attachment; /);
    assert.match(served.headers.get('content-security-policy'), /^sandbox/);
  });

  test('an image gets its size and a thumbnail of at most 320 pixels, read by libmagic', async () => {
    const bytes = png(800, 600);
    const up = await ann.upload('files', 'photo.png', bytes.length, 'image/png');
    const put = await fetch(base + up.url, { method: 'PUT', body: bytes });
    assert.equal(put.status, 201);
    const answer = await put.json();
    assert.equal(answer.width, 800);
    assert.equal(answer.height, 600);
    const thumb = await fetch(`${base}/files/thumb/${up.file}`);
    assert.equal(thumb.status, 200);
    assert.equal(thumb.headers.get('content-type'), 'image/jpeg');
    assert.match(thumb.headers.get('content-disposition'), /^inline/);
    assert.match(thumb.headers.get('content-security-policy'), /^sandbox/);
    const file = path.join(dir, 'thumb.jpg');
    writeFileSync(file, Buffer.from(await thumb.arrayBuffer()));
    // file(1) reads the JPEG's own header: 320 wide, proportions kept.
    assert.match(execFileSync('file', ['-b', file], { encoding: 'utf8' }), /^JPEG image data.*\b320x240\b/);

    // Not an image, whatever it says: kept as a file, no size, no thumbnail.
    const fake = Buffer.from('not a picture at all');
    const bad = await ann.upload('files', 'fake.png', fake.length, 'image/png');
    const badPut = await fetch(base + bad.url, { method: 'PUT', body: fake });
    assert.equal(badPut.status, 201);
    assert.equal((await badPut.json()).width, undefined);
    assert.equal((await fetch(`${base}/files/thumb/${bad.file}`)).status, 404);
    assert.equal((await fetch(`${base}/files/thumb/${up.file.slice(1)}`)).status, 404);
  });

  test('curl uploads with Expect: 100-continue and reads byte ranges', async () => {
    const bytes = randomBytes(3 * MiB);
    const file = path.join(dir, 'big.bin');
    writeFileSync(file, bytes);
    const up = await ann.upload('files', 'big.bin', bytes.length, '');
    // curl asks before sending a body this large; the node must say go on.
    const out = execFileSync('curl', ['-sS', '-H', 'Expect: 100-continue', '-T', file, '-w', '\n%{http_code}', base + up.url],
      { encoding: 'utf8' }).trim().split('\n');
    assert.equal(out.at(-1), '201', out.join('\n'));
    assert.equal(JSON.parse(out[0]).sha256, sha256(bytes));
    assert.equal(JSON.parse(out[0]).mime, 'application/octet-stream');

    const url = `${base}/files/${up.file}/big.bin`;
    const part = execFileSync('curl', ['-sS', '-r', '1000-1999', url]);
    assert.deepEqual(part, bytes.subarray(1000, 2000));
    const tail = execFileSync('curl', ['-sS', '-r', '-100', url]);
    assert.deepEqual(tail, bytes.subarray(bytes.length - 100));
    const headers = execFileSync('curl', ['-sS', '-D', '-', '-o', '/dev/null', '-r', '1000-1999', url], { encoding: 'utf8' });
    assert.match(headers, /^HTTP\/1\.1 206/);
    assert.match(headers, new RegExp(`content-range: bytes 1000-1999/${bytes.length}`, 'i'));
    const past = await fetch(url, { headers: { range: `bytes=${bytes.length}-` } });
    assert.equal(past.status, 416);
    assert.equal(past.headers.get('content-range'), `bytes */${bytes.length}`);
    const head = await fetch(url, { method: 'HEAD' });
    assert.equal(head.headers.get('content-length'), String(bytes.length));
  });

  test('unknown, forged and malformed files and links answer 404', async () => {
    for (const p of ['/files/AAAAAAAAAAAAAAAAAAAAAA/x', '/files/../config/node.toml', '/files/x', '/files/'])
      assert.equal((await fetch(base + p)).status, 404, p);
    const up = await ann.upload('files', 'a.txt', 3, 'text/plain');
    const forged = up.url.slice(0, -3) + (up.url.endsWith('AAA') ? 'BBB' : 'AAA');
    assert.equal((await fetch(base + forged, { method: 'PUT', body: 'abc' })).status, 404);
    assert.equal((await fetch(`${base}/files/upload/nonsense`, { method: 'PUT', body: 'abc' })).status, 404);
  });
});

describe('files in messages', () => {
  async function stored(client, name, bytes, mime) {
    const up = await client.upload('files', name, bytes.length, mime);
    assert.equal((await fetch(base + up.url, { method: 'PUT', body: bytes })).status, 201);
    return up.file;
  }

  test('welcome says the node takes files, and up to what size', () => {
    const welcome = ann.events.find((e) => e.type === 'welcome');
    assert.deepEqual(welcome.files, { max_bytes: 25 * MiB });
  });

  test('a message shares files: every member gets them with their paths; deleted, they are gone', async () => {
    const dave = await new Uploader(node, 'dave').connect();
    await dave.join('files');
    const photo = await stored(ann, 'holiday photo.png', png(640, 480), 'image/png');
    const notes = await stored(ann, 'notes.txt', Buffer.from('notes'), 'text/plain');
    const sent = await ann.ask({ type: 'send', room: 'files', text: '', files: [photo, notes] });
    assert.equal(sent.type, 'message', JSON.stringify(sent));
    const got = await waitFor(() => dave.events.find((e) => e.type === 'message' && e.id === sent.id), 'dave gets it');
    assert.equal(got.text, '');
    assert.deepEqual(got.files, [
      { file: photo, name: 'holiday photo.png', size: png(640, 480).length, mime: 'image/png',
        url: `/files/${photo}/holiday%20photo.png`, width: 640, height: 480, thumb: `/files/thumb/${photo}` },
      { file: notes, name: 'notes.txt', size: 5, mime: 'text/plain', url: `/files/${notes}/notes.txt` },
    ]);
    assert.equal((await fetch(base + got.files[0].url)).status, 200);
    // In history too, as sent.
    const joiner = await new Uploader(node, 'erin').connect();
    const joined = await joiner.join('files');
    assert.deepEqual(joined.history.find((m) => m.id === sent.id).files, got.files);

    // Each file goes out once.
    const again = await ann.ask({ type: 'send', room: 'files', text: 'again', files: [notes] });
    assert.equal(again.type, 'error');
    assert.equal(again.code, 'bad_request');
    assert.match(again.reason, /sent already/);

    const del = await ann.ask({ type: 'delete', room: 'files', target: sent.id });
    assert.equal(del.type, 'delete', JSON.stringify(del));
    for (const url of [got.files[0].url, got.files[0].thumb, got.files[1].url])
      assert.equal((await fetch(base + url)).status, 404, url);
    const later = await new Uploader(node, 'fred').connect();
    const after = await later.join('files');
    const shown = after.history.find((m) => m.id === sent.id);
    assert.ok(!shown || !shown.files, 'a deleted message shows no files');
    for (const c of [dave, joiner, later]) c.close();
  });

  test('a message with files and the text sent right after it arrive in the order they were sent', async () => {
    const file = await stored(ann, 'first.txt', Buffer.from('first'), 'text/plain');
    // No wait between them: the text waits behind the store's look-up of the file.
    ann.send({ type: 'send', room: 'files', text: 'with the file', files: [file], cid: 'order-1' });
    ann.send({ type: 'send', room: 'files', text: 'right after', cid: 'order-2' });
    const echo = (cid) => ann.events.find((e) => e.type === 'message' && e.cid === cid);
    await waitFor(() => echo('order-1') && echo('order-2'), 'both echoes');
    assert.ok(ann.events.indexOf(echo('order-1')) < ann.events.indexOf(echo('order-2')), 'echoes in the order sent');
    const [a, b] = [echo('order-1').id, echo('order-2').id].map((id) => id.split('-').map(Number));
    assert.ok(a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]), 'ids in the order sent');
  });

  test('only files the sender uploaded to this room, at most ten, each once in a message', async () => {
    const bob = await new Uploader(node, 'bob2').connect();
    await bob.join('files');
    await bob.join('other');
    const bobs = await stored(bob, 'b.txt', Buffer.from('b'), 'text/plain');
    const theirs = await ann.ask({ type: 'send', room: 'files', text: 'x', files: [bobs] });
    assert.equal(theirs.code, 'bad_request');
    assert.match(theirs.reason, /not one you uploaded to this room/);
    const elsewhere = await bob.ask({ type: 'send', room: 'other', text: 'x', files: [bobs] });
    assert.equal(elsewhere.code, 'bad_request');
    const unknown = await bob.ask({ type: 'send', room: 'files', text: 'x', files: ['AAAAAAAAAAAAAAAAAAAAAA'] });
    assert.equal(unknown.code, 'bad_request');
    for (const files of [[bobs, bobs], Array(11).fill(bobs), ['../etc/passwd'], 'x', [7]]) {
      const bad = await bob.ask({ type: 'send', room: 'files', text: 'x', files });
      assert.equal(bad.code, 'bad_request', JSON.stringify(files));
    }
    const empty = await bob.ask({ type: 'send', room: 'files', text: '', files: [] });
    assert.equal(empty.code, 'bad_request', 'no files, no text: nothing to send');
    const ok = await bob.ask({ type: 'send', room: 'files', files: [bobs] });
    assert.equal(ok.type, 'message');
    bob.close();
  });
});

describe('bad uploads: refused, nothing kept', () => {
  // Nothing, once the store is done: a bucket's server may keep a cut-off
  // PUT's part until the node deletes it (s3rver does; S3 keeps none).
  const kept = async (file) => (await store.names()).filter((f) => f.includes(file));

  test('a body longer than announced: 413, by its length or as it streams', async () => {
    const byLength = await ann.upload('files', 'x.bin', 1000, '');
    const r1 = await fetch(base + byLength.url, { method: 'PUT', body: randomBytes(1001) });
    assert.equal(r1.status, 413);
    assert.match(await r1.text(), /longer than the 1000 bytes announced/);
    // Chunked: no length up front, cut off as it passes the size.
    const streamed = await ann.upload('files', 'y.bin', 100 * 1024, '');
    const body = new ReadableStream({
      start(c) { for (let i = 0; i < 4; i++) c.enqueue(randomBytes(64 * 1024)); c.close(); },
    });
    const r2 = await fetch(base + streamed.url, { method: 'PUT', body, duplex: 'half' });
    assert.equal(r2.status, 413);
    for (const up of [byLength, streamed]) {
      assert.equal((await fetch(`${base}/files/${up.file}/x`)).status, 404);
      await waitFor(async () => (await kept(up.file)).length === 0, `nothing of ${up.file} kept`);
    }
  });

  test('a body shorter than announced: 400', async () => {
    const up = await ann.upload('files', 'short.bin', 1000, '');
    const r = await fetch(base + up.url, { method: 'PUT', body: randomBytes(999) });
    assert.equal(r.status, 400);
    assert.match(await r.text(), /shorter than the 1000 bytes announced/);
    const chunked = await ann.upload('files', 'short2.bin', 200 * 1024, '');
    const body = new ReadableStream({ start(c) { c.enqueue(randomBytes(1000)); c.close(); } });
    const r2 = await fetch(base + chunked.url, { method: 'PUT', body, duplex: 'half' });
    assert.equal(r2.status, 400);
    await waitFor(async () => [...await kept(up.file), ...await kept(chunked.file)].length === 0, 'nothing kept');
  });

  test('a client gone halfway leaves nothing, and may try the same link again', async () => {
    const bytes = randomBytes(1 * MiB);
    const up = await ann.upload('files', 'half.bin', bytes.length, '');
    const socket = net.connect(node.port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    socket.write(`PUT ${up.url} HTTP/1.1\r\nHost: x\r\nContent-Length: ${bytes.length}\r\n\r\n`);
    socket.write(bytes.subarray(0, bytes.length / 2));
    await waitFor(async () => (await node.metrics()).chatnode_uploads_receiving === 1, 'the upload to begin');
    socket.destroy();
    await waitFor(async () => (await kept(up.file)).length === 0, 'the partial file to be removed');
    assert.equal((await fetch(`${base}/files/${up.file}/x`)).status, 404);
    const retry = await fetch(base + up.url, { method: 'PUT', body: bytes });
    assert.equal(retry.status, 201);
  });

  test('what the upload request asks is checked first', async () => {
    const refusal = async (client, request) => {
      const answer = await client.ask({ type: 'upload', ...request });
      assert.equal(answer.type, 'error', JSON.stringify(answer));
      return answer;
    };
    const tooLarge = await refusal(ann, { room: 'files', name: 'huge.iso', size: 25 * MiB + 1, mime: '' });
    assert.equal(tooLarge.code, 'too_large');
    assert.match(tooLarge.reason, /26214400 bytes/);
    assert.equal((await refusal(ann, { room: 'files', name: 'a.sh', size: 5, mime: 'text/x-shellscript' })).code, 'forbidden');
    assert.equal((await refusal(ann, { room: 'files', name: 'a.mp4', size: 5, mime: 'video/mp4' })).code, 'forbidden');
    assert.equal((await refusal(ann, { room: 'elsewhere', name: 'a.txt', size: 5, mime: '' })).code, 'not_joined');
    assert.equal((await refusal(ann, { room: 'files', name: 'a.txt', size: -5, mime: '' })).code, 'bad_request');

    // A user's day: what they announce counts, on every connection of theirs.
    const quota = await new Uploader(node, 'quinn').connect();
    await quota.join('files');
    for (let i = 0; i < 28; i++) await quota.upload('files', `big${i}.bin`, 25 * MiB, '');
    const over = await refusal(quota, { room: 'files', name: 'one-more.bin', size: 25 * MiB, mime: '' });
    assert.equal(over.code, 'rate_limited');
    assert.match(over.reason, /daily upload quota of 734003200 bytes/);
    quota.close();
    const again = await new Uploader(node, 'quinn').connect();
    await again.join('files');
    assert.equal((await refusal(again, { room: 'files', name: 'x.bin', size: 25 * MiB, mime: '' })).code, 'rate_limited');
    again.close();

    const bob = await new Uploader(node, 'bob').connect();
    await bob.join('files');
    for (let i = 0; i < 30; i++) await bob.upload('files', `f${i}.txt`, 1, '');
    const tooMany = await refusal(bob, { room: 'files', name: 'one-more.txt', size: 1, mime: '' });
    assert.equal(tooMany.code, 'rate_limited');
    bob.close();
  });
});

test('twenty uploads of 25 MiB at once: the node holds the buffers, not the files', async () => {
  const count = 20, size = 25 * MiB, chunk = randomBytes(256 * 1024);
  const before = rssKiB(node.child.pid);
  const carol = await new Uploader(node, 'carol').connect();
  await carol.join('files');
  const uploads = [];
  for (let i = 0; i < count; i++) uploads.push(await carol.upload('files', `big${i}.bin`, size, ''));
  // Each upload sends half its body, then waits until every one has, so
  // that all twenty are open in the node at once when it is measured.
  let halfway = 0, release;
  const gate = new Promise((r) => { release = r; });
  const puts = uploads.map((up) => {
    let sent = 0, waited = false;
    const body = new ReadableStream({
      async pull(c) {
        if (!waited && sent >= size / 2) {
          waited = true;
          halfway += 1;
          await gate;
        }
        const n = Math.min(chunk.length, size - sent);
        c.enqueue(chunk.subarray(0, n));
        sent += n;
        if (sent === size) c.close();
      },
    });
    return fetch(base + up.url, { method: 'PUT', body, duplex: 'half', headers: { 'content-length': String(size) } });
  });
  await waitFor(() => halfway === count, 'every upload halfway', 120000);
  // What the node received went on to the store (the kernel's socket buffers hold the rest).
  await waitFor(async () => (await node.metrics()).chatnode_uploads_receiving === count, 'twenty uploads being received', 30000);
  const during = rssKiB(node.child.pid);
  release();
  const answers = await Promise.all(puts);
  assert.deepEqual(answers.map((r) => r.status), Array(count).fill(201));
  carol.close();
  console.log(`# RSS before ${before} KiB, with ${count} uploads of 25 MiB half received ${during} KiB (+${during - before} KiB)`);
  // 250 MiB received meanwhile; two 64 KiB buffers per upload is what it may cost.
  assert.ok(during - before < 32 * 1024, `RSS grew by ${during - before} KiB`);
});

test('metrics count uploads, refusals, abandoned uploads and thumbnails', async () => {
  const m = await node.metrics();
  assert.ok(m.chatnode_uploads_total >= 20, JSON.stringify(m));
  assert.ok(m.chatnode_upload_bytes_total >= 20 * 25 * MiB);
  assert.ok(m.chatnode_uploads_refused_total >= 4);
  assert.ok(m.chatnode_uploads_abandoned_total >= 1);
  assert.ok(m.chatnode_thumbnails_total >= 2);
  assert.ok(m.chatnode_file_requests_total >= 10);
});

test('restarted, the embedded node keeps fresh unsent uploads and removes the files of the messages it lost', async () => {
  const gone = await new Uploader(node, 'gina').connect();
  await gone.join('files');
  const sentUp = await gone.upload('files', 'sent.txt', 4, 'text/plain');
  assert.equal((await fetch(base + sentUp.url, { method: 'PUT', body: 'sent' })).status, 201);
  const unsentUp = await gone.upload('files', 'kept.txt', 4, 'text/plain');
  assert.equal((await fetch(base + unsentUp.url, { method: 'PUT', body: 'kept' })).status, 201);
  assert.equal((await gone.ask({ type: 'send', room: 'files', text: 'x', files: [sentUp.file] })).type, 'message');
  gone.close();
  await node.stop();
  node.child = null;
  await node.start();
  base = `http://127.0.0.1:${node.port}`;
  // The history went with the process (no archive): so did its files.
  await waitFor(async () => (await fetch(`${base}/files/${sentUp.file}/x`)).status === 404, 'the sent file to go');
  const kept = await fetch(`${base}/files/${unsentUp.file}/x`);
  assert.equal(kept.status, 200, 'an upload not sent yet stays its day');
  assert.equal(await kept.text(), 'kept');
  ann = await new Uploader(node, 'ann').connect();
});

test('a file store that cannot be written: still ready and saying so, uploads unavailable, chat going on; back within 10 s', async () => {
  const readyz = async () => { const r = await fetch(`${base}/readyz`); return { status: r.status, body: await r.text() }; };
  await ann.join('files');
  const up = await ann.upload('files', 'before.txt', 6, 'text/plain');
  await store.takeAway();
  try {
    await waitFor(async () => (await readyz()).body.includes('file store unreachable'), 'readyz to name the store', 15000);
    assert.equal((await readyz()).status, 200, 'the node stays in the balancer');
    const refused = await ann.ask({ type: 'upload', room: 'files', name: 'x.txt', size: 1, mime: 'text/plain' });
    assert.equal(refused.type, 'error');
    assert.equal(refused.code, 'unavailable');
    assert.equal((await fetch(base + up.url, { method: 'PUT', body: 'before' })).status, 503);
    assert.equal((await node.metrics()).chatnode_file_store_up, 0);
    assert.equal((await ann.ask({ type: 'send', room: 'files', text: 'chat goes on' })).type, 'message');
  } finally {
    await store.bringBack();
  }
  await waitFor(async () => !(await readyz()).body.includes('file store'), 'the store to be back', 15000);
  assert.equal((await fetch(base + up.url, { method: 'PUT', body: 'before' })).status, 201, 'the link still good');
});
