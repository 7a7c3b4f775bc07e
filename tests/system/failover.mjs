// Redis processes killed under steady traffic, and what each room paid:
// the longest stretch in which it took no send, and whether anything it
// acknowledged is missing from history. Shared by tests/system/replicas.test.mjs
// and tests/bench/failover_matrix.mjs.

import { Client, waitFor } from './lib.mjs';

// The client library's backoff for a write refused as `unavailable`
// (web/chatnode.mjs): full jitter under a doubling cap.
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 15000;
const backoff = (tries) => Math.random() * Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** tries);

/** Writes into one room at a steady pace as the client library does: each
 *  write has a cid, and one refused as `unavailable` goes again with the same
 *  cid after a backoff (with no cap on tries: every write must end stored).
 *  Keeps when each write was first sent and when it was acknowledged. */
export class RetryingSender {
  constructor(client, room) {
    this.client = client; this.room = room; this.writes = new Map(); this.n = 0; this.refused = 0;
    client.onEvent = (e) => this.handle(e);
  }
  start(perSecond) {
    this.timer = setInterval(() => {
      const cid = `${this.client.name}-${this.n++}`;
      this.writes.set(cid, { sentAt: Date.now(), tries: 0, ackedAt: null, id: null });
      this.send(cid);
    }, 1000 / perSecond);
    this.timer.unref(); // a test that fails before settle() must still end
  }
  send(cid) {
    const w = this.writes.get(cid);
    w.lastSentAt = Date.now();
    this.client.send({ type: 'send', room: this.room, text: `text ${cid}`, cid });
  }
  handle(e) {
    const w = e.cid ? this.writes.get(e.cid) : undefined;
    if (!w || w.ackedAt !== null) return;
    if (e.type === 'message' && e.room === this.room) {
      w.ackedAt = Date.now(); w.id = e.id;
      clearTimeout(w.timer);
    } else if (e.type === 'error' && e.code === 'unavailable') {
      this.refused++;
      w.tries++;
      clearTimeout(w.timer);
      w.timer = setTimeout(() => this.send(e.cid), backoff(w.tries));
      w.timer.unref();
    }
  }
  acked() { return [...this.writes.values()].filter((w) => w.ackedAt !== null); }
  /** Whether acknowledgements have come with no gap over `gapMs` for the last `ms`. */
  flowing(ms, gapMs) {
    const now = Date.now();
    const times = this.acked().map((w) => w.ackedAt).filter((t) => t >= now - ms).sort((a, b) => a - b);
    return times.length > 0 && longestGap(times, now - ms, now) <= gapMs;
  }
  /** The longest stretch of [from, to] in which no acknowledgement arrived:
   *  every send of it was refused or unanswered meanwhile. */
  longestWindow(from, to) {
    return longestGap(this.acked().map((w) => w.ackedAt).filter((t) => t >= from && t <= to).sort((a, b) => a - b), from, to);
  }
  /** Stops writing new messages and sends the unacknowledged again until
   *  each is acknowledged (or `ms` pass: throws). */
  async settle(ms = 20000) {
    clearInterval(this.timer);
    await waitFor(() => {
      let pending = 0;
      for (const [cid, w] of this.writes) {
        if (w.ackedAt !== null) continue;
        pending++;
        if (Date.now() - w.lastSentAt > 1000) this.send(cid);
      }
      return pending === 0;
    }, `every send in ${this.room} acknowledged`, ms);
  }
  stop() {
    clearInterval(this.timer);
    for (const w of this.writes.values()) clearTimeout(w.timer);
  }
}

function longestGap(sorted, from, to) {
  let longest = 0, last = from;
  for (const t of sorted) { longest = Math.max(longest, t - last); last = t; }
  return Math.max(longest, to - last);
}

export function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] : 0;
}

/** Senders in `perShard` rooms of every shard, spread over `nodes`, each
 *  writing `rate` a second. Returns the senders with their rooms' masters. */
export async function steadyTraffic(cluster, nodes, { perShard = 2, rate = 20, prefix = 'steady' } = {}) {
  const senders = [];
  let i = 0;
  for (const [master, rooms] of cluster.roomsOnEveryMaster(perShard, prefix)) {
    for (const room of rooms) {
      const c = await new Client(nodes[i % nodes.length], `${prefix}-w${i}`).connect();
      i++;
      await c.join(room);
      const s = new RetryingSender(c, room);
      s.master = master;
      senders.push(s);
    }
  }
  for (const s of senders) s.start(rate);
  return senders;
}

/** Runs `fault()` under the senders' traffic once every room has taken sends;
 *  then waits until every room has taken sends with no gap over 1 s for
 *  1.5 s, at least `minObserveMs` after the fault and at most `observeMs`
 *  (a room not back by then is reported so). `beforeSettle()` runs next (a
 *  supervisor restarting what was killed), then every send is settled and
 *  each room's acknowledged messages are looked up in its history.
 *  Returns per room: its longest window with no send taken, from the fault
 *  to the end of the observation, whether it came back, what it lost; and
 *  the p99 of the time from sending to acknowledgement of sends made in
 *  that span. */
export async function underFault(cluster, senders, fault, { minObserveMs = 5000, observeMs = 20000, beforeSettle = null, settleMs = 30000 } = {}) {
  await waitFor(() => senders.every((s) => s.acked().length >= 10), 'every room to take sends before the fault', 20000);
  const faultAt = Date.now();
  await fault();
  let back = true;
  await waitFor(() => Date.now() - faultAt >= minObserveMs && senders.every((s) => s.flowing(1500, 1000)),
    'every room to take sends again', observeMs).catch(() => { back = false; });
  const end = Date.now();
  const rooms = senders.map((s) => ({
    room: s.room, master: s.master, windowMs: s.longestWindow(faultAt, end), back: back || s.flowing(1500, 1000),
  }));
  await beforeSettle?.();
  const settled = await Promise.all(senders.map((s) => s.settle(settleMs).then(() => true, () => false)));
  const latencies = senders.flatMap((s) => [...s.writes.values()]
    .filter((w) => w.sentAt >= faultAt && w.sentAt <= end && w.ackedAt !== null).map((w) => w.ackedAt - w.sentAt));
  for (const [k, s] of senders.entries()) {
    s.stop();
    const history = new Set(cluster.history(s.room));
    Object.assign(rooms[k], {
      acked: s.acked().length, refused: s.refused, settled: settled[k],
      lost: s.acked().filter((w) => !history.has(w.id)).length,
    });
    s.client.close();
  }
  return { rooms, p99Ms: percentile(latencies, 0.99), faultAt, observedMs: end - faultAt };
}

/** One line per room: its window, what it refused and lost. */
export function describe(rooms) {
  return rooms.map((r) => `${r.room} (shard :${r.master}): longest window ${r.windowMs} ms${r.back ? '' : ' (not back)'}, ` +
    `acknowledged ${r.acked}, refused ${r.refused}, lost ${r.lost}${r.settled ? '' : ', not all settled'}`).join('\n');
}
