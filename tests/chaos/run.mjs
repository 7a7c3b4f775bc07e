#!/usr/bin/env node
// The seeded chaos run (issue 33): three nodes, a Redis Cluster of three
// masters with two replicas each and wait_replicas = 1, the PostgreSQL
// archive, ~200 reconnecting clients in 30 rooms (one big) writing messages,
// thread replies, edits and reactions with cids; a fault drawn from the seed
// every 10-30 s; at the end, one verdict per guarantee and the refusal
// windows per fault kind.
//
//   node tests/chaos/run.mjs --seed 7 --minutes 10 [--report out.json]
//
// Needs root (network namespaces and iptables in them): each node runs in a
// namespace of its own, linked to the root one where Redis, PostgreSQL and
// the clients are; "cut off from Redis" drops, in the node's namespace,
// every packet to and from the Redis servers. Exit status 1 when a guarantee
// fails. See README.md, "Chaos run".

import { readFileSync, writeFileSync } from 'node:fs';
import { Netlab, Node, Postgres, RedisCluster, ip, waitFor } from '../system/lib.mjs';
import { checkArchive, checkDuplicates, checkLost, checkOrder, checkRss, checkShown, longestGap, membersDifference, membersMatch, percentile, presenceTrail } from './checks.mjs';
import { clusterWhole, runFault } from './faults.mjs';
import { describe, mulberry32, schedule } from './schedule.mjs';
import { ChaosClient, Stats } from './workload.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(`--${name}`); return i >= 0 ? args[i + 1] : dflt; };
const seed = Number(opt('seed', '1'));
const minutes = Number(opt('minutes', '10'));
const reportPath = opt('report', null);
const runMs = Math.round(minutes * 60000);
const ROOMS = 30, SMALL_MEMBERS = 3, BIG_MEMBERS = 120, BIG_WRITERS = 4, SMALL_WRITERS = 2;
const SMALL_WRITE_MS = 1500, BIG_WRITE_MS = 2000;
const PRESENCE_TTL_S = 5;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const started = Date.now();
const stamp = () => `[${((Date.now() - started) / 1000).toFixed(1).padStart(7)}s]`;
const say = (text) => console.log(`${stamp()} ${text}`);

const faults = schedule(seed, runMs);
console.log(`chaos run: seed ${seed}, ${minutes} min, ${faults.length} faults`);
for (const f of faults) console.log(`  ${describe(f)}`);

const lab = Netlab.create('cxc');
const env = { lab, nodes: [], unexpectedExits: [] };
const clients = [];
let exitCode = 1;
try {
  // Three namespaces, one per node, each linked to the root namespace and
  // routed through it; Redis and PostgreSQL listen on the first link's
  // root address, which every namespace reaches that way.
  const links = [1, 2, 3].map((i) => {
    const ns = lab.namespace(`n${i}`);
    const link = lab.link(null, ns);
    ip('-n', ns, 'route', 'add', 'default', 'via', link.a.addr);
    return { ns, link };
  });
  env.redisIp = links[0].link.a.addr;
  env.cluster = new RedisCluster({ masters: 3, replicas: 2, announceIp: env.redisIp, ports: [46000, 55000] });
  await env.cluster.start();
  say(`redis cluster up: ${env.cluster.nodes.map((n) => n.port).join(' ')}`);
  env.pg = new Postgres({ host: env.redisIp, trustNet: `${lab.net}.0/24` });
  await env.pg.start();
  const nodeEnv = {
    CHATNODE_REDIS_MODE: 'cluster', CHATNODE_REDIS_WAIT_REPLICAS: '1', CHATNODE_REDIS_TIMEOUT_SECONDS: '1',
    CHATNODE_REDIS_PRESENCE_TTL_SECONDS: String(PRESENCE_TTL_S), CHATNODE_ARCHIVE_URL: env.pg.url,
  };
  const seeds = env.cluster.nodes.slice(0, 3).map((n) => `${env.redisIp}:${n.port}`).join(',');
  for (const [i, { ns, link }] of links.entries()) {
    const node = new Node(`n${i + 1}`, `redis://${seeds}`, nodeEnv, { netns: ns, host: link.b.addr });
    await node.start();
    env.nodes.push(node);
  }
  // A node that exits when no fault killed it is a finding of its own.
  const watchExit = (node) => node.child.once('exit', (code, signal) => {
    if (!node.expectExit && !stopping) env.unexpectedExits.push(`${node.name} exited (${code ?? signal}) at ${stamp()}: ${node.stderr.slice(-2000)}`);
  });
  let stopping = false;
  const origStart = Node.prototype.start;
  for (const node of env.nodes) {
    node.start = async function start() { const r = await origStart.call(this); this.expectExit = false; watchExit(this); return r; };
    const origKill = node.kill.bind(node);
    node.kill = (signal) => { if (signal === 'SIGKILL') node.expectExit = true; origKill(signal); };
    watchExit(node);
  }
  await waitFor(async () => (await Promise.all(env.nodes.map((n) => n.ready()))).every(Boolean), 'nodes ready', 30000);
  say(`nodes up: ${env.nodes.map((n) => `${n.name}@${n.host}:${n.port}`).join(' ')}`);

  // The people: seeded, so the same seed gives the same rooms and writers.
  const rand = mulberry32(seed ^ 0x9e3779b9);
  const stats = new Stats();
  const rooms = [];
  for (let r = 0; r < ROOMS; r++) {
    const room = r === 0 ? 'big' : `room${r}`;
    const members = r === 0 ? BIG_MEMBERS : SMALL_MEMBERS;
    const writers = r === 0 ? BIG_WRITERS : SMALL_WRITERS;
    const list = [];
    for (let k = 0; k < members; k++) {
      const c = new ChaosClient(env.nodes, (r + k) % 3, `${room}-u${String(k).padStart(3, '0')}`, room, rand.fork(), stats);
      c.writer = k < writers;
      c.writeMs = r === 0 ? BIG_WRITE_MS : SMALL_WRITE_MS;
      list.push(c); clients.push(c);
    }
    rooms.push({ room, clients: list });
  }
  for (const c of clients) { c.start(); await sleep(5); }
  await waitFor(() => clients.every((c) => c.joined), 'every client joined', 60000);
  say(`${clients.length} clients joined ${ROOMS} rooms`);

  // The run: writers write, faults come as scheduled.
  for (const c of clients) if (c.writer) c.startWriting(c.writeMs);
  const t0 = Date.now();
  const rss = [];
  const sampleRss = async (label) => {
    await waitFor(async () => (await Promise.all(env.nodes.map((n) => n.ready()))).every(Boolean), 'nodes ready to sample', 30000).catch(() => {});
    for (const n of env.nodes) {
      try {
        const kb = Number(readFileSync(`/proc/${n.child.pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)[1]);
        rss.push({ node: n.name, pid: n.child.pid, at: Date.now() - t0, label, kb });
      } catch {}
    }
    say(`rss (${label}): ${rss.slice(-3).map((s) => `${s.node} ${Math.round(s.kb / 1024)} MiB`).join(', ')}`);
  };
  const done = [];
  let quarter = 0;
  // RSS at each quarter of the run, in the quiet between faults.
  const quarters = async (until) => {
    while (quarter < 3 && t0 + ((quarter + 1) * runMs) / 4 < until) {
      const wait = t0 + ((quarter + 1) * runMs) / 4 - Date.now();
      if (wait > 0) await sleep(wait);
      quarter++;
      await sampleRss(`quarter ${quarter}`);
    }
  };
  for (const f of faults) {
    await quarters(t0 + f.at);
    const wait = t0 + f.at - Date.now();
    if (wait > 0) await sleep(wait);
    const start = Date.now();
    say(`fault: ${describe(f)}`);
    await runFault(env, f, (text) => say(`  ${text}`));
    done.push({ ...f, startAt: start, healAt: Date.now() });
  }
  // Members, from the last fault's healing on: each client's list equal to
  // the room's (every client of it); when they all became and stayed so.
  const lastHealAt = Math.max(t0, ...done.map((f) => f.healAt));
  const truth = new Map(rooms.map((r) => [r.room, r.clients.map((c) => c.name).sort()]));
  const wrongMembers = () => clients.filter((c) => !c.joined || !membersMatch(c, truth.get(c.room)));
  let equalSince = null, polling = true;
  const poller = (async () => {
    while (polling) {
      if (wrongMembers().length === 0) equalSince ??= Date.now(); else equalSince = null;
      await sleep(200);
    }
  })();
  await quarters(t0 + runMs);
  const rest = t0 + runMs - Date.now();
  if (rest > 0) await sleep(rest);
  for (const c of clients) c.stopWriting();
  say('writes stopped; settling');

  // Settle: everything back, every write acknowledged, every client caught up.
  await waitFor(async () => clusterWhole(env.cluster) && (await Promise.all(env.nodes.map((n) => n.ready()))).every(Boolean),
    'the cluster whole and every node ready', 120000);
  await waitFor(() => { for (const c of clients) c.retryPending(); return clients.every((c) => c.pending() === 0); },
    'every write acknowledged', 120000);
  await waitFor(() => clients.every((c) => c.joined), 'every client joined again', 60000);
  await sampleRss('end');

  // Members: equal by the presence TTL plus 2 s after the last fault
  // healed or the last client joined again, whichever came later, and so
  // ever since (a later wait, up to 30 s, only tells when they converged).
  const lastJoinAt = Math.max(...clients.map((c) => c.joinedAt));
  const membersDeadline = Math.max(lastHealAt, lastJoinAt) + PRESENCE_TTL_S * 1000 + 2000;
  await waitFor(() => equalSince !== null, 'member lists equal to the truth', Math.max(0, membersDeadline - Date.now()) + 30000).catch(() => {});
  polling = false; await poller;
  const membersAt = wrongMembers().length === 0 ? equalSince : null;
  const membersLeft = wrongMembers();
  const members = {
    name: 'member lists equal to the truth within presence TTL + 2 s', pass: membersAt !== null && membersAt <= membersDeadline,
    counts: { clients: clients.length, wrong: membersLeft.length, msPastDeadline: membersAt === null ? null : membersAt - membersDeadline },
    examples: membersLeft.slice(0, 5).flatMap((c) => {
      const p = c.presence(c.room);
      const { missing, extra } = membersDifference(c, truth.get(c.room));
      return [`${c.name} on ${c.node?.name}: holds ${p.members.length} count ${p.count} upTo ${p.upTo}, truth ${truth.get(c.room).length}; ` +
        `missing [${missing.join(',')}] extra [${extra.join(',')}]`,
        ...presenceTrail(c).map((line) => `    ${line}`)];
    }),
  };

  // History: each room paged back to its first message by one of its members.
  const ask = (c, request, match) => {
    const from = c.events.length;
    c.send(request);
    return waitFor(() => c.events.slice(from).find(match), `${c.name}: ${request.type}`, 20000);
  };
  for (const r of rooms) {
    const c = r.clients[0];
    const all = [];
    let before;
    for (;;) {
      const page = await ask(c, { type: 'history', room: r.room, limit: 100, ...(before ? { before } : {}) },
        (e) => (e.type === 'history' && e.room === r.room) || (e.type === 'error' && e.code !== undefined && !e.cid));
      if (page.type !== 'history') throw new Error(`history of ${r.room}: ${JSON.stringify(page)}`);
      all.unshift(...page.messages);
      if (!page.more || !page.messages.length) break;
      before = page.messages[0].id;
    }
    r.history = all;
  }
  // Every client has what the room has up to its newest message.
  await waitFor(() => rooms.every((r) => r.clients.every((c) => c.ids(r.room).at(-1) === r.history.at(-1)?.id)),
    'every client caught up with history', 30000).catch(() => say('not every client caught up: see the order check'));

  // The archive: polled until it matches or a minute passes (it catches up).
  let archive;
  await waitFor(() => { archive = checkArchive(rooms, env.pg); return archive.pass; }, 'the archive to hold every entry', 60000).catch(() => {});

  const results = [checkLost(rooms), checkShown(rooms), checkDuplicates(rooms), checkOrder(rooms), archive, members, checkRss(rss)];

  // Refusal windows: per fault and room, the longest stretch with no write
  // acknowledged, from the fault's start to 10 s after it healed (or the
  // next fault). Baseline: the same over the 15 s before the first fault.
  const windows = new Map();
  const add = (kind, ms) => { if (!windows.has(kind)) windows.set(kind, { count: 0, values: [] }); windows.get(kind).values.push(ms); };
  const acks = rooms.map((r) => (stats.acks.get(r.room) ?? []).slice().sort((a, b) => a - b));
  const baselineTo = done[0]?.startAt ?? t0 + runMs;
  for (const a of acks) add('none (baseline)', longestGap(a, Math.max(t0, baselineTo - 15000), baselineTo));
  windows.get('none (baseline)').count = 1;
  done.forEach((f, i) => {
    const to = Math.min(f.healAt + 10000, done[i + 1]?.startAt ?? Infinity, t0 + runMs);
    const kind = f.kind === 'double' ? `double (${f.parts.map((p) => p.kind).join('+')})` : f.kind;
    for (const a of acks) add(kind, longestGap(a, f.startAt, to));
    windows.get(kind).count++;
  });

  // The report.
  const lines = [];
  lines.push(`chaos run seed ${seed}, ${minutes} min: ${done.length} faults, ${clients.length} clients, ${ROOMS} rooms`);
  lines.push('');
  lines.push('guarantee                                                     result  counts');
  for (const r of results) lines.push(`${r.name.padEnd(62)}${(r.pass ? 'PASS' : 'FAIL').padEnd(8)}${JSON.stringify(r.counts)}`);
  lines.push('');
  lines.push('fault kind                                          count  refusal max   p99   (s, per room)');
  for (const [kind, w] of windows) {
    lines.push(`${kind.padEnd(52)}${String(w.count).padStart(5)}  ${(Math.max(...w.values) / 1000).toFixed(1).padStart(10)}  ${(percentile(w.values, 0.99) / 1000).toFixed(1).padStart(5)}`);
  }
  if (env.unexpectedExits.length) { lines.push(''); lines.push('nodes that exited with no fault to kill them:'); lines.push(...env.unexpectedExits); }
  const errors = clients.flatMap((c) => c.errors.map((e) => `${c.name}: ${e.code} ${e.reason ?? ''}`));
  const failing = results.filter((r) => !r.pass);
  for (const r of failing) { lines.push(''); lines.push(`${r.name}:`); lines.push(...r.examples.map((x) => `  ${x}`)); }
  if (errors.length) { lines.push(''); lines.push(`errors other than unavailable/not_found (${errors.length}):`); lines.push(...errors.slice(0, 10).map((x) => `  ${x}`)); }
  console.log(`\n${lines.join('\n')}`);
  const writes = clients.flatMap((c) => [...c.writes.values()]);
  if (reportPath) {
    writeFileSync(reportPath, JSON.stringify({
      seed, minutes, command: `node tests/chaos/run.mjs --seed ${seed} --minutes ${minutes}`,
      schedule: faults.map(describe), faults: done.map((f) => ({ ...f, startAt: f.startAt - t0, healAt: f.healAt - t0 })),
      guarantees: results, rss, unexpectedExits: env.unexpectedExits, errors: errors.slice(0, 100),
      writes: { total: writes.length, acked: writes.filter((w) => w.status === 'acked').length, notFound: writes.filter((w) => w.status === 'not_found').length },
      refusal: Object.fromEntries([...windows].map(([k, w]) => [k, { count: w.count, maxMs: Math.max(...w.values), p99Ms: percentile(w.values, 0.99) }])),
    }, null, 2));
  }
  exitCode = failing.length || env.unexpectedExits.length ? 1 : 0;
  stopping = true;
} catch (e) {
  console.error(`chaos run aborted: ${e.stack ?? e}`);
  exitCode = 2;
} finally {
  for (const c of clients) c.close();
  for (const n of env.nodes) { n.expectExit = true; try { n.child.kill('SIGCONT'); n.child.kill('SIGTERM'); } catch {} }
  await Promise.all(env.nodes.map((n) => new Promise((r) => (n.child.exitCode !== null || n.child.signalCode !== null ? r() : (n.child.once('exit', r), setTimeout(() => { n.child.kill('SIGKILL'); r(); }, 8000))))));
  await env.cluster?.destroy().catch(() => {});
  await env.pg?.destroy().catch(() => {});
  lab.destroy();
}
process.exit(exitCode);
