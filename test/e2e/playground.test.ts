// The playground and the docs UI in a real headless browser: Debian's chromium driven by
// playwright-core. Pick a language, run code in the CodeMirror editor, see the value, output and
// stats; a failing call shows its code and marks its line and column; code is kept per language
// with a reset to the example; invalid arguments are marked and the stale result cleared; a share
// link restores the state; the page loads nothing from outside this server.
// Skipped (with the reason printed) only where no chromium is installed; .ci/run installs it.

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from '../helpers/server.js';

const executablePath = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
if (executablePath === undefined) {
  console.warn(
    'playground browser tests skipped: no chromium at /usr/bin/chromium (apt-get install chromium)',
  );
}

describe.skipIf(executablePath === undefined)('playground in a browser', () => {
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  let profile: string;
  const foreign: string[] = [];

  beforeAll(async () => {
    server = await startServer({ POLYEVAL_LANGUAGES: 'javascript,lua', POLYEVAL_POOL_SIZE: '1' });
    profile = mkdtempSync(join(tmpdir(), 'polyeval-playground-'));
    // The flags keep chromium off the network (this machine has none) and work as root;
    // playwright adds --headless and a fresh, empty profile of its own.
    browser = await chromium.launch({
      executablePath: executablePath!,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('request', (request) => {
      if (!request.url().startsWith(server.url) && !request.url().startsWith('data:'))
        foreign.push(request.url());
    });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (profile !== undefined) rmSync(profile, { recursive: true, force: true });
  });

  /** The editor's text, line by line as CodeMirror renders it. */
  const editorText = async (): Promise<string> =>
    (await page.locator('.cm-content .cm-line').allTextContents()).join('\n').trimEnd();
  const setEditor = (text: string) => page.locator('.cm-content').fill(text);

  it('runs the starter example and shows value, output and stats', async () => {
    await page.goto(`${server.url}/`);
    expect(page.url()).toBe(`${server.url}/playground`);
    await expect.poll(() => page.locator('#run').isEnabled()).toBe(true);
    expect(await page.locator('#language option').allTextContents()).toContain('JavaScript (QuickJS)');
    await expect.poll(editorText).toContain('function add');
    expect(await page.locator('#function').inputValue()).toBe('add');
    expect(await page.locator('#timeoutMs').getAttribute('placeholder')).toMatch(/^\d+$/);
    // Highlighted: the keyword is in a token span of its own.
    expect(await page.locator('.cm-line span', { hasText: /^function$/ }).count()).toBeGreaterThan(0);
    expect(await page.locator('link[rel="icon"]').getAttribute('href')).toBe(
      '/playground/assets/favicon.svg',
    );
    expect((await fetch(`${server.url}/playground/assets/favicon.svg`)).status).toBe(200);
    await setEditor('function add(a, b) {\n  console.log("sum of", a, b);\n  return a + b;\n}');
    await page.fill('#args', '[40, 2]');
    await page.click('#run');
    await page.locator('#outcome[data-code]').waitFor();
    expect(await page.locator('#outcome').textContent()).toBe('OK');
    expect(await page.locator('#value').textContent()).toBe('42');
    expect(await page.locator('#stdout').textContent()).toBe('sum of 40 2\n');
    expect(await page.locator('#stats').textContent()).toContain('durationMs');
    expect(await page.locator('.cm-error-line').count()).toBe(0);
  });

  it('shows a failing call with its code and marks the line and column', async () => {
    await page.fill('#function', 'main');
    await page.fill('#args', '[]');
    await page.fill('#timeoutMs', '500');
    await setEditor('function main() {\n  const x = 1;\n  return x.nope.deeper;\n}');
    await page.click('#run');
    await expect.poll(() => page.locator('#outcome').getAttribute('data-code')).toBe('RUNTIME_ERROR');
    expect(await page.locator('#error-message').textContent()).toContain('TypeError');
    expect(await page.locator('.cm-error-line').getAttribute('data-line')).toBe('3');
    expect(await page.locator('.cm-error-column').getAttribute('data-column')).toBe('16');
    expect(await page.locator('.cm-gutterElement.cm-error-gutter').textContent()).toBe('3');
    expect(await page.locator('#stats').textContent()).toContain('limit timeoutMs500');
    await page.screenshot({ path: join(profile, 'playground-error.png') });
    // Editing clears the mark.
    await page.locator('.cm-content').press('End');
    await page.keyboard.type(' ');
    expect(await page.locator('.cm-error-line').count()).toBe(0);
  });

  it('marks invalid arguments on the field and clears the stale result', async () => {
    await page.fill('#args', '{"not": "an array"}');
    expect(await page.locator('#args').getAttribute('aria-invalid')).toBe('true');
    expect(await page.locator('#args-error').textContent()).toContain('JSON array');
    await page.click('#run');
    expect(await page.locator('#output').isHidden()).toBe(true);
    expect(await page.locator('#outcome').getAttribute('data-code')).toBeNull();
    expect(await page.locator('#status').textContent()).toContain('JSON array');
    await page.fill('#args', '[');
    expect(await page.locator('#args-error').textContent()).toContain('not valid JSON');
    await page.fill('#args', '[]');
    expect(await page.locator('#args').getAttribute('aria-invalid')).toBe('false');
    expect(await page.locator('#args-error').isHidden()).toBe(true);
  });

  it('shows a limit hit by its code', async () => {
    await setEditor('function main() { for (;;) {} }');
    await page.fill('#timeoutMs', '100');
    await page.click('#run');
    await expect.poll(() => page.locator('#outcome').getAttribute('data-code')).toBe('TIMEOUT');
  });

  it('keeps code per language, highlights each, and resets to the example', async () => {
    await setEditor('function main() { return "mine" }');
    await page.selectOption('#language', 'lua');
    await expect.poll(editorText).toContain('function add(a, b)');
    expect(await page.locator('.cm-line span', { hasText: /^end$/ }).count()).toBeGreaterThan(0);
    await setEditor('function main() return "lua mine" end');
    await page.screenshot({ path: join(profile, 'playground-lua.png') });
    await page.selectOption('#language', 'javascript');
    await expect.poll(editorText).toBe('function main() { return "mine" }');
    await page.selectOption('#language', 'lua');
    await expect.poll(editorText).toBe('function main() return "lua mine" end');
    await page.click('#reset');
    await expect.poll(editorText).toContain('function add(a, b)');
    expect(await page.locator('#function').inputValue()).toBe('add');
    // Kept across a reload too.
    await setEditor('function main() return 7 end');
    await page.reload();
    await expect.poll(editorText).toBe('function main() return 7 end');
  });

  it('makes a share link that opens the same code, arguments and limits', async () => {
    await page.selectOption('#language', 'javascript');
    await setEditor('function twice(n) {\n  return n * 2;\n}');
    await page.fill('#function', 'twice');
    await page.fill('#args', '[21]');
    await page.fill('#timeoutMs', '700');
    await page.click('#share');
    const link = await page.locator('#share-link').inputValue();
    expect(link).toMatch(new RegExp(`^${server.url}/playground#s=[\\w-]+$`));
    const other = await browser.newPage();
    try {
      await other.goto(link);
      await expect.poll(() => other.locator('#run').isEnabled()).toBe(true);
      await expect
        .poll(async () =>
          (await other.locator('.cm-content .cm-line').allTextContents()).join('\n').trimEnd(),
        )
        .toBe('function twice(n) {\n  return n * 2;\n}');
      expect(await other.locator('#function').inputValue()).toBe('twice');
      expect(await other.locator('#args').inputValue()).toBe('[21]');
      expect(await other.locator('#timeoutMs').inputValue()).toBe('700');
      await other.click('#run');
      await expect.poll(() => other.locator('#value').textContent()).toBe('42');
      await other.screenshot({ path: join(profile, 'playground-shared.png') });
    } finally {
      await other.close();
    }
  });

  it('asks for a token when the server has authentication on, then works with it', async () => {
    const token = 'playground-token-0123456789';
    const guarded = await startServer({
      POLYEVAL_LANGUAGES: 'lua',
      POLYEVAL_POOL_SIZE: '1',
      POLYEVAL_AUTH_TOKENS: token,
    });
    const other = await browser.newPage();
    try {
      await other.goto(`${guarded.url}/playground`);
      await other.locator('#token-row').waitFor({ state: 'visible' });
      expect(await other.locator('#status').textContent()).toContain('needs a token');
      await other.fill('#token', token);
      await other.press('#token', 'Enter');
      await expect.poll(() => other.locator('#run').isEnabled()).toBe(true);
      await other.click('#run');
      await expect.poll(() => other.locator('#value').textContent()).toBe('5');
    } finally {
      await other.close();
      await guarded.close();
    }
  });

  it('renders the API docs UI from this server alone', async () => {
    await page.goto(`${server.url}/docs`);
    await page.locator('.opblock-summary-path', { hasText: '/v1/evaluate' }).first().waitFor();
    expect(await page.locator('.opblock').count()).toBeGreaterThan(8);
    expect(await page.locator('.info .title').textContent()).toContain('Polyeval');
  });

  it('loaded nothing from any other origin', () => {
    expect(foreign).toEqual([]);
  });
});
