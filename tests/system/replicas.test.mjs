// No stall on a single failure: a Redis Cluster of three masters with two
// replicas each, `cluster-node-timeout` 2 s, two nodes with
// `wait_replicas = 1`, senders writing steadily (and sending again with the
// same cid what is refused, as the client library does) in rooms on every
// shard. One master SIGKILLed, then one replica, neither started again: no
// room may take no send for longer than the failover takes, and nothing
// acknowledged may be missing from history.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { describe, steadyTraffic, underFault } from './failover.mjs';
import { Node, RedisCluster, waitFor } from './lib.mjs';

const nodeTimeoutMs = 2000;
const targetMs = 5000; // what a room may wait with cluster-node-timeout 2 s, Redis's failover included
const nodeShareMs = 1000; // what the node may add to Redis's own failover
const env = { CHATNODE_REDIS_MODE: 'cluster', CHATNODE_REDIS_WAIT_REPLICAS: '1' };
let cluster;
const nodes = [];

before(async () => {
  // A port range of its own: rediscluster and others draw from 20000-45000.
  cluster = await new RedisCluster({ masters: 3, replicas: 2, nodeTimeoutMs, ports: [45000, 55000] }).start();
  for (const name of ['r1', 'r2']) nodes.push(await new Node(name, cluster.url, env).start());
  await waitFor(async () => (await Promise.all(nodes.map((n) => n.ready()))).every(Boolean), 'nodes ready', 20000);
});

after(async () => {
  const failures = [];
  for (const n of nodes) await n.stop().catch((e) => failures.push(e));
  await cluster?.destroy();
  if (failures.length) throw failures[0];
});

/** Redis's failover takes what it takes (3 to 5 s here): the assertion is on
 *  what the node adds to it; the target of 5 s in all is reported beside. */
function check(t, what, r, redisMs = 0) {
  const worst = Math.max(...r.rooms.map((x) => x.windowMs));
  const limit = redisMs + nodeShareMs;
  t.diagnostic(`${what}: longest window with no send taken ${worst} ms (Redis's part ${redisMs} ms; ` +
    `${worst <= targetMs ? 'within' : 'over'} the ${targetMs} ms target), p99 send to acknowledgement ${r.p99Ms} ms`);
  for (const line of describe(r.rooms).split('\n')) t.diagnostic(line);
  assert.ok(r.rooms.every((x) => x.settled), `every send was acknowledged in the end:\n${describe(r.rooms)}`);
  assert.ok(worst <= limit, `${what}: a room took no send for ${worst} ms, over Redis's ${redisMs} ms + ${nodeShareMs} ms:\n${describe(r.rooms)}`);
  assert.equal(r.rooms.reduce((n, x) => n + x.lost, 0), 0, `acknowledged messages missing from history:\n${describe(r.rooms)}`);
}

let failedOver;

test('a master SIGKILLed, not started again: no room takes no send for longer than the failover', async (t) => {
  const senders = await steadyTraffic(cluster, nodes, { prefix: 'm' });
  const victim = senders[0].master;
  const replicas = cluster.replicasOf(victim);
  let promoted;
  const r = await underFault(cluster, senders, async () => {
    await cluster.kill(victim);
    // When Redis promoted a replica: the part of each window that is Redis's.
    promoted = waitFor(() => replicas.find((p) => /role:master/.test(cluster.cli(p, 'INFO', 'replication'))),
      'a replica promoted', 20000).then(() => Date.now());
  }, { minObserveMs: 2 * nodeTimeoutMs + 1000 });
  const promotedAfter = (await promoted) - r.faultAt;
  failedOver = victim;
  const now = cluster.masterOf(`chatnode:{${senders[0].room}}:log`).port;
  check(t, `master :${victim} killed (a replica promoted after ${promotedAfter} ms; :${now} took over with ${cluster.replicasOf(now).length} replica(s))`, r,
    promotedAfter);
});

test('a replica SIGKILLed, not started again: no room stalls', async (t) => {
  // A shard that still has both its replicas.
  const master = cluster.masters().find((m) => m.port !== failedOver && cluster.replicasOf(m.port).length === 2);
  assert.ok(master, 'a shard with two replicas');
  const victim = cluster.replicasOf(master.port)[0];
  const senders = await steadyTraffic(cluster, nodes, { prefix: 'r' });
  const r = await underFault(cluster, senders, () => cluster.kill(victim), { minObserveMs: 2 * nodeTimeoutMs + 1000 });
  check(t, `replica :${victim} of :${master.port} killed`, r);
});
