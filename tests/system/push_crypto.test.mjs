// Web Push's cryptography (node/push/web_push_crypto) checked with
// implementations nobody here wrote: a body the node encrypts for a
// subscription (RFC 8291, aes128gcm) is decrypted by npm's http_ece with
// the subscription's private key, as a browser would; a VAPID token (RFC
// 8292, ES256) is verified by npm's jose against the public key the node
// gives browsers. tests/support/push_tool runs the node's code.

import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createECDH, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import ece from 'http_ece';
import { decodeProtectedHeader, importJWK, jwtVerify } from 'jose';

const tool = process.env.PUSH_TOOL ?? path.resolve('build/tests/push_tool');
const b64url = (buffer) => Buffer.from(buffer).toString('base64url');

/** A browser's subscription keys: its P-256 key pair and auth secret. */
function subscription() {
  const ua = createECDH('prime256v1');
  ua.generateKeys();
  const auth = randomBytes(16);
  return { ua, auth, keys: { p256dh: b64url(ua.getPublicKey()), auth: b64url(auth) } };
}

function encrypt(plaintext, keys) {
  return spawnSync(tool, ['encrypt', keys.p256dh, keys.auth], { input: plaintext, encoding: 'utf8' });
}

test('a body the node encrypts is what the subscriber decrypts, for every size up to the limit', () => {
  const sub = subscription();
  const payloads = ['', 'x', JSON.stringify({ room: 'lobby', user: 'ann', text: 'Héllo @bob — ünïcode 🎉' }), 'y'.repeat(3993)];
  for (const payload of payloads) {
    const run = encrypt(payload, sub.keys);
    assert.equal(run.status, 0, run.stderr);
    const body = Buffer.from(run.stdout.trim(), 'base64url');
    // The header: 16-byte salt, record size 4096, a 65-byte key id (the sender's key).
    assert.equal(body.readUInt32BE(16), 4096);
    assert.equal(body[20], 65);
    assert.equal(body.length, 86 + Buffer.byteLength(payload) + 1 + 16);
    const plain = ece.decrypt(body, { version: 'aes128gcm', privateKey: sub.ua, authSecret: b64url(sub.auth) });
    assert.equal(plain.toString('utf8'), payload);
  }
  // Each body has a salt and a sender key of its own.
  const [a, b] = [encrypt('same', sub.keys), encrypt('same', sub.keys)].map((r) => Buffer.from(r.stdout.trim(), 'base64url'));
  assert.notDeepEqual(a.subarray(0, 16), b.subarray(0, 16));
  assert.notDeepEqual(a.subarray(21, 86), b.subarray(21, 86));
  // Another subscriber's keys do not open it.
  const other = subscription();
  assert.throws(() => ece.decrypt(a, { version: 'aes128gcm', privateKey: other.ua, authSecret: b64url(sub.auth) }));
});

test('bad subscription keys and oversized payloads are refused with a reason', () => {
  const sub = subscription();
  const cases = [
    [{ ...sub.keys, p256dh: 'not base64url!' }, 'x', /base64url/],
    [{ ...sub.keys, auth: b64url(randomBytes(8)) }, 'x', /right sizes/],
    [{ ...sub.keys, p256dh: b64url(Buffer.concat([Buffer.from([4]), randomBytes(64)])) }, 'x', /not a P-256 public key/],
    [{ ...sub.keys, p256dh: b64url(sub.ua.getPublicKey(null, 'compressed')) }, 'x', /not a P-256 public key/],
    [sub.keys, 'z'.repeat(3994), /more than 3993 bytes/],
  ];
  for (const [keys, payload, reason] of cases) {
    const run = encrypt(payload, keys);
    assert.equal(run.status, 2, `refused: ${JSON.stringify(keys)}`);
    assert.match(run.stderr, reason);
  }
});

test('a VAPID token verifies with jose against the public key browsers get, and survives the key being kept', async () => {
  const exp = Math.floor(Date.now() / 1000) + 12 * 3600;
  const audience = 'https://push.example.net';
  const first = JSON.parse(execFileSync(tool, ['vapid', audience, 'mailto:ops@example.org', String(exp)], { encoding: 'utf8' }));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'chatnode-vapid-'));
  try {
    writeFileSync(path.join(dir, 'key.pem'), first.pem);
    const again = JSON.parse(execFileSync(tool, ['vapid', audience, 'mailto:ops@example.org', String(exp), path.join(dir, 'key.pem')], { encoding: 'utf8' }));
    assert.equal(again.public_key, first.public_key, 'the kept key is the same key');
    for (const { authorization, public_key: publicKey } of [first, again]) {
      const [, token, key] = authorization.match(/^vapid t=([^,]+), k=(.+)$/);
      assert.equal(key, publicKey);
      const point = Buffer.from(publicKey, 'base64url');
      assert.equal(point.length, 65);
      const jwk = { kty: 'EC', crv: 'P-256', x: b64url(point.subarray(1, 33)), y: b64url(point.subarray(33)) };
      assert.deepEqual(decodeProtectedHeader(token), { typ: 'JWT', alg: 'ES256' });
      const { payload } = await jwtVerify(token, await importJWK(jwk, 'ES256'), { audience, algorithms: ['ES256'] });
      assert.equal(payload.exp, exp);
      assert.equal(payload.sub, 'mailto:ops@example.org');
      // Another key does not verify it.
      const other = JSON.parse(execFileSync(tool, ['vapid', audience, 'mailto:x@example.org', String(exp)], { encoding: 'utf8' }));
      const otherPoint = Buffer.from(other.public_key, 'base64url');
      const otherKey = await importJWK({ kty: 'EC', crv: 'P-256', x: b64url(otherPoint.subarray(1, 33)), y: b64url(otherPoint.subarray(33)) }, 'ES256');
      await assert.rejects(jwtVerify(token, otherKey));
    }
    writeFileSync(path.join(dir, 'bad.pem'), '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n');
    const bad = spawnSync(tool, ['vapid', audience, 'mailto:x@example.org', String(exp), path.join(dir, 'bad.pem')], { encoding: 'utf8' });
    assert.equal(bad.status, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
