// What the browser suites share: Debian's Chromium launched headless, and
// page hooks that record notifications and let a test hide the page.

import { chromium } from 'playwright-core';

export function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
}

/** Runs in the page before its scripts (context.addInitScript): notifications
 *  are recorded in window.__notes (permission: window.__permission, else the
 *  browser's), and window.__hide(true|false) makes the page hidden or shown. */
export function pageHooks() {
  window.__notes = [];
  const Real = window.Notification;
  class Recorded {
    static get permission() { return window.__permission ?? Real?.permission ?? 'default'; }
    static requestPermission() { window.__asked = (window.__asked ?? 0) + 1; return Promise.resolve(Recorded.permission); }
    constructor(title, options) { window.__notes.push({ title, body: options?.body }); }
    close() {}
  }
  window.Notification = Recorded;
  window.__hide = (hidden) => {
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => hidden });
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => (hidden ? 'hidden' : 'visible') });
    document.dispatchEvent(new Event('visibilitychange'));
  };
}
