// Adds lock-file entries for platform-specific optional dependencies that the npm registry mirror
// of our build machines does not carry (e.g. @biomejs/cli-win32-x64). Without them `npm ci` refuses
// the lock file ("Missing: … from lock file"); with them, npm skips those packages as built for
// another platform. Run after `npm install` changes the lock: `node scripts/fix-lockfile.mjs`.
import { readFileSync, writeFileSync } from 'node:fs';

const path = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(path, 'utf8'));

function platform(name) {
  const os = ['android', 'darwin', 'win32', 'freebsd'].find((o) => name.includes(o)) ?? 'linux';
  const cpu = ['arm64', 'ia32', 'arm'].find((c) => name.includes(c)) ?? 'x64';
  return { os: [os], cpu: [cpu], ...(name.includes('musl') ? { libc: ['musl'] } : {}) };
}

let added = 0;
for (const entry of Object.values(lock.packages)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const key = `node_modules/${name}`;
    if (lock.packages[key] !== undefined) continue;
    lock.packages[key] = { version, optional: true, ...platform(name) };
    added++;
  }
}
writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`fix-lockfile: added ${added} platform-specific optional entries`);
