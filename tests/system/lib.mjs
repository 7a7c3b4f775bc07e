// Real processes for the cluster tests: a redis-server and chatnode nodes on
// free ports, and WebSocket clients that record every event they receive.
// Optionally inside network namespaces joined by veth pairs (Netlab).

import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';

// For suites outside this folder (tests/chaos), which have no node_modules of their own.
export { WebSocket };

// The folder of this file (import.meta.dirname needs Node.js 20.11; Debian 12 has 18).
const here = path.dirname(fileURLToPath(import.meta.url));

export const sourceDir = process.env.CHATNODE_SOURCE_DIR ?? path.resolve(here, '../..');
export const chatnodeBin = process.env.CHATNODE_BIN ?? path.join(sourceDir, 'build/chatnode');

/** Polls `predicate` until it holds or `ms` pass; throws with `what` then.
 *  A predicate that never returns (a request nobody answers) ends the wait
 *  at the deadline too. `what` may be a function, asked only then (to say
 *  what the last try saw). */
export async function waitFor(predicate, what, ms = 10000) {
  const deadline = Date.now() + ms;
  const describe = () => (typeof what === 'function' ? what() : what);
  for (;;) {
    let timer;
    const late = Symbol('late');
    const bound = new Promise((resolve) => { timer = setTimeout(() => resolve(late), Math.max(0, deadline - Date.now()) + 1000); });
    const value = await Promise.race([predicate(), bound]).finally(() => clearTimeout(timer));
    if (value === late) throw new Error(`timed out after ${ms} ms waiting for ${describe()} (the check itself did not return)`);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${describe()}`);
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

/** A redis-server child with append-only persistence in a scratch folder.
 *  With `netns` it runs inside that network namespace, listens on all of its
 *  addresses, and the test reaches it at `host`. */
export class Redis {
  constructor({ netns = null, host = '127.0.0.1' } = {}) {
    this.netns = netns; this.host = host;
  }
  async start() {
    this.dir ??= mkdtempSync(path.join(os.tmpdir(), 'chatnode-redis-'));
    this.port ??= this.netns ? 6379 : await freePort();
    const args = ['--port', String(this.port), '--save', '', '--appendonly', 'yes', '--dir', this.dir,
      ...(this.netns ? ['--bind', '0.0.0.0', '--protected-mode', 'no'] : ['--bind', '127.0.0.1']), ...(this.extraArgs ?? [])];
    this.child = this.netns
      ? spawn('ip', ['netns', 'exec', this.netns, 'redis-server', ...args], { stdio: 'ignore' })
      : spawn('redis-server', args, { stdio: 'ignore' });
    await waitFor(() => new Promise((resolve) => {
      const s = net.connect(this.port, this.host, () => { s.end(); resolve(true); });
      s.on('error', () => resolve(false));
    }), 'redis-server to listen');
    return this;
  }
  get url() { return `redis://${this.host}:${this.port}`; }
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

/** A PostgreSQL 15 server child (Debian's postgresql-15): `initdb` into a
 *  scratch folder and `postgres` on a free loopback port. Both refuse to run
 *  as root, so under root they run as the `postgres` user Debian's package
 *  made. Trust authentication for user `chatnode` on loopback only. */
export class Postgres {
  static bin = '/usr/lib/postgresql/15/bin';
  /** `host`: an address of this host it listens on besides loopback (the
   *  url names it), trusting clients of `trustNet` (CIDR) there too. */
  constructor({ host = null, trustNet = null } = {}) { this.host = host; this.trustNet = trustNet; }
  asUser(program, args) {
    const root = process.getuid?.() === 0;
    return root ? ['runuser', ['-u', 'postgres', '--', program, ...args]] : [program, args];
  }
  async start() {
    if (!this.dir) {
      this.dir = mkdtempSync(path.join(os.tmpdir(), 'chatnode-pg-'));
      if (process.getuid?.() === 0) execFileSync('chown', ['postgres', this.dir]);
      const [program, args] = this.asUser(path.join(Postgres.bin, 'initdb'),
        ['-D', path.join(this.dir, 'data'), '-U', 'chatnode', '--auth=trust', '-E', 'UTF8', '--no-sync']);
      execFileSync(program, args, { stdio: 'ignore' });
      if (this.trustNet) {
        const hba = path.join(this.dir, 'data', 'pg_hba.conf');
        writeFileSync(hba, `${readFileSync(hba, 'utf8')}host all all ${this.trustNet} trust\n`);
      }
    }
    this.port ??= await freePort();
    const [program, args] = this.asUser(path.join(Postgres.bin, 'postgres'),
      ['-D', path.join(this.dir, 'data'), '-p', String(this.port), '-k', this.dir,
        '-c', `listen_addresses=127.0.0.1${this.host ? `,${this.host}` : ''}`, '-c', 'fsync=off', '-c', 'max_connections=100']);
    this.stderr = '';
    this.child = spawn(program, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child.stderr.on('data', (d) => { this.stderr += d; });
    await waitFor(() => {
      if (this.child.exitCode !== null) throw new Error(`postgres exited: ${this.stderr}`);
      try { this.query('SELECT 1'); return true; } catch { return false; }
    }, 'postgres to accept connections', 20000);
    return this;
  }
  get url() { return `postgresql://chatnode@${this.host ?? '127.0.0.1'}:${this.port}/postgres`; }
  /** Runs SQL with psql; rows as arrays of strings. */
  query(sql) {
    const out = execFileSync('psql', ['-X', '-At', '-F', '\t', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1',
      '-p', String(this.port), '-U', 'chatnode', '-d', 'postgres', '-c', sql],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60000 });
    return out.split('\n').filter((l) => l !== '').map((l) => l.split('\t'));
  }
  /** The server's processes: postgres itself and every backend. */
  processes() {
    const main = Number(readFileSync(path.join(this.dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
    const children = execFileSync('pgrep', ['-P', String(main)], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
    return [main, ...children];
  }
  /** Freezes the server (every backend): statements sent to it wait, as on a stalled database. */
  pause() { for (const pid of this.processes()) process.kill(pid, 'SIGSTOP'); }
  resume() { for (const pid of this.processes()) process.kill(pid, 'SIGCONT'); }
  /** Stops the server (fast shutdown: sessions are ended, as when a
   *  database goes away); its data stays for start(). The signal goes to
   *  postgres itself: runuser would pass on a SIGTERM (smart shutdown, which
   *  waits for every client to leave). */
  async stop() {
    if (!this.child) return;
    try {
      const pid = Number(readFileSync(path.join(this.dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
      process.kill(pid, 'SIGINT');
    } catch {
      this.child.kill('SIGINT');
    }
    await waitExit(this.child, 10000);
    this.child = null;
  }
  async destroy() {
    await this.stop();
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A free port in [low, high) whose cluster bus port (+10000) is free too. */
async function freeClusterPort([low, high]) {
  const listens = (port) => new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
  for (;;) {
    const port = low + Math.floor(Math.random() * (high - low));
    if (await listens(port) && await listens(port + 10000)) return port;
  }
}

/** A Redis Cluster of redis-server children on loopback, made with
 *  `redis-cli --cluster create`: `masters` masters, each with `replicas`.
 *  Ports are drawn from `ports` ([low, high), high at most 55536 for the bus
 *  port); suites that may run at once on one machine can keep apart. */
export class RedisCluster {
  /** `announceIp`: an address of this host the servers listen on too and
   *  give clients in their redirects, so nodes in network namespaces can
   *  reach them (no protected mode then). */
  constructor({ masters = 3, replicas = 1, nodeTimeoutMs = 1000, ports = [20000, 45000], announceIp = null } = {}) {
    this.masterCount = masters; this.replicaCount = replicas; this.nodeTimeoutMs = nodeTimeoutMs;
    this.ports = ports; this.announceIp = announceIp;
    this.nodes = [];
  }
  async start() {
    this.dir = mkdtempSync(path.join(os.tmpdir(), 'chatnode-cluster-'));
    for (let i = 0; i < this.masterCount * (1 + this.replicaCount); i++) {
      const node = { port: await freeClusterPort(this.ports) };
      this.nodes.push(node);
      await this.startNode(node);
    }
    execFileSync('redis-cli', ['--cluster', 'create', ...this.nodes.map((n) => `127.0.0.1:${n.port}`),
      '--cluster-replicas', String(this.replicaCount), '--cluster-yes'], { stdio: 'ignore' });
    await waitFor(() => this.nodes.every((n) => /cluster_state:ok/.test(this.cli(n.port, 'CLUSTER', 'INFO'))),
      'the cluster to be ok on every node', 30000);
    // Every node must know every role: one that still lists a replica as a
    // master with no slots (gossip not yet round) misleads masters().
    await waitFor(() => this.nodes.every((n) => {
      const flags = this.cli(n.port, 'CLUSTER', 'NODES').trim().split('\n').map((line) => line.split(' ')[2] ?? '');
      return flags.filter((f) => f.includes('master')).length === this.masterCount &&
        flags.filter((f) => f.includes('slave')).length === this.masterCount * this.replicaCount;
    }), 'every node to know every master and replica', 30000);
    // A replica that has not synced yet cannot take over from its master.
    await waitFor(() => this.nodes.every((n) => {
      const info = this.cli(n.port, 'INFO', 'replication');
      return /role:master/.test(info) || /master_link_status:up/.test(info);
    }), 'every replica in sync with its master', 30000);
    return this;
  }
  async startNode(node) {
    const reach = this.announceIp
      ? ['--bind', '127.0.0.1', this.announceIp, '--cluster-announce-ip', this.announceIp, '--protected-mode', 'no']
      : ['--bind', '127.0.0.1'];
    node.child = spawn('redis-server', ['--port', String(node.port), ...reach, '--cluster-enabled', 'yes',
      '--cluster-config-file', `nodes-${node.port}.conf`, '--cluster-node-timeout', String(this.nodeTimeoutMs),
      '--appendonly', 'yes', '--appendfilename', `appendonly-${node.port}.aof`, '--appenddirname', `aof-${node.port}`,
      // Other shards go on serving while one has no master (Redis's default stops them all).
      '--cluster-require-full-coverage', 'no',
      '--save', '', '--repl-diskless-sync-delay', '0', '--dir', this.dir], { stdio: 'ignore' });
    await waitFor(() => new Promise((resolve) => {
      const s = net.connect(node.port, '127.0.0.1', () => { s.end(); resolve(true); });
      s.on('error', () => resolve(false));
    }), `redis-server ${node.port} to listen`);
  }
  /** redis-cli against one node; its output, or '' when it fails. */
  cli(port, ...args) {
    try {
      // Bounded: a server that never answers must fail the check, not hang the suite.
      return execFileSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 });
    } catch {
      return '';
    }
  }
  /** The seeds a node is given: two of the nodes. */
  get url() { return `redis://${this.nodes.slice(0, 2).map((n) => `127.0.0.1:${n.port}`).join(',')}`; }
  /** The masters now, as a node that answers sees them: [{ port, slots }]
   *  with slots as CLUSTER NODES lists them ("0-5460", "7"). */
  masters() {
    for (const n of this.nodes) {
      const text = this.cli(n.port, 'CLUSTER', 'NODES');
      if (!text) continue;
      return text.trim().split('\n').map((line) => line.split(' '))
        .filter((f) => f[2].includes('master') && !f[2].includes('fail'))
        .map((f) => ({ port: Number(f[1].split(':')[1].split('@')[0]), slots: f.slice(8).filter((r) => !r.startsWith('[')) }));
    }
    return [];
  }
  /** The ports of the replicas of the master on `port`. */
  replicasOf(port) {
    const id = this.cli(port, 'CLUSTER', 'MYID').trim();
    const text = this.cli(port, 'CLUSTER', 'NODES');
    return text.trim().split('\n').map((line) => line.split(' '))
      .filter((f) => f[2].includes('slave') && f[3] === id)
      .map((f) => Number(f[1].split(':')[1].split('@')[0]));
  }
  /** The master that owns the slot of `key`. */
  masterOf(key) {
    const slot = this.slotOf(key);
    return this.masters().find((m) => m.slots.some((r) => {
      const [a, b] = r.split('-').map(Number);
      return slot >= a && slot <= (b ?? a);
    }));
  }
  /** Room names (`prefix` and a number) until every master owns at least
   *  `perMaster` of them: a Map from master port to its rooms. */
  roomsOnEveryMaster(perMaster, prefix) {
    // Masters that own slots: a server just started again may still call
    // itself a master with none until gossip reaches it, and no room would
    // ever be its (the search never ended, and hung the suite). Bounded too:
    // this runs synchronously, and a hang here no test deadline can end.
    const byMaster = new Map(this.masters().filter((m) => m.slots.length).map((m) => [m.port, []]));
    for (let i = 0; [...byMaster.values()].some((r) => r.length < perMaster); i++) {
      if (i === 500) throw new Error(`no ${perMaster} rooms on every master in 500 names: ${JSON.stringify([...byMaster])}`);
      const room = `${prefix}${i}`;
      const rooms = byMaster.get(this.masterOf(`chatnode:{${room}}:log`)?.port);
      if (rooms && rooms.length < perMaster) rooms.push(room);
    }
    return byMaster;
  }
  /** The entry ids of a room's stream, read from its master now. */
  history(room) {
    const key = `chatnode:{${room}}:log`;
    return this.cli(this.masterOf(key)?.port, 'XRANGE', key, '-', '+').split('\n').filter((l) => /^\d+-\d+$/.test(l));
  }
  /** Moves one slot, keys and all, from one master to another while the
   *  cluster serves it (the steps `redis-cli --cluster reshard` takes):
   *  IMPORTING and MIGRATING, MIGRATE of its keys in batches, then the new
   *  owner announced to every master. `pauseMs` between batches. */
  async migrateSlot(slot, fromPort, toPort, pauseMs = 0) {
    const id = (port) => this.cli(port, 'CLUSTER', 'MYID').trim();
    const [fromId, toId] = [id(fromPort), id(toPort)];
    const must = (port, ...args) => {
      const out = execFileSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8', timeout: 10000 }).trim();
      if (/^(ERR|NOKEY|IOERR)/.test(out) && !/NOKEY/.test(out)) throw new Error(`${args.join(' ')}: ${out}`);
      return out;
    };
    must(toPort, 'CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', fromId);
    must(fromPort, 'CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', toId);
    for (;;) {
      const keys = must(fromPort, 'CLUSTER', 'GETKEYSINSLOT', String(slot), '10').split('\n').filter(Boolean);
      if (keys.length === 0) break;
      for (const key of keys) {
        must(fromPort, 'MIGRATE', '127.0.0.1', String(toPort), '', '0', '5000', 'KEYS', key);
        if (pauseMs) await new Promise((r) => setTimeout(r, pauseMs));
      }
    }
    for (const m of this.masters()) must(m.port, 'CLUSTER', 'SETSLOT', String(slot), 'NODE', toId);
  }
  /** SIGKILLs the redis-server on `port`. */
  async kill(port) {
    const node = this.nodes.find((n) => n.port === port);
    node.child.kill('SIGKILL');
    await waitExit(node.child, 5000);
  }
  /** Starts the redis-server on `port` again, with its data and cluster config. */
  async restart(port) { await this.startNode(this.nodes.find((n) => n.port === port)); }
  /** The slot of `key`, as any node that answers computes it. */
  slotOf(key) {
    for (const n of this.nodes) {
      const text = this.cli(n.port, 'CLUSTER', 'KEYSLOT', key).trim();
      if (text) return Number(text);
    }
    throw new Error('no cluster node answers');
  }
  /** Calls of each command on one node (INFO commandstats). */
  commandCalls(port) {
    const calls = {};
    for (const m of this.cli(port, 'INFO', 'commandstats').matchAll(/^cmdstat_([a-z|_]+):calls=(\d+)/gm)) calls[m[1]] = Number(m[2]);
    return calls;
  }
  async destroy() {
    for (const n of this.nodes) {
      if (n.child && n.child.exitCode === null) { n.child.kill('SIGKILL'); await waitExit(n.child, 5000); }
    }
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A chatnode child. `env` adds CHATNODE_* overrides. With `netns` it runs
 *  inside that network namespace (`ip netns exec` execs chatnode itself, so
 *  signals reach it) and listens on `host`, an address of that namespace. */
export class Node {
  /** `openFiles`: the process's descriptor limit (run under prlimit). */
  constructor(name, redisUrl, env = {}, { netns = null, host = '127.0.0.1', openFiles = null } = {}) {
    this.name = name; this.redisUrl = redisUrl; this.env = env; this.stderr = '';
    this.netns = netns; this.host = host; this.openFiles = openFiles;
  }
  async start() {
    this.port ??= this.netns ? 8080 : await freePort();
    const args = ['--config', path.join(sourceDir, 'config/node.toml'),
      '--listen', `${this.host}:${this.port}`, '--node', this.name, '--redis', this.redisUrl,
      '--web-root', path.join(sourceDir, 'web')];
    // ip netns exec and prlimit both exec the node: the child is chatnode itself.
    const [program, argv] = this.netns ? ['ip', ['netns', 'exec', this.netns, chatnodeBin, ...args]]
      : this.openFiles ? ['prlimit', [`--nofile=${this.openFiles}:${this.openFiles}`, chatnodeBin, ...args]]
        : [chatnodeBin, args];
    this.child = spawn(program, argv, {
      env: { ...process.env, CHATNODE_LOG_LEVEL: 'warn', CHATNODE_LIMITS_RATE_PER_SECOND: '10000',
        CHATNODE_LIMITS_RATE_BURST: '10000', ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stderr.on('data', (d) => { this.stderr += d; });
    this.stdout = '';
    this.child.stdout.on('data', (d) => { this.stdout += d; });
    await waitFor(() => /listening on http/.test(this.stdout) || this.child.exitCode !== null,
      `node ${this.name} to listen`);
    if (this.child.exitCode !== null) throw new Error(`node ${this.name} exited: ${this.stderr}`);
    return this;
  }
  async ready() {
    const r = await fetch(`http://${this.host}:${this.port}/readyz`, { signal: AbortSignal.timeout(5000) }).catch(() => null);
    return r?.status === 200;
  }
  async metrics() {
    const text = await (await fetch(`http://${this.host}:${this.port}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
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
    // A node run out of descriptors on purpose (openFiles): UBSan's vptr check
    // probes memory through a pipe it cannot open then, and reports every
    // object it checks as having an invalid vptr ("memory cannot be
    // printed"). Those reports are the sanitizer's, not the node's; any
    // other report still fails.
    const stderr = this.openFiles
      ? this.stderr.split('\n').filter((line) => !VPTR_UNCHECKABLE.some((re) => re.test(line))).join('\n')
      : this.stderr;
    const report = stderr.match(/(AddressSanitizer|LeakSanitizer|ThreadSanitizer|runtime error:)[\s\S]{0,2000}/);
    if (report) throw new Error(`node ${this.name}: sanitizer report:\n${report[0]}`);
  }
}

/** The lines of such a report; the node's own log lines may come between them. */
const VPTR_UNCHECKABLE = [
  /runtime error: member (?:access|call) (?:within|on) address 0x[0-9a-f]+ which does not point to an object of type '[^']+'$/,
  /^0x[0-9a-f]+: note: object has invalid vptr$/, /^<memory cannot be printed>$/,
  /^ [0-9a-f]{2}(?: +[0-9a-f]{2})+ *$/, /^ +\^~+ *$/, /^ +invalid vptr$/,
];

/** A node's /readyz: its status and body; status 0 when it does not answer within 2 s. */
export async function readyz(node) {
  try {
    const r = await fetch(`http://${node.host}:${node.port}/readyz`, { signal: AbortSignal.timeout(2000) });
    return { status: r.status, text: (await r.text()).trim() };
  } catch (e) {
    return { status: 0, text: String(e.cause?.code ?? e.message) };
  }
}

/** nginx with deploy/nginx.conf as it is, in front of `nodes`: only the
 *  two files compose mounts beside it (listen address, upstreams) differ. */
export class Balancer {
  constructor(nodes) { this.nodes = nodes; }
  async start() {
    this.dir = mkdtempSync(path.join(os.tmpdir(), 'chatnode-nginx-'));
    this.port = await freePort();
    copyFileSync(path.join(sourceDir, 'deploy/nginx.conf'), path.join(this.dir, 'nginx.conf'));
    writeFileSync(path.join(this.dir, 'chatnode-listen.conf'), `listen 127.0.0.1:${this.port};\n`);
    writeFileSync(path.join(this.dir, 'chatnode-upstreams.conf'),
      this.nodes.map((n) => `server 127.0.0.1:${n.port} max_fails=1 fail_timeout=2s;\n`).join(''));
    this.child = spawn('nginx', ['-p', this.dir, '-c', path.join(this.dir, 'nginx.conf'), '-g', 'daemon off;'],
      { stdio: ['ignore', 'ignore', 'pipe'] });
    this.stderr = '';
    this.child.stderr.on('data', (d) => { this.stderr += d; });
    await waitFor(async () => {
      if (this.child.exitCode !== null) throw new Error(`nginx exited: ${this.stderr}`);
      const r = await fetch(`${this.url}healthz`).catch(() => null);
      return r?.status === 200;
    }, 'nginx to serve');
    return this;
  }
  /** The page's address, and so its origin without the trailing slash. */
  get url() { return `http://127.0.0.1:${this.port}/`; }
  get origin() { return `http://127.0.0.1:${this.port}`; }
  async stop() {
    if (this.child) { this.child.kill('SIGTERM'); await waitExit(this.child, 5000); this.child = null; }
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A WebSocket client that keeps every event, split from batches. */
export class Client {
  constructor(node, name) {
    this.node = node; this.name = name; this.events = []; this.closeCode = null;
    this.frames = []; // events per WebSocket frame, in arrival order
  }
  async connect() {
    this.closeCode = null;
    const from = this.events.length; // a reconnect waits for its own welcome
    this.ws = new WebSocket(`ws://${this.node.host ?? '127.0.0.1'}:${this.node.port}/ws`);
    this.ws.on('message', (data) => {
      const parsed = JSON.parse(data.toString());
      const events = Array.isArray(parsed) ? parsed : [parsed];
      this.frames.push(events.length);
      for (const e of events) { this.events.push(e); this.onEvent?.(e); }
    });
    this.ws.on('close', (code) => { this.closeCode = code; });
    this.ws.on('error', () => {});
    await waitFor(() => this.events.slice(from).some((e) => e.type === 'welcome'), `${this.name} welcome`);
    return this;
  }
  send(obj) { if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(obj)); }
  /** Sends a request with a cid of its own and waits for the answer that carries it. */
  async ask(request) {
    const from = this.events.length;
    const cid = `c${Math.random().toString(36).slice(2)}`;
    this.send({ ...request, cid });
    return waitFor(() => this.events.slice(from).find((e) => e.cid === cid), `${this.name}: answer to ${request.type}`);
  }
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
  /** Who this client has been told is in a room: the last `joined` list with
   *  every presence event after it applied; `redundant` lists the events that
   *  changed nothing (a join of someone present, a leave of someone absent).
   *  In a big room: the names held (the `joined` page, `members` pages after
   *  it, `presence_diff` batches applied), `upTo` the last name the node
   *  counts as held (null: every name). */
  presence(room) {
    let members = new Set(), redundant = [], count = null, upTo = null;
    for (const e of this.events) {
      if (e.room !== room) continue;
      if (e.type === 'joined') {
        members = new Set(e.members); redundant = []; count = e.count ?? members.size;
        upTo = e.members_more ? e.members.at(-1) : null;
      }
      if (e.type === 'members') {
        for (const name of e.members) members.add(name);
        if (upTo !== null) upTo = e.more ? (e.members.length && e.members.at(-1) > upTo ? e.members.at(-1) : upTo) : null;
        count = e.count;
      }
      if (e.type === 'presence_diff') {
        if (e.upto !== undefined) {
          for (const name of members) if (name > e.upto) members.delete(name);
          upTo = e.upto;
        }
        for (const name of e.leaves) members.delete(name);
        for (const name of e.joins) members.add(name);
        count = e.count;
      }
      if (e.type !== 'presence') continue;
      const had = members.has(e.user);
      if (e.event === 'join' ? had : !had) redundant.push(`${e.event} ${e.user}`);
      if (e.event === 'join') members.add(e.user); else members.delete(e.user);
      count = e.count;
    }
    return { members: [...members].sort(), redundant, count, upTo };
  }
  close() { this.ws?.terminate(); }
}

/** A client of the page's WebSocket that reconnects when closed and resumes
 *  with since, as the browser client does, sending the page's Origin. */
export class ResumingClient {
  constructor(url, origin, name, room) {
    this.url = url; this.origin = origin; this.name = name; this.room = room;
    this.ids = []; this.cids = new Set(); this.closes = []; this.open = true; this.reconnects = 0;
  }
  connect() {
    const ws = new WebSocket(this.url, { origin: this.origin });
    this.ws = ws;
    ws.on('message', (data) => {
      const parsed = JSON.parse(data.toString());
      for (const e of Array.isArray(parsed) ? parsed : [parsed]) this.handle(e);
    });
    ws.on('close', (code) => {
      this.closes.push(code);
      this.joined = false;
      if (this.open) { this.reconnects++; setTimeout(() => this.connect(), 50 + Math.random() * 200).unref(); }
    });
    ws.on('error', () => {});
    return this;
  }
  handle(e) {
    if (e.type === 'welcome') {
      const since = this.ids.at(-1);
      this.send({ type: 'join', room: this.room, name: this.name, ...(since ? { since } : {}) });
    } else if (e.type === 'joined') {
      this.joined = true;
      for (const m of e.history) this.take(m);
      this.onJoined?.();
    } else if (e.type === 'message') {
      this.take(e);
    } else if (e.type === 'error' && e.code === 'unavailable') {
      this.unavailable = (this.unavailable ?? 0) + 1;
    }
  }
  send(obj) { if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(obj)); }
  take(m) { this.ids.push(m.id); if (m.cid) this.cids.add(m.cid); }
  close() { this.open = false; this.ws?.terminate(); }
}

/** Sends through a ResumingClient every `ms`; what is not acknowledged goes
 *  again, with its cid, after each rejoin and on `settle()`. */
export class SteadyWriter {
  constructor(client) {
    this.client = client; this.texts = new Map(); this.n = 0;
    client.onJoined = () => this.resend();
  }
  start(ms) {
    this.timer = setInterval(() => {
      const cid = `w${this.n++}`;
      this.texts.set(cid, `steady ${cid}`);
      if (this.client.joined) this.client.send({ type: 'send', room: this.client.room, text: this.texts.get(cid), cid });
    }, ms);
    this.timer.unref(); // a test that fails before stop() must still end
  }
  stop() { clearInterval(this.timer); }
  resend() {
    for (const [cid, text] of this.texts)
      if (!this.client.cids.has(cid)) this.client.send({ type: 'send', room: this.client.room, text, cid });
  }
  async settle(ms = 20000) {
    this.stop();
    await waitFor(() => { this.resend(); return this.client.cids.size === this.texts.size; }, 'every send acknowledged', ms);
  }
}

/** What each reader got of the writer's acknowledged messages: lost,
 *  duplicated and out of order, after waiting for them to arrive. */
export async function tally(writer, readers, ms = 20000) {
  const acked = writer.client.cids.size;
  await waitFor(() => readers.every((r) => r.cids.size >= acked), 'readers to have every message', ms).catch(() => {});
  return readers.map((r) => {
    const a = audit(r.ids);
    return { name: r.name, received: r.cids.size, lost: acked - [...writer.client.cids].filter((c) => r.cids.has(c)).length,
      duplicated: a.duplicates, outOfOrder: a.outOfOrder };
  });
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

/** Runs iproute2's `ip` with `args`; throws with what it printed on failure. */
export function ip(...args) {
  try {
    return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    if (e.code === 'ENOENT') throw new Error('`ip` (iproute2) is not installed');
    throw new Error(`ip ${args.join(' ')} failed: ${(e.stderr ?? '').trim() || e.message}`);
  }
}

/** A small network of namespaces joined by point-to-point veth pairs, for
 *  real partitions (links down, packets dropped). Every name carries the
 *  process id; `destroy()` removes it all, and `create()` first removes what
 *  runs of this prefix left behind whose process is gone. Needs root. */
export class Netlab {
  static create(prefix = 'cnp') {
    if (process.platform !== 'linux' || process.getuid?.() !== 0)
      throw new Error('this test builds network namespaces (ip netns, veth) and must run as root on Linux; ' +
        `running as uid ${process.getuid?.()} on ${process.platform}`);
    try {
      ip('netns', 'list');
    } catch (e) {
      throw new Error(`network namespaces are unavailable: ${e.message}`);
    }
    Netlab.removeLeftovers(prefix);
    return new Netlab(prefix);
  }

  /** Namespaces `<prefix>-<pid>-*` and root links `<prefix><pid>x*` of dead
   *  processes (or of this one, from an earlier process with the same pid). */
  static removeLeftovers(prefix) {
    const stale = (pid) => Number(pid) === process.pid || !existsSync(`/proc/${pid}`);
    for (const line of ip('netns', 'list').split('\n')) {
      const name = line.split(' ')[0];
      const m = name.match(new RegExp(`^${prefix}-(\\d+)-`));
      if (!m || !stale(m[1])) continue;
      for (const pid of ip('netns', 'pids', name).split('\n').filter(Boolean)) {
        try { process.kill(Number(pid), 'SIGKILL'); } catch {}
      }
      ip('netns', 'delete', name);
    }
    for (const line of ip('-o', 'link', 'show').split('\n')) {
      const m = line.match(new RegExp(`^\\d+: (${prefix}(\\d+)x[^@:]+)`));
      if (m && stale(m[2])) ip('link', 'delete', m[1]);
    }
  }

  constructor(prefix) {
    this.prefix = prefix; this.namespaces = []; this.rootDevs = []; this.links = 0;
    // One /24 of 10/8 from the pid, one /30 per link; skip a /24 in use here.
    const inUse = ip('-4', '-o', 'addr', 'show') + ip('-4', 'route', 'show', 'table', 'all');
    for (let k = 0; k < 256; k++) {
      const n = (process.pid + k) & 0xffff;
      this.net = `10.${n >> 8}.${n & 0xff}`;
      if (!new RegExp(`(^|\\s)10\\.${n >> 8}\\.${n & 0xff}\\.`, 'm').test(inUse)) break;
    }
    // Namespaces may outlive a crash of this process; remove them on exit.
    this.onExit = () => this.destroy();
    process.on('exit', this.onExit);
  }

  /** Adds a namespace `<prefix>-<pid>-<role>` with loopback up; returns its name. */
  namespace(role) {
    const name = `${this.prefix}-${process.pid}-${role}`;
    ip('netns', 'add', name);
    this.namespaces.push(name);
    ip('-n', name, 'link', 'set', 'lo', 'up');
    return name;
  }

  /** Joins namespaces `a` and `b` (null = this process's own) with a veth
   *  pair; returns both ends as { ns, dev, addr }. */
  link(a, b) {
    const k = this.links++;
    if (k > 63) throw new Error('too many links');
    const ends = [a, b].map((ns, i) => ({
      ns, dev: `${this.prefix}${process.pid}x${k}${'ab'[i]}`, addr: `${this.net}.${4 * k + 1 + i}`,
    }));
    const where = (end) => (end.ns ? ['netns', end.ns] : []);
    ip('link', 'add', ends[0].dev, ...where(ends[0]), 'type', 'veth', 'peer', 'name', ends[1].dev, ...where(ends[1]));
    this.rootDevs.push(...ends.filter((end) => !end.ns).map((end) => end.dev));
    for (const end of ends) {
      ip(...this.in(end), 'addr', 'add', `${end.addr}/30`, 'dev', end.dev);
      ip(...this.in(end), 'link', 'set', end.dev, 'up');
    }
    return { a: ends[0], b: ends[1] };
  }

  in(end) { return end.ns ? ['-n', end.ns] : []; }
  /** Takes one end of a link down: the other end loses carrier and every
   *  packet across it is dropped; nobody is told. */
  down(end) { ip(...this.in(end), 'link', 'set', end.dev, 'down'); }
  up(end) { ip(...this.in(end), 'link', 'set', end.dev, 'up'); }

  /** Deletes the namespaces, killing what still runs in them (stop those
   *  processes first), and this process's ends of the links: a namespace
   *  lingers, unnamed, while sockets of its dead processes wait to time out
   *  (a link left down), and its veths with it. */
  destroy() {
    for (const name of this.namespaces.splice(0)) {
      try {
        const pids = execFileSync('ip', ['netns', 'pids', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
        for (const pid of pids.split('\n').filter(Boolean)) {
          try { process.kill(Number(pid), 'SIGKILL'); } catch {}
        }
      } catch {}
      try { execFileSync('ip', ['netns', 'delete', name], { stdio: 'ignore' }); } catch {}
    }
    for (const dev of this.rootDevs.splice(0)) {
      try { execFileSync('ip', ['link', 'delete', dev], { stdio: 'ignore' }); } catch {}
    }
    process.off('exit', this.onExit);
  }
}
