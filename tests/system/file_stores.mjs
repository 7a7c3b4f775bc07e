// The file stores a node may be given (`[files] store`), for the suites that
// run the same tests on each: a directory, or a bucket of s3rver (an S3
// implementation chatnode was not written with) read back with Debian's
// aws CLI (a client of others). Each says what it holds, can be taken away
// and brought back, and gives a file's bytes as the store keeps them.

import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort, waitFor } from './lib.mjs';

const run = promisify(execFile);
export const bucket = 'chatnode-files';
// Debian's, not another one earlier on PATH.
const awsCli = existsSync('/usr/bin/aws') ? '/usr/bin/aws' : 'aws';
const s3rverBin = createRequire(import.meta.url).resolve('s3rver/bin/s3rver.js');

/** An s3rver child on `port` (a free one when none), over TLS with `tls` ({ key, cert } files). */
export async function startS3rver(directory, { tls = null, port = null } = {}) {
  port ??= await freePort();
  const tlsArgs = tls ? ['--key', tls.key, '--cert', tls.cert] : [];
  // s3rver's ListObjectsV2 continuation tokens are DES-encrypted, which
  // Node's OpenSSL 3 offers only with its legacy provider.
  const child = spawn(process.execPath, ['--openssl-legacy-provider', s3rverBin, '-d', directory, '-a', '127.0.0.1',
    '-p', String(port), '--silent', '--configure-bucket', bucket, ...tlsArgs], { stdio: ['ignore', 'ignore', 'inherit'] });
  const listening = () => new Promise((resolve) => {
    const probe = net.connect(port, '127.0.0.1', () => { probe.destroy(); resolve(true); });
    probe.on('error', () => resolve(false));
  });
  await waitFor(listening, `s3rver on port ${port}`);
  return { child, port };
}

export async function stopChild(child) {
  if (child && child.exitCode === null && child.signalCode === null) {
    child.kill();
    await new Promise((resolve) => child.once('exit', resolve));
  }
}

/** Runs `aws s3api ...` against `endpoint`; its parsed JSON output, or its failure. */
export async function aws(endpoint, home, ...args) {
  const options = {
    env: {
      PATH: process.env.PATH,
      HOME: home,
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_PAGER: '',
    },
    maxBuffer: 64 * 1024 * 1024,
  };
  try {
    const { stdout } = await run(awsCli, ['--endpoint-url', endpoint, '--output', 'json', 's3api', ...args], options);
    return { ok: true, ...(stdout.trim() ? JSON.parse(stdout) : {}) };
  } catch (error) {
    return { ok: false, stderr: String(error.stderr) };
  }
}

/** A store in a fresh directory. */
class DirectoryStore {
  constructor(scratch) { this.root = path.join(scratch, 'store'); this.kind = 'directory'; }
  async start() { return this; }
  get env() { return { CHATNODE_FILES_STORE: `dir:${this.root}` }; }
  /** Every name the store holds: bytes, descriptions, thumbnails, parts being written. */
  async names() {
    try {
      return readdirSync(this.root, { recursive: true }).filter((f) => f.includes('.') || f.length === 22);
    } catch {
      return [];
    }
  }
  async bytesOf(id) { return readFileSync(path.join(this.root, id.slice(0, 2), id)); }
  /** Its directory replaced by a file: nothing can be written under it (by root either). */
  async takeAway() {
    this.away = `${this.root}-away`;
    const { renameSync, writeFileSync } = await import('node:fs');
    renameSync(this.root, this.away);
    writeFileSync(this.root, 'not a directory');
  }
  async bringBack() {
    const { renameSync } = await import('node:fs');
    rmSync(this.root, { force: true });
    renameSync(this.away, this.root);
  }
  async close() {}
}

/** A bucket of an s3rver child, on a port it keeps when stopped and started again. */
class BucketStore {
  constructor(scratch) { this.scratch = scratch; this.kind = 's3'; }
  async start() {
    const started = await startS3rver(path.join(this.scratch, 'bucket'), { port: this.port });
    this.child = started.child;
    this.port = started.port;
    return this;
  }
  get endpoint() { return `http://127.0.0.1:${this.port}`; }
  get env() {
    return {
      CHATNODE_FILES_STORE: `s3://${bucket}`,
      CHATNODE_FILES_S3_ENDPOINT: this.endpoint,
      CHATNODE_FILES_S3_PATH_STYLE: 'true',
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
    };
  }
  /** Every key in the bucket, as the aws CLI lists them. */
  async names() {
    const listed = await aws(this.endpoint, this.scratch, 'list-objects-v2', '--bucket', bucket);
    if (!listed.ok) throw new Error(`aws list-objects-v2: ${listed.stderr}`);
    return (listed.Contents ?? []).map((o) => o.Key);
  }
  async bytesOf(id) {
    const file = path.join(this.scratch, `got-${id}`);
    const got = await aws(this.endpoint, this.scratch, 'get-object', '--bucket', bucket, '--key', id, file);
    if (!got.ok) throw new Error(`aws get-object: ${got.stderr}`);
    const bytes = readFileSync(file);
    rmSync(file);
    return bytes;
  }
  async takeAway() { await stopChild(this.child); }
  async bringBack() { await this.start(); }
  async close() { await stopChild(this.child); }
}

/** The store FILES_STORE names ("s3", or a directory by default), started in a scratch folder. */
export async function openStore(kind = process.env.FILES_STORE ?? 'directory') {
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'chatnode-files-'));
  const store = kind === 's3' ? new BucketStore(scratch) : new DirectoryStore(scratch);
  await store.start();
  const close = store.close.bind(store);
  store.close = async () => { await close(); rmSync(scratch, { recursive: true, force: true }); };
  store.scratch = scratch;
  return store;
}
