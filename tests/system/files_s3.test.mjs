// The S3 client (node/files/s3_client.hpp) against an S3 implementation it
// was not written with, s3rver, on a loopback port and a fresh folder, and
// checked with a client of others, Debian's aws CLI: what the one writes
// the other reads byte for byte (SHA-256), both ways; a 25 MiB upload
// streamed in pieces; byte ranges; a listing over pages; a delete, then
// 404; an unknown access key refused, S3's error code shown. s3rver does
// not check SigV4 signatures: sigv4_gateway.py checks them with botocore
// in front of it, every operation's passing and a wrong secret key's
// refused. Over TLS, a certificate is verified, its name too.
// tests/support/s3_tool.cpp runs one client operation a process.
//
//   S3_TOOL=build/tests/s3_tool node --test tests/system/files_s3.test.mjs

import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { aws as awsOn, bucket, startS3rver as startFileServer, stopChild } from './file_stores.mjs';
import { freePort, sourceDir, waitFor } from './lib.mjs';

const MiB = 1024 * 1024;
const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');
const s3Tool = process.env.S3_TOOL ?? path.join(sourceDir, 'build/tests/s3_tool');
const run = promisify(execFile);

let server;
let endpoint;
let scratch;

/** Runs s3_tool; its JSON result, and its exit status. */
async function tool(args, env = {}) {
  const options = {
    env: { ...process.env, S3_ENDPOINT: endpoint, S3_BUCKET: bucket, S3_ACCESS_KEY: 'S3RVER', S3_SECRET_KEY: 'S3RVER', ...env },
    maxBuffer: 16 * MiB,
  };
  try {
    const { stdout } = await run(s3Tool, args, options);
    return { exit: 0, ...JSON.parse(stdout) };
  } catch (error) {
    if (typeof error.code !== 'number' || !error.stdout) throw error;
    return { exit: error.code, ...JSON.parse(error.stdout) };
  }
}

/** Runs `aws s3api ...` on s3rver; its parsed JSON output, or its failure. */
const aws = (...args) => awsOn(endpoint, scratch, ...args);

function scratchFile(name, bytes) {
  const file = path.join(scratch, name);
  writeFileSync(file, bytes);
  return file;
}

const startS3rver = (directory, tls) => startFileServer(directory, { tls });
const stop = stopChild;

before(async () => {
  scratch = mkdtempSync(path.join(os.tmpdir(), 'chatnode-s3-'));
  const started = await startS3rver(path.join(scratch, 'store'));
  server = started.child;
  endpoint = `http://127.0.0.1:${started.port}`;
});

after(async () => {
  await stop(server);
  rmSync(scratch, { recursive: true, force: true });
});

describe('S3 client against s3rver, checked with the aws CLI', () => {
  test('an object the client puts is what aws gets', async () => {
    const bytes = randomBytes(100 * 1024 + 7);
    const put = await tool(['put', 'one/put.bin', scratchFile('put.bin', bytes), 'application/x-test']);
    assert.equal(put.exit, 0, JSON.stringify(put));
    assert.equal(put.status, 200);

    const out = path.join(scratch, 'put.aws');
    const got = await aws('get-object', '--bucket', bucket, '--key', 'one/put.bin', out);
    assert.ok(got.ok, got.stderr);
    assert.equal(got.ContentType, 'application/x-test');
    assert.equal(sha256(readFileSync(out)), sha256(bytes));
  });

  test('an object aws puts is what the client gets and heads', async () => {
    const bytes = randomBytes(300 * 1024 + 3);
    const put = await aws('put-object', '--bucket', bucket, '--key', 'one/aws.bin', '--body', scratchFile('aws.bin', bytes),
      '--content-type', 'image/png');
    assert.ok(put.ok, put.stderr);

    const out = path.join(scratch, 'aws.client');
    const got = await tool(['get', 'one/aws.bin', out]);
    assert.equal(got.exit, 0, JSON.stringify(got));
    assert.equal(got.status, 200);
    assert.equal(got.content_length, bytes.length);
    assert.equal(got.content_type, 'image/png');
    assert.equal(sha256(readFileSync(out)), sha256(bytes));

    const head = await tool(['head', 'one/aws.bin']);
    assert.equal(head.exit, 0, JSON.stringify(head));
    assert.equal(head.content_length, bytes.length);
    assert.equal(head.content_type, 'image/png');
    assert.ok(head.last_modified.length > 0);
  });

  test('byte ranges of an object, and a whole object past max_bytes refused', async () => {
    const bytes = randomBytes(64 * 1024);
    assert.ok((await aws('put-object', '--bucket', bucket, '--key', 'one/ranged', '--body', scratchFile('ranged', bytes))).ok);

    const out = path.join(scratch, 'ranged.part');
    const middle = await tool(['get', 'one/ranged', out, '1000-1999']);
    assert.equal(middle.status, 206, JSON.stringify(middle));
    assert.equal(middle.content_range, `bytes 1000-1999/${bytes.length}`);
    assert.equal(middle.content_length, 1000);
    assert.equal(sha256(readFileSync(out)), sha256(bytes.subarray(1000, 2000)));

    const tail = await tool(['get', 'one/ranged', out, `${bytes.length - 10}-`]);
    assert.equal(tail.status, 206, JSON.stringify(tail));
    assert.equal(sha256(readFileSync(out)), sha256(bytes.subarray(bytes.length - 10)));

    const capped = await tool(['get', 'one/ranged', out, '', '1000']);
    assert.equal(capped.exit, 1, JSON.stringify(capped));
    assert.match(capped.error, /larger than allowed/);
  });

  test('a 25 MiB upload streamed in pieces is what aws gets', async () => {
    const bytes = randomBytes(25 * MiB);
    const result = await tool(['stream-put', 'big/stream.bin', scratchFile('stream.bin', bytes), String(256 * 1024),
      'application/octet-stream']);
    assert.equal(result.exit, 0, JSON.stringify(result));
    assert.equal(result.status, 200);
    assert.equal(result.pieces, 100);

    const head = await aws('head-object', '--bucket', bucket, '--key', 'big/stream.bin');
    assert.ok(head.ok, head.stderr);
    assert.equal(head.ContentLength, 25 * MiB);
    const out = path.join(scratch, 'stream.aws');
    assert.ok((await aws('get-object', '--bucket', bucket, '--key', 'big/stream.bin', out)).ok);
    assert.equal(sha256(readFileSync(out)), sha256(bytes));
  });

  test('keys that need encoding, both ways', async () => {
    const key = 'odd/a b+c&d=é?.txt';
    const bytes = randomBytes(999);
    const put = await tool(['put', key, scratchFile('odd', bytes), 'text/plain']);
    assert.equal(put.exit, 0, JSON.stringify(put));
    const out = path.join(scratch, 'odd.aws');
    const got = await aws('get-object', '--bucket', bucket, '--key', key, out);
    assert.ok(got.ok, got.stderr);
    assert.equal(sha256(readFileSync(out)), sha256(bytes));

    const listed = await tool(['list', 'odd/']);
    assert.deepEqual(listed.objects.map((o) => o.key), [key]);
  });

  test('a listing over pages has every key and size, as aws lists them', async () => {
    const expected = new Map();
    for (let i = 0; i < 23; ++i) {
      const bytes = randomBytes(10 + i);
      const key = `many/${String(i).padStart(2, '0')}`;
      const put = await tool(['put', key, scratchFile('many', bytes)]);
      assert.equal(put.exit, 0, JSON.stringify(put));
      expected.set(key, bytes.length);
    }
    for (const i of [23, 24]) {
      const key = `many/${i}`;
      assert.ok((await aws('put-object', '--bucket', bucket, '--key', key, '--body', scratchFile('many', randomBytes(i)))).ok);
      expected.set(key, i);
    }

    const listed = await tool(['list', 'many/', '10']);
    assert.equal(listed.exit, 0, JSON.stringify(listed));
    assert.equal(listed.pages, 3);
    assert.deepEqual(new Map(listed.objects.map((o) => [o.key, o.size])), expected);
    assert.ok(listed.objects.every((o) => /^\d{4}-\d\d-\d\dT/.test(o.last_modified)));
    // The three pages went over one kept connection.
    assert.equal(listed.idle_connections, 1);

    const theirs = await aws('list-objects-v2', '--bucket', bucket, '--prefix', 'many/');
    assert.ok(theirs.ok, theirs.stderr);
    assert.deepEqual(new Map(theirs.Contents.map((o) => [o.Key, o.Size])), expected);
  });

  test('a delete, then 404 to both', async () => {
    assert.ok((await aws('put-object', '--bucket', bucket, '--key', 'gone/aws', '--body', scratchFile('gone', 'x'))).ok);
    const removed = await tool(['delete', 'gone/aws']);
    assert.equal(removed.exit, 0, JSON.stringify(removed));
    assert.equal(removed.status, 204);

    const head = await aws('head-object', '--bucket', bucket, '--key', 'gone/aws');
    assert.ok(!head.ok);
    assert.match(head.stderr, /404/);

    const got = await tool(['get', 'gone/aws', path.join(scratch, 'gone.out')]);
    assert.equal(got.exit, 1);
    assert.equal(got.status, 404);
    assert.equal(got.code, 'NoSuchKey');
    assert.match(got.error, /^NoSuchKey: /);
    const headed = await tool(['head', 'gone/aws']);
    assert.equal(headed.status, 404);
  });

  test('an unknown access key is refused, with S3 saying why', async () => {
    const stranger = { S3_ACCESS_KEY: 'STRANGER' };
    const put = await tool(['put', 'refused/small', scratchFile('refused', 'nope')], stranger);
    assert.equal(put.exit, 1, JSON.stringify(put));
    assert.equal(put.status, 403);
    assert.equal(put.code, 'InvalidAccessKeyId');
    assert.match(put.error, /^InvalidAccessKeyId: .+/);

    const streamed = await tool(['stream-put', 'refused/big', scratchFile('refused-big', randomBytes(2 * MiB))], stranger);
    assert.equal(streamed.exit, 1, JSON.stringify(streamed));
    assert.equal(streamed.code, 'InvalidAccessKeyId');

    const listed = await tool(['list', ''], stranger);
    assert.equal(listed.code, 'InvalidAccessKeyId', JSON.stringify(listed));

    const theirs = await aws('list-objects-v2', '--bucket', bucket, '--prefix', 'refused/');
    assert.ok(theirs.ok, theirs.stderr);
    assert.equal(theirs.Contents, undefined);
  });

  test('a kept connection is reused, and one the server closed while idle is not a failure', async () => {
    assert.ok((await aws('put-object', '--bucket', bucket, '--key', 'kept/one', '--body', scratchFile('kept', 'k'))).ok);
    const soon = await tool(['head', 'kept/one', '50']);
    assert.equal(soon.exit, 0, JSON.stringify(soon));
    assert.equal(soon.idle_after_first, 1);
    assert.equal(soon.idle_after_second, 1);
    // s3rver (Node's HTTP server) closes a connection idle for 5 s.
    const late = await tool(['head', 'kept/one', '5500']);
    assert.equal(late.exit, 0, JSON.stringify(late));
    assert.equal(late.second.status, 200);
    assert.equal(late.idle_after_second, 1);
  });

  test('500 and 503 are asked again twice, 50 and 200 ms apart; other answers are not', async () => {
    // A stand-in store answering each HEAD from a script of statuses.
    let script = [];
    const seen = [];
    const standIn = http.createServer((req, res) => {
      seen.push(Date.now());
      res.writeHead(script.shift() ?? 200, { 'content-length': '0' });
      res.end();
    });
    await new Promise((resolve) => standIn.listen(0, '127.0.0.1', resolve));
    const at = { S3_ENDPOINT: `http://127.0.0.1:${standIn.address().port}` };
    try {
      script = [503, 500];
      const recovered = await tool(['head', 'x'], at);
      assert.deepEqual([recovered.exit, recovered.status, seen.length], [0, 200, 3], JSON.stringify(recovered));
      const gaps = [seen[1] - seen[0], seen[2] - seen[1]];
      assert.ok(gaps[0] >= 45 && gaps[1] >= 190, `pauses ${gaps.join(', ')} ms`);

      seen.length = 0;
      script = [500, 503, 502, 200];
      const gaveUp = await tool(['head', 'x'], at);
      assert.deepEqual([gaveUp.status, seen.length], [502, 3], 'three tries at most');

      for (const status of [404, 403, 400]) {
        seen.length = 0;
        script = [status];
        assert.deepEqual([(await tool(['head', 'x'], at)).status, seen.length], [status, 1], `${status} is an answer`);
      }
    } finally {
      standIn.close();
    }
  });

  test('a store that does not answer is a timeout, a closed port a refusal', async () => {
    const closed = await tool(['head', 'x'], { S3_ENDPOINT: `http://127.0.0.1:${await freePort()}` });
    assert.equal(closed.exit, 1);
    assert.equal(closed.status, 0);
    assert.match(closed.error, /refused/i);

    const silent = net.createServer(() => {});
    await new Promise((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const started = Date.now();
      const late = await tool(['head', 'x'], { S3_ENDPOINT: `http://127.0.0.1:${silent.address().port}`, S3_TIMEOUT_MS: '500' });
      assert.equal(late.exit, 1);
      assert.equal(late.error, 'timed out');
      assert.ok(Date.now() - started < 5000);
    } finally {
      silent.close();
    }
  });
});

describe('S3 client through a gateway that checks signatures with botocore', () => {
  let gateway;
  let gatewayEndpoint;

  before(async () => {
    const port = await freePort();
    gateway = spawn('/usr/bin/python3', [path.join(sourceDir, 'tests/system/sigv4_gateway.py'), String(port),
      new URL(endpoint).port, 'S3RVER', 'S3RVER'], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise((resolve, reject) => {
      gateway.stdout.once('data', resolve);
      gateway.once('exit', (code) => reject(new Error(`sigv4_gateway.py exited with ${code}`)));
    });
    gatewayEndpoint = `http://127.0.0.1:${port}`;
  });

  after(() => stop(gateway));

  test('every operation signed with the secret key passes', async () => {
    const env = { S3_ENDPOINT: gatewayEndpoint };
    const key = 'signed/a b+c&é.bin';
    const bytes = randomBytes(4096);
    const put = await tool(['put', key, scratchFile('signed', bytes), 'application/x-signed'], env);
    assert.equal(put.exit, 0, JSON.stringify(put));
    const streamed = await tool(['stream-put', 'signed/streamed', scratchFile('signed-streamed', bytes), '1000'], env);
    assert.equal(streamed.exit, 0, JSON.stringify(streamed));
    const out = path.join(scratch, 'signed.out');
    const ranged = await tool(['get', key, out, '10-19'], env);
    assert.equal(ranged.status, 206, JSON.stringify(ranged));
    assert.equal(sha256(readFileSync(out)), sha256(bytes.subarray(10, 20)));
    const head = await tool(['head', key], env);
    assert.equal(head.exit, 0, JSON.stringify(head));
    const listed = await tool(['list', 'signed/', '1'], env);
    assert.equal(listed.exit, 0, JSON.stringify(listed));
    assert.deepEqual(listed.objects.map((o) => o.key).sort(), [key, 'signed/streamed'].sort());
    assert.equal(listed.pages, 2);
    const removed = await tool(['delete', 'signed/streamed'], env);
    assert.equal(removed.exit, 0, JSON.stringify(removed));
  });

  test('a wrong secret key is refused, S3 saying why', async () => {
    const env = { S3_ENDPOINT: gatewayEndpoint, S3_SECRET_KEY: 'not-the-secret' };
    const put = await tool(['put', 'unsigned/small', scratchFile('unsigned', 'nope')], env);
    assert.equal(put.exit, 1, JSON.stringify(put));
    assert.equal(put.status, 403);
    assert.equal(put.code, 'SignatureDoesNotMatch');
    assert.match(put.error, /^SignatureDoesNotMatch: The request signature/);
    const streamed = await tool(['stream-put', 'unsigned/big', scratchFile('unsigned-big', randomBytes(MiB))], env);
    assert.equal(streamed.code, 'SignatureDoesNotMatch', JSON.stringify(streamed));
    const listed = await tool(['list', ''], env);
    assert.equal(listed.code, 'SignatureDoesNotMatch', JSON.stringify(listed));

    const theirs = await aws('list-objects-v2', '--bucket', bucket, '--prefix', 'unsigned/');
    assert.ok(theirs.ok, theirs.stderr);
    assert.equal(theirs.Contents, undefined);
  });
});

describe('S3 client over TLS', () => {
  let tlsServer;
  let cert;
  let port;

  before(async () => {
    // A certificate for 127.0.0.1 that only SSL_CERT_FILE makes trusted.
    const key = path.join(scratch, 'tls.key');
    cert = path.join(scratch, 'tls.crt');
    await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert]);
    ({ child: tlsServer, port } = await startS3rver(path.join(scratch, 'tls-store'), { key, cert }));
  });

  after(() => stop(tlsServer));

  test('a trusted certificate for the name: put and get', async () => {
    const env = { S3_ENDPOINT: `https://127.0.0.1:${port}`, SSL_CERT_FILE: cert };
    const bytes = randomBytes(200 * 1024);
    const put = await tool(['put', 'tls/one', scratchFile('tls-one', bytes)], env);
    assert.equal(put.exit, 0, JSON.stringify(put));
    const out = path.join(scratch, 'tls-one.out');
    const got = await tool(['get', 'tls/one', out], env);
    assert.equal(got.exit, 0, JSON.stringify(got));
    assert.equal(sha256(readFileSync(out)), sha256(bytes));
  });

  test('a certificate not trusted, or for another name, is refused', async () => {
    const untrusted = await tool(['head', 'tls/one'], { S3_ENDPOINT: `https://127.0.0.1:${port}`, SSL_CERT_FILE: '/dev/null' });
    assert.equal(untrusted.exit, 1);
    assert.match(untrusted.error, /certificate verify failed/);

    const otherName = await tool(['head', 'tls/one'], { S3_ENDPOINT: `https://localhost:${port}`, SSL_CERT_FILE: cert });
    assert.equal(otherName.exit, 1);
    assert.match(otherName.error, /certificate verify failed/);
  });
});
