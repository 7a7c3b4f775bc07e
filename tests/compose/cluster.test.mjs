// deploy/compose.cluster.yaml run as it is with Docker's engine: nine Redis
// containers made into a cluster (3 masters, 2 replicas each) by the one-shot init
// service, three nodes on it with wait_replicas = 1, and nginx. A browser
// chats through the balancer; the master of a busy room is killed (docker
// kill) and comes back while a writer sends, and nothing acknowledged is lost,
// doubled or reordered; `down` leaves nothing behind.
//
// Needs what tests/compose/compose.test.mjs needs; skipped the same way.

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, test } from 'node:test';
import { ResumingClient, SteadyWriter, sourceDir, waitFor } from '../system/lib.mjs';
import { assertNothingLeft, launchBrowser, must, person, project, report, says, seconds, stopEngine, whyNotHere } from './lib.mjs';

const projectName = 'chatnodeclustertest';
const composeFile = path.join(sourceDir, 'deploy/compose.cluster.yaml');
const page = 'http://127.0.0.1:8080';
const nodeNames = ['node1', 'node2', 'node3'];
const redisNames = [...Array(9).keys()].map((i) => `redis${i + 1}`);

// Every send waits for a replica: what the test shows is what an operator
// who sets it gets.
process.env.CHATNODE_REDIS_WAIT_REPLICAS = '1';

const whyNot = await whyNotHere();
const { compose, container, health, down } = whyNot ? {} : project(composeFile, projectName);
const skip = whyNot ?? false;
const redisCli = (service, ...args) => must('docker', ['exec', container(service), 'redis-cli', ...args]);

if (whyNot) test(`docker compose on a Redis Cluster (skipped: ${whyNot})`, { skip: whyNot }, () => {});

const clients = [];
after(async () => {
  for (const c of clients) c.close();
  if (down) down();
  await stopEngine();
});

test('compose up on a Redis Cluster: the init service makes it, every container is healthy, and two people chat in a browser', { skip }, async (t) => {
  down(); // a project left by an interrupted run would hold the ports
  must('bash', [path.join(sourceDir, 'tests/compose/images.sh')]);
  compose('build');
  const started = Date.now();
  compose('up', '-d');
  await waitFor(() => [...redisNames, ...nodeNames].every((s) => health(container(s)) === 'healthy'),
    'nine redis and three nodes healthy', 120000);
  await waitFor(async () => (await fetch(`${page}/readyz`).catch(() => null))?.status === 200, 'the balancer to serve', 30000);
  const init = container('redis-cluster-init');
  const exit = must('docker', ['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', init]);
  assert.equal(exit, 'exited 0', 'the init service made the cluster and ended');
  const info = redisCli('redis1', 'cluster', 'info');
  assert.match(info, /cluster_state:ok/);
  assert.match(info, /cluster_known_nodes:9/);
  assert.match(info, /cluster_size:3/);
  t.diagnostic(`up and healthy in ${seconds(Date.now() - started)} s; init: ${must('docker', ['logs', init]).split('\n').at(-1)}`);

  const browser = await launchBrowser();
  try {
    const ada = await person(browser, page, 'ada', 'cluster');
    const bob = await person(browser, page, 'bob', 'cluster');
    await says(ada, 'hello over the cluster', bob);
    await says(bob, 'hello back', ada);
  } finally {
    await browser.close();
  }
});

/** redis-cli in the first Redis container that answers (one may be down). */
function anyRedisCli(...args) {
  for (const name of redisNames) {
    try {
      return redisCli(name, ...args);
    } catch {}
  }
  throw new Error('no Redis container answers');
}

/** The service of the master that owns `key`'s slot. */
function masterOf(key) {
  const slot = Number(anyRedisCli('cluster', 'keyslot', key));
  for (const line of anyRedisCli('cluster', 'nodes').split('\n')) {
    const f = line.split(' ');
    if (!f[2]?.includes('master') || f[2].includes('fail')) continue;
    const owns = f.slice(8).some((r) => { const [a, b] = r.split('-').map(Number); return slot >= a && slot <= (b ?? a); });
    if (owns) return f[1].split(',')[1]; // ip:port@bus,hostname
  }
  return null;
}

test('the master of a busy room killed under traffic: its replica takes over, it comes back, nothing acknowledged is lost', { skip }, async (t) => {
  const room = 'failover';
  const make = (name) => {
    const c = new ResumingClient('ws://127.0.0.1:8080/ws', page, name, room);
    clients.push(c);
    return c.connect();
  };
  const readers = [...Array(6).keys()].map((i) => make(`reader${i}`));
  const writer = new SteadyWriter(make('writer'));
  await waitFor(() => [...readers, writer.client].every((c) => c.joined), 'everyone joined', 20000);
  writer.start(20);
  await waitFor(() => writer.client.cids.size > 20, 'traffic before the kill');
  const victim = masterOf(`chatnode:{${room}}:log`);
  assert.ok(redisNames.includes(victim), `the room's master is known: ${victim}`);
  const killed = Date.now();
  must('docker', ['kill', container(victim)]);
  await waitFor(() => { const m = masterOf(`chatnode:{${room}}:log`); return m && m !== victim; }, 'a replica promoted', 60000);
  const promotedMs = Date.now() - killed;
  compose('start', victim); // as its restart policy would after a crash; it rejoins as a replica
  const ackedAtStart = writer.client.cids.size;
  await waitFor(() => writer.client.cids.size > ackedAtStart + 20, 'the room to take sends again', 60000);
  const backMs = Date.now() - killed;
  await waitFor(() => health(container(victim)) === 'healthy', `${victim} healthy again`, 60000);
  const role = redisCli(victim, 'role').split('\n')[0];
  t.diagnostic(`${victim} killed: a replica promoted after ${seconds(promotedMs)} s, the room took sends again after ` +
    `${seconds(backMs)} s; ${victim} came back as ${role}`);
  await report(t, 'master killed', writer, readers);
  assert.equal(role, 'slave', 'the killed master came back as a replica');
  for (const c of [...readers, writer.client]) c.close();
});

test('compose down leaves no container, network or volume of the cluster behind', { skip }, () => {
  compose('down', '-v', '--remove-orphans', '-t', '10');
  assertNothingLeft(projectName);
});
