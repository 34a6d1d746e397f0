// Starts one real Temporal dev server (the `temporal` CLI, in memory, headless) for the run.
// Tests that need PostgreSQL create their own database on TEST_DATABASE_URL's server.
import type { TestProject } from 'vitest/node';
import { startTestTemporalServer, type TestTemporalServer } from './temporal-server.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
  }
}

let server: TestTemporalServer | null = null;

export async function setup(project: TestProject) {
  if (process.env.TEST_TEMPORAL_ADDRESS) {
    project.provide('temporalAddress', process.env.TEST_TEMPORAL_ADDRESS);
    return;
  }
  server = await startTestTemporalServer();
  project.provide('temporalAddress', server.address);
}

export async function teardown() {
  await server?.stop();
}
