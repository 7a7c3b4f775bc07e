// Web Push's figures on a real node: how many pushes a second one node
// encrypts (RFC 8291), signs (RFC 8292) and posts to a push service
// stand-in on loopback (tests/system/push_service.mjs, which takes each
// with 201), and the node's CPU per push, against the physical floor of
// the cryptography a push needs: a P-256 key pair and an ECDH (the
// encryption) and an ES256 signature (the VAPID token), as `openssl speed`
// measures them on this machine in the same run.
//
// USERS users, each with SUBS subscriptions and level `all` in room
// `bench`, away from it; each round one message there owes every user a
// push, due a fold (1 s) later, so a round is USERS x SUBS posts. Printed
// per round: pushes/s from the first post to the last, the node's CPU
// (user + system, from /proc) per push; then the medians and the ratio of
// CPU per push to the floor. With REDIS=1 the node runs over a redis-server
// of its own (the decisions and the pending pushes in Redis).
//
//   CHATNODE_BIN=build/chatnode node tests/bench/pushes.mjs [ROUNDS (5)] [USERS (500)] [SUBS (4)]

import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Node, Redis, waitFor } from '../system/lib.mjs';
import { PushService, Subscriber } from '../system/push_service.mjs';

const [rounds = 5, users = 500, subs = 4] = process.argv.slice(2).map(Number);
const SECRET = 'push-bench-secret-0123456789abcdef';
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ticks = Number(execFileSync('getconf', ['CLK_TCK']).toString());
/** The process's CPU so far, ms: [user, system]. */
const cpuMs = (pid) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return [Number(fields[11]), Number(fields[12])].map((t) => (t * 1000) / ticks);
};
function token(sub) {
  const b64 = (x) => Buffer.from(JSON.stringify(x)).toString('base64url');
  const body = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub, rooms: '*', exp: Math.floor(Date.now() / 1000) + 3600 })}`;
  return `${body}.${createHmac('sha256', SECRET).update(body).digest('base64url')}`;
}

/** The floor: µs of CPU per push for its cryptography, from `openssl speed`. */
function floorMicros() {
  const out = execFileSync('openssl', ['speed', '-seconds', '2', 'ecdhp256', 'ecdsap256'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString();
  const ecdh = 1 / Number(/256 bits ecdh \(nistp256\)\s+\S+\s+([\d.]+)/.exec(out)[1]);  // s per derive (op/s column)
  const sign = 1 / Number(/256 bits ecdsa \(nistp256\)\s+\S+\s+\S+\s+([\d.]+)/.exec(out)[1]); // s per sign (sign/s)
  // A key pair costs about a derive (one scalar multiplication each).
  return (2 * ecdh + sign) * 1e6;
}

const scratch = mkdtempSync(path.join(os.tmpdir(), 'chatnode-push-bench-'));
const service = await new PushService().start();
const redis = process.env.REDIS ? await new Redis().start() : null;
const node = await new Node('pushes', redis?.url ?? '', {
  CHATNODE_AUTH_SECRET: SECRET, CHATNODE_PUSH_ALLOW_HTTP_ENDPOINTS: 'true', CHATNODE_PUSH_ALLOW_PRIVATE: '127.0.0.1/32',
  CHATNODE_PUSH_FOLD_SECONDS: '1', CHATNODE_PUSH_KEY_FILE: path.join(scratch, 'vapid.pem'),
  CHATNODE_LIMITS_MAX_CONNECTIONS_PER_ADDRESS: '0',
}).start();
try {
  // Everyone subscribes and asks for every message in `bench`, then leaves.
  for (let i = 0; i < users; i += 50) {
    await Promise.all(Array.from({ length: Math.min(50, users - i) }, async (_, k) => {
      const name = `u${i + k}`;
      const c = await new Client(node, name).connect();
      c.send({ type: 'join', room: `home-${name}`, name, token: token(name) });
      await waitFor(() => c.events.find((e) => e.type === 'joined'), `${name} joined`);
      for (let s = 0; s < subs; s++) {
        const sub = new Subscriber(service, `${name}-${s}`);
        const r = await c.ask({ type: 'push_subscribe', endpoint: sub.endpoint, keys: sub.keys });
        if (r.type !== 'push_subscribed') throw new Error(JSON.stringify(r));
      }
      c.send({ type: 'notify', room: 'bench', level: 'all' });
      await waitFor(() => c.events.find((e) => e.type === 'notify'), `${name}'s level`);
      c.close();
    }));
  }
  const ann = await new Client(node, 'ann').connect();
  ann.send({ type: 'join', room: 'bench', name: 'ann', token: token('ann') });
  await waitFor(() => ann.events.find((e) => e.type === 'joined'), 'ann joined');

  const floor = floorMicros();
  const perSecond = [], perPush = [];
  const expected = users * subs;
  for (let round = 1; round <= rounds; round++) {
    const before = service.requests.length;
    const cpu0 = cpuMs(node.child.pid);
    ann.send({ type: 'send', room: 'bench', text: `round ${round}` });
    await waitFor(() => service.requests.length - before >= expected, `round ${round}'s ${expected} pushes`, 120000);
    const [user1, system1] = cpuMs(node.child.pid);
    const [user, system] = [user1 - cpu0[0], system1 - cpu0[1]];
    const cpu = user + system;
    const got = service.requests.slice(before);
    const seconds = (got.at(-1).at - got[0].at) / 1000;
    perSecond.push(expected / seconds);
    perPush.push((cpu * 1000) / expected);
    console.log(`round ${round}: ${expected} pushes in ${seconds.toFixed(2)} s = ${(expected / seconds).toFixed(0)}/s; ` +
      `node CPU ${cpu.toFixed(0)} ms (user ${user.toFixed(0)}, system ${system.toFixed(0)}) = ${((cpu * 1000) / expected).toFixed(0)} µs a push`);
    await new Promise((resolve) => setTimeout(resolve, 1500)); // the next round folds apart
  }
  console.log(`median: ${median(perSecond).toFixed(0)} pushes/s, ${median(perPush).toFixed(0)} µs of node CPU a push ` +
    `(${redis ? 'over Redis' : 'embedded bus'}, ${users} users x ${subs} subscriptions)`);
  console.log(`floor (openssl speed: two P-256 scalar multiplications and an ES256 signature): ${floor.toFixed(0)} µs; ` +
    `node / floor = ${(median(perPush) / floor).toFixed(2)}`);
  ann.close();
} finally {
  await node.stop();
  await redis?.destroy();
  await service.stop();
  rmSync(scratch, { recursive: true, force: true });
}
