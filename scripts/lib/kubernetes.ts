// Kubernetes manifests for Polyeval (deploy/kubernetes/), rendered from the language folders: an
// orchestrator deployment that serves the API and routes every language to its own evaluator
// deployment (POLYEVAL_REMOTE_<ID>), the split Wikifunctions runs. Every deployment has probes
// (/livez, /readyz), resource requests and limits sized from the language's memory limits, a
// HorizontalPodAutoscaler, a PodDisruptionBudget (two replicas at least, so that a node drain
// never takes a language down) and a restricted security context; a NetworkPolicy denies evaluator
// pods every egress (and all ingress but the orchestrator's and metrics scrapes). Languages whose
// sandboxes run under the OS isolation layer (OS_LAYER_LANGUAGES) require it
// (POLYEVAL_<ID>_ISOLATION=required) and get the Localhost seccomp profile that lets bubblewrap
// create its namespaces (SANDBOX_SECCOMP_PROFILE, rendered next to the manifests).
//
// Written by scripts/kubernetes.ts (npm run deploy:kubernetes); validated against the Kubernetes
// API schemas (the kubernetes-models package) by validateManifests() below, in CI (.ci/run) and by
// test/unit/kubernetes.test.ts, which also fails when the files are not what this renders.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { envKey, loadConfig } from '../../src/config.js';
import { SECCOMP_POLICY } from '../../src/executor/host/process-isolation.js';
import type { LanguageEntry } from '../../src/executor/registry.js';
import { limitPolicy } from '../../src/orchestrator/limits.js';

const NAMESPACE = 'polyeval';
const PORT = 6927;
const PART_OF = { 'app.kubernetes.io/part-of': 'polyeval' };
/** Slots per evaluator pod: one per CPU of its limit. */
const EVALUATOR_POOL = 2;
const SHUTDOWN_MS = 20_000;
/** Where the image is pushed: replace with `kustomize edit set image` (deploy/kubernetes/README.md). */
export const IMAGE_REPOSITORY = 'registry.example.com/polyeval';
/** Evaluator replicas at least: one may be evicted (PodDisruptionBudget) while the other serves. */
const EVALUATOR_MIN_REPLICAS = 2;
/** Languages whose sandbox hosts run as separate processes under the OS layer (process-isolation.ts). */
export const OS_LAYER_LANGUAGES: ReadonlySet<string> = new Set(['python']);
/** The Localhost seccomp profile's path under the kubelet's seccomp root (/var/lib/kubelet/seccomp/). */
export const SANDBOX_SECCOMP_PROFILE = 'polyeval/sandbox-seccomp.json';
/** Its file name in deploy/kubernetes/. */
const SANDBOX_SECCOMP_FILE = 'sandbox-seccomp.json';

export interface RenderedFile {
  readonly name: string;
  readonly text: string;
}

type Doc = Record<string, unknown>;

const labels = (component: string, language?: string) => ({
  'app.kubernetes.io/name': 'polyeval',
  'app.kubernetes.io/component': component,
  ...(language === undefined ? {} : { 'polyeval.dev/language': language }),
});

function container(options: {
  image: string;
  env: Record<string, string>;
  requests: { cpu: string; memory: string };
  limits: { cpu: string; memory: string };
  startupSeconds: number;
  seccomp?: Doc;
}): Doc {
  const probe = (path: string, period: number, failures: number) => ({
    httpGet: { path, port: 'http' },
    periodSeconds: period,
    timeoutSeconds: 3,
    failureThreshold: failures,
  });
  return {
    name: 'polyeval',
    image: options.image,
    imagePullPolicy: 'IfNotPresent',
    ports: [{ name: 'http', containerPort: PORT, protocol: 'TCP' }],
    env: Object.entries({
      PORT: String(PORT),
      POLYEVAL_SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_MS),
      ...options.env,
    }).map(([name, value]) => ({ name, value })),
    resources: { requests: options.requests, limits: options.limits },
    // Engines warm before the first readiness: give them time without a long liveness delay.
    startupProbe: probe('/livez', 2, Math.ceil(options.startupSeconds / 2)),
    livenessProbe: probe('/livez', 10, 3),
    readinessProbe: probe('/readyz', 5, 2),
    // Endpoints are removed asynchronously: keep serving a few seconds before SIGTERM's drain.
    lifecycle: { preStop: { exec: { command: ['sleep', '5'] } } },
    securityContext: {
      runAsNonRoot: true,
      runAsUser: 1000,
      runAsGroup: 1000,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: options.seccomp ?? { type: 'RuntimeDefault' },
    },
    volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
  };
}

function deployment(name: string, podLabels: Doc, replicas: number, main: Doc): Doc {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: NAMESPACE, labels: { ...podLabels, ...PART_OF } },
    spec: {
      replicas,
      selector: { matchLabels: podLabels },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: {
          labels: { ...podLabels, ...PART_OF },
          annotations: {
            'prometheus.io/scrape': 'true',
            'prometheus.io/port': String(PORT),
            'prometheus.io/path': '/metrics',
          },
        },
        spec: {
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          terminationGracePeriodSeconds: SHUTDOWN_MS / 1000 + 15,
          securityContext: {
            runAsNonRoot: true,
            fsGroup: 1000,
            // A copy: a shared object would be written as a YAML anchor and alias.
            seccompProfile: { ...((main.securityContext as Doc).seccompProfile as Doc) },
          },
          containers: [main],
          volumes: [{ name: 'tmp', emptyDir: { sizeLimit: '256Mi' } }],
        },
      },
    },
  };
}

function service(name: string, podLabels: Doc): Doc {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: NAMESPACE, labels: { ...podLabels, ...PART_OF } },
    spec: { selector: podLabels, ports: [{ name: 'http', port: PORT, targetPort: 'http', protocol: 'TCP' }] },
  };
}

function autoscaler(name: string, min: number, max: number): Doc {
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name, namespace: NAMESPACE, labels: PART_OF },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name },
      minReplicas: min,
      maxReplicas: max,
      metrics: [
        {
          type: 'Resource',
          resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } },
        },
      ],
      // Scale down slowly: engines are expensive to warm.
      behavior: { scaleDown: { stabilizationWindowSeconds: 300 } },
    },
  };
}

/** At most one pod of the deployment is evicted at a time (drains, upgrades of nodes). */
function disruptionBudget(name: string, podLabels: Doc): Doc {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name, namespace: NAMESPACE, labels: PART_OF },
    spec: { minAvailable: 1, selector: { matchLabels: podLabels } },
  };
}

/**
 * The container-level seccomp profile (OCI format) of evaluators running the OS layer: everything
 * the runtime's default profile is for stays denied (keyrings, bpf, perf, ptrace, modules, kexec,
 * io_uring, userfaultfd...), but bubblewrap may create user, mount, network and PID namespaces and
 * set up its root (clone/unshare with namespace flags, mount, pivot_root, chroot). The sandbox
 * process then gets the tighter filter of process-isolation.ts on top (filters stack).
 */
export function sandboxSeccompProfile(): Doc {
  const bubblewrapNeeds = new Set([
    'mount',
    'umount2',
    'pivot_root',
    'chroot',
    'unshare',
    // The service itself: its HTTP sockets, and bubblewrap's loopback setup (netlink).
    'socket',
    'socketpair',
    'execveat',
    'memfd_create',
    'personality',
    'mknod',
    'mknodat',
  ]);
  return {
    defaultAction: 'SCMP_ACT_ALLOW',
    architectures: [
      'SCMP_ARCH_X86_64',
      'SCMP_ARCH_X86',
      'SCMP_ARCH_X32',
      'SCMP_ARCH_AARCH64',
      'SCMP_ARCH_ARM',
    ],
    syscalls: [
      {
        names: SECCOMP_POLICY.eperm.filter((name) => !bubblewrapNeeds.has(name)),
        action: 'SCMP_ACT_ERRNO',
        errnoRet: 1,
      },
      {
        names: [...SECCOMP_POLICY.enosys],
        action: 'SCMP_ACT_ERRNO',
        errnoRet: 38,
      },
    ],
  };
}

const mebibytes = (n: number) => `${Math.ceil(n)}Mi`;

function header(what: string): string {
  return [
    `# ${what}`,
    '# Generated by scripts/kubernetes.ts (npm run deploy:kubernetes) from interpreters/*/manifest.json;',
    '# do not edit by hand. Validated against the Kubernetes API schemas in CI.',
    '',
  ].join('\n');
}

function yamlFile(name: string, what: string, docs: Doc[]): RenderedFile {
  return {
    name,
    text: header(what) + docs.map((d) => stringify(d, { lineWidth: 0, version: '1.1' })).join('---\n'),
  };
}

export function renderManifests(languages: readonly LanguageEntry[], version: string): RenderedFile[] {
  const image = `${IMAGE_REPOSITORY}:${version}`;
  const config = loadConfig({});
  const ids = languages.map((l) => l.manifest.id);
  const evaluatorName = (id: string) => `polyeval-evaluator-${id}`;
  const files: RenderedFile[] = [];

  files.push(
    yamlFile('namespace.yaml', 'The namespace, under the "restricted" Pod Security Standard.', [
      {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: {
          name: NAMESPACE,
          labels: {
            ...PART_OF,
            'pod-security.kubernetes.io/enforce': 'restricted',
            'pod-security.kubernetes.io/warn': 'restricted',
          },
        },
      },
    ]),
  );

  const orchestratorLabels = labels('orchestrator');
  files.push(
    yamlFile(
      'orchestrator.yaml',
      'The orchestrator: serves the API and routes each language to its evaluators.',
      [
        deployment(
          'polyeval-orchestrator',
          orchestratorLabels,
          2,
          container({
            image,
            env: {
              POLYEVAL_LANGUAGES: ids.join(','),
              ...Object.fromEntries(
                ids.map((id) => [`POLYEVAL_REMOTE_${envKey(id)}`, `http://${evaluatorName(id)}:${PORT}`]),
              ),
            },
            requests: { cpu: '250m', memory: '192Mi' },
            limits: { cpu: '1', memory: '512Mi' },
            startupSeconds: 30,
          }),
        ),
        service('polyeval', orchestratorLabels),
        autoscaler('polyeval-orchestrator', 2, 6),
        disruptionBudget('polyeval-orchestrator', orchestratorLabels),
      ],
    ),
  );

  for (const { manifest } of languages) {
    const id = manifest.id;
    const policy = limitPolicy(manifest, config.language(id), config.global);
    const podLabels = labels('evaluator', id);
    const osLayer = OS_LAYER_LANGUAGES.has(id);
    files.push(
      yamlFile(`evaluator-${id}.yaml`, `The ${manifest.displayName} evaluator: runs only this language.`, [
        deployment(
          evaluatorName(id),
          podLabels,
          EVALUATOR_MIN_REPLICAS,
          container({
            image,
            env: {
              POLYEVAL_LANGUAGES: id,
              POLYEVAL_POOL_SIZE: String(EVALUATOR_POOL),
              POLYEVAL_PLAYGROUND: 'off',
              // A pod where the OS layer cannot be built does not get ready, and says why in /readyz.
              ...(osLayer ? { [`POLYEVAL_${envKey(id)}_ISOLATION`]: 'required' } : {}),
            },
            // RuntimeDefault refuses the user namespaces bubblewrap needs: see the profile's doc.
            ...(osLayer ? { seccomp: { type: 'Localhost', localhostProfile: SANDBOX_SECCOMP_PROFILE } } : {}),
            // The service and engine, plus every slot at the language's default (requests) or
            // ceiling (limits) memory.
            requests: { cpu: '1', memory: mebibytes(256 + EVALUATOR_POOL * policy.defaults.memoryMb) },
            limits: {
              cpu: String(EVALUATOR_POOL),
              memory: mebibytes(768 + EVALUATOR_POOL * policy.ceilings.memoryMb),
            },
            startupSeconds: 120,
          }),
        ),
        service(evaluatorName(id), podLabels),
        autoscaler(evaluatorName(id), EVALUATOR_MIN_REPLICAS, 10),
        disruptionBudget(evaluatorName(id), podLabels),
      ]),
    );
  }

  files.push(
    yamlFile('network-policies.yaml', 'Evaluators: no egress at all; ingress only from the orchestrator.', [
      {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { name: 'polyeval-evaluators', namespace: NAMESPACE, labels: PART_OF },
        spec: {
          podSelector: {
            matchLabels: { 'app.kubernetes.io/name': 'polyeval', 'app.kubernetes.io/component': 'evaluator' },
          },
          policyTypes: ['Ingress', 'Egress'],
          ingress: [
            {
              from: [
                { podSelector: { matchLabels: orchestratorLabels } },
                // Prometheus, from a namespace labelled for it.
                { namespaceSelector: { matchLabels: { 'polyeval.dev/metrics-scraper': 'true' } } },
              ],
              ports: [{ protocol: 'TCP', port: PORT }],
            },
          ],
          // No egress rule at all: guest code that escaped its sandbox reaches nothing, not even DNS.
          egress: [],
        },
      },
      {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { name: 'polyeval-orchestrator-egress', namespace: NAMESPACE, labels: PART_OF },
        spec: {
          podSelector: { matchLabels: orchestratorLabels },
          policyTypes: ['Egress'],
          egress: [
            {
              to: [{ podSelector: { matchLabels: { 'app.kubernetes.io/component': 'evaluator' } } }],
              ports: [{ protocol: 'TCP', port: PORT }],
            },
            {
              to: [{ namespaceSelector: {}, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }],
              ports: [
                { protocol: 'UDP', port: 53 },
                { protocol: 'TCP', port: 53 },
              ],
            },
          ],
        },
      },
    ]),
  );

  const resources = files.map((f) => f.name);
  if (languages.some((l) => OS_LAYER_LANGUAGES.has(l.manifest.id)))
    files.push({ name: SANDBOX_SECCOMP_FILE, text: `${JSON.stringify(sandboxSeccompProfile(), null, 2)}\n` });
  files.push({
    name: 'kustomization.yaml',
    text:
      header('kustomize entry point: kubectl apply -k deploy/kubernetes') +
      stringify(
        {
          apiVersion: 'kustomize.config.k8s.io/v1beta1',
          kind: 'Kustomization',
          resources,
          images: [{ name: IMAGE_REPOSITORY, newTag: version }],
        },
        { lineWidth: 0, version: '1.1' },
      ),
  });
  return files;
}

// ---- Validation -------------------------------------------------------------------------------

/** Kubernetes objects in a folder's YAML files, with the file each came from. */
export function readManifests(dir: string): { file: string; doc: Doc }[] {
  const out: { file: string; doc: Doc }[] = [];
  for (const name of readdirSync(dir)
    .filter((n) => /\.ya?ml$/.test(n))
    .sort()) {
    const text = readFileSync(join(dir, name), 'utf8');
    // YAML 1.1, as Kubernetes reads it: an unquoted `off` or `yes` is a boolean there.
    for (const parsed of parseAllDocuments(text, { version: '1.1' })) {
      if (parsed.errors.length > 0) throw new Error(`${name}: ${parsed.errors[0]!.message}`);
      const doc = parsed.toJS() as Doc | null;
      if (doc !== null) out.push({ file: name, doc });
    }
  }
  return out;
}

/** The kubernetes-models class module for an apiVersion and kind (core group: "v1/Kind"). */
function modelPath(apiVersion: string, kind: string): string {
  return `kubernetes-models/${apiVersion}/${kind}`;
}

/**
 * Validates every object against its Kubernetes API schema, then the references between them:
 * services and policies select existing pods, autoscalers target existing deployments, probes use
 * declared ports, every evaluator pod is covered by a policy that denies all egress. Returns the
 * problems found (empty when all is well).
 */
export async function validateManifests(
  docs: readonly { file: string; doc: Doc }[],
  languages: readonly string[],
): Promise<string[]> {
  const problems: string[] = [];
  for (const { file, doc } of docs) {
    const apiVersion = String(doc.apiVersion);
    const kind = String(doc.kind);
    if (apiVersion.startsWith('kustomize.config.k8s.io/')) continue;
    let Model: new (data: unknown) => { validate(): void };
    try {
      const mod = (await import(modelPath(apiVersion, kind))) as Record<string, never>;
      Model = mod[kind]!;
      if (Model === undefined) throw new Error('no such model');
    } catch {
      problems.push(`${file}: unknown apiVersion/kind ${apiVersion} ${kind}`);
      continue;
    }
    try {
      new Model(doc).validate();
    } catch (error) {
      problems.push(`${file}: ${kind} ${(doc.metadata as Doc)?.name}: ${(error as Error).message}`);
    }
  }

  // biome-ignore lint/suspicious/noExplicitAny: the objects were just validated against their schemas
  const objects = docs.map((d) => d.doc as any);
  const deployments = objects.filter((d) => d.kind === 'Deployment');
  const podLabels = deployments.map((d) => d.spec.template.metadata.labels as Record<string, string>);
  const selects = (selector: Record<string, string>) =>
    podLabels.some((l) => Object.entries(selector).every(([k, v]) => l[k] === v));
  for (const d of deployments) {
    const c = d.spec.template.spec.containers[0];
    const ports = new Set((c.ports ?? []).map((p: { name: string }) => p.name));
    for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
      if (c[probe] === undefined) problems.push(`Deployment ${d.metadata.name} has no ${probe}`);
      else if (!ports.has(c[probe].httpGet.port))
        problems.push(`Deployment ${d.metadata.name}: ${probe} port`);
    }
    if (c.resources?.requests === undefined || c.resources?.limits === undefined) {
      problems.push(`Deployment ${d.metadata.name} has no resource requests and limits`);
    }
    if (!selects(d.spec.selector.matchLabels)) problems.push(`Deployment ${d.metadata.name}: selector`);
  }
  for (const s of objects.filter((d) => d.kind === 'Service')) {
    if (!selects(s.spec.selector)) problems.push(`Service ${s.metadata.name} selects no pods`);
  }
  for (const h of objects.filter((d) => d.kind === 'HorizontalPodAutoscaler')) {
    if (!deployments.some((d) => d.metadata.name === h.spec.scaleTargetRef.name)) {
      problems.push(`HorizontalPodAutoscaler ${h.metadata.name} targets no deployment`);
    }
  }
  const policies = objects.filter((d) => d.kind === 'NetworkPolicy');
  for (const id of languages) {
    const evaluator = deployments.find(
      (d) =>
        d.spec.template.metadata.labels['polyeval.dev/language'] === id &&
        d.spec.template.metadata.labels['app.kubernetes.io/component'] === 'evaluator',
    );
    if (evaluator === undefined) {
      problems.push(`No evaluator deployment for language "${id}"`);
      continue;
    }
    const labelsOf = evaluator.spec.template.metadata.labels as Record<string, string>;
    const denied = policies.some(
      (p) =>
        Object.entries(p.spec.podSelector.matchLabels ?? {}).every(([k, v]) => labelsOf[k] === v) &&
        (p.spec.policyTypes ?? []).includes('Egress') &&
        Array.isArray(p.spec.egress) &&
        p.spec.egress.length === 0,
    );
    if (!denied) problems.push(`Evaluator "${id}" is not covered by a NetworkPolicy denying all egress`);
    const hpa = objects.find(
      (o) => o.kind === 'HorizontalPodAutoscaler' && o.spec.scaleTargetRef.name === evaluator.metadata.name,
    );
    if (hpa === undefined) problems.push(`Evaluator "${id}" has no HorizontalPodAutoscaler`);
    const budget = objects.find(
      (o) =>
        o.kind === 'PodDisruptionBudget' &&
        Object.entries(o.spec.selector.matchLabels ?? {}).every(([k, v]) => labelsOf[k] === v),
    );
    const floor = Math.min(evaluator.spec.replicas ?? 1, hpa?.spec.minReplicas ?? Number.POSITIVE_INFINITY);
    if (budget === undefined) problems.push(`Evaluator "${id}" has no PodDisruptionBudget`);
    // minAvailable 1 of one replica blocks every drain; of two it lets one go at a time.
    else if (floor < 2)
      problems.push(`Evaluator "${id}" may run one replica: a node drain would take "${id}" down`);
    if (OS_LAYER_LANGUAGES.has(id)) {
      const c = evaluator.spec.template.spec.containers[0];
      const env = new Map((c.env ?? []).map((e: { name: string; value: string }) => [e.name, e.value]));
      if (env.get(`POLYEVAL_${envKey(id)}_ISOLATION`) !== 'required')
        problems.push(`Evaluator "${id}" does not require the OS isolation layer`);
      if (c.securityContext?.seccompProfile?.type !== 'Localhost')
        problems.push(
          `Evaluator "${id}" runs under a seccomp profile that refuses the OS layer's namespaces`,
        );
    }
  }
  return problems;
}
