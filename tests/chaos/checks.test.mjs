// The chaos run's verdicts on made-up clients: a writer's retried message
// answered ahead of older ones (as seed 34 saw: the answer goes to the
// sender at once, the room's copy in the room's order) passes; a message
// out of order, skipped or twice otherwise fails.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkDuplicates, checkOrder, membersDifference, membersMatch, presenceTrail } from './checks.mjs';
import { ChaosClient } from './workload.mjs';

const history = ['1-0', '2-0', '3-0', '4-0', '5-0'].map((id) => ({ id, user: 'x', cid: `c${id}` }));

function client(name, received, writes = []) {
  const c = new ChaosClient([{}], 0, name, 'r', Math.random, null);
  c.events.push({ type: 'joined', room: 'r', history: [], members: [] });
  for (const id of received) c.events.push({ type: 'message', room: 'r', id });
  for (const [cid, id, sends] of writes) c.writes.set(cid, { kind: 'send', id, sends, status: 'acked' });
  return c;
}

test("a retried message's answer ahead of older ones is no order break or duplicate", () => {
  const writer = client('w', ['1-0', '4-0', '2-0', '3-0', '4-0', '5-0'], [['k', '4-0', 2]]);
  const reader = client('r', ['1-0', '2-0', '3-0', '4-0', '5-0']);
  const rooms = [{ room: 'r', history, clients: [writer, reader] }];
  assert.equal(checkOrder(rooms).pass, true);
  const dup = checkDuplicates(rooms);
  assert.equal(dup.pass, true);
  assert.equal(dup.counts.retryAnswers, 1);
});

test('out of order, skipped or twice fails', () => {
  for (const received of [['1-0', '3-0', '2-0', '4-0', '5-0'], ['1-0', '2-0', '4-0', '5-0'], ['1-0', '2-0', '2-0', '3-0', '4-0', '5-0']])
    assert.equal(checkOrder([{ room: 'r', history, clients: [client('r', received)] }]).pass, false, received.join(' '));
  // A message of the writer's own sent once is held to the room's order.
  assert.equal(checkOrder([{ room: 'r', history, clients: [client('w', ['1-0', '4-0', '2-0', '3-0', '5-0'], [['k', '4-0', 1]])] }]).pass, false);
  assert.equal(checkDuplicates([{ room: 'r', history, clients: [client('r', ['1-0', '1-0'])] }]).pass, false);
});

test("a wrong member list's trail shows the events that made it, the last ones", () => {
  const c = client('r', []);
  c.events.push({ type: 'welcome', node: 'n2' });
  c.events.push({ type: 'joined', room: 'r', history: [], members: ['a', 'b', 'r'], count: 3 });
  c.events.push({ type: 'presence', room: 'r', user: 'b', event: 'leave', count: 1 });
  c.events.push({ type: 'presence', room: 'other', user: 'x', event: 'join', count: 9 });
  c.events.push({ type: 'presence', room: 'r', user: 'b', event: 'join', count: 2 });
  assert.equal(membersMatch(c, ['a', 'b', 'r']), false);
  assert.deepEqual(membersDifference(c, ['a', 'b', 'q']), { missing: ['q'], extra: ['r'] });
  assert.deepEqual(presenceTrail(c), ['joined [] count undefined', 'welcome n2', 'joined [a,b,r] count 3',
    'leave b count 1', 'join b count 2']);
  assert.deepEqual(presenceTrail(c, 2), ['leave b count 1', 'join b count 2']);
});
