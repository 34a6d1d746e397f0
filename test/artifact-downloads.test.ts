// Artifacts over HTTP and in GraphQL: previews (of the length each run asks for) and statistics of
// a known data set, and downloads with a bearer token or a signed link, byte ranges (206/416),
// ETags and conditional requests.
import { createToken } from '../src/auth/tokens.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from './gql/index.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';

const CreateInstanceForDownloads = graphql(`
  mutation CreateInstanceForDownloads($input: CreateInstanceInput!) {
    createInstance(input: $input) {
      __typename
      ... on CreateInstanceSuccess {
        instance {
          id
        }
      }
      ... on Error {
        message
      }
    }
  }
`);

const RerunForPreviews = graphql(`
  mutation RerunForPreviews($input: RerunRunInput!) {
    rerunRun(input: $input) {
      __typename
      ... on RerunRunSuccess {
        run {
          id
          status
          previewRows
          artifacts {
            name
            preview {
              rows
              truncated
            }
            statistics
          }
        }
      }
      ... on ValidationError {
        fieldErrors {
          path
          message
        }
      }
      ... on Error {
        message
      }
    }
  }
`);

const CreateRunForDownloads = graphql(`
  mutation CreateRunForDownloads($input: CreateRunInput!) {
    createRun(input: $input) {
      __typename
      ... on CreateRunSuccess {
        run {
          id
          status
          previewRows
          artifactsUnavailableReason
          artifacts {
            id
            name
            contentType
            sizeBytes
            checksum
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
      ... on ValidationError {
        fieldErrors {
          path
          message
        }
      }
      ... on Error {
        message
      }
    }
  }
`);

// The README's nine points: three tight groups of three.
const POINTS = [
  [0, 0],
  [0, 1],
  [1, 0],
  [10, 10],
  [10, 11],
  [11, 10],
  [-10, 10],
  [-10, 11],
  [-11, 10],
];

describe('artifacts: previews, statistics and downloads', () => {
  let stack: TestStack;
  let instanceId: string;
  let artifacts: Array<{
    id: string;
    name: string;
    contentType: string;
    sizeBytes: number;
    checksum: string;
    preview: { columns?: string[] | null; rows?: unknown[][] | null; text?: string | null; truncated: boolean } | null;
    statistics: unknown;
    downloadUrl: string;
  }>;

  beforeAll(async () => {
    stack = await startTestStack({ withWorker: false });
    const created = await stack.admin.query(CreateInstanceForDownloads, { input: { routineName: 'kmeans', name: 'Downloads' } });
    if (created.createInstance.__typename !== 'CreateInstanceSuccess') throw new Error(JSON.stringify(created));
    instanceId = created.createInstance.instance.id;
    const configured = await stack.admin.query(CreateRunForDownloads, {
      input: { instanceId, methodName: 'configure', executionType: 'IN_MEMORY', inputs: { k: 3, seed: 1 } },
    });
    if (configured.createRun.__typename !== 'CreateRunSuccess') throw new Error(JSON.stringify(configured));
    const fit = await stack.admin.query(CreateRunForDownloads, {
      input: {
        instanceId,
        methodName: 'fit',
        executionType: 'IN_MEMORY',
        storeArtifacts: true,
        includePreviews: true,
        includeStatistics: true,
        inputs: { points: POINTS },
      },
    });
    if (fit.createRun.__typename !== 'CreateRunSuccess') throw new Error(JSON.stringify(fit));
    expect(fit.createRun.run.status).toBe('COMPLETED');
    artifacts = fit.createRun.run.artifacts as typeof artifacts;
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const artifact = (name: string) => artifacts.find((a) => a.name === name)!;
  // The link without its signature: the bare endpoint, which needs a bearer token.
  const dataUrl = (name: string) => {
    const url = new URL(artifact(name).downloadUrl);
    return `${url.origin}${url.pathname}`;
  };
  const withToken = async (headers: Record<string, string> = {}) => ({
    authorization: `Bearer ${await adminToken()}`,
    ...headers,
  });
  let cachedToken: string | null = null;
  async function adminToken(): Promise<string> {
    if (cachedToken) return cachedToken;
    cachedToken = (await createToken({ db: stack.core.db, userName: 'downloader' })).token;
    return cachedToken;
  }

  it('previews the first rows and computes per-column statistics of the clustered data', () => {
    const clustered = artifact('clustered_data');
    expect(clustered.preview).toMatchObject({ columns: ['x0', 'x1', 'cluster'], truncated: false });
    expect(clustered.preview!.rows!.slice(0, 2).map((row) => row.slice(0, 2))).toEqual([
      [0, 0],
      [0, 1],
    ]);
    const statistics = clustered.statistics as { rows: number; columns: Array<Record<string, unknown>> };
    expect(statistics.rows).toBe(9);
    // x0 = 0 0 1 10 10 11 -10 -10 -11: sorted -11 -10 -10 0 0 1 10 10 11.
    const x0 = statistics.columns[0];
    expect(x0).toMatchObject({ name: 'x0', type: 'numeric', count: 9, nulls: 0, min: -11, max: 11, q1: -10, median: 0, q3: 10 });
    expect(x0.mean).toBeCloseTo(1 / 9, 12);
    // Sample standard deviation (n − 1), as pandas' describe().
    const mean = 1 / 9;
    const values = POINTS.map((p) => p[0]);
    const std = Math.sqrt(values.reduce((sum, v) => sum + (v - mean) ** 2, 0) / 8);
    expect(x0.std).toBeCloseTo(std, 12);
    // The JSON report is previewed as text.
    const report = artifact('cluster_report');
    expect(report.preview!.text).toContain('"k": 3');
  });

  it('keeps as many preview rows as the run asks for (previewRows), re-runs included, and refuses bad lengths', async () => {
    const fit = await stack.admin.query(CreateRunForDownloads, {
      input: {
        instanceId,
        methodName: 'fit',
        executionType: 'IN_MEMORY',
        storeArtifacts: true,
        includePreviews: true,
        includeStatistics: true,
        previewRows: 4,
        inputs: { points: POINTS },
      },
    });
    if (fit.createRun.__typename !== 'CreateRunSuccess') throw new Error(JSON.stringify(fit));
    const run = fit.createRun.run;
    expect(run).toMatchObject({ status: 'COMPLETED', previewRows: 4 });
    const clustered = run.artifacts.find((a) => a.name === 'clustered_data')!;
    expect(clustered.preview).toMatchObject({ columns: ['x0', 'x1', 'cluster'], truncated: true });
    expect(clustered.preview!.rows!.map((row) => row!.slice(0, 2))).toEqual(POINTS.slice(0, 4));
    // Statistics still describe every row; only the preview is cut.
    expect((clustered.statistics as { rows: number }).rows).toBe(9);
    const centroids = run.artifacts.find((a) => a.name === 'centroids')!;
    expect(centroids.preview).toMatchObject({ truncated: false });
    expect(centroids.preview!.rows).toHaveLength(3);

    const previewLength = (result: Awaited<ReturnType<typeof rerun>>) => {
      if (result.rerunRun.__typename !== 'RerunRunSuccess') throw new Error(JSON.stringify(result));
      const preview = result.rerunRun.run.artifacts.find((a) => a.name === 'clustered_data')!.preview!;
      return { previewRows: result.rerunRun.run.previewRows, rows: preview.rows!.length, truncated: preview.truncated };
    };
    const rerun = (overrides?: { previewRows?: number | null }) =>
      stack.admin.query(RerunForPreviews, { input: { id: run.id, overrides } });
    // A re-run keeps the parent's length, takes a new one, or goes back to the default with null.
    expect(previewLength(await rerun())).toEqual({ previewRows: 4, rows: 4, truncated: true });
    expect(previewLength(await rerun({ previewRows: 2 }))).toEqual({ previewRows: 2, rows: 2, truncated: true });
    expect(previewLength(await rerun({ previewRows: null }))).toEqual({ previewRows: null, rows: 9, truncated: false });

    const runsBefore = await stack.core.db.routineRun.count();
    for (const previewRows of [0, -5, 10_001]) {
      const refused = await stack.admin.query(CreateRunForDownloads, {
        input: {
          instanceId,
          methodName: 'fit',
          executionType: 'IN_MEMORY',
          includePreviews: true,
          previewRows,
          inputs: { points: POINTS },
        },
      });
      expect(refused.createRun).toEqual({
        __typename: 'ValidationError',
        fieldErrors: [{ path: ['previewRows'], message: `Must be a whole number from 1 to 10000 (got ${previewRows})` }],
        message: expect.any(String),
      });
    }
    const refusedRerun = await rerun({ previewRows: 0 });
    expect(refusedRerun.rerunRun).toMatchObject({ __typename: 'ValidationError', fieldErrors: [{ path: ['overrides', 'previewRows'] }] });
    expect(await stack.core.db.routineRun.count()).toBe(runsBefore);
  });

  it('refuses a download without a token or a valid signature', async () => {
    const url = dataUrl('clustered_data');
    expect((await fetch(url)).status).toBe(401);
    const signed = new URL(artifact('clustered_data').downloadUrl);
    signed.searchParams.set('signature', 'forged');
    expect((await fetch(signed)).status).toBe(401);
    // Another artifact's signature does not open this one.
    const other = new URL(artifact('centroids').downloadUrl);
    const swapped = `${url}?${other.searchParams.toString()}`;
    expect((await fetch(swapped)).status).toBe(401);
  });

  it('serves the whole file with its type, length, ETag and Accept-Ranges, by token or signed link', async () => {
    const clustered = artifact('clustered_data');
    const byToken = await fetch(dataUrl('clustered_data'), { headers: await withToken() });
    expect(byToken.status).toBe(200);
    expect(byToken.headers.get('content-type')).toBe('text/csv');
    expect(byToken.headers.get('accept-ranges')).toBe('bytes');
    expect(byToken.headers.get('etag')).toBe(`"sha256-${clustered.checksum}"`);
    expect(Number(byToken.headers.get('content-length'))).toBe(clustered.sizeBytes);
    expect(byToken.headers.get('content-disposition')).toBe('attachment; filename="clustered_data.csv"');
    const body = await byToken.text();
    expect(body.split('\n')[0]).toBe('x0,x1,cluster');
    expect(body.trim().split('\n')).toHaveLength(10);

    const bySignedLink = await fetch(clustered.downloadUrl);
    expect(bySignedLink.status).toBe(200);
    expect(await bySignedLink.text()).toBe(body);

    const json = await fetch(artifact('cluster_report').downloadUrl);
    expect(json.headers.get('content-type')).toBe('application/json');
    expect((await json.json()) as Record<string, unknown>).toMatchObject({ k: 3, points: 9 });

    const head = await fetch(dataUrl('clustered_data'), { method: 'HEAD', headers: await withToken() });
    expect(head.status).toBe(200);
    expect(Number(head.headers.get('content-length'))).toBe(clustered.sizeBytes);
    expect(await head.text()).toBe('');
  });

  it('answers byte ranges with 206 and Content-Range, and unsatisfiable ones with 416', async () => {
    const clustered = artifact('clustered_data');
    const size = clustered.sizeBytes;
    const full = await (await fetch(clustered.downloadUrl)).text();
    const range = async (value: string, extra: Record<string, string> = {}) =>
      fetch(dataUrl('clustered_data'), { headers: await withToken({ range: value, ...extra }) });

    const first = await range('bytes=0-9');
    expect(first.status).toBe(206);
    expect(first.headers.get('content-range')).toBe(`bytes 0-9/${size}`);
    expect(first.headers.get('content-length')).toBe('10');
    expect(await first.text()).toBe(full.slice(0, 10));

    const open = await range('bytes=5-');
    expect(open.status).toBe(206);
    expect(open.headers.get('content-range')).toBe(`bytes 5-${size - 1}/${size}`);
    expect(await open.text()).toBe(full.slice(5));

    const suffix = await range('bytes=-7');
    expect(suffix.status).toBe(206);
    expect(await suffix.text()).toBe(full.slice(-7));

    // An end beyond the file is clamped to it.
    const clamped = await range(`bytes=${size - 3}-${size + 100}`);
    expect(clamped.status).toBe(206);
    expect(clamped.headers.get('content-range')).toBe(`bytes ${size - 3}-${size - 1}/${size}`);

    const beyond = await range(`bytes=${size}-`);
    expect(beyond.status).toBe(416);
    expect(beyond.headers.get('content-range')).toBe(`bytes */${size}`);

    // Several ranges or a malformed header: the whole file (RFC 9110 lets a server ignore Range).
    const multi = await range('bytes=0-1,4-5');
    expect(multi.status).toBe(200);
    expect(await multi.text()).toBe(full);

    // If-Range with another version's tag: the whole (new) file, not a piece of it.
    const stale = await range('bytes=0-9', { 'if-range': '"sha256-stale"' });
    expect(stale.status).toBe(200);
    expect(await stale.text()).toBe(full);
    const current = await range('bytes=0-9', { 'if-range': `"sha256-${clustered.checksum}"` });
    expect(current.status).toBe(206);
    await current.text();
  });

  it('answers 304 to a client that already has this version', async () => {
    const etag = `"sha256-${artifact('centroids').checksum}"`;
    const response = await fetch(dataUrl('centroids'), { headers: await withToken({ 'if-none-match': etag }) });
    expect(response.status).toBe(304);
    expect(response.headers.get('etag')).toBe(etag);
  });

  it('stores nothing when storeArtifacts is false and says why', async () => {
    const run = await stack.admin.query(CreateRunForDownloads, {
      input: { instanceId, methodName: 'fit', executionType: 'IN_MEMORY', storeArtifacts: false, inputs: { points: POINTS } },
    });
    if (run.createRun.__typename !== 'CreateRunSuccess') throw new Error(JSON.stringify(run));
    expect(run.createRun.run.status).toBe('COMPLETED');
    expect(run.createRun.run.artifacts).toEqual([]);
    expect(run.createRun.run.artifactsUnavailableReason).toBe('The run executed in memory without persistence (storeArtifacts was false).');
  });
});
