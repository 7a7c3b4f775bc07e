// (1.2) Slash commands: `/name args` typed in a room is not posted but sent
// to the command's service (a server the test runs), signed like a webhook
// (checked here with Node's own HMAC); its answer is posted by the
// command's bot (`bot: true`) or shown to the caller alone. Unknown
// commands, a service that fails, is slow or sits on a private address,
// and a command used outside its bot's rooms are told to the caller.

import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import http from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client, Node, freePort, waitFor } from './lib.mjs';

const SECRET = 'commands-suite-secret-0123456789';

async function historyOf(client, room) {
  const from = client.events.length;
  client.send({ type: 'history', room, limit: 100 });
  return waitFor(() => client.events.slice(from).find((e) => e.type === 'history' && e.room === room), 'a history page');
}

describe('slash commands', () => {
  let scratch, service, port, node;
  const calls = [];
  before(async () => {
    port = await freePort();
    service = http.createServer((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString();
        const call = { headers: req.headers, body, json: JSON.parse(body), path: req.url };
        calls.push(call);
        const reply = (status, obj) => { res.writeHead(status, { 'content-type': 'application/json' }); res.end(obj === undefined ? '' : JSON.stringify(obj)); };
        if (req.url === '/echo') reply(200, { text: `echo: ${call.json.text}`, visibility: 'room' });
        else if (req.url === '/whisper') reply(200, { text: `only for ${call.json.user}` });
        else if (req.url === '/quiet') reply(204);
        else if (req.url === '/broken') reply(500, { error: 'down' });
        else if (req.url === '/garbage') { res.writeHead(200); res.end('not json'); }
        else if (req.url === '/slow') setTimeout(() => reply(200, { text: 'too late' }), 6500);
        else reply(404, {});
      });
    });
    await new Promise((r) => service.listen(port, '127.0.0.1', r));
    const url = (p) => `http://127.0.0.1:${port}${p}`;
    const command = (name, extra = '') => `[[command]]\nname = "${name}"\nurl = "${url(`/${name}`)}"\nsecret = "${SECRET}"\nallow_private = true\n${extra}`;
    scratch = mkdtempSync(path.join(os.tmpdir(), 'chatnode-commands-'));
    const file = path.join(scratch, 'keys.toml');
    writeFileSync(file, [
      '[[key]]\nname = "echobot"\nsecret = "commands-suite-echobot-0123"\nscopes = ["post"]\nrooms = ["*"]\n',
      '[[key]]\nname = "opsbot"\nsecret = "commands-suite-opsbot-01234"\nscopes = ["post"]\nrooms = ["ops"]\n',
      command('echo', 'bot = "echobot"\ndescription = "Says it back"\nusage = "<words>"\n'),
      command('whisper', 'description = "Tells you alone"\n'),
      command('quiet'), command('broken'), command('garbage'), command('slow'),
      command('deploy', 'bot = "opsbot"\ndescription = "Deploys"\n'),
      `[[command]]\nname = "private"\nurl = "${url('/echo')}"\nsecret = "${SECRET}"\n`,
    ].join('\n'));
    node = await new Node('cmd', '', { CHATNODE_API_KEYS_FILE: file }).start();
  });
  after(async () => {
    await node?.stop();
    service?.close();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  test('the commands are listed for clients to offer', async () => {
    const al = await new Client(node, 'al').connect();
    const list = await al.ask({ type: 'commands' });
    assert.equal(list.type, 'commands');
    const echo = list.commands.find((c) => c.name === 'echo');
    assert.deepEqual(echo, { name: 'echo', description: 'Says it back', usage: '<words>' });
    assert.deepEqual(list.commands.find((c) => c.name === 'deploy').rooms, ['ops']);
    assert.equal(list.commands.length, 8);
    al.close();
  });

  test('a command\'s answer posted by its bot, signed calls, and an answer for the caller alone', async () => {
    const al = await new Client(node, 'al').connect();
    const bo = await new Client(node, 'bo').connect();
    await al.join('lobby'); await bo.join('lobby');
    calls.length = 0;
    const done = await al.ask({ type: 'send', room: 'lobby', text: '/echo hello   world' });
    assert.equal(done.type, 'command', JSON.stringify(done));
    assert.equal(done.command, 'echo');
    assert.ok(done.id, 'the id of the message its bot posted');
    const call = calls[0];
    assert.equal(call.json.type, 'command');
    assert.deepEqual([call.json.command, call.json.text, call.json.room, call.json.user], ['echo', 'hello   world', 'lobby', 'al']);
    const ts = call.headers['x-chatnode-timestamp'];
    assert.equal(call.headers['x-chatnode-signature'], `sha256=${createHmac('sha256', SECRET).update(`${ts}.${call.body}`).digest('hex')}`);
    assert.ok(call.headers['x-chatnode-delivery']);
    const seen = await waitFor(() => bo.events.find((e) => e.type === 'message' && e.id === done.id), 'bo sees the answer');
    assert.deepEqual([seen.user, seen.bot, seen.text], ['echobot', true, 'echo: hello   world']);
    assert.ok(!bo.events.some((e) => e.type === 'message' && /\/echo/.test(e.text)), 'the command itself is not posted');
    // For the caller alone: bo hears nothing of it.
    const whisper = await al.ask({ type: 'send', room: 'lobby', text: '/whisper psst' });
    assert.deepEqual([whisper.type, whisper.text, whisper.id], ['command', 'only for al', undefined]);
    const quiet = await al.ask({ type: 'send', room: 'lobby', text: '/quiet' });
    assert.deepEqual([quiet.type, quiet.text], ['command', undefined]);
    // "//" starts a message with "/".
    const literal = await al.ask({ type: 'send', room: 'lobby', text: '//echo is a command' });
    assert.deepEqual([literal.type, literal.text], ['message', '/echo is a command']);
    const path = await al.ask({ type: 'send', room: 'lobby', text: '/usr/local/bin is a path' });
    assert.deepEqual([path.type, path.text], ['message', '/usr/local/bin is a path']);
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(!bo.events.some((e) => e.type === 'command'), 'nobody else is told of a command');
    const history = await historyOf(bo, 'lobby');
    assert.deepEqual(history.messages.map((m) => m.text), ['echo: hello   world', '/echo is a command', '/usr/local/bin is a path']);
    const m = await node.metrics();
    assert.equal(m['chatnode_commands_total{result="answered"}'], 3);
    al.close(); bo.close();
  });

  test('unknown, failing, slow, private and out-of-room commands are told to the caller', async () => {
    const al = await new Client(node, 'cy').connect();
    await al.join('lobby');
    const cases = [
      ['/nope', 'not_found', /unknown command \/nope/],
      ['/broken now', 'unavailable', /\/broken failed: its service answered 500/],
      ['/garbage', 'unavailable', /not a JSON object/],
      ['/private x', 'unavailable', /address is refused/],
      ['/deploy api', 'forbidden', /does not work in room lobby/],
    ];
    for (const [text, code, reason] of cases) {
      const r = await al.ask({ type: 'send', room: 'lobby', text });
      assert.deepEqual([r.type, r.code], ['error', code], `${text}: ${JSON.stringify(r)}`);
      assert.match(r.reason, reason);
    }
    const started = Date.now();
    const slow = await al.ask({ type: 'send', room: 'lobby', text: '/slow' });
    assert.deepEqual([slow.type, slow.code], ['error', 'unavailable']);
    assert.match(slow.reason, /no answer within 5 s/);
    const waited = Date.now() - started;
    assert.ok(waited >= 4900 && waited < 8000, `gave up after ${waited} ms`);
    const history = await historyOf(al, 'lobby');
    assert.ok(!history.messages.some((msg) => /nope|broken|garbage|private|deploy|slow|too late/.test(msg.text)));
    // In its bot's room it works.
    await al.join('ops');
    const deploy = await al.ask({ type: 'send', room: 'ops', text: '/deploy api' });
    assert.equal(deploy.type, 'error', 'the deploy service answers 404 here: still told');
    assert.match(deploy.reason, /answered 404/);
    al.close();
  });
});
