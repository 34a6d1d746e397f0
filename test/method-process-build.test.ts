// From the TypeScript sources (npm start, these tests), method processes run on plain node from a
// transpiled copy of the method process and the routines (src/execution/method-process-build.ts),
// not through tsx; an edit to a routine reaches the next method process, as it did under tsx.
import { readFileSync } from 'node:fs';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { prepareTranspiledMethodProcess, transpiledMethodProcess } from '../src/execution/method-process-build.ts';
import { createMethodProcessPool, executeMethod, spawnMethodProcess } from '../src/execution/sandbox.ts';
import type { MethodExecutionRequest } from '../src/execution/types.ts';

const PROJECT_ROOT = fileURLToPath(new URL('../', import.meta.url));
let routineDir: string;
let storageRoot: string;

beforeAll(async () => {
  // Inside the project (a sibling of dist/, ignored by git): the build mirrors project paths.
  routineDir = await fs.mkdtemp(path.join(PROJECT_ROOT, 'dist-test-routines-'));
  storageRoot = await fs.mkdtemp(path.join(os.tmpdir(), 'method-process-build-'));
  await writeRoutine('first');
});

afterAll(async () => {
  await fs.rm(routineDir, { recursive: true, force: true });
  await fs.rm(storageRoot, { recursive: true, force: true });
});

async function writeRoutine(answer: string) {
  const sdk = path.relative(routineDir, path.join(PROJECT_ROOT, 'src/routines/sdk.ts'));
  await fs.writeFile(
    path.join(routineDir, 'edited.ts'),
    `import { z } from 'zod';
import { defineMethod, defineRoutine } from '${sdk}';
const answer: string = ${JSON.stringify(answer)};
export default defineRoutine({
  name: 'edited',
  version: '0.0.1',
  stateful: false,
  methods: {
    answer: defineMethod({ kind: 'STANDARD', input: z.object({}).strict(), run: () => ({ answer, execArgv: process.execArgv.join(' ') }) }),
  },
});
`,
  );
}

function runAnswer(pool: ReturnType<typeof createMethodProcessPool> | null = null) {
  const request: MethodExecutionRequest = {
    runId: 'build-1',
    instanceId: 'inst-1',
    routineName: 'edited',
    routineVersion: '0.0.1',
    methodName: 'answer',
    inputs: {},
    instanceConfig: null,
    attempt: 1,
    memoryMb: 128,
    timeoutMs: 60_000,
    storeArtifacts: false,
    includePreviews: false,
    includeStatistics: false,
    storageRoot,
  };
  return executeMethod({ request, extraRoutineDirs: [routineDir], pool, hooks: { onProgress() {}, onLog() {}, async onArtifact() {} } });
}

describe('method processes from the sources', () => {
  it('run on plain node once the build is ready', async () => {
    await prepareTranspiledMethodProcess([routineDir]);
    const transpiled = transpiledMethodProcess([routineDir]);
    expect(transpiled?.entry).toMatch(/dist-methods-v2-[0-9a-f]+\/src\/execution\/method-process\.js$/);
    const { child, ready } = spawnMethodProcess({ heapMb: 128, extraRoutineDirs: [routineDir] });
    await ready;
    const commandLine = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').split('\0');
    child.kill('SIGKILL');
    expect(commandLine.join(' ')).not.toMatch(/tsx/);
    expect(commandLine).toContain(transpiled!.entry);

    const result = await runAnswer();
    expect(result).toMatchObject({ status: 'COMPLETED', outputs: { answer: 'first' } });
    if (result.status === 'COMPLETED') expect(result.outputs.execArgv).not.toMatch(/tsx/);
  });

  it('never runs a routine stale: an edited routine is run as edited by the next process', async () => {
    await prepareTranspiledMethodProcess([routineDir]);
    expect(await runAnswer()).toMatchObject({ status: 'COMPLETED', outputs: { answer: 'first' } });
    await writeRoutine('second, longer than the first');
    expect(await runAnswer()).toMatchObject({ status: 'COMPLETED', outputs: { answer: 'second, longer than the first' } });
    // And once transpiled again, on plain node.
    await prepareTranspiledMethodProcess([routineDir]);
    const result = await runAnswer();
    expect(result).toMatchObject({ status: 'COMPLETED', outputs: { answer: 'second, longer than the first' } });
    if (result.status === 'COMPLETED') expect(result.outputs.execArgv).not.toMatch(/tsx/);
  });

  it('never runs a routine stale from a pool: reused and warm processes of an outdated build are retired', async () => {
    await writeRoutine('pooled, before');
    await prepareTranspiledMethodProcess([routineDir]);
    const pool = createMethodProcessPool({ size: 2, maxRunsPerProcess: 100 });
    try {
      // Both pooled processes (the one that served and the warm one) were started on this build.
      const before = await runAnswer(pool);
      expect(before).toMatchObject({ status: 'COMPLETED', outputs: { answer: 'pooled, before' } });
      if (before.status === 'COMPLETED') expect(before.outputs.execArgv).not.toMatch(/tsx/);
      expect(pool.idleCount).toBe(2);
      await writeRoutine('pooled, after the edit');
      expect(await runAnswer(pool)).toMatchObject({ status: 'COMPLETED', outputs: { answer: 'pooled, after the edit' } });
      await prepareTranspiledMethodProcess([routineDir]);
      const rebuilt = await runAnswer(pool);
      expect(rebuilt).toMatchObject({ status: 'COMPLETED', outputs: { answer: 'pooled, after the edit' } });
      if (rebuilt.status === 'COMPLETED') expect(rebuilt.outputs.execArgv).not.toMatch(/tsx/);
    } finally {
      pool.close();
      await writeRoutine('first');
    }
  });

  it('is kept across starts: a new process with unchanged sources runs its first method process on plain node at once', async () => {
    await prepareTranspiledMethodProcess([routineDir]);
    const built = transpiledMethodProcess([routineDir]);
    expect(built).not.toBeNull();
    // A new start: the module's state is gone, the build folder is not.
    vi.resetModules();
    const restarted = await import('../src/execution/method-process-build.ts');
    expect(restarted.transpiledMethodProcess([routineDir])).toEqual(built);

    // An added routine makes that build stale for the folder: not used, and a new one is made.
    await fs.writeFile(path.join(routineDir, 'added.ts'), 'export default {};\n');
    try {
      vi.resetModules();
      const afterAdd = await import('../src/execution/method-process-build.ts');
      expect(afterAdd.transpiledMethodProcess([routineDir])).toBeNull();
      await afterAdd.prepareTranspiledMethodProcess([routineDir]);
      const rebuilt = afterAdd.transpiledMethodProcess([routineDir]);
      expect(rebuilt?.entry).not.toBe(built!.entry);
      expect(readFileSync(path.join(path.dirname(rebuilt!.extraRoutineDirs[0]), path.basename(routineDir), 'added.js'), 'utf8')).toMatch(
        /export default/,
      );
    } finally {
      await fs.rm(path.join(routineDir, 'added.ts'));
    }
    // Removed again: the build holding it is stale (the removed routine is not loadable from it).
    vi.resetModules();
    const afterRemove = await import('../src/execution/method-process-build.ts');
    const current = afterRemove.transpiledMethodProcess([routineDir]);
    // The first build (without it) is fresh again, and is the one found.
    expect(current).toEqual(built);
  });

  it('two processes building the same sources at once both end with the same published build', async () => {
    await writeRoutine('concurrent');
    vi.resetModules();
    const one = await import('../src/execution/method-process-build.ts');
    vi.resetModules();
    const two = await import('../src/execution/method-process-build.ts');
    await Promise.all([one.prepareTranspiledMethodProcess([routineDir]), two.prepareTranspiledMethodProcess([routineDir])]);
    const [a, b] = [one.transpiledMethodProcess([routineDir]), two.transpiledMethodProcess([routineDir])];
    expect(a).not.toBeNull();
    expect(a).toEqual(b);
    expect(await fs.readdir(PROJECT_ROOT)).not.toContainEqual(expect.stringMatching(new RegExp(`^dist-methods-tmp-${process.pid}-`)));
    const result = await runAnswer();
    expect(result).toMatchObject({ status: 'COMPLETED', outputs: { answer: 'concurrent' } });
  });

  it('falls back to tsx for a routine folder outside the project', () => {
    expect(transpiledMethodProcess([os.tmpdir()])).toBeNull();
  });
});
