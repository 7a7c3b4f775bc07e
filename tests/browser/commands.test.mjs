// (1.2) Slash commands in a real Chromium: typing "/" offers the node's
// commands (filtered as one types, chosen with the keyboard), a command's
// answer is posted by its bot and shown with a bot mark to everyone in the
// room, an answer for the caller alone is shown to them only, and an
// unknown command says so. The command's service is a server the test runs.
//
//   CHATNODE_BIN=build/chatnode CHATNODE_SOURCE_DIR=. node --test tests/browser/commands.test.mjs

import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Node, freePort } from '../system/lib.mjs';
import { launchChromium, pageHooks } from './lib.mjs';

const screenshots = process.env.SCREENSHOT_DIR ?? os.tmpdir();
mkdirSync(screenshots, { recursive: true });
const WAIT = 15000;
const SECRET = 'browser-commands-secret-0123456';

let service, node, browser, scratch;
const calls = [];

before(async () => {
  const port = await freePort();
  service = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const call = JSON.parse(Buffer.concat(chunks).toString());
      calls.push(call);
      res.writeHead(200, { 'content-type': 'application/json' });
      if (call.command === 'roll') res.end(JSON.stringify({ text: `${call.user} rolled ${call.text || 'a die'}: 4`, visibility: 'room' }));
      else res.end(JSON.stringify({ text: `Your notes, ${call.user}: none yet` }));
    });
  });
  await new Promise((r) => service.listen(port, '127.0.0.1', r));
  scratch = mkdtempSync(path.join(os.tmpdir(), 'chatnode-browser-commands-'));
  const file = path.join(scratch, 'keys.toml');
  writeFileSync(file, [
    '[[key]]\nname = "dicebot"\nsecret = "browser-commands-dicebot-012"\nscopes = ["post"]\nrooms = ["*"]\n',
    `[[command]]\nname = "roll"\nurl = "http://127.0.0.1:${port}/roll"\nsecret = "${SECRET}"\nbot = "dicebot"\ndescription = "Rolls dice for the room"\nusage = "[dice]"\nallow_private = true\n`,
    `[[command]]\nname = "remind"\nurl = "http://127.0.0.1:${port}/remind"\nsecret = "${SECRET}"\ndescription = "Your notes, for you alone"\nallow_private = true\n`,
  ].join('\n'));
  node = await new Node('bc', '', { CHATNODE_API_KEYS_FILE: file }).start();
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await node?.stop();
  service?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

async function person(name, room) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 760 } });
  context.setDefaultTimeout(WAIT);
  await context.addInitScript(pageHooks);
  const page = await context.newPage();
  await page.goto(`http://127.0.0.1:${node.port}/`);
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Room', { exact: true }).fill(room);
  await page.getByRole('button', { name: 'Join' }).click();
  await page.getByRole('status').filter({ hasText: /^connected$/ }).waitFor();
  return { page, context };
}

test('typing / offers the commands; a bot\'s answer reaches the room, one for the caller stays with them', async () => {
  const room = `dice-${process.pid}`;
  const al = await person('al', room);
  const bo = await person('bo', room);
  const box = al.page.getByLabel('Message', { exact: true });

  // "/" lists both; "/r" both; "/ro" only roll; the keyboard takes it.
  await box.fill('/');
  const menu = al.page.getByRole('listbox', { name: 'Commands' });
  await menu.waitFor();
  assert.deepEqual(await menu.getByRole('option').locator('.command-name').allTextContents(), ['/roll', '/remind']);
  await box.pressSequentially('ro');
  assert.deepEqual(await menu.getByRole('option').locator('.command-name').allTextContents(), ['/roll']);
  assert.equal(await box.getAttribute('aria-expanded'), 'true');
  await al.page.screenshot({ path: path.join(screenshots, 'commands-menu.png') });
  await box.press('Tab');
  assert.equal(await box.inputValue(), '/roll ');
  assert.equal(await menu.isHidden(), true);
  await box.pressSequentially('2d6');
  await box.press('Enter');

  // Everyone sees the bot's answer, marked as a bot's; nobody sees "/roll".
  for (const p of [al.page, bo.page]) {
    const answer = p.locator('#messages .msg').filter({ hasText: 'al rolled 2d6: 4' });
    await answer.waitFor();
    assert.equal(await answer.locator('.user').textContent(), 'dicebot');
    assert.equal(await answer.locator('.bot-badge').textContent(), 'bot');
    assert.equal(await p.locator('#messages .msg').filter({ hasText: '/roll 2d6' }).count(), 0);
  }
  assert.deepEqual([calls[0].command, calls[0].text, calls[0].user, calls[0].room], ['roll', '2d6', 'al', room]);

  // For al alone.
  await box.fill('/remind');
  await box.press('Escape');
  await box.press('Enter');
  const mine = al.page.locator('#messages .msg.command-result').filter({ hasText: 'Your notes, al: none yet' });
  await mine.waitFor();
  assert.match(await mine.locator('time').textContent(), /only you can see this/);
  await bo.page.waitForTimeout(300);
  assert.equal(await bo.page.locator('#messages').getByText('Your notes').count(), 0);

  // An unknown command says so, and is not posted.
  await box.fill('/dance now');
  await box.press('Enter');
  const refused = al.page.locator('#messages .msg.command-result.failed').filter({ hasText: 'unknown command /dance' });
  await refused.waitFor();
  await al.page.screenshot({ path: path.join(screenshots, 'commands-answers.png') });
  assert.equal(await bo.page.locator('#messages').getByText('/dance').count(), 0);
  await al.context.close();
  await bo.context.close();
});
