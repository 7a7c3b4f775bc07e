// (1.2) What an identity provider's token costs a join: one node with both a
// secret (HS256) and a JWKS (RS256 with a 2048-bit key, ES256, EdDSA), one
// connection that joins and leaves a room over and over, each join with a
// fresh token (minted by npm's jose beforehand). Per algorithm and round:
// the join's median and p99 round trip, and the node's CPU (user + system,
// from /proc) per join. The rounds take the algorithms in turn, so each
// round is an A/B of them on the same machine at the same time. Printed
// last: the medians, and the extra CPU per join over HS256 against the
// floor: one signature verification as `openssl speed` measures it here.
//
//   CHATNODE_BIN=build/chatnode node tests/bench/token_joins.mjs [ROUNDS (5)] [JOINS (2000)]

import { execFileSync } from 'node:child_process';
import { createServer } from 'node:https';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { Client, Node } from '../system/lib.mjs';

// jose is the system tests' package (tests/system/package.json).
const { SignJWT, exportJWK, generateKeyPair } =
  await import(createRequire(new URL('../system/package.json', import.meta.url)).resolve('jose'));

const [rounds = 5, joins = 2000] = process.argv.slice(2).map(Number);
const SECRET = 'token-bench-secret-0123456789abcd';
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p99 = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.99)];
const ticks = Number(execFileSync('getconf', ['CLK_TCK']).toString());

function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / ticks;
}

/** One verification's time in µs, by `openssl speed` (its verify/s column). */
function opensslVerifyMicros(args, pattern) {
  const out = execFileSync('openssl', ['speed', '-seconds', '2', ...args], { stdio: ['ignore', 'pipe', 'ignore'] }).toString();
  const line = out.split('\n').find((l) => pattern.test(l));
  const numbers = line.trim().split(/\s+/).map(Number).filter((n) => Number.isFinite(n));
  return 1e6 / numbers.at(-1); // the last column: verifications a second
}

const scratch = mkdtempSync(path.join(os.tmpdir(), 'chatnode-token-bench-'));
const key = path.join(scratch, 'tls.key');
const cert = path.join(scratch, 'tls.crt');
execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
  '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert],
{ stdio: 'ignore' });

const signers = {};
for (const [alg, options] of [['RS256', { modulusLength: 2048 }], ['ES256', {}], ['EdDSA', { crv: 'Ed25519' }]]) {
  const pair = await generateKeyPair(alg, options);
  signers[alg] = { alg, kid: alg.toLowerCase(), privateKey: pair.privateKey,
    jwk: { ...(await exportJWK(pair.publicKey)), kid: alg.toLowerCase(), alg, use: 'sig' } };
}
const jwks = createServer({ key: readFileSync(key), cert: readFileSync(cert) }, (req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ keys: Object.values(signers).map((s) => s.jwk) }));
});
await new Promise((resolve) => jwks.listen(0, '127.0.0.1', resolve));

const node = await new Node('tokens', '', {
  CHATNODE_AUTH_SECRET: SECRET, SSL_CERT_FILE: cert,
  CHATNODE_AUTH_JWKS_URL: `https://127.0.0.1:${jwks.address().port}/jwks`,
}).start();
const client = await new Client(node, 'ada').connect();

async function mint(alg) {
  const exp = Math.floor(Date.now() / 1000) + 3600;
  const jwt = new SignJWT({ rooms: '*' }).setSubject('ada').setExpirationTime(exp);
  if (alg === 'HS256') return jwt.setProtectedHeader({ alg }).sign(new TextEncoder().encode(SECRET));
  return jwt.setProtectedHeader({ alg, kid: signers[alg].kid }).sign(signers[alg].privateKey);
}

/** JOINS joins and leaves with tokens of `alg`: their round trips (ms) and the node's CPU per join (µs). */
async function run(alg) {
  const tokens = [];
  for (let i = 0; i < joins; i++) tokens.push(await mint(alg));
  const times = [];
  const cpu0 = cpuSeconds(node.child.pid);
  for (let i = 0; i < joins; i++) {
    // Waited for by the client's event hook, not polled: the round trip is the node's.
    const answered = new Promise((resolve) => {
      client.onEvent = (e) => { if (e.type === 'joined' || e.cid === `j${i}`) resolve(e); };
    });
    const t0 = performance.now();
    client.send({ type: 'join', room: 'bench', name: 'ada', token: tokens[i], cid: `j${i}` });
    const answer = await answered;
    times.push(performance.now() - t0);
    if (answer.type !== 'joined') throw new Error(`${alg}: ${JSON.stringify(answer)}`);
    client.send({ type: 'leave', room: 'bench' });
  }
  client.onEvent = null;
  client.events.length = 0; // kept small over the run
  return { times, cpu: ((cpuSeconds(node.child.pid) - cpu0) / joins) * 1e6 };
}

const algs = ['HS256', 'RS256', 'ES256', 'EdDSA'];
const results = Object.fromEntries(algs.map((a) => [a, { p50: [], p99: [], cpu: [] }]));
await run('HS256'); // warm-up: the first fetch of keys, the room, the allocator
for (let round = 1; round <= rounds; round++) {
  const line = [];
  for (const alg of algs) {
    const r = await run(alg);
    results[alg].p50.push(median(r.times));
    results[alg].p99.push(p99(r.times));
    results[alg].cpu.push(r.cpu);
    line.push(`${alg} p50 ${median(r.times).toFixed(3)} ms p99 ${p99(r.times).toFixed(3)} ms cpu ${r.cpu.toFixed(1)} µs/join`);
  }
  console.log(`round ${round}: ${line.join(' | ')}`);
}
client.close();
await node.stop();
jwks.close();
rmSync(scratch, { recursive: true, force: true });

const floor = {
  RS256: opensslVerifyMicros(['rsa2048'], /^rsa 2048 bits/),
  ES256: opensslVerifyMicros(['ecdsap256'], /256 bits ecdsa \(nistp256\)/),
  EdDSA: opensslVerifyMicros(['ed25519'], /253 bits EdDSA \(Ed25519\)/),
};
const base = median(results.HS256.cpu);
console.log(`\nmedians over ${rounds} rounds of ${joins} joins:`);
for (const alg of algs) {
  const cpu = median(results[alg].cpu);
  const extra = cpu - base;
  const vs = alg === 'HS256' ? '' : `; extra over HS256 ${extra.toFixed(1)} µs, floor (openssl verify) ${floor[alg].toFixed(1)} µs, ratio ${(extra / floor[alg]).toFixed(2)}`;
  console.log(`${alg}: p50 ${median(results[alg].p50).toFixed(3)} ms, p99 ${median(results[alg].p99).toFixed(3)} ms, cpu ${cpu.toFixed(1)} µs/join${vs}`);
}
