// The chaos run's people: clients that stay in one room, reconnect (to the
// next node when theirs is gone, as behind a balancer) and resume with
// `since`, and writers among them that send messages, thread replies, edits
// and reactions, each with a cid, sending it again after `unavailable` or
// silence until it is acknowledged. Every event is kept (lib.mjs's Client),
// and every acknowledgement is timed per room for the refusal windows.

import { Client, WebSocket, compareIds } from '../system/lib.mjs';

const BACKOFF_MIN_MS = 300;
const BACKOFF_MAX_MS = 4000;
const SILENCE_MS = 3000; // a write unanswered this long goes again

export class ChaosClient extends Client {
  /** `nodes`: every node; `home` the index this client prefers. */
  constructor(nodes, home, name, room, rand, stats) {
    super(nodes[home], name);
    this.nodes = nodes; this.home = home; this.room = room; this.rand = rand; this.stats = stats;
    this.running = true; this.joined = false; this.failures = 0; this.joins = 0; this.lastEntry = null;
    this.writes = new Map(); // cid -> { kind, msg, firstAt, lastAt, tries, ackedAt, id, status }
    this.errors = []; this.n = 0; this.joinedAt = 0;
  }
  start() { this.open(); return this; }
  /** The ids of this client's own messages that it sent more than once.
   *  A node answers a retried cid with the stored message, to the sender
   *  alone and at once (PROTOCOL.md), while the room's copy comes in the
   *  room's order: the sender gets it twice, the answer maybe ahead of
   *  older messages still on their way. On the wire the two look alike. */
  retried() {
    const out = new Set();
    for (const w of this.writes.values()) if (w.kind === 'send' && w.id && w.sends > 1) out.add(w.id);
    return out;
  }
  /** The room's message ids in the order received (lib.mjs's Client's
   *  ids()), without this client's own retried messages (see retried()). */
  orderedIds(room) {
    const retried = this.retried();
    return this.ids(room).filter((id) => !retried.has(id));
  }
  open() {
    if (!this.running) return;
    const node = this.nodes[(this.home + this.failures) % this.nodes.length];
    this.node = node;
    const ws = new WebSocket(`ws://${node.host}:${node.port}/ws`, { handshakeTimeout: 3000 });
    this.ws = ws;
    ws.on('message', (data) => {
      const parsed = JSON.parse(data.toString());
      for (const e of Array.isArray(parsed) ? parsed : [parsed]) { this.events.push(e); this.handle(e); }
    });
    ws.on('close', () => {
      if (this.ws !== ws) return;
      this.joined = false;
      if (!this.welcomed) this.failures++;
      this.welcomed = false;
      if (this.running) setTimeout(() => this.open(), this.backoff(Math.min(this.failures, 4))).unref();
    });
    ws.on('error', () => {});
  }
  backoff(tries) { return BACKOFF_MIN_MS + this.rand() * Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** tries); }
  join() {
    this.send({ type: 'join', room: this.room, name: this.name, cid: `j${this.joins++}`, ...(this.lastEntry ? { since: this.lastEntry } : {}) });
  }
  seen(id) { if (!this.lastEntry || compareIds(id, this.lastEntry) > 0) this.lastEntry = id; }
  handle(e) {
    if (e.type === 'welcome') { this.welcomed = true; this.failures = 0; this.join(); return; }
    if (e.room !== undefined && e.room !== this.room) return;
    if (e.type === 'joined') {
      this.joined = true; this.joinedAt = Date.now();
      for (const m of e.history) this.seen(m.id);
      for (const [cid, w] of this.writes) if (w.ackedAt === null && w.status === 'pending') this.transmit(cid);
    } else if (e.type === 'message' || e.type === 'edit' || e.type === 'delete' || (e.type === 'reaction' && !e.unchanged)) {
      this.seen(e.id);
      this.stats.onEntry(this.room, e);
    }
    const w = e.cid !== undefined ? this.writes.get(e.cid) : undefined;
    if (e.type === 'error') {
      if (e.cid?.startsWith('j')) {
        if (e.code === 'unavailable') setTimeout(() => { if (this.welcomed && !this.joined) this.join(); }, this.backoff(2)).unref();
        else this.errors.push(e);
        return;
      }
      if (!w || w.ackedAt !== null) { if (!w) this.errors.push(e); return; }
      if (e.code === 'unavailable') {
        w.tries++;
        clearTimeout(w.timer);
        w.timer = setTimeout(() => this.transmit(e.cid), this.backoff(w.tries));
        w.timer.unref();
      } else if (e.code === 'not_found') {
        w.status = 'not_found'; clearTimeout(w.timer); // a target gone from history: nothing to store
      } else {
        w.status = e.code; clearTimeout(w.timer); this.errors.push(e);
      }
      return;
    }
    if (w && w.ackedAt === null && e.user === this.name &&
      ((w.kind === 'send' && e.type === 'message') || (w.kind === 'edit' && e.type === 'edit') || (w.kind === 'react' && e.type === 'reaction'))) {
      w.ackedAt = Date.now(); w.id = e.id; w.status = 'acked'; w.unchanged = !!e.unchanged;
      clearTimeout(w.timer);
      this.stats.onAck(this.room, w, e);
    }
  }
  transmit(cid) {
    const w = this.writes.get(cid);
    if (!w || w.ackedAt !== null || w.status !== 'pending') return;
    clearTimeout(w.timer);
    w.timer = setTimeout(() => this.transmit(cid), SILENCE_MS);
    w.timer.unref();
    if (!this.joined) return; // sent again on the next joined
    w.lastAt = Date.now();
    w.sends = (w.sends ?? 0) + 1;
    this.send({ ...w.msg, cid });
  }
  /** One write chosen by this client's generator: mostly messages (some in
   *  a thread, some quoting), some edits of its own and reactions. */
  writeOne() {
    const r = this.rand();
    const cid = `${this.name}-${this.n++}`;
    const recent = this.stats.recentRoots(this.room);
    const mine = [...this.writes.values()].filter((w) => w.kind === 'send' && w.id).slice(-20);
    let msg, kind = 'send';
    if (r < 0.1 && mine.length) {
      kind = 'edit'; msg = { type: 'edit', room: this.room, target: this.rand.pick(mine).id, text: `edited ${cid}` };
    } else if (r < 0.2 && recent.length) {
      kind = 'react'; msg = { type: 'react', room: this.room, target: this.rand.pick(recent), emoji: this.rand.pick(['👍', '🎉', '😀']), on: this.rand() < 0.7 };
    } else {
      msg = { type: 'send', room: this.room, text: `text ${cid}` };
      if (r < 0.35 && recent.length) msg.thread = this.rand.pick(recent);
      else if (r < 0.42 && recent.length) msg.reply_to = this.rand.pick(recent);
    }
    this.writes.set(cid, { kind, msg, firstAt: Date.now(), lastAt: 0, tries: 0, ackedAt: null, id: null, status: 'pending' });
    this.transmit(cid);
  }
  /** Writes every `ms` on average (jittered) until stop(). */
  startWriting(ms) {
    const tick = () => {
      if (!this.writing) return;
      this.writeOne();
      this.writeTimer = setTimeout(tick, ms * (0.5 + this.rand()));
      this.writeTimer.unref();
    };
    this.writing = true;
    this.writeTimer = setTimeout(tick, ms * this.rand());
    this.writeTimer.unref();
  }
  stopWriting() { this.writing = false; clearTimeout(this.writeTimer); }
  pending() { return [...this.writes.values()].filter((w) => w.status === 'pending').length; }
  /** Sends every pending write again now (the end's settle). */
  retryPending() { for (const [cid, w] of this.writes) if (w.status === 'pending' && Date.now() - w.lastAt > 1000) this.transmit(cid); }
  close() {
    this.running = false; this.stopWriting();
    for (const w of this.writes.values()) clearTimeout(w.timer);
    this.ws?.terminate();
  }
}

/** What the run learns as it goes: per room, when writes were acknowledged
 *  and the recent messages that may take thread replies and reactions. */
export class Stats {
  constructor() { this.acks = new Map(); this.roots = new Map(); }
  onAck(room, w) {
    if (!this.acks.has(room)) this.acks.set(room, []);
    this.acks.get(room).push(w.ackedAt);
  }
  onEntry(room, e) {
    if (e.type !== 'message' || e.thread) return;
    const list = this.roots.get(room) ?? [];
    if (list.at(-1) && compareIds(e.id, list.at(-1)) <= 0) return; // the same message seen by another member
    list.push(e.id);
    if (list.length > 30) list.shift();
    this.roots.set(room, list);
  }
  recentRoots(room) { return this.roots.get(room) ?? []; }
}
