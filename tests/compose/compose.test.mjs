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
import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import { after, test } from 'node:test';
import { Client, ResumingClient, SteadyWriter, sourceDir, waitFor } from '../system/lib.mjs';
import { assertNothingLeft, launchBrowser, must, person, project, report, says, seconds, stopEngine, whyNotHere } from './lib.mjs';

const projectName = 'chatnodetest';
const composeFile = path.join(sourceDir, 'deploy/compose.yaml');
const page = 'http://127.0.0.1:8080';
const nodeNames = ['node1', 'node2', 'node3'];
const nodePorts = { node1: 8081, node2: 8082, node3: 8083 };

const whyNot = await whyNotHere();
const { compose, container, health, down } = whyNot ? {} : project(composeFile, projectName);
const metrics = async (service) => {
  const text = await (await fetch(`http://127.0.0.1:${nodePorts[service]}/metrics`)).text();
  return Object.fromEntries(text.split('\n').map((l) => l.match(/^([a-z_]+) (\S+)$/)).filter(Boolean).map((m) => [m[1], Number(m[2])]));
};
const allHealthy = () => ['redis', 'postgres', ...nodeNames].every((s) => health(container(s)) === 'healthy');

if (whyNot) test(`docker compose (skipped: ${whyNot})`, { skip: whyNot }, () => {});

const clients = [];
after(async () => {
  for (const c of clients) c.close();
  if (down) down();
  await stopEngine();
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
  await waitFor(allHealthy, 'redis, postgres and the three nodes healthy', 90000);
  await waitFor(async () => (await fetch(`${page}/readyz`).catch(() => null))?.status === 200, 'the balancer to serve', 30000);
  t.diagnostic(`up and healthy in ${seconds(Date.now() - started)} s`);

  const browser = await launchBrowser();
  try {
    const ada = await person(browser, page, 'ada', 'compose');
    const bob = await person(browser, page, 'bob', 'compose');
    const perNode = await Promise.all(nodeNames.map(async (n) => (await metrics(n)).chatnode_connections));
    t.diagnostic(`WebSocket connections per node: ${perNode.join(', ')}`);
    assert.equal(Math.max(...perNode), 1, 'the two people are on two nodes');
    await says(ada, 'hello from compose', bob);
    await says(bob, 'hello back', ada);
  } finally {
    await browser.close();
  }
  // Every node archives to the compose file's PostgreSQL, and search finds what was said.
  for (const n of nodeNames) await waitFor(async () => (await metrics(n)).chatnode_archive_up === 1, `${n} archiving`, 30000);
  const searcher = await new Client({ host: '127.0.0.1', port: 8080 }, 'searcher').connect();
  clients.push(searcher);
  await searcher.join('compose');
  const found = await waitFor(async () => {
    const from = searcher.events.length;
    searcher.send({ type: 'search', room: 'compose', query: 'hello compose' });
    const answer = await waitFor(() => searcher.events.slice(from).find((e) => e.type === 'search' || e.type === 'error'), 'a search answer');
    return answer.type === 'search' && answer.messages.length === 1 && answer.messages[0];
  }, 'the archive to find the message', 20000);
  assert.equal(found.text, 'hello from compose');

  // A file PUT through the balancer (bigger than nginx's default body limit)
  // lands in the volume every node mounts: each node serves it.
  const ask = async (request, match) => {
    const from = searcher.events.length;
    searcher.send(request);
    return waitFor(() => searcher.events.slice(from).find(match), `an answer to ${request.type}`);
  };
  const bytes = randomBytes(3 * 1024 * 1024);
  const up = await waitFor(async () => {
    const answer = await ask({ type: 'upload', room: 'compose', name: 'minutes.pdf', size: bytes.length, mime: 'application/pdf', cid: 'up' },
      (e) => e.cid === 'up');
    return answer.type === 'upload' && answer; // `unavailable` until the node read the shared ticket secret
  }, 'an upload link', 20000);
  const put = await fetch(page + up.url, { method: 'PUT', body: bytes });
  assert.equal(put.status, 201, await put.clone().text());
  const sent = await ask({ type: 'send', room: 'compose', text: 'the minutes', files: [up.file], cid: 'sf' }, (e) => e.cid === 'sf');
  assert.equal(sent.type, 'message', JSON.stringify(sent));
  const sha256 = (b) => createHash('sha256').update(b).digest('hex');
  for (const n of nodeNames) {
    const got = await fetch(`http://127.0.0.1:${nodePorts[n]}${sent.files[0].url}`);
    assert.equal(got.status, 200, n);
    assert.equal(sha256(Buffer.from(await got.arrayBuffer())), sha256(bytes), `${n} serves the same bytes`);
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
  assertNothingLeft(projectName);
});
