// Files' figures on a real node (the embedded default, its store the one
// FILES_STORE names, as in tests/system/file_stores.mjs: a directory in the
// temporary folder, or "s3", a bucket of s3rver on loopback):
// 1. Throughput: one 25 MiB file PUT at a time, RUNS times; printed: MB/s
//    of each (from the PUT to its 201, the thumbnail-free path), min,
//    median and max.
// 2. Chat with and without uploads: chatbench at the usual load (1,000
//    clients in 100 rooms, 100 senders at 20/s) for SECONDS, alternately
//    alone (A) and with two uploads of 25 MiB running all the while (B),
//    PAIRS times, each run on a node started afresh (chatbench's senders
//    reuse their names and cids: on the same node they would be answered as
//    retries of the last run's messages); printed: p50 and p99 latency of
//    each run, the B/A ratio of each pair, and the node's peak RSS in each.
//
//   CHATNODE_BIN=build/chatnode CHATBENCH=build/tests/bench/chatbench [FILES_STORE=s3] \
//     node tests/bench/uploads.mjs [RUNS (10)] [PAIRS (3)] [SECONDS (10)]

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { openStore } from '../system/file_stores.mjs';
import { Client, Node, waitFor } from '../system/lib.mjs';

const [runs = 10, pairs = 3, seconds = 10] = process.argv.slice(2).map(Number);
const MiB = 1024 * 1024;
const chatbench = process.env.CHATBENCH ?? 'build/tests/bench/chatbench';
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rssKiB = (pid) => Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+) kB/)[1]);

const store = await openStore();
let node, base, uploader;
/** A fresh node (its store kept), and the uploader joined on it. */
async function fresh() {
  uploader?.close();
  await node?.stop();
  node = await new Node('uploads', '', {
    ...store.env,
    CHATNODE_FILES_MAX_UPLOADS_PER_CONNECTION: '1000',
    CHATNODE_FILES_DAILY_BYTES_PER_USER: String(1 << 30) + '0',
    CHATNODE_LIMITS_MAX_CONNECTIONS_PER_ADDRESS: '0',
  }).start();
  base = `http://127.0.0.1:${node.port}`;
  uploader = await new Client(node, 'uploader').connect();
  await uploader.join('bench-files');
}

let asked = 0;
async function ticket(size) {
  const cid = `t${++asked}`;
  const from = uploader.events.length;
  uploader.send({ type: 'upload', room: 'bench-files', name: 'big.bin', size, mime: 'application/octet-stream', cid });
  const answer = await waitFor(() => uploader.events.slice(from).find((e) => e.cid === cid), 'an upload link');
  if (answer.type !== 'upload') throw new Error(JSON.stringify(answer));
  return answer.url;
}
const bytes = randomBytes(25 * MiB);
async function upload() {
  const url = await ticket(bytes.length);
  const started = process.hrtime.bigint();
  const r = await fetch(base + url, { method: 'PUT', body: bytes });
  if (r.status !== 201) throw new Error(`PUT: ${r.status} ${await r.text()}`);
  return Number(process.hrtime.bigint() - started) / 1e9;
}

try {
  await fresh();
  const rates = [];
  for (let i = 0; i < runs; i++) rates.push(bytes.length / 1e6 / await upload());
  console.log(`upload of 25 MiB to the ${store.kind} store, one at a time, ${runs} runs: MB/s min ${Math.min(...rates).toFixed(0)}, ` +
    `median ${median(rates).toFixed(0)}, max ${Math.max(...rates).toFixed(0)}`);

  const bench = () => new Promise((resolve, reject) => {
    const child = spawn(chatbench, ['fanout', '--url', `ws://127.0.0.1:${node.port}/ws`, '--clients', '1000', '--rooms', '100',
      '--senders', '100', '--rate', '20', '--size', '100', '--duration', String(seconds), '--warmup', '2',
      '--pids', String(node.child.pid)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.slice(out.indexOf('{')))) : reject(new Error(`chatbench ${code}`))));
  });
  const run = async (withUploads) => {
    await fresh();
    let going = withUploads, peak = rssKiB(node.child.pid);
    const sampler = setInterval(() => { peak = Math.max(peak, rssKiB(node.child.pid)); }, 100);
    const loops = withUploads ? [0, 1].map(async () => { let n = 0; while (going) { await upload(); n++; } return n; }) : [];
    const result = await bench();
    going = false;
    const uploads = (await Promise.all(loops)).reduce((a, b) => a + b, 0);
    clearInterval(sampler);
    return { p50: result.latency_ms_p50, p99: result.latency_ms_p99, uploads, peakMiB: Math.round(peak / 1024) };
  };
  for (let i = 0; i < pairs; i++) {
    const a = await run(false);
    const b = await run(true);
    console.log(`pair ${i + 1}: A p50 ${a.p50} p99 ${a.p99} ms (peak RSS ${a.peakMiB} MiB); ` +
      `B p50 ${b.p50} p99 ${b.p99} ms with ${b.uploads} uploads (peak RSS ${b.peakMiB} MiB); ` +
      `B/A p50 ${(b.p50 / a.p50).toFixed(2)} p99 ${(b.p99 / a.p99).toFixed(2)}`);
  }
} finally {
  uploader.close();
  await node.stop();
  await store.close();
}
