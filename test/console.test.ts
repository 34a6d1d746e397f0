// The web console in a real browser (Debian's chromium, driven by playwright-core) against the
// whole stack: the token from the URL fragment, a kmeans instance configured and fitted through
// the generated forms, live progress, artifact previews and statistics, a montecarlo run
// cancelled from the page, a guided draft, the runs list with facets (also at phone width), the
// compare and queue pages, a kmeans re-run with the instance's current config compared with its parent. Screenshots of each page go to test-results/console/ (and, with
// SCREENSHOTS_DIR=docs/screenshots, the README's two).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_DIRECTORY, ConsoleFiles } from '../src/http/console-files.ts';
import { graphql } from './gql/index.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const SHOTS = path.join(ROOT, 'test-results', 'console');
const README_SHOTS = process.env.SCREENSHOTS_DIR ? path.resolve(ROOT, process.env.SCREENSHOTS_DIR) : null;
const DESKTOP = { width: 1280, height: 800 };

const ConsoleTestInstance = graphql(`
  query ConsoleTestInstance($routineName: String! = "montecarlo", $name: String!) {
    instance(routineName: $routineName, name: $name) {
      id
    }
  }
`);

const ConsoleTestCreateRun = graphql(`
  mutation ConsoleTestCreateRun($input: CreateRunInput!) {
    createRun(input: $input) {
      __typename
      ... on CreateRunSuccess {
        run {
          id
        }
      }
      ... on Error {
        message
      }
    }
  }
`);

const ConsoleTestRunStatus = graphql(`
  query ConsoleTestRunStatus($id: ID!) {
    run(id: $id) {
      status
    }
  }
`);

const ConsoleTestCancel = graphql(`
  mutation ConsoleTestCancel($input: CancelRunInput!) {
    cancelRun(input: $input) {
      __typename
    }
  }
`);

let stack: TestStack;
let browser: Browser;
let page: Page;
let base: string;
let token: string;

async function shot(name: string, target: Page = page): Promise<void> {
  await target.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

/** The two README screenshots: the viewport only, 1280×800, so they stay small. */
async function readmeShot(name: string): Promise<void> {
  if (README_SHOTS) await page.screenshot({ path: path.join(README_SHOTS, `${name}.png`) });
}

function statusBadge(target: Page = page) {
  return target.locator('.page-head .status');
}

/** 60 points in three clear clusters, as the fit's JSON input. */
function clusteredPoints(): number[][] {
  const centres = [
    [0, 0],
    [10, 10],
    [0, 10],
  ];
  return Array.from({ length: 60 }, (_, index) => {
    const [x, y] = centres[index % 3];
    return [x + ((index * 7) % 10) / 10, y + ((index * 3) % 10) / 10];
  });
}

beforeAll(async () => {
  // CI builds it with `npm run build` / postinstall; a fresh checkout without it builds it here.
  if (!existsSync(path.join(CONSOLE_DIRECTORY, 'index.html'))) execFileSync('node', ['scripts/build-console.mjs'], { cwd: ROOT });
  mkdirSync(SHOTS, { recursive: true });
  if (README_SHOTS) mkdirSync(README_SHOTS, { recursive: true });
  stack = await startTestStack();
  base = stack.url.replace(/\/graphql$/, '/');
  token = stack.admin.options.token!;
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ['--no-sandbox'] });
  page = await browser.newPage({ viewport: DESKTOP });
  page.setDefaultTimeout(15_000);
  // The console must work under its own Content-Security-Policy: a refused script, style or
  // socket shows up here and fails the last test.
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) policyViolations.push(message.text());
  });
}, 120_000);

const policyViolations: string[] = [];

afterEach(async (context) => {
  // What the page showed when a step failed.
  if (context.task.result?.state === 'fail' && page) await shot(`failed-${context.task.name.slice(0, 40).replace(/\W+/g, '-')}`);
});

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

/** A page condition, polled: under a loaded CI machine a render can take seconds, past expect.poll's default of 1 s. */
function poll<T>(read: () => T | Promise<T>) {
  return expect.poll(read, { timeout: 15_000 });
}
describe('serving the console', () => {
  it('sends a Content-Security-Policy that allows only its own origin, refuses framing and Referer, on GET and HEAD', async () => {
    for (const method of ['GET', 'HEAD']) {
      const index = await fetch(base, { method });
      const policy = index.headers.get('content-security-policy') ?? '';
      expect(policy).toContain("script-src 'self'");
      expect(policy).toContain("frame-ancestors 'none'");
      expect(policy).toContain(`connect-src 'self' ws://${new URL(base).host}`);
      expect(index.headers.get('x-content-type-options')).toBe('nosniff');
      expect(index.headers.get('x-frame-options')).toBe('DENY');
      expect(index.headers.get('referrer-policy')).toBe('no-referrer');
      expect(index.headers.get('cache-control')).toBe('no-cache');
    }
  });

  it('answers / and its hashed assets with their caching, and leaves the API paths alone', async () => {
    const index = await fetch(base);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toMatch(/^text\/html/);
    expect(index.headers.get('cache-control')).toBe('no-cache');
    const html = await index.text();
    const asset = html.match(/src="(\/assets\/[^"]+\.js)"/)![1];
    const script = await fetch(new URL(asset, base), { headers: { 'accept-encoding': 'gzip' } });
    expect(script.status).toBe(200);
    expect(script.headers.get('cache-control')).toContain('immutable');
    expect(script.headers.get('content-encoding')).toBe('gzip');
    expect((await fetch(new URL('/assets/missing.js', base))).status).toBe(404);
    expect((await fetch(new URL('/healthz', base))).status).toBe(200);
    const graphqlAnswer = await fetch(stack.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: '{ routines { name } }' }),
    });
    expect(graphqlAnswer.status).toBe(200);
    // Not a console path: GraphQL's own answer, not the page.
    const post = await fetch(base, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(await post.text()).not.toContain('<div id="app">');
  });

  it('answers 503 saying how to build it when it is not built', async () => {
    const files = new ConsoleFiles(path.join(ROOT, 'no-such-console'));
    const server = createServer((req, res) => files.serve(req, res, new URL(req.url!, 'http://x').pathname));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
      expect(response.status).toBe(503);
      expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(await response.text()).toContain('npm run build:console');
    } finally {
      server.close();
    }
  });
});

describe('the console in a browser', () => {
  let fitRunUrl: string;
  let guidedRunUrl: string;

  it('takes the token from the fragment, keeps it in the tab and clears the address bar', async () => {
    await page.goto(`${base}#token=${token}`);
    await poll(() => page.url()).not.toContain('token');
    expect(await page.evaluate(() => sessionStorage.getItem('routine-runs-token'))).toBe(token);
    await page.getByRole('heading', { name: 'Runs' }).waitFor();
  });

  it('creates a kmeans instance, configures it first, then fits and shows progress, previews and statistics live', async () => {
    await page.getByRole('link', { name: 'Routines' }).click();
    await page.getByLabel('Routine', { exact: true }).selectOption('kmeans');
    await page.getByLabel('Name', { exact: true }).fill('console-kmeans');
    await page.getByRole('button', { name: 'Create instance' }).click();

    // Stateful and not configured: only the constructor is offered.
    await page.getByText('This instance is not configured yet').waitFor();
    expect(await page.getByLabel('Method').locator('option').allTextContents()).toEqual(['configure (constructor)']);
    await page.getByLabel('k', { exact: true }).fill('1');
    await page.getByRole('button', { name: 'Start configure' }).click();
    // The service's refusal lands on the field it names.
    const kError = page.locator('.field-invalid').getByRole('alert');
    await kError.waitFor();
    expect(await kError.textContent()).toMatch(/2|greater/i);
    await shot('routines');
    await page.getByLabel('k', { exact: true }).fill('3');
    await page.getByRole('button', { name: 'Start configure' }).click();
    await page.waitForURL(/#\/runs\/.+/);
    await expect.poll(() => statusBadge().textContent(), { timeout: 30_000 }).toBe('COMPLETED');

    await page.getByRole('link', { name: 'Routines' }).click();
    await page.getByRole('button', { name: 'Start a run on console-kmeans' }).click();
    await page.getByLabel('Method').selectOption('fit');
    await page.getByLabel('points', { exact: true }).fill(JSON.stringify(clusteredPoints()));
    await page.getByLabel('Labels (comma-separated)').fill('console, kmeans');
    await page.getByRole('button', { name: 'Start fit' }).click();
    await page.waitForURL(/#\/runs\/.+/);
    fitRunUrl = page.url();
    // The page is never reloaded: a marker set now survives to the end.
    await page.evaluate(() => ((window as unknown as { stayed: boolean }).stayed = true));
    await page.waitForFunction(
      () => (document.querySelector('progress[aria-label="Run progress"]') as HTMLProgressElement | null)?.value === 100,
      null,
      {
        timeout: 30_000,
      },
    );
    await expect.poll(() => statusBadge().textContent(), { timeout: 30_000 }).toBe('COMPLETED');
    expect(await page.evaluate(() => (window as unknown as { stayed?: boolean }).stayed)).toBe(true);

    const clustered = page.getByRole('region', { name: 'Artifact clustered_data' });
    await clustered.getByRole('columnheader', { name: 'cluster' }).first().waitFor();
    expect(await clustered.locator('.preview tbody tr').count()).toBe(60);
    await clustered.getByText('Column statistics').click();
    const chart = clustered.getByRole('img', { name: 'x0: distribution' });
    await chart.waitFor();
    expect(await chart.locator('rect').count()).toBe(6);
    expect(await page.getByRole('link', { name: 'Download' }).first().getAttribute('href')).toMatch(/\/artifacts\/.+\/data\?/);
    await page.getByRole('log', { name: 'Run log' }).getByText('Loaded 60 points').waitFor();
    const config = page.getByRole('region', { name: 'Instance config' });
    expect(await config.textContent()).toContain('Version 1, as this run executed with it');
    expect(await config.textContent()).toContain('"k": 3');
    await shot('run-detail');
    await clustered.getByText('Column statistics').click();
    await page.evaluate(() => scrollTo(0, 0));
    await readmeShot('run-detail');
  });

  it('cancels a long montecarlo run from its page', async () => {
    await page.getByRole('link', { name: 'Routines' }).click();
    await page.getByLabel('Routine', { exact: true }).selectOption('montecarlo');
    await page.getByLabel('Name', { exact: true }).fill('console-pi');
    await page.getByRole('button', { name: 'Create instance' }).click();
    await page.getByLabel('samples', { exact: true }).fill('9000000000');
    await page.getByLabel('batches', { exact: true }).fill('900');
    await page.getByRole('button', { name: 'Start estimatePi' }).click();
    await page.waitForURL(/#\/runs\/.+/);
    await expect.poll(() => statusBadge().textContent(), { timeout: 30_000 }).toBe('RUNNING');
    await page.getByRole('button', { name: 'Cancel run' }).click();
    await expect.poll(() => statusBadge().textContent(), { timeout: 30_000 }).toBe('CANCELLED');
    await page.getByRole('list').getByText('RUNNING → CANCELLED').waitFor();
  });

  it('builds a guided draft one parameter at a time, with the refusal on the field', async () => {
    await page.getByRole('link', { name: 'Routines' }).click();
    await page.getByRole('button', { name: 'Start a run on console-pi' }).click();
    await page.getByLabel('Guided, one at a time').check();
    await page.getByRole('button', { name: 'Begin guided estimatePi' }).click();
    await page.getByLabel('samples', { exact: true }).fill('0');
    await page.getByRole('button', { name: 'Set samples' }).click();
    const field = page.locator('.field-invalid');
    await field.getByRole('alert').waitFor();
    expect(await field.getByLabel('samples', { exact: true }).getAttribute('aria-invalid')).toBe('true');
    await page.getByLabel('samples', { exact: true }).fill('100000');
    await page.getByRole('button', { name: 'Set samples' }).click();
    await page.getByRole('button', { name: 'Start run' }).click();
    await page.waitForURL(/#\/runs\/.+/);
    await expect.poll(() => statusBadge().textContent(), { timeout: 30_000 }).toBe('COMPLETED');
    guidedRunUrl = page.url();
  });

  it('re-runs a finished run with a changed input', async () => {
    await page.getByText('Re-run with changed inputs').click();
    expect(await page.getByLabel('samples', { exact: true }).inputValue()).toBe('100000');
    // Stateless: no instance config to choose.
    expect(await page.getByLabel("Use the instance's current config").count()).toBe(0);
    expect(await page.getByRole('region', { name: 'Instance config' }).count()).toBe(0);
    await page.getByLabel('samples', { exact: true }).fill('200000');
    await page.getByRole('button', { name: 'Re-run' }).click();
    await poll(() => page.url()).not.toBe(guidedRunUrl);
    await expect.poll(() => statusBadge().textContent(), { timeout: 30_000 }).toBe('COMPLETED');
    await page.getByRole('link', { name: 'parent run' }).waitFor();
    expect(await page.getByRole('region', { name: 'Inputs' }).textContent()).toContain('"samples": 200000');
  });

  it('lists the runs with their facet counts, and compares two of them', async () => {
    await page.getByRole('link', { name: 'Runs' }).click();
    await poll(() => page.locator('table.runs tbody tr').count()).toBe(5);
    await poll(() => page.locator('.facet-count[data-status="COMPLETED"]').textContent()).toBe('4');
    expect(await page.locator('.facet-count[data-status="CANCELLED"]').textContent()).toBe('1');
    await page.getByRole('button', { name: /^console/ }).click();
    await poll(() => page.locator('table.runs tbody tr').count()).toBe(1);
    await shot('runs-filtered');
    await page.getByRole('button', { name: 'Reset' }).click();
    await poll(() => page.locator('table.runs tbody tr').count()).toBe(5);
    await shot('runs');
    await readmeShot('runs');

    const guidedId = decodeURIComponent(guidedRunUrl.split('#/runs/')[1]);
    // The newest run is the re-run of the guided one.
    await page.locator('table.runs tbody tr').first().getByRole('checkbox').check();
    await page.locator(`tr[data-run-id="${guidedId}"]`).getByRole('checkbox').check();
    await page.getByRole('button', { name: 'Compare selected (2)' }).click();
    await page.getByRole('heading', { name: 'Compare 2 runs' }).waitFor();
    // The first samples row is the inputs' (the outputs repeat it).
    const samples = page.getByRole('row', { name: /^samples/ }).first();
    expect(await samples.getByRole('cell').allTextContents()).toEqual(['200000', '100000Δ -100000']);
    // The output row, not the artifact of the same name: each estimate, the second with its delta.
    const estimate = await page
      .getByRole('row', { name: /^estimate \d/ })
      .getByRole('cell')
      .allTextContents();
    expect(estimate[1]).toMatch(/Δ [+-]?[\d.e+-]+$/);
    await shot('compare');
  });

  it('keeps the applied runs filter in the URL: it survives a reload, and Back undoes the last change', async () => {
    await page.getByRole('link', { name: 'Runs' }).click();
    await poll(() => page.locator('table.runs tbody tr').count()).toBe(5);
    await page.getByRole('checkbox', { name: 'CANCELLED' }).check();
    // A status box applies at once and the form follows the applied filter: wait until the list
    // shows it (the one CANCELLED run) before the next field, as a person would.
    await poll(() => page.locator('table.runs tbody tr').count()).toBe(1);
    await page.getByLabel('Routine', { exact: true }).selectOption('montecarlo');
    await page.getByRole('button', { name: 'Apply' }).click();
    await poll(() => page.url()).toMatch(/#\/runs\?status=CANCELLED&routine=montecarlo$/);

    await page.reload();
    await poll(() => page.locator('table.runs tbody tr').count()).toBe(1);
    expect(await page.locator('table.runs tbody tr .status').textContent()).toBe('CANCELLED');
    expect(await page.getByRole('checkbox', { name: 'CANCELLED' }).isChecked()).toBe(true);
    await poll(() => page.getByLabel('Routine', { exact: true }).inputValue()).toBe('montecarlo');

    await page.goBack();
    await poll(() => page.url()).toMatch(/#\/runs\?status=CANCELLED$/);
    await poll(() => page.getByLabel('Routine', { exact: true }).inputValue()).toBe('');
    expect(await page.getByRole('checkbox', { name: 'CANCELLED' }).isChecked()).toBe(true);
    await page.getByRole('button', { name: 'Reset' }).click();
    await poll(() => page.url()).toMatch(/#\/runs$/);
    await poll(() => page.locator('table.runs tbody tr').count()).toBe(5);
  });

  it('shows the queue: capacity and a queued run with why it waits', async () => {
    const { instance } = await stack.admin.query(ConsoleTestInstance, { name: 'console-pi' });
    // Two long runs that each need most of the worker's memory: the second waits for the first.
    const ids: string[] = [];
    for (const name of ['holds the memory', 'waits for memory']) {
      const { createRun } = await stack.admin.query(ConsoleTestCreateRun, {
        input: { instanceId: instance!.id, methodName: 'estimatePi', name, memoryOverrideMb: 8000, inputs: { samples: 9e9, batches: 900 } },
      });
      if (createRun.__typename !== 'CreateRunSuccess') throw new Error(JSON.stringify(createRun));
      ids.push(createRun.run.id);
    }
    try {
      await expect
        .poll(async () => (await stack.admin.query(ConsoleTestRunStatus, { id: ids[0] })).run?.status, { timeout: 30_000 })
        .toBe('RUNNING');
      await page.getByRole('link', { name: 'Queue' }).click();
      await page.getByRole('heading', { name: 'Capacity' }).waitFor();
      const waiting = page.getByRole('row', { name: /waits for memory/ });
      await waiting.waitFor();
      expect(await waiting.getByRole('cell').first().textContent()).toBe('1');
      expect(await waiting.textContent()).toContain('Waiting for 8000 MB of free memory');
      await page.getByText(/1\/\d+ slots/).waitFor();
      await shot('queue');
    } finally {
      for (const id of ids) await stack.admin.query(ConsoleTestCancel, { input: { id } });
    }
  });

  it('fits a phone width without horizontal overflow', async () => {
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 } });
    try {
      await phone.goto(`${base}#token=${token}`);
      await poll(() => phone.locator('table.runs tbody tr').count()).toBe(7);
      expect(await phone.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
      await shot('runs-phone', phone);
      await phone.goto(fitRunUrl);
      await statusBadge(phone).waitFor();
      expect(await phone.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
      await shot('run-detail-phone', phone);
    } finally {
      await phone.close();
    }
  });

  it('asks for a token again when the service refuses it', async () => {
    const fresh = await browser.newPage({ viewport: DESKTOP });
    try {
      await fresh.goto(`${base}#token=rr_not_a_real_token`);
      await fresh.getByRole('alert').filter({ hasText: 'refused' }).waitFor();
      await shot('token', fresh);
      await fresh.getByLabel('API token').fill(token);
      await fresh.getByRole('button', { name: 'Open the console' }).click();
      await fresh.getByRole('heading', { name: 'Runs' }).waitFor();
    } finally {
      await fresh.close();
    }
  });

  it('follows a new run in the runs list live, from its creation to 100%', async () => {
    await page.goto(`${base}#/runs`);
    await poll(() => page.locator('table.runs tbody tr').count()).toBe(7);
    await page.evaluate(() => ((window as unknown as { stayed: boolean }).stayed = true));
    const { instance } = await stack.admin.query(ConsoleTestInstance, { name: 'console-pi' });
    const { createRun } = await stack.admin.query(ConsoleTestCreateRun, {
      input: { instanceId: instance!.id, methodName: 'estimatePi', name: 'appears live', inputs: { samples: 5e7, batches: 5 } },
    });
    if (createRun.__typename !== 'CreateRunSuccess') throw new Error(JSON.stringify(createRun));
    const row = page.locator(`tr[data-run-id="${createRun.run.id}"]`);
    await row.waitFor();
    await expect.poll(() => row.locator('.status').textContent(), { timeout: 30_000 }).toBe('COMPLETED');
    expect(await row.locator('progress').evaluate((bar) => (bar as HTMLProgressElement).value)).toBe(100);
    await poll(() => page.locator('.facet-count[data-status="COMPLETED"]').textContent()).toBe('5');
    expect(await page.evaluate(() => (window as unknown as { stayed?: boolean }).stayed)).toBe(true);
  });

  it('pages through the runs with keyset cursors', async () => {
    const { instance } = await stack.admin.query(ConsoleTestInstance, { name: 'console-pi' });
    // Drafts (CREATED, never started): cheap runs to fill more than a page.
    for (let index = 0; index < 20; index++) {
      const { createRun } = await stack.admin.query(ConsoleTestCreateRun, {
        input: { instanceId: instance!.id, methodName: 'estimatePi', name: `draft ${index}`, start: false, inputs: { samples: 1000 } },
      });
      if (createRun.__typename !== 'CreateRunSuccess') throw new Error(JSON.stringify(createRun));
    }
    await page.goto(`${base}#/routines`);
    await page.getByRole('link', { name: 'Runs' }).click();
    await poll(() => page.locator('.facet-count[data-status="CREATED"]').textContent()).toBe('20');
    expect(await page.locator('table.runs tbody tr').count()).toBe(20);
    const firstPage = await page.locator('table.runs tbody tr .run-title a').allTextContents();
    expect(firstPage[0]).toBe('draft 19');
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByText('Page 2').waitFor();
    await poll(() => page.locator('table.runs tbody tr').count()).toBe(8);
    expect(await page.getByRole('button', { name: 'Next' }).isDisabled()).toBe(true);
    await page.getByRole('button', { name: 'Previous' }).click();
    await poll(() => page.locator('table.runs tbody tr .run-title a').allTextContents()).toEqual(firstPage);
  });

  it('shows why a run failed, with its phase and attempt', async () => {
    await page.getByRole('link', { name: 'Routines' }).click();
    await page.getByRole('button', { name: 'Start a run on console-kmeans' }).click();
    await page.getByLabel('Method').selectOption('fit');
    await page.getByLabel('points', { exact: true }).fill('[[1, 2], [3, 4], [5]]');
    await page.getByRole('button', { name: 'Start fit' }).click();
    await page.waitForURL(/#\/runs\/.+/);
    await expect.poll(() => statusBadge().textContent(), { timeout: 30_000 }).toBe('FAILED');
    const error = page.getByRole('region', { name: 'Error' });
    await poll(() => error.textContent()).toContain('DimensionMismatchError in phase METHOD, attempt 1');
    expect(await error.textContent()).toContain('Point 2 has 1 features');
    await shot('run-failed');
  });

  it('re-runs a kmeans fit with the current config after a reconfigure, and compares it with its parent', async () => {
    const { instance } = await stack.admin.query(ConsoleTestInstance, { routineName: 'kmeans', name: 'console-kmeans' });
    const { createRun } = await stack.admin.query(ConsoleTestCreateRun, {
      input: { instanceId: instance!.id, methodName: 'configure', inputs: { k: 4 } },
    });
    if (createRun.__typename !== 'CreateRunSuccess') throw new Error(JSON.stringify(createRun));
    await expect
      .poll(async () => (await stack.admin.query(ConsoleTestRunStatus, { id: createRun.run.id })).run?.status, { timeout: 30_000 })
      .toBe('COMPLETED');

    await page.goto(fitRunUrl);
    // The fit keeps the config it executed with.
    const config = page.getByRole('region', { name: 'Instance config' });
    await poll(() => config.textContent()).toContain('Version 1');
    await page.getByText('Re-run with changed inputs').click();
    const useCurrent = page.getByLabel("Use the instance's current config");
    expect(await useCurrent.isChecked()).toBe(false);
    await useCurrent.check();
    await shot('rerun-form');
    await page.getByRole('button', { name: 'Re-run' }).click();
    await poll(() => page.url()).not.toBe(fitRunUrl);
    await expect.poll(() => statusBadge().textContent(), { timeout: 30_000 }).toBe('COMPLETED');
    await poll(() => config.textContent()).toContain('Version 2, as this run executed with it');
    expect(await config.textContent()).toContain('"k": 4');
    // The outputs come with the page's read after the last event: wait for them before the shot.
    await page.getByRole('region', { name: 'Outputs' }).getByText('inertia').waitFor();
    await shot('run-detail-rerun-config');

    const parentId = decodeURIComponent(fitRunUrl.split('#/runs/')[1]);
    const rerunId = decodeURIComponent(page.url().split('#/runs/')[1]);
    await page.goto(`${base}#/compare/${parentId},${rerunId}`);
    await page.getByRole('heading', { name: 'Compare 2 runs' }).waitFor();
    const k = page.getByRole('row', { name: /^k\b/ });
    expect(await k.getByRole('cell').allTextContents()).toEqual(['3', '4Δ +1']);
    expect(
      await page
        .getByRole('row', { name: /^Config version/ })
        .getByRole('cell')
        .allTextContents(),
    ).toEqual(['1', '2']);
    // Three clusters against four: the inertia differs, and its delta is shown.
    const inertia = page.getByRole('row', { name: /^inertia/ });
    const [first, second] = await inertia.getByRole('cell').allTextContents();
    expect(first).toMatch(/^[\d.e+-]+$/);
    expect(second).toMatch(/Δ -[\d.e+-]+$/);
    expect(await page.getByRole('row', { name: /^Artifacts/ }).textContent()).toContain('not identical');
    const clusteredData = page.getByRole('row', { name: /^clustered_data differs/ });
    const checksums = await clusteredData.locator('code.checksum').allTextContents();
    expect(checksums).toHaveLength(2);
    expect(checksums[0]).toMatch(/^[0-9a-f]{12}$/);
    expect(checksums[0]).not.toBe(checksums[1]);
    await shot('compare-kmeans');
  });

  it("shows a run's description as text on its page, and lands focus on the page heading", async () => {
    const { instance } = await stack.admin.query(ConsoleTestInstance, { name: 'console-pi' });
    const description = 'Checks the <b>estimate</b> & its spread';
    const { createRun } = await stack.admin.query(ConsoleTestCreateRun, {
      input: {
        instanceId: instance!.id,
        methodName: 'estimatePi',
        name: 'described',
        description,
        start: false,
        inputs: { samples: 1000 },
      },
    });
    if (createRun.__typename !== 'CreateRunSuccess') throw new Error(JSON.stringify(createRun));
    await page.getByRole('link', { name: 'Runs' }).click();
    await page.locator(`tr[data-run-id="${createRun.run.id}"]`).getByRole('link', { name: 'described' }).click();
    const heading = page.getByRole('heading', { name: 'described', level: 1 });
    await heading.waitFor();
    expect(await page.locator('.run-description').textContent()).toBe(description);
    expect(await page.locator('.run-description b').count()).toBe(0);
    await poll(() => heading.evaluate((element) => element === document.activeElement)).toBe(true);
  });
});

describe('the policy', () => {
  it('every page above ran under the Content-Security-Policy without a violation', () => {
    expect(policyViolations).toEqual([]);
  });
});
