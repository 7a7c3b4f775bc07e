// Files and images in the page, in a real Chromium against a real node: a
// PDF dropped on the room and a PNG pasted from the clipboard upload with a
// progress bar each, go out with the message, and the other person sees the
// image's thumbnail and the PDF's card; the image opens in the lightbox
// (Escape closes it, focus comes back) and the PDF downloads byte for byte.
// A file attached with the button goes alone (no text), its name shown as
// text.
//
//   CHATNODE_BIN=build/chatnode CHATNODE_SOURCE_DIR=. node --test tests/browser/files.test.mjs

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { pdf, png } from '../system/files.mjs';
import { Node } from '../system/lib.mjs';
import { launchChromium, pageHooks } from './lib.mjs';

const screenshots = process.env.SCREENSHOT_DIR ?? os.tmpdir();
mkdirSync(screenshots, { recursive: true });
const WAIT = 15000;

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

let node, browser, store;
before(async () => {
  store = mkdtempSync(path.join(os.tmpdir(), 'chatnode-files-'));
  node = await new Node('files1', '', { CHATNODE_FILES_STORE: `dir:${store}` }).start();
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await node?.stop();
  if (store) rmSync(store, { recursive: true, force: true });
});

async function person(name, room, at = node) {
  const context = await browser.newContext({ viewport: { width: 1000, height: 720 }, acceptDownloads: true });
  context.setDefaultTimeout(WAIT);
  await context.addInitScript(pageHooks);
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (err) => problems.push(String(err)));
  page.problems = problems;
  await page.goto(`http://127.0.0.1:${at.port}/`);
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Room', { exact: true }).fill(room);
  await page.getByRole('button', { name: 'Join' }).click();
  await page.getByRole('status').filter({ hasText: /^connected$/ }).waitFor();
  return page;
}

/** Drops files on the room as a drag from the desktop would: dragenter, dragover, drop. */
function dropFiles(page, target, files) {
  return page.evaluate(({ target, files }) => {
    const dt = new DataTransfer();
    for (const f of files) {
      const bytes = Uint8Array.from(atob(f.base64), (c) => c.charCodeAt(0));
      dt.items.add(new File([bytes], f.name, { type: f.type }));
    }
    const at = document.querySelector(target);
    for (const type of ['dragenter', 'dragover', 'drop']) {
      at.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
    }
  }, { target, files: files.map((f) => ({ name: f.name, type: f.type, base64: f.bytes.toString('base64') })) });
}

/** Pastes a file into the message box as a screenshot tool's clipboard would. */
function pasteFile(page, file) {
  return page.evaluate(({ name, type, base64 }) => {
    const dt = new DataTransfer();
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    dt.items.add(new File([bytes], name, { type }));
    const box = document.getElementById('message');
    box.focus();
    return box.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
  }, { name: file.name, type: file.type, base64: file.bytes.toString('base64') });
}

test('files: drop, paste, progress, send; thumbnail, lightbox, card and download on the other side', async () => {
  const room = `files-${process.pid}`;
  const ada = await person('ada', room);
  const bob = await person('bob', room);

  const report = { name: 'report.pdf', type: 'application/pdf', bytes: pdf(300 * 1024) };
  const picture = { name: 'image.png', type: 'image/png', bytes: png(640, 400) };

  await dropFiles(ada, '#log', [report]);
  const pasted = await pasteFile(ada, picture);
  assert.equal(pasted, false, 'the page takes a pasted file (the paste is not the text box\'s)');

  // Each upload shows as a chip with its name, a progress bar and a cancel button.
  const chips = ada.locator('#attachments .attachment');
  await chips.nth(1).waitFor();
  assert.equal(await chips.count(), 2);
  assert.equal(await chips.locator('progress').count(), 2, 'a progress bar for each upload');
  assert.equal(await chips.nth(0).locator('.name').textContent(), 'report.pdf');
  assert.match(await chips.nth(1).locator('.name').textContent(), /^pasted-.*\.png$/, 'a pasted image gets a name');
  assert.equal(await chips.getByRole('button', { name: /^Cancel / }).count(), 2);
  assert.match(await chips.nth(0).locator('.size').textContent(), /^(29\d|30\d) KB$/);
  await ada.locator('#attachments .attachment.done').nth(1).waitFor();
  assert.equal(await ada.locator('#attachments .attachment.failed').count(), 0,
    await ada.locator('#attachments').textContent());
  assert.deepEqual(await chips.locator('progress').evaluateAll((bars) => bars.map((b) => b.value)), [1, 1]);
  await ada.screenshot({ path: path.join(screenshots, 'files-composer.png') });

  const box = ada.getByLabel('Message', { exact: true });
  await box.fill('the report and a picture');
  await box.press('Enter');
  await ada.locator('#messages .msg.mine:not(.pending)').filter({ hasText: 'the report and a picture' }).waitFor();
  assert.equal(await ada.locator('#attachments').isHidden(), true, 'the chips went with the message');

  // Bob sees the image as its thumbnail (space reserved) and the PDF as a card.
  const msg = bob.locator('#messages .msg').filter({ hasText: 'the report and a picture' });
  await msg.waitFor();
  const thumb = msg.locator('.files button.thumb img');
  await thumb.waitFor();
  await bob.waitForFunction((m) => [...document.querySelectorAll('#messages .msg')]
    .find((li) => li.textContent.includes(m))?.querySelector('.thumb img')?.naturalWidth > 0, 'the report and a picture');
  const dims = await thumb.evaluate((img) => ({ w: img.width, h: img.height, aw: img.getAttribute('width'),
    ah: img.getAttribute('height'), src: img.getAttribute('src'), natural: img.naturalWidth }));
  assert.equal(dims.aw, '320', 'reserved width: the thumbnail\'s, at most 320');
  assert.equal(dims.ah, '200', 'reserved height, in the image\'s proportions');
  assert.match(dims.src, /^\/files\/thumb\/[A-Za-z0-9_-]+$/);
  assert.ok(dims.natural > 0 && dims.natural <= 320, `thumbnail of ${dims.natural} px`);

  const card = msg.locator('.file-card').filter({ hasText: 'report.pdf' });
  await card.waitFor();
  assert.match(await card.locator('.size').textContent(), /KB$/);
  const link = card.locator('a.download');
  assert.match(await link.getAttribute('href'), /^\/files\/[A-Za-z0-9_-]{22}\/report\.pdf$/);
  assert.equal(await link.getAttribute('download'), 'report.pdf');
  await bob.screenshot({ path: path.join(screenshots, 'files-desktop.png') });

  // The lightbox: the full image, focus inside, Escape closes and gives focus back.
  await msg.locator('.files button.thumb').click();
  const dialog = bob.getByRole('dialog');
  await dialog.waitFor();
  await bob.waitForFunction(() => document.getElementById('lightbox-img').naturalWidth === 640);
  assert.match(await bob.locator('#lightbox-img').getAttribute('src'), /^\/files\/[A-Za-z0-9_-]{22}\/[^/]+\.png$/);
  assert.equal(await bob.evaluate(() => document.getElementById('lightbox').contains(document.activeElement)), true,
    'focus is in the dialog');
  await bob.keyboard.press('Tab');
  await bob.keyboard.press('Tab');
  await bob.keyboard.press('Tab');
  assert.equal(await bob.evaluate(() => document.getElementById('lightbox').contains(document.activeElement)), true,
    'Tab stays in the dialog');
  await bob.screenshot({ path: path.join(screenshots, 'files-lightbox.png') });
  await bob.keyboard.press('Escape');
  await dialog.waitFor({ state: 'hidden' });
  assert.equal(await bob.evaluate(() => document.activeElement?.classList.contains('thumb')), true,
    'focus back on the thumbnail');

  // The PDF downloads as it was uploaded.
  const [download] = await Promise.all([bob.waitForEvent('download'), link.click()]);
  assert.equal(download.suggestedFilename(), 'report.pdf');
  const got = readFileSync(await download.path());
  assert.equal(got.length, report.bytes.length);
  assert.equal(sha256(got), sha256(report.bytes), 'the download is the file byte for byte');

  // A file with the attach button, sent alone; its name (markup and all) is text.
  const odd = 'notes <img src=x onerror=alert(1)>.txt';
  await ada.locator('#attach-input').setInputFiles({ name: odd, mimeType: 'text/plain', buffer: Buffer.from('just notes\n') });
  await ada.locator('#attachments .attachment.done').waitFor();
  await box.press('Enter');
  const alone = bob.locator('#messages .msg').filter({ has: bob.locator('.file-card') }).last();
  await bob.locator('#messages .file-card .name').filter({ hasText: 'notes <img' }).waitFor();
  assert.equal(await alone.locator('.file-card .name').textContent(), odd);
  assert.equal(await alone.locator('.text').count(), 0, 'no text, no empty text block');
  assert.equal(await bob.locator('#messages img').count(), 1, 'the only image is the thumbnail');

  // The phone layout.
  await bob.setViewportSize({ width: 390, height: 760 });
  await msg.scrollIntoViewIfNeeded();
  const width = await msg.locator('.files').evaluate((n) => n.getBoundingClientRect().width);
  assert.ok(width <= 390, `the files fit a phone (${width} px)`);
  await bob.screenshot({ path: path.join(screenshots, 'files-phone.png') });

  assert.deepEqual([...ada.problems, ...bob.problems], [], 'no errors in the pages');
  await ada.context().close();
  await bob.context().close();
});

test('a node that takes no files: no paperclip, and a dropped file is not sent', async () => {
  const plain = await new Node('files2', '', { CHATNODE_FILES_ENABLED: 'false' }).start();
  try {
    const page = await person('cy', `plain-${process.pid}`, plain);
    assert.equal(await page.locator('#attach').isVisible(), false, 'welcome has no files: nothing offers attaching');
    await dropFiles(page, '#log', [{ name: 'a.txt', type: 'text/plain', bytes: Buffer.from('a') }]);
    assert.equal(await page.locator('#attachments .attachment').count(), 0);
    assert.deepEqual(page.problems, []);
    await page.context().close();
  } finally {
    await plain.stop();
  }
});
