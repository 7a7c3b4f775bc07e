// Conversations in the page: how it shows what people type (the Markdown
// subset, links, mentions), quoted replies, threads in a side pane, and link
// previews (a page on loopback the node may reach). The
// parser (web/format.mjs) is checked alone, then the page in a real
// Chromium, people on one node: every element comes from the parse, markup
// in a message stays text, and only http(s) becomes a link.
//
//   CHATNODE_BIN=build/chatnode CHATNODE_SOURCE_DIR=. node --test tests/browser/conversation.test.mjs

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { parseInline, parseMessage } from '../../web/format.mjs';
import { png } from '../system/files.mjs';
import { Client, Node, Redis, waitFor } from '../system/lib.mjs';
import { launchChromium, pageHooks } from './lib.mjs';

const screenshots = process.env.SCREENSHOT_DIR ?? os.tmpdir();
mkdirSync(screenshots, { recursive: true });
const WAIT = 15000;

/** Inline tokens as a compact string: **x** -> S(x), *x* -> E(x), ~~x~~ -> X(x), `x` -> C(x), links L(href). */
function compact(tokens) {
  return tokens.map((t) => ({
    text: () => t.text, mention: () => `M(${t.name})`, code: () => `C(${t.text})`, link: () => `L(${t.href})`,
    strong: () => `S(${compact(t.children)})`, em: () => `E(${compact(t.children)})`, strike: () => `X(${compact(t.children)})`,
  })[t.type]()).join('');
}

test('the parser: emphasis, code, links, mentions, and what stays text', () => {
  const cases = [
    ['**bold** *it* _it_ ~~gone~~', 'S(bold) E(it) E(it) X(gone)'],
    ['snake_case_name and 2*3*4', 'snake_case_name and 2E(3)4'],
    ['** spaced ** and *open and `open', '** spaced ** and *open and `open'],
    ['`**not bold** <b>`', 'C(**not bold** <b>)'],
    ['**bold with *it* and `code`**', 'S(bold with E(it) and C(code))'],
    ['hi @bob, **@cy**', 'hi M(bob), S(M(cy))'],
    ['see https://example.com/a_(b). ok', 'see L(https://example.com/a_(b)). ok'],
    ['(https://x.org/y?q=1&r=2)', '(L(https://x.org/y?q=1&r=2))'],
    ['HTTPS://EXAMPLE.COM/Path!', 'L(https://example.com/Path)!'],
    ['javascript:alert(1) data:text/html,x ftp://h/f file:///etc/passwd', 'javascript:alert(1) data:text/html,x ftp://h/f file:///etc/passwd'],
    ['xhttps://a.b nohttp://c.d', 'xhttps://a.b nohttp://c.d'],
    ['http://a.b/<script>alert(1)</script>', 'L(http://a.b/)<script>alert(1)</script>'],
    ['https://', 'https://'],
  ];
  for (const [text, want] of cases) assert.equal(compact(parseInline(text)), want, text);
});

test('the parser: blocks of code and quotes; the text on the wire is untouched', () => {
  const text = '> quoted **line**\n> second\nafter\n```js\nlet a = **1**; // <b>\n```\nend';
  const blocks = parseMessage(text);
  assert.deepEqual(blocks.map((b) => b.type), ['quote', 'text', 'code', 'text']);
  assert.equal(compact(blocks[0].inline), 'quoted S(line)\nsecond');
  assert.equal(blocks[2].text, 'let a = **1**; // <b>');
  assert.deepEqual(parseMessage('```\nnever closed').map((b) => b.type), ['text']);
  // Worst cases stay linear enough: 4,000 characters of open markers.
  for (const c of ['`', '*', '_', '~', '**', 'http://']) {
    const started = performance.now();
    parseMessage(c.repeat(Math.floor(4000 / c.length)));
    assert.ok(performance.now() - started < 500, `${c} x 4000 parsed in time`);
  }
});

let node, browser, site;
before(async () => {
  // A page on loopback to preview, which this node may reach (no other).
  site = http.createServer((req, res) => {
    if (req.url === '/cover.png') {
      res.writeHead(200, { 'content-type': 'image/png' });
      return res.end(png(1200, 600));
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<html><head><meta property="og:title" content="Release notes: <faster> uploads">
      <meta property="og:description" content="What changed, and how to upgrade.">
      <meta property="og:image" content="/cover.png">
      <meta property="og:site_name" content="chatnode blog"></head><body></body></html>`);
  });
  await new Promise((resolve) => site.listen(0, '127.0.0.1', resolve));
  node = await new Node('f1', '', { CHATNODE_PREVIEWS_ALLOW_PRIVATE: '127.0.0.1/32' }).start();
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await node?.stop();
  site?.close();
});

async function person(name, room, viewport = { width: 1000, height: 720 }, on = node) {
  const context = await browser.newContext({ viewport });
  context.setDefaultTimeout(WAIT);
  await context.addInitScript(pageHooks);
  const page = await context.newPage();
  await page.goto(`http://127.0.0.1:${on.port}/`);
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Room', { exact: true }).fill(room);
  await page.getByRole('button', { name: 'Join' }).click();
  await page.getByRole('status').filter({ hasText: /^connected$/ }).waitFor();
  return page;
}

test('the page: formatting and links as elements, markup as text, the wire as typed', async () => {
  const room = `fmt-${process.pid}`;
  const ada = await person('ada', room);
  const bob = await person('bob', room);
  const typed = [
    '**bold** and *italic* and ~~struck~~ and `a <b>code</b>` for @bob',
    'see https://example.com/docs?x=1. and javascript:alert(document.cookie) <img src=x onerror=alert(1)>',
    '> a quote with https://chatnode.example/q\nthe answer\n```\nconst html = "<script>alert(1)</script>";\n```',
  ];
  for (const text of typed) {
    const box = ada.getByLabel('Message', { exact: true });
    await box.fill(text);
    await box.press('Enter');
  }
  const msgs = bob.locator('#messages .msg');
  await msgs.filter({ hasText: 'the answer' }).waitFor();

  const first = msgs.filter({ hasText: 'italic' });
  assert.equal(await first.locator('.text strong').textContent(), 'bold');
  assert.equal(await first.locator('.text em').textContent(), 'italic');
  assert.equal(await first.locator('.text s').textContent(), 'struck');
  assert.equal(await first.locator('.text code').textContent(), 'a <b>code</b>');
  assert.equal(await first.locator('.text mark.mention.me').textContent(), '@bob');

  const second = msgs.filter({ hasText: 'see ' });
  const links = second.locator('.text a');
  assert.equal(await links.count(), 1, 'only the http(s) URL is a link');
  assert.equal(await links.getAttribute('href'), 'https://example.com/docs?x=1');
  assert.equal(await links.getAttribute('rel'), 'noopener noreferrer nofollow');
  assert.equal(await links.getAttribute('target'), '_blank');
  assert.equal(await second.locator('img').count(), 0, 'markup stays text');
  assert.match(await second.locator('.text').textContent(), /<img src=x onerror=alert\(1\)>/);

  const third = msgs.filter({ hasText: 'the answer' });
  assert.match(await third.locator('.text blockquote').textContent(), /^a quote with https:\/\/chatnode\.example\/q$/);
  assert.equal(await third.locator('.text blockquote a').getAttribute('href'), 'https://chatnode.example/q');
  assert.equal(await third.locator('.text pre code').textContent(), 'const html = "<script>alert(1)</script>";');
  assert.equal(await bob.locator('#messages script').count(), 0);

  // The wire keeps the text as typed: a second client's history sees it so.
  const history = await bob.evaluate(() => [...document.querySelectorAll('#messages .msg .text')].map((n) => n.textContent));
  assert.ok(history.some((t) => t.includes('**') === false && t.includes('bold and italic')), 'markers are not shown');
  const cy = await new Client(node, 'cy').connect();
  const texts = (await cy.join(room)).history.map((m) => m.text);
  cy.close();
  assert.deepEqual(texts.slice(-3), typed);
  await bob.screenshot({ path: path.join(screenshots, 'conversation-format.png') });
});

test('replies: the quote above the answer follows edits and deletes, and a click goes to the message, paging back', async () => {
  const room = `reply-${process.pid}`;
  // An old question, 70 messages, then its answer: the page opens on the newest 50.
  const old = await new Client(node, 'cy').connect();
  await old.join(room);
  const sent = (text, extra = {}) => {
    const cid = `c-${text}`;
    old.send({ type: 'send', room, text, cid, ...extra });
    return waitFor(() => old.events.find((e) => e.type === 'message' && e.cid === cid), `"${text}" stored`);
  };
  const question = await sent('the first question\nwith a second line');
  for (let i = 0; i < 70; i++) await sent(`filler ${i}`);
  await sent('an answer to it', { reply_to: question.id });

  const ada = await person('ada', room);
  const answer = ada.locator('#messages .msg').filter({ hasText: 'an answer to it' });
  await answer.locator('.quote').filter({ hasText: 'an earlier message' }).waitFor();
  await answer.locator('.quote').click();
  const asked = ada.locator(`#messages li[data-id="${question.id}"]`);
  await asked.and(ada.locator('.flash')).waitFor();
  assert.ok(await asked.evaluate((li) => {
    const r = li.getBoundingClientRect(), log = document.getElementById('log').getBoundingClientRect();
    return r.top >= log.top && r.bottom <= log.bottom;
  }), 'the quoted message is scrolled into view');
  await answer.locator('.quote').filter({ hasText: 'cythe first question' }).waitFor();

  // Replying in the page: the bar says to whom, Escape cancels, the send quotes.
  const bob = await person('bob', room);
  const target = bob.locator('#messages .msg').filter({ hasText: 'filler 69' });
  await target.click();
  await target.getByRole('button', { name: 'Reply', exact: true }).click();
  await bob.locator('#reply-bar').filter({ hasText: 'Replying to cy: filler 69' }).waitFor();
  await bob.getByLabel('Message', { exact: true }).press('Escape');
  assert.equal(await bob.locator('#reply-bar').isVisible(), false);
  await target.click();
  await target.getByRole('button', { name: 'Reply', exact: true }).click();
  const box = bob.getByLabel('Message', { exact: true });
  await box.fill('**agreed**');
  await box.press('Enter');
  const reply = (p) => p.locator('#messages .msg').filter({ hasText: 'agreed' });
  await reply(ada).locator('.quote').filter({ hasText: 'filler 69' }).waitFor();
  assert.equal(await reply(ada).locator('.text strong').textContent(), 'agreed');
  const onWire = await waitFor(() => old.events.find((e) => e.type === 'message' && e.text === '**agreed**'), 'the reply on the wire');
  assert.equal(onWire.reply_to, old.events.find((e) => e.type === 'message' && e.text === 'filler 69').id);
  assert.equal(await bob.locator('#reply-bar').isVisible(), false, 'the bar goes once sent');

  // The quote follows its message: edited, then deleted.
  const filler = old.events.find((e) => e.type === 'message' && e.text === 'filler 69');
  old.send({ type: 'edit', room, target: filler.id, text: 'filler sixty-nine' });
  await reply(ada).locator('.quote').filter({ hasText: 'filler sixty-nine' }).waitFor();
  old.send({ type: 'delete', room, target: filler.id });
  await reply(ada).locator('.quote').filter({ hasText: 'deleted' }).waitFor();
  await reply(ada).scrollIntoViewIfNeeded();
  await ada.screenshot({ path: path.join(screenshots, 'conversation-replies.png') });
  old.close();
});

test('threads: a side pane with its own composer, counts and the last replier on the root, a full screen on a phone', async () => {
  const room = `thread-${process.pid}`;
  const ada = await person('ada', room);
  const bob = await person('bob', room, { width: 390, height: 760 });
  let box = ada.getByLabel('Message', { exact: true });
  await box.fill('what shall we name it?');
  await box.press('Enter');
  const root = (p) => p.locator('#messages .msg').filter({ hasText: 'what shall we name it?' });
  await root(bob).waitFor();

  // bob, on a phone, opens a thread on it: the pane covers the screen.
  await root(bob).click();
  await root(bob).getByRole('button', { name: 'Reply in a thread' }).click();
  const pane = bob.getByRole('complementary', { name: 'Thread' });
  await pane.waitFor();
  const size = await pane.boundingBox();
  assert.ok(size.width >= 389 && size.height >= 759, `full screen on a phone: ${JSON.stringify(size)}`);
  await pane.locator('#thread-root').filter({ hasText: 'what shall we name it?' }).waitFor();
  box = bob.getByLabel('Reply in thread');
  await box.fill('*chatnode*, surely');
  await box.press('Enter');
  await pane.locator('#thread-messages .msg').filter({ hasText: 'chatnode, surely' }).locator('em').waitFor();
  await bob.screenshot({ path: path.join(screenshots, 'conversation-thread-phone.png') });

  // ada sees the count on the root, not the reply in the room; opens the thread.
  await root(ada).locator('.thread-link').filter({ hasText: /^1 reply/ }).waitFor();
  assert.equal(await ada.locator('#messages .msg').filter({ hasText: 'surely' }).count(), 0, 'thread replies stay in the thread');
  await root(ada).locator('.thread-link').click();
  const adaPane = ada.getByRole('complementary', { name: 'Thread' });
  await adaPane.locator('#thread-messages .msg').filter({ hasText: 'chatnode, surely' }).waitFor();
  box = ada.getByLabel('Reply in thread');
  await box.fill('agreed');
  await box.press('Enter');
  await pane.locator('#thread-messages .msg').filter({ hasText: 'agreed' }).waitFor();
  await root(ada).locator('.thread-link').filter({ hasText: /^2 replies · ada · last / }).waitFor();
  await ada.screenshot({ path: path.join(screenshots, 'conversation-thread.png') });

  // On the wire: the root counts both, the replies name their root.
  const cy = await new Client(node, 'cy').connect();
  const joined = await cy.join(room);
  const rootOnWire = joined.history.find((m) => m.text === 'what shall we name it?');
  assert.equal(rootOnWire.replies, 2);
  assert.deepEqual(joined.history.filter((m) => m.thread === rootOnWire.id).map((m) => m.text), ['*chatnode*, surely', 'agreed']);
  cy.close();

  // Escape closes the pane and gives the room's box the focus.
  await ada.getByLabel('Reply in thread').press('Escape');
  assert.equal(await adaPane.isVisible(), false);
  assert.equal(await ada.evaluate(() => document.activeElement.id), 'message');
});

test('followed threads: the unread marker on the root, on two devices on two nodes, cleared by reading on either', async () => {
  const redis = await new Redis().start();
  const nodes = [];
  try {
    for (const name of ['u1', 'u2']) nodes.push(await new Node(name, redis.url).start());
    const room = `follow-${process.pid}`;
    const ada = await person('ada', room, undefined, nodes[0]);
    const adaPhone = await person('ada', room, { width: 390, height: 760 }, nodes[1]); // her second device
    const bob = await person('bob', room, undefined, nodes[1]);
    const box = ada.getByLabel('Message', { exact: true });
    await box.fill('Friday: where do we meet?');
    await box.press('Enter');
    const root = (p) => p.locator('#messages .msg').filter({ hasText: 'Friday: where do we meet?' });
    await root(bob).click();
    await root(bob).getByRole('button', { name: 'Reply in a thread' }).click();
    const reply = async (text) => {
      await bob.getByLabel('Reply in thread').fill(text);
      await bob.getByLabel('Reply in thread').press('Enter');
      await bob.locator('#thread-messages .msg').filter({ hasText: text }).waitFor();
    };
    await reply('At the station, at ten.');

    // ada started the thread: she follows it, and both her devices mark the reply as new.
    const marker = (p) => root(p).locator('.thread-link .thread-unread');
    for (const p of [ada, adaPhone]) await marker(p).filter({ hasText: '1 new' }).waitFor();
    await ada.screenshot({ path: path.join(screenshots, 'conversation-thread-unread.png') });
    assert.equal(await marker(bob).count(), 0, 'his own reply is read');

    // Reading it on the phone (another node) clears the marker on the desktop.
    await root(adaPhone).locator('.thread-link').click();
    await adaPhone.getByRole('complementary', { name: 'Thread' }).locator('#thread-messages .msg')
      .filter({ hasText: 'At the station' }).waitFor();
    await waitFor(async () => (await marker(ada).count()) === 0, 'the desktop\'s marker to clear', WAIT);

    // The phone closes the thread; two more replies are new on both devices.
    await adaPhone.getByLabel('Reply in thread').press('Escape');
    await reply('I will bring the tickets.');
    await reply('And an umbrella.');
    for (const p of [ada, adaPhone]) await marker(p).filter({ hasText: '2 new' }).waitFor();
    // The desktop reads them; with the thread open there, the next reply is read as it comes.
    await root(ada).locator('.thread-link').click();
    for (const p of [ada, adaPhone]) await waitFor(async () => (await marker(p).count()) === 0, 'the markers to clear', WAIT);
    await reply('See you there.');
    await ada.locator('#thread-messages .msg').filter({ hasText: 'See you there' }).waitFor();
    await adaPhone.locator('#messages .msg .thread-link').filter({ hasText: /^4 replies/ }).waitFor();
    await waitFor(async () => (await marker(adaPhone).count()) === 0, 'a reply read on the desktop as it came not to be new on the phone', WAIT);
    for (const p of [ada, adaPhone, bob]) await p.context().close();
  } finally {
    for (const n of nodes) await n.stop().catch(() => {});
    await redis.destroy();
  }
});

test('link previews: a card under the message, its title a link to the page, its text text', async () => {
  const room = `preview-${process.pid}`;
  const ada = await person('ada', room);
  const bob = await person('bob', room);
  const link = `http://127.0.0.1:${site.address().port}/notes`;
  const box = ada.getByLabel('Message', { exact: true });
  await box.fill(`the notes are out: ${link}`);
  await box.press('Enter');
  const card = bob.locator('#messages .msg').filter({ hasText: 'the notes are out' }).locator('.preview-card');
  await card.waitFor();
  assert.equal(await card.locator('.site').textContent(), 'chatnode blog');
  const title = card.locator('a.title');
  assert.equal(await title.textContent(), 'Release notes: <faster> uploads');
  assert.equal(await title.getAttribute('href'), link);
  assert.equal(await title.getAttribute('target'), '_blank');
  assert.equal(await title.getAttribute('rel'), 'noopener noreferrer nofollow');
  assert.equal(await card.locator('.description').textContent(), 'What changed, and how to upgrade.');
  assert.equal(await card.locator('faster').count(), 0, 'markup in a title stays text');
  // The page's image, as the node's thumbnail of it: loaded from the node.
  const image = card.locator('img');
  await bob.waitForFunction((img) => img.complete && img.naturalWidth > 0, await image.elementHandle());
  assert.match(await image.getAttribute('src'), /^\/files\/[A-Za-z0-9_-]{22}\/preview\.jpg$/);
  assert.deepEqual(await image.evaluate((img) => [img.naturalWidth, img.naturalHeight]), [320, 160]);
  // A new tab opens on the page itself.
  const [tab] = await Promise.all([bob.context().waitForEvent('page'), title.click()]);
  await tab.waitForLoadState();
  assert.equal(tab.url(), link);
  await tab.close();
  // Someone who joins later sees it in the snapshot.
  const cy = await person('cy', room);
  await cy.locator('#messages .preview-card a.title').waitFor();
  await bob.screenshot({ path: path.join(screenshots, 'conversation-preview.png') });
});
