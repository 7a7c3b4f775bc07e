// The browser client in a real Chromium against a real chatnode: two people
// chat, text stays text, typing shows, a reload brings the history back, older
// history pages in on scroll, a node restart loses and doubles nothing, and
// two people on two nodes chat through nginx with the deploy config.
//
//   CHATNODE_BIN=build/chatnode CHATNODE_SOURCE_DIR=. node --test tests/browser/
//
// CHATNODE_BIN (required): the chatnode executable. CHATNODE_SOURCE_DIR: the
// repository root (default: two levels up from this file). SCREENSHOT_DIR:
// where PNGs go (default: the system temp directory). CHROMIUM: the browser
// (default /usr/bin/chromium).

import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';
import { Balancer, Node, Redis } from '../system/lib.mjs';

// The folder of this file (import.meta.dirname needs Node.js 20.11; Debian 12 has 18).
const here = path.dirname(fileURLToPath(import.meta.url));

const sourceDir = path.resolve(process.env.CHATNODE_SOURCE_DIR ?? path.join(here, '../..'));
const bin = process.env.CHATNODE_BIN;
const screenshots = process.env.SCREENSHOT_DIR ?? os.tmpdir();
mkdirSync(screenshots, { recursive: true });

const WAIT = 15000;   // deadline for anything that should happen promptly

// -- the node ------------------------------------------------------------------

/** Starts a chatnode; resolves with { proc, url, port } once it prints its address. */
function startNode(listen = '127.0.0.1:0', env = {}) {
  if (!bin) throw new Error('set CHATNODE_BIN to the chatnode executable (and CHATNODE_SOURCE_DIR to the repository root)');
  const proc = spawn(bin, ['--config', path.join(sourceDir, 'config/node.toml'), '--listen', listen,
    '--web-root', path.join(sourceDir, 'web'), '--log-level', 'warn'],
  { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let err = '';
  proc.stderr.on('data', (d) => { err = (err + d).slice(-4000); process.stderr.write(d); });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error(`chatnode printed no address in 10 s\n${err}`)); }, 10000);
    proc.once('error', (e) => { clearTimeout(timer); reject(e); });
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`chatnode exited (${code ?? signal}) before listening\n${err}`));
    });
    proc.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/chatnode listening on (http:\/\/([^\s/]+):(\d+)\/)/);
      if (m) { clearTimeout(timer); resolve({ proc, url: m[1], port: Number(m[3]) }); }
    });
  });
}

/** SIGTERM, then waits for the exit (SIGKILL past the deadline). */
async function stopNode(node) {
  if (!node || node.proc.exitCode !== null || node.proc.signalCode !== null) return;
  const exited = new Promise((r) => node.proc.once('exit', r));
  node.proc.kill('SIGTERM');
  const timer = setTimeout(() => node.proc.kill('SIGKILL'), 15000);
  await exited;
  clearTimeout(timer);
}

let node, browser;

before(async () => {
  node = await startNode();
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  await stopNode(node);
});

// -- helpers -------------------------------------------------------------------

/** A person in their own browser context (own localStorage), joined to `room`. */
async function person(baseUrl, name, room, { screenshot } = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  context.setDefaultTimeout(WAIT);
  const page = await context.newPage();
  const dialogs = [];
  page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss().catch(() => {}); });
  await page.goto(baseUrl);
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Room', { exact: true }).fill(room);
  if (screenshot) await page.screenshot({ path: path.join(screenshots, screenshot) });
  await page.getByRole('button', { name: 'Join' }).click();
  await connected(page);
  return { page, context, dialogs };
}

const status = (page) => page.getByRole('status');
const connected = (page, timeout = WAIT) => status(page).filter({ hasText: /^connected$/ }).waitFor({ timeout });
const messageBox = (page) => page.getByLabel('Message', { exact: true });
const messageTexts = (page) => page.locator('#messages .msg .text').allTextContents();
const shown = (page, text) => page.locator('#messages .msg .text').filter({ hasText: text });
const memberCount = (page, n) => page.locator('#member-count').filter({ hasText: new RegExp(`^${n}$`) }).waitFor();

async function say(page, text) {
  await messageBox(page).fill(text);
  await messageBox(page).press('Enter');
}

// -- cases ---------------------------------------------------------------------

test('two people chat in one room, and text is never markup', async () => {
  const room = `room-${process.pid}`;
  const ada = await person(node.url, 'ada', room, { screenshot: 'join.png' });
  const bob = await person(node.url, 'bob', room);

  // (a) Each sees both members, and a message typed in one shows in the other.
  await memberCount(ada.page, 2);
  await memberCount(bob.page, 2);
  assert.deepEqual(await bob.page.locator('#member-list li').allTextContents(), ['ada', 'bob (you)']);

  await say(ada.page, 'hello bob');
  await shown(bob.page, 'hello bob').waitFor();
  assert.equal(await messageBox(ada.page).inputValue(), '', 'the box is cleared after sending');
  await ada.page.locator('#messages .msg.mine:not(.pending)').filter({ hasText: 'hello bob' }).waitFor();
  assert.equal(await bob.page.locator('#messages .msg.mine').count(), 0, "ada's message is not bob's own");

  // Shift+Enter makes a new line instead of sending.
  await messageBox(ada.page).fill('two');
  await messageBox(ada.page).press('Shift+Enter');
  await messageBox(ada.page).pressSequentially('lines');
  await messageBox(ada.page).press('Enter');
  await shown(bob.page, 'two\nlines').waitFor();

  // (d) Typing shows on the other side, and goes away by itself.
  await messageBox(bob.page).pressSequentially('typ');
  const typing = ada.page.getByText('bob is typing…');
  await typing.waitFor();
  await typing.waitFor({ state: 'hidden', timeout: 8000 });
  await messageBox(bob.page).fill('');

  // (b) Markup in a message is shown as text: no element, no script.
  const hostile = '<img src=x onerror=alert(1)>';
  await say(bob.page, hostile);
  await shown(ada.page, hostile).waitFor();
  await shown(bob.page, hostile).waitFor();
  assert.equal(await ada.page.locator('#messages img').count(), 0, 'no element was made from the text');
  assert.equal(await bob.page.locator('#messages img').count(), 0, 'no element was made from the text');
  assert.deepEqual(ada.dialogs, [], 'no script ran');
  assert.deepEqual(bob.dialogs, [], 'no script ran');
  const expected = ['hello bob', 'two\nlines', hostile];
  assert.deepEqual(await messageTexts(ada.page), expected);
  assert.deepEqual(await messageTexts(bob.page), expected);

  // (e) Screenshots, desktop and phone.
  await ada.page.screenshot({ path: path.join(screenshots, 'chat-desktop.png') });
  await bob.page.setViewportSize({ width: 390, height: 844 });
  await bob.page.screenshot({ path: path.join(screenshots, 'chat-phone.png') });
  await bob.page.getByRole('button', { name: /^Members/ }).click();
  await bob.page.locator('#member-list').getByText('ada').waitFor();
  await bob.page.screenshot({ path: path.join(screenshots, 'chat-phone-members.png') });
  await bob.page.getByRole('button', { name: /^Members/ }).click();

  // (c) A reload rejoins the room from the address and the remembered name, and
  // shows the earlier messages again from history, each once.
  await ada.page.reload();
  await connected(ada.page);
  await shown(ada.page, hostile).waitFor();
  assert.deepEqual(await messageTexts(ada.page), expected);
  assert.equal(await ada.page.locator('#messages img').count(), 0);

  // The chat goes on after the reload.
  await say(ada.page, 'back again');
  await shown(bob.page, 'back again').waitFor();
  assert.deepEqual(await messageTexts(bob.page), [...expected, 'back again']);

  await ada.context.close();
  await bob.page.locator('#member-count-short').filter({ hasText: /^1$/ }).waitFor();
  await bob.context.close();
});

test('older history loads when scrolling up, in order and none twice', async () => {
  const room = `long-${process.pid}`;
  const ada = await person(node.url, 'ada', room);
  // 120 messages from a plain WebSocket opened by the page itself, within the rate limit.
  await ada.page.evaluate(async (room) => {
    const ws = new WebSocket(`ws://${location.host}/ws`);
    await new Promise((r) => { ws.onopen = r; });
    ws.send(JSON.stringify({ type: 'join', room, name: 'filler' }));
    for (let i = 0; i < 120; i++) {
      ws.send(JSON.stringify({ type: 'send', room, text: `filler ${i}` }));
      if (i % 30 === 29) await new Promise((r) => setTimeout(r, 1600));
    }
    ws.close();
  }, room);
  await shown(ada.page, /^filler 119$/).waitFor();
  await ada.page.reload();
  await shown(ada.page, /^filler 119$/).waitFor();
  assert.equal(await ada.page.locator('#messages .msg').count(), 50, 'a join shows the newest page');

  const scrollToTop = () => ada.page.locator('#log').evaluate((log) => { log.scrollTop = 0; });
  await scrollToTop();
  await shown(ada.page, /^filler 20$/).waitFor();
  // The reader stays where they were: the page loaded above does not jump them to its top.
  assert.ok(await ada.page.locator('#log').evaluate((log) => log.scrollTop > 100), 'scroll position kept');
  await scrollToTop();
  await shown(ada.page, /^filler 0$/).waitFor();
  await ada.page.getByText('This is the start of the room').waitFor();
  const texts = await messageTexts(ada.page);
  assert.deepEqual(texts, [...Array(120).keys()].map((i) => `filler ${i}`), 'in order, none twice');
  await ada.context.close();
});

test('a node restart: both reconnect, and a message written while away is delivered once', async () => {
  const room = `restart-${process.pid}`;
  let own = await startNode();
  try {
    const ada = await person(own.url, 'ada', room);
    const bob = await person(own.url, 'bob', room);
    await say(ada.page, 'before restart');
    await shown(bob.page, 'before restart').waitFor();

    await stopNode(own);
    await status(ada.page).filter({ hasText: /reconnecting|offline/ }).waitFor();
    await status(bob.page).filter({ hasText: /reconnecting|offline/ }).waitFor();

    // Written while the node is down: shown as pending until the node acknowledges it.
    await say(ada.page, 'while away');
    await ada.page.locator('#messages .msg.pending').filter({ hasText: 'while away' }).waitFor();

    own = await startNode(`127.0.0.1:${own.port}`);
    // The backoff is capped at 15 s; allow for the longest wait.
    await connected(ada.page, 30000);
    await connected(bob.page, 30000);
    await shown(bob.page, 'while away').waitFor();
    await ada.page.locator('#messages .msg.mine:not(.pending)').filter({ hasText: 'while away' }).waitFor();
    assert.deepEqual(await messageTexts(ada.page), ['before restart', 'while away']);
    assert.deepEqual(await messageTexts(bob.page), ['before restart', 'while away']);
    await memberCount(ada.page, 2);
    await memberCount(bob.page, 2);
    await ada.context.close();
    await bob.context.close();
  } finally {
    await stopNode(own);
  }
});

test('a node that requires tokens: the page asks for one, and a token in the link joins', async () => {
  const secret = 'browser-test-secret-0123456789';
  const guarded = await startNode('127.0.0.1:0', { CHATNODE_AUTH_SECRET: secret });
  const mint = (name) => execFileSync(bin, ['token', '--name', name, '--rooms', 'team-*',
    '--config', path.join(sourceDir, 'config/node.toml')], { env: { ...process.env, CHATNODE_AUTH_SECRET: secret } })
    .toString().trim();
  const contexts = [];
  try {
    // Without a token: back to the form, which now shows a Token field.
    const context = await browser.newContext();
    contexts.push(context);
    context.setDefaultTimeout(WAIT);
    const page = await context.newPage();
    await page.goto(guarded.url);
    assert.equal(await page.getByLabel('Token', { exact: true }).isVisible(), false, 'no token field until needed');
    await page.getByLabel('Name', { exact: true }).fill('ada');
    await page.getByLabel('Room', { exact: true }).fill('team-red');
    await page.getByRole('button', { name: 'Join' }).click();
    await page.getByRole('alert').filter({ hasText: /requires a token/ }).waitFor();
    await page.getByLabel('Token', { exact: true }).waitFor();
    await page.screenshot({ path: path.join(screenshots, 'token-asked.png') });

    // A token for another name is refused; the right one joins.
    await page.getByLabel('Token', { exact: true }).fill(mint('bob'));
    await page.getByRole('button', { name: 'Join' }).click();
    await page.getByRole('alert').filter({ hasText: /another name/ }).waitFor();
    await page.getByLabel('Token', { exact: true }).fill(mint('ada'));
    await page.getByRole('button', { name: 'Join' }).click();
    await connected(page);

    // A token handed over in the link: it joins, and leaves the address bar.
    const context2 = await browser.newContext();
    contexts.push(context2);
    context2.setDefaultTimeout(WAIT);
    const page2 = await context2.newPage();
    await page2.goto(`${guarded.url}?token=${encodeURIComponent(mint('bob'))}`);
    assert.ok(!page2.url().includes('token='), `the token is dropped from the address: ${page2.url()}`);
    await page2.getByLabel('Name', { exact: true }).fill('bob');
    await page2.getByLabel('Room', { exact: true }).fill('team-red');
    await page2.getByRole('button', { name: 'Join' }).click();
    await connected(page2);
    await say(page2, 'signed in');
    await shown(page, 'signed in').waitFor();
  } finally {
    for (const c of contexts) await c.close();
    await stopNode(guarded);
  }
});

test('two people on two nodes behind the balancer (deploy/nginx.conf): the page chats through every hop', async (t) => {
  // The compose topology as processes: Redis, two nodes, nginx with the real
  // config. The browser sends its page's Origin, which the nodes check
  // against the Host that nginx passes on.
  const redis = await new Redis().start();
  const nodes = [];
  let balancer, ada, bob;
  try {
    for (const name of ['bal1', 'bal2']) nodes.push(await new Node(name, redis.url).start());
    balancer = await new Balancer(nodes).start();
    const room = `balanced-${process.pid}`;
    ada = await person(balancer.url, 'ada', room);
    bob = await person(balancer.url, 'bob', room);
    // least_conn puts the two WebSockets on different nodes: the chat crosses Redis.
    const metrics = await Promise.all(nodes.map((n) => n.metrics()));
    const perNode = metrics.map((m) => m.chatnode_connections);
    t.diagnostic(`WebSocket connections per node: ${perNode.join(', ')}`);
    assert.deepEqual(perNode, [1, 1], 'one person on each node');
    assert.deepEqual(metrics.map((m) => m.chatnode_connections_refused_total), [0, 0], 'no upgrade was refused');
    await memberCount(ada.page, 2);
    await memberCount(bob.page, 2);
    await say(ada.page, 'through nginx');
    await shown(bob.page, 'through nginx').waitFor();
    await say(bob.page, 'and back');
    await shown(ada.page, 'and back').waitFor();
    assert.deepEqual(await messageTexts(ada.page), ['through nginx', 'and back']);
    assert.deepEqual(await messageTexts(bob.page), ['through nginx', 'and back']);
  } finally {
    await ada?.context.close();
    await bob?.context.close();
    await balancer?.stop();
    for (const n of nodes) await n.stop();
    await redis.destroy();
  }
});
