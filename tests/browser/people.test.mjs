// People and rooms in a real Chromium: a moderator and two users on two
// nodes over Redis, signed in with join tokens, use the room directory, a
// direct conversation (announced by a notification), and a kick and a ban,
// each seen from both sides; and a big room, whose member panel shows the
// count and loads names as it scrolls.
//
//   CHATNODE_BIN=build/chatnode CHATNODE_SOURCE_DIR=. node --test tests/browser/people.test.mjs

import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { createHmac } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Client, Node, Redis, waitFor } from '../system/lib.mjs';
import { launchChromium, pageHooks } from './lib.mjs';

const screenshots = process.env.SCREENSHOT_DIR ?? os.tmpdir();
mkdirSync(screenshots, { recursive: true });
const WAIT = 15000;
const SECRET = 'browser-people-secret-0123456789';

let redis, browser;
const nodes = [];
const bigNodes = []; // a room is big above 5 members here

function token(sub, role, ttl = 3600) {
  const b64 = (x) => Buffer.from(JSON.stringify(x)).toString('base64url');
  const body = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub, rooms: '*', exp: Math.floor(Date.now() / 1000) + ttl, ...(role ? { role } : {}) })}`;
  return `${body}.${createHmac('sha256', SECRET).update(body).digest('base64url')}`;
}

before(async () => {
  redis = await new Redis().start();
  for (const name of ['b1', 'b2']) nodes.push(await new Node(name, redis.url, { CHATNODE_AUTH_SECRET: SECRET }).start());
  for (const name of ['g1', 'g2']) {
    bigNodes.push(await new Node(name, redis.url, { CHATNODE_AUTH_SECRET: SECRET, CHATNODE_PRESENCE_BIG_ROOM: '5',
      CHATNODE_PRESENCE_BATCH_MS: '100' }).start());
  }
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  for (const n of [...nodes, ...bigNodes]) await n.stop();
  await redis?.destroy();
});


async function person(node, name, room, role, ttl) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 760 } });
  context.setDefaultTimeout(WAIT);
  await context.addInitScript(pageHooks);
  await context.addInitScript(() => { window.__permission = 'granted'; });
  const page = await context.newPage();
  page.on('dialog', (d) => d.accept()); // the ban confirmation
  await page.goto(`http://127.0.0.1:${node.port}/?token=${encodeURIComponent(token(name, role, ttl))}`);
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Room', { exact: true }).fill(room);
  await page.getByRole('button', { name: 'Join' }).click();
  await page.getByRole('status').filter({ hasText: /^connected$/ }).waitFor();
  return { page, context };
}

const item = (page, text) => page.locator('#messages .msg').filter({ hasText: text });
async function say(page, text) {
  const box = page.getByLabel('Message', { exact: true });
  await box.fill(text);
  await box.press('Enter');
  await page.locator('#messages .msg.mine:not(.pending)').filter({ hasText: text }).last().waitFor();
}
const switcher = (page, label) => page.locator('#room-list').getByRole('button', { name: new RegExp(`^${label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(\\s|$)`) });

test('a moderator and two users on two nodes: the directory, a direct conversation with its notification, a kick and a ban', async () => {
  const room = `town-${process.pid}`;
  const mo = await person(nodes[0], 'mo', room, 'moderator');
  const al = await person(nodes[1], 'al', room);
  const bo = await person(nodes[0], 'bo', room);

  // The directory: the room with its three people; al joins another from it.
  await say(mo.page, 'welcome all');
  await mo.page.getByLabel('Join another room').fill(`${room}-side`);
  await mo.page.getByLabel('Join another room').press('Enter');
  await mo.page.locator('#room-title').filter({ hasText: `# ${room}-side` }).waitFor();
  await switcher(mo.page, `# ${room}`).click();
  await al.page.getByRole('button', { name: 'Browse rooms' }).click();
  await al.page.locator('#directory-list li').filter({ hasText: `# ${room}` }).filter({ hasText: '3 online' }).first().waitFor();
  await al.page.locator(`#directory-list li[data-room="${room}-side"]`).waitFor();
  await al.page.screenshot({ path: path.join(screenshots, 'people-directory.png') });
  await al.page.locator(`#directory-list li[data-room="${room}-side"]`).getByRole('button', { name: `Join ${room}-side` }).click();
  await al.page.locator('#room-title').filter({ hasText: `# ${room}-side` }).waitFor();
  await switcher(al.page, `# ${room}`).click();

  // Only the moderator is offered moderation.
  assert.equal(await al.page.getByRole('button', { name: 'Kick bo' }).count(), 0);
  await mo.page.getByRole('button', { name: 'Kick bo' }).waitFor();

  // A direct conversation: bo messages al, whose page is hidden.
  await al.page.evaluate(() => window.__hide(true));
  await bo.page.getByRole('button', { name: 'Message al' }).click();
  await bo.page.locator('#room-title').filter({ hasText: '@ al' }).waitFor();
  await al.page.waitForFunction(() => window.__notes.some((n) => n.title === 'bo wrote to you'));
  await say(bo.page, 'just between us');
  await al.page.evaluate(() => window.__hide(false));
  await switcher(al.page, '@ bo').locator('.unread').waitFor();
  await switcher(al.page, '@ bo').click();
  await item(al.page, 'just between us').waitFor();
  await al.page.screenshot({ path: path.join(screenshots, 'people-dm.png') });
  assert.equal(await mo.page.locator('#room-list').getByText('@ bo').count(), 0, 'the moderator does not see it');
  await switcher(al.page, `# ${room}`).click();

  // A kick: bo is out on its node and told why; the room sees it.
  await mo.page.getByRole('button', { name: 'Kick bo' }).click();
  await bo.page.getByRole('alert').filter({ hasText: `You were removed from # ${room} by mo` }).waitFor();
  await switcher(bo.page, `# ${room}`).waitFor({ state: 'detached' });
  await mo.page.locator('#messages .msg.system').filter({ hasText: 'mo removed bo' }).waitFor();
  await al.page.locator('#messages .msg.system').filter({ hasText: 'mo removed bo' }).waitFor();

  // A ban: al, on the other node, is put out and cannot come back.
  await mo.page.getByRole('button', { name: 'Ban al' }).click();
  await al.page.getByRole('alert').filter({ hasText: `You were removed from # ${room} by mo` }).waitFor();
  await mo.page.locator('#messages .msg.system').filter({ hasText: 'mo banned al' }).waitFor();
  await al.page.getByLabel('Join another room').fill(room);
  await al.page.getByLabel('Join another room').press('Enter');
  await al.page.getByRole('alert').filter({ hasText: 'you are banned from this room' }).waitFor();
  await mo.page.screenshot({ path: path.join(screenshots, 'people-moderator.png') });
  // The moderator lifts the ban by name; al comes back.
  assert.equal(await al.page.getByLabel('Lift a mute or ban').isVisible(), false, 'not offered to members');
  await mo.page.getByLabel('Lift a mute or ban').fill('al');
  await mo.page.getByRole('button', { name: 'Unban' }).click();
  await mo.page.locator('#messages .msg.system').filter({ hasText: 'mo unbanned al' }).waitFor();
  await al.page.getByLabel('Join another room').fill(room);
  await al.page.getByLabel('Join another room').press('Enter');
  await al.page.locator('#room-title').filter({ hasText: `# ${room}` }).waitFor();
  await al.page.getByRole('status').filter({ hasText: /^connected$/ }).waitFor();
  await item(al.page, 'welcome all').waitFor();

  for (const p of [mo, al, bo]) await p.context.close();
});

test('(1.2) a token that expires: the page goes back to its form and asks for a fresh one, which joins again', async () => {
  const room = `brief-${process.pid}`;
  const started = Date.now();
  const { page, context } = await person(nodes[0], 'kai', room, undefined, 4);
  await say(page, 'before the token ends');
  // The node closes the connection at the token's exp (4001): the form, with the reason, and an empty token field.
  const problem = page.locator('#join-error');
  await problem.filter({ hasText: 'Your token expired: paste a fresh one to go on.' }).waitFor({ timeout: 10000 });
  assert.ok(Date.now() - started >= 3000, 'not before the token\'s exp');
  const field = page.getByLabel('Token', { exact: true });
  assert.equal(await field.inputValue(), '');
  assert.equal(await page.getByLabel('Name', { exact: true }).inputValue(), 'kai');
  await page.screenshot({ path: path.join(screenshots, 'people-token-expired.png') });
  // A fresh token: in again, the room's history there.
  await field.fill(token('kai'));
  await page.getByLabel('Room', { exact: true }).fill(room);
  await page.getByRole('button', { name: 'Join' }).click();
  await page.getByRole('status').filter({ hasText: /^connected$/ }).waitFor();
  await item(page, 'before the token ends').waitFor();
  await say(page, 'after a fresh token');
  await context.close();
});

test('(1.2) a page given a token source renews its token before it expires and stays connected', async () => {
  const room = `renewed-${process.pid}`;
  // One origin, as a balancer makes it: /chat-token is the deployment's
  // backend (fresh 5-second tokens for kim, with the browser's cookie),
  // everything else the node, WebSocket included.
  let asked = 0;
  const target = nodes[1];
  const front = http.createServer((req, res) => {
    if (req.url === '/chat-token') {
      asked++;
      assert.equal(req.headers.cookie, 'session=kim', 'asked with the browser\'s credentials');
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify({ token: token('kim', undefined, 5) }));
      return;
    }
    const upstream = http.request({ host: '127.0.0.1', port: target.port, path: req.url, method: req.method, headers: req.headers },
      (up) => { res.writeHead(up.statusCode, up.headers); up.pipe(res); });
    req.pipe(upstream);
  });
  front.on('upgrade', (req, socket, head) => {
    const upstream = net.connect(target.port, '127.0.0.1', () => {
      upstream.write(`${req.method} ${req.url} HTTP/1.1\r\n${Object.entries(req.headers).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`);
      upstream.write(head);
      socket.pipe(upstream).pipe(socket);
    });
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
  });
  await new Promise((r) => front.listen(0, '127.0.0.1', r));
  const origin = `http://127.0.0.1:${front.address().port}`;
  const context = await browser.newContext({ viewport: { width: 1100, height: 760 } });
  context.setDefaultTimeout(WAIT);
  await context.addInitScript(pageHooks);
  await context.addCookies([{ name: 'session', value: 'kim', url: origin }]);
  const page = await context.newPage();
  await page.goto(`${origin}/?token=${encodeURIComponent(token('kim', undefined, 5))}&token_url=/chat-token`);
  assert.doesNotMatch(page.url(), /token/, 'the token and its source are taken out of the address');
  await page.getByLabel('Name', { exact: true }).fill('kim');
  await page.getByLabel('Room', { exact: true }).fill(room);
  await page.getByRole('button', { name: 'Join' }).click();
  await page.getByRole('status').filter({ hasText: /^connected$/ }).waitFor();
  await say(page, 'first token');
  // Past three tokens' lifetimes: still in, never back at the form.
  await page.waitForTimeout(13000);
  assert.ok(asked >= 2, `the source was asked ${asked} times`);
  assert.equal(await page.locator('#join-error').isVisible(), false);
  await say(page, 'still here after renewals');
  await context.close();
  front.close();
});

test('a big room: the member panel shows the count and loads names as it scrolls, kept current by batches', async () => {
  const room = `hall-${process.pid}`;
  // 130 people on the other node, over WebSockets.
  const crowd = [];
  for (let i = 0; i < 130; i++) crowd.push(new Client(bigNodes[1], `p${String(i).padStart(3, '0')}`));
  await Promise.all(crowd.map((c) => c.connect()));
  await Promise.all(crowd.map(async (c) => {
    c.send({ type: 'join', room, name: c.name, token: token(c.name) });
    await waitFor(() => c.events.find((e) => e.type === 'joined'), `${c.name} joined`);
  }));
  const vi = await person(bigNodes[0], 'vi', room);
  const names = vi.page.locator('#member-list li:not(.more)');
  await vi.page.locator('#member-count').filter({ hasText: /^131$/ }).waitFor();
  // The first page is shown and the next loads by itself while the end of the
  // list is in view: 100 more (vi comes last, unlisted yet), and the rest waits for a scroll.
  await vi.page.locator('#member-list li.more').filter({ hasText: /^26 more…$/ }).waitFor();
  assert.equal(await names.count(), 105);
  await vi.page.screenshot({ path: path.join(screenshots, 'people-big-room.png') });
  await vi.page.locator('#member-list li.more').scrollIntoViewIfNeeded();
  await waitFor(async () => (await names.count()) === 131, 'every name listed after scrolling');
  assert.equal(await vi.page.locator('#member-list li.more').count(), 0);
  // Changes come in batches: two leave, one comes.
  crowd[3].close();
  crowd[77].send({ type: 'leave', room });
  const late = await new Client(bigNodes[1], 'zz-late').connect();
  late.send({ type: 'join', room, name: late.name, token: token(late.name) });
  await vi.page.locator('#member-count').filter({ hasText: /^130$/ }).waitFor();
  await vi.page.locator('#member-list li').filter({ hasText: 'zz-late' }).waitFor();
  await waitFor(async () => (await names.count()) === 130, 'the panel to list 130 names');
  assert.equal(await vi.page.locator('#member-list li').filter({ hasText: /^p003/ }).count(), 0);
  assert.equal(await vi.page.locator('#member-list li').filter({ hasText: /^p077/ }).count(), 0);
  for (const c of [...crowd, late]) c.close();
  await vi.context.close();
});
