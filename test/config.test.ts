// A bad environment stops start-up before anything happens: `tsx src/main.ts api` exits 1 with
// the message naming the variable and what it accepts, having touched no database, folder or port.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../src/paths.ts';

const parents: string[] = [];
afterAll(async () => {
  await Promise.all(parents.map((dir) => rm(dir, { recursive: true, force: true })));
});

function runApi(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const started = performance.now();
  return new Promise((resolve) => {
    const clean = Object.fromEntries(
      Object.entries(process.env).filter(([key]) => !/^(OTEL_|DATABASE_URL|TEMPORAL_ADDRESS|LOG_LEVEL|PORT)/.test(key)),
    );
    const child = execFile(
      process.execPath,
      ['--import', 'tsx', 'src/main.ts', 'api'],
      { cwd: PROJECT_ROOT, env: { ...clean, ...env }, timeout: 30_000 },
      (_error, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr, ms: performance.now() - started }),
    );
  });
}

describe('start-up with a bad environment', () => {
  it.each([
    [{ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, 'OTEL_EXPORTER_OTLP_PROTOCOL: must be one of http/protobuf, http/json'],
    [{ PORT: '99999' }, 'PORT: must be a whole number from 0 to 65535'],
  ])('%o: exits 1 naming it, before doing anything', async (bad, message) => {
    const parent = await mkdtemp(path.join(os.tmpdir(), 'rr-config-'));
    parents.push(parent);
    const dataDir = path.join(parent, 'data');
    const result = await runApi({
      // Reachable-looking services: a start that got past the environment would try them (and DATA_DIR).
      DATABASE_URL: 'postgresql://nobody@127.0.0.1:1/none',
      TEMPORAL_ADDRESS: '127.0.0.1:1',
      DATA_DIR: dataDir,
      ...bad,
    });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    // Not a terminal: the fatal JSON line carries the whole message.
    const lines = result.stderr
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { level: string; msg: string });
    expect(lines).toEqual([expect.objectContaining({ level: 'fatal' })]);
    expect(lines[0].msg).toBe(`Invalid environment:\n  ${message}`);
    expect(existsSync(dataDir)).toBe(false);
  });
});
