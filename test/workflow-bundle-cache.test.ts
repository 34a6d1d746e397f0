// The workflow bundle kept across starts (workflows/bundle-cache.ts) is used only while every file
// it was made from is unchanged: an edited module, a module appearing where webpack looked for one,
// or a damaged cache file means bundling again, never running stale workflow code.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleCacheFile, cachedWorkflowBundle, type BundleCacheOutcome } from '../workflows/bundle-cache.ts';

const PROJECT_ROOT = fileURLToPath(new URL('../', import.meta.url));
let workflowsDir: string;
let cacheDir: string;
let workflowsPath: string;

const silent = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };

beforeAll(async () => {
  // Inside the project (a sibling of dist/, ignored by git), so webpack finds node_modules.
  workflowsDir = await fs.mkdtemp(path.join(PROJECT_ROOT, 'dist-test-workflows-'));
  cacheDir = path.join(workflowsDir, 'cache');
  workflowsPath = path.join(workflowsDir, 'index.ts');
  await writeAged(path.join(workflowsDir, 'greeting.js'), `export const greeting = 'hello';\n`);
  await writeAged(
    workflowsPath,
    `import { greeting } from './greeting.js';\nexport async function greet(): Promise<string> {\n  return greeting + ' v1';\n}\n`,
  );
});

afterAll(async () => {
  await fs.rm(workflowsDir, { recursive: true, force: true });
});

/** Written with a modification time in the past: a file changed while bundling is never cached. */
async function writeAged(file: string, text: string) {
  await fs.writeFile(file, text);
  const past = new Date(Date.now() - 60_000);
  await fs.utimes(file, past, past);
}

async function bundle() {
  const outcomes: BundleCacheOutcome[] = [];
  const { code } = await cachedWorkflowBundle({
    cacheDir,
    options: { workflowsPath, logger: silent },
    onOutcome: (outcome) => outcomes.push(outcome),
  });
  expect(outcomes).toHaveLength(1);
  return { code, ...outcomes[0] };
}

describe('workflow bundle cache', () => {
  it('is made once, then read back while nothing changed', async () => {
    const first = await bundle();
    expect(first).toMatchObject({ outcome: 'miss', reason: 'not cached', stored: true });
    expect(first.code).toContain(`' v1'`);
    const second = await bundle();
    expect(second.outcome).toBe('hit');
    expect(second.code).toBe(first.code);
  });

  it('is made again when a workflow module changes', async () => {
    await writeAged(
      workflowsPath,
      `import { greeting } from './greeting.js';\nexport async function greet(): Promise<string> {\n  return greeting + ' v2';\n}\n`,
    );
    const edited = await bundle();
    expect(edited).toMatchObject({ outcome: 'miss', reason: `${workflowsPath} changed`, stored: true });
    expect(edited.code).toContain(`' v2'`);
    expect(edited.code).not.toContain(`' v1'`);
    expect((await bundle()).outcome).toBe('hit');
  });

  it('is made again when a module appears where webpack looked first (greeting.ts before greeting.js)', async () => {
    const typescript = path.join(workflowsDir, 'greeting.ts');
    await writeAged(typescript, `export const greeting: string = 'bonjour';\n`);
    try {
      const appeared = await bundle();
      expect(appeared).toMatchObject({ outcome: 'miss', reason: `${typescript} appeared` });
      expect(appeared.code).toContain(`'bonjour'`);
    } finally {
      await fs.rm(typescript);
    }
    // Gone again: the bundle made with it is stale in turn.
    const back = await bundle();
    expect(back).toMatchObject({ outcome: 'miss', reason: `${typescript} changed` });
    expect(back.code).toContain(`'hello'`);
  });

  it('is not cached when a module changed while webpack ran', async () => {
    // A modification time after bundling began stands for an edit during bundling.
    await fs.writeFile(
      path.join(workflowsDir, 'greeting.js'),
      `export const greeting = 'hi';\n`, // mtime now
    );
    const made = await bundle();
    expect(made).toMatchObject({ outcome: 'miss', stored: false });
    expect(made.code).toContain(`'hi'`);
    expect((await bundle()).outcome).toBe('miss');
  });

  it('ignores a damaged cache file and replaces it', async () => {
    await writeAged(path.join(workflowsDir, 'greeting.js'), `export const greeting = 'hello';\n`);
    const good = await bundle(); // made by the test before, or now
    expect(good.code).toContain(`'hello'`);
    expect((await bundle()).outcome).toBe('hit');
    const file = bundleCacheFile({ cacheDir, options: { workflowsPath } });
    const text = await fs.readFile(file, 'utf8');

    // Cut short: the code no longer matches the hash in its header.
    await fs.writeFile(file, text.slice(0, text.length - 100));
    expect(await bundle()).toMatchObject({ outcome: 'miss', reason: 'unreadable cache file', stored: true });
    expect((await bundle()).code).toBe(good.code);

    // Not a header at all.
    await fs.writeFile(file, 'garbage\nmore garbage');
    const replaced = await bundle();
    expect(replaced).toMatchObject({ outcome: 'miss', reason: 'unreadable cache file', stored: true });
    expect(replaced.code).toBe(good.code);
    expect((await bundle()).outcome).toBe('hit');
  });

  it('keeps bundles with other options (workflow interceptors) apart', () => {
    const plain = bundleCacheFile({ cacheDir, options: { workflowsPath } });
    const traced = bundleCacheFile({ cacheDir, options: { workflowsPath, workflowInterceptorModules: ['some-interceptors'] } });
    expect(traced).not.toBe(plain);
  });
});
