// The page over an archive in a real Chromium: two nodes on one Redis keep 20
// messages per room, PostgreSQL keeps them all. Scrolling up reaches the
// room's first message through the seam, and the search box finds messages
// with a word, pages to older results, shows text as text, and opens a
// result where it is: in the room, or in its thread's pane.
//
//   CHATNODE_BIN=build/chatnode CHATNODE_SOURCE_DIR=. node --test tests/browser/archive.test.mjs

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Client, Node, Postgres, Redis, waitFor } from '../system/lib.mjs';
import { launchChromium, pageHooks } from './lib.mjs';

const WAIT = 15000;
let pg, redis, browser;
const nodes = [];

before(async () => {
  pg = await new Postgres().start();
  redis = await new Redis().start();
  for (const name of ['a1', 'a2'])
    nodes.push(await new Node(name, redis.url, { CHATNODE_ARCHIVE_URL: pg.url, CHATNODE_HISTORY_RETENTION: '20' }).start());
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  for (const n of nodes) await n.stop();
  await redis?.destroy();
  await pg?.destroy();
});

test('scrolling back past the retention to the first message, and the search box', async () => {
  const room = `archive-${process.pid}`;
  // 80 messages from another node, every tenth with a word to find.
  const writer = await new Client(nodes[1], 'writer').connect();
  await writer.join(room);
  for (let i = 0; i < 80; i++)
    writer.send({ type: 'send', room, text: i % 10 === 7 ? `needle <b>${i}</b>` : `hay ${i}`, cid: `w${i}` });
  await waitFor(() => writer.events.filter((e) => e.type === 'message').length === 80, 'the writer\'s 80 echoes');
  await waitFor(() => Number(pg.query(`SELECT count(*) FROM archive_messages WHERE room = '${room}'`)[0][0]) === 80,
    'the archive to hold them');

  const context = await browser.newContext({ viewport: { width: 1100, height: 760 } });
  context.setDefaultTimeout(WAIT);
  await context.addInitScript(pageHooks);
  const page = await context.newPage();
  await page.goto(`http://127.0.0.1:${nodes[0].port}/`);
  await page.getByLabel('Name', { exact: true }).fill('ada');
  await page.getByLabel('Room', { exact: true }).fill(room);
  await page.getByRole('button', { name: 'Join' }).click();
  await page.getByRole('status').filter({ hasText: /^connected$/ }).waitFor();

  // Scroll up until the page says it is the start of the room.
  const note = page.locator('#history-note');
  for (let i = 0; i < 40 && (await note.textContent()) !== 'This is the start of the room'; i++) {
    await page.locator('#log').evaluate((log) => { log.scrollTop = 0; log.dispatchEvent(new Event('scroll')); });
    await page.waitForTimeout(100);
  }
  assert.equal(await note.textContent(), 'This is the start of the room');
  const texts = await page.locator('#messages .msg .text').allTextContents();
  const expected = [...Array(80).keys()].map((i) => (i % 10 === 7 ? `needle <b>${i}</b>` : `hay ${i}`));
  assert.deepEqual(texts, expected, 'all 80, in order, none twice, across the seam');

  // Search: newest first, 8 matches, text shown as text.
  await page.getByRole('searchbox', { name: 'Search this room' }).fill('needle');
  await page.getByRole('searchbox', { name: 'Search this room' }).press('Enter');
  const results = page.locator('#search-list .result');
  await page.locator('#search-title').filter({ hasText: '8 messages with “needle”' }).waitFor();
  const found = await results.locator('.text').allTextContents();
  assert.deepEqual(found, [77, 67, 57, 47, 37, 27, 17, 7].map((i) => `needle <b>${i}</b>`));
  assert.equal(await page.locator('#search-list b').count(), 0, 'text stays text');
  await page.getByRole('button', { name: 'Close' }).click();
  assert.equal(await page.locator('#search-results').isVisible(), false);

  // A result opens where it is: an old one in the room (paging back), one
  // in a thread in the thread's pane.
  await page.locator('#log').evaluate((log) => { log.scrollTop = log.scrollHeight; });
  const root = writer.events.find((e) => e.type === 'message' && e.text === 'hay 78');
  for (let i = 0; i < 3; i++) writer.send({ type: 'send', room, text: `reply ${i}${i === 1 ? ' pinecone' : ''}`, thread: root.id, cid: `t${i}` });
  await waitFor(() => Number(pg.query(`SELECT count(*) FROM archive_messages WHERE room = '${room}' AND thread_ms IS NOT NULL`)[0][0]) === 3,
    'the archive to hold the thread');
  await page.getByRole('searchbox', { name: 'Search this room' }).fill('pinecone');
  await page.getByRole('searchbox', { name: 'Search this room' }).press('Enter');
  await results.filter({ hasText: 'reply 1 pinecone' }).getByRole('button', { name: /Open the thread/ }).click();
  const pane = page.getByRole('complementary', { name: 'Thread' });
  await pane.locator('#thread-root').filter({ hasText: 'hay 78' }).waitFor();
  await pane.locator('#thread-messages .msg.flash').filter({ hasText: 'reply 1 pinecone' }).waitFor();
  assert.deepEqual(await pane.locator('#thread-messages .msg .text').allTextContents(), ['reply 0', 'reply 1 pinecone', 'reply 2']);
  await page.getByLabel('Reply in thread').press('Escape');

  await page.getByRole('searchbox', { name: 'Search this room' }).fill('needle');
  await page.getByRole('searchbox', { name: 'Search this room' }).press('Enter');
  await page.locator('#search-title').filter({ hasText: '8 messages with “needle”' }).waitFor();
  await results.filter({ hasText: 'needle <b>7</b>' }).getByRole('button', { name: /Go to/ }).click();
  await page.locator('#messages .msg.flash').filter({ hasText: 'needle <b>7</b>' }).waitFor();
  writer.close();
  await context.close();
});
