// The walking skeleton, end to end on real parts: HTTP, a graphql-ws socket, PostgreSQL,
// a Temporal dev server, a worker, child-process execution and artifacts on disk.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticate, createToken, revokeToken } from '../src/auth/tokens.ts';
import { graphql } from './gql/index.ts';
import { collect, waitFor } from './helpers/graphql.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';

const Routines = graphql(`
  query Routines {
    routines {
      id
      name
      version
      stateful
      methods {
        name
        kind
        allowsInMemory
        defaultMemoryMb
        parameters {
          name
          type
          required
          description
          default
          options
        }
        inputSchema
      }
    }
  }
`);

const CreateInstance = graphql(`
  mutation CreateInstance($input: CreateInstanceInput!) {
    createInstance(input: $input) {
      __typename
      ... on CreateInstanceSuccess {
        instance {
          id
          name
          constructed
          config
          routine {
            name
          }
        }
      }
      ... on Error {
        message
      }
    }
  }
`);

const CreateRun = graphql(`
  mutation CreateRun($input: CreateRunInput!) {
    createRun(input: $input) {
      __typename
      ... on CreateRunSuccess {
        deduplicated
        run {
          id
          status
          lastSequence
          createdBy {
            name
          }
        }
      }
      ... on ValidationError {
        fieldErrors {
          path
          message
        }
      }
      ... on InstanceNotConstructedError {
        constructorName
      }
      ... on Error {
        message
      }
    }
  }
`);

const RunDetail = graphql(`
  query RunDetail($id: ID!) {
    run(id: $id) {
      id
      status
      name
      methodName
      routineVersion
      inputs
      outputs
      executionType
      invocationMethod
      storeArtifacts
      includePreviews
      includeStatistics
      memoryMb
      labels
      attributes
      attempt
      maxAttempts
      createdAt
      queuedAt
      startedAt
      finishedAt
      durationMs
      createdBy {
        name
      }
      instance {
        id
        name
        constructed
        config
      }
      method {
        name
        kind
      }
      resources {
        requestedMemoryMb
        peakMemoryMb
        cpuTimeMs
      }
      progress {
        percent
        message
        sequence
      }
      error {
        type
        message
        attempt
        retryable
      }
      storagePath
      workflowId
      lastSequence
      artifactsUnavailableReason
      events(first: 100) {
        edges {
          node {
            sequence
            type
            fromStatus
            toStatus
            progress {
              percent
              message
            }
          }
        }
      }
      artifacts {
        id
        name
        path
        contentType
        sizeBytes
        checksum
        metadata
        preview {
          columns
          rows
          text
          truncated
        }
        statistics
        downloadUrl(expiresInSeconds: 60)
      }
    }
  }
`);

const RunUpdated = graphql(`
  subscription RunUpdated($id: ID!, $afterSequence: Int) {
    runUpdated(id: $id, afterSequence: $afterSequence) {
      runId
      sequence
      type
      fromStatus
      toStatus
      progress {
        percent
        message
      }
    }
  }
`);

const CountRuns = graphql(`
  query CountRuns {
    runs(first: 1) {
      totalCount
    }
  }
`);

describe('walking skeleton: a real run end to end', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('lists the built-in routines with their signatures', async () => {
    const { routines } = await stack.admin.query(Routines);
    const kmeans = routines.find((r) => r.name === 'kmeans');
    const montecarlo = routines.find((r) => r.name === 'montecarlo');
    expect(kmeans?.stateful).toBe(true);
    expect(montecarlo?.stateful).toBe(false);
    const configure = kmeans!.methods.find((m) => m.name === 'configure')!;
    expect(configure.kind).toBe('CONSTRUCTOR');
    const k = configure.parameters.find((p) => p.name === 'k')!;
    expect(k).toMatchObject({ type: 'integer', required: true });
    expect(configure.parameters.find((p) => p.name === 'maxIterations')).toMatchObject({ required: false, default: 100 });
    expect(configure.inputSchema).toMatchObject({ type: 'object', required: ['k'] });
  });

  it('configures a kmeans instance, fits it, streams progress live and stores the artifacts', async () => {
    // 1. An instance of the stateful routine; standard methods are refused until it is configured.
    const created = await stack.admin.query(CreateInstance, {
      input: { routineName: 'kmeans', name: 'Customer Segmentation Analysis' },
    });
    expect(created.createInstance.__typename).toBe('CreateInstanceSuccess');
    if (created.createInstance.__typename !== 'CreateInstanceSuccess') return;
    const instance = created.createInstance.instance;
    expect(instance.constructed).toBe(false);

    const points = threeBlobs();
    const early = await stack.admin.query(CreateRun, {
      input: { instanceId: instance.id, methodName: 'fit', inputs: { points } },
    });
    expect(early.createRun.__typename).toBe('InstanceNotConstructedError');

    // 2. The constructor run stores the configuration on the instance.
    const configure = await stack.admin.query(CreateRun, {
      input: { instanceId: instance.id, methodName: 'configure', inputs: { k: 3, seed: 42 } },
    });
    if (configure.createRun.__typename !== 'CreateRunSuccess') throw new Error(JSON.stringify(configure.createRun));
    const configured = await waitForStatus(stack, configure.createRun.run.id, 'COMPLETED');
    expect(configured.instance.constructed).toBe(true);
    expect(configured.instance.config).toEqual({ k: 3, maxIterations: 100, seed: 42 });
    expect(configured.artifacts).toEqual([]);
    expect(configured.artifactsUnavailableReason).toMatch(/Constructor/);

    // 3. A fit run, created without starting, so the subscription sees every event from the first.
    const fit = await stack.admin.query(CreateRun, {
      input: {
        instanceId: instance.id,
        methodName: 'fit',
        name: 'December 15th clustering with k=3',
        inputs: { points },
        includePreviews: true,
        includeStatistics: true,
        labels: ['production', 'clustering'],
        attributes: { business_unit: 'Retail', cost_center: '12345' },
      },
    });
    if (fit.createRun.__typename !== 'CreateRunSuccess') throw new Error(JSON.stringify(fit.createRun));
    const runId = fit.createRun.run.id;
    expect(fit.createRun.run.createdBy.name).toBe('admin');

    // 4. Subscribe from sequence 0 over a real graphql-ws socket until the run ends.
    const ws = stack.admin.ws();
    const events = (
      await collect(ws, RunUpdated, { id: runId, afterSequence: 0 }, (items) =>
        items.some((item) => item.runUpdated.toStatus === 'COMPLETED'),
      )
    ).map((item) => item.runUpdated);
    await ws.dispose();

    // Sequences are 1..n without gaps or duplicates, and the lifecycle is in order.
    expect(events.map((e) => e.sequence)).toEqual(events.map((_, index) => index + 1));
    expect(events.every((e) => e.runId === runId)).toBe(true);
    const statuses = events.filter((e) => e.type === 'STATUS_CHANGED').map((e) => e.toStatus);
    expect(statuses).toEqual(['CREATED', 'QUEUED', 'RUNNING', 'COMPLETED']);
    const messages = events.filter((e) => e.type === 'PROGRESS').map((e) => `${e.progress!.percent}% ${e.progress!.message}`);
    expect(messages).toEqual([
      '10% Loading input dataset...',
      '25% Preprocessing and scaling features...',
      '50% Fitting KMeans model (k=3)...',
      '75% Calculating cluster metrics...',
      '90% Saving artifacts...',
      '100% Complete!',
    ]);
    const stored = events.filter((e) => e.type === 'ARTIFACT_STORED');
    expect(stored).toHaveLength(3);

    // 5. The run's record: outputs, execution context, resources and artifacts.
    const { run } = await stack.admin.query(RunDetail, { id: runId });
    expect(run).toMatchObject({
      status: 'COMPLETED',
      methodName: 'fit',
      routineVersion: '1.0.0',
      executionType: 'BACKGROUND',
      invocationMethod: 'DIRECT',
      storeArtifacts: true,
      attempt: 1,
      labels: ['production', 'clustering'],
      attributes: { business_unit: 'Retail', cost_center: '12345' },
      createdBy: { name: 'admin' },
      method: { name: 'fit', kind: 'STANDARD' },
      progress: { percent: 100, message: 'Complete!' },
      error: null,
      artifactsUnavailableReason: null,
      lastSequence: events.length,
    });
    expect(run!.workflowId).toMatch(/^run-/);
    const outputs = run!.outputs as { clusterSizes: number[]; silhouette: number };
    expect([...outputs.clusterSizes].sort()).toEqual([30, 30, 30]);
    expect(outputs.silhouette).toBeGreaterThan(0.7);
    expect(run!.resources!.cpuTimeMs).toBeGreaterThan(0);
    expect(run!.resources!.peakMemoryMb).toBeGreaterThan(0);
    expect(run!.resources!.requestedMemoryMb).toBe(run!.memoryMb);
    expect(new Date(run!.finishedAt!).getTime()).toBeGreaterThanOrEqual(new Date(run!.startedAt!).getTime());
    expect(run!.durationMs).toBeGreaterThanOrEqual(0);

    const rawRunId = (await stack.core.db.routineRun.findFirstOrThrow({ where: { name: 'December 15th clustering with k=3' } })).id;
    const rawInstanceId = (await stack.core.db.routineInstance.findFirstOrThrow({ where: { name: 'Customer Segmentation Analysis' } })).id;
    expect(run!.storagePath).toBe(`routine://instances_/${rawInstanceId}/shared_/runs_/${rawRunId}/`);

    expect(run!.artifacts.map((a) => a.name)).toEqual(['centroids', 'cluster_report', 'clustered_data']);
    const clustered = run!.artifacts.find((a) => a.name === 'clustered_data')!;
    expect(clustered.path).toBe(`${run!.storagePath}shared_/artifacts_/clustered_data/`);
    expect(clustered.contentType).toBe('text/csv');
    expect(clustered.preview!.columns).toEqual(['x0', 'x1', 'cluster']);
    expect(clustered.preview!.rows!.length).toBe(90);
    expect(clustered.statistics).toMatchObject({ columns: expect.anything() });

    // The files are on disk in the routine:// layout, under DATA_DIR.
    const folder = path.join(
      stack.dataDir,
      'storage',
      'instances_',
      rawInstanceId,
      'shared_',
      'runs_',
      rawRunId,
      'shared_',
      'artifacts_',
      'clustered_data',
    );
    expect(existsSync(path.join(folder, 'data_', 'data.csv'))).toBe(true);
    expect(existsSync(path.join(folder, 'metadata_', 'metadata.json'))).toBe(true);
    expect(existsSync(path.join(folder, 'previews_'))).toBe(true);
    expect(existsSync(path.join(folder, 'statistics_'))).toBe(true);

    // The signed download link serves the data over HTTP.
    const download = await fetch(clustered.downloadUrl);
    expect(download.status).toBe(200);
    expect(download.headers.get('content-type')).toBe('text/csv');
    const csv = await download.text();
    expect(Number(download.headers.get('content-length'))).toBe(clustered.sizeBytes);
    expect(csv.split('\n')[0]).toBe('x0,x1,cluster');
  });

  it('runs montecarlo in the background and returns its estimate', async () => {
    const created = await stack.admin.query(CreateInstance, { input: { routineName: 'montecarlo', name: 'Pi' } });
    if (created.createInstance.__typename !== 'CreateInstanceSuccess') throw new Error('instance');
    const result = await stack.admin.query(CreateRun, {
      input: { instanceId: created.createInstance.instance.id, methodName: 'estimatePi', inputs: { samples: 2_000_000, seed: 7 } },
    });
    if (result.createRun.__typename !== 'CreateRunSuccess') throw new Error(JSON.stringify(result.createRun));
    const run = await waitForStatus(stack, result.createRun.run.id, 'COMPLETED');
    const outputs = run.outputs as { estimate: number; samples: number };
    expect(outputs.samples).toBe(2_000_000);
    expect(Math.abs(outputs.estimate - Math.PI)).toBeLessThan(0.01);
    expect(run.artifacts.map((a) => a.name)).toEqual(['estimate']);
    // Previews and statistics were not asked for, so none are stored.
    expect(run.artifacts[0].preview).toBeNull();
    expect(run.artifacts[0].statistics).toBeNull();
  });

  it('refuses bad input with a ValidationError naming each field, and stores nothing', async () => {
    const created = await stack.admin.query(CreateInstance, { input: { routineName: 'kmeans', name: 'Validation' } });
    if (created.createInstance.__typename !== 'CreateInstanceSuccess') throw new Error('instance');
    const instanceId = created.createInstance.instance.id;
    const before = (await stack.admin.query(CountRuns)).runs.totalCount;

    const cases: Array<{ input: Record<string, unknown>; paths: string[][] }> = [
      { input: { methodName: 'configure', inputs: { k: 0 } }, paths: [['inputs', 'k']] },
      { input: { methodName: 'configure', inputs: { k: 'three' } }, paths: [['inputs', 'k']] },
      { input: { methodName: 'configure', inputs: {} }, paths: [['inputs', 'k']] },
      { input: { methodName: 'configure', inputs: { k: 3, colour: 'red' } }, paths: [['inputs', 'colour']] },
      {
        input: { methodName: 'configure', inputs: { k: 3, maxIterations: -1, seed: 1.5 } },
        paths: [
          ['inputs', 'maxIterations'],
          ['inputs', 'seed'],
        ],
      },
      { input: { methodName: 'configure', inputs: [1, 2] }, paths: [['inputs']] },
      { input: { methodName: 'nope', inputs: {} }, paths: [['methodName']] },
      { input: { methodName: 'configure', inputs: { k: 3 }, labels: ['bad label!'] }, paths: [['labels', '0']] },
      { input: { methodName: 'configure', inputs: { k: 3 }, memoryOverrideMb: 10 }, paths: [['memoryOverrideMb']] },
      { input: { methodName: 'configure', inputs: { k: 3 }, attributes: [1] }, paths: [['attributes']] },
    ];
    for (const { input, paths } of cases) {
      const { status, body } = await stack.admin.request(CreateRun, { input: { instanceId, ...input } as never });
      expect(status).toBe(200);
      expect(body.errors).toBeUndefined();
      const result = body.data!.createRun;
      expect(result.__typename, JSON.stringify(input)).toBe('ValidationError');
      if (result.__typename !== 'ValidationError') continue;
      expect(result.fieldErrors.map((e) => e.path)).toEqual(paths);
      expect(result.fieldErrors.every((e) => e.message.length > 0)).toBe(true);
    }

    // A fit on points that break the signature, once the instance is configured.
    const configure = await stack.admin.query(CreateRun, { input: { instanceId, methodName: 'configure', inputs: { k: 2 } } });
    if (configure.createRun.__typename !== 'CreateRunSuccess') throw new Error('configure');
    await waitForStatus(stack, configure.createRun.run.id, 'COMPLETED');
    const afterConfigure = (await stack.admin.query(CountRuns)).runs.totalCount;
    expect(afterConfigure).toBe(before + 1);
    for (const points of [[], [['a', 'b']], 'points']) {
      const { body } = await stack.admin.request(CreateRun, { input: { instanceId, methodName: 'fit', inputs: { points } } });
      const result = body.data!.createRun;
      expect(result.__typename).toBe('ValidationError');
      if (result.__typename === 'ValidationError') expect(result.fieldErrors[0].path.slice(0, 2)).toEqual(['inputs', 'points']);
    }

    // An unknown instance is a NotFoundError; a malformed id a clear GraphQL error.
    const missing = await stack.admin.query(CreateRun, {
      input: {
        instanceId: Buffer.from('RoutineInstance:00000000-0000-0000-0000-000000000000').toString('base64'),
        methodName: 'configure',
        inputs: { k: 3 },
      },
    });
    expect(missing.createRun.__typename).toBe('NotFoundError');
    const wrongType = await stack.admin.request(CreateRun, {
      input: { instanceId: Buffer.from('RoutineRun:00000000-0000-0000-0000-000000000000').toString('base64'), methodName: 'configure' },
    });
    expect(wrongType.status).toBe(200);
    expect(JSON.stringify(wrongType.body)).toMatch(/RoutineInstance/);

    expect((await stack.admin.query(CountRuns)).runs.totalCount).toBe(afterConfigure);
  });

  it('serves GraphiQL to a browser without a token, and nothing else', async () => {
    const page = await fetch(stack.url, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/GraphiQL/i);
  });

  it('refuses requests without a valid token, over HTTP and over graphql-ws', async () => {
    const anonymous = await stack.admin.request(CountRuns, undefined, { authorization: '' });
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.errors?.[0].message).toMatch(/Authentication required/);
    expect(anonymous.body.data ?? null).toBeNull();

    const bad = await stack.admin.request(CountRuns, undefined, { authorization: 'Bearer rr_not-a-token' });
    expect(bad.status).toBe(401);

    const ws = stack.admin.ws({ token: 'rr_not-a-token' });
    const closed = new Promise<number>((resolve) => ws.on('closed', (event) => resolve((event as { code: number }).code)));
    const attempt = collect(ws, RunUpdated, { id: 'x' }, () => false, 5000).catch((error: unknown) => error);
    expect(await closed).toBe(4403);
    await attempt;
    await ws.dispose();
  });

  it('stops accepting a revoked token, at once without the token cache and within AUTH_CACHE_MS with it', async () => {
    const db = stack.core.db;
    for (const cacheMs of [0, 300]) {
      const { token } = await createToken({ db, userName: `revoked-${cacheMs}` });
      expect((await authenticate({ db, token, cacheMs }))?.user.name).toBe(`revoked-${cacheMs}`);
      expect(await revokeToken({ db, idOrSecret: token })).toBe(true);
      // Without the cache, refused at once; with it, still remembered (that is the cache).
      const right = await authenticate({ db, token, cacheMs });
      expect(right?.user.name ?? null).toBe(cacheMs === 0 ? null : `revoked-${cacheMs}`);
      // Remembered for at most cacheMs: then looked up again, and refused.
      await new Promise((resolve) => setTimeout(resolve, cacheMs + 50));
      expect(await authenticate({ db, token, cacheMs })).toBeNull();
    }
    // The API process (AUTH_CACHE_MS default 5 s) refuses a token that never existed at once: only valid tokens are remembered.
    expect((await stack.admin.request(CountRuns, undefined, { authorization: 'Bearer rr_never-issued' })).status).toBe(401);
  });
});

async function waitForStatus(stack: TestStack, id: string, status: string) {
  return waitFor(async () => {
    const { run } = await stack.admin.query(RunDetail, { id });
    if (run && ['COMPLETED', 'FAILED', 'CANCELLED'].includes(run.status) && run.status !== status) {
      throw new Error(`run ended ${run.status}: ${JSON.stringify(run.error)}`);
    }
    return run?.status === status ? run : null;
  });
}

/** 90 points in three well-separated blobs of 30, deterministic. */
function threeBlobs(): number[][] {
  const centers = [
    [0, 0],
    [10, 10],
    [-10, 10],
  ];
  const points: number[][] = [];
  let seed = 1;
  const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5;
  for (const [cx, cy] of centers) for (let i = 0; i < 30; i++) points.push([cx + random(), cy + random()]);
  return points;
}
