// Offline checks of deploy/: what can be checked without a Docker engine or a
// Kubernetes cluster. (The compose topology itself runs as processes in
// tests/cluster/deploy.test.mjs.)

import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
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

/** Renders deploy/k8s the way `kubectl apply -k` does for what it uses:
 *  resources, the namespace, and the ConfigMap generator. */
function renderKustomization(dir) {
  const k = YAML.parse(readFileSync(path.join(dir, 'kustomization.yaml'), 'utf8'));
  const objects = [];
  for (const file of k.resources)
    for (const doc of YAML.parseAllDocuments(readFileSync(path.join(dir, file), 'utf8')))
      objects.push(doc.toJS());
  for (const gen of k.configMapGenerator ?? []) {
    const data = {};
    for (const f of gen.files) data[path.basename(f)] = readFileSync(path.join(dir, f), 'utf8');
    objects.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: gen.name }, data });
  }
  for (const o of objects)
    if (o.kind !== 'Namespace') o.metadata.namespace = k.namespace;
  return { kustomization: k, objects };
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

test('shell scripts pass shellcheck', () => {
  const scripts = readdirSync(deploy).filter((f) => f.endsWith('.sh')).map((f) => path.join(deploy, f));
  scripts.push(path.join(root, '.ci/run'), path.join(root, 'tests/compose/images.sh'),
    path.join(root, 'tests/compose/images/redis/entrypoint.sh'));
  execFileSync('shellcheck', scripts, { stdio: 'inherit' });
});
