// The seeded part of a chaos run: a small PRNG and the fault schedule drawn
// from it. Pure: the same seed and length give the same schedule, printed
// at the start of every run, so a failing seed can be replayed.

/** mulberry32: a 32-bit state, good enough to pick faults and timings. */
export function mulberry32(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  next.between = (lo, hi) => lo + next() * (hi - lo);
  next.int = (n) => Math.floor(next() * n);
  next.pick = (list) => list[next.int(list.length)];
  /** A generator of its own, seeded from this one (a client's workload). */
  next.fork = () => mulberry32(Math.floor(next() * 4294967296));
  return next;
}

/** The single fault kinds, and how long each lasts (ms) before it heals:
 *  the process comes back, the link is restored, the database started. */
export const KINDS = ['node-kill', 'node-stop', 'redis-master-kill', 'redis-replica-kill', 'node-cut', 'pg-stop'];

function single(rand, kind, nodes) {
  switch (kind) {
    case 'node-kill': return { kind, node: rand.int(nodes), ms: Math.round(rand.between(1000, 4000)) }; // restart delay
    case 'node-stop': return { kind, node: rand.int(nodes), ms: 5000 };
    case 'redis-master-kill': return { kind, shard: rand.int(3), ms: Math.round(rand.between(5000, 12000)) };
    case 'redis-replica-kill': return { kind, shard: rand.int(3), replica: rand.int(2), ms: Math.round(rand.between(5000, 12000)) };
    case 'node-cut': return { kind, node: rand.int(nodes), ms: Math.round(rand.between(4000, 12000)) };
    case 'pg-stop': return { kind, ms: 20000 };
    default: throw new Error(kind);
  }
}

/** The faults of a run of `ms`: every 10-30 s after the previous one healed
 *  (the first after `warmupMs`), one of KINDS or two different ones at
 *  once (the second starting 0-3 s after the first). None starts later
 *  than `ms - tailMs`. Each: { at, kind, parts: [{ kind, offset, ms, ... }] }. */
export function schedule(seed, ms, { nodes = 3, warmupMs = 15000, tailMs = 15000 } = {}) {
  const rand = mulberry32(seed);
  const faults = [];
  let at = warmupMs;
  while (at <= ms - tailMs) {
    let parts;
    if (rand() < 1 / (KINDS.length + 1)) {
      const first = rand.pick(KINDS);
      const second = rand.pick(KINDS.filter((k) => k !== first));
      const a = { ...single(rand, first, nodes), offset: 0 };
      const b = { ...single(rand, second, nodes), offset: Math.round(rand.between(0, 3000)) };
      // Two faults of one node at once would be one fault: another node.
      if (a.node !== undefined && b.node !== undefined && a.node === b.node) b.node = (a.node + 1 + rand.int(nodes - 1)) % nodes;
      // Two Redis kills of one shard could leave it with no copy: another shard.
      if (a.shard !== undefined && b.shard !== undefined && a.shard === b.shard) b.shard = (a.shard + 1 + rand.int(2)) % 3;
      parts = [a, b];
    } else {
      parts = [{ ...single(rand, rand.pick(KINDS), nodes), offset: 0 }];
    }
    const kind = parts.length === 2 ? 'double' : parts[0].kind;
    faults.push({ at: Math.round(at), kind, parts });
    const lasts = Math.max(...parts.map((p) => p.offset + p.ms));
    at += lasts + rand.between(10000, 30000);
  }
  return faults;
}

export function describe(fault) {
  const part = (p) => `${p.kind}${p.node !== undefined ? ` node n${p.node + 1}` : ''}` +
    `${p.shard !== undefined ? ` shard ${p.shard}` : ''}${p.replica !== undefined ? ` replica ${p.replica}` : ''}` +
    `${p.offset ? ` +${(p.offset / 1000).toFixed(1)}s` : ''} for ${(p.ms / 1000).toFixed(1)}s`;
  return `t=${(fault.at / 1000).toFixed(1)}s ${fault.parts.map(part).join(' + ')}`;
}
