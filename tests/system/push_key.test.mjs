// (1.2) The deployment's VAPID key, as `push_key` gives it: a P-256 point
// that Node's own crypto derives from the kept private key; the same on every
// node and after restarts, kept in the key file by a node alone and in Redis
// (one Redis, a Redis Cluster) by the first node; an operator's own key used
// as is; unavailable (with the reason) when push is off or the key cannot be
// kept, while the chat goes on; a bad operator key stops the node at start.

import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createPrivateKey, createPublicKey, generateKeyPairSync, webcrypto } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client, Node, Redis, RedisCluster, chatnodeBin, sourceDir, waitFor } from './lib.mjs';

let scratch;
before(() => { scratch = mkdtempSync(path.join(os.tmpdir(), 'chatnode-push-key-')); });
after(() => rmSync(scratch, { recursive: true, force: true }));

/** The public key browsers take for a private key in PEM, by Node's crypto. */
function publicKeyOf(pem) {
  const { x, y } = createPublicKey(createPrivateKey(pem)).export({ format: 'jwk' });
  const point = Buffer.concat([Buffer.from([4]), Buffer.from(x, 'base64url'), Buffer.from(y, 'base64url')]);
  return point.toString('base64url');
}

/** Asks a node for `push_key`: its answer (the event or the error). */
async function ask(node) {
  const c = await new Client(node, 'asker').connect();
  try {
    return await c.ask({ type: 'push_key' });
  } finally {
    c.close();
  }
}

async function keyOf(node) {
  // With Redis the node knows the key once its bus has read it.
  let answer;
  await waitFor(async () => {
    answer = await ask(node);
    return !/not known yet/.test(answer.reason ?? '');
  }, `${node.name}: the push key`);
  assert.equal(answer.type, 'push_key', JSON.stringify(answer));
  // A point on P-256, as a browser's PushManager.subscribe checks it.
  await webcrypto.subtle.importKey('raw', Buffer.from(answer.key, 'base64url'), { name: 'ECDH', namedCurve: 'P-256' },
    true, []);
  return answer.key;
}

async function withNode(name, redisUrl, env, fn) {
  const node = await new Node(name, redisUrl, env).start();
  try {
    return await fn(node);
  } finally {
    await node.stop();
  }
}

describe('a node alone', () => {
  test('makes its key once in the key file, and gives the same one after a restart', async () => {
    const file = path.join(scratch, 'alone', 'push', 'vapid.pem');
    const env = { CHATNODE_PUSH_KEY_FILE: file };
    const first = await withNode('alone', '', env, keyOf);
    const pem = readFileSync(file, 'utf8');
    assert.match(pem, /^-----BEGIN PRIVATE KEY-----/);
    assert.equal(statSync(file).mode & 0o777, 0o600, 'the private key is readable by the node\'s user only');
    assert.equal(first, publicKeyOf(pem), 'the key given is the kept key\'s public key');
    assert.equal(await withNode('alone', '', env, keyOf), first, 'the same key after a restart');
    const other = path.join(scratch, 'other', 'vapid.pem');
    assert.notEqual(await withNode('other', '', { CHATNODE_PUSH_KEY_FILE: other }, keyOf), first,
      'another deployment has a key of its own');
  });

  test('a key file that cannot be kept leaves push unavailable, with the reason, and the chat going', async () => {
    const blocker = path.join(scratch, 'not-a-directory');
    writeFileSync(blocker, 'x');
    await withNode('blocked', '', { CHATNODE_PUSH_KEY_FILE: path.join(blocker, 'vapid.pem') }, async (node) => {
      const answer = await ask(node);
      assert.equal(answer.type, 'error');
      assert.equal(answer.code, 'unavailable');
      assert.match(answer.reason, /push\.key_file: cannot make .*not-a-directory/);
      const c = await new Client(node, 'ann').connect();
      await c.join('lobby');
      c.close();
    });
    const garbage = path.join(scratch, 'garbage.pem');
    writeFileSync(garbage, '-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n');
    await withNode('garbage', '', { CHATNODE_PUSH_KEY_FILE: garbage }, async (node) => {
      const answer = await ask(node);
      assert.equal(answer.code, 'unavailable');
      assert.match(answer.reason, /holds no P-256 private key/);
    });
  });

  test('push off: push_key is unavailable, and no key is made', async () => {
    const file = path.join(scratch, 'off', 'vapid.pem');
    await withNode('off', '', { CHATNODE_PUSH_ENABLED: 'false', CHATNODE_PUSH_KEY_FILE: file }, async (node) => {
      const answer = await ask(node);
      assert.deepEqual([answer.type, answer.code, answer.reason],
        ['error', 'unavailable', 'push notifications are off on this node']);
    });
    assert.throws(() => statSync(file), /ENOENT/);
  });
});

describe('an operator\'s own key', () => {
  for (const type of ['pkcs8', 'sec1']) {
    test(`is used as is (${type} PEM), alone and with Redis, and not written to Redis`, async () => {
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const pem = privateKey.export({ format: 'pem', type });
      const env = { CHATNODE_PUSH_VAPID_PRIVATE_KEY: pem, CHATNODE_PUSH_KEY_FILE: path.join(scratch, `unused-${type}.pem`) };
      assert.equal(await withNode('own', '', env, keyOf), publicKeyOf(pem));
      assert.throws(() => statSync(env.CHATNODE_PUSH_KEY_FILE), /ENOENT/, 'no key file is made');
      const redis = await new Redis().start();
      try {
        assert.equal(await withNode('own-redis', redis.url, env, keyOf), publicKeyOf(pem));
        assert.equal(execFileSync('redis-cli', ['-p', String(redis.port), 'EXISTS', 'chatnode:{push}:vapid']).toString().trim(), '0');
      } finally {
        await redis.destroy();
      }
    });
  }

  test('that is not a key stops the node at start, saying which setting', () => {
    const r = spawnSync(chatnodeBin, ['--config', path.join(sourceDir, 'config/node.toml'), '--listen', '127.0.0.1:0',
      '--web-root', path.join(sourceDir, 'web')], {
      env: { ...process.env, CHATNODE_PUSH_VAPID_PRIVATE_KEY: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n' },
      timeout: 10000,
    });
    assert.equal(r.status, 2);
    assert.match(r.stderr.toString() + r.stdout.toString(), /push\.vapid_private_key: not a P-256 private key in PEM/);
  });
});

/** Two nodes of one deployment agree, the key is Redis's, and it outlives the nodes. */
async function sharedKey(url, env, redisGet) {
  const [a, b] = await Promise.all([new Node('a', url, env).start(), new Node('b', url, env).start()]);
  let key;
  try {
    const [ka, kb] = [await keyOf(a), await keyOf(b)];
    assert.equal(ka, kb, 'every node gives the same key');
    const kept = redisGet('chatnode:{push}:vapid');
    assert.match(kept, /^-----BEGIN PRIVATE KEY-----/);
    assert.equal(ka, publicKeyOf(kept), 'it is the key kept in Redis');
    key = ka;
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
  assert.equal(await withNode('c', url, env, keyOf), key, 'a node started later gives it too');
}

test('with one Redis: the first node\'s key, for every node, across restarts', async () => {
  const redis = await new Redis().start();
  try {
    await sharedKey(redis.url, {}, (key) => execFileSync('redis-cli', ['-p', String(redis.port), 'GET', key]).toString());
  } finally {
    await redis.destroy();
  }
});

test('a key in Redis that is not one: push_key unavailable, naming it, and the chat goes on', async () => {
  const redis = await new Redis().start();
  try {
    execFileSync('redis-cli', ['-p', String(redis.port), 'SET', 'chatnode:{push}:vapid', 'not a key']);
    await withNode('bad', redis.url, {}, async (node) => {
      let answer;
      await waitFor(async () => { answer = await ask(node); return /VAPID key kept in Redis/.test(answer.reason ?? ''); },
        'the node to have read the bad key');
      assert.deepEqual([answer.type, answer.code], ['error', 'unavailable']);
      assert.match(answer.reason, /chatnode:\{push\}:vapid\) is not a P-256 private key in PEM: replace or delete it/);
      const c = await new Client(node, 'ann').connect();
      await c.join('lobby');
      c.close();
      // Deleted, it is made again within a heartbeat, and the node takes it.
      execFileSync('redis-cli', ['-p', String(redis.port), 'DEL', 'chatnode:{push}:vapid']);
      const key = await waitFor(async () => { const a = await ask(node); return a.type === 'push_key' && a.key; },
        'a new key after the bad one was deleted', 20000);
      const kept = execFileSync('redis-cli', ['-p', String(redis.port), 'GET', 'chatnode:{push}:vapid']).toString();
      assert.equal(key, publicKeyOf(kept));
    });
  } finally {
    await redis.destroy();
  }
});

test('with a Redis Cluster: the same', async () => {
  const cluster = await new RedisCluster({ masters: 3, replicas: 0 }).start();
  try {
    await sharedKey(cluster.url, { CHATNODE_REDIS_MODE: 'cluster' }, (key) => execFileSync('redis-cli', ['-c', '-p', String(cluster.nodes[0].port), 'GET', key]).toString());
  } finally {
    await cluster.destroy();
  }
});
