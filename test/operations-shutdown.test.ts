// Bounded shutdown of a real `npm start` process (here with an embedded Temporal dev server and the
// test's database), signalled the way systemd and container runtimes do: SIGTERM to the whole process
// group, so npm, tsx and the service each get one and tsx relays its own. With a graphql-ws socket,
// an SSE stream and a run executing, it exits within SHUTDOWN_TIMEOUT_MS, closes the socket with
// 1001, ends the stream, never takes a copy of the signal as a forced exit, and leaves no Temporal
// dev server behind — with the database down too.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { parse } from 'graphql';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { isProcessAlive } from '../src/embedded/pidfile.ts';
import { createTestDatabase, ADMIN_URL, type TestDatabase } from './helpers/database.ts';
import { GraphQLTestClient, waitFor } from './helpers/graphql.ts';
import { freePort } from './helpers/ports.ts';

const PROJECT_ROOT = fileURLToPath(new URL('../', import.meta.url));
const FIXTURES = fileURLToPath(new URL('./fixtures/routines/', import.meta.url));
const TOKEN = 'rr_shutdown_test_token_0123456789';
const SHUTDOWN_TIMEOUT_MS = 4000;

const gql = (source: string) => parse(source) as TypedDocumentNode<Record<string, Record<string, unknown>>, Record<string, unknown>>;

interface Service {
  child: ChildProcess;
  /** The service process itself (npm and tsx run it as a grandchild). */
  pid: number;
  url: string;
  dataDir: string;
  database: TestDatabase;
  output(): string;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

/** `npm start` in a process group of its own, on the test's database and a private Temporal dev server. */
async function startService({ shutdownTimeoutMs = SHUTDOWN_TIMEOUT_MS } = {}): Promise<Service> {
  const database = await createTestDatabase();
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'rr-shutdown-'));
  cleanups.push(async () => {
    await database.drop();
    await rm(dataDir, { recursive: true, force: true });
  });
  const child = spawn('npm', ['start'], {
    cwd: PROJECT_ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      DATABASE_URL: database.url,
      TEMPORAL_ADDRESS: '',
      DATA_DIR: dataDir,
      PORT: '0',
      TEMPORAL_DEV_PORT: String(await freePort()),
      TEMPORAL_UI_PORT: String(await freePort()),
      ROUTINES_DEV_TOKEN: TOKEN,
      ROUTINES_EXTRA_DIRS: FIXTURES,
      SHUTDOWN_TIMEOUT_MS: String(shutdownTimeoutMs),
      WORKER_WARM_PROCESSES: '0',
      LOG_LEVEL: 'info',
    },
  });
  cleanups.push(async () => {
    // A test that failed half-way: nothing of it may outlive the file.
    if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL');
    const temporal = await temporalPid(dataDir);
    if (temporal !== null && isProcessAlive(temporal)) process.kill(-temporal, 'SIGKILL');
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<{ code: number | null; at: number }>((resolve) =>
    child.once('exit', (code) => resolve({ code, at: Date.now() })),
  );
  const ready = await new Promise<{ url: string; pid: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm start did not become ready:\n${output}`)), 90_000);
    child.stdout!.on('data', () => {
      const line = output.split('\n').find((l) => l.startsWith('READY '));
      if (line) {
        clearTimeout(timer);
        resolve(JSON.parse(line.slice('READY '.length)) as { url: string; pid: number });
      }
    });
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`npm start exited with ${code}:\n${output}`));
    });
  });
  return { child, pid: ready.pid, url: ready.url, dataDir, database, output: () => output };
}

/**
 * When the service process has exited. npm dies of the group's SIGTERM at once, so its exit says
 * nothing about the service's.
 */
async function serviceExit(service: Service): Promise<number> {
  await waitFor(async () => !isProcessAlive(service.pid), {
    what: 'the service to exit',
    timeoutMs: SHUTDOWN_TIMEOUT_MS + 10_000,
    intervalMs: 25,
  });
  return Date.now();
}

async function temporalPid(dataDir: string): Promise<number | null> {
  const text = await readFile(path.join(dataDir, 'temporal', 'temporal.pid'), 'utf8').catch(() => null);
  const pid = Number.parseInt(text?.split('\n')[0] ?? '', 10);
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

/** A run of `nap` executing (RUNNING) on the service's worker. */
async function runExecuting(client: GraphQLTestClient): Promise<string> {
  const created = await client.query(
    gql(`mutation($input: CreateInstanceInput!) { createInstance(input: $input) { ... on CreateInstanceSuccess { instance { id } } } }`),
    { input: { routineName: 'lifecycle', name: 'shutdown' } },
  );
  const instanceId = (created.createInstance.instance as { id: string }).id;
  const run = await client.query(
    gql(`mutation($input: CreateRunInput!) { createRun(input: $input) { ... on CreateRunSuccess { run { id } } } }`),
    { input: { instanceId, methodName: 'nap', inputs: { ms: 60_000 } } },
  );
  const runId = (run.createRun.run as { id: string }).id;
  await waitFor(
    async () => {
      const { run: current } = await client.query(gql(`query($id: ID!) { run(id: $id) { status } }`), { id: runId });
      return current.status === 'RUNNING';
    },
    { what: 'the run to be RUNNING', timeoutMs: 30_000 },
  );
  return runId;
}

/** A graphql-ws socket subscribed to the run; resolves with its close code. */
async function openSocket(url: string, runId: string): Promise<{ closed: Promise<number> }> {
  const socket = new WebSocket(url.replace(/^http/, 'ws'), 'graphql-transport-ws');
  const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.once('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${TOKEN}` } })));
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as { type: string };
      if (message.type === 'error') reject(new Error(String(data)));
      if (message.type === 'connection_ack') {
        socket.send(
          JSON.stringify({
            id: '1',
            type: 'subscribe',
            payload: { query: `subscription($id: ID!) { runUpdated(id: $id) { sequence } }`, variables: { id: runId } },
          }),
        );
      }
      if (message.type === 'next') resolve();
    });
  });
  return { closed };
}

/** An SSE stream of the same subscription; resolves when the stream ends. */
async function openEventStream(url: string, runId: string): Promise<{ ended: Promise<string> }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify({ query: `subscription($id: ID!) { runUpdated(id: $id) { sequence } }`, variables: { id: runId } }),
  });
  expect(response.status).toBe(200);
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  while (!text.includes('event: next')) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`stream ended before its first event: ${text}`);
    text += decoder.decode(value);
  }
  const ended = (async () => {
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true as const }));
      if (done) return text;
      text += decoder.decode(value);
    }
  })();
  return { ended };
}

async function blockDatabase(name: string): Promise<void> {
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS false`);
    await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${name}'`);
  } finally {
    await admin.end();
  }
}

describe('shutdown', () => {
  it('SIGTERM to the process group, a run executing: sockets closed with 1001, SSE ended, stopped in order within the bound, Temporal stopped', async () => {
    const service = await startService();
    const client = new GraphQLTestClient({ url: service.url, token: TOKEN });
    const runId = await runExecuting(client);
    const { closed: socketClosed } = await openSocket(service.url, runId);
    const { ended: streamEnded } = await openEventStream(service.url, runId);
    const temporal = await temporalPid(service.dataDir);
    expect(temporal).not.toBeNull();

    const signalledAt = Date.now();
    process.kill(-service.child.pid!, 'SIGTERM');
    const [at, closeCode, streamText] = await Promise.all([serviceExit(service), socketClosed, streamEnded]);

    expect(closeCode).toBe(1001);
    expect(streamText).toContain('event: complete');
    expect(at - signalledAt).toBeLessThan(SHUTDOWN_TIMEOUT_MS + 2000);
    expect(service.output()).not.toContain('again: exiting');
    // It stopped in order, not by its deadline.
    expect(service.output()).not.toContain('shutdown did not finish');
    await waitFor(async () => !isProcessAlive(temporal!), { what: 'the Temporal dev server to be gone', timeoutMs: 3000 });
  }, 120_000);

  it('with the database down, still exits within the bound and stops the Temporal dev server', async () => {
    const service = await startService();
    const client = new GraphQLTestClient({ url: service.url, token: TOKEN });
    const runId = await runExecuting(client);
    const { closed: socketClosed } = await openSocket(service.url, runId);
    const temporal = await temporalPid(service.dataDir);
    await blockDatabase(service.database.name);

    const signalledAt = Date.now();
    process.kill(-service.child.pid!, 'SIGTERM');
    const [at, closeCode] = await Promise.all([serviceExit(service), socketClosed]);

    expect(at - signalledAt, service.output()).toBeLessThan(SHUTDOWN_TIMEOUT_MS + 2000);
    expect(closeCode).toBe(1001);
    expect(service.output()).not.toContain('again: exiting');
    await waitFor(async () => !isProcessAlive(temporal!), { what: 'the Temporal dev server to be gone', timeoutMs: 3000 });
  }, 120_000);

  it('past its deadline it kills the Temporal dev server it started and names what did not stop', async () => {
    // 100 ms: the worker and Temporal cannot stop that fast, so the deadline's path is taken.
    const service = await startService({ shutdownTimeoutMs: 100 });
    const temporal = await temporalPid(service.dataDir);
    expect(temporal).not.toBeNull();

    const signalledAt = Date.now();
    process.kill(-service.child.pid!, 'SIGTERM');
    const at = await serviceExit(service);

    expect(at - signalledAt, service.output()).toBeLessThan(2000);
    expect(service.output()).toMatch(/shutdown did not finish within 100 ms: exiting without waiting for [^\n]*embedded services/);
    expect(service.output()).toContain(`killed temporal dev server (PID ${temporal})`);
    await waitFor(async () => !isProcessAlive(temporal!), { what: 'the Temporal dev server to be gone', timeoutMs: 3000 });
  }, 120_000);
});
