// deploy/kubernetes/ is what scripts/kubernetes.ts renders from the language folders, and it is
// valid: every object against its Kubernetes API schema (kubernetes-models), and the references
// between objects (selectors, autoscaler targets, probes, the evaluators' egress ban).
//
// Adding a language must not break `npm test` (docs/adding-a-language.md: a language touches only
// its folder). So the committed files are compared with what the generator renders for the
// languages they deploy (an evaluator-<id>.yaml each), and every language folder, a new one
// included, has its manifests rendered and validated here, at test time; a language not yet in
// deploy/kubernetes/ is deployed once `npm run deploy:kubernetes` is run.

import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  IMAGE_REPOSITORY,
  readManifests,
  renderManifests,
  sandboxSeccompProfile,
  validateManifests,
} from '../../scripts/lib/kubernetes.js';
import { discoverLanguages } from '../../src/executor/registry.js';
import { packageVersion } from '../../src/service.js';

const dir = fileURLToPath(new URL('../../deploy/kubernetes/', import.meta.url));
const languages = discoverLanguages();
const ids = languages.map((l) => l.manifest.id);
/** The languages deploy/kubernetes/ deploys: one evaluator file each. */
const deployedIds = readdirSync(dir)
  .map((n) => /^evaluator-(.+)\.yaml$/.exec(n)?.[1])
  .filter((id): id is string => id !== undefined);
const deployed = languages.filter((l) => deployedIds.includes(l.manifest.id));

describe('deploy/kubernetes', () => {
  it('deploys only languages that exist', () => {
    expect(deployedIds.length).toBeGreaterThan(0);
    expect(deployedIds.filter((id) => !ids.includes(id))).toEqual([]);
  });

  it('is what the generator writes for the languages it deploys', () => {
    const rendered = renderManifests(deployed, packageVersion());
    const onDisk = new Map(readManifestsText());
    expect([...onDisk.keys()].sort()).toEqual(rendered.map((f) => f.name).sort());
    for (const file of rendered) expect(onDisk.get(file.name), file.name).toBe(file.text);
  });

  it('is valid against the Kubernetes schemas, one evaluator per language with no egress', async () => {
    expect(await validateManifests(readManifests(dir), deployedIds)).toEqual([]);
  });

  it('renders valid manifests for every language folder, one added since included', async () => {
    const fresh = mkdtempSync(join(tmpdir(), 'polyeval-k8s-all-'));
    try {
      for (const f of renderManifests(languages, packageVersion()))
        writeFileSync(join(fresh, f.name), f.text);
      expect(await validateManifests(readManifests(fresh), ids)).toEqual([]);
    } finally {
      rmSync(fresh, { recursive: true, force: true });
    }
  });

  it('names the image with its registry, and the seccomp profile allows what bubblewrap needs only', () => {
    const docs = readManifests(dir).map((d) => d.doc as { kind: string; spec?: unknown });
    const images = docs
      .filter((d) => d.kind === 'Deployment')
      .map(
        (d) =>
          (d.spec as { template: { spec: { containers: { image: string }[] } } }).template.spec.containers[0]!
            .image,
      );
    for (const image of images) expect(image).toMatch(new RegExp(`^${IMAGE_REPOSITORY}:\\d`));
    expect(IMAGE_REPOSITORY).toMatch(/^[a-z0-9.-]+\.[a-z]+\//);
    const profile = JSON.parse(readFileSync(join(dir, 'sandbox-seccomp.json'), 'utf8')) as {
      defaultAction: string;
      syscalls: { names: string[]; action: string }[];
    };
    expect(profile).toEqual(sandboxSeccompProfile());
    const denied = profile.syscalls.flatMap((s) => s.names);
    for (const name of [
      'ptrace',
      'bpf',
      'keyctl',
      'perf_event_open',
      'userfaultfd',
      'init_module',
      'setns',
      'io_uring_setup',
    ])
      expect(denied).toContain(name);
    for (const name of ['mount', 'unshare', 'pivot_root', 'socket', 'clone'])
      expect(denied).not.toContain(name);
  });

  it('would catch a broken object, a wrong reference and a missing egress ban', async () => {
    const broken = mkdtempSync(join(tmpdir(), 'polyeval-k8s-'));
    try {
      const files = renderManifests(languages, '0.0.0');
      for (const f of files) {
        let text = f.text;
        if (f.name === 'orchestrator.yaml')
          text = text.replace('containerPort: 6927', 'containerPort: "http"');
        if (f.name === 'network-policies.yaml') text = text.replace('egress: []', 'egress: [{}]');
        if (f.name === `evaluator-${ids[0]}.yaml`) text = text.replace(/value: "off"/, 'value: off');
        if (f.name === 'evaluator-python.yaml')
          text = text
            .replace('value: required', 'value: auto')
            .replace(/replicas: 2/, 'replicas: 1')
            .replace(/minReplicas: 2/, 'minReplicas: 1')
            .replaceAll('type: Localhost', 'type: RuntimeDefault')
            .replace(/\s+localhostProfile: \S+/g, '');
        if (f.name === 'evaluator-lua.yaml') text = text.replace(/---\napiVersion: policy\/v1[\s\S]*$/, '');
        writeFileSync(join(broken, f.name), text);
      }
      const problems = await validateManifests(readManifests(broken), ids);
      expect(problems.some((p) => p.includes('containerPort'))).toBe(true);
      expect(problems.some((p) => p.includes('not covered by a NetworkPolicy denying all egress'))).toBe(
        true,
      );
      expect(problems).toEqual(
        expect.arrayContaining([
          'Evaluator "python" does not require the OS isolation layer',
          'Evaluator "python" runs under a seccomp profile that refuses the OS layer\'s namespaces',
          'Evaluator "python" may run one replica: a node drain would take "python" down',
          'Evaluator "lua" has no PodDisruptionBudget',
        ]),
      );
      // Unquoted `off` is a boolean to Kubernetes' YAML 1.1 reader: an env value must be a string.
      expect(problems.some((p) => p.includes(`evaluator-${ids[0]}.yaml`) && p.includes('value'))).toBe(true);
    } finally {
      rmSync(broken, { recursive: true, force: true });
    }
  });
});

function readManifestsText(): [string, string][] {
  return readdirSync(dir)
    .filter((n) => /\.(yaml|json)$/.test(n))
    .map((n) => [n, readFileSync(join(dir, n), 'utf8')]);
}
