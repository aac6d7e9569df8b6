// Validates deploy/kubernetes/ against the Kubernetes API schemas (the kubernetes-models package,
// whose JSON schemas come from the Kubernetes OpenAPI document) and checks the references between
// objects (see scripts/lib/kubernetes.ts). Run by .ci/run; exits 1 on any problem.
//
//   node dist/scripts/validate-kubernetes.js [dir]

import { fileURLToPath } from 'node:url';
import { discoverLanguages } from '../src/executor/registry.js';
import { projectRoot } from '../src/paths.js';
import { readManifests, validateManifests } from './lib/kubernetes.js';

const dir = process.argv[2] ?? fileURLToPath(new URL('deploy/kubernetes/', projectRoot));
const docs = readManifests(dir);
const problems = await validateManifests(
  docs,
  discoverLanguages().map((l) => l.manifest.id),
);
for (const problem of problems) console.error(`kubernetes: ${problem}`);
console.log(
  `kubernetes: ${docs.length} objects in ${dir}: ${problems.length === 0 ? 'valid' : `${problems.length} problems`}`,
);
process.exitCode = problems.length === 0 ? 0 : 1;
