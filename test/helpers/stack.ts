// The whole service in the test process, on real parts: a fresh PostgreSQL database, the run's
// Temporal dev server (own task queue per stack), the worker, and the API on a free port.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';
import { createToken } from '../../src/auth/tokens.ts';
import { loadEnv } from '../../src/env.ts';
import { openCore, startApi, startWorker, type Core, type RunningApi, type RunningWorker } from '../../src/runtime.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';
import { GraphQLTestClient } from './graphql.ts';

export interface TestStack {
  core: Core;
  api: RunningApi;
  worker: RunningWorker | null;
  database: TestDatabase;
  dataDir: string;
  url: string;
  /** An admin user's client. */
  admin: GraphQLTestClient;
  /** A client for a new user with a fresh token. */
  clientFor(userName: string): Promise<GraphQLTestClient>;
  stop(): Promise<void>;
}

export async function startTestStack({
  withWorker = true,
  env: extraEnv = {},
  temporalAddress = inject('temporalAddress'),
}: {
  withWorker?: boolean;
  env?: Record<string, string>;
  /** Another Temporal server than the run's dev server (the time-skipping test server). */
  temporalAddress?: string;
} = {}): Promise<TestStack> {
  const database = await createTestDatabase();
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'rr-stack-'));
  const env = loadEnv({
    DATA_DIR: dataDir,
    DATABASE_URL: database.url,
    TEMPORAL_ADDRESS: temporalAddress,
    TEMPORAL_TASK_QUEUE: `test-${randomBytes(4).toString('hex')}`,
    LOG_LEVEL: 'warn',
    // A test file makes more mutations a second with one token than an integration should; the
    // limit's own tests (test/access-audit.test.ts) set it.
    MUTATION_RATE_LIMIT_PER_MINUTE: '0',
    ...extraEnv,
  });
  const log = () => {};
  const core = await openCore({ env, databaseUrl: database.url, log });
  const worker = withWorker ? await startWorker({ core, temporalAddress }) : null;
  const api = await startApi({ core, temporalAddress, port: 0, host: '127.0.0.1', log });
  const clientFor = async (userName: string, admin = false) => {
    const { token } = await createToken({ db: core.db, userName, admin });
    return new GraphQLTestClient({ url: api.url, token });
  };
  return {
    core,
    api,
    worker,
    database,
    dataDir,
    url: api.url,
    admin: await clientFor('admin', true),
    clientFor: (userName) => clientFor(userName),
    async stop() {
      await api.stop();
      await worker?.stop();
      await core.close();
      await database.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
