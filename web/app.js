// chatnode browser client: plain JavaScript over the protocol in PROTOCOL.md.
// Messages are kept by id and shown in id order, so reconnects, resumes and
// retries never show one twice or out of place. User text is only ever set
// as textContent.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const el = {
    joinView: $('join-view'), joinForm: $('join-form'), name: $('name'), room: $('room'),
    joinError: $('join-error'), chatView: $('chat-view'), roomTitle: $('room-title'),
    status: $('status'), leave: $('leave'), membersToggle: $('members-toggle'),
    memberCount: $('member-count'), memberCountShort: $('member-count-short'), members: $('members'), memberList: $('member-list'),
    log: $('log'), historyNote: $('history-note'), messages: $('messages'), typing: $('typing'),
    notice: $('notice'), composer: $('composer'), message: $('message'),
  };

  const ROOM_RE = /^[A-Za-z0-9_.-]{1,64}$/;
  const TYPING_EVERY_MS = 2000;
  const TYPING_SHOWN_MS = 4000;
  const BACKOFF_MIN_MS = 500;
  const BACKOFF_MAX_MS = 15000;

  // -- ids: "<ms>-<seq>", compared numerically --------------------------------
  function parseId(id) {
    const [ms, seq] = id.split('-');
    return [BigInt(ms), BigInt(seq)];
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
    pending: new Map(),      // cid -> { text, li }
    more: false, loadingOlder: false,
    members: new Set(),
    typers: new Map(),       // user -> timeout
    lastTypingSent: 0,
  };

  // -- rendering ---------------------------------------------------------------
  function timeOf(ts) {
    const d = new Date(ts);
    return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  }

  function messageItem(user, text, ts, mine) {
    const li = document.createElement('li');
    li.className = 'msg' + (mine ? ' mine' : '');
    const meta = document.createElement('div');
    meta.className = 'meta';
    const who = document.createElement('span');
    who.className = 'user';
    who.textContent = user;
    const when = document.createElement('time');
    if (ts) { when.dateTime = new Date(ts).toISOString(); when.textContent = timeOf(ts); }
    meta.append(who, when);
    const body = document.createElement('div');
    body.className = 'text';
    body.textContent = text;
    li.append(meta, body);
    return li;
  }

  function nearBottom() {
    return el.log.scrollHeight - el.log.scrollTop - el.log.clientHeight < 80;
  }

  /** Inserts a stored message at its place by id; ignores one already shown. */
  function addMessage(m) {
    if (m.room !== state.room || state.byId.has(m.id)) return false;
    let li;
    const pending = m.cid && m.user === state.name ? state.pending.get(m.cid) : undefined;
    if (pending) {
      state.pending.delete(m.cid);
      li = pending.li;
      li.classList.remove('pending', 'failed');
      li.querySelector('time').textContent = timeOf(m.ts);
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
    const before = lo < state.ids.length ? state.byId.get(state.ids[lo]) : firstPending();
    el.messages.insertBefore(li, before ?? null);
    state.ids.splice(lo, 0, m.id);
    state.byId.set(m.id, li);
    return true;
  }

  function firstPending() {
    for (const p of state.pending.values()) return p.li;
    return null;
  }

  function addMessages(list, { keepScroll = false } = {}) {
    const stick = nearBottom();
    const oldHeight = el.log.scrollHeight, oldTop = el.log.scrollTop;
    list.forEach(addMessage);
    if (keepScroll) el.log.scrollTop = oldTop + (el.log.scrollHeight - oldHeight);
    else if (stick) el.log.scrollTop = el.log.scrollHeight;
  }

  function renderMembers() {
    const names = [...state.members].sort((a, b) => a.localeCompare(b));
    el.memberList.replaceChildren(...names.map((n) => {
      const li = document.createElement('li');
      li.textContent = n === state.name ? `${n} (you)` : n;
      return li;
    }));
    showCount(names.length);
  }

  function showCount(n) {
    el.memberCount.textContent = String(n);
    el.memberCountShort.textContent = String(n);
  }

  function renderTyping() {
    const names = [...state.typers.keys()];
    el.typing.textContent = names.length === 0 ? ''
      : names.length === 1 ? `${names[0]} is typing…`
      : names.length === 2 ? `${names[0]} and ${names[1]} are typing…`
      : 'Several people are typing…';
  }

  function setStatus(text, kind) {
    el.status.textContent = text;
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

  function connect() {
    clearTimeout(state.reconnectTimer);
    clearInterval(state.countdownTimer);
    setStatus(state.attempt === 0 ? 'connecting…' : 'reconnecting…');
    const ws = new WebSocket(socketUrl());
    state.ws = ws;
    ws.onmessage = (e) => {
      let data;
      try { data = JSON.parse(e.data); } catch { return; }
      for (const ev of Array.isArray(data) ? data : [data]) handle(ev);
    };
    ws.onclose = (e) => {
      if (state.ws !== ws) return;
      state.ws = null;
      state.joined = false;
      if (state.wantOpen) scheduleReconnect(e.code);
    };
  }

  function scheduleReconnect(code) {
    // A node restarting or shutting down (1012, 1001): others are there now.
    const soon = code === 1012 || code === 1001;
    const cap = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** state.attempt);
    const delay = soon && state.attempt === 0 ? 100 + Math.random() * 400 : Math.random() * cap;
    state.attempt += 1;
    const due = Date.now() + delay;
    const tick = () => {
      const left = Math.max(0, Math.ceil((due - Date.now()) / 1000));
      setStatus(left > 0 ? `offline — reconnecting in ${left} s` : 'reconnecting…', 'offline');
    };
    tick();
    state.countdownTimer = setInterval(tick, 500);
    state.reconnectTimer = setTimeout(connect, delay);
  }

  function joinRoom() {
    const since = state.ids.length ? state.ids[state.ids.length - 1] : undefined;
    send({ type: 'join', room: state.room, name: state.name, ...(since ? { since } : {}) });
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
        clearInterval(state.countdownTimer);
        setStatus('connected', 'online');
        state.members = new Set(ev.members);
        renderMembers();
        const first = state.ids.length === 0;
        if (first) state.more = ev.more;
        addMessages(ev.history);
        if (first) { el.log.scrollTop = el.log.scrollHeight; updateHistoryNote(); }
        // Sends that were not acknowledged go again, with the same cid.
        for (const [cid, p] of state.pending) send({ type: 'send', room: state.room, text: p.text, cid });
        break;
      }
      case 'message':
        addMessages([ev]);
        if (state.typers.has(ev.user)) { clearTimeout(state.typers.get(ev.user)); state.typers.delete(ev.user); renderTyping(); }
        break;
      case 'history':
        if (ev.room !== state.room) break;
        state.loadingOlder = false;
        state.more = ev.more;
        addMessages(ev.messages, { keepScroll: true });
        updateHistoryNote();
        break;
      case 'presence':
        if (ev.room !== state.room) break;
        if (ev.event === 'join') state.members.add(ev.user); else state.members.delete(ev.user);
        renderMembers();
        if (ev.count !== state.members.size) showCount(ev.count);
        break;
      case 'typing': {
        if (ev.room !== state.room || ev.user === state.name) break;
        clearTimeout(state.typers.get(ev.user));
        state.typers.set(ev.user, setTimeout(() => { state.typers.delete(ev.user); renderTyping(); }, TYPING_SHOWN_MS));
        renderTyping();
        break;
      }
      case 'error':
        handleError(ev);
        break;
    }
  }

  function handleError(ev) {
    const p = ev.cid ? state.pending.get(ev.cid) : undefined;
    if (p && ev.code === 'unavailable') {
      // Stored nowhere yet: retry the same cid in a moment.
      setTimeout(() => { if (state.pending.has(ev.cid)) send({ type: 'send', room: state.room, text: p.text, cid: ev.cid }); }, 1000);
      notify('The server could not store a message; retrying…');
      return;
    }
    if (p) {
      p.li.classList.add('failed');
      state.pending.delete(ev.cid);
    }
    const reasons = {
      rate_limited: 'You are sending too fast; that message was dropped.',
      too_large: 'That message is too long.',
      not_joined: 'You are not in this room any more; rejoining…',
    };
    notify(reasons[ev.code] ?? `Error: ${ev.reason}`);
    if (ev.code === 'not_joined') joinRoom();
  }

  // -- user actions --------------------------------------------------------------
  function randomId() {
    return (crypto.randomUUID?.() ?? `${Date.now()}-${Math.random().toString(36).slice(2)}`).slice(0, 64);
  }

  function sendMessage() {
    const text = el.message.value.replace(/\s+$/, '');
    if (!text.trim()) return;
    const cid = randomId();
    const li = messageItem(state.name, text, 0, true);
    li.classList.add('pending');
    el.messages.append(li);
    state.pending.set(cid, { text, li });
    el.log.scrollTop = el.log.scrollHeight;
    el.message.value = '';
    autosize();
    if (state.joined) send({ type: 'send', room: state.room, text, cid });
  }

  function autosize() {
    el.message.style.height = 'auto';
    el.message.style.height = Math.min(el.message.scrollHeight, 128) + 'px';
  }

  function enterRoom(name, room) {
    Object.assign(state, { name, room, wantOpen: true, attempt: 0, ids: [], more: false, joined: false });
    state.byId.clear(); state.pending.clear(); state.members.clear();
    el.messages.replaceChildren();
    el.roomTitle.textContent = `# ${room}`;
    document.title = `${room} — chatnode`;
    history.replaceState(null, '', `#${room}`);
    el.joinView.hidden = true;
    el.chatView.hidden = false;
    el.message.focus();
    connect();
  }

  function leaveRoom() {
    state.wantOpen = false;
    clearTimeout(state.reconnectTimer);
    clearInterval(state.countdownTimer);
    if (state.ws) { send({ type: 'leave', room: state.room }); state.ws.close(1000); state.ws = null; }
    el.chatView.hidden = true;
    el.joinView.hidden = false;
    history.replaceState(null, '', location.pathname);
    el.room.focus();
  }

  el.joinForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const name = el.name.value.trim();
    const room = el.room.value.trim();
    const problem = !name ? 'Enter a name.' : name.length > 32 ? 'Names have at most 32 characters.'
      : !ROOM_RE.test(room) ? 'Rooms use letters, digits, _ . and - (at most 64).' : '';
    el.joinError.hidden = !problem;
    el.joinError.textContent = problem;
    if (problem) return;
    localStorage.setItem('chatnode.name', name);
    localStorage.setItem('chatnode.room', room);
    enterRoom(name, room);
  });

  el.composer.addEventListener('submit', (e) => { e.preventDefault(); sendMessage(); });
  el.message.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); sendMessage(); }
  });
  el.message.addEventListener('input', () => {
    autosize();
    const now = Date.now();
    if (state.joined && el.message.value && now - state.lastTypingSent > TYPING_EVERY_MS) {
      state.lastTypingSent = now;
      send({ type: 'typing', room: state.room });
    }
  });
  el.log.addEventListener('scroll', () => {
    if (el.log.scrollTop > 40 || !state.more || state.loadingOlder || !state.joined || !state.ids.length) return;
    state.loadingOlder = true;
    updateHistoryNote();
    send({ type: 'history', room: state.room, before: state.ids[0], limit: 50 });
  });
  el.leave.addEventListener('click', leaveRoom);
  el.membersToggle.addEventListener('click', () => {
    const open = el.members.classList.toggle('open');
    el.membersToggle.setAttribute('aria-expanded', String(open));
  });
  window.addEventListener('online', () => { if (state.wantOpen && !state.ws) connect(); });

  // Remembered name; room from the address (#room) or from last time.
  el.name.value = localStorage.getItem('chatnode.name') ?? '';
  const hashRoom = decodeURIComponent(location.hash.slice(1));
  el.room.value = ROOM_RE.test(hashRoom) ? hashRoom : localStorage.getItem('chatnode.room') ?? '';
  if (hashRoom && ROOM_RE.test(hashRoom) && el.name.value) enterRoom(el.name.value, hashRoom);
  else (el.name.value ? el.room : el.name).focus();
})();
