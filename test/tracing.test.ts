// Traces (src/observability/tracing.ts): with OTEL_EXPORTER_OTLP_ENDPOINT set, one run's spans,
// from the createRun request through the workflow start, the workflow and its activity to the
// method process, share one trace id and name the run, as an OTLP/HTTP collector receives them.
// Unset, nothing is posted and none of the SDK is loaded. Also the request id and the run's
// fields on the API's and worker's JSON log lines.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createToken } from '../src/auth/tokens.ts';
import { createDb } from '../src/db/client.ts';
import { migrate } from '../src/db/migrate.ts';
import { PROJECT_ROOT } from '../src/paths.ts';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { freePort } from './helpers/ports.ts';
import { startServiceProcess, type ServiceProcess } from './helpers/processes.ts';

interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  service: string;
  attributes: Record<string, unknown>;
}

interface Post {
  path: string;
  contentType: string | undefined;
  body: Buffer;
}

/** A collector: keeps every POST (OTLP/HTTP: /v1/traces) and answers 200. */
async function startReceiver(): Promise<{ url: string; posts: Post[]; server: Server }> {
  const posts: Post[] = [];
  const server = createServer((request: IncomingMessage, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      posts.push({ path: request.url ?? '', contentType: request.headers['content-type'], body: Buffer.concat(chunks) });
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, posts, server };
}

type AnyValue = { stringValue?: string; intValue?: number | string; boolValue?: boolean; doubleValue?: number };

function valueOf(value: AnyValue): unknown {
  return value.stringValue ?? value.intValue ?? value.boolValue ?? value.doubleValue;
}

/** The spans of OTLP/HTTP JSON posts (ids are hex strings in that encoding). */
function spansOf(posts: Post[]): ReceivedSpan[] {
  const spans: ReceivedSpan[] = [];
  for (const post of posts.filter((p) => p.path === '/v1/traces' && p.contentType?.includes('json'))) {
    const body = JSON.parse(post.body.toString('utf8')) as {
      resourceSpans: Array<{
        resource: { attributes: Array<{ key: string; value: AnyValue }> };
        scopeSpans: Array<{
          spans: Array<{
            traceId: string;
            spanId: string;
            parentSpanId?: string;
            name: string;
            attributes?: Array<{ key: string; value: AnyValue }>;
          }>;
        }>;
      }>;
    };
    for (const resourceSpans of body.resourceSpans) {
      const service = String(valueOf(resourceSpans.resource.attributes.find((a) => a.key === 'service.name')!.value));
      for (const scope of resourceSpans.scopeSpans) {
        for (const span of scope.spans) {
          spans.push({
            traceId: span.traceId,
            spanId: span.spanId,
            parentSpanId: span.parentSpanId || undefined,
            name: span.name,
            service,
            attributes: Object.fromEntries((span.attributes ?? []).map((a) => [a.key, valueOf(a.value)])),
          });
        }
      }
    }
  }
  return spans;
}

/** What the three documents below answer. */
interface Answer {
  createInstance?: { instance: { id: string } };
  createRun?: { run: { id: string } };
  run?: { status: string };
}

async function graphqlPost(
  url: string,
  token: string,
  query: string,
  variables: Record<string, unknown>,
  headers: Record<string, string> = {},
) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: Answer; errors?: unknown[] };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return { data: body.data!, headers: response.headers };
}

function jsonLines(output: string): Array<Record<string, unknown>> {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

const processes: ServiceProcess[] = [];
const databases: TestDatabase[] = [];
const dataDirs: string[] = [];
let receiver: Awaited<ReturnType<typeof startReceiver>>;

beforeAll(async () => {
  receiver = await startReceiver();
});

afterAll(async () => {
  await Promise.all(processes.map((p) => p.kill()));
  await Promise.all(databases.map((database) => database.drop()));
  await Promise.all(dataDirs.map((dir) => rm(dir, { recursive: true, force: true })));
  receiver?.server.close();
});

/** A worker (unless `worker: false`) and an API process on a new database, with `extraEnv`. */
async function startDeployment(extraEnv: Record<string, string>, { worker: withWorker = true }: { worker?: boolean } = {}) {
  const database = await createTestDatabase();
  databases.push(database);
  await migrate({ url: database.url });
  const db = createDb({ url: database.url });
  const { token } = await createToken({ db, userName: 'tracer' });
  await db.$disconnect();
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'rr-trace-'));
  dataDirs.push(dataDir);
  await chmod(dataDir, 0o755);
  const port = await freePort();
  const env = {
    DATABASE_URL: database.url,
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    TEMPORAL_TASK_QUEUE: `trace-${randomBytes(4).toString('hex')}`,
    DATA_DIR: dataDir,
    WORKER_WARM_PROCESSES: '1',
    LOG_LEVEL: 'debug',
    ...extraEnv,
  };
  const [api, worker] = await Promise.all([
    startServiceProcess({ role: 'api', env: { ...env, PORT: String(port) } }),
    withWorker ? startServiceProcess({ role: 'worker', env }) : null,
  ]);
  processes.push(api, ...(worker ? [worker] : []));
  return { token, worker, api, url: `http://127.0.0.1:${port}/graphql` };
}

const CREATE_INSTANCE = `mutation TraceInstance($input: CreateInstanceInput!) {
  createInstance(input: $input) { __typename ... on CreateInstanceSuccess { instance { id } } } }`;
const CREATE_RUN = `mutation TraceRun($input: CreateRunInput!) {
  createRun(input: $input) { __typename ... on CreateRunSuccess { run { id } } } }`;
const RUN_STATUS = `query TraceRunStatus($id: ID!) { run(id: $id) { status } }`;

/** Creates a small montecarlo run (sending `headers`) and waits until it COMPLETED; returns its global id and the response headers. */
async function completedRun({ url, token, headers }: { url: string; token: string; headers?: Record<string, string> }) {
  const instance = await graphqlPost(url, token, CREATE_INSTANCE, {
    input: { routineName: 'montecarlo', name: `Pi ${randomBytes(3).toString('hex')}` },
  });
  const created = await graphqlPost(
    url,
    token,
    CREATE_RUN,
    {
      input: {
        instanceId: instance.data.createInstance!.instance.id,
        methodName: 'estimatePi',
        inputs: { samples: 10_000, batches: 2, seed: 7 },
      },
    },
    headers,
  );
  const runId = created.data.createRun!.run.id;
  const deadline = Date.now() + 45_000;
  for (;;) {
    const { data } = await graphqlPost(url, token, RUN_STATUS, { id: runId });
    const status = data.run?.status;
    if (status === 'COMPLETED') break;
    if (['FAILED', 'CANCELLED'].includes(status ?? '') || Date.now() > deadline) throw new Error(`run ended ${status}`);
    await delay(200);
  }
  return { runId, headers: created.headers };
}

/** The database id inside a global id (base64 of `RoutineRun:<id>`). */
function databaseIdOf(globalId: string): string {
  const decoded = Buffer.from(globalId, 'base64').toString('utf8');
  return decoded.slice(decoded.indexOf(':') + 1);
}

describe('traces', () => {
  it('one run: the createRun request, workflow start, workflow, activity and method process spans share one trace id', async () => {
    const { token, url, api, worker } = await startDeployment({
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    });
    // The trace a client started: the request's span continues it.
    const clientTraceId = randomBytes(16).toString('hex');
    const clientSpanId = randomBytes(8).toString('hex');
    const { runId, headers } = await completedRun({
      url,
      token,
      headers: { traceparent: `00-${clientTraceId}-${clientSpanId}-01`, 'x-request-id': 'trace-test-request-1' },
    });
    const runDbId = databaseIdOf(runId);

    // The request id is echoed, and carried by the API's line about that operation.
    expect(headers.get('x-request-id')).toBe('trace-test-request-1');
    expect(jsonLines(api.output())).toContainEqual(
      expect.objectContaining({ requestId: 'trace-test-request-1', operationType: 'mutation', operationName: 'TraceRun' }),
    );
    // The worker's activity lines name the run, its workflow and the attempt.
    expect(jsonLines(worker!.output())).toContainEqual(
      expect.objectContaining({
        runId: runDbId,
        workflowId: `run-${runDbId}`,
        attempt: 1,
        msg: expect.stringContaining('ended COMPLETED'),
      }),
    );

    // Batches are exported every 5 s (BatchSpanProcessor's default); a stop flushes the rest.
    await Promise.all([api.stop(), worker!.stop()]);
    const spans = spansOf(receiver.posts).filter((span) => span.traceId === clientTraceId);
    const byName = (name: string) => {
      const found = spans.find((span) => span.name === name);
      if (!found) throw new Error(`no span ${name} among ${spans.map((span) => span.name).join(', ')}`);
      return found;
    };
    const request = byName('mutation TraceRun');
    const launch = byName('run.launch');
    const start = byName('StartWorkflow:runWorkflow');
    const workflow = byName('RunWorkflow:runWorkflow');
    const activity = byName('RunActivity:executeRun');
    const method = byName('montecarlo.estimatePi');

    // Each is the child of the one before: one trace, from the client's span down to the method.
    expect(request.parentSpanId).toBe(clientSpanId);
    expect(launch.parentSpanId).toBe(request.spanId);
    expect(start.parentSpanId).toBe(launch.spanId);
    expect(workflow.parentSpanId).toBe(start.spanId);
    expect(spans.find((span) => span.spanId === activity.parentSpanId)?.name).toBe('StartActivity:executeRun');
    expect(method.parentSpanId).toBe(activity.spanId);

    expect(request).toMatchObject({
      service: 'routine-runs-api',
      attributes: { 'graphql.operation.type': 'mutation', 'graphql.operation.name': 'TraceRun', 'http.request_id': 'trace-test-request-1' },
    });
    const runAttributes = { 'routine_runs.run_id': runDbId, 'routine.name': 'montecarlo', 'method.name': 'estimatePi' };
    expect(launch.attributes).toMatchObject(runAttributes);
    expect(activity).toMatchObject({ service: 'routine-runs-worker', attributes: runAttributes });
    expect(method).toMatchObject({ service: 'routine-runs-method', attributes: { ...runAttributes, 'run.outcome': 'COMPLETED' } });
    expect(workflow.attributes).toMatchObject({ workflowId: `run-${runDbId}`, workflowType: 'runWorkflow' });
    console.log(
      `trace ${clientTraceId}\n${spans
        .map((span) => `  ${span.name} (${span.service}) span ${span.spanId} parent ${span.parentSpanId ?? '-'}`)
        .join('\n')}`,
    );
  }, 80_000);

  it('with no OTLP endpoint: the API serves requests and posts nothing', async () => {
    receiver.posts.length = 0;
    // The API alone: a worker's part (the activity, the method process) is the probe's below.
    const { token, url, api } = await startDeployment({}, { worker: false });
    const instance = await graphqlPost(url, token, CREATE_INSTANCE, { input: { routineName: 'montecarlo', name: 'Untraced' } });
    expect(instance.data.createInstance?.instance.id).toEqual(expect.any(String));
    expect(instance.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    await api.stop();
    expect(receiver.posts).toEqual([]);
  }, 60_000);
});

const execFileAsync = promisify(execFile);

/** Runs `code` (an ES module, in the project's folder, under tsx) with `env`; returns its stdout. */
async function runScript(code: string, env: Record<string, string>): Promise<string> {
  const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('OTEL_')));
  const { stdout } = await execFileAsync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: PROJECT_ROOT,
    env: { ...cleanEnv, ...env },
    timeout: 30_000,
  });
  return stdout;
}

// Tells which OpenTelemetry SDK modules the process loaded, after initTracing and one span.
const PROBE = `
  import { createRequire } from 'node:module';
  import { loadEnv } from './src/env.ts';
  import { initTracing, inSpan, shutdownTracing } from './src/observability/tracing.ts';
  const pipeline = await initTracing(loadEnv(), 'probe');
  await inSpan('probe.span', {}, async () => {});
  await shutdownTracing();
  const cache = createRequire(import.meta.url).cache;
  const sdk = Object.keys(cache).filter((file) => /@opentelemetry[\\\\/](sdk-|exporter-|resources)/.test(file));
  console.log(JSON.stringify({ started: pipeline !== null, sdkModules: sdk.length }));
`;

describe('the tracing switch', () => {
  it('unset: no SDK module is loaded and nothing posted; set: loaded, and the span posted (http/protobuf by default)', async () => {
    receiver.posts.length = 0;
    expect(JSON.parse(await runScript(PROBE, {}))).toEqual({ started: false, sdkModules: 0 });
    expect(JSON.parse(await runScript(PROBE, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SDK_DISABLED: 'true' }))).toEqual({
      started: false,
      sdkModules: 0,
    });
    expect(receiver.posts).toEqual([]);

    const on = JSON.parse(await runScript(PROBE, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url })) as {
      started: boolean;
      sdkModules: number;
    };
    expect(on.started).toBe(true);
    expect(on.sdkModules).toBeGreaterThan(0);
    expect(receiver.posts).toEqual([expect.objectContaining({ path: '/v1/traces', contentType: 'application/x-protobuf' })]);
    // The protobuf body holds the span's name.
    expect(receiver.posts[0].body.includes(Buffer.from('probe.span'))).toBe(true);
  }, 60_000);
});
