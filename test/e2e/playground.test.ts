// The playground and the docs UI in a real headless browser: Debian's chromium driven by
// playwright-core. Pick a language, run code, see the value, output and stats; a failing call
// shows its code and highlights its line; the page loads nothing from outside this server.
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
    server = await startServer({ POLYEVAL_LANGUAGES: 'javascript', POLYEVAL_POOL_SIZE: '1' });
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

  it('runs the starter example and shows value, output and stats', async () => {
    await page.goto(`${server.url}/`);
    expect(page.url()).toBe(`${server.url}/playground`);
    await expect.poll(() => page.locator('#run').isEnabled()).toBe(true);
    expect(await page.locator('#language option').allTextContents()).toContain('JavaScript (QuickJS)');
    expect(await page.locator('#code').inputValue()).toContain('function add');
    expect(await page.locator('#function').inputValue()).toBe('add');
    expect(await page.locator('#timeoutMs').getAttribute('placeholder')).toMatch(/^\d+$/);
    await page.fill('#code', 'function add(a, b) {\n  console.log("sum of", a, b);\n  return a + b;\n}');
    await page.fill('#args', '[40, 2]');
    await page.click('#run');
    await page.locator('#outcome[data-code]').waitFor();
    expect(await page.locator('#outcome').textContent()).toBe('OK');
    expect(await page.locator('#value').textContent()).toBe('42');
    expect(await page.locator('#stdout').textContent()).toBe('sum of 40 2\n');
    expect(await page.locator('#stats').textContent()).toContain('durationMs');
    expect(await page.locator('#highlight').isHidden()).toBe(true);
  });

  it('shows a failing call with its code and highlights the line', async () => {
    await page.fill('#function', 'main');
    await page.fill('#args', '[]');
    await page.fill('#timeoutMs', '500');
    await page.fill('#code', 'function main() {\n  const x = 1;\n  return x.nope.deeper;\n}');
    await page.keyboard.press('Control+Enter');
    await expect.poll(() => page.locator('#outcome').getAttribute('data-code')).toBe('RUNTIME_ERROR');
    expect(await page.locator('#error-message').textContent()).toContain('TypeError');
    expect(await page.locator('#highlight').getAttribute('data-line')).toBe('3');
    expect(await page.locator('#gutter .error-line').textContent()).toBe('3');
    expect(await page.locator('#stats').textContent()).toContain('limit timeoutMs500');
    await page.screenshot({ path: join(profile, 'playground.png') });
    // Editing clears the highlight.
    await page.locator('#code').press('End');
    await page.keyboard.type(' ');
    expect(await page.locator('#highlight').isHidden()).toBe(true);
  });

  it('shows a limit hit by its code, and a bad request by its problem', async () => {
    await page.fill('#code', 'function main() { for (;;) {} }');
    await page.fill('#timeoutMs', '100');
    await page.click('#run');
    await expect.poll(() => page.locator('#outcome').getAttribute('data-code')).toBe('TIMEOUT');
    await page.fill('#args', '{"not": "an array"}');
    await page.click('#run');
    expect(await page.locator('#status').textContent()).toContain('JSON array');
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
