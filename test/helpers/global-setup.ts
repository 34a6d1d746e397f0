// Starts one real Temporal dev server (the `temporal` CLI, in memory, headless) for the run.
// Tests that need PostgreSQL create their own database on TEST_DATABASE_URL's server.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { Connection } from '@temporalio/client';
import { findTemporalCli, temporalCliMissingMessage } from '../../src/embedded/temporal.ts';
import { freePort } from './ports.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
  }
}

let server: ChildProcess | null = null;

export async function setup(project: TestProject) {
  if (process.env.TEST_TEMPORAL_ADDRESS) {
    project.provide('temporalAddress', process.env.TEST_TEMPORAL_ADDRESS);
    return;
  }
  const cli = findTemporalCli({ env: process.env, projectRoot: fileURLToPath(new URL('../../', import.meta.url)) });
  if (!cli) throw new Error(temporalCliMissingMessage());
  const port = await freePort();
  server = spawn(
    cli.path,
    ['server', 'start-dev', '--headless', '--ip', '127.0.0.1', '--port', String(port), '--log-level', 'error'],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const address = `127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      await connection.workflowService.describeNamespace({ namespace: 'default' });
      await connection.close();
      break;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`Temporal dev server did not start: ${(error as Error).message}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  project.provide('temporalAddress', address);
}

export async function teardown() {
  if (!server) return;
  const exited = new Promise((resolve) => server!.once('exit', resolve));
  server.kill('SIGTERM');
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
  if (server.exitCode === null) server.kill('SIGKILL');
}
