import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { root } from './harness/apps.js';
import { environment } from './harness/fixtures.js';
import { McpTestClient } from './harness/mcp-client.js';
import { PolicyFiles } from './harness/policy-files.js';
import { System } from './harness/system.js';

/**
 * The web dashboard in a real browser: Debian's Chromium (`apt-get install -y chromium`; `.ci/run` installs it)
 * driven by playwright-core, against the query app's HTTP server in a whole system. Sessions are recorded
 * through MCP while the page stays open, and must show up on it without a reload.
 */
const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) console.warn(`dashboard browser test skipped: no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_BIN)`);

/** Screenshots of the runs, kept as test artifacts (test-results/ is ignored by git). */
const ARTIFACTS = join(root, 'test-results', 'dashboard');

const PROJECT = 'shop';
const PASSING = 'tests/test_cart.py::test_add';
// Node ids and error texts are caller data: markup in them must show as text and never run.
const FAILING = 'tests/test_pay.py::test_total[<b>eur</b>]';
const ERROR = 'AssertionError: assert 3 == 4 <img src=x onerror="window.__xss = 1">';
const LONGREPR = `tests/test_pay.py:12: in test_total\n    assert total(cart) == 4\nE   ${ERROR}\n\ntests/test_pay.py:12: AssertionError`;

/** A system whose query app serves the dashboard; its address. */
async function startSystem(env: Record<string, string> = {}): Promise<{ system: System; dashboard: string }> {
  const system = await System.start({ env });
  return { system, dashboard: system.queryHttpUrl.href };
}

async function launch(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-background-networking'] });
}

/** A page that records what went wrong in it: script errors, console errors (CSP violations among them), failed requests. */
async function openPage(browser: Browser): Promise<{ page: Page; problems: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, colorScheme: 'light' });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    // A 401 answered to a call before the key was given is expected; the page asks for the key then.
    if (message.type() === 'error' && !/status of 401/.test(message.text())) problems.push(`console: ${message.text()}`);
  });
  page.on('requestfailed', (request) => {
    // The live feed's request is cut when the page navigates or closes.
    if (!request.url().includes('/api/events')) problems.push(`request failed: ${request.url()} ${request.failure()?.errorText}`);
  });
  return { page, problems };
}

async function startSession(client: McpTestClient, session_id: string, run: number): Promise<void> {
  await client.ok('record_session_start', {
    session_id,
    environment,
    project: PROJECT,
    ci: { provider: 'github-actions', run_id: String(run), branch: 'main', url: `https://ci.example/runs/${run}` },
    labels: { suite: 'unit' },
  });
}

const row = (page: Page, sessionId: string) => page.locator(`#sessions tbody tr[data-session-id="${sessionId}"]`);
const sessionIds = (page: Page) => page.locator('#sessions tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-session-id')));
/** Set on the page's window: still there later means the page was not reloaded. */
// (Functions passed to page.evaluate run in the browser; as text they need no DOM types here.)
const mark = (page: Page) => page.evaluate('window.__sameDocument = true');
const sameDocument = (page: Page) => page.evaluate<boolean>('window.__sameDocument === true');
const xssRan = (page: Page) => page.evaluate<boolean>('window.__xss !== undefined');
const dialogOpen = (page: Page) => page.evaluate<boolean>("document.getElementById('key-dialog').open");

describe.skipIf(!haveChromium)('web dashboard in Chromium', () => {
  let system: System;
  let dashboard: string;
  let client: McpTestClient;
  let browser: Browser;
  let page: Page;
  let problems: string[];

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    [{ system, dashboard }, browser] = await Promise.all([startSystem(), launch()]);
    client = await McpTestClient.http(system.gateway.mcpUrl);
    ({ page, problems } = await openPage(browser));
  });
  afterAll(async () => {
    await browser?.close();
    await client?.close();
    await system?.stop();
  });

  it('serves the page with a strict CSP, and everything it loads from the app itself', async () => {
    const requests: string[] = [];
    page.on('request', (request) => requests.push(request.url()));
    const response = await page.goto(dashboard);
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-security-policy']).toMatch(/default-src 'self'/);
    await page.locator('#sessions').waitFor();
    await expect.poll(() => page.locator('main').textContent()).toContain('No sessions yet');
    const origin = new URL(dashboard).origin;
    expect(requests.filter((url) => !url.startsWith(origin))).toEqual([]);
    expect(requests.some((url) => url.endsWith('/app.js'))).toBe(true);
  });

  it('shows a session recorded through MCP, and its counts changing, without a reload', async () => {
    await mark(page);
    await startSession(client, 'web-1', 1);
    await row(page, 'web-1').waitFor({ timeout: 10_000 });
    await expect.poll(() => row(page, 'web-1').locator('.badge').textContent()).toBe('running');
    expect(await row(page, 'web-1').textContent()).toContain('main');
    expect(await row(page, 'web-1').locator('a[href="https://ci.example/runs/1"]').count()).toBe(1);

    await client.ok('record_test_outcome', { session_id: 'web-1', nodeid: PASSING, outcome: 'passed', duration: 0.02 });
    await expect.poll(() => row(page, 'web-1').locator('[data-outcome="passed"]').textContent(), { timeout: 10_000 }).toContain('1');
    await client.ok('record_test_outcome', { session_id: 'web-1', nodeid: FAILING, outcome: 'failed', duration: 0.31, error: ERROR, longrepr: LONGREPR });
    await expect.poll(() => row(page, 'web-1').locator('[data-outcome="failed"]').textContent(), { timeout: 10_000 }).toContain('1');

    // A newer session comes in on top.
    await startSession(client, 'web-2', 2);
    await expect.poll(() => sessionIds(page), { timeout: 10_000 }).toEqual(['web-2', 'web-1']);
    await page.screenshot({ path: join(ARTIFACTS, 'sessions.png'), fullPage: true });
    expect(await sameDocument(page)).toBe(true);
    expect(await xssRan(page)).toBe(false);
  });

  it("opens a session's page: failures with their error text, failure groups, slowest tests, a chart — and follows it live", async () => {
    await row(page, 'web-1').locator('a[href^="#/sessions/"]').click();
    const failure = page.locator('#failures article.failure');
    await failure.first().waitFor();
    expect(await failure.locator('.nodeid').textContent()).toBe(FAILING);
    expect(await failure.locator('pre').textContent()).toContain(ERROR);
    await expect.poll(() => page.locator('#groups .signature').first().textContent()).toMatch(/^AssertionError: assert <N> == <N>/);
    expect(await page.locator('#groups li').allTextContents()).toEqual([FAILING]);
    expect(await page.locator('#slowest li').count()).toBe(2);
    expect(await page.locator('#durations svg.chart rect').count()).toBeGreaterThan(0);
    expect(await page.locator('h1 .badge').textContent()).toBe('running');

    await client.ok('record_test_outcome', {
      session_id: 'web-1',
      nodeid: 'tests/test_cart.py::test_remove',
      outcome: 'error',
      duration: 1.5,
      error: 'KeyError: 17',
      when: 'setup',
    });
    await client.ok('record_session_finish', { session_id: 'web-1', summary: { total_tests: 3, passed: 1, failed: 1, skipped: 0, exitstatus: 1 } });
    await expect.poll(() => page.locator('h1 .badge').textContent(), { timeout: 10_000 }).toBe('failed');
    expect(await page.locator('#counts [data-outcome="error"] .n').textContent()).toBe('1');
    expect(await failure.count()).toBe(2);
    await page.screenshot({ path: join(ARTIFACTS, 'session.png'), fullPage: true });
    expect(await sameDocument(page)).toBe(true);
    expect(await xssRan(page)).toBe(false);
  });

  it("shows a test's history as a pass/fail strip, and the project's flaky tests", async () => {
    // Three more finished sessions: the failing test passes, fails, passes — it flips.
    for (const [i, outcome] of (['passed', 'failed', 'passed'] as const).entries()) {
      const id = `web-${3 + i}`;
      await startSession(client, id, 3 + i);
      await client.ok('record_test_outcomes', {
        session_id: id,
        outcomes: [
          { nodeid: PASSING, outcome: 'passed', duration: 0.02 * (i + 1) },
          { nodeid: FAILING, outcome, duration: 0.3, ...(outcome === 'failed' ? { error: ERROR } : {}) },
        ],
      });
      await client.ok('record_session_finish', {
        session_id: id,
        summary: {
          total_tests: 2,
          passed: outcome === 'passed' ? 2 : 1,
          failed: outcome === 'failed' ? 1 : 0,
          skipped: 0,
          exitstatus: outcome === 'failed' ? 1 : 0,
        },
      });
      await client.ok('get_session', { session_id: id });
    }
    await page.locator('#failures .nodeid').first().click();
    await page.locator('.strip').waitFor();
    // Oldest on the left: web-1 failed, web-3 passed, web-4 failed, web-5 passed.
    await expect
      .poll(() => page.locator('.strip .cell').evaluateAll((cells) => cells.map((c) => c.className.replace(/^cell /, ''))), { timeout: 10_000 })
      .toEqual(['outcome-failed', 'outcome-passed', 'outcome-failed', 'outcome-passed']);
    expect(await page.locator('#runs tbody tr').first().textContent()).toContain('web-5');
    expect(await page.locator('#history > p.mono').textContent()).toBe(FAILING);

    await page.locator('nav a[data-nav="flaky"]').click();
    await expect.poll(() => page.locator('#flaky-tests tbody tr').first().textContent(), { timeout: 10_000 }).toContain(FAILING);
    expect(await page.locator('#slowest-tests svg.spark').count()).toBeGreaterThan(0);
    expect(await sameDocument(page)).toBe(true);
    expect(await xssRan(page)).toBe(false);
    expect(problems).toEqual([]);
  });
});

describe.skipIf(!haveChromium)('web dashboard with keys', () => {
  const files = PolicyFiles.create({ version: '1', default: 'allow', grants: { dashboards: { default: 'allow', sessions: { read: 'all' } } } });
  let system: System;
  let dashboard: string;
  let runner: McpTestClient;
  let boardKey: string;
  let browser: Browser;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const runnerKey = await files.addKey('runner-1', 'ci');
    boardKey = await files.addKey('board-1', 'dashboards');
    [{ system, dashboard }, browser] = await Promise.all([startSystem({ KEYS_FILE: files.keys, POLICY_FILE: files.policy }), launch()]);
    runner = await McpTestClient.http(system.gateway.mcpUrl, { key: runnerKey });
  });
  afterAll(async () => {
    await browser?.close();
    await runner?.close();
    await system?.stop();
    files.dispose();
  });

  it('asks for the key once, keeps it for the tab, and follows the feed with it', async () => {
    const { page, problems } = await openPage(browser);
    await page.goto(dashboard);
    const dialog = page.locator('#key-dialog');
    await dialog.locator('#key-input').waitFor({ state: 'visible' });
    await page.screenshot({ path: join(ARTIFACTS, 'key-dialog.png') });

    // A wrong key is refused, and asked for again.
    await dialog.locator('#key-input').fill('not-a-key');
    await dialog.locator('button[type="submit"]').click();
    await expect.poll(() => dialog.locator('#key-note').textContent()).toMatch(/not accepted/);
    expect(await dialogOpen(page)).toBe(true);

    await dialog.locator('#key-input').fill(boardKey);
    await dialog.locator('button[type="submit"]').click();
    await expect.poll(() => page.locator('main').textContent()).toContain('No sessions yet');
    expect(await dialogOpen(page)).toBe(false);

    // The live feed takes the key too: a session another grant records shows up.
    await mark(page);
    await startSession(runner, 'keyed-1', 1);
    await row(page, 'keyed-1').waitFor({ timeout: 10_000 });
    expect(await row(page, 'keyed-1').textContent()).toContain('ci');
    expect(await sameDocument(page)).toBe(true);

    // Reloaded, the tab still has the key: no second question.
    await page.reload();
    await row(page, 'keyed-1').waitFor();
    expect(await dialogOpen(page)).toBe(false);
    expect(problems).toEqual([]);
  });
});
