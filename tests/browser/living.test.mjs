// The page's living messages in a real Chromium: three people on two nodes
// over Redis react, edit (the Up arrow too), delete, mention each other, keep
// several rooms in one tab with unread counts and a "new messages" divider,
// keep their read state over a reload, and get a notification for a mention
// while the page is hidden.
//
//   CHATNODE_BIN=build/chatnode CHATNODE_SOURCE_DIR=. node --test tests/browser/living.test.mjs

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Node, Redis } from '../system/lib.mjs';
import { launchChromium, pageHooks } from './lib.mjs';

const screenshots = process.env.SCREENSHOT_DIR ?? os.tmpdir();
mkdirSync(screenshots, { recursive: true });
const WAIT = 15000;

let redis, browser;
const nodes = [];

before(async () => {
  redis = await new Redis().start();
  for (const name of ['p1', 'p2']) nodes.push(await new Node(name, redis.url).start());
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  for (const n of nodes) await n.stop();
  await redis?.destroy();
});


/** A person in their own browser context, on a node, joined to `room`. */
async function person(node, name, room, { permission } = {}) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 760 } });
  context.setDefaultTimeout(WAIT);
  await context.addInitScript(pageHooks);
  if (permission) await context.addInitScript((p) => { window.__permission = p; }, permission);
  const page = await context.newPage();
  page.on('dialog', (d) => d.accept()); // the delete confirmation
  await page.goto(`http://127.0.0.1:${node.port}/`);
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
const roomButton = (page, room) => page.locator('#room-list').getByRole('button', { name: new RegExp(`^# ${room}(\\s|$)`) });

test('three people on two nodes: mentions, reactions, edits, deletes, rooms, unread, read state, notifications', async () => {
  const room = `live-${process.pid}`;
  const ada = await person(nodes[0], 'ada', room, { permission: 'default' });
  const bob = await person(nodes[1], 'bob', room);
  const cy = await person(nodes[0], 'cy', room, { permission: 'granted' });

  // Asked once, politely: a banner, not a prompt; "Not now" is remembered.
  await ada.page.getByText('Get a notification when someone mentions you').waitFor();
  await ada.page.getByRole('button', { name: 'Not now' }).click();
  await ada.page.reload();
  await ada.page.getByRole('status').filter({ hasText: /^connected$/ }).waitFor();
  assert.equal(await ada.page.locator('#ask-notify').isVisible(), false, 'not asked again');
  assert.equal(await ada.page.evaluate(() => window.__asked ?? 0), 0, 'no permission prompt without a click');

  // Mentions: highlighted for everyone, specially for the one named.
  await say(ada.page, 'hello @bob, see <b>this</b>');
  await item(bob.page, 'hello @bob').locator('mark.mention.me').filter({ hasText: '@bob' }).waitFor();
  await item(cy.page, 'hello @bob').locator('mark.mention:not(.me)').waitFor();
  assert.equal(await bob.page.locator('#messages b').count(), 0, 'text stays text');
  assert.ok(await item(bob.page, 'hello @bob').evaluate((li) => li.classList.contains('mentions-me')));

  // Reactions: bob and cy on different nodes; counts and who reacted.
  const target = () => item(ada.page, 'hello @bob');
  await item(bob.page, 'hello @bob').click();
  await item(bob.page, 'hello @bob').getByRole('button', { name: 'React with 👍' }).click();
  await item(cy.page, 'hello @bob').click();
  await item(cy.page, 'hello @bob').getByRole('button', { name: 'React with 👍' }).click();
  await item(cy.page, 'hello @bob').getByRole('button', { name: 'React with 🎉' }).click();
  for (const p of [ada.page, bob.page, cy.page]) {
    await item(p, 'hello @bob').locator('.chip').filter({ hasText: '👍 2' }).waitFor();
    await item(p, 'hello @bob').locator('.chip').filter({ hasText: '🎉 1' }).waitFor();
  }
  assert.equal(await target().locator('.chip').first().getAttribute('title'), 'bob, cy');
  // By keyboard alone: from the box into the list, to the message, to its buttons.
  await ada.page.getByLabel('Message', { exact: true }).focus();
  await ada.page.keyboard.press('Alt+ArrowUp');
  await ada.page.keyboard.press('Tab'); // the first chip (👍 2), then the 🎉 chip, then the picker
  await ada.page.keyboard.press('Tab');
  await ada.page.keyboard.press('Tab');
  assert.equal(await ada.page.evaluate(() => document.activeElement.getAttribute('aria-label')), 'React with 👍');
  await ada.page.keyboard.press('Enter');
  await item(bob.page, 'hello @bob').locator('.chip').filter({ hasText: '👍 3' }).waitFor();
  await ada.page.keyboard.press('Escape');
  // Taking one back, by the chip.
  await item(cy.page, 'hello @bob').locator('.chip').filter({ hasText: '🎉 1' }).click();
  await target().locator('.chip').filter({ hasText: '🎉' }).waitFor({ state: 'detached' });

  // Edit by keyboard: Up in the empty box edits one's last message.
  await say(ada.page, 'second thoght');
  await ada.page.getByLabel('Message', { exact: true }).press('ArrowUp');
  const editBox = ada.page.getByLabel('Edit message');
  await editBox.fill('second thought');
  await editBox.press('Enter');
  for (const p of [ada.page, bob.page, cy.page]) {
    await item(p, 'second thought').locator('.edited').waitFor();
  }
  assert.equal(await item(bob.page, 'second thought').getByRole('button', { name: 'Edit' }).count(), 0,
    'only the author is offered edit');

  // Delete with confirmation: a tombstone everywhere.
  await say(ada.page, 'regrettable');
  await item(ada.page, 'regrettable').click();
  await item(ada.page, 'regrettable').getByRole('button', { name: 'Delete' }).click();
  for (const p of [ada.page, bob.page, cy.page]) {
    await p.locator('#messages .msg.deleted').getByText('This message was deleted').waitFor();
    assert.equal(await item(p, 'regrettable').count(), 0);
  }
  await bob.page.screenshot({ path: path.join(screenshots, 'living-desktop.png') });

  // Several rooms in one tab: bob opens a second room; what is said in the
  // first meanwhile shows as an unread count in the switcher.
  const other = `${room}-b`;
  await bob.page.getByLabel('Join another room').fill(other);
  await bob.page.getByLabel('Join another room').press('Enter');
  await bob.page.locator('#room-title').filter({ hasText: `# ${other}` }).waitFor();
  await say(cy.page, 'news for @bob');
  await say(cy.page, 'and more');
  await roomButton(bob.page, room).locator('.unread').filter({ hasText: /^2$/ }).waitFor();
  // The title count and a notification: cy's page is hidden when bob mentions cy.
  await cy.page.evaluate(() => window.__hide(true));
  await say(ada.page, 'are you there @cy?');
  await cy.page.waitForFunction(() => window.__notes.length === 1);
  const note = (await cy.page.evaluate(() => window.__notes))[0];
  assert.equal(note.title, `ada in # ${room}`);
  assert.equal(note.body, 'are you there @cy?');
  assert.match(await cy.page.title(), /^\(1\) /);
  await cy.page.evaluate(() => window.__hide(false));
  await cy.page.waitForFunction(() => !document.title.startsWith('('));

  // A reload keeps bob's read state: the room still counts three unread, and
  // opening it shows the divider before the first of them.
  await bob.page.reload();
  await bob.page.getByRole('status').filter({ hasText: /^connected$/ }).waitFor();
  await roomButton(bob.page, room).locator('.unread').filter({ hasText: /^3$/ }).waitFor();
  await roomButton(bob.page, room).click();
  const divider = bob.page.locator('#messages .divider');
  await divider.waitFor();
  const after = await bob.page.locator('#messages li').evaluateAll((lis) => {
    const i = lis.findIndex((li) => li.classList.contains('divider'));
    return lis.slice(i + 1).map((li) => li.querySelector('.text')?.textContent);
  });
  assert.deepEqual(after, ['news for @bob', 'and more', 'are you there @cy?']);
  await bob.page.screenshot({ path: path.join(screenshots, 'living-unread.png') });
  // Read now: the count is gone, and after another reload no divider comes
  // back (the room's messages shown prove its `joined` came).
  await roomButton(bob.page, other).click();
  await roomButton(bob.page, room).locator('.unread').waitFor({ state: 'detached' });
  await bob.page.reload();
  await bob.page.getByRole('status').filter({ hasText: /^connected$/ }).waitFor();
  await roomButton(bob.page, room).click();
  await item(bob.page, 'are you there @cy?').waitFor();
  assert.equal(await bob.page.locator('#messages .divider').count(), 0, 'read state kept over a reload');

  // On a phone: the same page, reactions and all.
  await cy.page.setViewportSize({ width: 390, height: 844 });
  await cy.page.screenshot({ path: path.join(screenshots, 'living-phone.png') });

  for (const p of [ada, bob, cy]) await p.context.close();
});
