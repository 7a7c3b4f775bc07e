// The chaos run's verdicts, from what it kept: each client's events, each
// writer's acknowledged writes, each room's history paged back to its first
// message, and what PostgreSQL holds. One result per guarantee:
// { name, pass, detail, counts }.

import { audit, compareIds } from '../system/lib.mjs';

const idsOf = (list) => list.map((m) => m.id);

/** No acknowledged message lost: every send acknowledged is in history. */
export function checkLost(rooms) {
  let acked = 0; const missing = [];
  for (const r of rooms) {
    const have = new Set(idsOf(r.history));
    for (const c of r.clients) for (const [cid, w] of c.writes) {
      if (w.kind !== 'send' || w.status !== 'acked') continue;
      acked++;
      if (!have.has(w.id)) missing.push(`${r.room} ${cid} ${w.id}`);
    }
  }
  return { name: 'no acknowledged message lost', pass: missing.length === 0, counts: { acked, lost: missing.length }, examples: missing.slice(0, 10) };
}

/** None shown that history lacks: every message any client received is in history. */
export function checkShown(rooms) {
  let shown = 0; const missing = new Set();
  for (const r of rooms) {
    const have = new Set(idsOf(r.history));
    const seen = new Set();
    for (const c of r.clients) for (const id of c.ids(r.room)) seen.add(id);
    shown += seen.size;
    for (const id of seen) if (!have.has(id)) missing.add(`${r.room} ${id}`);
  }
  return { name: 'none shown that history lacks', pass: missing.size === 0, counts: { shown, absent: missing.size }, examples: [...missing].slice(0, 10) };
}

/** No duplicate: no client got a message twice, and history holds no
 *  (user, cid) twice (a retry stored again). */
export function checkDuplicates(rooms) {
  let clientDup = 0, historyDup = 0, retryAnswers = 0; const examples = [];
  for (const r of rooms) {
    for (const c of r.clients) {
      const retried = c.retried();
      const copies = new Map();
      for (const id of c.ids(r.room)) if (retried.has(id)) copies.set(id, (copies.get(id) ?? 0) + 1);
      for (const n of copies.values()) retryAnswers += n - 1;
      const a = audit(c.orderedIds(r.room));
      if (a.duplicates) { clientDup += a.duplicates; examples.push(`${c.name}: ${a.duplicates} twice`); }
    }
    const byCid = new Map();
    for (const m of r.history) {
      if (!m.cid) continue;
      const key = `${m.user}\u0000${m.cid}`;
      if (byCid.has(key)) { historyDup++; examples.push(`${r.room}: ${m.user}/${m.cid} stored as ${byCid.get(key)} and ${m.id}`); }
      else byCid.set(key, m.id);
    }
    const ids = idsOf(r.history);
    const unique = new Set(ids).size;
    if (unique !== ids.length) { historyDup += ids.length - unique; examples.push(`${r.room}: history lists an id twice`); }
  }
  return { name: 'no duplicate', pass: clientDup + historyDup === 0, counts: { onClients: clientDup, inHistory: historyDup, retryAnswers }, examples: examples.slice(0, 10) };
}

/** Each room's order the same on every client and in history: history in
 *  id order, and what each client received, from its first message to its
 *  last, exactly history's stretch between them (nothing skipped, nothing
 *  moved). */
export function checkOrder(rooms) {
  let clients = 0, mismatched = 0, historyBad = 0; const examples = [];
  for (const r of rooms) {
    const ids = idsOf(r.history);
    if (audit(ids).outOfOrder) { historyBad++; examples.push(`${r.room}: history out of id order`); }
    for (const c of r.clients) {
      // A writer's own retried messages are left out on both sides (see
      // ChaosClient.retried()): their answers may come out of order.
      const retried = c.retried();
      const mine = retried.size ? ids.filter((id) => !retried.has(id)) : ids;
      const index = new Map(mine.map((id, i) => [id, i]));
      const got = c.orderedIds(r.room);
      if (!got.length) continue;
      clients++;
      const from = index.get(got[0]), to = index.get(got.at(-1));
      const want = from === undefined || to === undefined ? null : mine.slice(from, to + 1);
      if (!want || want.length !== got.length || want.some((id, i) => id !== got[i])) {
        mismatched++;
        if (examples.length < 10) {
          const at = want ? got.findIndex((id, i) => id !== want[i]) : -1;
          examples.push(`${c.name}: ${got.length} received vs ${want?.length ?? '?'} in history; first difference at ${at}` +
            (at >= 0 ? ` (got ${got.slice(Math.max(0, at - 2), at + 3).join(' ')}, history ${want?.slice(Math.max(0, at - 2), at + 3).join(' ')})` : ''));
        }
      }
    }
  }
  return { name: "each room's order the same on every client and in history", pass: mismatched + historyBad === 0,
    counts: { clients, mismatched, historiesOutOfOrder: historyBad }, examples };
}

/** The archive holds exactly the room's entries: its messages are
 *  history's messages, and its events are those messages and every change
 *  (edit, reaction) acknowledged or shown, no more. */
export function checkArchive(rooms, pg) {
  let mismatched = 0, messages = 0, events = 0; const examples = [];
  for (const r of rooms) {
    const q = (sql) => pg.query(sql).map((row) => row[0]);
    const esc = r.room.replace(/'/g, "''");
    const archivedMessages = q(`SELECT ms || '-' || seq FROM archive_messages WHERE room = '${esc}' ORDER BY ms, seq`);
    const archivedEvents = q(`SELECT ms || '-' || seq || ' ' || kind FROM archive_events WHERE room = '${esc}' ORDER BY ms, seq`);
    messages += archivedMessages.length; events += archivedEvents.length;
    const historyIds = idsOf(r.history);
    const changes = new Set();
    for (const c of r.clients) {
      for (const w of c.writes.values()) if (w.kind !== 'send' && w.status === 'acked' && !w.unchanged) changes.add(w.id);
      for (const e of c.events) if (e.room === r.room && (e.type === 'edit' || (e.type === 'reaction' && !e.unchanged))) changes.add(e.id);
    }
    const eventIds = archivedEvents.map((x) => x.split(' ')[0]);
    const eventSet = new Set(eventIds);
    const msgSet = new Set(archivedMessages);
    const missingMsgs = historyIds.filter((id) => !msgSet.has(id));
    const extraMsgs = archivedMessages.filter((id) => !historyIds.includes(id));
    const wantEvents = new Set([...historyIds, ...changes]);
    const missingEvents = [...wantEvents].filter((id) => !eventSet.has(id));
    const extraEvents = eventIds.filter((id) => !wantEvents.has(id));
    if (missingMsgs.length + extraMsgs.length + missingEvents.length + extraEvents.length) {
      mismatched++;
      examples.push(`${r.room}: messages missing ${missingMsgs.length} extra ${extraMsgs.length}; ` +
        `events missing ${missingEvents.length} extra ${extraEvents.length}` +
        `${missingMsgs[0] ? ` (e.g. missing ${missingMsgs[0]})` : ''}${extraMsgs[0] ? ` (e.g. extra ${extraMsgs[0]})` : ''}` +
        `${missingEvents[0] ? ` (e.g. event missing ${missingEvents[0]})` : ''}${extraEvents[0] ? ` (e.g. event extra ${extraEvents[0]})` : ''}`);
    }
  }
  return { name: 'archive holds exactly the room\'s entries', pass: mismatched === 0,
    counts: { rooms: rooms.length, mismatched, archivedMessages: messages, archivedEvents: events }, examples: examples.slice(0, 10) };
}

/** A client's last `n` events that shaped its member list of its room, one
 *  string each, oldest first: its connections (`welcome`, with the node),
 *  `joined`, `members` pages, `presence` and `presence_diff` events, each
 *  with the names it gave or took and the count. */
export function presenceTrail(client, n = 10) {
  const shaped = [];
  for (const e of client.events) {
    if (e.type === 'welcome') { shaped.push(`welcome${e.node ? ` ${e.node}` : ''}`); continue; }
    if (e.room !== client.room) continue;
    if (e.type === 'joined') shaped.push(`joined [${e.members.join(',')}] count ${e.count}${e.members_more ? ' more' : ''}`);
    else if (e.type === 'members') shaped.push(`members [${e.members.join(',')}] count ${e.count}${e.more ? ' more' : ''}`);
    else if (e.type === 'presence') shaped.push(`${e.event} ${e.user} count ${e.count}`);
    else if (e.type === 'presence_diff')
      shaped.push(`diff +[${e.joins.join(',')}] -[${e.leaves.join(',')}] count ${e.count}${e.upto !== undefined ? ` upto ${e.upto}` : ''}`);
  }
  return shaped.slice(-n);
}

/** Whether a client's member list of its room equals `truth` (a sorted
 *  list of names): the whole list, or in a big room the part it holds
 *  (names up to `upTo`) and the count. */
export function membersMatch(client, truth) {
  const p = client.presence(client.room);
  const want = p.upTo === null ? truth : truth.filter((n) => n <= p.upTo);
  return p.members.length === want.length && p.members.every((n, i) => n === want[i]) && (p.count ?? p.members.length) === truth.length;
}

/** How a client's member list differs from `truth` in the part it holds:
 *  the names it lacks and those it holds that are gone. */
export function membersDifference(client, truth) {
  const p = client.presence(client.room);
  const want = p.upTo === null ? truth : truth.filter((n) => n <= p.upTo);
  const held = new Set(p.members);
  const wanted = new Set(want);
  return { missing: want.filter((n) => !held.has(n)), extra: p.members.filter((n) => !wanted.has(n)) };
}

/** No node's RSS growing run over run. A node process (one pid: a restart
 *  starts afresh) is growing when it was sampled at least three times, each
 *  sample above the one before, and the last more than 20% and 16 MiB above
 *  the first. */
export function checkRss(samples) {
  const byPid = new Map();
  for (const s of samples) {
    const key = `${s.node}/${s.pid}`;
    if (!byPid.has(key)) byPid.set(key, []);
    byPid.get(key).push(s.kb);
  }
  const growing = []; const summary = [];
  for (const [key, kbs] of byPid) {
    summary.push(`${key}: ${kbs.map((k) => Math.round(k / 1024)).join('→')} MiB`);
    if (kbs.length < 3) continue;
    const rising = kbs.every((k, i) => i === 0 || k > kbs[i - 1]);
    const grew = kbs.at(-1) - kbs[0];
    if (rising && grew > 16 * 1024 && grew > 0.2 * kbs[0]) growing.push(key);
  }
  return { name: 'no node RSS growing run over run', pass: growing.length === 0,
    counts: { processes: byPid.size, samples: samples.length, growing: growing.length }, examples: summary };
}

export function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] : 0;
}

/** The longest stretch of [from, to] with no acknowledgement in it. */
export function longestGap(times, from, to) {
  let longest = 0, last = from;
  for (const t of times) {
    if (t < from) continue;
    if (t > to) break;
    longest = Math.max(longest, t - last); last = t;
  }
  return Math.max(longest, to - last);
}

export { compareIds };
