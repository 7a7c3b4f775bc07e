// Link previews (PROTOCOL.md, "Replies, threads and links (1.2)"): a
// message's first link is fetched by the node it was sent on, and its
// preview reaches the room as a `preview` event and every snapshot. Pages
// come from HTTP servers this test runs on loopback addresses; the nodes
// may reach 127.0.0.2 only (`[previews] allow_private`), so that every
// other private address, and a redirect from 127.0.0.2 to one, is refused:
// each refusal is checked at the servers (no request arrived). A page's
// image is kept in the file store as a thumbnail, a copy per message, gone
// with its message. Then two nodes on a real redis-server sharing a store:
// a link is fetched once over both, and the preview (its image too)
// reaches members and history on the other node.
//
//   CHATNODE_BIN=build/chatnode [FILES_STORE=s3] node --test tests/system/previews.test.mjs

import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { openStore } from './file_stores.mjs';
import { png } from './files.mjs';
import { Client, Node, Redis, waitFor } from './lib.mjs';

/** The width and height a JPEG's frame header gives. */
function jpegSize(bytes) {
  assert.equal(bytes.readUInt16BE(0), 0xffd8, 'a JPEG');
  for (let at = 2; at + 9 < bytes.length;) {
    const marker = bytes.readUInt16BE(at);
    const length = bytes.readUInt16BE(at + 2);
    if (marker >= 0xffc0 && marker <= 0xffc3) return { height: bytes.readUInt16BE(at + 5), width: bytes.readUInt16BE(at + 7) };
    at += 2 + length;
  }
  throw new Error('no frame header');
}

/** A client that sends, pages history and finds previews. */
class Member extends Client {
  say(room, text) { return this.ask({ type: 'send', room, text }); }
  async history(room) {
    const from = this.events.length;
    this.send({ type: 'history', room, limit: 10 });
    return waitFor(() => this.events.slice(from).find((e) => e.type === 'history' && e.room === room), `${this.name}: a history page`);
  }
  previewOf(id) { return this.events.find((e) => e.type === 'preview' && e.target === id); }
  remove(room, target) { return this.ask({ type: 'delete', room, target }); }
}

/** GET of a path on a node: status, type and bytes. */
async function download(node, path) {
  const r = await fetch(`http://127.0.0.1:${node.port}${path}`);
  return { status: r.status, type: r.headers.get('content-type'), bytes: Buffer.from(await r.arrayBuffer()) };
}
const imagePath = /^\/files\/[A-Za-z0-9_-]{22}\/preview\.jpg$/;

const members = [];
async function member(node, name, room) {
  const m = await new Member(node, name).connect();
  members.push(m);
  await m.join(room);
  return m;
}

/** The pages, served on two loopback addresses; every request is noted with
 *  the address it came to. */
class Pages {
  requests = [];
  servers = [];
  async start() {
    const handler = (req, res) => this.serve(req, res);
    for (const host of ['127.0.0.2', '127.0.0.1']) {
      const server = http.createServer(handler);
      await new Promise((resolve) => server.listen(0, host, resolve));
      this.servers.push(server);
    }
    // One port on each address: the same server everywhere is simpler to name.
    return this;
  }
  url(host, path) {
    const server = this.servers[host === '127.0.0.2' ? 0 : 1];
    return `http://${host}:${server.address().port}${path}`;
  }
  hits(path) { return this.requests.filter((r) => r.path === path); }
  serve(req, res) {
    const hit = { path: req.url, at: Date.now(), host: req.socket.localAddress, closed: null, finished: false };
    this.requests.push(hit);
    res.on('close', () => { hit.closed = Date.now(); });
    res.on('finish', () => { hit.finished = true; });
    const html = (body) => { res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }); res.end(body); };
    switch (req.url.replace(/\?.*/, '')) {
      case '/article':
      case '/shared':
        return html(`<!doctype html><html><head><title>Plain title</title>
          <meta property="og:title" content="Quarterly results &amp; plans">
          <meta property="og:description" content="What the team did, and what comes next.">
          <meta property="og:site_name" content="The Example Times">
          </head><body>text</body></html>`);
      case '/illustrated':
      case '/illustrated-shared':
        return html(`<html><head><meta property="og:title" content="With a picture">
          <meta property="og:image" content="/pic.png?${req.url}"></head></html>`);
      case '/pic.png':
        res.writeHead(200, { 'content-type': 'image/png' });
        return res.end(png(800, 400));
      case '/illustrated-far':
        return html(`<html><head><meta property="og:title" content="Its picture on loopback">
          <meta property="og:image" content="${this.url('127.0.0.1', '/secret-pic.png')}"></head></html>`);
      case '/illustrated-huge':
        return html('<html><head><meta property="og:title" content="A huge picture"><meta property="og:image" content="/huge.png"></head></html>');
      case '/huge.png': // 2 MiB: past the 1 MiB an image may have
        res.writeHead(200, { 'content-type': 'image/png' });
        return res.end(Buffer.concat([png(8, 8), Buffer.alloc(2 * 1024 * 1024)]));
      case '/illustrated-page':
        return html('<html><head><meta property="og:title" content="A page as its picture"><meta property="og:image" content="/titled"></head></html>');
      case '/titled':
        return html('<html><head><title>  Only   a title </title></head><body></body></html>');
      case '/doc.pdf':
        res.writeHead(200, { 'content-type': 'application/pdf' });
        return res.end('%PDF-1.4 not a page');
      case '/slow':
        // A head that never ends: the node must give up at 5 s.
        res.writeHead(200, { 'content-type': 'text/html' });
        res.write('<html><head>');
        return setTimeout(() => res.end('<title>Too late</title></head></html>'), 9000).unref();
      case '/big': {
        // 10 MiB whose title comes after the first MiB: cut, so no preview.
        res.writeHead(200, { 'content-type': 'text/html' });
        res.write('<html><head><meta name="filler" content="');
        const chunk = 'x'.repeat(64 * 1024);
        let sent = 0;
        const more = () => {
          while (sent < 10 * 1024 * 1024) {
            sent += chunk.length;
            if (!res.write(chunk)) return res.once('drain', more);
          }
          res.end('"><title>Past the limit</title></head></html>');
        };
        res.on('close', () => { hit.sent = sent; });
        return more();
      }
      case '/to-loopback':
        res.writeHead(302, { location: this.url('127.0.0.1', '/secret') });
        return res.end();
      default:
        res.writeHead(404);
        return res.end();
    }
  }
  async stop() { for (const s of this.servers) { s.closeAllConnections(); await new Promise((r) => s.close(r)); } }
}

const previewEnv = { CHATNODE_PREVIEWS_ALLOW_PRIVATE: '127.0.0.2/32' };
const outcomes = async (node) => {
  const m = await node.metrics();
  const of = (o) => m[`chatnode_link_previews_total{outcome="${o}"}`] ?? 0;
  return { fetched: of('fetched'), unusable: of('unusable'), cached: of('cached'), skipped: of('skipped') };
};

let pages;
before(async () => { pages = await new Pages().start(); });
after(async () => {
  for (const m of members) m.close();
  await pages?.stop();
});

describe('previews on one node', () => {
  let node;
  let store;
  before(async () => {
    store = await openStore();
    node = await new Node('p1', '', { ...previewEnv, ...store.env }).start();
  });
  after(async () => {
    await node?.stop();
    await store?.close();
  });

  test('a page\'s Open Graph title, description and site reach the room, and every snapshot after', async () => {
    const ann = await member(node, 'ann', 'news');
    const bob = await member(node, 'bob', 'news');
    const link = pages.url('127.0.0.2', '/article');
    const sent = await ann.say('news', `read this: ${link}.`);
    assert.equal(sent.type, 'message', JSON.stringify(sent));
    const preview = await waitFor(() => bob.previewOf(sent.id), 'bob to get the preview');
    assert.deepEqual(
      { room: preview.room, url: preview.url, title: preview.title, description: preview.description, site: preview.site },
      { room: 'news', url: link, title: 'Quarterly results & plans', description: 'What the team did, and what comes next.', site: 'The Example Times' });
    assert.ok(!('image' in preview), 'a page without an image gives a preview without one');
    // A joiner's snapshot and a history page carry it as the message's preview.
    const cy = await member(node, 'cy', 'news');
    const joined = cy.events.find((e) => e.type === 'joined' && e.room === 'news');
    const inSnapshot = joined.history.find((m) => m.id === sent.id);
    assert.equal(inSnapshot.preview?.title, 'Quarterly results & plans', JSON.stringify(inSnapshot));
    const page = await cy.history('news');
    assert.equal(page.messages.find((m) => m.id === sent.id).preview?.site, 'The Example Times');
    assert.equal(pages.hits('/article').length, 1);
  });

  test('a <title> alone makes a preview, with the host as its site; a PDF, a slow page and a huge one make none', async () => {
    const ann = await member(node, 'ann2', 'links');
    const before = await outcomes(node);
    const titled = await ann.say('links', pages.url('127.0.0.2', '/titled'));
    const preview = await waitFor(() => ann.previewOf(titled.id), 'the title preview');
    assert.deepEqual([preview.title, preview.description, preview.site], ['Only a title', '', '127.0.0.2']);

    const pdf = await ann.say('links', `the report ${pages.url('127.0.0.2', '/doc.pdf')}`);
    const slow = await ann.say('links', pages.url('127.0.0.2', '/slow'));
    const big = await ann.say('links', pages.url('127.0.0.2', '/big'));
    await waitFor(async () => (await outcomes(node)).unusable >= before.unusable + 3, 'the three links to come to nothing', 15000);
    for (const m of [pdf, slow, big]) assert.equal(ann.previewOf(m.id), undefined, `no preview for ${m.text}`);
    const [slowHit] = pages.hits('/slow');
    // The node counts its outcome as it hangs up; the page server hears the
    // close a moment later (later still under the sanitizers).
    await waitFor(() => slowHit.closed !== null, 'the page server to see the slow page\'s connection close', 5000);
    const gaveUp = slowHit.closed - slowHit.at;
    const [bigHit] = pages.hits('/big');
    console.log(`# slow page: the node hung up after ${gaveUp} ms; 10 MiB page: ${bigHit.sent} bytes written before it hung up`);
    assert.ok(gaveUp >= 4500 && gaveUp < 7000, `gave up the slow page at 5 s (${gaveUp} ms)`);
    assert.ok(bigHit.sent < 10 * 1024 * 1024 && !bigHit.finished, 'the huge page was not read to its end');
  });

  test('a page\'s image becomes a thumbnail in the file store, a copy per message that goes with its message', async () => {
    const ann = await member(node, 'ann5', 'pictures');
    const bob = await member(node, 'bob5', 'pictures');
    const link = pages.url('127.0.0.2', '/illustrated');
    const first = await ann.say('pictures', link);
    const preview = await waitFor(() => bob.previewOf(first.id), 'the preview with its image');
    assert.match(preview.image ?? '', imagePath, JSON.stringify(preview));
    const shown = await download(node, preview.image);
    assert.equal(shown.status, 200);
    assert.equal(shown.type, 'image/jpeg');
    const size = jpegSize(shown.bytes);
    assert.deepEqual(size, { width: 320, height: 160 }, 'at most 320 pixels on its longer side, its shape kept');
    assert.equal(pages.hits('/pic.png?/illustrated').length, 1);
    // The same link again: the cached preview, the image not fetched again,
    // but a copy of its own for this message.
    const second = await bob.say('pictures', `again ${link}`);
    const again = await waitFor(() => ann.previewOf(second.id), 'the second preview');
    assert.match(again.image ?? '', imagePath);
    assert.notEqual(again.image, preview.image);
    assert.equal(pages.hits('/pic.png?/illustrated').length, 1, 'the image was fetched once');
    assert.deepEqual((await download(node, again.image)).bytes, shown.bytes);
    // A joiner's snapshot names it.
    const cy = await member(node, 'cy5', 'pictures');
    const joined = cy.events.find((e) => e.type === 'joined' && e.room === 'pictures');
    assert.equal(joined.history.find((m) => m.id === first.id).preview.image, preview.image);
    // Deleting the first message takes its copy along, not the second's.
    assert.equal((await ann.remove('pictures', first.id)).type, 'delete');
    await waitFor(async () => (await download(node, preview.image)).status === 404, 'the deleted message\'s image to go');
    assert.equal((await download(node, again.image)).status, 200);
  });

  test('a page\'s image on a refused address, over 1 MiB, or not an image: the preview goes without it', async () => {
    const ann = await member(node, 'ann6', 'pictures2');
    const bob = await member(node, 'bob6', 'pictures2');
    for (const [who, path] of [[ann, '/illustrated-far'], [bob, '/illustrated-huge'], [ann, '/illustrated-page']]) {
      const sent = await who.say('pictures2', pages.url('127.0.0.2', path));
      const preview = await waitFor(() => ann.previewOf(sent.id), `the preview of ${path}`, 15000);
      assert.ok(preview.title, path);
      assert.ok(!('image' in preview), `${path}: no image (${preview.image})`);
    }
    assert.deepEqual(pages.hits('/secret-pic.png'), [], 'nothing was asked of loopback');
    assert.equal(pages.hits('/huge.png').length, 1);
  });

  test('nothing is fetched from loopback, private or link-local addresses, a name that resolves to loopback, or a redirect to loopback', async () => {
    // Two senders: one user's links are previewed at most 10 a minute (6 at once).
    const senders = [await member(node, 'ann3', 'probes'), await member(node, 'bob3', 'probes')];
    const before = await outcomes(node);
    const port = pages.servers[1].address().port;
    const refused = [
      `http://127.0.0.1:${port}/secret`,
      `http://[::1]:${port}/secret`,
      `http://localhost:${port}/secret`,
      'http://10.0.0.1/secret',
      'http://169.254.169.254/latest/meta-data/',
      `http://[::ffff:127.0.0.1]:${port}/secret`,
      pages.url('127.0.0.2', '/to-loopback'),
    ];
    for (const [i, link] of refused.entries())
      assert.equal((await senders[i % 2].say('probes', `see ${link}`)).type, 'message');
    let now;
    await waitFor(async () => (now = await outcomes(node)).unusable >= before.unusable + refused.length,
      () => `every probe to come to nothing (before ${JSON.stringify(before)}, now ${JSON.stringify(now)})`, 15000);
    assert.deepEqual(pages.hits('/secret'), [], 'no request reached a refused address');
    assert.equal(pages.hits('/to-loopback').length, 1, 'the allowed server was asked, its redirect refused');
    assert.equal(senders[0].events.filter((e) => e.type === 'preview').length, 0);
  });

  test('an unlisted room and a direct conversation get no previews', async () => {
    const ann = await member(node, 'ann4', '_hidden');
    const before = await outcomes(node);
    const link = pages.url('127.0.0.2', '/article?hidden');
    await ann.say('_hidden', link);
    await waitFor(async () => (await outcomes(node)).skipped >= before.skipped + 1, 'the link to be skipped');
    assert.deepEqual(pages.hits('/article?hidden'), []);
  });
});

describe('previews over one Redis and two nodes', () => {
  let redis;
  let store;
  const nodes = [];
  before(async () => {
    redis = await new Redis().start();
    store = await openStore();
    // A short retention: the stream trims a message (and its preview) after five more.
    const env = { ...previewEnv, ...store.env, CHATNODE_HISTORY_RETENTION: '5' };
    for (const name of ['q1', 'q2']) nodes.push(await new Node(name, redis.url, env).start());
    await waitFor(async () => (await Promise.all(nodes.map((n) => n.ready()))).every(Boolean), 'nodes ready');
  });
  after(async () => {
    for (const n of nodes) await n.stop();
    await redis?.stop();
    await store?.close();
  });

  test('a link is fetched once over both nodes, and each message\'s preview reaches members and history on the other', async () => {
    const ann = await member(nodes[0], 'ann', 'shared');
    const bob = await member(nodes[1], 'bob', 'shared');
    const link = pages.url('127.0.0.2', '/shared');
    const first = await ann.say('shared', link);
    await waitFor(() => bob.previewOf(first.id), 'bob on q2 to get the preview fetched on q1');
    const second = await bob.say('shared', `same: ${link}`);
    const again = await waitFor(() => ann.previewOf(second.id), 'ann on q1 to get the preview q2 took from the cache');
    assert.equal(again.title, 'Quarterly results & plans');
    assert.equal(pages.hits('/shared').length, 1, 'one fetch of the link over both nodes');
    assert.equal((await outcomes(nodes[1])).cached, 1);
    // A history page on the other node shows both previews.
    const page = await bob.history('shared');
    for (const m of [first, second])
      assert.equal(page.messages.find((x) => x.id === m.id)?.preview?.url, link);
    // Only one preview per message, whatever asks again.
    assert.equal(ann.events.filter((e) => e.type === 'preview').length, 2);
  });

  test('a preview\'s image fetched on one node is served by the other, and goes with its message, deleted or trimmed', async () => {
    const ann = await member(nodes[0], 'ann7', 'gallery');
    const bob = await member(nodes[1], 'bob7', 'gallery');
    const link = pages.url('127.0.0.2', '/illustrated-shared');
    const first = await ann.say('gallery', link);
    const preview = await waitFor(() => bob.previewOf(first.id), 'bob on q2 to get the preview with its image');
    assert.match(preview.image ?? '', imagePath);
    assert.equal((await download(nodes[1], preview.image)).status, 200, 'the other node serves it');
    const second = await bob.say('gallery', link);
    const again = await waitFor(() => ann.previewOf(second.id), 'the cached preview on q2');
    assert.match(again.image ?? '', imagePath);
    assert.notEqual(again.image, preview.image);
    assert.equal((await download(nodes[0], again.image)).status, 200);
    // Deleted: its copy goes (store.lua names it to the bridge).
    assert.equal((await ann.remove('gallery', first.id)).type, 'delete');
    await waitFor(async () => (await download(nodes[0], preview.image)).status === 404, 'the deleted message\'s image to go');
    assert.equal((await download(nodes[1], again.image)).status, 200);
    // Trimmed: five messages later the second leaves the stream, and with no
    // archive to keep it, its preview's image goes too.
    for (let i = 0; i < 6; i++) assert.equal((await ann.say('gallery', `filler ${i}`)).type, 'message');
    await waitFor(async () => (await download(nodes[1], again.image)).status === 404, 'the trimmed message\'s image to go');
  });
});
