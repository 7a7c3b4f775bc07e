// What the compose suites share: commands, a Docker engine (started here
// from Debian's docker.io when none runs, stopped again by stopEngine), the
// compose tool, one project's commands, a browser, and the audit of a writer
// and its readers through the balancer.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { sourceDir, tally, waitFor } from '../system/lib.mjs';

export function run(command, args, options = {}) {
  const r = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...options });
  return { status: r.error ? -1 : r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim(), stdout: (r.stdout ?? '').trim() };
}
export function must(command, args, options) {
  const r = run(command, args, options);
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${r.status}):\n${r.out.slice(-4000)}`);
  return r.stdout;
}

// -- the engine and the compose tool -------------------------------------------

let dockerd = null; // the engine this test started, stopped in after()

/** Null when an engine answers (starting Debian's dockerd if need be), else why not. */
export async function engine() {
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
export function composeTool() {
  const candidates = process.env.CHATNODE_COMPOSE ? [process.env.CHATNODE_COMPOSE.split(' ')]
    : [['docker-compose'], ['docker', 'compose']];
  return candidates.find(([cmd, ...rest]) => run(cmd, [...rest, 'version']).status === 0) ?? null;
}

export async function stopEngine() {
  if (dockerd && dockerd.exitCode === null) {
    const exited = new Promise((r) => dockerd.once('exit', r));
    dockerd.kill('SIGTERM');
    await exited;
  }
}

/** Null when the compose suites can run here, else why not. */
export async function whyNotHere() {
  return await engine() ?? (composeTool() ? null : 'neither docker-compose nor the compose plugin is installed');
}

/** Commands for one compose file run as one project. */
export function project(file, name) {
  const tool = composeTool();
  const compose = (...args) => must(tool[0], [...tool.slice(1), '-f', file, '-p', name, ...args], { cwd: path.dirname(file) });
  const container = (service) => compose('ps', '-q', service).split('\n')[0];
  const health = (id) => must('docker', ['inspect', '-f', '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}', id]);
  /** Down, leaving nothing; never throws (for after()). */
  const down = () => run(tool[0], [...tool.slice(1), '-f', file, '-p', name, 'down', '-v', '--remove-orphans', '-t', '5'], { cwd: path.dirname(file) });
  return { compose, container, health, down };
}

/** Debian's Chromium driven by playwright-core. */
export async function launchBrowser() {
  const require = createRequire(path.join(sourceDir, 'tests/browser/package.json'));
  const { chromium } = require('playwright-core');
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A person on the page at `page`, joined to `room`. */
export async function person(browser, page, name, room) {
  const context = await browser.newContext();
  context.setDefaultTimeout(20000);
  const p = await context.newPage();
  await p.goto(`${page}/`);
  await p.getByLabel('Name', { exact: true }).fill(name);
  await p.getByLabel('Room', { exact: true }).fill(room);
  await p.getByRole('button', { name: 'Join' }).click();
  await p.getByRole('status').filter({ hasText: /^connected$/ }).waitFor();
  return p;
}

/** One person types a message and sends it; another sees it. */
export async function says(from, text, to) {
  await from.getByLabel('Message', { exact: true }).fill(text);
  await from.getByLabel('Message', { exact: true }).press('Enter');
  await to.locator('#messages .msg .text').filter({ hasText: text }).waitFor();
}

/** Says what a writer sent and its readers received; fails on any loss,
 *  duplicate or reordering. */
export async function report(t, label, writer, readers) {
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

/** Fails when a compose project left a container, network or volume. */
export function assertNothingLeft(projectName) {
  const label = `label=com.docker.compose.project=${projectName}`;
  assert.equal(must('docker', ['ps', '-aq', '--filter', label]), '', 'containers left');
  assert.equal(must('docker', ['network', 'ls', '-q', '--filter', label]), '', 'networks left');
  assert.equal(must('docker', ['volume', 'ls', '-q', '--filter', label]), '', 'volumes left');
}

export const seconds = (ms) => (ms / 1000).toFixed(1);
export { waitFor };
