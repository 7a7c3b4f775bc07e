// chatnode browser client: plain JavaScript over the protocol in PROTOCOL.md.
// Messages are kept by id and shown in id order, so reconnects, resumes and
// retries never show one twice or out of place. User text is only ever set
// as textContent, never parsed as HTML.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const el = {
    joinView: $('join-view'), joinForm: $('join-form'), name: $('name'), room: $('room'),
    tokenField: $('token-field'), token: $('token'),
    joinError: $('join-error'), chatView: $('chat-view'), roomTitle: $('room-title'),
    status: $('status'), leave: $('leave'), membersToggle: $('members-toggle'),
    memberCount: $('member-count'), memberCountShort: $('member-count-short'), members: $('members'),
    memberList: $('member-list'), log: $('log'), historyNote: $('history-note'), messages: $('messages'),
    typing: $('typing'), notice: $('notice'), composer: $('composer'), message: $('message'),
  };

  const ROOM_RE = /^[A-Za-z0-9_.-]{1,64}$/;
  const TYPING_EVERY_MS = 2000;     // send `typing` at most this often
  const TYPING_SHOWN_MS = 4000;     // hide someone's indicator after this long
  const BACKOFF_MIN_MS = 500;
  const BACKOFF_MAX_MS = 15000;
  const PAGE = 50;

  // -- ids: "<ms>-<seq>", compared numerically --------------------------------
  function parseId(id) {
    const dash = id.indexOf('-');
    return [BigInt(id.slice(0, dash)), BigInt(id.slice(dash + 1))];
  }
  function compareIds(a, b) {
    const [a1, a2] = parseId(a);
    const [b1, b2] = parseId(b);
    if (a1 !== b1) return a1 < b1 ? -1 : 1;
    return a2 < b2 ? -1 : a2 > b2 ? 1 : 0;
  }

  // -- state -----------------------------------------------------------------
  const state = {
    name: '', room: '', ws: null, joined: false, wantOpen: false,
    attempt: 0, reconnectTimer: null, countdownTimer: null,
    ids: [],                 // message ids shown, ascending
    byId: new Map(),         // id -> <li>
    pending: new Map(),      // cid -> { text, li, tries, timer } (sent, not yet acknowledged)
    more: false, loadingOlder: false,
    members: new Set(),
    typers: new Map(),       // user -> timeout
    lastTypingSent: 0,
    unread: 0,
    token: '',               // join token, where the node requires one ([auth] secret)
  };

  // -- rendering ---------------------------------------------------------------
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

  function setTime(li, ts) {
    const when = li.querySelector('time');
    when.dateTime = new Date(ts).toISOString();
    when.title = new Date(ts).toLocaleString();
    when.textContent = timeOf(ts);
  }

  function messageItem(user, text, ts, mine) {
    const li = document.createElement('li');
    li.className = 'msg' + (mine ? ' mine' : '');
    const meta = document.createElement('div');
    meta.className = 'meta';
    const who = document.createElement('span');
    who.className = 'user';
    who.textContent = user;
    who.style.setProperty('--hue', String(hueOf(user)));
    const when = document.createElement('time');
    meta.append(who, when);
    const body = document.createElement('div');
    body.className = 'text';
    body.textContent = text;
    li.append(meta, body);
    if (ts) setTime(li, ts);
    return li;
  }

  function nearBottom() {
    return el.log.scrollHeight - el.log.scrollTop - el.log.clientHeight < 80;
  }

  function firstPendingLi() {
    for (const p of state.pending.values()) return p.li;
    return null;
  }

  /** Resolves a pending send acknowledged by message `m`; returns its <li> or null. */
  function takePending(m) {
    if (!m.cid || m.user !== state.name) return null;
    const p = state.pending.get(m.cid);
    if (!p) return null;
    clearTimeout(p.timer);
    state.pending.delete(m.cid);
    return p.li;
  }

  /** Inserts a stored message at its place by id; ignores one already shown. */
  function addMessage(m) {
    if (m.room !== state.room || typeof m.id !== 'string') return false;
    let li = takePending(m);
    if (state.byId.has(m.id)) {
      // Already shown (say, from a resume) and now acknowledged again: drop the pending copy.
      li?.remove();
      return false;
    }
    if (li) {
      li.classList.remove('pending', 'failed');
      li.querySelector('.retry')?.remove();
      setTime(li, m.ts);
      li.remove();
    } else {
      li = messageItem(m.user, m.text, m.ts, m.user === state.name);
    }
    li.dataset.id = m.id;
    // Binary search for the first shown id greater than this one.
    let lo = 0, hi = state.ids.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (compareIds(state.ids[mid], m.id) < 0) lo = mid + 1; else hi = mid;
    }
    const next = lo < state.ids.length ? state.byId.get(state.ids[lo]) : firstPendingLi();
    el.messages.insertBefore(li, next ?? null);
    state.ids.splice(lo, 0, m.id);
    state.byId.set(m.id, li);
    return true;
  }

  function addMessages(list, { older = false } = {}) {
    if (!Array.isArray(list) || list.length === 0) return 0;
    const stick = nearBottom();
    const oldHeight = el.log.scrollHeight, oldTop = el.log.scrollTop;
    let added = 0;
    for (const m of list) if (addMessage(m)) added += 1;
    // Older ones go above: keep what the reader looks at where it is.
    if (older) el.log.scrollTop = oldTop + (el.log.scrollHeight - oldHeight);
    else if (stick) el.log.scrollTop = el.log.scrollHeight;
    return added;
  }

  function renderMembers() {
    const names = [...state.members].sort((a, b) => a.localeCompare(b));
    el.memberList.replaceChildren(...names.map((n) => {
      const li = document.createElement('li');
      li.textContent = n;
      if (n === state.name) {
        const you = document.createElement('span');
        you.className = 'you';
        you.textContent = ' (you)';
        li.append(you);
      }
      return li;
    }));
    // The list spans every node: the node keeps what it sends exact, and a
    // member hears no presence event about itself, so a count carried in
    // those events could lag behind the list.
    const n = String(names.length);
    el.memberCount.textContent = n;
    el.memberCountShort.textContent = n;
  }

  function renderTyping() {
    const names = [...state.typers.keys()];
    el.typing.textContent = names.length === 0 ? ''
      : names.length === 1 ? `${names[0]} is typing…`
      : names.length === 2 ? `${names[0]} and ${names[1]} are typing…`
      : 'Several people are typing…';
  }

  function stopTyping(user) {
    if (!state.typers.has(user)) return;
    clearTimeout(state.typers.get(user));
    state.typers.delete(user);
    renderTyping();
  }

  function setStatus(text, kind = '') {
    // Only touch the live region when the words change, so screen readers are not flooded.
    if (el.status.textContent !== text) el.status.textContent = text;
    el.status.className = 'status' + (kind ? ' ' + kind : '');
  }

  let noticeTimer = null;
  function notify(text) {
    el.notice.textContent = text;
    el.notice.hidden = false;
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(() => { el.notice.hidden = true; }, 5000);
  }

  function updateHistoryNote() {
    el.historyNote.hidden = false;
    el.historyNote.textContent = state.loadingOlder ? 'Loading older messages…'
      : state.more ? 'Scroll up for older messages' : 'This is the start of the room';
  }

  function updateTitle() {
    const base = state.room ? `# ${state.room} · chatnode` : 'chatnode';
    document.title = state.unread > 0 ? `(${state.unread}) ${base}` : base;
  }

  // -- connection --------------------------------------------------------------
  function socketUrl() {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    return `${scheme}//${location.host}/ws`;
  }

  function send(obj) {
    if (state.ws && state.ws.readyState === WebSocket.OPEN) {
      state.ws.send(JSON.stringify(obj));
      return true;
    }
    return false;
  }

  function stopTimers() {
    clearTimeout(state.reconnectTimer);
    clearInterval(state.countdownTimer);
    state.reconnectTimer = state.countdownTimer = null;
  }

  function dropSocket() {
    const ws = state.ws;
    state.ws = null;            // its close handler sees it is no longer current
    state.joined = false;
    if (ws && ws.readyState <= WebSocket.OPEN) ws.close(1000);
  }

  function connect() {
    stopTimers();
    dropSocket();
    setStatus(state.attempt === 0 ? 'connecting…' : 'reconnecting…', 'connecting');
    let ws;
    try { ws = new WebSocket(socketUrl()); } catch { scheduleReconnect(1006); return; }
    state.ws = ws;
    ws.onmessage = (e) => {
      if (state.ws !== ws) return;
      let data;
      try { data = JSON.parse(e.data); } catch { return; }
      // A node frame is one event or an array of events (batched under load).
      for (const ev of Array.isArray(data) ? data : [data]) {
        if (ev && typeof ev === 'object') handle(ev);
      }
    };
    ws.onclose = (e) => {
      if (state.ws !== ws) return;
      state.ws = null;
      state.joined = false;
      state.loadingOlder = false;
      for (const user of [...state.typers.keys()]) stopTyping(user);
      if (state.wantOpen) scheduleReconnect(e.code);
    };
  }

  function scheduleReconnect(code) {
    stopTimers();
    // 1012 (service restart) and 1001 (going away): the node is draining and others
    // are up, so come back at once, with a little jitter so not everyone at once.
    const soon = (code === 1012 || code === 1001) && state.attempt === 0;
    const cap = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** state.attempt);
    const delay = soon ? 50 + Math.random() * 450 : Math.random() * cap;   // full jitter
    state.attempt += 1;
    const due = Date.now() + delay;
    const tick = () => {
      if (!navigator.onLine) { setStatus('offline', 'offline'); return; }
      const left = Math.ceil((due - Date.now()) / 1000);
      setStatus(left > 0 ? `reconnecting in ${left} s` : 'reconnecting…', 'offline');
    };
    tick();
    state.countdownTimer = setInterval(tick, 250);
    state.reconnectTimer = setTimeout(connect, delay);
  }

  function joinRoom() {
    const since = state.ids.length ? state.ids[state.ids.length - 1] : undefined;
    send({ type: 'join', room: state.room, name: state.name, ...(since ? { since } : {}),
      ...(state.token ? { token: state.token } : {}) });
  }

  /** Shows the token field (a node that requires tokens refused the join). */
  function askForToken() {
    el.tokenField.hidden = false;
    el.token.value = state.token;
  }

  function sendPending(cid) {
    const p = state.pending.get(cid);
    if (!p || !state.joined) return;
    clearTimeout(p.timer);
    send({ type: 'send', room: state.room, text: p.text, cid });
  }

  /** Asks for older messages when there are some and the reader is at the top. */
  function maybeLoadOlder() {
    if (!state.more || state.loadingOlder || !state.joined || !state.ids.length) return;
    const atTop = el.log.scrollTop <= 40;
    const noScrollbar = el.log.scrollHeight <= el.log.clientHeight + 4;
    if (!atTop && !noScrollbar) return;
    state.loadingOlder = true;
    updateHistoryNote();
    send({ type: 'history', room: state.room, before: state.ids[0], limit: PAGE });
  }

  function handle(ev) {
    switch (ev.type) {
      case 'welcome':
        joinRoom();
        break;
      case 'joined': {
        if (ev.room !== state.room) break;
        state.joined = true;
        state.attempt = 0;
        stopTimers();
        setStatus('connected', 'online');
        state.members = new Set(Array.isArray(ev.members) ? ev.members : []);
        renderMembers();
        const first = state.ids.length === 0;
        if (first) state.more = Boolean(ev.more);
        addMessages(ev.history);
        if (first) { el.log.scrollTop = el.log.scrollHeight; updateHistoryNote(); }
        // Sends not yet acknowledged go again with the same cid: the node stores each cid once.
        for (const cid of [...state.pending.keys()]) sendPending(cid);
        maybeLoadOlder();
        break;
      }
      case 'message':
        if (ev.room !== state.room) break;
        stopTyping(ev.user);
        if (addMessages([ev]) && document.hidden) { state.unread += 1; updateTitle(); }
        break;
      case 'history':
        if (ev.room !== state.room) break;
        state.loadingOlder = false;
        state.more = Boolean(ev.more);
        addMessages(ev.messages, { older: true });
        updateHistoryNote();
        maybeLoadOlder();
        break;
      case 'presence':
        if (ev.room !== state.room) break;
        if (ev.event === 'join') state.members.add(ev.user);
        else if (ev.event === 'leave') { state.members.delete(ev.user); stopTyping(ev.user); }
        renderMembers();
        break;
      case 'typing': {
        if (ev.room !== state.room || ev.user === state.name) break;
        clearTimeout(state.typers.get(ev.user));
        state.typers.set(ev.user, setTimeout(() => stopTyping(ev.user), TYPING_SHOWN_MS));
        renderTyping();
        break;
      }
      case 'error':
        handleError(ev);
        break;
      default:
        break;      // newer event types are ignored
    }
  }

  const REASONS = {
    rate_limited: 'You are sending too fast; that message was not sent.',
    too_large: 'That message is too long.',
    not_joined: 'You were not in the room; rejoining…',
    unavailable: 'The server could not store a message; retrying…',
  };

  function handleError(ev) {
    const p = ev.cid ? state.pending.get(ev.cid) : undefined;
    if (!state.joined && ev.code === 'unauthorized') {
      // The node requires a token: back to the form, which now asks for one.
      leaveRoom();
      askForToken();
      showJoinError(`The server refused to join: ${ev.reason ?? 'a token is required'}`);
      el.token.focus();
      return;
    }
    if (!state.joined && !p && ev.code === 'bad_request') {
      // The join itself was refused (a name the node does not accept): back to the form.
      leaveRoom();
      showJoinError(`The server refused to join: ${ev.reason ?? 'bad request'}`);
      return;
    }
    if (p && ev.code === 'unavailable') {
      // Stored nowhere: retry the same cid, backing off.
      p.tries += 1;
      const delay = Math.random() * Math.min(BACKOFF_MAX_MS, 1000 * 2 ** p.tries);
      clearTimeout(p.timer);
      p.timer = setTimeout(() => sendPending(ev.cid), delay);
      notify(REASONS.unavailable);
      return;
    }
    if (p) markFailed(ev.cid, p, ev.code !== 'too_large');
    notify(REASONS[ev.code] ?? `Error: ${ev.reason ?? ev.code}`);
    if (ev.code === 'not_joined') joinRoom();
  }

  function markFailed(cid, p, retryable) {
    clearTimeout(p.timer);
    state.pending.delete(cid);
    p.li.classList.remove('pending');
    p.li.classList.add('failed');
    p.li.querySelector('time').textContent = 'not sent';
    if (!retryable || p.li.querySelector('.retry')) return;
    const retry = document.createElement('button');
    retry.type = 'button';
    retry.className = 'retry';
    retry.textContent = 'Retry';
    retry.addEventListener('click', () => {
      retry.remove();
      p.li.classList.remove('failed');
      p.li.classList.add('pending');
      p.li.querySelector('time').textContent = 'sending…';
      p.tries = 0;
      state.pending.set(cid, p);
      sendPending(cid);
    });
    p.li.querySelector('.meta').append(retry);
  }

  // -- user actions --------------------------------------------------------------
  function randomId() {
    if (crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    return [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  }

  function sendMessage() {
    const text = el.message.value.replace(/\s+$/, '');
    if (!text.trim()) return;
    const cid = randomId();
    const li = messageItem(state.name, text, 0, true);
    li.classList.add('pending');
    li.querySelector('time').textContent = 'sending…';
    el.messages.append(li);
    state.pending.set(cid, { text, li, tries: 0, timer: null });
    el.log.scrollTop = el.log.scrollHeight;
    el.message.value = '';
    state.lastTypingSent = 0;
    autosize();
    sendPending(cid);      // when not joined yet, it goes once the room is joined
  }

  function autosize() {
    el.message.style.height = 'auto';
    el.message.style.height = Math.min(el.message.scrollHeight, 160) + 'px';
  }

  function showJoinError(problem) {
    el.joinError.hidden = !problem;
    el.joinError.textContent = problem;
  }

  function enterRoom(name, room) {
    state.wantOpen = false;
    stopTimers();
    dropSocket();
    for (const p of state.pending.values()) clearTimeout(p.timer);
    for (const user of [...state.typers.keys()]) stopTyping(user);
    Object.assign(state, { name, room, wantOpen: true, attempt: 0, ids: [], more: false,
      loadingOlder: false, unread: 0 });
    state.byId.clear(); state.pending.clear(); state.members.clear();
    el.messages.replaceChildren();
    el.historyNote.hidden = true;
    renderMembers();
    el.roomTitle.textContent = `# ${room}`;
    updateTitle();
    if (location.hash !== `#${room}`) history.replaceState(null, '', `#${room}`);
    el.joinView.hidden = true;
    el.chatView.hidden = false;
    el.message.focus();
    connect();
  }

  function leaveRoom() {
    state.wantOpen = false;
    stopTimers();
    send({ type: 'leave', room: state.room });
    dropSocket();
    state.room = '';
    updateTitle();
    el.chatView.hidden = true;
    el.joinView.hidden = false;
    history.replaceState(null, '', location.pathname + location.search);
    el.room.focus();
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
    if (!el.tokenField.hidden) state.token = el.token.value.trim();
    try {
      localStorage.setItem('chatnode.name', name);
      localStorage.setItem('chatnode.room', room);
      sessionStorage.setItem('chatnode.token', state.token);
    } catch { /* storage may be disabled */ }
    enterRoom(name, room);
  });

  el.composer.addEventListener('submit', (e) => { e.preventDefault(); sendMessage(); });
  el.message.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); sendMessage(); }
  });
  el.message.addEventListener('input', () => {
    autosize();
    const now = Date.now();
    if (state.joined && el.message.value.trim() && now - state.lastTypingSent >= TYPING_EVERY_MS) {
      state.lastTypingSent = now;
      send({ type: 'typing', room: state.room });
    }
  });
  el.log.addEventListener('scroll', maybeLoadOlder, { passive: true });
  el.leave.addEventListener('click', leaveRoom);
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
  window.addEventListener('online', () => { if (state.wantOpen && !state.ws) connect(); });
  window.addEventListener('offline', () => { if (state.wantOpen && !state.ws) setStatus('offline', 'offline'); });
  document.addEventListener('visibilitychange', () => {
    if (document.hidden) return;
    state.unread = 0;
    updateTitle();
    if (state.wantOpen && !state.ws) connect();   // back to the tab: do not wait out the backoff
  });
  window.addEventListener('hashchange', () => {
    const room = decodeURIComponent(location.hash.slice(1));
    if (ROOM_RE.test(room) && room !== state.room && state.name) {
      el.room.value = room;
      enterRoom(state.name, room);
    }
  });

  // A token handed over in the address (?token=...) is kept for this tab
  // and taken out of the address bar, so it is not bookmarked or shared.
  const params = new URLSearchParams(location.search);
  try { state.token = sessionStorage.getItem('chatnode.token') ?? ''; } catch { /* disabled */ }
  if (params.has('token')) {
    state.token = params.get('token') ?? '';
    params.delete('token');
    const rest = params.toString();
    history.replaceState(null, '', location.pathname + (rest ? `?${rest}` : '') + location.hash);
    try { sessionStorage.setItem('chatnode.token', state.token); } catch { /* disabled */ }
  }
  if (state.token) askForToken();

  // Remembered name; room from the address (#room) or from last time.
  let savedName = '', savedRoom = '';
  try {
    savedName = localStorage.getItem('chatnode.name') ?? '';
    savedRoom = localStorage.getItem('chatnode.room') ?? '';
  } catch { /* storage may be disabled */ }
  let hashRoom = '';
  try { hashRoom = decodeURIComponent(location.hash.slice(1)); } catch { /* malformed */ }
  el.name.value = savedName;
  el.room.value = ROOM_RE.test(hashRoom) ? hashRoom : savedRoom;
  if (ROOM_RE.test(hashRoom) && savedName) enterRoom(savedName, hashRoom);
  else (savedName ? el.room : el.name).focus();
})();
