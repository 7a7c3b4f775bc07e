// The archive's figures, on a real PostgreSQL child, a real redis-server and
// real nodes:
// 1. Throughput: WRITERS clients on two nodes each send into their own room
//    as fast as they are acknowledged, MESSAGES in all; printed: the store
//    rate, and the archive's rate from the first send until every message is
//    archived (the archive can be no faster than the messages come, so its
//    lag after the last acknowledgement is printed too).
// 2. Search: ROWS messages put straight into one archived room (words drawn
//    from a vocabulary with a Zipf-like spread, as chat is), then `search`
//    requests over a WebSocket for a rare word, a common word and two words,
//    SEARCHES of each, one at a time 25 ms apart; printed: p50 and p99 of
//    each, from the send to the answer's arrival.
//
//   CHATNODE_BIN=build/chatnode node tests/bench/archive.mjs [MESSAGES] [ROWS] [SEARCHES]

import { Client, Node, Postgres, Redis, waitFor } from '../system/lib.mjs';

const messages = Number(process.argv[2] ?? 20000);
const rows = Number(process.argv[3] ?? 1000000);
const searches = Number(process.argv[4] ?? 200);
const writers = 4;

const pg = await new Postgres().start();
const redis = await new Redis().start();
const env = { CHATNODE_ARCHIVE_URL: pg.url, CHATNODE_LIMITS_RATE_PER_SECOND: '1000000', CHATNODE_LIMITS_RATE_BURST: '1000000' };
const nodes = [await new Node('b1', redis.url, env).start(), await new Node('b2', redis.url, env).start()];
const count = (sql) => Number(pg.query(sql)[0][0]);
const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];

try {
  // -- 1. throughput ------------------------------------------------------------
  const clients = [];
  for (let w = 0; w < writers; w++) {
    const c = await new Client(nodes[w % 2], `w${w}`).connect();
    await c.join(`bench${w}`);
    clients.push(c);
  }
  const each = Math.floor(messages / writers);
  const started = Date.now();
  const sendAll = (tag) => Promise.all(clients.map(async (c, w) => {
    const room = `bench${w}`;
    const acked = () => c.events.filter((e) => e.type === 'message' && e.cid?.startsWith(tag)).length;
    for (let sent = 0; sent < each;) {
      const batch = Math.min(200, each - sent);
      for (let i = 0; i < batch; i++, sent++) c.send({ type: 'send', room, text: `message number ${sent} from ${c.name}`, cid: `${tag}${sent}` });
      await waitFor(() => acked() >= sent, `${c.name}: ${sent} acknowledged`, 60000);
    }
  }));
  await sendAll('a');
  const storedMs = Date.now() - started;
  const total = each * writers;
  await waitFor(() => count("SELECT count(*) FROM archive_messages WHERE room LIKE 'bench%'") === total, 'all archived', 120000);
  const archivedMs = Date.now() - started;
  const written = [];
  for (const n of nodes) written.push((await n.metrics()).chatnode_archive_batches_total);
  console.log(`throughput: ${total} messages in ${writers} rooms over 2 nodes`);
  console.log(`  stored at ${(total / storedMs * 1000).toFixed(0)} messages/s; archived at ${(total / archivedMs * 1000).toFixed(0)} messages/s ` +
    `(all archived ${archivedMs - storedMs} ms after the last acknowledgement; batches per node ${written.join(', ')})`);

  // The same load while the database is down: the backlog waits in Redis;
  // then the time to write it all once the database is back.
  await pg.stop();
  const downAt = Date.now();
  await sendAll('b');
  const downMs = Date.now() - downAt;
  await pg.start();
  const back = Date.now();
  await waitFor(() => { try { return count("SELECT count(*) FROM archive_messages WHERE room LIKE 'bench%'") === 2 * total; } catch { return false; } },
    'the backlog archived', 300000);
  const catchUpMs = Date.now() - back;
  const missed = count('SELECT COALESCE(sum(missed), 0) FROM archive_rooms');
  console.log(`backlog: ${total} messages stored in ${downMs} ms while the database was down, chat going on; ` +
    `archived ${catchUpMs} ms after it came back (${(total / catchUpMs * 1000).toFixed(0)} messages/s, reconnect included), missed ${missed}`);
  for (const c of clients) c.close();

  // -- 2. search on ROWS archived messages -----------------------------------------
  const fill = Date.now();
  // Word k of a 2,000-word vocabulary comes with weight 1/k; the rare word and
  // the common word are planted at known rates.
  pg.query(`INSERT INTO archive_messages (room, ms, seq, number, author, body, ts)
    SELECT 'big', 1700000000000 + g, 0, g, 'user' || (g % 500),
      'w' || floor(exp(random() * ln(2000)))::int || ' w' || floor(exp(random() * ln(2000)))::int || ' w' || floor(exp(random() * ln(2000)))::int
        || CASE WHEN g % 10000 = 0 THEN ' zebra' ELSE '' END || CASE WHEN g % 20 = 0 THEN ' hello' ELSE '' END,
      1700000000000 + g
    FROM generate_series(1, ${rows}) AS g`);
  pg.query(`INSERT INTO archive_rooms (room, mark_ms, mark_seq, messages) VALUES ('big', ${1700000000000 + rows}, 0, ${rows})`);
  pg.query('VACUUM ANALYZE archive_messages');
  console.log(`search: ${rows} messages in one room, inserted and indexed in ${((Date.now() - fill) / 1000).toFixed(1)} s`);
  const reader = await new Client(nodes[0], 'reader').connect();
  await reader.join('big');
  for (const [label, query] of [['rare word (1 in 10,000)', 'zebra'], ['common word (1 in 20)', 'hello'],
    ['two words', 'hello w1'], ['no match', 'nothingmatches']]) {
    const times = [];
    let found = 0;
    for (let i = 0; i < searches; i++) {
      // A person's pace, not back to back: a connection that wrote within
      // [node] write_coalesce_ms waits out that window before it writes again.
      await new Promise((r) => setTimeout(r, 25));
      // Timed from the send to the frame's arrival (not by polling).
      const answered = new Promise((resolve) => {
        const onFrame = (data) => {
          const parsed = JSON.parse(data.toString());
          const e = (Array.isArray(parsed) ? parsed : [parsed]).find((x) => x.type === 'search' || x.type === 'error');
          if (e) { reader.ws.off('message', onFrame); resolve(e); }
        };
        reader.ws.on('message', onFrame);
      });
      const t0 = process.hrtime.bigint();
      reader.send({ type: 'search', room: 'big', query, limit: 20 });
      const answer = await answered;
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
      if (answer.type !== 'search') throw new Error(JSON.stringify(answer));
      found = answer.messages.length;
    }
    times.sort((a, b) => a - b);
    console.log(`  ${label.padEnd(26)} "${query}": ${found} per page; p50 ${percentile(times, 0.5).toFixed(2)} ms, p99 ${percentile(times, 0.99).toFixed(2)} ms over ${searches}`);
  }
  reader.close();
} finally {
  for (const n of nodes) await n.stop();
  await redis.destroy();
  await pg.destroy();
}
