import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Connection } from '@temporalio/client';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isProcessAlive, readPidfile, stopProcess } from '../src/embedded/pidfile.ts';
import { DataDirInUseError, startEmbeddedServices, type EmbeddedServices } from '../src/embedded/supervisor.ts';
import { findTemporalCli } from '../src/embedded/temporal.ts';
import { loadEnv } from '../src/env.ts';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const fixture = path.join(projectRoot, 'test/fixtures/start-embedded.ts');

let tmpDir: string;

beforeAll(async () => {
  tmpDir = await fs.mkdtemp(path.join(os.tmpdir(), 'routines-embedded-'));
  // PostgreSQL runs as the `postgres` user when we are root, and must be able to enter this folder.
  await fs.chmod(tmpDir, 0o755);
});

afterAll(async () => {
  if (tmpDir) await fs.rm(tmpDir, { recursive: true, force: true });
});

describe('embedded services after a SIGKILLed supervisor', () => {
  let dataDir: string;
  let child: ChildProcess | undefined;
  let services: EmbeddedServices | undefined;
  const pidfiles = () => ({
    postgres: path.join(dataDir, 'postgres', 'postmaster.pid'),
    temporal: path.join(dataDir, 'temporal', 'temporal.pid'),
  });
  const seenPids: number[] = [];

  beforeAll(async () => {
    dataDir = path.join(tmpDir, 'data');
  });

  afterAll(async () => {
    // Whatever an early failure left running must not outlive the test run.
    child?.kill('SIGKILL');
    await services?.stop().catch(() => undefined);
    for (const file of Object.values(pidfiles())) {
      const pid = await readPidfile({ file });
      if (pid !== null) seenPids.push(pid);
    }
    await Promise.all(seenPids.map((pid) => stopProcess({ pid, signal: 'SIGINT', timeoutMs: 5_000 }).catch(() => undefined)));
  });

  it('stops the orphans, keeps the data, and leaves nothing behind after stop()', async () => {
    const [pgPort, temporalPort, uiPort] = await freePorts(3);

    // 1. A first supervisor starts both services on a fresh DATA_DIR and writes a row.
    child = spawn(process.execPath, ['--import', 'tsx', fixture, dataDir, String(pgPort), String(temporalPort), String(uiPort)], {
      cwd: projectRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const { ready, output } = await waitForReadyLine({ child, timeoutMs: 60_000 });
    console.log(`first run (cold): ${JSON.stringify(ready.phases)}\n  ${output.trim().split('\n').slice(0, -1).join('\n  ')}`);
    expect(ready.databaseUrl).toBe(`postgresql://postgres:postgres@127.0.0.1:${pgPort}/routines`);
    expect(ready.temporalAddress).toBe(`127.0.0.1:${temporalPort}`);

    // 2. While it lives, a second supervisor on the same DATA_DIR is refused and touches nothing.
    const env = loadEnv({
      DATA_DIR: dataDir,
      EMBEDDED_PG_PORT: String(pgPort),
      TEMPORAL_DEV_PORT: String(temporalPort),
      TEMPORAL_UI_PORT: String(uiPort),
    });
    const logs: string[] = [];
    const start = () =>
      startEmbeddedServices({ env, projectRoot, log: (message) => logs.push(message), needPostgres: true, needTemporal: true });
    await expect(start()).rejects.toThrow(DataDirInUseError);
    const firstPostgres = await readPidfile({ file: pidfiles().postgres });
    expect(firstPostgres !== null && isProcessAlive(firstPostgres)).toBe(true);

    // 3. It dies without any chance to clean up.
    const childExit = new Promise((resolve) => child!.once('exit', resolve));
    child.kill('SIGKILL');
    await childExit;

    // 4. Both servers it started are still running, holding the data folder and the ports.
    const orphanPostgres = await readPidfile({ file: pidfiles().postgres });
    const orphanTemporal = await readPidfile({ file: pidfiles().temporal });
    expect(orphanPostgres).not.toBeNull();
    expect(orphanTemporal).not.toBeNull();
    seenPids.push(orphanPostgres!, orphanTemporal!);
    expect(isProcessAlive(orphanPostgres!)).toBe(true);
    expect(isProcessAlive(orphanTemporal!)).toBe(true);

    // 5. Now a second supervisor on the same DATA_DIR and ports starts.
    logs.length = 0;
    const started = Date.now();
    services = await start();
    console.log(
      `second run (warm, after stopping orphans) in ${Date.now() - started} ms: ${JSON.stringify(services.phases)}\n  ${logs.join('\n  ')}`,
    );
    expect(Object.keys(services.phases).sort()).toEqual(['postgres', 'temporal']);
    expect(services.temporalUiUrl).toBe(`http://127.0.0.1:${uiPort}`);
    expect(isProcessAlive(orphanPostgres!)).toBe(false);
    expect(isProcessAlive(orphanTemporal!)).toBe(false);

    // 6. The row written before the kill is still there.
    const client = new pg.Client({ connectionString: services.databaseUrl });
    await client.connect();
    try {
      expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      expect((await client.query('SELECT name FROM survivors')).rows).toEqual([{ name: 'written before the kill' }]);
    } finally {
      await client.end();
    }

    // 7. Temporal answers for the namespace.
    const connection = await Connection.connect({ address: services.temporalAddress! });
    try {
      const described = await connection.workflowService.describeNamespace({ namespace: env.TEMPORAL_NAMESPACE });
      expect(described.namespaceInfo?.name).toBe('default');
    } finally {
      await connection.close();
    }

    // 8. stop() leaves no server and no pidfile behind, and a second stop() is harmless.
    const postgresPid = await readPidfile({ file: pidfiles().postgres });
    const temporalPid = await readPidfile({ file: pidfiles().temporal });
    expect(postgresPid).not.toBe(orphanPostgres);
    expect(temporalPid).not.toBe(orphanTemporal);
    seenPids.push(postgresPid!, temporalPid!);
    const stopStarted = Date.now();
    await services.stop();
    console.log(`stop() in ${Date.now() - stopStarted} ms`);
    await services.stop();
    for (const pid of [postgresPid!, temporalPid!, orphanPostgres!, orphanTemporal!]) expect(isProcessAlive(pid)).toBe(false);
    expect(existsSync(pidfiles().postgres)).toBe(false);
    expect(existsSync(pidfiles().temporal)).toBe(false);
    expect(existsSync(path.join(dataDir, 'supervisor.pid'))).toBe(false);
  });
});

describe('findTemporalCli', () => {
  it('prefers TEMPORAL_CLI_PATH, then PATH, then .tools/bin/temporal', async () => {
    const root = path.join(tmpDir, 'cli');
    const configured = path.join(root, 'custom', 'my-temporal');
    const onPath = path.join(root, 'path-dir', 'temporal');
    const tools = path.join(root, 'project', '.tools', 'bin', 'temporal');
    for (const file of [configured, onPath, tools]) {
      await fs.mkdir(path.dirname(file), { recursive: true });
      await fs.writeFile(file, '#!/bin/sh\necho temporal version test\n', { mode: 0o755 });
    }
    const projectRoot = path.join(root, 'project');
    const searchPath = path.dirname(onPath);

    expect(findTemporalCli({ env: { TEMPORAL_CLI_PATH: configured }, projectRoot, searchPath })).toEqual({
      path: configured,
      source: 'TEMPORAL_CLI_PATH',
    });
    expect(findTemporalCli({ env: {}, projectRoot, searchPath })).toEqual({ path: onPath, source: 'PATH' });
    expect(findTemporalCli({ env: {}, projectRoot, searchPath: '' })).toEqual({ path: tools, source: 'tools' });
    expect(findTemporalCli({ env: {}, projectRoot: root, searchPath: '' })).toBeNull();
  });

  it('refuses a TEMPORAL_CLI_PATH that does not exist instead of using another CLI', () => {
    expect(() => findTemporalCli({ env: { TEMPORAL_CLI_PATH: path.join(tmpDir, 'nope') }, projectRoot, searchPath: '' })).toThrow(
      /TEMPORAL_CLI_PATH/,
    );
  });
});

async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<net.Server>((resolve) => {
          const server = net.createServer();
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => (server.address() as net.AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

type ReadyLine = { databaseUrl: string; temporalAddress: string; phases: Record<string, number> };

function waitForReadyLine({ child, timeoutMs }: { child: ChildProcess; timeoutMs: number }): Promise<{ ready: ReadyLine; output: string }> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`no READY line after ${timeoutMs} ms:\n${output}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const line = output.split('\n').find((candidate) => candidate.startsWith('READY '));
      if (line) {
        clearTimeout(timer);
        resolve({ ready: JSON.parse(line.slice('READY '.length)) as ReadyLine, output });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`fixture exited (${signal ?? code}) before READY:\n${output}`));
    });
  });
}
