// chatnode's service worker: shows a Web Push as a notification (the room,
// who wrote, what, and how many more), one per room (a newer push for the
// room replaces the one shown), and a click on it opens that room: in a
// window of the page already open, else in a new one.

const roomTitle = (p) => (p.dm ? p.user : `${p.user} in # ${p.room}`);

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('push', (event) => {
  let p = null;
  try { p = event.data?.json(); } catch { /* not one of ours */ }
  if (!p || typeof p.room !== 'string') return;
  const more = Number.isInteger(p.count) && p.count > 1 ? ` (+${p.count - 1} more)` : '';
  event.waitUntil(self.registration.showNotification(roomTitle(p), {
    body: `${String(p.text ?? '')}${more}`,
    tag: `room:${p.room}`,
    renotify: true,
    data: { room: p.room, id: p.id },
  }));
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const room = event.notification.data?.room;
  if (typeof room !== 'string') return;
  const url = new URL(`./#${encodeURIComponent(room)}`, self.registration.scope).href;
  event.waitUntil((async () => {
    const open = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
    const page = open.find((c) => new URL(c.url).origin === self.location.origin);
    if (page) {
      page.postMessage({ type: 'open-room', room });
      await page.focus();
      return;
    }
    await self.clients.openWindow(url);
  })());
});
