// deploy/compose.yaml run as it is with Docker's engine: the image built from
// deploy/Dockerfile, Redis, three nodes and nginx. A browser chats through the
// balancer on :8080, a node is stopped with `docker stop` under traffic and
// Redis is restarted under traffic, and `down` leaves nothing behind.
//
// Needs root, a Docker engine (started here from Debian's docker.io when none
// runs) and Debian's docker-compose or the compose plugin; skipped, saying
// why, where no engine can run. Images the compose file names that no
// registry can bring here are made by tests/compose/images.sh.
//
//   CHATNODE_SOURCE_DIR=. node --test tests/compose/

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { ResumingClient, SteadyWriter, sourceDir, tally, waitFor } from '../cluster/lib.mjs';

const project = 'chatnodetest';
const composeFile = path.join(sourceDir, 'deploy/compose.yaml');
const page = 'http://127.0.0.1:8080';
const nodeNames = ['node1', 'node2', 'node3'];
const nodePorts = { node1: 8081, node2: 8082, node3: 8083 };

function run(command, args, options = {}) {
  const r = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...options });
  return { status: r.error ? -1 : r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim(), stdout: (r.stdout ?? '').trim() };
}
function must(command, args, options) {
  const r = run(command, args, options);
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${r.status}):\n${r.out.slice(-4000)}`);
  return r.stdout;
}

// -- the engine and the compose tool -------------------------------------------

let dockerd = null; // the engine this test started, stopped in after()

/** Null when an engine answers (starting Debian's dockerd if need be), else why not. */
async function engine() {
  if (run('docker', ['version', '--format', '{{.Client.Version}}']).status === -1) return 'no docker client installed';
  if (run('docker', ['info']).status === 0) return null;
  if (run('dockerd', ['--version']).status !== 0) return 'no Docker engine runs and dockerd is not installed';
  if (process.getuid?.() !== 0) return 'no Docker engine runs, and starting dockerd needs root';
  const logFile = path.join(os.tmpdir(), `chatnode-dockerd-${process.pid}.log`);
  const log = openSync(logFile, 'w');
  dockerd = spawn('dockerd', [], { stdio: ['ignore', log, log] });
  closeSync(log);
  try {
    await waitFor(() => dockerd.exitCode === null && run('docker', ['info']).status === 0 || dockerd.exitCode !== null,
      'dockerd to answer', 60000);
  } catch {}
  if (dockerd.exitCode !== null || run('docker', ['info']).status !== 0)
    return `dockerd did not start here (see ${logFile})`;
  return null;
}

/** Debian's docker-compose 1.29 or the compose plugin, whichever is here
 *  (CHATNODE_COMPOSE names one: "docker-compose" or "docker compose"). */
function composeTool() {
  const candidates = process.env.CHATNODE_COMPOSE ? [process.env.CHATNODE_COMPOSE.split(' ')]
    : [['docker-compose'], ['docker', 'compose']];
  return candidates.find(([cmd, ...rest]) => run(cmd, [...rest, 'version']).status === 0) ?? null;
}

const whyNot = await engine() ?? (composeTool() ? null : 'neither docker-compose nor the compose plugin is installed');
const tool = whyNot ? null : composeTool();
const compose = (...args) => must(tool[0], [...tool.slice(1), '-f', composeFile, '-p', project, ...args],
  { cwd: path.dirname(composeFile) });
const container = (service) => compose('ps', '-q', service).split('\n')[0];
const health = (id) => must('docker', ['inspect', '-f', '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}', id]);
const metrics = async (service) => {
  const text = await (await fetch(`http://127.0.0.1:${nodePorts[service]}/metrics`)).text();
  return Object.fromEntries(text.split('\n').map((l) => l.match(/^([a-z_]+) (\S+)$/)).filter(Boolean).map((m) => [m[1], Number(m[2])]));
};
const allHealthy = () => ['redis', ...nodeNames].every((s) => health(container(s)) === 'healthy');
const seconds = (ms) => (ms / 1000).toFixed(1);

if (whyNot) test(`docker compose (skipped: ${whyNot})`, { skip: whyNot }, () => {});

const clients = [];
after(async () => {
  for (const c of clients) c.close();
  if (tool) run(tool[0], [...tool.slice(1), '-f', composeFile, '-p', project, 'down', '-v', '--remove-orphans', '-t', '5'],
    { cwd: path.dirname(composeFile) });
  if (dockerd && dockerd.exitCode === null) {
    const exited = new Promise((r) => dockerd.once('exit', r));
    dockerd.kill('SIGTERM');
    await exited;
  }
});

const skip = whyNot ?? false;

test('the image builds from deploy/Dockerfile, holds only what the node needs, and builds again from cache', { skip }, async (t) => {
  // A project left by an interrupted run would hold the ports.
  compose('down', '-v', '--remove-orphans', '-t', '5');
  must('bash', [path.join(sourceDir, 'tests/compose/images.sh')]);
  let started = Date.now();
  compose('build');
  const buildMs = Date.now() - started;
  started = Date.now();
  compose('build');
  const cachedMs = Date.now() - started;
  const size = (image) => Number(must('docker', ['image', 'inspect', '-f', '{{.Size}}', image]));
  const total = size('chatnode:0.1.0');
  const base = size('debian:bookworm-slim');
  t.diagnostic(`chatnode:0.1.0 built in ${seconds(buildMs)} s, again from cache in ${seconds(cachedMs)} s; ` +
    `${(total / 1e6).toFixed(1)} MB, of which ${((total - base) / 1e6).toFixed(1)} MB over debian:bookworm-slim`);
  const files = must('docker', ['run', '--rm', '--entrypoint', '/bin/sh', 'chatnode:0.1.0', '-c',
    'ls /usr/local/bin; ls /app; command -v g++ cmake || true']);
  assert.deepEqual(files.split('\n'), ['chatnode', 'config', 'web'], 'the image holds the binary, its config and the page, and no compiler');
  // A full build compiles for minutes; with nothing changed every step is cached.
  assert.ok(cachedMs < 60000, `a build with nothing changed took ${cachedMs} ms`);
});

test('compose up: every container healthy, and two people chat in a browser through the balancer on two nodes', { skip }, async (t) => {
  const started = Date.now();
  compose('up', '-d');
  await waitFor(allHealthy, 'redis and the three nodes healthy', 90000);
  await waitFor(async () => (await fetch(`${page}/readyz`).catch(() => null))?.status === 200, 'the balancer to serve', 30000);
  t.diagnostic(`up and healthy in ${seconds(Date.now() - started)} s`);

  const require = createRequire(path.join(sourceDir, 'tests/browser/package.json'));
  const { chromium } = require('playwright-core');
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const person = async (name) => {
      const context = await browser.newContext();
      context.setDefaultTimeout(20000);
      const p = await context.newPage();
      await p.goto(`${page}/`);
      await p.getByLabel('Name', { exact: true }).fill(name);
      await p.getByLabel('Room', { exact: true }).fill('compose');
      await p.getByRole('button', { name: 'Join' }).click();
      await p.getByRole('status').filter({ hasText: /^connected$/ }).waitFor();
      return p;
    };
    const ada = await person('ada');
    const bob = await person('bob');
    const perNode = await Promise.all(nodeNames.map(async (n) => (await metrics(n)).chatnode_connections));
    t.diagnostic(`WebSocket connections per node: ${perNode.join(', ')}`);
    assert.equal(Math.max(...perNode), 1, 'the two people are on two nodes');
    const text = (p) => p.locator('#messages .msg .text');
    await ada.getByLabel('Message', { exact: true }).fill('hello from compose');
    await ada.getByLabel('Message', { exact: true }).press('Enter');
    await text(bob).filter({ hasText: 'hello from compose' }).waitFor();
    await bob.getByLabel('Message', { exact: true }).fill('hello back');
    await bob.getByLabel('Message', { exact: true }).press('Enter');
    await text(ada).filter({ hasText: 'hello back' }).waitFor();
  } finally {
    await browser.close();
  }
});

/** Six readers and a writer through the balancer, as the page connects. */
function chatters(room) {
  const make = (name) => {
    const c = new ResumingClient('ws://127.0.0.1:8080/ws', page, name, room);
    clients.push(c);
    return c.connect();
  };
  return { readers: [...Array(6).keys()].map((i) => make(`reader${i}`)), writer: new SteadyWriter(make('writer')) };
}

async function report(t, label, writer, readers) {
  await writer.settle(60000);
  const got = await tally(writer, readers, 30000);
  const worst = got.reduce((w, r) => (r.lost + r.duplicated + r.outOfOrder > w.lost + w.duplicated + w.outOfOrder ? r : w));
  t.diagnostic(`${label}: sent ${writer.texts.size} (${writer.client.unavailable ?? 0} answered unavailable, sent again), ` +
    `acknowledged ${writer.client.cids.size}; ${readers.length} readers received ${got.map((r) => r.received).join('/')}; ` +
    `worst reader lost ${worst.lost}, duplicated ${worst.duplicated}, out of order ${worst.outOfOrder}`);
  for (const r of got) {
    assert.equal(r.lost, 0, `${r.name} lost messages`);
    assert.equal(r.duplicated, 0, `${r.name} got duplicates`);
    assert.equal(r.outOfOrder, 0, `${r.name} got messages out of order`);
  }
}

test('docker stop of a node under traffic: its clients resume on the others, nothing lost or doubled', { skip }, async (t) => {
  const { readers, writer } = chatters('drain');
  await waitFor(() => [...readers, writer.client].every((c) => c.joined), 'everyone joined', 20000);
  writer.start(20);
  await new Promise((r) => setTimeout(r, 1000));
  // The node with the most of them.
  const counts = await Promise.all(nodeNames.map(async (n) => (await metrics(n)).chatnode_connections));
  const victim = nodeNames[counts.indexOf(Math.max(...counts))];
  const id = container(victim);
  const started = Date.now();
  compose('stop', victim);
  const stopMs = Date.now() - started;
  const exit = must('docker', ['inspect', '-f', '{{.State.ExitCode}}', id]);
  await new Promise((r) => setTimeout(r, 1000));
  compose('start', victim);
  await waitFor(() => health(container(victim)) === 'healthy', `${victim} healthy again`, 60000);
  await new Promise((r) => setTimeout(r, 1000));
  const closes = readers.flatMap((r) => r.closes);
  t.diagnostic(`${victim} (${Math.max(...counts)} of the 7 clients) stopped in ${seconds(stopMs)} s with exit code ${exit}; ` +
    `close codes ${[...new Set(closes)].join(',') || 'none'}, reconnects ${readers.reduce((s, r) => s + r.reconnects, 0)}`);
  await report(t, 'docker stop', writer, readers);
  assert.equal(exit, '0', 'the node drained and exited 0');
  for (const c of [...readers, writer.client]) c.close();
});

test('Redis restarted under traffic: the nodes reconnect and nothing acknowledged is lost', { skip }, async (t) => {
  const { readers, writer } = chatters('redis-restart');
  await waitFor(() => [...readers, writer.client].every((c) => c.joined), 'everyone joined', 20000);
  writer.start(20);
  await new Promise((r) => setTimeout(r, 1000));
  const started = Date.now();
  compose('restart', '-t', '5', 'redis');
  await waitFor(async () => (await Promise.all(nodeNames.map(async (n) =>
    (await fetch(`http://127.0.0.1:${nodePorts[n]}/readyz`).catch(() => null))?.status === 200))).every(Boolean),
  'every node ready again', 60000);
  t.diagnostic(`redis restarted and every node ready again after ${seconds(Date.now() - started)} s`);
  await new Promise((r) => setTimeout(r, 1000));
  await report(t, 'redis restart', writer, readers);
  for (const c of [...readers, writer.client]) c.close();
});

test('compose down leaves no container, network or volume behind', { skip }, () => {
  compose('down', '-v', '--remove-orphans', '-t', '10');
  const label = `label=com.docker.compose.project=${project}`;
  assert.equal(must('docker', ['ps', '-aq', '--filter', label]), '', 'containers left');
  assert.equal(must('docker', ['network', 'ls', '-q', '--filter', label]), '', 'networks left');
  assert.equal(must('docker', ['volume', 'ls', '-q', '--filter', label]), '', 'volumes left');
});
