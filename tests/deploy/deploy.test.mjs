// Offline checks of deploy/: what can be checked without a Docker engine or a
// Kubernetes cluster. (The compose topology itself runs as processes in
// tests/system/deploy.test.mjs.)

import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import YAML from 'yaml';

// The folder of this file (import.meta.dirname needs Node.js 20.11; Debian 12 has 18).
const here = path.dirname(fileURLToPath(import.meta.url));

const root = process.env.CHATNODE_SOURCE_DIR ?? path.resolve(here, '../..');
const deploy = path.join(root, 'deploy');
const bin = (name) => path.join(here, 'node_modules/.bin', name);

function run(command, args) {
  const r = spawnSync(command, args, { encoding: 'utf8' });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

test('compose.yaml is valid against the Compose schema', () => {
  // Errors only (-q); building and naming the image in one service is the
  // documented way to tag what compose builds.
  const args = ['-q', '--disable-rule', 'no-build-and-image'];
  const ok = run(bin('dclint'), [path.join(deploy, 'compose.yaml'), ...args]);
  assert.equal(ok.status, 0, ok.output);
  // The checker does check: a broken copy fails.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'compose-'));
  const broken = YAML.parse(readFileSync(path.join(deploy, 'compose.yaml'), 'utf8'), { merge: true });
  broken.services.node1.restrat = 'always';
  writeFileSync(path.join(dir, 'compose.yaml'), YAML.stringify(broken));
  assert.notEqual(run(bin('dclint'), [path.join(dir, 'compose.yaml'), ...args]).status, 0);

  const compose = YAML.parse(readFileSync(path.join(deploy, 'compose.yaml'), 'utf8'), { merge: true });
  for (const n of ['node1', 'node2', 'node3']) {
    const s = compose.services[n];
    assert.equal(s.depends_on.redis.condition, 'service_healthy', `${n} waits for a healthy redis`);
    assert.equal(s.environment.CHATNODE_NODE_NAME, n);
  }
  assert.ok(compose.services.redis.command.includes('--appendonly'));
  assert.ok(compose.services.redis.healthcheck);
  assert.ok(compose.services.balancer.ports.some((p) => p.endsWith(':8080:8080')));
});

test('compose.cluster.yaml is valid against the Compose schema and makes its cluster before the nodes start', () => {
  const file = path.join(deploy, 'compose.cluster.yaml');
  const ok = run(bin('dclint'), [file, '-q', '--disable-rule', 'no-build-and-image']);
  assert.equal(ok.status, 0, ok.output);
  const compose = YAML.parse(readFileSync(file, 'utf8'), { merge: true });
  const redis = Object.keys(compose.services).filter((n) => /^redis\d$/.test(n));
  assert.equal(redis.length, 9, '3 masters with 2 replicas each');
  for (const n of redis) {
    const args = compose.services[n].command.join(' ');
    assert.match(args, /--cluster-enabled yes/);
    assert.match(args, new RegExp(`--cluster-announce-hostname ${n} `), `${n} announces its own name`);
    assert.ok(compose.services[n].healthcheck && `${n}-data` in compose.volumes);
  }
  const init = compose.services['redis-cluster-init'];
  assert.equal(init.restart, 'no');
  for (const n of redis) assert.equal(init.depends_on[n].condition, 'service_healthy');
  for (const n of ['node1', 'node2', 'node3']) {
    const s = compose.services[n];
    assert.equal(s.depends_on['redis-cluster-init'].condition, 'service_completed_successfully');
    assert.equal(s.environment.CHATNODE_REDIS_MODE, 'cluster');
    assert.match(s.environment.CHATNODE_REDIS_URL, /^redis:\/\/redis1:6379,redis2:6379,redis3:6379$/);
  }
});

test('the Dockerfile lints clean and builds with the install script', () => {
  const lint = run(bin('dockerfilelint'), [path.join(deploy, 'Dockerfile')]);
  assert.equal(lint.status, 0, lint.output);
  const text = readFileSync(path.join(deploy, 'Dockerfile'), 'utf8');
  assert.match(text, /^FROM debian:bookworm AS build$/m);
  assert.match(text, /RUN bash deploy\/install-deps\.sh/, 'one source of truth for dependencies');
  assert.match(text, /RUN bash deploy\/build\.sh/);
  assert.match(text, /^USER 10001$/m, 'runs as non-root');
  assert.match(text, /^HEALTHCHECK .*\/healthz/ms);
  assert.equal((text.match(/^EXPOSE /gm) ?? []).length, 1, 'one port');
  const ignore = readFileSync(path.join(root, '.dockerignore'), 'utf8');
  assert.match(ignore, /^build\*\/$/m, 'build trees stay out of the context');
});

/** Renders a kustomization the way `kubectl apply -k` does for what these
 *  use: resources (files, or folders holding a kustomization), the
 *  namespace, the ConfigMap generator, and patches that delete an object
 *  (`$patch: delete`) or merge into one (lists of named items by name). */
function renderKustomization(dir) {
  const k = YAML.parse(readFileSync(path.join(dir, 'kustomization.yaml'), 'utf8'));
  let objects = [];
  for (const entry of k.resources) {
    const at = path.join(dir, entry);
    if (statSync(at).isDirectory()) objects.push(...renderKustomization(at).objects);
    else for (const doc of YAML.parseAllDocuments(readFileSync(at, 'utf8'))) objects.push(doc.toJS());
  }
  for (const gen of k.configMapGenerator ?? []) {
    const data = {};
    for (const f of gen.files) data[path.basename(f)] = readFileSync(path.join(dir, f), 'utf8');
    objects.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: gen.name }, data });
  }
  for (const patch of k.patches ?? [])
    for (const doc of YAML.parseAllDocuments(readFileSync(path.join(dir, patch.path), 'utf8'))) {
      const p = doc.toJS();
      const same = (o) => o.kind === p.kind && o.metadata.name === p.metadata.name;
      assert.ok(objects.some(same), `${patch.path}: no ${p.kind} ${p.metadata.name} to patch`);
      if (p.$patch === 'delete') objects = objects.filter((o) => !same(o));
      else objects = objects.map((o) => (same(o) ? merge(o, p) : o));
    }
  for (const o of objects)
    if (o.kind !== 'Namespace' && k.namespace) o.metadata.namespace = k.namespace;
  return { kustomization: k, objects };
}

/** A strategic merge as far as these patches go: maps merge, lists of
 *  items with a name merge item by item, anything else is replaced. */
function merge(into, patch) {
  if (Array.isArray(into) && Array.isArray(patch) && patch.every((x) => x?.name)) {
    const out = into.map((x) => structuredClone(x));
    for (const item of patch) {
      const i = out.findIndex((x) => x.name === item.name);
      if (i < 0) out.push(item); else out[i] = merge(out[i], item);
    }
    return out;
  }
  if (into && patch && typeof into === 'object' && typeof patch === 'object' && !Array.isArray(patch)) {
    const out = { ...into };
    for (const [key, value] of Object.entries(patch)) out[key] = key in into ? merge(into[key], value) : value;
    return out;
  }
  return patch;
}

async function validate(object) {
  const group = object.apiVersion.includes('/') ? object.apiVersion : `${object.apiVersion}`;
  const models = await import(`kubernetes-models/${group}`);
  const Model = models[object.kind];
  assert.ok(Model, `no schema for ${object.apiVersion} ${object.kind}`);
  new Model(object).validate(); // throws with the schema error
}

test('deploy/k8s renders to objects valid against the Kubernetes schemas', async () => {
  const dir = path.join(deploy, 'k8s');
  const { objects } = renderKustomization(dir);
  for (const o of objects) await validate(o);
  // The optional Ingress is valid too.
  for (const doc of YAML.parseAllDocuments(readFileSync(path.join(dir, 'ingress.yaml'), 'utf8')))
    await validate(doc.toJS());
  // A broken object is caught.
  const bad = structuredClone(objects.find((o) => o.kind === 'Deployment'));
  bad.spec.replicas = 'three';
  await assert.rejects(() => validate(bad));

  const byKind = (kind, name) => objects.find((o) => o.kind === kind && (!name || o.metadata.name === name));
  const d = byKind('Deployment', 'chatnode');
  const c = d.spec.template.spec.containers[0];
  assert.equal(d.spec.replicas, 3);
  assert.equal(c.readinessProbe.httpGet.path, '/readyz');
  assert.equal(c.livenessProbe.httpGet.path, '/healthz');
  assert.ok(c.startupProbe);
  assert.ok(c.resources.requests && c.resources.limits);
  assert.equal(d.spec.template.spec.securityContext.runAsNonRoot, true);
  assert.deepEqual(c.securityContext.capabilities.drop, ['ALL']);
  assert.ok(c.lifecycle.preStop);
  assert.ok(d.spec.template.spec.terminationGracePeriodSeconds >= 15);
  assert.equal(d.spec.template.spec.volumes[0].configMap.name, 'chatnode-config');
  assert.equal(byKind('Service', 'chatnode-nodeport').spec.ports[0].nodePort, 30222);
  assert.equal(byKind('StatefulSet', 'redis').spec.volumeClaimTemplates.length, 1);
  assert.ok(byKind('PodDisruptionBudget') && byKind('HorizontalPodAutoscaler') && byKind('Namespace'));
  assert.match(byKind('ConfigMap').data['node.toml'], /url = "redis:\/\/redis:6379"/);
});

test('deploy/k8s/cluster renders the base on a Redis Cluster: valid objects, no single Redis, nodes told the seeds', async () => {
  const { objects } = renderKustomization(path.join(deploy, 'k8s', 'cluster'));
  for (const o of objects) await validate(o);
  const byKind = (kind, name) => objects.find((o) => o.kind === kind && (!name || o.metadata.name === name));
  assert.equal(byKind('StatefulSet', 'redis'), undefined, 'the single Redis is gone');
  assert.equal(byKind('Service', 'redis'), undefined);
  const redis = byKind('StatefulSet', 'redis-cluster');
  assert.equal(redis.spec.replicas, 9, '3 masters with 2 replicas each');
  assert.equal(redis.metadata.namespace, 'chatnode');
  const args = redis.spec.template.spec.containers[0].args.join(' ');
  assert.match(args, /--cluster-enabled yes/);
  assert.match(args, /--cluster-announce-hostname \$\(POD_NAME\)\.redis-cluster/);
  assert.match(args, /--cluster-require-full-coverage no/);
  const service = byKind('Service', 'redis-cluster');
  assert.equal(service.spec.clusterIP, 'None');
  assert.equal(service.spec.publishNotReadyAddresses, true);
  const job = byKind('Job', 'redis-cluster-init');
  assert.match(job.spec.template.spec.containers[0].command.join(' '), /--cluster create .*--cluster-replicas 2/s);
  const env = Object.fromEntries(byKind('Deployment', 'chatnode').spec.template.spec.containers[0].env.map((e) => [e.name, e.value ?? e.valueFrom]));
  assert.equal(env.CHATNODE_REDIS_MODE, 'cluster');
  assert.match(env.CHATNODE_REDIS_URL, /^redis:\/\/redis-cluster-0\.redis-cluster:6379,/);
  assert.ok(env.CHATNODE_NODE_NAME, 'the base environment is kept');
  // The seeds name pods the StatefulSet makes, through its Service.
  for (const host of env.CHATNODE_REDIS_URL.slice('redis://'.length).split(',')) {
    const [pod, svc] = host.split(':')[0].split('.');
    assert.equal(svc, service.metadata.name);
    assert.ok(Number(pod.split('-').at(-1)) < redis.spec.replicas, `${pod} exists`);
  }
});

test('deploy/k8s/archive renders the base with PostgreSQL: valid objects, a volume, the nodes told the URL from the Secret', async () => {
  const { objects } = renderKustomization(path.join(deploy, 'k8s', 'archive'));
  for (const o of objects) await validate(o);
  const byKind = (kind, name) => objects.find((o) => o.kind === kind && (!name || o.metadata.name === name));
  const pg = byKind('StatefulSet', 'postgres');
  assert.equal(pg.metadata.namespace, 'chatnode');
  assert.equal(pg.spec.volumeClaimTemplates.length, 1);
  const pgEnv = Object.fromEntries(pg.spec.template.spec.containers[0].env.map((e) => [e.name, e.value ?? e.valueFrom]));
  assert.deepEqual(pgEnv.POSTGRES_PASSWORD, { secretKeyRef: { name: 'chatnode-archive', key: 'password' } });
  assert.equal(byKind('Service', 'postgres').spec.ports[0].port, 5432);
  const env = Object.fromEntries(byKind('Deployment', 'chatnode').spec.template.spec.containers[0].env.map((e) => [e.name, e.value ?? e.valueFrom]));
  assert.deepEqual(env.CHATNODE_ARCHIVE_URL, { secretKeyRef: { name: 'chatnode-archive', key: 'url' } });
  assert.ok(env.CHATNODE_NODE_NAME, 'the base environment is kept');
  assert.ok(byKind('StatefulSet', 'redis'), 'the single Redis stays');
});

test('shell scripts pass shellcheck', () => {
  const scripts = readdirSync(deploy).filter((f) => f.endsWith('.sh')).map((f) => path.join(deploy, f));
  scripts.push(path.join(root, '.ci/run'), path.join(root, 'tests/compose/images.sh'),
    path.join(root, 'tests/compose/images/redis/entrypoint.sh'), path.join(root, 'tests/compose/images/postgres/entrypoint.sh'));
  execFileSync('shellcheck', scripts, { stdio: 'inherit' });
});
