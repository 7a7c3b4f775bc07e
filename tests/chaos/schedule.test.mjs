// The chaos run's schedule: the same seed gives the same faults, other
// seeds others, and every fault keeps to the rules.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KINDS, describe, mulberry32, schedule } from './schedule.mjs';

test('mulberry32 repeats for a seed and differs across seeds', () => {
  const a = mulberry32(7), b = mulberry32(7), c = mulberry32(8);
  const xs = Array.from({ length: 5 }, () => a());
  assert.deepEqual(Array.from({ length: 5 }, () => b()), xs);
  assert.notDeepEqual(Array.from({ length: 5 }, () => c()), xs);
  assert.ok(xs.every((x) => x >= 0 && x < 1));
});

test('a seed gives one schedule; faults 10-30 s apart, kinds as the issue lists', () => {
  for (const seed of [1, 7, 11, 22, 33, 44]) {
    const s = schedule(seed, 30 * 60000);
    assert.deepEqual(schedule(seed, 30 * 60000).map(describe), s.map(describe));
    for (const [i, f] of s.entries()) {
      assert.ok(f.parts.every((p) => KINDS.includes(p.kind)));
      if (f.kind === 'double') assert.notEqual(f.parts[0].kind, f.parts[1].kind);
      if (i === 0) continue;
      const prev = s[i - 1];
      const healed = prev.at + Math.max(...prev.parts.map((p) => p.offset + p.ms));
      assert.ok(f.at - healed >= 10000 && f.at - healed <= 30000, `gap before fault ${i}`);
    }
  }
  assert.notDeepEqual(schedule(11, 600000).map(describe), schedule(22, 600000).map(describe));
  // Over a long run every kind comes up, and two at once too.
  const kinds = new Set(schedule(44, 30 * 60000).map((f) => f.kind));
  for (const k of [...KINDS, 'double']) assert.ok(kinds.has(k), `seed 44 has ${k}`);
});
