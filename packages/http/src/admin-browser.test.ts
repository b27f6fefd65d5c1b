// The admin console in a real browser: Debian's Chromium, headless, driven by playwright-core (never a downloaded
// browser). Skipped, saying so, when /usr/bin/chromium is not installed (`.ci/run` installs it with apt).
// MODHOST_SCREENSHOTS=1 also writes the screenshots of docs/admin-console.md into docs/images/.
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdminServer, MARKUP, startAdminServer } from './admin-harness.js';

// MODHOST_CHROMIUM points elsewhere (to check the skip, say); the default is Debian's package.
const CHROMIUM = process.env.MODHOST_CHROMIUM ?? '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
const SHOTS = process.env.MODHOST_SCREENSHOTS ? fileURLToPath(new URL('../../../docs/images/', import.meta.url)) : undefined;

if (!available) {
  console.warn(`admin console browser tests SKIPPED: no Chromium at ${CHROMIUM} (install it: apt-get install -y chromium)`);
  describe('the admin console in Chromium', () => {
    it.skip(`SKIPPED: no Chromium at ${CHROMIUM} (apt-get install -y chromium)`, () => {});
  });
}

describe.runIf(available)('the admin console in Chromium', () => {
  let s: AdminServer;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  const open = async (token: string, hash = '/'): Promise<Page> => {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    contexts.push(ctx);
    await ctx.addCookies([{ name: 'token', value: token, url: s.url }]);
    const page = await ctx.newPage();
    page.on('pageerror', (e) => {
      throw e;
    });
    await page.goto(`${s.url}/admin/#${hash}`);
    await page.waitForSelector(`main[data-ready="${hash}"]`);
    return page;
  };
  const go = async (page: Page, hash: string) => {
    await page.evaluate((h) => {
      document.querySelector('main')?.removeAttribute('data-ready');
      location.hash = h;
    }, hash);
    await page.waitForSelector(`main[data-ready="${hash}"]`);
  };
  const shot = async (page: Page, name: string, full = true) => {
    if (!SHOTS) return;
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: `${SHOTS}admin-${name}.png`, fullPage: full });
  };

  beforeAll(async () => {
    s = await startAdminServer();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  }, 60_000);
  afterAll(async () => {
    for (const c of contexts) await c.close();
    await browser?.close();
    await s?.close();
  });

  it('lists the modules (and measures the page weight and the time to a usable page)', async () => {
    const ctx = await browser.newContext();
    contexts.push(ctx);
    await ctx.addCookies([{ name: 'token', value: 'operator', url: s.url }]);
    const page = await ctx.newPage();
    let bytes = 0;
    const cdp = await ctx.newCDPSession(page);
    await cdp.send('Network.enable');
    cdp.on('Network.loadingFinished', (e) => {
      bytes += e.encodedDataLength;
    });
    const started = Date.now();
    await page.goto(`${s.url}/admin/`);
    await page.waitForSelector('main[data-ready="/"] tr[data-module="tasks"]');
    const usable = Date.now() - started;
    const nav = await page.evaluate(() => {
      const t = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
      return { domContentLoaded: Math.round(t.domContentLoadedEventEnd), load: Math.round(t.loadEventEnd) };
    });
    console.log(
      `admin console: ${(bytes / 1024).toFixed(1)} KiB transferred to a usable modules list in ${usable} ms (DOMContentLoaded ${nav.domContentLoaded} ms)`,
    );
    expect(bytes).toBeLessThan(200 * 1024);
    const rows = await page.$$eval('tbody tr[data-module]', (trs) => trs.map((tr) => tr.getAttribute('data-module')));
    expect(rows).toEqual(['evil', 'reports', 'tasks']);
    expect(await page.textContent('tr[data-module="tasks"]')).toContain('ENABLED');
    expect(await page.textContent('tr[data-module="evil"]')).toContain('FAILED');
  });

  it('shows markup in an error as text, never as markup', async () => {
    const page = await open('operator');
    await shot(page, 'modules', false);
    const cell = await page.textContent('tr[data-module="evil"] .error-message');
    expect(cell).toContain(MARKUP);
    expect(await page.$$('main b, main img')).toHaveLength(0);
    expect(await page.evaluate(() => (window as { __pwned?: number }).__pwned)).toBeUndefined();
  });

  it('is usable from the keyboard: the skip link first, then the sections', async () => {
    const page = await open('viewer');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Modules');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.waitForSelector('main[data-ready="/graph"]');
  });

  it('opens a module and changes a tenant’s config (the secret stays write-only)', async () => {
    const page = await open('operator');
    await page.click('a[href="#/module/tasks"]');
    await page.waitForSelector('main[data-ready="/module/tasks"]');
    expect(await page.textContent('h1')).toContain('tasks');
    expect(await page.inputValue('#cfg-apiKey')).toBe('');
    expect(await page.getAttribute('#cfg-apiKey', 'type')).toBe('password');
    await shot(page, 'module');
    await page.selectOption('#config-scope', 'acme');
    await page.waitForFunction(() => document.querySelector('form.config')?.getAttribute('aria-label')?.includes('acme'));
    await page.fill('#cfg-maxTasks', '7');
    await page.click('form.config button[type=submit]');
    await page.waitForSelector('text=✓ Saved maxTasks for acme');
    const config = await s.host.registry.getConfig('tasks', { tenant: 'acme', reveal: true });
    expect(config.values).toMatchObject({ maxTasks: 7, apiKey: 'sk-default-secret' });
  });

  it('upgrades (plan first) and rolls back while requests run: none fails; the live stream tells', async () => {
    const page = await open('operator', '/module/tasks');
    let ok = 0;
    const failed: string[] = [];
    let running = true;
    const loop = (async () => {
      while (running) {
        const r = await fetch(`${s.url}/tasks`).catch((e: Error) => e);
        if (r instanceof Error || r.status !== 200) failed.push(r instanceof Error ? r.message : String(r.status));
        else {
          await r.arrayBuffer();
          ok++;
        }
      }
    })();
    await page.selectOption('#upgrade-version', '1.1.0');
    await page.click('#upgrade');
    const dialog = page.locator('dialog.confirm');
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain('Start tasks@1.1.0 beside 1.0.0');
    expect(await dialog.textContent()).toContain('reports ^1.0.0');
    await shot(page, 'upgrade-plan', false);
    await dialog.locator('button', { hasText: 'Confirm' }).click();
    await page.waitForSelector('.outcome >> text=switched: 1.0.0 → 1.1.0');
    expect(s.host.router.slot('/tasks')?.current?.owner.version).toBe('1.1.0');
    await page.click('#rollback');
    await dialog.waitFor();
    await dialog.locator('button', { hasText: 'Confirm' }).click();
    await page.waitForSelector('.outcome >> text=rolled-back: 1.1.0 → 1.0.0');
    running = false;
    await loop;
    expect(failed).toEqual([]);
    expect(ok).toBeGreaterThan(20);
    // The swaps arrived over server-sent events.
    await go(page, '/live');
    await page.waitForSelector('main >> text=module:rolled-back');
    expect(await page.textContent('main')).toContain('module:upgraded');
    await shot(page, 'live', false);
  });

  it('shows a broken version refused, with its error, and keeps the old one serving', async () => {
    const page = await open('operator', '/module/tasks');
    await page.selectOption('#upgrade-version', '1.2.0');
    await page.click('#upgrade');
    await page.locator('dialog.confirm button', { hasText: 'Confirm' }).click();
    const alert = page.locator('.outcome .problem');
    await alert.waitFor();
    const text = (await alert.textContent()) ?? '';
    expect(text).toContain('422');
    expect(text).toMatch(/tasks: (rolled-back|failed|refused)/);
    expect(s.host.router.slot('/tasks')?.current?.owner.version).toBe('1.0.0');
    await shot(page, 'refused', false);
  });

  it('a viewer cannot press what an operator can', async () => {
    const viewer = await open('viewer', '/module/tasks');
    for (const id of ['#upgrade', '#rollback', '#toggle', 'form.config button[type=submit]']) expect(await viewer.isDisabled(id), id).toBe(true);
    expect(await viewer.isDisabled('#cfg-maxTasks')).toBe(true);
    expect(await viewer.textContent('main')).toContain('needs the operator role');
    const operator = await open('operator', '/module/tasks');
    for (const id of ['#rollback', '#toggle', 'form.config button[type=submit]']) expect(await operator.isDisabled(id), id).toBe(false);
    await go(viewer, '/tenants');
    expect(await viewer.isDisabled('#migration-dry-run')).toBe(true);
  });

  it('draws the graph, lists tenants with a migration dry run, and validates a manifest with every problem at its path', async () => {
    const page = await open('admin', '/graph');
    expect(await page.$$eval('svg.graph g.node', (g) => g.length)).toBe(3);
    expect(await page.textContent('svg.graph')).toContain('✗ failed');
    await shot(page, 'graph', false);
    await go(page, '/tenants');
    expect(await page.textContent('main')).toContain('acme');
    expect(await page.isDisabled('#migration-apply')).toBe(true);
    await page.click('#migration-dry-run');
    await page.waitForSelector('text=The dry run passes.');
    expect(await page.isDisabled('#migration-apply')).toBe(false);
    await shot(page, 'tenants', false);
    await go(page, '/validate');
    await page.fill('#manifest', JSON.stringify({ name: 'Bad Name', version: '1', permissions: ['nope'] }));
    await page.click('form button[type=submit]');
    await page.waitForSelector('ul.issues');
    const issues = await page.$$eval('ul.issues li code', (c) => c.map((x) => x.textContent));
    expect(issues).toEqual(expect.arrayContaining(['name', 'version', 'permissions.0']));
    await shot(page, 'validate', false);
  });
});
