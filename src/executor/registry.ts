// The language registry: discovers interpreters/*/manifest.json at boot, validates each manifest,
// and loads a language's executor module only when the language is enabled (engines are heavy;
// a disabled language costs nothing). Nothing here, or anywhere in src/, names a language.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../errors.js';
import { interpretersSourceDir, runnableUrl } from '../paths.js';
import type { CreateExecutor } from './contract.js';
import { type Manifest, manifestSchema } from './manifest.js';

export interface LanguageEntry {
  readonly manifest: Manifest;
  /** file: URL of the folder holding manifest.json, README.md and conformance fixtures. */
  readonly sourceDir: URL;
  /** Loads the executor factory (compiled module) on first use. */
  loadFactory(): Promise<CreateExecutor>;
}

/** Reads and validates one manifest; throws ConfigError naming the file and field on any problem. */
export function readManifest(dir: URL, folderName: string): Manifest {
  const file = new URL('manifest.json', dir);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(fileURLToPath(file), 'utf8'));
  } catch (error) {
    throw new ConfigError(`Cannot read ${fileURLToPath(file)}: ${(error as Error).message}`);
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new ConfigError(`Invalid manifest ${fileURLToPath(file)}: ${issues}`);
  }
  if (parsed.data.id !== folderName) {
    throw new ConfigError(
      `Invalid manifest ${fileURLToPath(file)}: id "${parsed.data.id}" must equal the folder name "${folderName}"`,
    );
  }
  return parsed.data;
}

/** Every language folder under interpreters/ (a folder with a manifest.json), sorted by id. */
export function discoverLanguages(root: URL = interpretersSourceDir): LanguageEntry[] {
  const entries: LanguageEntry[] = [];
  for (const name of readdirSync(fileURLToPath(root)).sort()) {
    const dir = new URL(`${name}/`, root);
    try {
      if (!statSync(fileURLToPath(new URL('manifest.json', dir))).isFile()) continue;
    } catch {
      continue;
    }
    const manifest = readManifest(dir, name);
    entries.push({
      manifest,
      sourceDir: dir,
      async loadFactory() {
        const url = runnableUrl(new URL(manifest.executor.replace(/\.js$/, '.ts'), dir));
        const mod = (await import(url.href)) as { createExecutor?: CreateExecutor };
        if (typeof mod.createExecutor !== 'function') {
          throw new ConfigError(`${fileURLToPath(url)} does not export createExecutor()`);
        }
        return mod.createExecutor;
      },
    });
  }
  // Aliases must be unambiguous across languages.
  const owners = new Map<string, string>();
  for (const { manifest } of entries) {
    for (const name of [manifest.id, ...manifest.aliases]) {
      const owner = owners.get(name);
      if (owner !== undefined && owner !== manifest.id) {
        throw new ConfigError(`Language name "${name}" is claimed by both "${owner}" and "${manifest.id}"`);
      }
      owners.set(name, manifest.id);
    }
  }
  return entries;
}
