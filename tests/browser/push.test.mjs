// Web Push in a real Chromium: the page's service worker (web/sw.js) shows a
// push it receives (delivered with the DevTools protocol's
// ServiceWorker.deliverPushMessage, as a push service would) as a
// notification naming the room, the sender, the text and how many more;
// clicking it opens that room in the page. The room's notification level
// is a menu in the room's bar, the same on every device of the user. Where
// the browser cannot subscribe (no push service reachable here), the page
// says so once, quietly, and goes on.
//
//   CHATNODE_BIN=build/chatnode CHATNODE_SOURCE_DIR=. node --test tests/browser/push.test.mjs

import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Node, waitFor } from '../system/lib.mjs';
import { launchChromium } from './lib.mjs';

const screenshots = process.env.SCREENSHOT_DIR ?? os.tmpdir();
mkdirSync(screenshots, { recursive: true });
const WAIT = 15000;
const SECRET = 'browser-push-secret-0123456789abcdef';

let node, browser, scratch;

function token(sub) {
  const b64 = (x) => Buffer.from(JSON.stringify(x)).toString('base64url');
  const body = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub, rooms: '*', exp: Math.floor(Date.now() / 1000) + 3600 })}`;
  return `${body}.${createHmac('sha256', SECRET).update(body).digest('base64url')}`;
}

before(async () => {
  scratch = mkdtempSync(path.join(os.tmpdir(), 'chatnode-browser-push-'));
  node = await new Node('p1', '', { CHATNODE_AUTH_SECRET: SECRET, CHATNODE_PUSH_KEY_FILE: path.join(scratch, 'vapid.pem') }).start();
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await node?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

/** A device of `name` in `room`, notifications allowed by the browser. */
async function device(name, room) {
  const origin = `http://127.0.0.1:${node.port}`;
  const context = await browser.newContext({ viewport: { width: 1100, height: 760 } });
  context.setDefaultTimeout(WAIT);
  await context.grantPermissions(['notifications'], { origin });
  const page = await context.newPage();
  await page.goto(`${origin}/?token=${encodeURIComponent(token(name))}`);
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Room', { exact: true }).fill(room);
  await page.getByRole('button', { name: 'Join' }).click();
  await page.getByRole('status').filter({ hasText: /^connected$/ }).waitFor();
  return { page, context, origin };
}

test('a push shows a notification, a click opens its room; levels per room on every device; no push service: said once', async () => {
  const desk = await device('ada', 'home');
  const { page, context, origin } = desk;

  // No push service answers here: subscribing fails, and the page says so
  // once, quietly, and goes on.
  await page.locator('#notice').filter({ hasText: 'Notifications can reach you here only while this tab is open.' }).waitFor();
  await page.reload();
  await page.getByRole('status').filter({ hasText: /^connected$/ }).waitFor();
  await page.waitForTimeout(1500); // what would say it again has had its chance
  assert.equal(await page.locator('#notice').filter({ hasText: 'only while this tab is open' }).isVisible(), false, 'said once');

  // The level menu: the default in a room is mentions; a change reaches her
  // other device, and outlives a reload.
  const level = page.getByRole('combobox', { name: 'Notifications for this room' });
  await level.waitFor();
  assert.equal(await level.inputValue(), 'mentions');
  const phone = await device('ada', 'home');
  const phoneLevel = phone.page.getByRole('combobox', { name: 'Notifications for this room' });
  await phoneLevel.waitFor();
  await level.selectOption('all');
  await waitFor(async () => (await phoneLevel.inputValue()) === 'all', 'the phone shows the new level');
  await phone.page.reload();
  await phone.page.getByRole('status').filter({ hasText: /^connected$/ }).waitFor();
  await waitFor(async () => (await phoneLevel.inputValue()) === 'all', 'the level read back after a reload');
  await phone.context.close();

  // A push, as a push service delivers it to the service worker.
  const worker = context.serviceWorkers()[0] ?? await context.waitForEvent('serviceworker');
  const cdp = await context.newCDPSession(page);
  const registrations = [];
  cdp.on('ServiceWorker.workerRegistrationUpdated', (e) => registrations.push(...e.registrations));
  await cdp.send('ServiceWorker.enable');
  await waitFor(() => registrations.some((r) => r.scopeURL === `${origin}/` && !r.isDeleted), 'the registration');
  const { registrationId } = registrations.find((r) => r.scopeURL === `${origin}/`);
  const payload = { room: 'lobby', id: '1700000000000-0', user: 'bob', text: 'lunch @ada?', dm: false, count: 3 };
  await cdp.send('ServiceWorker.deliverPushMessage', { origin, registrationId, data: JSON.stringify(payload) });
  const shown = await waitFor(async () => {
    const list = await page.evaluate(async () => (await navigator.serviceWorker.ready).getNotifications()
      .then((ns) => ns.map((n) => ({ title: n.title, body: n.body, tag: n.tag }))));
    return list.length ? list : null;
  }, 'the notification');
  assert.deepEqual(shown, [{ title: 'bob in # lobby', body: 'lunch @ada? (+2 more)', tag: 'room:lobby' }]);

  // A newer push for the room replaces it: one notification per room.
  await cdp.send('ServiceWorker.deliverPushMessage', { origin, registrationId,
    data: JSON.stringify({ ...payload, id: '1700000000001-0', text: 'still there?', count: 1 }) });
  await waitFor(async () => {
    const list = await page.evaluate(async () => (await navigator.serviceWorker.ready).getNotifications()
      .then((ns) => ns.map((n) => n.body)));
    return list.length === 1 && list[0] === 'still there?';
  }, 'the newer push in its place');

  // A click on it opens the room in the page that is open.
  await worker.evaluate(async () => {
    const [n] = await self.registration.getNotifications();
    self.dispatchEvent(new NotificationEvent('notificationclick', { notification: n }));
  });
  await page.locator('#room-title').filter({ hasText: /^# lobby$/ }).waitFor();
  assert.equal(new URL(page.url()).hash, '#lobby');
  await waitFor(async () => (await page.evaluate(async () => (await navigator.serviceWorker.ready).getNotifications()
    .then((ns) => ns.length))) === 0, 'the notification closed');
  await page.screenshot({ path: path.join(screenshots, 'push-opened-room.png') });
  await context.close();
});
