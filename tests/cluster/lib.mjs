// Real processes for the cluster tests: a redis-server and chatnode nodes on
// free ports, and WebSocket clients that record every event they receive.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';

export const sourceDir = process.env.CHATNODE_SOURCE_DIR ?? path.resolve(import.meta.dirname, '../..');
export const chatnodeBin = process.env.CHATNODE_BIN ?? path.join(sourceDir, 'build/chatnode');

/** Polls `predicate` until it holds or `ms` pass; throws with `what` then. */
export async function waitFor(predicate, what, ms = 10000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

function waitExit(child, ms) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); }, ms);
    child.once('exit', () => { clearTimeout(timer); resolve(); });
  });
}

/** A redis-server child with append-only persistence in a scratch folder. */
export class Redis {
  async start() {
    this.dir ??= mkdtempSync(path.join(os.tmpdir(), 'chatnode-redis-'));
    this.port ??= await freePort();
    this.child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1',
      '--save', '', '--appendonly', 'yes', '--dir', this.dir], { stdio: 'ignore' });
    await waitFor(() => new Promise((resolve) => {
      const s = net.connect(this.port, '127.0.0.1', () => { s.end(); resolve(true); });
      s.on('error', () => resolve(false));
    }), 'redis-server to listen');
    return this;
  }
  get url() { return `redis://127.0.0.1:${this.port}`; }
  async stop() {
    if (!this.child) return;
    this.child.kill('SIGTERM'); // Redis flushes its append-only file on SIGTERM
    await waitExit(this.child, 5000);
    this.child = null;
  }
  pause() { this.child.kill('SIGSTOP'); }
  resume() { this.child.kill('SIGCONT'); }
  async destroy() {
    if (this.child) { this.child.kill('SIGCONT'); await this.stop(); }
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A chatnode child. `env` adds CHATNODE_* overrides. */
export class Node {
  constructor(name, redisUrl, env = {}) {
    this.name = name; this.redisUrl = redisUrl; this.env = env; this.stderr = '';
  }
  async start() {
    this.port ??= await freePort();
    this.child = spawn(chatnodeBin, ['--config', path.join(sourceDir, 'config/node.toml'),
      '--listen', `127.0.0.1:${this.port}`, '--node', this.name, '--redis', this.redisUrl,
      '--web-root', path.join(sourceDir, 'web')], {
      env: { ...process.env, CHATNODE_LOG_LEVEL: 'warn', CHATNODE_LIMITS_RATE_PER_SECOND: '10000',
        CHATNODE_LIMITS_RATE_BURST: '10000', ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stderr.on('data', (d) => { this.stderr += d; });
    let out = '';
    this.child.stdout.on('data', (d) => { out += d; });
    await waitFor(() => /listening on http/.test(out) || this.child.exitCode !== null,
      `node ${this.name} to listen`);
    if (this.child.exitCode !== null) throw new Error(`node ${this.name} exited: ${this.stderr}`);
    return this;
  }
  async ready() {
    const r = await fetch(`http://127.0.0.1:${this.port}/readyz`).catch(() => null);
    return r?.status === 200;
  }
  async metrics() {
    const text = await (await fetch(`http://127.0.0.1:${this.port}/metrics`)).text();
    const values = {};
    for (const line of text.split('\n')) {
      const m = line.match(/^([a-z_]+(?:\{[^}]*\})?) (\S+)$/);
      if (m) values[m[1]] = Number(m[2]);
    }
    return values;
  }
  kill(signal = 'SIGKILL') { this.child.kill(signal); }
  /** Stops the node gracefully; throws when it did not exit cleanly or a
   *  sanitizer reported anything. */
  async stop() {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      await waitExit(this.child, 8000);
      if (this.child.exitCode !== 0)
        throw new Error(`node ${this.name} exited with ${this.child.exitCode ?? this.child.signalCode}:\n${this.stderr}`);
    }
    const report = this.stderr.match(/(AddressSanitizer|LeakSanitizer|ThreadSanitizer|runtime error:)[\s\S]{0,2000}/);
    if (report) throw new Error(`node ${this.name}: sanitizer report:\n${report[0]}`);
  }
}

/** A WebSocket client that keeps every event, split from batches. */
export class Client {
  constructor(node, name) {
    this.node = node; this.name = name; this.events = []; this.closeCode = null;
  }
  async connect() {
    this.closeCode = null;
    this.ws = new WebSocket(`ws://127.0.0.1:${this.node.port}/ws`);
    this.ws.on('message', (data) => {
      const parsed = JSON.parse(data.toString());
      for (const e of Array.isArray(parsed) ? parsed : [parsed]) this.events.push(e);
    });
    this.ws.on('close', (code) => { this.closeCode = code; });
    this.ws.on('error', () => {});
    await waitFor(() => this.events.some((e) => e.type === 'welcome'), `${this.name} welcome`);
    return this;
  }
  send(obj) { if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(obj)); }
  async join(room, since) {
    const before = this.events.length;
    this.send({ type: 'join', room, name: this.name, ...(since ? { since } : {}) });
    return waitFor(() => this.events.slice(before).find((e) => e.type === 'joined' && e.room === room),
      `${this.name} joined ${room}`);
  }
  /** Message ids of a room in the order received: history of joins and live ones. */
  ids(room) {
    const out = [];
    for (const e of this.events) {
      if (e.type === 'joined' && e.room === room) out.push(...e.history.map((m) => m.id));
      if (e.type === 'message' && e.room === room) out.push(e.id);
    }
    return out;
  }
  messages(room) {
    const out = [];
    for (const e of this.events) {
      if (e.type === 'joined' && e.room === room) out.push(...e.history);
      if (e.type === 'message' && e.room === room) out.push(e);
    }
    return out;
  }
  close() { this.ws?.terminate(); }
}

export function compareIds(a, b) {
  const [a1, a2] = a.split('-').map(BigInt);
  const [b1, b2] = b.split('-').map(BigInt);
  return a1 === b1 ? (a2 < b2 ? -1 : a2 > b2 ? 1 : 0) : (a1 < b1 ? -1 : 1);
}

/** Counts what a list of ids got wrong: duplicates and steps back. */
export function audit(ids) {
  const seen = new Set();
  let duplicates = 0, outOfOrder = 0;
  ids.forEach((id, i) => {
    if (seen.has(id)) duplicates++;
    seen.add(id);
    if (i > 0 && compareIds(ids[i - 1], id) >= 0) outOfOrder++;
  });
  return { count: ids.length, unique: seen.size, duplicates, outOfOrder };
}
