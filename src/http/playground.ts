// The playground: a page (GET /playground, and / redirects there) to pick a language, edit code,
// set arguments and limits, run, and see the value, stdout/stderr, stats and errors with the line
// highlighted. Plain HTML, CSS and a browser module in ./playground/ (no build step, nothing from a
// CDN); it talks only to the public API (GET /v1/languages, POST /v1/evaluate). Starter code for
// each language is its conformance fixture of the first case (add two integers), when it has one.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Hono } from 'hono';
import type { Orchestrator } from '../orchestrator/orchestrator.js';
import { projectRoot } from '../paths.js';
import { languageExample } from './examples.js';
import { PAGE_CSP, type PathsDoc } from './openapi.js';

/** The page's files, kept beside this module's source (copied as they are into the image). */
const ASSET_DIR = new URL('src/http/playground/', projectRoot);
const ASSETS: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'playground.css': 'text/css; charset=utf-8',
  'playground.mjs': 'text/javascript; charset=utf-8',
};

export const playgroundPaths: PathsDoc = {
  '/': {
    get: {
      operationId: 'home',
      tags: ['Playground'],
      summary: 'Redirects to the playground',
      responses: { '302': { description: 'To /playground.' } },
    },
  },
  '/playground': {
    get: {
      operationId: 'playground',
      tags: ['Playground'],
      summary: 'The playground page',
      responses: { '200': { description: 'HTML page.', content: { 'text/html': {} } } },
    },
  },
  '/playground/assets/{file}': {
    get: {
      operationId: 'playgroundAsset',
      tags: ['Playground'],
      summary: 'Static files of the playground',
      parameters: [{ name: 'file', in: 'path', required: true, schema: { type: 'string' } }],
      responses: { '200': { description: 'The file.' }, '404': { description: 'No such file.' } },
    },
  },
  '/playground/examples/{language}': {
    get: {
      operationId: 'playgroundExample',
      tags: ['Playground'],
      summary: 'Starter code for a language: { code, function, args }',
      parameters: [{ name: 'language', in: 'path', required: true, schema: { type: 'string' } }],
      responses: {
        '200': {
          description: 'The example.',
          content: {
            'application/json': {
              schema: {
                type: 'object',
                properties: {
                  code: { type: 'string' },
                  function: { type: 'string' },
                  args: { type: 'array' },
                },
                required: ['code', 'function', 'args'],
              },
            },
          },
        },
        '404': { description: 'No example for that language.' },
      },
    },
  },
};

export function playgroundRoutes(orchestrator: Pick<Orchestrator, 'resolve'>): Hono {
  const app = new Hono();
  const cache = new Map<string, Buffer>();
  const read = (name: string): Buffer => {
    let bytes = cache.get(name);
    if (bytes === undefined) {
      bytes = readFileSync(fileURLToPath(new URL(name, ASSET_DIR)));
      cache.set(name, bytes);
    }
    return bytes;
  };
  const page = (name: string): Response =>
    new Response(new Uint8Array(read(name)), {
      status: 200,
      headers: {
        'content-type': ASSETS[name]!,
        'content-security-policy': PAGE_CSP,
        'x-content-type-options': 'nosniff',
        'cache-control': 'no-cache',
      },
    });

  app.get('/', (c) => c.redirect('/playground', 302));
  app.get('/playground', () => page('index.html'));
  app.get('/playground/assets/:file', (c) => {
    const name = c.req.param('file');
    // hasOwn: "constructor", "__proto__"... are not assets (they would reach readFileSync).
    if (name === 'index.html' || !Object.hasOwn(ASSETS, name)) return c.notFound();
    return page(name);
  });
  app.get('/playground/examples/:language', (c) => {
    const manifest = orchestrator.resolve(c.req.param('language'));
    const example = manifest === undefined ? undefined : languageExample(manifest);
    if (example === undefined) return c.notFound();
    return c.json({ code: example.code, function: example.function, args: example.args });
  });
  return app;
}
