// What one Redis failure and two cost, by replicas per master and
// wait_replicas: for each pair, a fresh Redis Cluster of 3 masters on
// loopback (cluster-node-timeout 2 s), two nodes, a sender in a room of every
// shard writing 20 messages/s and sending again with the same cid what is
// refused (tests/system/failover.mjs). Then one master SIGKILLed, one
// replica, or two processes of one shard (its master and a replica); nothing
// is started again for OBSERVE seconds. Printed per case: the longest stretch
// in which the struck shard's room took no send (">" when it was not back by
// the end), the other shards' longest, and acknowledged messages missing
// from history once the killed processes were started again.
//
//   CHATNODE_BIN=build/chatnode node tests/bench/failover_matrix.mjs [OBSERVE]

import { steadyTraffic, underFault } from '../system/failover.mjs';
import { Node, RedisCluster, waitFor } from '../system/lib.mjs';

const observeMs = Number(process.argv[2] ?? 15) * 1000;
const nodeTimeoutMs = 2000;
const setups = [{ replicas: 1, wait: 0 }, { replicas: 1, wait: 1 }, { replicas: 2, wait: 1 }];
const faults = {
  'one master': (cluster, master) => [master],
  'one replica': (cluster, master) => [cluster.replicasOf(master)[0]],
  'two of one shard': (cluster, master) => [master, cluster.replicasOf(master)[0]],
};

async function run({ replicas, wait }, fault) {
  const cluster = await new RedisCluster({ masters: 3, replicas, nodeTimeoutMs, ports: [45000, 55000] }).start();
  const nodes = [];
  try {
    const env = { CHATNODE_REDIS_MODE: 'cluster', CHATNODE_REDIS_WAIT_REPLICAS: String(wait) };
    for (const name of ['f1', 'f2']) nodes.push(await new Node(name, cluster.url, env).start());
    await waitFor(async () => (await Promise.all(nodes.map((n) => n.ready()))).every(Boolean), 'nodes ready', 20000);
    const senders = await steadyTraffic(cluster, nodes, { perShard: 1, prefix: 'fm' });
    const struck = senders[0].master;
    const victims = faults[fault](cluster, struck);
    const r = await underFault(cluster, senders, async () => { for (const p of victims) await cluster.kill(p); }, {
      minObserveMs: 2 * nodeTimeoutMs + 1000, observeMs,
      // As a supervisor would: every killed process comes back.
      beforeSettle: async () => { for (const p of victims) await cluster.restart(p); },
    });
    const hit = r.rooms.filter((x) => x.master === struck);
    const rest = r.rooms.filter((x) => x.master !== struck);
    return {
      windowMs: Math.max(...hit.map((x) => x.windowMs)), back: hit.every((x) => x.back),
      othersMs: Math.max(...rest.map((x) => x.windowMs)),
      lost: r.rooms.reduce((n, x) => n + x.lost, 0), settled: r.rooms.every((x) => x.settled),
    };
  } finally {
    for (const n of nodes) await n.stop().catch(() => {});
    await cluster.destroy();
  }
}

const seconds = (ms) => (ms / 1000).toFixed(1);
const cell = (c) => `${c.back ? '' : '> '}${seconds(c.windowMs)} s${c.back ? '' : ' (until restarted)'}` +
  `, lost ${c.lost}${c.settled ? '' : ' (not all settled)'}`;

console.log(`| replicas per master x wait_replicas | ${Object.keys(faults).join(' | ')} |`);
console.log(`|---|${Object.keys(faults).map(() => '---').join('|')}|`);
const others = [];
for (const setup of setups) {
  const cells = [];
  for (const fault of Object.keys(faults)) {
    const c = await run(setup, fault);
    others.push(c.othersMs);
    cells.push(cell(c));
    console.error(`${setup.replicas} x ${setup.wait}, ${fault}: ${cell(c)}; other shards' longest ${c.othersMs} ms`);
  }
  console.log(`| ${setup.replicas} x ${setup.wait} | ${cells.join(' | ')} |`);
}
console.log(`\nrooms of the other shards: longest stretch with no send taken ${Math.max(...others)} ms in any case; ` +
  `cluster-node-timeout ${nodeTimeoutMs} ms, observed ${seconds(observeMs)} s after each fault`);
