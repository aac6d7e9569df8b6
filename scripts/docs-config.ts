// npm run docs:config: writes docs/configuration.md from the configuration schema (src/config.ts).

import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { projectRoot } from '../src/paths.js';
import { renderConfigurationDoc } from './lib/config-docs.js';

const target = fileURLToPath(new URL('docs/configuration.md', projectRoot));
writeFileSync(target, renderConfigurationDoc());
console.log(`wrote ${target}`);
