// Redis memory per message: one node on a fresh redis-server, one client
// sending MESSAGES messages with a cid each (as the page does) into one room,
// then Redis's used_memory and key count. With retention R, a room's stream
// holds about R messages whatever is sent; what else grows per message shows
// here.
//
//   CHATNODE_BIN=build/chatnode node tests/bench/redis_memory.mjs [MESSAGES] [RETENTION]

import { execFileSync } from 'node:child_process';
import { Client, Node, Redis, waitFor } from '../system/lib.mjs';

const messages = Number(process.argv[2] ?? 20000);
const retention = Number(process.argv[3] ?? 1000);

const redis = await new Redis().start();
const cli = (...args) => execFileSync('redis-cli', ['-p', String(redis.port), ...args], { encoding: 'utf8' }).trim();
const usedMemory = () => Number(cli('INFO', 'memory').match(/^used_memory:(\d+)/m)[1]);
const node = await new Node('mem', redis.url, {
  CHATNODE_HISTORY_RETENTION: String(retention), CHATNODE_LIMITS_RATE_PER_SECOND: '1000000', CHATNODE_LIMITS_RATE_BURST: '1000000',
}).start();
try {
  const client = await new Client(node, 'writer').connect();
  await client.join('memory');
  const acked = () => client.events.filter((e) => e.type === 'message' && e.cid).length;
  const before = usedMemory();
  const text = 'x'.repeat(40);
  for (let sent = 0; sent < messages;) {
    const batch = Math.min(500, messages - sent);
    for (let i = 0; i < batch; i++, sent++) client.send({ type: 'send', room: 'memory', text, cid: `c-${sent}-${Date.now()}` });
    await waitFor(() => acked() >= sent, `${sent} acknowledged`, 60000);
  }
  const after = usedMemory();
  const keys = Number(cli('DBSIZE'));
  console.log(`${messages} messages with cids, retention ${retention}: used_memory ${before} -> ${after} bytes, ` +
    `${((after - before) / messages).toFixed(1)} bytes per message sent, ${keys} keys`);
  client.close();
} finally {
  await node.stop();
  await redis.destroy();
}
