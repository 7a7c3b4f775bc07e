// The chaos run's faults, done to the real processes, and healed as an
// orchestrator would: a killed node or redis-server is started again under
// its name, on its port, with its data; a cut link is restored; PostgreSQL
// is started again. Each returns once healed.

import { execFileSync } from 'node:child_process';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A node's namespace's filter: drop every packet between the node and
 *  the Redis servers (nobody is told: connections go half-open), or
 *  remove that rule. */
function cutRules(env, node, op) {
  const ports = env.cluster.nodes.map((n) => n.port).join(',');
  const ns = node.netns;
  const run = (...args) => execFileSync('ip', ['netns', 'exec', ns, 'iptables', ...args], { stdio: 'ignore' });
  run(op, 'OUTPUT', '-d', env.redisIp, '-p', 'tcp', '-m', 'multiport', '--dports', ports, '-j', 'DROP');
  run(op, 'INPUT', '-s', env.redisIp, '-p', 'tcp', '-m', 'multiport', '--sports', ports, '-j', 'DROP');
}

/** The masters, by shard (sorted by their first slot), with replicas. */
function shards(cluster) {
  return cluster.masters().filter((m) => m.slots.length)
    .sort((a, b) => Number(a.slots[0].split('-')[0]) - Number(b.slots[0].split('-')[0]))
    .map((m) => ({ master: m.port, replicas: cluster.replicasOf(m.port).sort((a, b) => a - b) }));
}

async function restartRedis(env, port) {
  await env.cluster.restart(port);
}

/** Runs one part of a fault; `log(text)` notes what was done and when. */
export async function runPart(env, part, log) {
  const { cluster, nodes, pg } = env;
  switch (part.kind) {
    case 'node-kill': {
      const node = nodes[part.node];
      node.kill('SIGKILL');
      await new Promise((r) => (node.child.exitCode !== null || node.child.signalCode !== null ? r() : node.child.once('exit', r)));
      log(`SIGKILL node ${node.name}`);
      await sleep(part.ms);
      await node.start();
      log(`node ${node.name} started again`);
      return;
    }
    case 'node-stop': {
      const node = nodes[part.node];
      node.kill('SIGSTOP');
      log(`SIGSTOP node ${node.name}`);
      await sleep(part.ms);
      node.kill('SIGCONT');
      log(`SIGCONT node ${node.name}`);
      return;
    }
    case 'redis-master-kill': {
      const shard = shards(cluster)[part.shard];
      if (!shard) { log('no such shard now: skipped'); return; }
      await cluster.kill(shard.master);
      log(`SIGKILL redis master ${shard.master} (shard ${part.shard})`);
      await sleep(part.ms);
      await restartRedis(env, shard.master);
      log(`redis ${shard.master} started again`);
      return;
    }
    case 'redis-replica-kill': {
      const shard = shards(cluster)[part.shard];
      const port = shard?.replicas[part.replica % Math.max(1, shard.replicas.length)];
      if (!port) { log('no such replica now: skipped'); return; }
      await cluster.kill(port);
      log(`SIGKILL redis replica ${port} (shard ${part.shard})`);
      await sleep(part.ms);
      await restartRedis(env, port);
      log(`redis ${port} started again`);
      return;
    }
    case 'node-cut': {
      const node = nodes[part.node];
      cutRules(env, node, '-I');
      log(`node ${node.name} cut off from Redis`);
      await sleep(part.ms);
      cutRules(env, node, '-D');
      log(`node ${node.name} reaches Redis again`);
      return;
    }
    case 'pg-stop': {
      await pg.stop();
      log('PostgreSQL stopped');
      await sleep(part.ms);
      await pg.start();
      log('PostgreSQL started again');
      return;
    }
    default: throw new Error(part.kind);
  }
}

/** Runs a fault's parts (each after its offset) and returns when all healed. */
export async function runFault(env, fault, log) {
  await Promise.all(fault.parts.map(async (part) => {
    if (part.offset) await sleep(part.offset);
    await runPart(env, part, log);
  }));
}

/** Whether the cluster is whole again: every server up, every shard with a
 *  master and two replicas in sync, cluster_state ok everywhere. */
export function clusterWhole(cluster) {
  for (const n of cluster.nodes) {
    if (!/cluster_state:ok/.test(cluster.cli(n.port, 'CLUSTER', 'INFO'))) return false;
    const info = cluster.cli(n.port, 'INFO', 'replication');
    if (!/role:master/.test(info) && !/master_link_status:up/.test(info)) return false;
  }
  const s = shards(cluster);
  return s.length === 3 && s.every((x) => x.replicas.length === 2);
}
