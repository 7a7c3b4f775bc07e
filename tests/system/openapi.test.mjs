// (1.2) The server API's OpenAPI 3.1 description, as nodes serve it at
// /api/openapi.json: valid by a validator made for it (npm's
// @seriousme/openapi-schema-validator), and true to the live API: every
// answer of a real node (over a real Redis and PostgreSQL, then with each
// gone) has a status the description lists for its operation and a body
// its schema takes (checked with npm's Ajv, JSON Schema 2020-12), and every
// status the description lists is seen.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import Ajv2020 from 'ajv/dist/2020.js';
import { Node, Postgres, Redis, waitFor } from './lib.mjs';

const KEY = 'openapi-suite-key-0123456789abcd';
const LIMITED = 'openapi-suite-limited-0123456789';
let redis, pg, node, bare, doc, scratch;

before(async () => {
  redis = await new Redis().start();
  pg = await new Postgres().start();
  // A named key that may only post, and only in another room: 403 everywhere here.
  scratch = mkdtempSync(path.join(os.tmpdir(), 'chatnode-openapi-'));
  const keys = path.join(scratch, 'keys.toml');
  writeFileSync(keys, `[[key]]\nname = "limited"\nsecret = "${LIMITED}"\nscopes = ["post"]\nrooms = ["elsewhere"]\n`);
  node = await new Node('oa1', redis.url, { CHATNODE_API_KEY: KEY, CHATNODE_API_KEYS_FILE: keys,
    CHATNODE_ARCHIVE_URL: pg.url, CHATNODE_REDIS_TIMEOUT_SECONDS: '1' }).start();
  bare = await new Node('oa2', '', { CHATNODE_API_KEY: KEY }).start(); // no archive
  await waitFor(async () => (await node.ready()) && (await bare.ready()), 'nodes ready', 20000);
});
after(async () => {
  await node?.stop();
  await bare?.stop();
  await redis?.destroy();
  await pg?.destroy();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

async function call(target, method, path, { body, key = KEY } = {}) {
  const res = await fetch(`http://127.0.0.1:${target.port}${path}`, {
    method, headers: key ? { authorization: `Bearer ${key}` } : {},
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(70000),
  });
  const text = await res.text();
  const type = res.headers.get('content-type') ?? '';
  return { status: res.status, type, body: /json/.test(type) && text ? JSON.parse(text) : text };
}

test('the description is served without the key, and is valid OpenAPI 3.1', async () => {
  const r = await call(node, 'GET', '/api/openapi.json', { key: null });
  assert.equal(r.status, 200);
  assert.match(r.type, /application\/json/);
  doc = r.body;
  assert.equal(doc.openapi, '3.1.0');
  const validator = new Validator();
  const result = await validator.validate(doc);
  assert.equal(result.valid, true, JSON.stringify(result.errors, null, 2));
  // A node without the key serves no API, its description included.
  const off = await new Node('oa-off', '').start();
  try {
    assert.equal((await call(off, 'GET', '/api/openapi.json', { key: null })).status, 404);
  } finally {
    await off.stop();
  }
});

test('every answer of the live API is one the description lists, and every listed status is seen', async () => {
  const ajv = new Ajv2020({ strict: false });
  ajv.addSchema({ ...doc, $id: 'openapi' }, 'openapi');
  const seen = new Set();
  const operations = new Map(); // "METHOD /template" -> operation
  for (const [template, item] of Object.entries(doc.paths))
    for (const [method, op] of Object.entries(item)) if (method !== 'parameters') operations.set(`${method.toUpperCase()} ${template}`, op);
  const templateOf = (path) => {
    for (const key of operations.keys()) {
      const [, template] = key.split(' ');
      const re = new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`);
      if (re.test(path)) return template;
    }
    return null;
  };
  const resolve = (response) => (response.$ref ? doc.components.responses[response.$ref.split('/').at(-1)] : response);

  /** Calls, then checks the answer against the description. */
  async function check(target, method, path, options) {
    const r = await call(target, method, path, options);
    const template = templateOf(path);
    const key = `${method} ${template}`;
    const op = operations.get(key);
    assert.ok(op, `${method} ${path} is described`);
    const response = op.responses[String(r.status)];
    assert.ok(response, `${key}: ${r.status} is listed (${JSON.stringify(r.body)})`);
    const schema = resolve(response).content['application/json'].schema;
    const validate = ajv.compile({ $ref: `openapi#${schema.$ref.slice(1)}` });
    assert.ok(validate(r.body), `${key} ${r.status}: ${JSON.stringify(validate.errors)} in ${JSON.stringify(r.body)}`);
    seen.add(`${key} ${r.status}`);
    return r;
  }

  // With everything up.
  await check(node, 'POST', '/api/rooms/lobby/messages', { body: { user: 'ops', text: 'hello', cid: 'oa-1' } });
  await check(node, 'POST', '/api/rooms/lobby/messages', { body: { user: 'ops', text: 'hello', cid: 'oa-1' } });
  await check(node, 'POST', '/api/rooms/lobby/messages', { body: { user: '', text: 'x' } });
  await check(node, 'POST', '/api/rooms/lobby/messages', { body: { user: 'ops', text: 'x'.repeat(5000) } });
  await check(node, 'POST', '/api/rooms/lobby/moderation', { body: { action: 'mute', user: 'eve', seconds: 60 } });
  await check(node, 'POST', '/api/rooms/lobby/messages', { body: { user: 'eve', text: 'muted?' } });
  await check(node, 'POST', '/api/rooms/lobby/moderation', { body: { action: 'frown', user: 'eve' } });
  await check(node, 'GET', '/api/rooms');
  await check(node, 'GET', '/api/rooms/lobby/members');
  await check(node, 'GET', '/api/rooms/no%20such/members');
  await check(node, 'POST', '/api/rooms/lobby/retention', { body: { days: 30 } });
  await check(node, 'POST', '/api/rooms/lobby/retention', { body: { days: -1 } });
  await check(bare, 'POST', '/api/rooms/lobby/retention', { body: { days: 30 } });
  await check(node, 'POST', '/api/users/ops/erase');
  await check(bare, 'POST', '/api/users/ops/erase');
  await check(node, 'POST', `/api/users/${'x'.repeat(40)}/erase`);
  await check(node, 'POST', '/api/users/eve/disconnect');
  await check(node, 'POST', `/api/users/${'x'.repeat(40)}/disconnect`);
  for (const [method, path] of [...operations.keys()].map((k) => k.split(' ')))
    await check(node, method, path.replace('{room}', 'lobby').replace('{user}', 'eve'),
      { key: 'wrong-key-0123456789abcdef', body: method === 'POST' ? {} : undefined });
  for (const [method, path] of [...operations.keys()].map((k) => k.split(' ')))
    await check(node, method, path.replace('{room}', 'lobby').replace('{user}', 'eve'),
      { key: LIMITED, body: method === 'POST' ? { text: 'x', action: 'kick', user: 'eve', days: 1 } : undefined });

  // The archive gone: what needs it is unavailable.
  await pg.stop();
  await check(node, 'POST', '/api/rooms/lobby/retention', { body: { days: 7 } });
  await check(node, 'POST', '/api/users/ops/erase');
  // Redis gone: what needs the bus is unavailable.
  await redis.stop();
  await check(node, 'GET', '/api/rooms');
  await check(node, 'GET', '/api/rooms/lobby/members');
  await check(node, 'POST', '/api/rooms/lobby/messages', { body: { user: 'ops', text: 'into the void' } });
  await check(node, 'POST', '/api/rooms/lobby/moderation', { body: { action: 'unmute', user: 'eve' } });

  const listed = [];
  for (const [key, op] of operations) for (const status of Object.keys(op.responses)) listed.push(`${key} ${status}`);
  const unseen = listed.filter((s) => !seen.has(s));
  assert.deepEqual(unseen, [], 'every listed status was seen');
});
