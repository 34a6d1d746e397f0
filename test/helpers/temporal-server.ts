// A throwaway Temporal dev server (the `temporal` CLI, in memory, headless) on a free port, for the
// test run's global setup and the benchmarks.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Connection } from '@temporalio/client';
import { findTemporalCli, temporalCliMissingMessage } from '../../src/embedded/temporal.ts';
import { freePort } from './ports.ts';

export interface TestTemporalServer {
  address: string;
  stop(): Promise<void>;
}

export async function startTestTemporalServer(): Promise<TestTemporalServer> {
  const cli = findTemporalCli({ env: process.env, projectRoot: fileURLToPath(new URL('../../', import.meta.url)) });
  if (!cli) throw new Error(temporalCliMissingMessage());
  const port = await freePort();
  const child = spawn(
    cli.path,
    ['server', 'start-dev', '--headless', '--ip', '127.0.0.1', '--port', String(port), '--log-level', 'error'],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const address = `127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
    if (child.exitCode === null) child.kill('SIGKILL');
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      await connection.workflowService.describeNamespace({ namespace: 'default' });
      await connection.close();
      return { address, stop };
    } catch (error) {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`Temporal dev server did not start: ${(error as Error).message}`, { cause: error });
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}
