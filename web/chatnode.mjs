// chatnode client library: the wire protocol of PROTOCOL.md as a standalone
// ES module, for the browser page in this directory and for any other web
// application (or Node, given a WebSocket class). It connects, joins any
// number of rooms, reconnects with backoff and jitter, resumes each room
// with `since`, retries writes with the same `cid` until they are stored,
// keeps each room's messages ordered and de-duplicated by id, applies edits,
// deletes, reactions and read positions, keeps thread roots' reply counts
// and threads live, and reports typed events.
//
//   import { ChatClient } from '/chatnode.mjs';
//   const chat = new ChatClient({ url: 'wss://chat.example/ws', name: 'al' });
//   const lobby = chat.room('lobby');
//   lobby.on('message', ({ message }) => console.log(message.user, message.text));
//   chat.connect();
//   await lobby.send('hello');

const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 15000;
const UNAVAILABLE_TRIES = 6;

/** A pause before try number `tries` + 1: full jitter under a doubling cap. */
function backoff(tries) {
  return Math.random() * Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** tries);
}

/** Compares two ids "<ms>-<seq>" numerically: negative, zero or positive. */
export function compareIds(a, b) {
  const [am, as] = a.split('-'), [bm, bs] = b.split('-');
  if (am.length !== bm.length) return am.length - bm.length;
  if (am !== bm) return am < bm ? -1 : 1;
  if (as.length !== bs.length) return as.length - bs.length;
  return as < bs ? -1 : as > bs ? 1 : 0;
}

/** The names `@name` mentions in a text (names as the node allows them, up
 *  to the next space or punctuation that ends a sentence). */
export function mentionsIn(text) {
  const names = [];
  for (const m of text.matchAll(/(^|[\s(])@([^\s@,.;:!?()]{1,32})/gu)) names.push(m[2]);
  return names;
}

/** A text split into plain runs and `@name` mentions, for rendering as text. */
export function splitMentions(text) {
  const parts = [];
  let last = 0;
  for (const m of text.matchAll(/(^|[\s(])@([^\s@,.;:!?()]{1,32})/gu)) {
    const start = m.index + m[1].length;
    if (start > last) parts.push({ text: text.slice(last, start) });
    parts.push({ text: `@${m[2]}`, mention: m[2] });
    last = start + 1 + m[2].length;
  }
  if (last < text.length) parts.push({ text: text.slice(last) });
  return parts;
}

/** base64url (no padding) of bytes; and back. */
function b64url(bytes) {
  let text = '';
  for (const b of new Uint8Array(bytes)) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
function fromB64url(text) {
  const plain = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(plain, (c) => c.charCodeAt(0));
}

/** The longest wait setTimeout takes as asked. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** (1.2) A JWT's `exp` (seconds), read from its payload; 0 when it has none.
 *  The client only plans its renewal by it: the node checks the token. */
export function tokenExpiry(token) {
  try {
    const exp = JSON.parse(new TextDecoder().decode(fromB64url(String(token).split('.')[1] ?? ''))).exp;
    return Number.isFinite(exp) ? exp : 0;
  } catch {
    return 0;
  }
}

/** A fresh id for a write (a `cid`). */
export function newCid() {
  const c = globalThis.crypto;
  if (c?.randomUUID) return c.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

/** A small event emitter: on(type, fn) returns a function that removes it. */
class Emitter {
  #handlers = new Map();
  on(type, fn) {
    if (!this.#handlers.has(type)) this.#handlers.set(type, new Set());
    this.#handlers.get(type).add(fn);
    return () => this.#handlers.get(type)?.delete(fn);
  }
  emit(type, detail) {
    for (const fn of [...(this.#handlers.get(type) ?? [])]) {
      try { fn({ type, ...detail }); } catch (err) { queueMicrotask(() => { throw err; }); }
    }
  }
}

/** An error the node answered a request with. */
export class ChatError extends Error {
  constructor(event) {
    super(event.reason ?? event.code);
    this.code = event.code;
    this.event = event;
  }
}

/** An HTTP status of a file PUT as the protocol's error code. */
const PUT_ERRORS = { 400: 'bad_request', 404: 'not_found', 413: 'too_large', 429: 'rate_limited', 503: 'unavailable' };
const PUT_REASONS = {
  400: 'the upload was cut short', 404: 'the upload url expired or was used', 413: 'the file is larger than announced',
  503: 'the file store is unavailable',
};

/** PUTs a file's bytes: with XMLHttpRequest where there is one (it reports
 *  progress), else with fetch. Resolves with the node's JSON answer. */
function putFile(url, file, mime, onProgress, signal) {
  const refused = (status, body) => {
    let reason = PUT_REASONS[status] ?? `the upload failed (HTTP ${status})`;
    try { const j = JSON.parse(body); if (j?.reason) reason = j.reason; } catch { /* not JSON */ }
    return new ChatError({ code: PUT_ERRORS[status] ?? (status ? 'unavailable' : 'closed'), reason, status });
  };
  const XHR = globalThis.XMLHttpRequest;
  if (!XHR) {
    return fetch(url, { method: 'PUT', body: file, headers: { 'Content-Type': mime }, signal })
      .catch((err) => { throw signal?.aborted ? new ChatError({ code: 'aborted', reason: 'aborted' }) : new ChatError({ code: 'closed', reason: String(err) }); })
      .then(async (res) => {
        const body = await res.text();
        if (res.status !== 201 && res.status !== 200) throw refused(res.status, body);
        onProgress?.({ loaded: file.size, total: file.size });
        try { return JSON.parse(body); } catch { return {}; }
      });
  }
  return new Promise((resolve, reject) => {
    const xhr = new XHR();
    const onAbort = () => xhr.abort();
    const done = () => signal?.removeEventListener('abort', onAbort);
    xhr.open('PUT', url);
    xhr.setRequestHeader('Content-Type', mime);
    xhr.upload.onprogress = (e) => onProgress?.({ loaded: e.loaded, total: e.lengthComputable ? e.total : file.size });
    xhr.onload = () => {
      done();
      if (xhr.status !== 201 && xhr.status !== 200) { reject(refused(xhr.status, xhr.responseText)); return; }
      onProgress?.({ loaded: file.size, total: file.size });
      try { resolve(JSON.parse(xhr.responseText)); } catch { resolve({}); }
    };
    xhr.onerror = () => { done(); reject(new ChatError({ code: 'closed', reason: 'the upload connection failed' })); };
    xhr.onabort = () => { done(); reject(new ChatError({ code: 'aborted', reason: 'aborted' })); };
    signal?.addEventListener('abort', onAbort, { once: true });
    xhr.send(file);
  });
}

/** A same-origin path under /files/, or null: letters, digits, `-_./` and
 *  percent-escapes (a file's name), never a dot segment, even escaped. */
export function filePath(u) {
  return typeof u === 'string' && /^\/files\/(?:[A-Za-z0-9_\-./~]|%[0-9A-Fa-f]{2})+$/.test(u)
    && !u.includes('..') && !/%2[eEfF]|%5[cC]/.test(u) ? u : null;
}

/** (1.2) A message's link preview as the node sent it, or null: its url only
 *  http(s), its image only a same-origin path under /files/. */
export function previewOf(p) {
  if (!p || typeof p !== 'object' || typeof p.url !== 'string' || !/^https?:\/\//i.test(p.url)) return null;
  const text = (v) => (typeof v === 'string' ? v : '');
  return { url: p.url, title: text(p.title), description: text(p.description), site: text(p.site), image: filePath(p.image) };
}

/** A message's files as the node sent them, keeping only same-origin paths
 *  under /files/ (others are dropped: a url is never followed elsewhere). */
export function filesOf(list) {
  if (!Array.isArray(list)) return [];
  const local = filePath;
  const out = [];
  for (const f of list) {
    if (!f || typeof f !== 'object') continue;
    const url = local(f.url);
    if (!url) continue;
    const n = (v) => (Number.isFinite(v) && v > 0 ? v : null);
    out.push({
      file: String(f.file ?? ''), name: typeof f.name === 'string' && f.name ? f.name : 'file',
      size: Number.isFinite(f.size) ? f.size : 0, mime: typeof f.mime === 'string' ? f.mime : 'application/octet-stream',
      url, width: n(f.width), height: n(f.height), thumb: local(f.thumb),
    });
  }
  return out;
}

/** The newest of two ids, either of which may be null. */
function newestOf(a, b) {
  if (!a) return b;
  if (!b) return a;
  return compareIds(a, b) >= 0 ? a : b;
}

/**
 * One thread of a room (room.thread(root)): its messages oldest first, de-
 * duplicated by id, sharing their objects with the room's, kept live from
 * the room's events; loadOlder() pages back as a room's does. The root's
 * `replies` and `last_reply` are on the root message, when the room holds it.
 * Events: message (a new one in the thread), messages (older ones loaded),
 * change (one of its messages changed), read (the user's follow, read
 * position or unread count in it changed).
 *
 * Following: the user follows a thread they started, replied in or were
 * mentioned in (`followed`); `read` is their position in it (synced over
 * their sessions, as the room's) and `unread` the thread's messages after
 * it. The room lists them (room.followedThreads()).
 */
export class Thread extends Emitter {
  constructor(room, root) {
    super();
    this.room = room;
    this.root = root;
    this.messages = [];
    this.byId = new Map();
    this.more = true;      // until a page says the thread's first message was reached
    this.loadingOlder = null;
    this.followed = false; // the user follows it (the node's `threads`, or what live messages showed)
    this.read = null;      // the newest thread message the user read
    this.unread = 0;
    for (const m of room.messages) if (m.thread === root) this._put(m);
  }

  /** Tells the node (and the user's other sessions) how far the user has
   *  read this thread: its newest message by default. */
  markRead(id = this.messages.at(-1)?.id) {
    if (!this.followed || !id || (this.read && compareIds(id, this.read) <= 0)) return;
    this.room.client._send({ type: 'thread_read', room: this.room.name, root: this.root, id });
  }

  /** A follow and position the node told (`threads` or `thread_read`). */
  _position(read, unread) {
    if (read === null) {
      this.followed = false;
      this.read = null;
      this.unread = 0;
    } else if (!this.read || compareIds(read, this.read) >= 0) {
      this.followed = true;
      this.read = read;
      this.unread = unread;
    }
    this.emit('read', { read: this.read, unread: this.unread, followed: this.followed });
  }

  /** A live message of this thread: who follows now, and what is unread,
   *  by the node's rules (its author, the root's author, those it mentions). */
  _live(message, me) {
    const root = this.room._find(this.root);
    if (message.user === me) {
      this.followed = true;
      this.read = message.id;
      this.unread = 0;
    } else {
      if (!this.followed && (root?.user === me || mentionsIn(message.text).includes(me))) this.followed = true;
      if (this.followed && (!this.read || compareIds(message.id, this.read) > 0)) this.unread += 1;
    }
    this.emit('read', { read: this.read, unread: this.unread, followed: this.followed });
    this.room.emit('threads', { threads: this.room.followedThreads() });
  }

  /** Posts a message in this thread (options as Room.send's). */
  send(text, options = {}) { return this.room.send(text, { ...options, thread: this.root }); }

  /** Loads a page of older messages of the thread; resolves with how many were new. */
  loadOlder(limit = 50) {
    if (!this.more || !this.room.joined) return Promise.resolve(0);
    if (this.loadingOlder) return this.loadingOlder.promise;
    const before = this.messages[0]?.id;
    let resolve;
    const promise = new Promise((r) => { resolve = r; });
    this.loadingOlder = { promise, resolve };
    this.room.client._send({ type: 'thread', room: this.room.name, root: this.root, limit, ...(before ? { before } : {}) });
    return promise;
  }

  /** A message object of the room's (or made from a page): kept once, in id order. */
  _put(message) {
    if (this.byId.has(message.id)) return false;
    let lo = 0, hi = this.messages.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (compareIds(this.messages[mid].id, message.id) < 0) lo = mid + 1; else hi = mid;
    }
    this.messages.splice(lo, 0, message);
    this.byId.set(message.id, message);
    return true;
  }

  /** A `thread` page answering loadOlder(). */
  _page(ev) {
    let added = 0;
    for (const m of ev.messages ?? []) if (this._put(this.room._object(m))) added += 1;
    this.more = Boolean(ev.more);
    this.loadingOlder?.resolve(added);
    this.loadingOlder = null;
    this.emit('messages', { added });
  }
}

/**
 * One room: its messages (as they now are), members, typing, read position.
 * Events: joined, message (a new message), change (a message edited,
 * deleted or reacted to), messages (older ones loaded), presence (someone
 * came or went, or a big room's batch of such changes, or more names
 * loaded), typing, read, threads (the threads the user follows, or their
 * unread counts, changed), error, left.
 *
 * In a big room `members` holds the names loaded so far (the first page,
 * then what loadMembers() adds), kept exact by the node's changes among
 * them; `memberCount` is the room's whole count, `membersMore` whether
 * names are left to load.
 */
export class Room extends Emitter {
  constructor(client, name) {
    super();
    this.client = client;
    this.name = name;
    this.wanted = false;   // the application asked to be in it
    this.joined = false;   // the node said so, on the current connection
    this.messages = [];    // ascending by id: { id, user, text, ts, edited, deleted, reactions, cid, files }
    this.byId = new Map();
    this.more = false;     // older messages exist on the node
    this.members = new Set();
    this.memberCount = 0;
    this.membersMore = false; // a big room: names past those loaded exist
    this.membersAfter = null; // the last name of the last page: where the next starts
    this.loadingMembers = null;
    this.read = null;      // the user's read position, synced over their sessions
    this.unread = 0;
    this.newest = null;    // the newest id received (messages and changes): where a resume starts
    this.loadingOlder = null;
    this.role = '';        // 'moderator' or 'admin' when the user's token says so
    this.peer = null;      // the other user of a direct conversation
    this.joinTries = 0;    // joins the node could not admit in time, in a row
    this.joinTimer = null;
    this.threads = new Map(); // root id -> Thread, made by thread()
  }

  /** The thread of the message `root` (made on first use). */
  thread(root) {
    if (!this.threads.has(root)) this.threads.set(root, new Thread(this, root));
    return this.threads.get(root);
  }

  /** The threads the user follows here, newest reply first. */
  followedThreads() {
    const last = (t) => this._find(t.root)?.last_reply ?? 0;
    return [...this.threads.values()].filter((t) => t.followed).sort((a, b) => last(b) - last(a));
  }

  /** Asks the node which threads the user follows here, with their unread
   *  counts (done on every join; again after a followed thread's delete). */
  refreshThreads() {
    if (this.joined) this.client._send({ type: 'threads', room: this.name });
  }

  /** Enters the room (now, or once connected); resumes after reconnects. */
  join() {
    this.wanted = true;
    if (this.client.connected) this.client._join(this);
    return this;
  }

  /** Leaves the room; pending writes to it are dropped. */
  leave() {
    this.wanted = false;
    this.joined = false;
    this.client._send({ type: 'leave', room: this.name });
    this.client._dropPending(this.name, new ChatError({ code: 'left', reason: 'left the room' }));
    this.emit('left', {});
  }

  /** Posts a message; resolves with the stored message once the node has it.
   *  `options`: the application's own id for it as a string (one is made
   *  when absent), or { cid, replyTo (an id: the message it quotes), thread
   *  (an id: the thread's root, or a message in the thread), files (ids of
   *  files uploaded to this room with upload(), at most 10; `text` may then
   *  be empty) }. */
  send(text, options = {}) {
    const { cid, replyTo, thread, files } = typeof options === 'string' ? { cid: options } : options;
    return this.client._write(this, { type: 'send', room: this.name, text,
      ...(replyTo ? { reply_to: replyTo } : {}), ...(thread ? { thread } : {}),
      ...(files?.length ? { files: [...files] } : {}) }, cid);
  }

  /** Uploads a file (a File or Blob; `name` and `type` are read from it) to
   *  the room's file store, to send in a message with send(text, { files }).
   *  Resolves with { file, size, mime, sha256 } once the node has stored
   *  the bytes. `onProgress({ loaded, total })` follows the upload; aborting
   *  `signal` cancels it. Rejects with a ChatError whose `code` is the
   *  node's (`not_joined`, `too_large`, `forbidden`, `rate_limited`,
   *  `unavailable`, `not_found` for an expired url, `bad_request`), or
   *  `aborted`, or `closed` when not connected. */
  async upload(file, { onProgress, signal, cid = newCid() } = {}) {
    const aborted = () => new ChatError({ code: 'aborted', reason: 'aborted' });
    if (signal?.aborted) throw aborted();
    const name = file.name || 'file';
    const mime = file.type || 'application/octet-stream';
    const ticket = await this.client._upload({ type: 'upload', room: this.name, name, size: file.size, mime, cid }, signal);
    if (signal?.aborted) throw aborted();
    const url = this.client._httpUrl(ticket.url);
    if (!url) throw new ChatError({ code: 'bad_request', reason: 'the node answered an upload url not its own' });
    const stored = await putFile(url, file, mime, onProgress, signal);
    return { file: stored.file ?? ticket.file, size: stored.size ?? file.size, mime: stored.mime ?? mime, sha256: stored.sha256 ?? null };
  }
  edit(id, text) { return this.client._write(this, { type: 'edit', room: this.name, target: id, text }); }
  delete(id) { return this.client._write(this, { type: 'delete', room: this.name, target: id }); }
  react(id, emoji, on = true) {
    return this.client._write(this, { type: 'react', room: this.name, target: id, emoji, on });
  }
  /** Tells the node (and the user's other sessions) how far the user has read. */
  markRead(id = this.lastMessageId()) {
    if (!id || (this.read && compareIds(id, this.read) <= 0)) return;
    this.client._send({ type: 'read', room: this.name, id });
  }
  typing() { if (this.joined) this.client._send({ type: 'typing', room: this.name }); }
  /** Loads the next page of a big room's member names; resolves with how
   *  many were added (0 when none are left or the connection is down). */
  loadMembers(limit = 100) {
    if (!this.membersMore || !this.joined) return Promise.resolve(0);
    if (!this.loadingMembers) {
      let resolve;
      const promise = new Promise((r) => { resolve = r; });
      this.loadingMembers = { promise, resolve };
      this.client._send({ type: 'members', room: this.name, after: this.membersAfter, limit });
    }
    return this.loadingMembers.promise;
  }
  /** Member names in the node's order (the order pages come in). */
  memberNames() { return [...this.members].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)); }
  /** For moderators: mute, unmute, kick, ban or unban a user (seconds: how long). */
  moderate(action, user, seconds) {
    this.client._send({ type: 'moderate', room: this.name, action, user, ...(seconds ? { seconds } : {}) });
  }

  /** Loads a page of older messages; resolves with how many were new. */
  loadOlder(limit = 50) {
    if (!this.more || !this.joined) return Promise.resolve(0);
    if (this.loadingOlder) return this.loadingOlder.promise;
    const before = this.messages[0]?.id;
    let resolve;
    const promise = new Promise((r) => { resolve = r; });
    this.loadingOlder = { promise, resolve };
    this.client._send({ type: 'history', room: this.name, limit, ...(before ? { before } : {}) });
    return promise;
  }

  lastMessageId() { return this.messages.at(-1)?.id ?? null; }
  get(id) { return this.byId.get(id); }
  /** Messages after the read position, by others. */
  unreadMessages() {
    if (!this.read) return [];
    return this.messages.filter((m) => compareIds(m.id, this.read) > 0 && m.user !== this.client.name);
  }

  // -- applying what the node sends ------------------------------------------------

  _seen(id) {
    if (id && (!this.newest || compareIds(id, this.newest) > 0)) this.newest = id;
  }

  /** A message this room or one of its threads holds, by id. */
  _find(id) {
    const have = this.byId.get(id);
    if (have) return have;
    for (const thread of this.threads.values()) if (thread.byId.has(id)) return thread.byId.get(id);
    return undefined;
  }

  /** The one object of a message a snapshot (or page) shows: the one held,
   *  brought up to date, or a new one. `mark`: the newest id the snapshot
   *  reflects, for a thread root's counts. */
  _object(m, mark = this.newest) {
    const have = this._find(m.id);
    if (!have) return Room.#fromWire(m, m.id, mark);
    Object.assign(have, Room.#fromWire(m, have.lastChange, newestOf(mark, have.threadMark)));
    return have;
  }

  /** A message as a snapshot shows it (or a live one): kept once, in id order.
   *  A new one in a thread counts on its root, and joins the thread. */
  _put(m, live, mark) {
    if (this.byId.has(m.id)) {
      if (!live) this._object(m, mark); // a newer snapshot of it
      return null;
    }
    const known = this._find(m.id);
    const message = live && !known ? Room.#fromWire(m, m.id, null) : this._object(m, mark);
    // Follows first: the root's redraw, on its count, shows them.
    if (message.thread && live && !known) this.thread(message.thread)._live(message, this.client.name);
    if (message.thread && !known) this._counted(message);
    let lo = 0, hi = this.messages.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (compareIds(this.messages[mid].id, m.id) < 0) lo = mid + 1; else hi = mid;
    }
    this.messages.splice(lo, 0, message);
    this.byId.set(m.id, message);
    if (message.thread && this.threads.has(message.thread)) {
      const thread = this.threads.get(message.thread);
      if (thread._put(message) && live) thread.emit('message', { message });
    }
    return message;
  }

  /** A thread message first held: its root (if held) counts it, unless the
   *  root's counts already reflect it (a snapshot newer than it). */
  _counted(message) {
    const root = this._find(message.thread);
    if (!root || message.deleted || (root.threadMark && compareIds(message.id, root.threadMark) <= 0)) return;
    root.replies += 1;
    root.last_reply = message.ts;
    root.threadMark = message.id;
    this.emit('change', { message: root, change: { type: 'reply', id: message.id, target: root.id } });
  }

  /** A thread message deleted: its root's counts. A delete newer than what
   *  they reflect says them; an older one (a resume's, behind replies that
   *  came after it) takes off one this client counted. */
  _uncounted(e, counted) {
    const root = this._find(e.thread);
    if (!root) return;
    if (!root.threadMark || compareIds(e.id, root.threadMark) > 0) {
      root.replies = e.replies ?? 0;
      root.last_reply = e.last_reply ?? null;
      root.threadMark = e.id;
    } else if (counted) {
      root.replies = Math.max(0, root.replies - 1);
    } else {
      return;
    }
    this.emit('change', { message: root, change: e });
  }

  static #fromWire(m, lastChange, threadMark) {
    return {
      id: m.id, user: m.user, name: typeof m.name === 'string' ? m.name : null, bot: m.bot === true, text: m.deleted ? '' : m.text, ts: m.ts, cid: m.cid,
      edited: m.edited ?? null, deleted: m.deleted === true,
      reactions: new Map(Object.entries(m.reactions ?? {}).map(([emoji, users]) => [emoji, [...users]])),
      reply_to: m.reply_to ?? null, thread: m.thread ?? null,
      files: m.deleted ? [] : filesOf(m.files),
      preview: m.deleted ? null : previewOf(m.preview),
      replies: m.replies ?? 0, last_reply: m.last_reply ?? null,
      lastChange, threadMark, // the newest id its replies and last_reply reflect
    };
  }

  /** An edit, delete, reaction or preview: applied once, in order, never to a deleted message. */
  _change(e) {
    this._seen(e.id);
    const m = this._find(e.target);
    if (e.type === 'delete' && e.thread && !e.unchanged) {
      this._uncounted(e, Boolean(m && !m.deleted));
      if (this.threads.get(e.thread)?.followed) this.refreshThreads(); // what is unread, the node knows
    }
    if (!m || e.unchanged || m.deleted || compareIds(e.id, m.lastChange) <= 0) return;
    m.lastChange = e.id;
    if (e.type === 'edit') { m.text = e.text; m.edited = e.ts; }
    else if (e.type === 'delete') { m.deleted = true; m.text = ''; m.edited = null; m.reactions = new Map(); m.files = []; m.preview = null; }
    else if (e.type === 'preview') m.preview = previewOf(e);
    else {
      const users = (m.reactions.get(e.emoji) ?? []).filter((u) => u !== e.user);
      if (e.on) users.push(e.user);
      if (users.length) m.reactions.set(e.emoji, users); else m.reactions.delete(e.emoji);
    }
    this.emit('change', { message: m, change: e });
    if (m.thread) this.threads.get(m.thread)?.emit('change', { message: m, change: e });
  }
}

/**
 * A connection to a chatnode, with its rooms.
 * Options: url (ws:// or wss:// of /ws), name, token (when the node wants
 * join tokens), renewToken (1.2: an async function that returns a fresh
 * token for the same user; called before the token expires, and the
 * connection goes on with it), WebSocket (a class; the global one by default).
 * Events: status ({ status: 'connecting' | 'online' | 'offline', retryIn, code }),
 * welcome, token ({ exp }: a fresh token taken), error (errors no request
 * of this client's waits for). Without renewToken, a connection whose token
 * expires is closed by the node (4001) and not opened again: status
 * 'offline' with code 4001, until setToken().
 */
export class ChatClient extends Emitter {
  constructor({ url, name, token = '', renewToken = null, WebSocket: Socket = globalThis.WebSocket } = {}) {
    super();
    if (!Socket) throw new Error('no WebSocket class: pass one as the WebSocket option');
    this.url = url;
    this.name = name;
    this.token = token;
    this.renewToken = renewToken;
    this.renewTimer = null;
    this.Socket = Socket;
    this.rooms = new Map();
    this.pending = new Map();  // cid -> { room, request, resolve, reject, tries, timer }
    this.ws = null;
    this.connected = false;    // welcome received on the current socket
    this.wantOpen = false;
    this.attempt = 0;
    this.timer = null;
    this.node = null;
    this.answers = new Map();  // event type -> resolvers waiting for the answer to a request (rooms, dms)
    this.joining = new Map();  // a join's cid -> its room, until answered
    this.uploads = new Map();  // an upload request's cid -> { resolve, reject }, until answered
    this.asked = new Map();    // (1.2) a push request's cid -> { type, resolve, reject }, until answered
  }

  // -- the token (1.2) ------------------------------------------------------------

  /** Takes a fresh token for the same user: the node is told at once (an
   *  `auth` request), and a connection closed at expiry opens again. */
  async setToken(token) {
    this.token = token;
    this.#planRenewal();
    if (this.connected) {
      const answer = await this.#request({ type: 'auth', token }, 'auth');
      this.emit('token', { exp: answer.exp });
      return answer.exp;
    }
    if (this.wantOpen && !this.ws) this.reconnectNow();
    return tokenExpiry(token);
  }

  /** Renews the token a while before it expires: a fifth of what is left,
   *  a minute at most. */
  #planRenewal() {
    clearTimeout(this.renewTimer);
    const exp = tokenExpiry(this.token);
    if (!this.renewToken || !exp || !this.wantOpen) return;
    const left = exp * 1000 - Date.now();
    const wait = Math.max(0, left - Math.min(60000, left / 5));
    // Timers wait at most 2^31 - 1 ms (24.8 days; a longer one fires at
    // once): a token that lasts longer is planned again then.
    this.renewTimer = wait > MAX_TIMER_MS ? setTimeout(() => this.#planRenewal(), MAX_TIMER_MS)
      : setTimeout(() => this.#renew(), wait);
  }

  async #renew() {
    try {
      await this.setToken(await this.renewToken());
    } catch (error) {
      // Tried again shortly while the old token lasts; the node closes the
      // connection at its expiry otherwise.
      const exp = tokenExpiry(this.token);
      if (exp && exp * 1000 > Date.now() + 2000) {
        clearTimeout(this.renewTimer);
        this.renewTimer = setTimeout(() => this.#renew(), Math.min(10000, (exp * 1000 - Date.now()) / 2));
      }
      this.emit('error', { code: 'unauthorized', reason: `the token could not be renewed: ${error?.message ?? error}` });
    }
  }

  // -- push notifications (1.2) ------------------------------------------------

  /** Sends a request with a cid of its own; resolves with the event of
   *  `answerType` that carries it, rejects with its error (a ChatError). */
  #request(request, answerType) {
    return new Promise((resolve, reject) => {
      const cid = newCid();
      this.asked.set(cid, { type: answerType, resolve, reject });
      if (!this._send({ ...request, cid })) {
        this.asked.delete(cid);
        reject(new ChatError({ code: 'closed', reason: 'not connected' }));
      }
    });
  }

  /** The deployment's VAPID public key (base64url), for pushManager.subscribe. */
  async pushKey() { return (await this.#request({ type: 'push_key' }, 'push_key')).key; }

  /** Subscribes this browser to pushes for the user (join tokens only): with
   *  the page's service worker `registration`, asks the browser for a push
   *  subscription bound to the deployment's key (the browser may ask the
   *  user) and gives it to the node. Resolves with the PushSubscription;
   *  rejects where push is unavailable (no service worker or PushManager,
   *  permission denied, push off on the node: a ChatError `unavailable`). */
  async enablePush(registration) {
    if (!registration?.pushManager) throw new ChatError({ code: 'unavailable', reason: 'this browser cannot receive pushes' });
    const key = await this.pushKey();
    let subscription = await registration.pushManager.getSubscription();
    const bound = subscription?.options?.applicationServerKey;
    if (subscription && bound && b64url(bound) !== key) {
      await subscription.unsubscribe(); // made for another deployment's key
      subscription = null;
    }
    subscription ??= await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: fromB64url(key) });
    const { endpoint, keys } = subscription.toJSON();
    await this.#request({ type: 'push_subscribe', endpoint, keys: { p256dh: keys.p256dh, auth: keys.auth } }, 'push_subscribed');
    return subscription;
  }

  /** Stops pushes to this browser: the node forgets its subscription, and
   *  the browser drops it. */
  async disablePush(registration) {
    const subscription = await registration?.pushManager?.getSubscription();
    if (!subscription) return;
    await this.#request({ type: 'push_unsubscribe', endpoint: subscription.endpoint }, 'push_unsubscribed');
    await subscription.unsubscribe();
  }

  /** The user's notification level in every room they set one: { room: level }. */
  async notifyLevels() { return (await this.#request({ type: 'notify_levels' }, 'notify_levels')).levels ?? {}; }

  /** Sets the user's level in a room: all, mentions or none. Every session of
   *  theirs hears a `notify` event. */
  setNotifyLevel(room, level) { return this._send({ type: 'notify', room, level }); }

  /** An `upload` request: resolves with the node's answer ({ file, url }),
   *  matched by cid; rejects with its error. */
  _upload(request, signal) {
    return new Promise((resolve, reject) => {
      const onAbort = () => { this.uploads.delete(request.cid); reject(new ChatError({ code: 'aborted', reason: 'aborted' })); };
      const settle = (fn) => (v) => { signal?.removeEventListener('abort', onAbort); this.uploads.delete(request.cid); fn(v); };
      this.uploads.set(request.cid, { resolve: settle(resolve), reject: settle(reject) });
      signal?.addEventListener('abort', onAbort, { once: true });
      if (!this._send(request)) this.uploads.get(request.cid).reject(new ChatError({ code: 'closed', reason: 'not connected' }));
    });
  }

  /** A path the node gave (an upload url) as an absolute http(s) URL of the
   *  node this client is connected to; null unless it is a path of its own. */
  _httpUrl(path) {
    if (!filePath(path)) return null;
    const base = new URL(this.url, globalThis.location?.href);
    base.protocol = base.protocol === 'wss:' ? 'https:' : base.protocol === 'ws:' ? 'http:' : base.protocol;
    return new URL(path, base).href;
  }

  /** A page of the room directory: { rooms, next }; with watch, room_update events follow. */
  directory({ cursor, limit, watch } = {}) {
    return this.#ask({ type: 'rooms', ...(cursor ? { cursor } : {}), ...(limit ? { limit } : {}), ...(watch ? { watch } : {}) }, 'rooms');
  }

  /** Archived messages of a joined room that hold every word of `query`,
   *  newest first: { messages, more }; `before` (an id) pages further back.
   *  Rejects with a ChatError: `unavailable` (no archive, or it is away),
   *  `not_joined`, `forbidden`, `bad_request`. */
  search(room, query, { before, limit } = {}) {
    return this.#ask({ type: 'search', room, query, ...(before ? { before } : {}), ...(limit ? { limit } : {}) }, 'search');
  }

  /** (1.2) The slash commands the node knows: [{ name, description, usage,
   *  rooms? }] (no rooms: every room). `send('/name args')` in a room calls
   *  one and resolves with its `command` event: `text` for the caller
   *  alone, or `id` of the message its bot posted; "//" sends a message
   *  that starts with "/". */
  async commands() { return (await this.#request({ type: 'commands' }, 'commands')).commands ?? []; }

  /** The user's direct conversations: [{ room, peer }] (join tokens only). */
  async conversations() { return (await this.#ask({ type: 'dms' }, 'dms')).conversations; }

  /** Opens the direct conversation with another user; resolves with its Room, joined. */
  dm(user) {
    return new Promise((resolve, reject) => {
      const waiting = this.answers.get('dm') ?? [];
      waiting.push({ user, resolve, reject });
      this.answers.set('dm', waiting);
      if (!this._send({ type: 'dm', user })) reject(new ChatError({ code: 'closed', reason: 'not connected' }));
    });
  }

  #ask(request, answerType) {
    return new Promise((resolve, reject) => {
      const waiting = this.answers.get(answerType) ?? [];
      waiting.push({ resolve, reject });
      this.answers.set(answerType, waiting);
      if (!this._send(request)) {
        waiting.pop();
        reject(new ChatError({ code: 'closed', reason: 'not connected' }));
      }
    });
  }

  #answer(type, value) {
    const waiting = this.answers.get(type);
    const next = waiting?.shift();
    if (next) next.resolve(value);
    return Boolean(next);
  }

  /** The room of that name (made on first use; join() enters it). */
  room(name) {
    if (!this.rooms.has(name)) this.rooms.set(name, new Room(this, name));
    return this.rooms.get(name);
  }

  connect() {
    this.wantOpen = true;
    if (!this.ws) this.#open();
    return this;
  }

  /** Closes for good: no reconnect; pending writes fail. */
  close() {
    this.wantOpen = false;
    clearTimeout(this.timer);
    clearTimeout(this.renewTimer);
    const ws = this.ws;
    this.ws = null;
    this.connected = false;
    ws?.close(1000);
    for (const cid of [...this.pending.keys()]) this.#fail(cid, new ChatError({ code: 'closed', reason: 'the client was closed' }));
    for (const u of [...this.uploads.values()]) u.reject(new ChatError({ code: 'closed', reason: 'the client was closed' }));
  }

  /** Reconnects at once (say, when the page is shown again) instead of waiting out the backoff. */
  reconnectNow() {
    if (this.wantOpen && !this.ws) { clearTimeout(this.timer); this.#open(); }
  }

  #open() {
    this.emit('status', { status: 'connecting', attempt: this.attempt });
    let ws;
    try { ws = new this.Socket(this.url); } catch { this.#scheduleReconnect(1006); return; }
    this.ws = ws;
    ws.onmessage = (e) => {
      if (this.ws !== ws) return;
      let data;
      try { data = JSON.parse(typeof e.data === 'string' ? e.data : e.data.toString()); } catch { return; }
      for (const ev of Array.isArray(data) ? data : [data]) if (ev && typeof ev === 'object') this.#handle(ev);
    };
    ws.onclose = (e) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.connected = false;
      this.joining.clear();
      for (const room of this.rooms.values()) {
        room.joined = false;
        clearTimeout(room.joinTimer);
        if (room.loadingOlder) { room.loadingOlder.resolve(0); room.loadingOlder = null; }
        for (const t of room.threads.values()) { t.loadingOlder?.resolve(0); t.loadingOlder = null; }
      }
      for (const u of [...this.uploads.values()]) u.reject(new ChatError({ code: 'closed', reason: 'the connection was lost' }));
      if (e.code === 4001 && !this.renewToken) {
        // The token expired: a new connection with it would be refused too.
        this.emit('status', { status: 'offline', code: 4001, reason: 'token expired' });
        return;
      }
      if (this.wantOpen) this.#scheduleReconnect(e.code);
    };
    ws.onerror = () => {};
  }

  #scheduleReconnect(code) {
    // 1012 and 1001: the node is draining and others are up; come back soon,
    // with jitter so that not everyone comes at once. Else full jitter.
    const soon = (code === 1012 || code === 1001) && this.attempt === 0;
    const delay = soon ? 50 + Math.random() * 450 : backoff(this.attempt);
    this.attempt += 1;
    this.emit('status', { status: 'offline', retryIn: delay, code });
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.#open(), delay);
  }

  _send(obj) {
    if (this.ws && this.connected && this.ws.readyState === 1) { this.ws.send(JSON.stringify(obj)); return true; }
    return false;
  }

  _join(room) {
    const since = room.newest;
    const cid = newCid(); // its refusal carries it: which room was refused
    if (this._send({ type: 'join', room: room.name, name: this.name, cid, ...(since ? { since } : {}),
      ...(this.token ? { token: this.token } : {}) })) this.joining.set(cid, room);
  }

  /** A write (send, edit, delete, react): sent now or once joined, again with
   *  the same cid after a reconnect; settled by its echo or its error. */
  _write(room, request, cid = newCid()) {
    return new Promise((resolve, reject) => {
      this.pending.set(cid, { room: room.name, request: { ...request, cid }, resolve, reject, tries: 0, timer: null });
      if (room.joined) this._send({ ...request, cid });
    });
  }

  _dropPending(roomName, error) {
    for (const [cid, p] of [...this.pending]) if (p.room === roomName) this.#fail(cid, error);
  }

  #settle(e) {
    if (!e.cid || e.user !== this.name) return;
    const p = this.pending.get(e.cid);
    if (!p) return;
    clearTimeout(p.timer);
    this.pending.delete(e.cid);
    p.resolve(e);
  }

  #fail(cid, error) {
    const p = this.pending.get(cid);
    if (!p) return;
    clearTimeout(p.timer);
    this.pending.delete(cid);
    p.reject(error);
  }

  #handle(ev) {
    const asked = ev.cid && ev.type !== 'error' ? this.asked.get(ev.cid) : undefined;
    if (asked?.type === ev.type) {
      this.asked.delete(ev.cid);
      asked.resolve(ev);
      return;
    }
    const room = typeof ev.room === 'string' ? this.rooms.get(ev.room) : undefined;
    switch (ev.type) {
      case 'welcome':
        this.connected = true;
        this.node = ev.node;
        // A node that takes uploads says so, with its limit; else null.
        this.files = ev.files && typeof ev.files === 'object' ? ev.files : null;
        this.emit('welcome', { node: ev.node, session: ev.session, auth: ev.auth, files: this.files });
        // A token that expired while away is renewed before the joins.
        if (this.renewToken && tokenExpiry(this.token) && tokenExpiry(this.token) * 1000 < Date.now() + 2000) {
          Promise.resolve().then(() => this.renewToken()).then((token) => { this.token = token; }, () => {})
            .finally(() => { this.#planRenewal(); for (const r of this.rooms.values()) if (r.wanted) this._join(r); });
          break;
        }
        this.#planRenewal();
        for (const r of this.rooms.values()) if (r.wanted) this._join(r);
        break;
      case 'joined': {
        let target = room;
        if (!target && ev.dm) { // a direct conversation this client opened
          target = this.room(ev.room);
          target.wanted = true;
        }
        if (!target || !target.wanted) break;
        this.#joined(target, ev);
        break;
      }
      case 'rooms':
        this.#answer('rooms', { rooms: ev.rooms ?? [], next: ev.next ?? null });
        break;
      case 'room_update':
        this.emit('room_update', { room: ev.room, members: ev.members, last_ts: ev.last_ts });
        break;
      case 'dms':
        this.#answer('dms', ev);
        break;
      case 'notify':
        this.emit('notify', { room: ev.room, level: ev.level });
        break;
      case 'conversation':
        this.emit('conversation', { room: ev.room, peer: ev.peer });
        break;
      case 'moderation':
        if (!room) break;
        room._seen(ev.id);
        room.emit('moderation', { event: ev });
        break;
      case 'kicked':
        if (!room) break;
        room.wanted = false;
        room.joined = false;
        this._dropPending(room.name, new ChatError({ code: 'kicked', reason: `put out by ${ev.by}` }));
        room.emit('kicked', { by: ev.by });
        break;
      case 'message': {
        if (!room) break;
        room._seen(ev.id);
        const added = room._put(ev, true);
        this.#settle(ev);
        if (added) {
          // Live messages by others count as unread, also where nothing was marked read yet.
          if (ev.user !== this.name) room.unread += 1;
          room.emit('message', { message: added, mine: ev.user === this.name });
        }
        break;
      }
      case 'edit': case 'delete': case 'reaction': case 'preview':
        if (!room) break;
        room._change(ev);
        this.#settle(ev);
        break;
      case 'command': {
        // (1.2) What became of a slash command this client sent: it settles the send.
        const p = ev.cid ? this.pending.get(ev.cid) : undefined;
        if (!p) break;
        clearTimeout(p.timer);
        this.pending.delete(ev.cid);
        p.resolve(ev);
        room?.emit('command', { event: ev });
        break;
      }
      case 'thread':
        room?.threads.get(ev.root)?._page(ev);
        break;
      case 'history': {
        if (!room) break;
        let added = 0;
        const mark = (ev.messages ?? []).reduce((a, m) => newestOf(a, m.id), room.newest);
        for (const m of ev.messages ?? []) if (room._put(m, false, mark)) added += 1;
        room.more = Boolean(ev.more);
        room.loadingOlder?.resolve(added);
        room.loadingOlder = null;
        room.emit('messages', { added });
        break;
      }
      case 'presence':
        if (!room) break;
        if (ev.event === 'join') room.members.add(ev.user); else room.members.delete(ev.user);
        room.memberCount = ev.count ?? room.members.size;
        room.emit('presence', { user: ev.user, event: ev.event, members: [...room.members] });
        break;
      case 'presence_diff':
        // A big room's changes of an interval, among the names this client holds.
        if (!room) break;
        if (typeof ev.upto === 'string') {
          // This client holds the room's first page, which ends here now.
          for (const name of room.members) if (name > ev.upto) room.members.delete(name);
          room.membersMore = true;
          room.membersAfter = ev.upto;
        }
        for (const name of ev.leaves ?? []) room.members.delete(name);
        for (const name of ev.joins ?? []) room.members.add(name);
        room.memberCount = ev.count ?? room.members.size;
        if (room.members.size >= room.memberCount) room.membersMore = false; // holds every name
        room.emit('presence', { joins: ev.joins ?? [], leaves: ev.leaves ?? [], members: [...room.members] });
        break;
      case 'members': {
        if (!room) break;
        const names = ev.members ?? [];
        for (const name of names) room.members.add(name);
        if (names.length) room.membersAfter = names.at(-1);
        room.membersMore = Boolean(ev.more);
        room.memberCount = ev.count ?? room.members.size;
        room.loadingMembers?.resolve(names.length);
        room.loadingMembers = null;
        room.emit('presence', { loaded: names, members: [...room.members] });
        break;
      }
      case 'typing':
        if (room && ev.user !== this.name) room.emit('typing', { user: ev.user });
        break;
      case 'threads':
        if (!room) break;
        {
          const listed = new Map((ev.threads ?? []).map((t) => [t.root, t]));
          for (const t of room.threads.values()) if (t.followed && !listed.has(t.root)) t._position(null, 0);
          for (const [root, t] of listed) {
            const thread = room.thread(root);
            // A position the user has not read into yet is a follow with nothing read.
            thread.followed = true;
            if (t.read === null) { thread.read = null; thread.unread = t.unread ?? 0; thread.emit('read', { read: null, unread: thread.unread, followed: true }); }
            else thread._position(t.read, t.unread ?? 0);
          }
          room.emit('threads', { threads: room.followedThreads() });
        }
        break;
      case 'thread_read':
        if (!room || typeof ev.root !== 'string') break;
        room.thread(ev.root)._position(ev.id ?? null, ev.unread ?? 0);
        room.emit('threads', { threads: room.followedThreads() });
        break;
      case 'read':
        if (!room) break;
        if (!room.read || compareIds(ev.id, room.read) >= 0) { room.read = ev.id; room.unread = ev.unread; }
        room.emit('read', { read: room.read, unread: room.unread });
        break;
      case 'upload': {
        const u = ev.cid ? this.uploads.get(ev.cid) : undefined;
        if (u) u.resolve({ file: ev.file, url: ev.url, room: ev.room });
        break;
      }
      case 'search':
        this.#answer('search', { room: ev.room, query: ev.query, messages: ev.messages ?? [], more: Boolean(ev.more) });
        break;
      case 'error':
        this.#error(ev);
        break;
      default:
        break; // event types of later versions
    }
  }

  #joined(room, ev) {
    room.joined = true;
    room.joinTries = 0;
    for (const [cid, r] of this.joining) if (r === room) this.joining.delete(cid);
    room.role = ev.role ?? '';
    room.peer = ev.dm ? ev.peer : null;
    this.attempt = 0;
    this.emit('status', { status: 'online' });
    const first = room.messages.length === 0;
    if (first) room.more = Boolean(ev.more);
    room.members = new Set(ev.members ?? []);
    room.memberCount = ev.count ?? room.members.size;
    room.membersMore = Boolean(ev.members_more);
    room.membersAfter = ev.members?.length ? ev.members.at(-1) : null;
    room.loadingMembers?.resolve(0); // a page asked on an earlier connection is not coming
    room.loadingMembers = null;
    // Roots in the snapshot reflect everything up to its newest message.
    const mark = (ev.history ?? []).reduce((a, m) => newestOf(a, m.id), null);
    for (const m of ev.history ?? []) { room._put(m, false, mark); room._seen(m.id); }
    if ('read' in ev) { room.read = ev.read; room.unread = ev.unread ?? 0; }
    room.emit('joined', { members: [...room.members], read: room.read, unread: room.unread });
    room.refreshThreads();
    // Writes not yet acknowledged go again, with the same cid: the node stores each once.
    for (const p of this.pending.values()) if (p.room === room.name) this._send(p.request);
    if (ev.dm) {
      const waiting = this.answers.get('dm') ?? [];
      const i = waiting.findIndex((w) => w.user === ev.peer);
      if (i >= 0) waiting.splice(i, 1)[0].resolve(room);
    }
  }

  #error(ev) {
    const asked = ev.cid ? this.asked.get(ev.cid) : undefined;
    if (asked) { this.asked.delete(ev.cid); asked.reject(new ChatError(ev)); return; }
    const upload = ev.cid ? this.uploads.get(ev.cid) : undefined;
    if (upload) { upload.reject(new ChatError(ev)); return; }
    const joining = ev.cid ? this.joining.get(ev.cid) : undefined;
    if (joining) {
      this.joining.delete(ev.cid);
      if (ev.code === 'unavailable' && joining.wanted && !joining.joined) {
        // The node could not admit the join in time (Redis slow, or a storm
        // of joins): again, backing off, for as long as the room is wanted.
        joining.joinTries += 1;
        clearTimeout(joining.joinTimer);
        joining.joinTimer = setTimeout(() => {
          if (joining.wanted && !joining.joined && this.connected) this._join(joining);
        }, backoff(joining.joinTries));
        return;
      }
      // Other refusals (a bad name, a token) are the client's to show.
      this.emit('error', { code: ev.code, reason: ev.reason, room: joining.name, error: new ChatError(ev) });
      return;
    }
    const p = ev.cid ? this.pending.get(ev.cid) : undefined;
    // A dm refused (no tokens, not signed in yet) answers the oldest dm waiting.
    if (!ev.cid && ['forbidden', 'bad_request'].includes(ev.code) && this.answers.get('dm')?.length
        && /direct|token first|another user/.test(ev.reason ?? '')) {
      this.answers.get('dm').shift().reject(new ChatError(ev));
      return;
    }
    // A search refused answers the oldest search waiting (searches carry no cid).
    if (!ev.cid && this.answers.get('search')?.length && /search|query|limit|before|party|banned|forbidden/.test(ev.reason ?? '')) {
      this.answers.get('search').shift().reject(new ChatError(ev));
      return;
    }
    // A history page the node could not read (the archive, or the bus, is
    // away): the rooms waiting for older messages stop waiting, still with
    // `more`, and may ask again.
    if (!ev.cid && ev.code === 'unavailable' && /older messages|history|thread/.test(ev.reason ?? '')) {
      for (const r of this.rooms.values()) {
        if (r.loadingOlder) { r.loadingOlder.resolve(0); r.loadingOlder = null; }
        for (const t of r.threads.values()) { t.loadingOlder?.resolve(0); t.loadingOlder = null; }
      }
    }
    if (p && ev.code === 'unavailable' && p.tries < UNAVAILABLE_TRIES) {
      // Stored nowhere: the same cid again, backing off.
      p.tries += 1;
      clearTimeout(p.timer);
      p.timer = setTimeout(() => this._send(p.request), backoff(p.tries));
      return;
    }
    if (p) { this.#fail(ev.cid, new ChatError(ev)); return; }
    if (ev.code === 'not_joined') {
      // The node forgot a room this client is in (say, it answered a join
      // with unavailable): join again.
      for (const r of this.rooms.values()) if (r.wanted && !r.joined) this._join(r);
    }
    const room = typeof ev.room === 'string' ? this.rooms.get(ev.room) : undefined;
    (room ?? this).emit('error', { code: ev.code, reason: ev.reason, error: new ChatError(ev) });
  }
}
