// chatnode browser page: rendering and user actions only. Everything the
// protocol needs (connection, rooms, resume, retries, ordering, edits,
// reactions, read positions) is the client library's (chatnode.mjs). User
// text is only ever set as textContent, never parsed as HTML.

import { ChatClient, compareIds, mentionsIn, newCid } from './chatnode.mjs';
import { parseMessage } from './format.mjs';

const $ = (id) => document.getElementById(id);
const el = {
  joinView: $('join-view'), joinForm: $('join-form'), name: $('name'), room: $('room'),
  tokenField: $('token-field'), token: $('token'), joinError: $('join-error'),
  chatView: $('chat-view'), roomList: $('room-list'), addRoomForm: $('add-room-form'), addRoom: $('add-room'),
  askNotify: $('ask-notify'), askNotifyText: $('ask-notify-text'), notifyYes: $('notify-yes'), notifyNo: $('notify-no'),
  notifyLevel: $('notify-level'),
  liftForm: $('lift-form'), liftUser: $('lift-user'),
  browse: $('browse'), directory: $('directory'), directoryList: $('directory-list'), directoryMore: $('directory-more'),
  roomTitle: $('room-title'), status: $('status'), leave: $('leave'), membersToggle: $('members-toggle'),
  memberCount: $('member-count'), memberCountShort: $('member-count-short'), members: $('members'),
  memberList: $('member-list'), log: $('log'), historyNote: $('history-note'), messages: $('messages'),
  typing: $('typing'), notice: $('notice'), composer: $('composer'), message: $('message'),
  commandMenu: $('command-menu'),
  replyBar: $('reply-bar'), replyTo: $('reply-to'), replyCancel: $('reply-cancel'),
  threadPane: $('thread-pane'), threadClose: $('thread-close'), threadRoot: $('thread-root'),
  threadNote: $('thread-note'), threadMessages: $('thread-messages'), threadComposer: $('thread-composer'),
  threadMessage: $('thread-message'),
  searchForm: $('search-form'), search: $('search'), searchResults: $('search-results'), searchTitle: $('search-title'),
  searchList: $('search-list'), searchMore: $('search-more'), searchClose: $('search-close'),
  attach: $('attach'), attachInput: $('attach-input'), attachments: $('attachments'), dropHint: $('drop-hint'),
  lightbox: $('lightbox'), lightboxImg: $('lightbox-img'), lightboxCaption: $('lightbox-caption'),
  lightboxPrev: $('lightbox-prev'), lightboxNext: $('lightbox-next'), lightboxClose: $('lightbox-close'),
  lightboxDownload: $('lightbox-download'),
};

const ROOM_RE = /^[A-Za-z0-9_.-]{1,64}$/;
const REACTIONS = ['👍', '❤️', '😂', '🎉', '😮', '😢'];
const TYPING_EVERY_MS = 2000;   // send `typing` at most this often
const TYPING_SHOWN_MS = 4000;   // hide someone's indicator after this long
const MAX_FILES = 10;           // files in one message
const IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);
const THUMB_MAX = 320;          // a thumbnail's longer side

const store = {
  get(key, fallback = '') { try { return localStorage.getItem(key) ?? fallback; } catch { return fallback; } },
  set(key, value) { try { localStorage.setItem(key, value); } catch { /* storage may be disabled */ } },
};

const page = {
  client: null,
  commands: [],           // (1.2) the node's slash commands, offered as one types "/"
  tokenUrl: '',           // (1.2) the backend that gives fresh tokens (?token_url=); empty: none
  commandPick: 0,         // the highlighted one in the menu
  name: '',
  token: '',
  current: null,          // the Room shown
  order: [],              // room names, in the switcher's order
  pending: new Map(),     // cid -> { room, text, li }
  typers: new Map(),      // user -> timeout, for the current room
  lastTypingSent: 0,
  everJoined: false,      // some room was joined since the form was sent
  listedConversations: false, // the user's direct conversations were asked for
  hiddenCount: 0,         // messages arrived while the tab was hidden (title count)
  divider: new Map(),     // room -> id of the first unread message when it was opened
  editing: null,          // id of the message being edited
  replyTo: null,          // id of the message the next send quotes
  thread: null,           // the Thread open in the side pane
  flash: null,            // id of the message marked a moment (gone to)
  attachments: [],        // files being uploaded or uploaded for the next message: see attachFiles()
  lightbox: null,         // { images, at, back }: the images of the room shown, which, and the focus to give back
  worker: null,           // (1.2) the service worker's registration, where the browser has one
  pushOn: false,          // this browser's push subscription was given to the node on this connection
  levels: null,           // (1.2) room -> the user's notification level, once read (join tokens only)
};

// -- rendering helpers ---------------------------------------------------------

function timeOf(ts) {
  const d = new Date(ts);
  const time = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  if (d.toDateString() === new Date().toDateString()) return time;
  return `${d.toLocaleDateString([], { month: 'short', day: 'numeric' })}, ${time}`;
}

function hueOf(name) {
  let h = 0;
  for (const ch of name) h = (h * 31 + ch.codePointAt(0)) >>> 0;
  return h % 360;
}

function make(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function button(label, className, onClick, title) {
  const b = make('button', className, label);
  b.type = 'button';
  if (title) { b.title = title; b.setAttribute('aria-label', title); }
  b.addEventListener('click', onClick);
  return b;
}

/** Inline tokens (format.mjs) as elements: text nodes, <mark>s, <code>,
 *  <strong>, <em>, <s> and links that open apart from the page. */
function appendInline(parent, tokens) {
  for (const t of tokens) {
    if (t.type === 'text') parent.append(document.createTextNode(t.text));
    else if (t.type === 'mention') parent.append(make('mark', t.name === page.name ? 'mention me' : 'mention', t.text));
    else if (t.type === 'code') parent.append(make('code', '', t.text));
    else if (t.type === 'link') {
      const a = make('a', '', t.text);
      a.href = t.href;
      a.target = '_blank';
      a.rel = 'noopener noreferrer nofollow';
      parent.append(a);
    } else {
      const node = make(t.type === 'strike' ? 's' : t.type);
      appendInline(node, t.children);
      parent.append(node);
    }
  }
}

/** A message's text as typed, formatted: blocks of text, quotes and code. */
function formattedText(text) {
  const body = make('div', 'text');
  for (const block of parseMessage(text)) {
    if (block.type === 'code') {
      const pre = make('pre');
      pre.append(make('code', '', block.text));
      body.append(pre);
    } else if (block.type === 'quote') {
      const quote = make('blockquote');
      appendInline(quote, block.inline);
      body.append(quote);
    } else {
      const run = make('span');
      appendInline(run, block.inline);
      body.append(run);
    }
  }
  return body;
}

function setStatus(text, kind = '') {
  if (el.status.textContent !== text) el.status.textContent = text;
  el.status.className = 'status' + (kind ? ' ' + kind : '');
}

let noticeTimer = null;
function notice(text) {
  el.notice.textContent = text;
  el.notice.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => { el.notice.hidden = true; }, 5000);
}

function updateTitle() {
  const base = page.current ? `# ${page.current.name} · chatnode` : 'chatnode';
  document.title = page.hiddenCount > 0 ? `(${page.hiddenCount}) ${base}` : base;
}

function nearBottom() {
  return el.log.scrollHeight - el.log.scrollTop - el.log.clientHeight < 80;
}

// -- the message list ----------------------------------------------------------

/** Fills an <li> from a message as it now is; `inThread`: in the thread pane. */
function fillMessage(li, m, inThread = false) {
  const mine = m.user === page.name;
  li.className = 'msg' + (mine ? ' mine' : '') + (m.deleted ? ' deleted' : '')
    + (!m.deleted && mentionsIn(m.text).includes(page.name) && !mine ? ' mentions-me' : '')
    + (page.flash === m.id ? ' flash' : '');
  li.dataset.id = m.id;
  li.tabIndex = -1;
  const meta = make('div', 'meta');
  // (1.2) The name the author's token gave is shown; who they are is its title.
  const who = make('span', 'user', m.name ?? m.user);
  if (m.name && m.name !== m.user) who.title = m.user;
  who.style.setProperty('--hue', String(hueOf(m.user)));
  const when = make('time', '', timeOf(m.ts));
  when.dateTime = new Date(m.ts).toISOString();
  when.title = new Date(m.ts).toLocaleString();
  meta.append(who);
  if (m.bot) {
    const badge = make('span', 'bot-badge', 'bot');
    badge.title = `${m.user} is a bot`;
    meta.append(badge);
  }
  meta.append(when);
  if (m.edited && !m.deleted) {
    const mark = make('span', 'edited', '(edited)');
    mark.title = `edited ${new Date(m.edited).toLocaleString()}`;
    meta.append(mark);
  }
  if (m.deleted) {
    li.replaceChildren(meta, make('div', 'text tombstone', 'This message was deleted'));
    return;
  }
  const parts = [meta];
  if (m.reply_to) parts.push(quoteOf(m.reply_to));
  if (page.editing === m.id) parts.push(editor(m));
  else if (m.text || !m.files?.length) parts.push(formattedText(m.text));
  if (m.files?.length) parts.push(messageFiles(m));
  if (m.preview && page.editing !== m.id) parts.push(previewCard(m.preview));
  const reactions = make('div', 'reactions');
  for (const [emoji, users] of m.reactions) {
    const chip = button(`${emoji} ${users.length}`, 'chip', () => page.current.react(m.id, emoji, !users.includes(page.name)).catch(failed),
      `${emoji} ${users.join(', ')}`);
    chip.setAttribute('aria-pressed', String(users.includes(page.name)));
    chip.title = users.join(', ');
    reactions.append(chip);
  }
  parts.push(reactions);
  if (!inThread && m.replies > 0) parts.push(threadSummary(m));
  parts.push(actions(m, mine, inThread));
  li.replaceChildren(...parts);
}

/** The first line of a message, shortened, for quotes. */
function firstLine(text) {
  const line = text.split('\n').find((l) => l.trim()) ?? '';
  return line.length > 120 ? `${line.slice(0, 119)}…` : line;
}

/** A message for quotes: its first line, or (with files only) their names. */
function summaryOf(m) {
  const line = firstLine(m.text ?? '');
  if (line || !m.files?.length) return line;
  return firstLine(`📎 ${m.files.map((f) => f.name).join(', ')}`);
}

/** A reply's quote of the message it answers: its author and first line
 *  ("deleted" when it was); a click goes to it, loading older pages if needed. */
function quoteOf(id) {
  const quoted = page.current?.get(id);
  const quote = make('button', 'quote');
  quote.type = 'button';
  quote.dataset.replyTo = id;
  if (!quoted) quote.append(make('span', 'quote-text muted', 'an earlier message'));
  else if (quoted.deleted) quote.append(make('span', 'user', quoted.user), make('span', 'quote-text muted', 'deleted'));
  else {
    const who = make('span', 'user', quoted.user);
    who.style.setProperty('--hue', String(hueOf(quoted.user)));
    quote.append(who, make('span', 'quote-text', summaryOf(quoted)));
  }
  quote.setAttribute('aria-label', quoted ? `Go to the message from ${quoted.user} this replies to` : 'Go to the message this replies to');
  quote.addEventListener('click', () => goTo(id).catch(failed));
  return quote;
}

/** Scrolls to a message of the current room and marks it a moment; pages
 *  back (at most 40 pages) while it is older than what is loaded. */
async function goTo(id) {
  const room = page.current;
  let loaded = 0;
  for (let pages = 0; !room.get(id) && room.more && pages < 40; pages++) {
    loaded += await room.loadOlder();
    if (page.current !== room) return;
  }
  if (loaded) renderRoom();
  const li = itemOf(id);
  if (!li) { notice('That message is no longer in the history.'); return; }
  li.scrollIntoView({ block: 'center' });
  li.focus({ preventScroll: true });
  flash(li);
}

/** Marks a message a moment, through any re-render meanwhile. */
function flash(li) {
  const id = li.dataset.id;
  page.flash = id;
  li.classList.add('flash');
  setTimeout(() => {
    if (page.flash !== id) return;
    page.flash = null;
    for (const item of document.querySelectorAll(`li.flash[data-id="${CSS.escape(id)}"]`)) item.classList.remove('flash');
  }, 1600);
}

/** Starts a reply to a message: the composer says to whom, Escape cancels. */
function startReply(m) {
  page.replyTo = m.id;
  renderReplyBar();
  el.message.focus();
}

function renderReplyBar() {
  const m = page.replyTo && page.current?.get(page.replyTo);
  if (!m) { page.replyTo = null; el.replyBar.hidden = true; return; }
  el.replyTo.replaceChildren('Replying to ', make('strong', '', m.user), `: ${summaryOf(m)}`);
  el.replyBar.hidden = false;
}

/** Under a thread's root: how many replies, when the last came, who wrote
 *  it when this page holds it, and how many are new in a thread the user
 *  follows; a click opens the thread. */
function threadSummary(m) {
  const thread = page.current?.threads.get(m.id);
  const last = thread?.messages.filter((r) => !r.deleted).at(-1);
  const when = m.last_reply ? ` · last ${timeOf(m.last_reply)}` : '';
  const label = `${m.replies} ${m.replies === 1 ? 'reply' : 'replies'}${last ? ` · ${last.user}` : ''}${when}`;
  const unread = thread?.followed ? thread.unread : 0;
  const title = `Open the thread: ${label}${unread ? `, ${unread} new` : ''}`;
  const link = button(label, 'thread-link', () => openThread(m.id), title);
  if (unread) link.append(make('span', 'badge thread-unread', `${unread} new`));
  return link;
}

/** Opens a thread in the side pane (the whole screen on a phone). */
function openThread(rootId) {
  const room = page.current;
  const thread = room.thread(rootId);
  if (!thread.watched) {
    thread.watched = true;
    const redraw = () => {
      if (page.current === thread.room) rerender(thread.root); // the summary's last replier
      if (page.thread === thread) renderThread();
    };
    thread.on('message', () => { redraw(); if (page.thread === thread) markSeen(); });
    thread.on('messages', redraw);
    thread.on('change', redraw);
  }
  page.thread = thread;
  el.threadPane.hidden = false;
  renderThread();
  markSeen();
  if (thread.more) thread.loadOlder().then(() => { if (page.thread === thread) renderThread(); });
  el.threadMessage.focus();
}

function closeThread() {
  page.thread = null;
  el.threadPane.hidden = true;
  el.message.focus();
}

/** The open thread: its root, its messages oldest first, a note while
 *  earlier ones load. */
function renderThread() {
  const thread = page.thread;
  if (!thread) return;
  const root = thread.room.get(thread.root);
  const rootItem = make('li');
  if (root) fillMessage(rootItem, root, true);
  else rootItem.append(make('div', 'text muted', 'The message this thread started from is no longer loaded.'));
  el.threadRoot.replaceChildren(rootItem);
  const items = thread.messages.map((m) => { const li = make('li'); fillMessage(li, m, true); return li; });
  const stick = el.threadMessages.scrollHeight - el.threadMessages.scrollTop - el.threadMessages.clientHeight < 60;
  el.threadMessages.replaceChildren(...items);
  if (stick) el.threadMessages.scrollTop = el.threadMessages.scrollHeight;
  el.threadNote.hidden = !thread.loadingOlder && thread.messages.length > 0;
  el.threadNote.textContent = thread.loadingOlder ? 'Loading replies…' : thread.messages.length ? '' : 'No replies yet';
}

function sendInThread() {
  const text = el.threadMessage.value.replace(/\s+$/, '');
  if (!text.trim() || !page.thread) return;
  el.threadMessage.value = '';
  page.thread.send(text, { cid: newCid() }).catch(failed);
}

/** The buttons under a message: reactions to add, and edit/delete for one's own. */
function actions(m, mine, inThread) {
  const bar = make('div', 'actions');
  const picker = make('div', 'picker');
  picker.setAttribute('role', 'group');
  picker.setAttribute('aria-label', 'React');
  for (const emoji of REACTIONS) {
    const on = !(m.reactions.get(emoji) ?? []).includes(page.name);
    picker.append(button(emoji, 'ghost pick', () => page.current.react(m.id, emoji, on).catch(failed),
      `${on ? 'React with' : 'Take back'} ${emoji}`));
  }
  bar.append(picker);
  if (!inThread) {
    bar.append(button('Reply', 'ghost small', () => startReply(m)));
    bar.append(button('Thread', 'ghost small', () => openThread(m.thread ?? m.id), 'Reply in a thread'));
  }
  if (mine) bar.append(button('Edit', 'ghost small', () => startEdit(m.id)));
  if (mine || page.current?.role) bar.append(button('Delete', 'ghost small danger', () => deleteMessage(m.id)));
  return bar;
}

function editor(m) {
  const form = make('form', 'editor');
  const box = make('textarea');
  box.value = m.text;
  box.maxLength = 4000;
  box.setAttribute('aria-label', 'Edit message');
  form.append(box, make('span', 'hint', 'Enter saves · Escape cancels'));
  const save = () => {
    const text = box.value.replace(/\s+$/, '');
    const room = page.current;
    page.editing = null;
    rerender(m.id);
    el.message.focus();
    if (text.trim() && text !== m.text) room.edit(m.id, text).catch(failed);
  };
  box.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); save(); }
    if (e.key === 'Escape') { e.preventDefault(); page.editing = null; rerender(m.id); el.message.focus(); }
  });
  form.addEventListener('submit', (e) => { e.preventDefault(); save(); });
  queueMicrotask(() => { box.focus(); box.setSelectionRange(box.value.length, box.value.length); });
  return form;
}

// -- files in messages --------------------------------------------------------------

/** A size in bytes for people: bytes, KB, MB or GB (1024-based). */
function humanSize(bytes) {
  if (!Number.isFinite(bytes) || bytes < 0) return '';
  if (bytes < 1024) return `${bytes} ${bytes === 1 ? 'byte' : 'bytes'}`;
  const units = ['KB', 'MB', 'GB'];
  let v = bytes / 1024, u = 0;
  while (v >= 1024 && u < units.length - 1) { v /= 1024; u += 1; }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[u]}`;
}

function iconOf(mime) {
  if (mime.startsWith('image/')) return '🖼️';
  if (mime.startsWith('video/')) return '🎞️';
  if (mime.startsWith('audio/')) return '🎵';
  if (mime === 'application/pdf') return '📕';
  if (/zip|tar|gzip|compress|7z|rar/.test(mime)) return '🗜️';
  if (mime.startsWith('text/') || /json|xml|csv/.test(mime)) return '📄';
  return '📎';
}

/** A same-origin path under /files/, or null (the library keeps only such,
 *  and the page checks again before it sets one on an element). */
function filePath(url) {
  return typeof url === 'string' && url.startsWith('/files/') && !url.startsWith('//') && !url.includes('..') ? url : null;
}

/** Whether a file shows as an image: a type browsers show, its size known, a thumbnail made. */
function isImage(f) {
  return IMAGE_TYPES.has(f.mime) && f.width > 0 && f.height > 0 && filePath(f.thumb) !== null;
}

/** A message's files: thumbnails of its images (opening the lightbox), cards for the rest. */
function messageFiles(m) {
  const box = make('div', 'files');
  for (const f of m.files) {
    const url = filePath(f.url);
    if (!url) continue;
    if (isImage(f)) {
      const scale = Math.min(1, THUMB_MAX / Math.max(f.width, f.height));
      const open = make('button', 'thumb');
      open.type = 'button';
      open.setAttribute('aria-label', `Open image ${f.name}`);
      open.title = f.name;
      open.dataset.file = f.file;
      const img = make('img');
      img.alt = f.name;
      img.width = Math.max(1, Math.round(f.width * scale));
      img.height = Math.max(1, Math.round(f.height * scale));
      img.loading = 'lazy';
      img.decoding = 'async';
      img.src = filePath(f.thumb);
      open.append(img);
      open.addEventListener('click', () => openLightbox(m.id, f.file, open));
      box.append(open);
    } else {
      const card = make('div', 'file-card');
      card.dataset.file = f.file;
      const icon = make('span', 'icon', iconOf(f.mime));
      icon.setAttribute('aria-hidden', 'true');
      const name = make('span', 'name', f.name);
      name.title = f.name;
      const link = make('a', 'download', 'Download');
      link.href = url;
      link.download = f.name;
      link.setAttribute('aria-label', `Download ${f.name} (${humanSize(f.size)})`);
      card.append(icon, name, link, make('span', 'size', humanSize(f.size)));
      box.append(card);
    }
  }
  return box;
}

/** (1.2) What a message's first link shows: its site, title (the link),
 *  description, and the node's copy of its image. Text stays text. */
function previewCard(p) {
  const card = make('div', 'preview-card');
  if (p.site) card.append(make('div', 'site', p.site));
  const title = make('a', 'title', p.title || p.url);
  title.href = p.url;
  title.target = '_blank';
  title.rel = 'noopener noreferrer nofollow';
  card.append(title);
  if (p.description) card.append(make('div', 'description', p.description));
  const image = filePath(p.image);
  if (image) {
    const img = make('img');
    img.alt = '';
    img.loading = 'lazy';
    img.decoding = 'async';
    img.src = image;
    card.append(img);
  }
  return card;
}

// -- the lightbox ------------------------------------------------------------------

/** The images of the room shown, oldest first: { message, file }. */
function roomImages() {
  const images = [];
  for (const m of page.current?.messages ?? []) {
    if (m.deleted) continue;
    for (const f of m.files ?? []) if (isImage(f) && filePath(f.url)) images.push({ message: m.id, file: f });
  }
  return images;
}

function openLightbox(messageId, fileId, opener) {
  const images = roomImages();
  const at = images.findIndex((i) => i.message === messageId && i.file.file === fileId);
  if (at < 0) return;
  page.lightbox = { images, at, back: opener ?? document.activeElement };
  el.lightbox.hidden = false;
  showLightboxImage();
  el.lightboxClose.focus();
}

function showLightboxImage() {
  const { images, at } = page.lightbox;
  const f = images[at].file;
  el.lightboxImg.removeAttribute('src');
  el.lightboxImg.width = f.width;
  el.lightboxImg.height = f.height;
  el.lightboxImg.alt = f.name;
  el.lightboxImg.src = filePath(f.url);
  el.lightboxCaption.textContent = images.length > 1 ? `${f.name} (${at + 1} of ${images.length})` : f.name;
  el.lightboxDownload.href = filePath(f.url);
  el.lightboxDownload.download = f.name;
  el.lightboxDownload.setAttribute('aria-label', `Download ${f.name}`);
  el.lightboxPrev.hidden = at === 0;
  el.lightboxNext.hidden = at === images.length - 1;
}

function moveLightbox(by) {
  const lb = page.lightbox;
  if (!lb) return;
  const next = Math.min(lb.images.length - 1, Math.max(0, lb.at + by));
  if (next === lb.at) return;
  lb.at = next;
  const focused = document.activeElement;
  showLightboxImage();
  if (focused?.hidden || !el.lightbox.contains(focused)) el.lightboxClose.focus();
}

function closeLightbox() {
  if (!page.lightbox) return;
  const back = page.lightbox.back;
  page.lightbox = null;
  el.lightbox.hidden = true;
  el.lightboxImg.removeAttribute('src');
  if (back?.isConnected) back.focus(); else el.message.focus();
}

el.lightboxClose.addEventListener('click', closeLightbox);
el.lightboxPrev.addEventListener('click', () => moveLightbox(-1));
el.lightboxNext.addEventListener('click', () => moveLightbox(1));
el.lightbox.addEventListener('click', (e) => {
  // A click outside the image and the buttons closes.
  if (e.target === el.lightbox || e.target.classList.contains('lightbox-figure')) closeLightbox();
});
el.lightbox.addEventListener('keydown', (e) => {
  if (e.key === 'Escape') { e.preventDefault(); e.stopPropagation(); closeLightbox(); return; }
  if (e.key === 'ArrowLeft') { e.preventDefault(); moveLightbox(-1); return; }
  if (e.key === 'ArrowRight') { e.preventDefault(); moveLightbox(1); return; }
  if (e.key === 'Tab') {
    // Focus stays in the dialog.
    const stops = [...el.lightbox.querySelectorAll('button, a[href]')].filter((n) => !n.hidden);
    if (!stops.length) return;
    const at = stops.indexOf(document.activeElement);
    const next = e.shiftKey ? (at <= 0 ? stops.length - 1 : at - 1) : (at < 0 || at === stops.length - 1 ? 0 : at + 1);
    e.preventDefault();
    stops[next].focus();
  }
});
el.lightbox.addEventListener('focusout', (e) => {
  if (page.lightbox && e.relatedTarget && !el.lightbox.contains(e.relatedTarget)) el.lightboxClose.focus();
});

function startEdit(id) {
  page.editing = id;
  rerender(id);
}

function deleteMessage(id) {
  if (!window.confirm('Delete this message for everyone?')) return;
  page.current.delete(id).catch(failed);
}

function failed(err) {
  const reasons = { forbidden: 'That is not yours to change.', not_found: 'That message is gone.',
    rate_limited: 'You are going too fast; that was not sent.', too_large: 'That message is too long.' };
  notice(reasons[err.code] ?? `Error: ${err.message}`);
}

function itemOf(id) { return el.messages.querySelector(`li[data-id="${CSS.escape(id)}"]`); }

function rerender(id) {
  const li = itemOf(id);
  const m = page.current?.get(id);
  if (li && m) fillMessage(li, m);
}

/** The whole list of the current room, with the unread divider and pending sends. */
function renderRoom() {
  const room = page.current;
  const firstUnread = page.divider.get(room.name);
  const items = [];
  for (const m of room.messages) {
    if (m.thread) continue; // in its thread's pane
    if (firstUnread && m.id === firstUnread) items.push(make('li', 'divider', 'New messages'));
    const li = make('li');
    fillMessage(li, m);
    items.push(li);
  }
  for (const p of page.pending.values()) if (p.room === room.name) items.push(p.li);
  el.messages.replaceChildren(...items);
  updateHistoryNote();
}

/** Places a new message of the current room at its place by id. */
function placeMessage(m) {
  if (m.thread || itemOf(m.id)) return;
  const li = make('li');
  fillMessage(li, m);
  let next = null;
  for (const other of el.messages.querySelectorAll('li.msg[data-id]')) {
    if (compareIds(other.dataset.id, m.id) > 0) { next = other; break; }
  }
  next ??= el.messages.querySelector('li.pending');
  el.messages.insertBefore(li, next);
}

function updateHistoryNote() {
  const room = page.current;
  el.historyNote.hidden = !room?.joined && !room?.messages.length;
  el.historyNote.textContent = room?.loadingOlder ? 'Loading older messages…'
    : room?.more ? 'Scroll up for older messages' : 'This is the start of the room';
}

/** Loads a big room's next member names when the end of the list scrolls into view. */
const moreMembers = new IntersectionObserver((entries) => {
  if (entries.some((e) => e.isIntersecting)) page.current?.loadMembers();
}, { root: el.members });

function renderMembers() {
  const room = page.current;
  // A big room's list is the names loaded so far, in the node's order, so
  // that the next page continues it; a whole list reads best alphabetically.
  const names = room?.membersMore ? room.memberNames()
    : [...(room?.members ?? [])].sort((a, b) => a.localeCompare(b));
  const moderator = Boolean(room?.role) && !room?.peer;
  const items = names.map((n) => {
    const li = make('li');
    li.append(make('span', 'who', n));
    if (n === page.name) { li.append(make('span', 'you', ' (you)')); return li; }
    // With join tokens people have identities: a direct conversation is offered.
    if (page.token && !room?.peer) li.append(button('Message', 'ghost', () => openDm(n), `Message ${n}`));
    if (moderator) {
      li.append(button('Mute', 'ghost', () => room.moderate('mute', n), `Mute ${n}`));
      li.append(button('Kick', 'ghost', () => room.moderate('kick', n), `Kick ${n}`));
      li.append(button('Ban', 'ghost danger', () => {
        if (window.confirm(`Ban ${n} from # ${room.name}?`)) room.moderate('ban', n);
      }, `Ban ${n}`));
    }
    return li;
  });
  const count = Math.max(room?.memberCount ?? 0, names.length);
  moreMembers.disconnect();
  if (room?.membersMore) {
    const more = make('li', 'more', `${count - names.length} more…`);
    more.id = 'members-more';
    items.push(more);
    moreMembers.observe(more);
  }
  el.memberList.replaceChildren(...items);
  // Muted and banned people may not be listed: a moderator names them.
  el.liftForm.hidden = !moderator;
  el.memberCount.textContent = String(count);
  el.memberCountShort.textContent = String(count);
}

function renderTyping() {
  const names = [...page.typers.keys()];
  el.typing.textContent = names.length === 0 ? ''
    : names.length === 1 ? `${names[0]} is typing…`
      : names.length === 2 ? `${names[0]} and ${names[1]} are typing…` : 'Several people are typing…';
}

function stopTyping(user) {
  if (!page.typers.has(user)) return;
  clearTimeout(page.typers.get(user));
  page.typers.delete(user);
  renderTyping();
}

/** The switcher: every room with its unread count; the current one marked. */
function renderRoomList() {
  el.roomList.replaceChildren(...page.order.map((name) => {
    const room = page.client.room(name);
    const li = make('li');
    const b = button(room.peer ? `@ ${room.peer}` : `# ${name}`, room.peer ? 'room-link dm' : 'room-link', () => show(name));
    if (room === page.current) b.setAttribute('aria-current', 'true');
    if (room.unread > 0 && room !== page.current) {
      const badge = make('span', 'badge unread', String(room.unread));
      badge.setAttribute('aria-label', `${room.unread} unread`);
      b.append(' ', badge);
    }
    const inThreads = room.followedThreads().reduce((n, t) => n + t.unread, 0);
    if (inThreads > 0 && room !== page.current) {
      const badge = make('span', 'badge thread-unread', `${inThreads} in threads`);
      badge.setAttribute('aria-label', `${inThreads} unread in threads you follow`);
      b.append(' ', badge);
    }
    li.append(b);
    return li;
  }));
}

// -- reading -------------------------------------------------------------------

/** The reader sees the newest messages: tell the node (and their other tabs). */
function markSeen() {
  const room = page.current;
  if (!room?.joined || document.hidden) return;
  // The open thread's pane shows its newest messages: they are read.
  if (page.thread?.room === room) page.thread.markRead();
  if (!nearBottom()) return;
  const last = room.lastMessageId();
  if (last && (!room.read || compareIds(last, room.read) > 0)) room.markRead(last);
}

async function maybeLoadOlder() {
  const room = page.current;
  if (!room?.more || room.loadingOlder || !room.joined) return;
  const atTop = el.log.scrollTop <= 40;
  const noScrollbar = el.log.scrollHeight <= el.log.clientHeight + 4;
  if (!atTop && !noScrollbar) return;
  const oldHeight = el.log.scrollHeight, oldTop = el.log.scrollTop;
  const loading = room.loadOlder(50);
  updateHistoryNote();
  await loading;
  if (room !== page.current) return;
  renderRoom();
  el.log.scrollTop = oldTop + (el.log.scrollHeight - oldHeight); // the reader stays where they were
  maybeLoadOlder();
}

// -- notifications ---------------------------------------------------------------

function notifyMention(room, m) {
  if (!('Notification' in window) || Notification.permission !== 'granted') return;
  const n = new Notification(`${m.user} in # ${room.name}`, { body: m.text.slice(0, 200), tag: `${room.name}:${m.id}` });
  n.onclick = () => { window.focus(); show(room.name); n.close(); };
}

/** Pushes reach a closed tab where the browser has a service worker and a
 *  push manager, and the user is known by a token (subscriptions are theirs). */
function pushPossible() {
  return Boolean(page.token && page.worker?.pushManager && 'Notification' in window);
}

/** Says once, quietly, that notifications reach this user only while a tab
 *  is open, or (the browser blocks them) not at all. */
function pushUnavailable(blocked = false) {
  if (store.get('chatnode.push-note')) return;
  store.set('chatnode.push-note', '1');
  notice(blocked ? 'Notifications are blocked in this browser: mentions show only here.'
    : 'Notifications can reach you here only while this tab is open.');
}

/** Gives this browser's push subscription to the node (asked once per connection). */
async function enablePush() {
  if (page.pushOn || !pushPossible() || Notification.permission !== 'granted') return;
  page.pushOn = true;
  try {
    await page.client.enablePush(page.worker);
  } catch {
    page.pushOn = false;
    pushUnavailable();
  }
}

async function offerNotifications() {
  if (!('Notification' in window)) return;
  await page.workerReady;
  if (Notification.permission === 'granted') { enablePush(); return; }
  if (Notification.permission !== 'default' || store.get('chatnode.asked')) return;
  el.askNotifyText.textContent = pushPossible()
    ? 'Get notified of mentions and direct messages, even when this tab is closed?'
    : 'Get a notification when someone mentions you while this tab is hidden?';
  el.askNotify.hidden = false;
}

el.notifyYes.addEventListener('click', async () => {
  store.set('chatnode.asked', '1');
  el.askNotify.hidden = true;
  let answer = 'denied';
  try { answer = await Notification.requestPermission(); } catch { /* refused */ }
  if (answer === 'denied') pushUnavailable(true);
  else if (answer === 'granted' && page.token) {
    if (pushPossible()) enablePush(); else pushUnavailable();
  }
});
el.notifyNo.addEventListener('click', () => { store.set('chatnode.asked', '1'); el.askNotify.hidden = true; });

/** The room's notification level, where the user set one or its default. */
function renderNotifyLevel() {
  const room = page.current;
  el.notifyLevel.hidden = !room || !page.levels;
  if (el.notifyLevel.hidden) return;
  el.notifyLevel.value = page.levels[room.name] ?? (room.peer ? 'all' : 'mentions');
}

el.notifyLevel.addEventListener('change', () => {
  if (!page.current || !page.levels) return;
  page.levels[page.current.name] = el.notifyLevel.value;
  page.client.setNotifyLevel(page.current.name, el.notifyLevel.value);
});

// (1.2) The service worker shows pushes while no tab is open; a click on one
// opens its room here when a tab is.
page.workerReady = 'serviceWorker' in navigator
  ? navigator.serviceWorker.register('sw.js').then((r) => { page.worker = r; }, () => {})
  : Promise.resolve();
navigator.serviceWorker?.addEventListener('message', (e) => {
  const room = e.data?.type === 'open-room' ? e.data.room : null;
  if (typeof room === 'string' && ROOM_RE.test(room) && page.client) openRoom(room);
});

// -- rooms -----------------------------------------------------------------------

function saveRooms() {
  store.set('chatnode.rooms', JSON.stringify(page.order));
  if (page.current) store.set('chatnode.room', page.current.name);
}

/** Adds a room to the tab (joining it) and shows it. */
function openRoom(name) {
  if (!page.order.includes(name)) {
    page.order.push(name);
    const room = page.client.room(name);
    watch(room);
    room.join();
  }
  show(name);
}

function show(name) {
  const room = page.client.room(name);
  page.current = room;
  page.editing = null;
  page.replyTo = null;
  renderReplyBar();
  if (page.thread && page.thread.room !== room) { page.thread = null; el.threadPane.hidden = true; }
  for (const user of [...page.typers.keys()]) stopTyping(user);
  // The divider goes before the first message after the read position, by others.
  page.divider.delete(name);
  const unread = room.unreadMessages();
  if (unread.length) page.divider.set(name, unread[0].id);
  el.roomTitle.textContent = room.peer ? `@ ${room.peer}` : `# ${name}`;
  renderNotifyLevel();
  if (location.hash !== `#${name}`) history.replaceState(null, '', `#${name}`);
  renderRoom();
  renderAttachments();
  renderMembers();
  renderRoomList();
  updateTitle();
  saveRooms();
  const divider = el.messages.querySelector('.divider');
  if (divider) divider.scrollIntoView({ block: 'center' }); else el.log.scrollTop = el.log.scrollHeight;
  markSeen();
  maybeLoadOlder();
  el.message.focus();
}

function closeRoom(name) {
  const room = page.client.room(name);
  room.leave();
  page.order = page.order.filter((n) => n !== name);
  for (const [cid, p] of [...page.pending]) if (p.room === name) page.pending.delete(cid);
  dropAttachments((a) => a.room === name);
  saveRooms();
  if (page.order.length) { show(page.order.at(-1)); return; }
  page.current = null;
  page.client.close();
  page.client = null;
  updateTitle();
  el.chatView.hidden = true;
  el.joinView.hidden = false;
  history.replaceState(null, '', location.pathname + location.search);
  el.room.focus();
}

/** Wires a room's events to the page. */
function watch(room) {
  const here = () => room === page.current;
  room.on('joined', () => {
    page.everJoined = true;
    if (page.token && !page.listedConversations) {
      // A join proved who the user is: their direct conversations come back,
      // and their notification levels.
      page.listedConversations = true;
      page.client.conversations().then((list) => list.forEach((c) => addConversation(c.room)), () => {});
      page.client.notifyLevels().then((levels) => { page.levels = { ...levels, ...page.levels }; renderNotifyLevel(); },
        () => {});
    }
    if (here()) {
      const first = !page.divider.has(room.name) && room.unreadMessages().length;
      if (first) page.divider.set(room.name, room.unreadMessages()[0].id);
      const stick = nearBottom();
      renderRoom();
      renderMembers();
      if (stick) el.log.scrollTop = el.log.scrollHeight;
      markSeen();
      maybeLoadOlder();
    }
    renderRoomList();
    setStatus('connected', 'online');
    offerNotifications();
  });
  room.on('message', ({ message, mine }) => {
    if (mine) for (const [cid, p] of page.pending) if (message.cid === cid) { p.li.remove(); page.pending.delete(cid); }
    const mentioned = !mine && mentionsIn(message.text).includes(page.name);
    if (document.hidden && !mine) { page.hiddenCount += 1; updateTitle(); }
    if (mentioned && (document.hidden || !here())) notifyMention(room, message);
    if (here()) {
      stopTyping(message.user);
      const stick = nearBottom() || mine;
      placeMessage(message);
      if (stick) el.log.scrollTop = el.log.scrollHeight;
      markSeen();
    }
    renderRoomList();
  });
  room.on('change', ({ message }) => {
    if (!here()) return;
    rerender(message.id);
    // Replies quoting it show its new first line, or that it was deleted.
    for (const q of el.messages.querySelectorAll(`.quote[data-reply-to="${CSS.escape(message.id)}"]`))
      rerender(q.closest('li.msg').dataset.id);
    if (page.replyTo === message.id) renderReplyBar();
    if (page.thread && (message.id === page.thread.root || message.thread === page.thread.root)) renderThread();
  });
  // The divider stays where it was while the room is shown; the counts clear.
  room.on('read', renderRoomList);
  // Followed threads' unread counts, on their roots' summaries and in the list.
  room.on('threads', () => {
    if (here()) for (const t of room.threads.values()) rerender(t.root);
    renderRoomList();
  });
  room.on('presence', ({ user, event, leaves }) => {
    if (!here()) return;
    if (event === 'leave') stopTyping(user);
    for (const name of leaves ?? []) stopTyping(name);
    renderMembers();
  });
  room.on('moderation', ({ event }) => {
    const words = { mute: 'muted', unmute: 'unmuted', kick: 'removed', ban: 'banned', unban: 'unbanned' };
    const until = event.until ? ` until ${new Date(event.until).toLocaleString()}` : '';
    const line = `${event.by} ${words[event.action] ?? event.action} ${event.user}${until}`;
    if (here()) {
      const li = make('li', 'msg system', line);
      li.setAttribute('role', 'note');
      el.messages.append(li);
      if (nearBottom()) el.log.scrollTop = el.log.scrollHeight;
    }
    if (event.user === page.name && event.action === 'mute') notice(`You were muted in # ${room.name}${until}.`);
  });
  room.on('kicked', ({ by }) => {
    notice(`You were removed from # ${room.name} by ${by}.`);
    page.order = page.order.filter((n) => n !== room.name);
    saveRooms();
    if (here()) {
      if (page.order.length) show(page.order.at(-1));
      else { page.current = null; el.messages.replaceChildren(); renderMembers(); }
    }
    renderRoomList();
  });
  room.on('typing', ({ user }) => {
    if (!here()) return;
    clearTimeout(page.typers.get(user));
    page.typers.set(user, setTimeout(() => stopTyping(user), TYPING_SHOWN_MS));
    renderTyping();
  });
}

// -- the room directory and direct conversations ----------------------------------------

// -- search (the room's archived messages) ----------------------------------------

const search = { room: '', query: '', results: [], more: false };

function searchItem(m) {
  const li = make('li', 'result');
  const meta = make('div', 'meta');
  const who = make('span', 'user', m.user);
  who.style.setProperty('--hue', String(hueOf(m.user)));
  const when = make('time', '', new Date(m.ts).toLocaleString());
  when.dateTime = new Date(m.ts).toISOString();
  meta.append(who, when);
  if (m.edited) meta.append(make('span', 'edited', '(edited)'));
  li.append(meta, formattedText(m.text));
  const names = (Array.isArray(m.files) ? m.files : []).map((f) => (typeof f?.name === 'string' ? f.name : '')).filter(Boolean);
  if (names.length) li.append(make('div', 'muted', `📎 ${names.join(', ')}`));
  const room = search.room;
  li.append(button(m.thread ? 'Open in thread' : 'Go to message', 'ghost small go',
    () => showFound(room, m).catch(failed), m.thread ? `Open the thread of ${m.user}'s message` : `Go to ${m.user}'s message`));
  return li;
}

/** A search result in its place: the room's list, or its thread's pane. */
async function showFound(roomName, m) {
  if (page.current?.name !== roomName) return;
  closeSearch();
  if (!m.thread) { await goTo(m.id); return; }
  openThread(m.thread);
  const thread = page.thread;
  for (let pages = 0; !thread.byId.has(m.id) && thread.more && pages < 40; pages++) await thread.loadOlder();
  if (page.thread !== thread) return;
  renderThread();
  const li = el.threadMessages.querySelector(`li[data-id="${CSS.escape(m.id)}"]`);
  if (!li) { notice('That message is no longer in its thread.'); return; }
  li.scrollIntoView({ block: 'center' });
  flash(li);
}

function renderSearch() {
  el.searchResults.hidden = false;
  const n = search.results.length;
  el.searchTitle.textContent = `${n}${search.more ? '+' : ''} ${n === 1 ? 'message' : 'messages'} with “${search.query}” in # ${search.room}`;
  el.searchList.replaceChildren(...search.results.map(searchItem));
  if (!n) el.searchList.append(make('li', 'muted', 'No messages hold all of these words.'));
  el.searchMore.hidden = !search.more;
}

async function runSearch(more = false) {
  if (!page.client || !page.current) return;
  if (!more) Object.assign(search, { room: page.current.name, query: el.search.value.trim(), results: [], more: false });
  if (!search.query) return;
  try {
    const before = more ? search.results.at(-1)?.id : undefined;
    const answer = await page.client.search(search.room, search.query, { before, limit: 20 });
    search.results.push(...answer.messages);
    search.more = answer.more;
    renderSearch();
  } catch (err) {
    notice(err.code === 'unavailable' ? `Search is unavailable: ${err.message}` : `Search failed: ${err.message}`);
  }
}

function closeSearch() {
  el.searchResults.hidden = true;
  el.searchList.replaceChildren();
}

const directory = { open: false, rooms: new Map(), next: null, offWatch: null };

function directoryItem(entry) {
  const li = make('li');
  li.dataset.room = entry.room;
  const when = entry.last_ts ? ` · ${timeOf(entry.last_ts)}` : '';
  li.append(make('span', 'name', `# ${entry.room}`),
    make('span', 'count', `${entry.members} online${when}`),
    button(page.order.includes(entry.room) ? 'Open' : 'Join', 'small', () => { toggleDirectory(false); openRoom(entry.room); },
      `Join ${entry.room}`));
  return li;
}

function renderDirectory() {
  const entries = [...directory.rooms.values()].sort((a, b) => b.members - a.members
    || (b.last_ts ?? 0) - (a.last_ts ?? 0) || a.room.localeCompare(b.room));
  el.directoryList.replaceChildren(...entries.map(directoryItem));
  if (!entries.length) el.directoryList.append(make('li', 'muted', 'No rooms yet: name one with + room.'));
  el.directoryMore.hidden = !directory.next;
}

async function loadDirectory(more = false) {
  if (!page.client) return;
  try {
    const page1 = await page.client.directory({ cursor: more ? directory.next : undefined, limit: 50, watch: true });
    if (!more) directory.rooms.clear();
    for (const entry of page1.rooms) directory.rooms.set(entry.room, entry);
    directory.next = page1.next;
    renderDirectory();
  } catch (err) { notice(`The room list is unavailable: ${err.message}`); }
}

function toggleDirectory(open = !directory.open) {
  directory.open = open;
  el.directory.hidden = !open;
  el.browse.setAttribute('aria-expanded', String(open));
  if (open) loadDirectory();
}

async function openDm(user) {
  try {
    const room = await page.client.dm(user);
    addConversation(room.name);
    show(room.name);
  } catch (err) { notice(`Could not message ${user}: ${err.message}`); }
}

/** A direct conversation in the switcher, joined (its Room knows the peer once joined). */
function addConversation(name) {
  if (page.order.includes(name)) return;
  page.order.push(name);
  const room = page.client.room(name);
  watch(room);
  if (!room.wanted) room.join();
  renderRoomList();
}

// -- sending -------------------------------------------------------------------------

function pendingItem(text, files = []) {
  const li = make('li', 'msg mine pending');
  const meta = make('div', 'meta');
  meta.append(make('span', 'user', page.name), make('time', '', 'sending…'));
  li.append(meta);
  if (text || !files.length) li.append(formattedText(text));
  if (files.length) {
    // The chips go along, their uploads still showing.
    const list = make('ul', 'attachments');
    list.setAttribute('aria-label', 'Files being sent');
    for (const a of files) list.append(a.chip);
    li.append(list);
  }
  return li;
}

// -- attachments: uploads for the next message ------------------------------------

const UPLOAD_REASONS = {
  forbidden: 'This type of file is not accepted here.',
  rate_limited: 'Too many uploads at once; try again in a moment.',
  unavailable: 'File storage is unavailable right now; try again later.',
  not_joined: 'Not in the room (yet); try again once connected.',
  not_found: 'The upload expired; try again.',
  bad_request: 'The upload was refused.',
  closed: 'The connection was lost; try again.',
};

function uploadProblem(err) {
  if (err.code === 'too_large') return `Too large: ${err.message && err.message !== 'too_large' ? err.message : 'over the size limit'}.`.replace(/\.\.$/, '.');
  return UPLOAD_REASONS[err.code] ?? `Upload failed: ${err.message}`;
}

/** A chip for a pending upload: name, size, progress, a cancel button and room for an error. */
function attachmentChip(a) {
  const chip = make('li', 'attachment uploading');
  const name = make('span', 'name', a.file.name || 'file');
  name.title = a.file.name;
  const size = make('span', 'size', humanSize(a.file.size));
  const bar = make('progress');
  bar.max = 1;
  bar.value = 0;
  bar.setAttribute('aria-label', `Uploading ${a.file.name}`);
  const remove = button('×', 'ghost remove', () => removeAttachment(a), `Cancel ${a.file.name}`);
  const problem = make('p', 'upload-error');
  problem.setAttribute('role', 'alert');
  problem.hidden = true;
  chip.append(name, remove, bar, size, problem);
  a.bar = bar;
  a.problem = problem;
  return chip;
}

function renderAttachments() {
  const here = page.attachments.filter((a) => a.room === page.current?.name);
  el.attachments.replaceChildren(...here.map((a) => a.chip));
  el.attachments.hidden = here.length === 0;
}

/** A pasted image has a made-up name (often "image.png"): give it one that says when. */
function pastedName(file) {
  const ext = (file.type.split('/')[1] ?? 'png').replace('jpeg', 'jpg').replace(/[^a-z0-9]/g, '');
  const stamp = new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-');
  return `pasted-${stamp}.${ext || 'png'}`;
}

/** Starts uploading files for the next message of the room shown. */
function attachFiles(files, { pasted = false } = {}) {
  const room = page.current;
  if (!room) return;
  for (let file of files) {
    if (page.attachments.filter((a) => a.room === room.name).length >= MAX_FILES) {
      notice(`At most ${MAX_FILES} files in one message.`);
      break;
    }
    if (pasted && (!file.name || file.name === 'image.png')) file = new File([file], pastedName(file), { type: file.type });
    const a = { room: room.name, file, ctl: new AbortController(), state: 'uploading', result: null, promise: null };
    a.chip = attachmentChip(a);
    a.promise = room.upload(file, {
      signal: a.ctl.signal,
      onProgress: ({ loaded, total }) => { if (total > 0) a.bar.value = Math.min(1, loaded / total); },
    }).then((result) => {
      a.state = 'done';
      a.result = result;
      a.bar.value = 1;
      a.bar.setAttribute('aria-label', `Uploaded ${file.name}`);
      a.chip.classList.replace('uploading', 'done');
      return result;
    }, (err) => {
      a.state = err.code === 'aborted' ? 'cancelled' : 'failed';
      if (a.state === 'failed') {
        a.chip.classList.replace('uploading', 'failed');
        a.problem.textContent = uploadProblem(err);
        a.problem.hidden = false;
        const remove = a.chip.querySelector('.remove');
        remove.setAttribute('aria-label', `Remove ${file.name}`);
        remove.title = `Remove ${file.name}`;
      }
      return null;
    });
    page.attachments.push(a);
  }
  renderAttachments();
}

function removeAttachment(a) {
  a.ctl.abort();
  a.state = a.state === 'done' ? 'removed' : 'cancelled';
  a.chip.remove();
  const i = page.attachments.indexOf(a);
  if (i >= 0) { page.attachments.splice(i, 1); renderAttachments(); }
  if (!el.lightbox.hidden) return;
  if (!a.sending) el.message.focus();
}

/** Cancels the uploads (and forgets the files) for which `which` holds. */
function dropAttachments(which = () => true) {
  for (const a of page.attachments.filter(which)) { a.ctl.abort(); a.chip.remove(); }
  page.attachments = page.attachments.filter((a) => !which(a));
  renderAttachments();
}

// -- slash commands (1.2) -------------------------------------------------------------

/** The commands that work in the shown room whose name starts as typed, while
 *  the box holds only "/" and the start of a name. */
function commandChoices() {
  const typed = /^\/([a-z0-9_-]*)$/.exec(el.message.value);
  if (!typed || !page.current) return [];
  const room = page.current.name;
  return page.commands.filter((c) => c.name.startsWith(typed[1]) && (!c.rooms || c.rooms.includes(room)));
}

function renderCommandMenu() {
  const choices = commandChoices();
  el.commandMenu.hidden = !choices.length;
  el.message.setAttribute('aria-expanded', String(choices.length > 0));
  if (!choices.length) { el.message.removeAttribute('aria-activedescendant'); return; }
  page.commandPick = Math.min(page.commandPick, choices.length - 1);
  el.commandMenu.replaceChildren(...choices.map((c, i) => {
    const li = make('li', 'command-choice' + (i === page.commandPick ? ' picked' : ''));
    li.id = `command-${c.name}`;
    li.setAttribute('role', 'option');
    li.setAttribute('aria-selected', String(i === page.commandPick));
    li.append(make('span', 'command-name', `/${c.name}`));
    if (c.usage) li.append(make('span', 'command-usage', c.usage));
    if (c.description) li.append(make('span', 'command-description', c.description));
    li.addEventListener('mousedown', (e) => { e.preventDefault(); pickCommand(c); });
    return li;
  }));
  el.message.setAttribute('aria-activedescendant', `command-${choices[page.commandPick].name}`);
}

function pickCommand(c) {
  el.message.value = `/${c.name} `;
  page.commandPick = 0;
  renderCommandMenu();
  el.message.focus();
}

/** Keys of the open menu: Up and Down choose, Tab or Enter takes, Escape closes. */
function commandMenuKey(e) {
  const choices = commandChoices();
  if (el.commandMenu.hidden || !choices.length) return false;
  if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
    page.commandPick = (page.commandPick + (e.key === 'ArrowDown' ? 1 : choices.length - 1)) % choices.length;
    renderCommandMenu();
  } else if (e.key === 'Tab' || (e.key === 'Enter' && !e.shiftKey)) {
    pickCommand(choices[page.commandPick]);
  } else if (e.key === 'Escape') {
    el.commandMenu.hidden = true;
    el.message.setAttribute('aria-expanded', 'false');
  } else {
    return false;
  }
  e.preventDefault();
  return true;
}

/** A known command typed in the box: "/name" then a space or the end. */
function typedCommand(text) {
  const m = /^\/([a-z0-9_-]+)(?:\s|$)/.exec(text);
  return m && page.commands.length ? m[1] : null;
}

/** Sends a command: its answer for this user alone is shown in the room's
 *  list (and goes with the room's next redraw); one its bot posted comes as
 *  a message; a refusal says why. */
function runCommand(room, text) {
  const li = make('li', 'msg command-result pending');
  const meta = make('div', 'meta');
  meta.append(make('span', 'user', text.split(/\s/)[0]), make('time', '', 'sending…'));
  li.append(meta);
  el.messages.append(li);
  el.log.scrollTop = el.log.scrollHeight;
  el.message.value = '';
  autosize();
  renderCommandMenu();
  room.send(text).then((ev) => {
    if (ev.type !== 'command' || !ev.text) { li.remove(); return; }
    li.classList.remove('pending');
    meta.querySelector('time').textContent = 'only you can see this';
    li.append(formattedText(ev.text));
  }, (err) => {
    li.classList.replace('pending', 'failed');
    meta.querySelector('time').textContent = 'not done';
    li.append(make('div', 'text', err.message));
  });
}

function sendMessage() {
  const text = el.message.value.replace(/\s+$/, '');
  if (!page.current) return;
  const room = page.current;
  if (typedCommand(text) && !page.attachments.some((a) => a.room === room.name)) {
    runCommand(room, text);
    return;
  }
  // The files of the room go with it: those still uploading are waited for.
  const files = page.attachments.filter((a) => a.room === room.name && a.state !== 'failed');
  if (!text.trim() && !files.length) return;
  page.attachments = page.attachments.filter((a) => a.room !== room.name || a.state === 'failed');
  for (const a of files) a.sending = true;
  renderAttachments();
  const cid = newCid();
  const replyTo = page.replyTo;
  page.replyTo = null;
  renderReplyBar();
  const li = pendingItem(text, files);
  page.pending.set(cid, { room: room.name, text, li });
  el.messages.append(li);
  el.log.scrollTop = el.log.scrollHeight;
  el.message.value = '';
  page.lastTypingSent = 0;
  autosize();
  let ids = null; // the files' ids, once every upload has ended
  const uploaded = async () => {
    if (ids) return ids;
    const results = await Promise.all(files.map((a) => a.promise));
    ids = results.filter((r, i) => r && files[i].state === 'done').map((r) => r.file);
    const lost = files.filter((a) => a.state === 'failed');
    if (lost.length) notice(`Not sent: ${lost.map((a) => a.file.name).join(', ')} (${a11yProblem(lost[0])})`);
    if (!ids.length && !text.trim()) {
      throw Object.assign(new Error('no file was uploaded'), { code: 'no_files' });
    }
    return ids;
  };
  const attempt = () => uploaded().then((list) => room.send(text, { cid, replyTo, ...(list.length ? { files: list } : {}) })).catch((err) => {
    if (err.code === 'no_files') {
      page.pending.delete(cid);
      if (!files.some((a) => a.state === 'failed')) { li.remove(); return; }
      li.classList.replace('pending', 'failed');
      li.querySelector('time').textContent = 'not sent';
      return;
    }
    if (!page.pending.has(cid)) return;
    li.classList.remove('pending');
    li.classList.add('failed');
    li.querySelector('time').textContent = 'not sent';
    failed(err);
    if (err.code === 'too_large' || li.querySelector('.retry')) return;
    li.querySelector('.meta').append(button('Retry', 'retry', (e) => {
      e.target.remove();
      li.classList.replace('failed', 'pending');
      li.querySelector('time').textContent = 'sending…';
      attempt();
    }));
  });
  attempt();
}

function a11yProblem(a) { return a.problem?.textContent || 'upload failed'; }

function autosize() {
  el.message.style.height = 'auto';
  el.message.style.height = Math.min(el.message.scrollHeight, 160) + 'px';
}

// -- the session ---------------------------------------------------------------------

function showJoinError(problem) {
  el.joinError.hidden = !problem;
  el.joinError.textContent = problem;
}

/** (1.2) A fresh token from the deployment's own backend (`?token_url=`):
 *  GET with the browser's credentials, answered with {"token": ...} or the
 *  token as text. */
async function freshToken() {
  const res = await fetch(page.tokenUrl, { credentials: 'include', cache: 'no-store' });
  if (!res.ok) throw new Error(`the token source answered ${res.status}`);
  const text = (await res.text()).trim();
  let token = text;
  try { token = JSON.parse(text).token ?? ''; } catch { /* a bare token */ }
  if (typeof token !== 'string' || !token) throw new Error('the token source gave no token');
  page.token = token;
  try { sessionStorage.setItem('chatnode.token', token); } catch { /* disabled */ }
  return token;
}

function askForToken() {
  el.tokenField.hidden = false;
  el.token.value = page.token;
}

function start(name, rooms, current) {
  dropAttachments();
  page.client?.close();
  page.name = name;
  page.order = [];
  page.pending.clear();
  page.divider.clear();
  page.everJoined = false;
  page.listedConversations = false;
  page.levels = null;
  page.pushOn = false;
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const client = new ChatClient({ url: `${scheme}//${location.host}/ws`, name, token: page.token,
    ...(page.tokenUrl ? { renewToken: freshToken } : {}) });
  page.client = client;
  // Attaching is offered where the node takes uploads (welcome says so).
  client.on('welcome', ({ files }) => {
    el.attach.hidden = !files;
    client.commands().then((list) => { page.commands = list; }, () => { page.commands = []; });
  });
  client.on('status', ({ status, retryIn, code }) => {
    if (code === 4001) {
      // (1.2) The token expired, and this page has no way to get a fresh one
      // by itself: back to the form, which keeps the name and rooms.
      askForToken();
      el.token.value = '';
      closeAll();
      showJoinError('Your token expired: paste a fresh one to go on.');
      el.token.focus();
      return;
    }
    if (status === 'connecting') setStatus(client.attempt === 0 ? 'connecting…' : 'reconnecting…', 'connecting');
    else if (status === 'offline') {
      if (!navigator.onLine) setStatus('offline', 'offline');
      else setStatus(retryIn > 1000 ? `reconnecting in ${Math.ceil(retryIn / 1000)} s` : 'reconnecting…', 'offline');
      for (const user of [...page.typers.keys()]) stopTyping(user);
    }
  });
  client.on('error', ({ code, reason }) => {
    if (!page.everJoined && (code === 'unauthorized' || code === 'bad_request')) {
      // The node refused the join itself: back to the form.
      if (code === 'unauthorized') askForToken();
      closeAll();
      showJoinError(`The server refused to join: ${reason ?? code}`);
      (code === 'unauthorized' ? el.token : el.name).focus();
      return;
    }
    notice(code === 'rate_limited' ? 'You are going too fast.' : `Error: ${reason ?? code}`);
  });
  client.on('room_update', (entry) => {
    if (!directory.open) return;
    if (entry.members === 0 && !entry.last_ts) directory.rooms.delete(entry.room);
    else directory.rooms.set(entry.room, { room: entry.room, members: entry.members, last_ts: entry.last_ts });
    renderDirectory();
  });
  client.on('notify', ({ room, level }) => {
    if (!page.levels) return;
    page.levels[room] = level;
    renderNotifyLevel();
  });
  client.on('conversation', ({ room, peer }) => {
    addConversation(room);
    if (document.hidden && 'Notification' in window && Notification.permission === 'granted') {
      const n = new Notification(`${peer} wrote to you`, { body: 'A new direct conversation', tag: room });
      n.onclick = () => { window.focus(); show(room); n.close(); };
    } else {
      notice(`${peer} started a conversation with you.`);
    }
  });
  el.joinView.hidden = true;
  el.chatView.hidden = false;
  for (const r of rooms) if (!page.order.includes(r)) {
    page.order.push(r);
    const room = client.room(r);
    watch(room);
    room.join();
  }
  show(current);
  client.connect();
}

function closeAll() {
  dropAttachments();
  closeLightbox();
  page.client?.close();
  page.client = null;
  page.current = null;
  el.chatView.hidden = true;
  el.joinView.hidden = false;
  updateTitle();
}

el.joinForm.addEventListener('submit', (e) => {
  e.preventDefault();
  const name = el.name.value.trim();
  const room = el.room.value.trim();
  const problem = !name ? 'Enter a name.'
    : [...name].length > 32 ? 'Names have at most 32 characters.'
      : !ROOM_RE.test(room) ? 'Rooms use letters, digits, _ . and - (at most 64).' : '';
  showJoinError(problem);
  if (problem) return;
  if (!el.tokenField.hidden) page.token = el.token.value.trim();
  // Rooms of an earlier visit under the same name come back too.
  const earlier = store.get('chatnode.name') === name ? savedRooms() : [];
  store.set('chatnode.name', name);
  try { sessionStorage.setItem('chatnode.token', page.token); } catch { /* disabled */ }
  start(name, [...new Set([...earlier, room])], room);
});

el.browse.addEventListener('click', () => toggleDirectory());
el.liftForm.addEventListener('submit', (e) => {
  e.preventDefault();
  const user = el.liftUser.value.trim();
  const action = e.submitter?.value;
  if (!user || !page.current || !['unmute', 'unban'].includes(action)) return;
  page.current.moderate(action, user);
  el.liftUser.value = '';
});
el.directoryMore.addEventListener('click', () => loadDirectory(true));

el.addRoomForm.addEventListener('submit', (e) => {
  e.preventDefault();
  const name = el.addRoom.value.trim();
  if (!ROOM_RE.test(name)) { notice('Rooms use letters, digits, _ . and - (at most 64).'); return; }
  el.addRoom.value = '';
  openRoom(name);
});

el.composer.addEventListener('submit', (e) => { e.preventDefault(); sendMessage(); });
el.attach.addEventListener('click', () => el.attachInput.click());
el.attachInput.addEventListener('change', () => {
  attachFiles([...el.attachInput.files]);
  el.attachInput.value = '';
  el.message.focus();
});
/** Whether the node this page is connected to takes uploads. */
const takesFiles = () => Boolean(page.client?.files);
el.message.addEventListener('paste', (e) => {
  const files = [...(e.clipboardData?.files ?? [])];
  if (!files.length || !takesFiles()) return; // text pastes as text
  e.preventDefault();
  attachFiles(files, { pasted: true });
});
// Files dropped anywhere on the room attach to the next message.
let dragDepth = 0;
const dragsFiles = (e) => [...(e.dataTransfer?.types ?? [])].includes('Files');
el.chatView.addEventListener('dragenter', (e) => {
  if (!dragsFiles(e) || !page.current || !takesFiles()) return;
  e.preventDefault();
  dragDepth += 1;
  el.dropHint.hidden = false;
});
el.chatView.addEventListener('dragover', (e) => {
  if (!dragsFiles(e) || !page.current || !takesFiles()) return;
  e.preventDefault();
  e.dataTransfer.dropEffect = 'copy';
});
el.chatView.addEventListener('dragleave', () => {
  dragDepth = Math.max(0, dragDepth - 1);
  if (!dragDepth) el.dropHint.hidden = true;
});
el.chatView.addEventListener('drop', (e) => {
  dragDepth = 0;
  el.dropHint.hidden = true;
  if (!e.dataTransfer?.files?.length || !page.current || !takesFiles()) return;
  e.preventDefault();
  attachFiles([...e.dataTransfer.files]);
  el.message.focus();
});
el.searchForm.addEventListener('submit', (e) => { e.preventDefault(); runSearch(); });
el.searchMore.addEventListener('click', () => runSearch(true));
el.searchClose.addEventListener('click', closeSearch);
el.search.addEventListener('keydown', (e) => { if (e.key === 'Escape') { el.search.value = ''; closeSearch(); } });
el.message.addEventListener('keydown', (e) => {
  if (!e.isComposing && commandMenuKey(e)) return;
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); sendMessage(); }
  if (e.key === 'Escape' && page.replyTo) { e.preventDefault(); page.replyTo = null; renderReplyBar(); return; }
  if (e.key === 'ArrowUp' && e.altKey) {
    // Alt+Up: into the message list, at the newest message.
    e.preventDefault();
    [...el.messages.querySelectorAll('li.msg[data-id]')].at(-1)?.focus();
    return;
  }
  if (e.key === 'ArrowUp' && !el.message.value && page.current) {
    // Up in an empty box: edit one's last message.
    const last = [...page.current.messages].reverse().find((m) => m.user === page.name && !m.deleted);
    if (last) { e.preventDefault(); startEdit(last.id); }
  }
});
el.message.addEventListener('input', () => {
  autosize();
  renderCommandMenu();
  const now = Date.now();
  if (page.current?.joined && el.message.value.trim() && now - page.lastTypingSent >= TYPING_EVERY_MS) {
    page.lastTypingSent = now;
    page.current.typing();
  }
});
el.log.addEventListener('scroll', () => { maybeLoadOlder(); markSeen(); }, { passive: true });
// By keyboard: Up and Down move between messages in the list (Tab then
// reaches the focused one's buttons), Home and End to the first and last,
// Escape back to the message box.
el.log.addEventListener('keydown', (e) => {
  if (e.target.closest('.editor')) return;
  const items = [...el.messages.querySelectorAll('li.msg[data-id]')];
  if (!items.length) return;
  const at = items.indexOf(e.target.closest('li.msg'));
  let next = null;
  if (e.key === 'ArrowUp') next = items[at < 0 ? items.length - 1 : Math.max(0, at - 1)];
  else if (e.key === 'ArrowDown') next = at < 0 ? null : items[Math.min(items.length - 1, at + 1)];
  else if (e.key === 'Home') next = items[0];
  else if (e.key === 'End') next = items.at(-1);
  else if (e.key === 'Escape') { e.preventDefault(); el.message.focus(); return; }
  if (!next) return;
  e.preventDefault();
  next.focus();
});
el.threadClose.addEventListener('click', closeThread);
el.threadComposer.addEventListener('submit', (e) => { e.preventDefault(); sendInThread(); });
el.threadMessage.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); sendInThread(); }
});
el.threadPane.addEventListener('keydown', (e) => { if (e.key === 'Escape') { e.preventDefault(); closeThread(); } });
el.replyCancel.addEventListener('click', () => { page.replyTo = null; renderReplyBar(); el.message.focus(); });
el.leave.addEventListener('click', () => { if (page.current) closeRoom(page.current.name); });
el.membersToggle.addEventListener('click', () => {
  const open = el.members.classList.toggle('open');
  el.membersToggle.setAttribute('aria-expanded', String(open));
});
document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape' && el.members.classList.contains('open')) {
    el.members.classList.remove('open');
    el.membersToggle.setAttribute('aria-expanded', 'false');
  }
});
window.addEventListener('online', () => page.client?.reconnectNow());
window.addEventListener('offline', () => { if (page.client && !page.client.connected) setStatus('offline', 'offline'); });
document.addEventListener('visibilitychange', () => {
  if (document.hidden) return;
  page.hiddenCount = 0;
  updateTitle();
  markSeen();
  page.client?.reconnectNow();   // back to the tab: do not wait out the backoff
});
window.addEventListener('focus', markSeen);
window.addEventListener('hashchange', () => {
  let name = '';
  try { name = decodeURIComponent(location.hash.slice(1)); } catch { return; }
  if (ROOM_RE.test(name) && page.client && name !== page.current?.name) openRoom(name);
});

function savedRooms() {
  try {
    const list = JSON.parse(store.get('chatnode.rooms', '[]'));
    return Array.isArray(list) ? list.filter((r) => typeof r === 'string' && ROOM_RE.test(r)).slice(0, 20) : [];
  } catch { return []; }
}

// A token handed over in the address (?token=...) is kept for this tab and
// taken out of the address bar, so it is not bookmarked or shared.
const params = new URLSearchParams(location.search);
try { page.token = sessionStorage.getItem('chatnode.token') ?? ''; } catch { /* disabled */ }
// (1.2) Where fresh tokens come from (?token_url=/path: the deployment's
// backend on this page's own origin, which its balancer routes there; the
// page's Content-Security-Policy lets it connect nowhere else): the page
// renews its token before it expires.
try { page.tokenUrl = sessionStorage.getItem('chatnode.token_url') ?? ''; } catch { /* disabled */ }
if (params.has('token_url')) {
  page.tokenUrl = '';
  try {
    const url = new URL(params.get('token_url') ?? '', location.href);
    if (url.origin === location.origin) page.tokenUrl = url.href;
    else console.warn('token_url must be on this page\'s origin: no renewal');
  } catch { /* not a URL: no renewal */ }
  params.delete('token_url');
  try { sessionStorage.setItem('chatnode.token_url', page.tokenUrl); } catch { /* disabled */ }
}
const handedOver = params.has('token') || params.has('token_url');
if (params.has('token')) {
  page.token = params.get('token') ?? '';
  params.delete('token');
  try { sessionStorage.setItem('chatnode.token', page.token); } catch { /* disabled */ }
}
if (handedOver) {
  const rest = params.toString();
  history.replaceState(null, '', location.pathname + (rest ? `?${rest}` : '') + location.hash);
}
if (page.token) askForToken();

// Remembered name and rooms; the room in the address (#room) is shown.
const savedName = store.get('chatnode.name');
let hashRoom = '';
try { hashRoom = decodeURIComponent(location.hash.slice(1)); } catch { /* malformed */ }
el.name.value = savedName;
el.room.value = ROOM_RE.test(hashRoom) ? hashRoom : store.get('chatnode.room');
if (ROOM_RE.test(hashRoom) && savedName) start(savedName, [...new Set([...savedRooms(), hashRoom])], hashRoom);
else (savedName ? el.room : el.name).focus();
