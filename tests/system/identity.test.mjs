// (1.2) Identity from the deployment's own issuer: tokens minted by npm's
// jose (an implementation no one here wrote) with keys the test's JWKS
// server lists over HTTPS (a certificate only SSL_CERT_FILE makes trusted).
// RS256, ES256 and EdDSA are taken beside the node's own HS256; every bad
// token is refused with `unauthorized`; a key id the node lacks makes it
// fetch the JWKS again, at most once per 30 seconds; a JWKS that turns bad
// leaves the last good keys in use; a rotation needs no restart; `auth`
// renews a connection past its first token's expiry, and a connection
// whose token expires is told and closed with 4001.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { KeyObject, sign } from 'node:crypto';
import { createServer } from 'node:https';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SignJWT, exportJWK, exportSPKI, generateKeyPair } from 'jose';
import { ChatClient, tokenExpiry } from '../../web/chatnode.mjs';
import { Client, Node, WebSocket, waitFor } from './lib.mjs';

const SECRET = 'the-nodes-own-secret-of-32-chars';
const ISSUER = 'https://id.example.test/';
const AUDIENCE = 'chatnode-test';

let scratch;
let cert;
let key;
before(() => {
  scratch = mkdtempSync(path.join(os.tmpdir(), 'chatnode-identity-'));
  key = path.join(scratch, 'tls.key');
  cert = path.join(scratch, 'tls.crt');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert],
  { stdio: 'ignore' });
});
after(() => rmSync(scratch, { recursive: true, force: true }));

/** A signing key of the issuer's: jose's key pair and its public JWK. */
async function issuerKey(alg, kid) {
  const options = alg === 'EdDSA' ? { crv: 'Ed25519' } : {};
  const { publicKey, privateKey } = await generateKeyPair(alg, options);
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { alg, kid, publicKey, privateKey, jwk };
}

/** A token signed by `k` (jose), claims as the issuer would set them. */
async function mint(k, sub, { exp = '10m', nbf, iss = ISSUER, aud = AUDIENCE, rooms, name, header = {} } = {}) {
  const jwt = new SignJWT({ ...(rooms ? { rooms } : {}), ...(name ? { name } : {}) })
    .setProtectedHeader({ alg: k.alg, kid: k.kid, typ: 'JWT', ...header })
    .setSubject(sub).setIssuedAt().setExpirationTime(exp);
  if (iss) jwt.setIssuer(iss);
  if (aud) jwt.setAudience(aud);
  if (nbf !== undefined) jwt.setNotBefore(nbf);
  return jwt.sign(k.privateKey);
}

/** A token whose header names `alg` and `kid` but is signed by `k` with
 *  ES256 (Node's crypto): an attempt to make the node check it with
 *  another key or algorithm. */
function confused(k, alg, kid, payload) {
  const signedPart = `${Buffer.from(JSON.stringify({ alg, kid, typ: 'JWT' })).toString('base64url')}.${payload}`;
  const privateKey = k.privateKey instanceof KeyObject ? k.privateKey : KeyObject.from(k.privateKey);
  const signature = sign('sha256', Buffer.from(signedPart), { key: privateKey, dsaEncoding: 'ieee-p1363' });
  return `${signedPart}.${signature.toString('base64url')}`;
}

/** An HS256 token signed with `secret` by jose. */
async function hs256(secret, sub, claims = {}) {
  return new SignJWT({ rooms: '*', ...claims }).setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(sub).setExpirationTime('10m').sign(new TextEncoder().encode(secret));
}

/** The issuer's JWKS endpoint: serves `keys` as `mode` says, and counts
 *  the requests. */
class JwksServer {
  constructor() { this.keys = []; this.mode = 'ok'; this.requests = 0; }
  async start() {
    this.server = createServer({ key: readFileSync(key), cert: readFileSync(cert) }, (req, res) => {
      this.requests += 1;
      this.lastAt = Date.now();
      if (this.mode === 'down') { res.writeHead(503).end('down'); return; }
      if (this.mode === 'garbage') { res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys": [{"kty":'); return; }
      if (this.mode === 'huge') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ keys: this.keys.map((k) => k.jwk), padding: 'x'.repeat(10 << 20) }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/jwk-set+json' });
      res.end(JSON.stringify({ keys: this.keys.map((k) => k.jwk) }));
    });
    await new Promise((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `https://127.0.0.1:${this.server.address().port}/.well-known/jwks.json`;
    return this;
  }
  stop() { this.server?.closeAllConnections(); this.server?.close(); }
}

/** Joins `room` as `name` with `token`: the `joined` event or the error. */
async function joinWith(client, room, token, name = client.name) {
  const from = client.events.length;
  const cid = `j${Math.random().toString(36).slice(2)}`;
  client.send({ type: 'join', room, name, token, cid });
  return waitFor(() => client.events.slice(from).find((e) => e.cid === cid || (e.type === 'joined' && e.room === room)),
    `${client.name}: answer to joining ${room}`);
}

function nodeEnv(jwks, extra = {}) {
  return { CHATNODE_AUTH_JWKS_URL: jwks.url, CHATNODE_AUTH_ISSUER: ISSUER, CHATNODE_AUTH_AUDIENCE: AUDIENCE,
    CHATNODE_AUTH_SECRET: SECRET, SSL_CERT_FILE: cert, CHATNODE_LOG_LEVEL: 'info', ...extra };
}

describe('tokens from the issuer', () => {
  let jwks;
  let node;
  let rsa;
  let ec;
  let ed;

  before(async () => {
    [rsa, ec, ed] = await Promise.all([issuerKey('RS256', 'rsa-1'), issuerKey('ES256', 'ec-1'),
      issuerKey('EdDSA', 'ed-1')]);
    jwks = await new JwksServer().start();
    jwks.keys = [rsa, ec, ed];
    node = await new Node('idp1', '', nodeEnv(jwks)).start();
    await waitFor(() => jwks.requests >= 1, 'the JWKS fetched at start');
  });
  after(async () => { await node?.stop(); jwks?.stop(); });

  test('RS256, ES256 and EdDSA tokens are taken, and HS256 with the secret beside them', async () => {
    const welcome = await new Client(node, 'x').connect();
    assert.equal(welcome.events[0].auth, 'token');
    welcome.close();
    for (const [k, who] of [[rsa, 'ada'], [ec, 'bob'], [ed, 'cy']]) {
      const c = await new Client(node, who).connect();
      const display = `${who.toUpperCase()} (${k.alg})`;
      const answer = await joinWith(c, 'general', await mint(k, who, { name: display }));
      assert.equal(answer.type, 'joined', `${k.alg}: ${JSON.stringify(answer)}`);
      const sent = await c.ask({ type: 'send', room: 'general', text: `signed with ${k.alg}` });
      assert.equal(sent.user, who);
      assert.equal(sent.name, display, 'the name claim is shown with the message');
      c.close();
    }
    const own = await new Client(node, 'dee').connect();
    assert.equal((await joinWith(own, 'general', await hs256(SECRET, 'dee'))).type, 'joined');
    own.close();
  });

  test('the rooms claim limits where an issuer token joins; without it any room', async () => {
    const c = await new Client(node, 'eve').connect();
    const limited = await mint(ec, 'eve', { rooms: 'team-*' });
    assert.equal((await joinWith(c, 'team-red', limited)).type, 'joined');
    const refused = await joinWith(c, 'general', limited);
    assert.equal(refused.code, 'unauthorized');
    assert.match(refused.reason, /room/);
    assert.equal((await joinWith(c, 'general', await mint(ec, 'eve'))).type, 'joined');
    c.close();
  });

  test('bad tokens are refused with unauthorized, and the node fetches the JWKS at most once per 30 s', async () => {
    const rsaPublicPem = await exportSPKI(rsa.publicKey);
    const now = Math.floor(Date.now() / 1000);
    const unknownKid = await issuerKey('ES256', 'not-listed');
    const payload = Buffer.from(JSON.stringify({ sub: 'mal', exp: now + 600, iss: ISSUER, aud: AUDIENCE }))
      .toString('base64url');
    const bad = {
      'alg none': `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${payload}.`,
      'HS256 signed with the RSA public key': await hs256(rsaPublicPem, 'mal'),
      'HS256 with another secret': await hs256('another-secret-of-32-characters!', 'mal'),
      'a kid the JWKS lacks': await mint(unknownKid, 'mal'),
      'expired': await mint(rsa, 'mal', { exp: now - 10 }),
      'not valid yet (nbf)': await mint(rsa, 'mal', { nbf: now + 3600, exp: now + 7200 }),
      'wrong audience': await mint(ed, 'mal', { aud: 'another-service' }),
      'wrong issuer': await mint(ed, 'mal', { iss: 'https://evil.example.test/' }),
      'no issuer': await mint(ed, 'mal', { iss: null }),
      'a signature of another key': (await mint(ec, 'mal')).replace(/\.[^.]+$/, `.${(await mint(ec, 'other')).split('.')[2]}`),
      'an RS256 header over an ES256 signature': confused(ec, 'RS256', 'rsa-1', payload),
      'for another name': await mint(rsa, 'someone-else'),
    };
    const c = await new Client(node, 'mal').connect();
    const fetched = jwks.requests;
    for (const [what, token] of Object.entries(bad)) {
      const answer = await joinWith(c, 'general', token);
      assert.equal(answer.code, 'unauthorized', `${what}: ${JSON.stringify(answer)}`);
    }
    // Many made-up key ids within the 30 s of the start's fetch: none fetched.
    for (let i = 0; i < 20; i++) {
      const answer = await joinWith(c, 'general', await mint({ ...ec, kid: `made-up-${i}` }, 'mal'));
      assert.equal(answer.code, 'unauthorized');
    }
    // Within 30 s of the last fetch none came; on a machine slow enough to
    // take longer, one at most.
    if (Date.now() - jwks.lastAt < 29000) assert.equal(jwks.requests, fetched, 'no fetch within 30 s of the last');
    else assert.ok(jwks.requests <= fetched + 1, `${jwks.requests - fetched} fetches for unknown key ids`);
    // The connection stays, and a good token still joins on it.
    assert.equal((await joinWith(c, 'general', await mint(rsa, 'mal'))).type, 'joined');
    c.close();
  });

  test('a JWKS that turns bad leaves the last good keys in use; a rotation needs no restart', async () => {
    const rotated = await issuerKey('ES256', 'ec-2');
    const c = await new Client(node, 'fay').connect();
    // Too big to be a JWKS: the fetch an unknown key asks for (once 30 s
    // have passed) fails, and the keys held stay.
    jwks.mode = 'huge';
    let before = jwks.requests;
    await waitFor(async () => {
      await joinWith(c, 'general', await mint(rotated, 'fay'));
      return jwks.requests > before;
    }, 'a fetch for the unknown key once 30 s passed', 40000);
    await waitFor(async () => (await node.metrics())['chatnode_issuer_key_fetches_total{result="failed"}'] === 1,
      'the failed fetch counted');
    assert.equal((await joinWith(c, 'general', await mint(rsa, 'fay'))).type, 'joined', 'the last good keys stay');
    assert.equal((await node.metrics()).chatnode_issuer_keys, 3);
    assert.match(node.stdout + node.stderr, /issuer_keys_unavailable/);

    // The issuer rotates: the new key only. The node takes it when a token
    // names it, 30 s after its last fetch, with no restart.
    jwks.mode = 'ok';
    jwks.keys = [rotated];
    before = jwks.requests;
    // A send right behind the join waits for it, while the keys are fetched
    // too: refused with the join, or stored once it is admitted.
    let answer;
    let sent;
    await waitFor(async () => {
      const token = await mint(rotated, 'fay');
      const from = c.events.length;
      c.send({ type: 'join', room: 'rotated', name: 'fay', token, cid: 'j-rot' });
      c.send({ type: 'send', room: 'rotated', text: 'right behind the join', cid: `s-${from}` });
      answer = await waitFor(() => c.events.slice(from).find((e) => e.cid === 'j-rot' || e.type === 'joined'),
        'the join answered');
      // The stored message may come in the join's own history.
      const mine = (e) => e.cid === `s-${from}` || (e.type === 'joined' && e.history.find((m) => m.cid === `s-${from}`));
      sent = await waitFor(() => c.events.slice(from).find(mine), 'the send answered');
      if (sent.type === 'joined') sent = sent.history.find((m) => m.cid === `s-${from}`);
      return answer.type === 'joined';
    }, 'the rotated key taken', 40000);
    assert.equal(sent.type, 'message', JSON.stringify(sent));
    assert.equal(jwks.requests, before + 1, 'one fetch for the rotation');
    // The old key is gone from the JWKS, and so from the node.
    const old = await joinWith(c, 'general', await mint(rsa, 'fay'));
    assert.equal(old.code, 'unauthorized');
    c.close();
  });
});

describe('a connection\'s token: renewal and expiry', () => {
  let jwks;
  let node;
  let k;

  before(async () => {
    k = await issuerKey('EdDSA', 'ed-renew');
    jwks = await new JwksServer().start();
    jwks.keys = [k];
    node = await new Node('idp2', '', nodeEnv(jwks)).start();
    await waitFor(() => jwks.requests >= 1, 'the JWKS fetched at start');
  });
  after(async () => { await node?.stop(); jwks?.stop(); });

  test('auth renews a connection past its first token\'s exp; another user\'s token is refused', async () => {
    const c = await new Client(node, 'gus').connect();
    const now = Math.floor(Date.now() / 1000);
    assert.equal((await joinWith(c, 'general', await mint(k, 'gus', { exp: now + 3 }))).type, 'joined');
    const other = await c.ask({ type: 'auth', token: await mint(k, 'not-gus', { exp: now + 600 }) });
    assert.equal(other.code, 'unauthorized');
    const renewed = await c.ask({ type: 'auth', token: await mint(k, 'gus', { exp: now + 600 }) });
    assert.equal(renewed.type, 'auth', JSON.stringify(renewed));
    assert.equal(renewed.exp, now + 600);
    // Past the first token's exp the connection goes on.
    await new Promise((resolve) => setTimeout(resolve, (now + 4) * 1000 - Date.now()));
    const sent = await c.ask({ type: 'send', room: 'general', text: 'still here' });
    assert.equal(sent.type, 'message', JSON.stringify(sent));
    assert.equal(c.closeCode, null);
    c.close();
  });

  test('a connection whose token expires is told and closed with 4001', async () => {
    const c = await new Client(node, 'hal').connect();
    const now = Math.floor(Date.now() / 1000);
    assert.equal((await joinWith(c, 'general', await mint(k, 'hal', { exp: now + 2 }))).type, 'joined');
    await waitFor(() => c.closeCode !== null, 'the close at expiry', 6000);
    assert.equal(c.closeCode, 4001);
    const told = c.events.find((e) => e.type === 'error');
    assert.equal(told?.code, 'unauthorized');
    assert.equal(told?.reason, 'token expired');
    assert.ok(Date.now() >= (now + 2) * 1000 - 50, 'not before the token\'s exp');
  });

  test('the client library renews its token before it expires, and without renewToken stays closed at 4001', async () => {
    const now = () => Math.floor(Date.now() / 1000);
    let renewals = 0;
    const lib = new ChatClient({ url: `ws://127.0.0.1:${node.port}/ws`, name: 'lia', WebSocket,
      token: await mint(k, 'lia', { exp: now() + 3 }),
      renewToken: async () => { renewals += 1; return mint(k, 'lia', { exp: now() + 600 }); } });
    const statuses = [];
    lib.on('status', (s) => statuses.push(s));
    lib.connect();
    const room = lib.room('general').join();
    await new Promise((resolve) => { const off = room.on('joined', () => { off(); resolve(); }); });
    assert.ok(tokenExpiry(lib.token) <= now() + 3);
    await waitFor(() => renewals === 1 && tokenExpiry(lib.token) > now() + 60, 'the token renewed', 6000);
    await new Promise((resolve) => setTimeout(resolve, 4000)); // past the first token's exp
    const m = await room.send('renewed');
    assert.equal(m.type, 'message');
    assert.ok(!statuses.some((s) => s.code === 4001), JSON.stringify(statuses));
    lib.close();

    // A token that lasts longer than a timer can wait (2^31 ms, 24.8 days)
    // is not renewed at once, over and over.
    let early = 0;
    const long = new ChatClient({ url: `ws://127.0.0.1:${node.port}/ws`, name: 'lou', WebSocket,
      token: await mint(k, 'lou', { exp: now() + 40 * 86400 }),
      renewToken: async () => { early += 1; return mint(k, 'lou', { exp: now() + 40 * 86400 }); } });
    long.connect();
    const longRoom = long.room('general').join();
    await new Promise((resolve) => { const off = longRoom.on('joined', () => { off(); resolve(); }); });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.equal(early, 0, 'no renewal of a 40-day token');
    long.close();

    const plain = new ChatClient({ url: `ws://127.0.0.1:${node.port}/ws`, name: 'max', WebSocket,
      token: await mint(k, 'max', { exp: now() + 2 }) });
    const seen = [];
    plain.on('status', (s) => seen.push(s));
    plain.connect();
    plain.room('general').join();
    await waitFor(() => seen.some((s) => s.code === 4001), 'closed at expiry', 6000);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.equal(seen.filter((s) => s.status === 'connecting').length, 1, 'not opened again with the expired token');
    plain.close();
  });

  test('auth on a node without tokens is a bad request', async () => {
    const open = await new Node('open1', '').start();
    try {
      const c = await new Client(open, 'ivy').connect();
      const answer = await c.ask({ type: 'auth', token: await mint(k, 'ivy') });
      assert.equal(answer.code, 'bad_request');
      c.close();
    } finally {
      await open.stop();
    }
  });
});

describe('an issuer that cannot be reached', () => {
  test('down or answering garbage at start: issuer tokens are refused, the node serves on, HS256 still works', async () => {
    const k = await issuerKey('RS256', 'rsa-x');
    const jwks = await new JwksServer().start();
    jwks.keys = [k];
    for (const mode of ['down', 'garbage']) {
      jwks.mode = mode;
      const before = jwks.requests;
      const node = await new Node(`idp-${mode}`, '', nodeEnv(jwks)).start();
      try {
        await waitFor(() => jwks.requests > before, 'the fetch at start');
        await waitFor(async () => (await node.metrics())['chatnode_issuer_key_fetches_total{result="failed"}'] >= 1,
          'the failed fetch counted');
        const c = await new Client(node, 'jo').connect();
        const answer = await joinWith(c, 'general', await mint(k, 'jo'));
        assert.equal(answer.code, 'unauthorized', `${mode}: ${JSON.stringify(answer)}`);
        assert.equal((await joinWith(c, 'general', await hs256(SECRET, 'jo'))).type, 'joined');
        c.close();
        assert.equal(await node.ready(), true);
      } finally {
        await node.stop();
      }
    }
    jwks.stop();
  });

  test('a JWKS that never answers is given up after 5 s, and joins are answered meanwhile', async () => {
    const k = await issuerKey('ES256', 'ec-x');
    // Accepts the connection and never answers.
    const silent = createServer({ key: readFileSync(key), cert: readFileSync(cert) }, () => {});
    await new Promise((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const url = `https://127.0.0.1:${silent.address().port}/jwks`;
    const node = await new Node('idp-slow', '', nodeEnv({ url })).start();
    try {
      const c = await new Client(node, 'kim').connect();
      const t0 = Date.now();
      const answer = await joinWith(c, 'general', await mint(k, 'kim'));
      assert.equal(answer.code, 'unauthorized');
      assert.ok(Date.now() - t0 < 12000, `answered in ${Date.now() - t0} ms`);
      await waitFor(async () => (await node.metrics())['chatnode_issuer_key_fetches_total{result="failed"}'] >= 1,
        'the slow fetch given up', 10000);
      c.close();
    } finally {
      await node.stop();
      silent.closeAllConnections();
      silent.close();
    }
  });
});
