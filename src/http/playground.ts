// The playground: a page (GET /playground, and / redirects there) to pick a language, edit code,
// set arguments and limits, run, and see the value, stdout/stderr, stats and errors with the line
// and column marked. HTML, CSS and a browser module in ./playground/; the editor is CodeMirror 6
// from node_modules, served by this route (no CDN, no build step): each ES module file is served
// under a flat name from an allowlist, and the page's import map (inline, allowed by its hash in
// the Content-Security-Policy) maps the bare specifiers to them. It talks only to the public API
// (GET /v1/languages, POST /v1/evaluate). Starter code for each language is its conformance fixture
// of the first case (add two integers), when it has one.

import { createHash } from 'node:crypto';
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
  'favicon.svg': 'image/svg+xml',
};

/**
 * The editor's ES modules: flat name served → [package, file in it, bare specifier it answers].
 * Each is a single-file ES module (the wast mode imports ./simple-mode.js, served beside it).
 */
const VENDOR: Record<string, readonly [pkg: string, file: string, specifier: string | undefined]> = {
  'codemirror-state.js': ['@codemirror/state', 'dist/index.js', '@codemirror/state'],
  'codemirror-view.js': ['@codemirror/view', 'dist/index.js', '@codemirror/view'],
  'codemirror-commands.js': ['@codemirror/commands', 'dist/index.js', '@codemirror/commands'],
  'codemirror-language.js': ['@codemirror/language', 'dist/index.js', '@codemirror/language'],
  'codemirror-autocomplete.js': ['@codemirror/autocomplete', 'dist/index.js', '@codemirror/autocomplete'],
  'codemirror-lint.js': ['@codemirror/lint', 'dist/index.js', '@codemirror/lint'],
  'codemirror-streamparser.js': ['@codemirror/streamparser', 'dist/index.js', '@codemirror/streamparser'],
  'codemirror-lang-javascript.js': [
    '@codemirror/lang-javascript',
    'dist/index.js',
    '@codemirror/lang-javascript',
  ],
  'codemirror-lang-python.js': ['@codemirror/lang-python', 'dist/index.js', '@codemirror/lang-python'],
  'legacy-lua.js': ['@codemirror/legacy-modes', 'mode/lua.js', '@codemirror/legacy-modes/mode/lua'],
  'legacy-wast.js': ['@codemirror/legacy-modes', 'mode/wast.js', '@codemirror/legacy-modes/mode/wast'],
  'simple-mode.js': ['@codemirror/legacy-modes', 'mode/simple-mode.js', undefined],
  'lezer-common.js': ['@lezer/common', 'dist/index.js', '@lezer/common'],
  'lezer-highlight.js': ['@lezer/highlight', 'dist/index.js', '@lezer/highlight'],
  'lezer-lr.js': ['@lezer/lr', 'dist/index.js', '@lezer/lr'],
  'lezer-javascript.js': ['@lezer/javascript', 'dist/index.js', '@lezer/javascript'],
  'lezer-python.js': ['@lezer/python', 'dist/index.js', '@lezer/python'],
  'find-cluster-break.js': ['@marijn/find-cluster-break', 'src/index.js', '@marijn/find-cluster-break'],
  'crelt.js': ['crelt', 'index.js', 'crelt'],
  'style-mod.js': ['style-mod', 'src/style-mod.js', 'style-mod'],
  'w3c-keyname.js': ['w3c-keyname', 'index.js', 'w3c-keyname'],
};

const IMPORT_MAP = JSON.stringify({
  imports: Object.fromEntries(
    Object.entries(VENDOR)
      .filter(([, v]) => v[2] !== undefined)
      .map(([name, v]) => [v[2], `/playground/vendor/${name}`]),
  ),
});

/** The page's CSP: PAGE_CSP, plus the inline import map allowed by its hash. */
const PLAYGROUND_CSP = PAGE_CSP.replace(
  "script-src 'self'",
  `script-src 'self' 'sha256-${createHash('sha256').update(IMPORT_MAP).digest('base64')}'`,
);

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
  '/playground/vendor/{file}': {
    get: {
      operationId: 'playgroundVendor',
      tags: ['Playground'],
      summary: "The editor's ES modules (CodeMirror 6, from this server's node_modules)",
      parameters: [{ name: 'file', in: 'path', required: true, schema: { type: 'string' } }],
      responses: { '200': { description: 'The module.' }, '404': { description: 'No such module.' } },
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
                  mode: {
                    type: 'string',
                    description: "The editor's highlighting mode, when the language has one.",
                  },
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
  const vendor = new Map<string, Buffer>();

  app.get('/', (c) => c.redirect('/playground', 302));
  app.get('/playground', () => {
    const html = read('index.html')
      .toString('utf8')
      .replace('<!-- importmap -->', `<script type="importmap">${IMPORT_MAP}</script>`);
    return new Response(html, {
      status: 200,
      headers: {
        'content-type': ASSETS['index.html']!,
        'content-security-policy': PLAYGROUND_CSP,
        'x-content-type-options': 'nosniff',
        'cache-control': 'no-cache',
      },
    });
  });
  app.get('/playground/vendor/:file', (c) => {
    const name = c.req.param('file');
    // hasOwn: only the allowlisted modules ("constructor", "../x"... are not).
    const entry = Object.hasOwn(VENDOR, name) ? VENDOR[name] : undefined;
    if (entry === undefined) return c.notFound();
    let bytes = vendor.get(name);
    if (bytes === undefined) {
      // From the project's node_modules (several of these packages export no package.json to resolve).
      bytes = readFileSync(fileURLToPath(new URL(`node_modules/${entry[0]}/${entry[1]}`, projectRoot)));
      vendor.set(name, bytes);
    }
    return c.body(new Uint8Array(bytes), 200, {
      'content-type': 'text/javascript; charset=utf-8',
      'x-content-type-options': 'nosniff',
      'cache-control': 'public, max-age=86400',
    });
  });
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
    return c.json({
      code: example.code,
      function: example.function,
      args: example.args,
      ...(manifest?.editor === undefined ? {} : { mode: manifest.editor.mode }),
    });
  });
  return app;
}
