// The browser client in a real Chromium against a real chatnode: two people
// chat, text stays text, a reload brings the history back.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';

const sourceDir = process.env.CHATNODE_SOURCE_DIR ?? path.resolve(import.meta.dirname, '../..');
const bin = process.env.CHATNODE_BIN ?? path.join(sourceDir, 'build/chatnode');
const screenshots = process.env.SCREENSHOT_DIR ?? os.tmpdir();
mkdirSync(screenshots, { recursive: true });

let node, url, browser;

before(async () => {
  node = spawn(bin, ['--config', path.join(sourceDir, 'config/node.toml'), '--listen', '127.0.0.1:0',
    '--web-root', path.join(sourceDir, 'web'), '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'inherit'] });
  url = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('chatnode did not start')), 10000);
    node.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/\S+)/);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
  });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  node?.kill('SIGTERM');
});

async function person(name, room) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const dialogs = [];
  page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss(); });
  await page.goto(url);
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Room', { exact: true }).fill(room);
  await page.getByRole('button', { name: 'Join' }).click();
  await page.getByText('connected', { exact: true }).waitFor();
  return { page, context, dialogs };
}

async function say(page, text) {
  await page.getByLabel('Message', { exact: true }).fill(text);
  await page.getByLabel('Message', { exact: true }).press('Enter');
}

const messageTexts = (page) => page.locator('#messages .msg .text').allTextContents();

test('two people chat in one room, and text is never markup', async () => {
  const room = `room-${process.pid}`;
  const ada = await person('ada', room);
  const bob = await person('bob', room);

  // Each sees both members.
  await ada.page.locator('#member-count', { hasText: '2' }).waitFor();
  await bob.page.locator('#member-count', { hasText: '2' }).waitFor();
  assert.deepEqual(await bob.page.locator('#member-list li').allTextContents(), ['ada', 'bob (you)']);

  await say(ada.page, 'hello bob');
  await bob.page.locator('#messages .msg', { hasText: 'hello bob' }).waitFor();
  assert.equal(await ada.page.getByLabel('Message', { exact: true }).inputValue(), '', 'the box is cleared after sending');

  // Typing shows on the other side.
  await bob.page.getByLabel('Message', { exact: true }).pressSequentially('typ');
  await ada.page.getByText('bob is typing…').waitFor();
  await bob.page.getByLabel('Message', { exact: true }).fill('');

  const hostile = '<img src=x onerror=alert(1)>';
  await say(bob.page, hostile);
  await ada.page.locator('#messages .msg .text', { hasText: hostile }).waitFor();
  assert.equal(await ada.page.locator('#messages img').count(), 0, 'no element was made from the text');
  assert.deepEqual(ada.dialogs, [], 'no script ran');
  assert.deepEqual(await messageTexts(ada.page), ['hello bob', hostile]);
  assert.deepEqual(await messageTexts(bob.page), ['hello bob', hostile]);

  await ada.page.screenshot({ path: path.join(screenshots, 'chat-desktop.png') });
  await bob.page.setViewportSize({ width: 390, height: 844 });
  await bob.page.screenshot({ path: path.join(screenshots, 'chat-phone.png') });

  // A reload rejoins the room from the address and shows the history again.
  await ada.page.reload();
  await ada.page.getByText('connected', { exact: true }).waitFor();
  await ada.page.locator('#messages .msg .text', { hasText: hostile }).waitFor();
  assert.deepEqual(await messageTexts(ada.page), ['hello bob', hostile]);

  // After a reload the other side is told once, and the chat goes on.
  await say(ada.page, 'back again');
  await bob.page.locator('#messages .msg', { hasText: 'back again' }).waitFor();
  assert.deepEqual(await messageTexts(bob.page), ['hello bob', hostile, 'back again']);

  await ada.context.close();
  await bob.page.waitForFunction(() => document.getElementById('member-count-short').textContent === '1');
  await bob.context.close();
});

test('older history loads when scrolling up', async () => {
  const room = `long-${process.pid}`;
  const ada = await person('ada', room);
  // 120 messages through a plain WebSocket from the page itself.
  await ada.page.evaluate(async (room) => {
    const ws = new WebSocket(`ws://${location.host}/ws`);
    await new Promise((r) => { ws.onopen = r; });
    ws.send(JSON.stringify({ type: 'join', room, name: 'filler' }));
    for (let i = 0; i < 120; i++) {
      ws.send(JSON.stringify({ type: 'send', room, text: `filler ${i}` }));
      if (i % 30 === 29) await new Promise((r) => setTimeout(r, 1600)); // within the rate limit
    }
    await new Promise((r) => setTimeout(r, 300));
    ws.close();
  }, room);
  await ada.page.locator('#messages .msg', { hasText: 'filler 119' }).waitFor({ timeout: 15000 });
  await ada.page.reload();
  await ada.page.locator('#messages .msg', { hasText: 'filler 119' }).waitFor();
  assert.equal(await ada.page.locator('#messages .msg').count(), 50, 'a join shows the newest page');
  await ada.page.locator('#log').evaluate((log) => { log.scrollTop = 0; log.dispatchEvent(new Event('scroll')); });
  await ada.page.locator('#messages .msg', { hasText: 'filler 69' }).first().waitFor();
  await ada.page.locator('#log').evaluate((log) => { log.scrollTop = 0; log.dispatchEvent(new Event('scroll')); });
  await ada.page.locator('#messages .msg .text', { hasText: /^filler 0$/ }).waitFor();
  const texts = await messageTexts(ada.page);
  assert.equal(texts.length, 120);
  assert.deepEqual(texts, [...Array(120).keys()].map((i) => `filler ${i}`), 'in order, none twice');
  await ada.context.close();
});
