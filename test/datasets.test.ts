// Data in: uploaded data sets (GraphQL multipart upload of CSV or JSON, size limit enforced
// before the upload is buffered, malformed rows named by line and column), their downloads, and
// stored tables — data sets or an earlier run's artifacts — given to a method as input by their
// routine:// path.
import { existsSync, readdirSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { print } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../src/auth/tokens.ts';
import { graphql } from './gql/index.ts';
import { postMultipartUpload } from './helpers/multipart-upload.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';

const UploadDataset = graphql(`
  mutation UploadDataset($input: UploadDatasetInput!) {
    uploadDataset(input: $input) {
      __typename
      ... on UploadDatasetSuccess {
        dataset {
          id
          name
          path
          contentType
          sizeBytes
          checksum
          rows
          columns
          preview {
            columns
            rows
            truncated
          }
          statistics
          instance {
            id
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

const DatasetInstance = graphql(`
  mutation DatasetInstance($input: CreateInstanceInput!) {
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

const DatasetRun = graphql(`
  mutation DatasetRun($input: CreateRunInput!) {
    createRun(input: $input) {
      __typename
      ... on CreateRunSuccess {
        run {
          id
          status
          outputs
          error {
            type
            message
          }
          artifacts {
            name
            path
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

const InstanceDatasets = graphql(`
  query InstanceDatasets($id: ID!) {
    node(id: $id) {
      ... on RoutineInstance {
        datasets {
          name
          rows
        }
      }
    }
  }
`);

const DatasetDownload = graphql(`
  query DatasetDownload($id: ID!) {
    node(id: $id) {
      ... on Dataset {
        name
        checksum
        sizeBytes
        downloadUrl(expiresInSeconds: 60)
      }
    }
  }
`);

const MAX_BYTES = 4096;
/** The body a multipart upload may have before it is refused unread: the file limit plus 1 MiB for the form. */
const MAX_BODY_BYTES = MAX_BYTES + 1024 * 1024;

// Three groups of three points, as columns a and b, with a text column.
const CSV = `a,b,site
0,0,north
0,1,north
1,0,north
10,10,east
10,11,east
11,10,east
-10,10,west
-10,11,west
-11,10,west
`;

describe('data sets and stored tables as inputs', () => {
  let stack: TestStack;
  let token: string;
  let instanceId: string;

  beforeAll(async () => {
    stack = await startTestStack({ withWorker: false, env: { DATASET_MAX_BYTES: String(MAX_BYTES) } });
    token = (await createToken({ db: stack.core.db, userName: 'uploader' })).token;
    const created = await stack.admin.query(DatasetInstance, { input: { routineName: 'kmeans', name: 'Segments' } });
    if (created.createInstance.__typename !== 'CreateInstanceSuccess') throw new Error(JSON.stringify(created));
    instanceId = created.createInstance.instance.id;
    const configured = await stack.admin.query(DatasetRun, {
      input: { instanceId, methodName: 'configure', executionType: 'IN_MEMORY', inputs: { k: 3, seed: 1 } },
    });
    if (configured.createRun.__typename !== 'CreateRunSuccess') throw new Error(JSON.stringify(configured));
  });
  afterAll(async () => {
    await stack?.stop();
  });

  /** A GraphQL multipart request (operations, map, then the file), as upload clients send it. */
  async function upload({ name, content, fileName, format }: { name: string; content: string; fileName: string; format?: 'CSV' | 'JSON' }) {
    const form = new FormData();
    form.append(
      'operations',
      JSON.stringify({
        query: print(UploadDataset),
        variables: { input: { instanceId, name, file: null, ...(format ? { format } : {}) } },
      }),
    );
    form.append('map', JSON.stringify({ 0: ['variables.input.file'] }));
    form.append('0', new Blob([content], { type: 'application/octet-stream' }), fileName);
    const response = await fetch(stack.url, { method: 'POST', body: form, headers: { authorization: `Bearer ${token}` } });
    const body = (await response.json()) as { data?: { uploadDataset: Record<string, unknown> }; errors?: unknown };
    if (!body.data) throw new Error(JSON.stringify(body));
    return body.data.uploadDataset as {
      __typename: string;
      dataset?: {
        id: string;
        name: string;
        checksum: string;
        path: string;
        rows: number;
        columns: string[];
        sizeBytes: number;
        contentType: string;
        preview: { columns: string[]; rows: unknown[][]; truncated: boolean };
        statistics: { columns: Array<Record<string, unknown>> };
      };
      fieldErrors?: Array<{ path: string[]; message: string }>;
    };
  }

  it('stores an uploaded CSV under the instance, with a preview and per-column statistics', async () => {
    const result = await upload({ name: 'customers', content: CSV, fileName: 'customers.csv' });
    expect(result.__typename).toBe('UploadDatasetSuccess');
    const dataset = result.dataset!;
    expect(dataset).toMatchObject({ rows: 9, columns: ['a', 'b', 'site'], contentType: 'text/csv', sizeBytes: Buffer.byteLength(CSV) });
    expect(dataset.preview).toMatchObject({ columns: ['a', 'b', 'site'], truncated: false });
    expect(dataset.preview.rows[0]).toEqual([0, 0, 'north']);
    expect(dataset.statistics.columns[0]).toMatchObject({ name: 'a', type: 'numeric', count: 9, min: -11, max: 11, median: 0 });
    expect(dataset.statistics.columns[2]).toMatchObject({ name: 'site', type: 'categorical', distinct: 3 });

    const rawInstanceId = (await stack.core.db.routineInstance.findFirstOrThrow({ where: { name: 'Segments' } })).id;
    const rawId = (await stack.core.db.dataset.findFirstOrThrow({ where: { name: 'customers' } })).id;
    expect(dataset.path).toBe(`routine://instances_/${rawInstanceId}/shared_/datasets_/${rawId}/`);
    const folder = path.join(stack.dataDir, 'storage', 'instances_', rawInstanceId, 'shared_', 'datasets_', rawId);
    expect(existsSync(path.join(folder, 'data_', 'data.csv'))).toBe(true);
    expect(existsSync(path.join(folder, 'metadata_', 'metadata.json'))).toBe(true);

    const listed = await stack.admin.query(InstanceDatasets, { id: instanceId });
    expect(listed.node).toMatchObject({ datasets: [{ name: 'customers', rows: 9 }] });
  });

  it('accepts JSON records, and refuses malformed files naming the line and column', async () => {
    const json = await upload({
      name: 'records',
      content: JSON.stringify([
        { a: 1, b: 2 },
        { a: 3, b: null },
      ]),
      fileName: 'r.json',
    });
    expect(json.dataset).toMatchObject({ rows: 2, columns: ['a', 'b'], contentType: 'application/json' });

    const cases: Array<{ content: string; fileName: string; message: RegExp }> = [
      { content: 'a,b\n1,2\n3,4\n5\n', fileName: 'short.csv', message: /^line 4, column 2: wrong number of fields: expect 2, got 1$/ },
      { content: 'a,b\n1,"2\n3,4\n', fileName: 'quote.csv', message: /^line \d+.*Quote Not Closed/i },
      { content: 'a,b,a\n1,2,3\n', fileName: 'dup.csv', message: /^line 1, column 3: the column name "a" is also column 1/ },
      { content: '[{"a": 1},\n {"a": 2,}]', fileName: 'bad.json', message: /^line 2, column \d+: not valid JSON/ },
      { content: '[{"a": {"nested": 1}}]', fileName: 'nested.json', message: /column "a": item 0 has a nested value/ },
      { content: '', fileName: 'empty.csv', message: /empty/ },
    ];
    for (const { content, fileName, message } of cases) {
      const result = await upload({ name: `bad-${fileName}`, content, fileName });
      expect(result.__typename, fileName).toBe('ValidationError');
      expect(result.fieldErrors![0].path).toEqual(['file']);
      expect(result.fieldErrors![0].message, fileName).toMatch(message);
    }
    // Nothing was kept of the refused files.
    expect(await stack.core.db.dataset.count({ where: { name: { startsWith: 'bad-' } } })).toBe(0);
  });

  it('refuses files over DATASET_MAX_BYTES, unknown formats and taken names', async () => {
    const big = await upload({ name: 'big', content: `a\n${'1\n'.repeat(3000)}`, fileName: 'big.csv' });
    expect(big.fieldErrors).toEqual([{ path: ['file'], message: expect.stringMatching(/at most 4096 can be uploaded/) }]);
    const unknown = await upload({ name: 'mystery', content: CSV, fileName: 'data.bin' });
    expect(unknown.fieldErrors![0].path).toEqual(['format']);
    const explicit = await upload({ name: 'mystery', content: CSV, fileName: 'data.bin', format: 'CSV' });
    expect(explicit.__typename).toBe('UploadDatasetSuccess');
    const taken = await upload({ name: 'customers', content: CSV, fileName: 'c.csv' });
    expect(taken.fieldErrors![0].path).toEqual(['name']);
  });

  /** An upload over node:http (chunked, or only a declared length): `a,b` then `1,2` rows up to `fileBytes`. */
  async function rawUpload({
    name,
    declaredLength,
    fileBytes,
    expectContinue,
  }: {
    name: string;
    declaredLength?: number;
    fileBytes: number;
    expectContinue?: boolean;
  }) {
    function* rows() {
      yield Buffer.from('a,b\n1,2\n');
      const chunk = Buffer.from('1,2\n'.repeat(16 * 1024)); // 64 KiB
      for (let sent = 0; sent < fileBytes; sent += chunk.length) yield chunk;
    }
    const answer = await postMultipartUpload({
      url: stack.url,
      token,
      query: print(UploadDataset),
      variables: { input: { instanceId, name, file: null } },
      filePath: 'variables.input.file',
      fileName: `${name}.csv`,
      file: rows(),
      declaredLength,
      expectContinue,
    });
    return { ...answer, body: JSON.parse(answer.body) as { errors?: Array<{ message: string; extensions: Record<string, unknown> }> } };
  }

  it('refuses an upload whose Content-Length is over the limit before reading its body, with a 413 naming the limit', async () => {
    const declared = 100 * 1024 * 1024;
    const refused = await rawUpload({ name: 'declared', declaredLength: declared, fileBytes: 0 });
    expect(refused.status).toBe(413);
    expect(refused.body.errors).toEqual([
      {
        message: `The upload has ${declared} bytes; a file of at most ${MAX_BYTES} bytes can be uploaded (DATASET_MAX_BYTES)`,
        extensions: { code: 'REQUEST_ENTITY_TOO_LARGE', field: 'file', maxBytes: MAX_BYTES },
      },
    ]);
    // A client that asks first (Expect: 100-continue) is refused before it is told to send.
    const asked = await rawUpload({ name: 'asked', declaredLength: declared, fileBytes: 0, expectContinue: true });
    expect(asked).toMatchObject({ status: 413, continued: false });
    // Just under the body limit the upload is read, and uploadDataset's own check names the field.
    const near = await upload({ name: 'near', content: `a\n${'1\n'.repeat(MAX_BYTES)}`, fileName: 'near.csv' });
    expect(near.fieldErrors).toEqual([{ path: ['file'], message: expect.stringContaining(`at most ${MAX_BYTES} can be uploaded`) }]);
    expect(await stack.core.db.dataset.count({ where: { name: { in: ['declared', 'asked', 'near'] } } })).toBe(0);

    // A body that is not an upload keeps yoga's usual limit (25 MB), whatever DATASET_MAX_BYTES is.
    const json = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const request = http.request(stack.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': '30000000', authorization: `Bearer ${token}` },
      });
      request.on('response', (response) => {
        let text = '';
        response.on('data', (piece) => (text += piece));
        response.on('end', () => {
          request.destroy();
          resolve({ status: response.statusCode!, body: text });
        });
      });
      request.on('error', reject);
      request.flushHeaders();
    });
    expect(json.status).toBe(413);
    expect(JSON.parse(json.body).errors[0].message).toBe(
      'The request body has 30000000 bytes; at most 25000000 are read (send files as uploads)',
    );

    // Nor may a chunked one grow past it: counted before yoga, which has no limit of its own (src/http/app.ts).
    const chunked = await new Promise<{ status: number; body: string; sent: number }>((resolve, reject) => {
      const request = http.request(stack.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked', authorization: `Bearer ${token}` },
      });
      let sent = 0;
      let answered = false;
      const piece = Buffer.alloc(64 * 1024, 0x20);
      const send = () => {
        while (!answered && sent < 40_000_000) {
          sent += piece.length;
          if (!request.write(piece)) return void request.once('drain', send);
        }
      };
      request.on('response', (response) => {
        answered = true;
        let text = '';
        response.on('data', (chunk) => (text += chunk));
        response.on('end', () => {
          request.destroy();
          resolve({ status: response.statusCode!, body: text, sent });
        });
      });
      request.on('error', (error) => (answered ? undefined : reject(error)));
      send();
    });
    expect(chunked.status).toBe(413);
    expect(JSON.parse(chunked.body).errors[0].message).toBe(
      'The request body passed 25000000 bytes; at most 25000000 are read (send files as uploads)',
    );
    expect(chunked.sent).toBeLessThan(40_000_000);
  });

  it('cuts off a chunked upload once it passes the limit; nothing is stored and the server carries on', async () => {
    const rawInstanceId = (await stack.core.db.routineInstance.findFirstOrThrow({ where: { name: 'Segments' } })).id;
    const datasetsDir = path.join(stack.dataDir, 'storage', 'instances_', rawInstanceId, 'shared_', 'datasets_');
    const before = existsSync(datasetsDir) ? readdirSync(datasetsDir).length : 0;

    const offered = 64 * 1024 * 1024;
    const refused = await rawUpload({ name: 'chunked', fileBytes: offered });
    expect(refused.status).toBe(413);
    expect(refused.body.errors![0]).toEqual({
      message: `The upload passed ${MAX_BODY_BYTES} bytes; a file of at most ${MAX_BYTES} bytes can be uploaded (DATASET_MAX_BYTES)`,
      extensions: { code: 'REQUEST_ENTITY_TOO_LARGE', field: 'file', maxBytes: MAX_BYTES },
    });
    // The answer came while the client was still sending: the server did not wait for the 64 MiB.
    expect(refused.sent).toBeGreaterThan(MAX_BODY_BYTES - 128 * 1024);
    expect(refused.sent).toBeLessThan(offered / 2);

    expect(await stack.core.db.dataset.count({ where: { name: 'chunked' } })).toBe(0);
    expect(existsSync(datasetsDir) ? readdirSync(datasetsDir).length : 0).toBe(before);
    // Still serving: health, and an upload within the limit, chunked the same way.
    expect((await fetch(new URL('/healthz', stack.url))).status).toBe(200);
    const small = await rawUpload({ name: 'small-chunked', fileBytes: 0 });
    expect(small.status).toBe(200);
    expect(small.body).toMatchObject({
      data: { uploadDataset: { __typename: 'UploadDatasetSuccess', dataset: { name: 'small-chunked', rows: 1 } } },
    });
  });

  it('serves a data set for download like an artifact: signed link or token, type, length, ranges', async () => {
    const uploaded = await upload({ name: 'downloadable', content: CSV, fileName: 'd.csv' });
    const { node } = await stack.admin.query(DatasetDownload, { id: uploaded.dataset!.id });
    if (!node || !('downloadUrl' in node)) throw new Error(JSON.stringify(node));
    const link = new URL(node.downloadUrl);
    expect(link.pathname).toMatch(/^\/datasets\/[0-9a-f-]{36}\/data$/);

    const signed = await fetch(link);
    expect(signed.status).toBe(200);
    expect(signed.headers.get('content-type')).toBe('text/csv');
    expect(Number(signed.headers.get('content-length'))).toBe(Buffer.byteLength(CSV));
    expect(signed.headers.get('etag')).toBe(`"sha256-${node.checksum}"`);
    expect(signed.headers.get('content-disposition')).toBe('attachment; filename="downloadable.csv"');
    expect(await signed.text()).toBe(CSV);

    const bare = `${link.origin}${link.pathname}`;
    expect((await fetch(bare)).status).toBe(401);
    const byToken = await fetch(bare, { headers: { authorization: `Bearer ${token}`, range: 'bytes=0-4' } });
    expect(byToken.status).toBe(206);
    expect(byToken.headers.get('content-range')).toBe(`bytes 0-4/${Buffer.byteLength(CSV)}`);
    expect(await byToken.text()).toBe(CSV.slice(0, 5));

    // A link is signed for its kind: the same signature on the artifact route opens nothing.
    const asArtifact = new URL(link);
    asArtifact.pathname = link.pathname.replace('/datasets/', '/artifacts/');
    expect((await fetch(asArtifact)).status).toBe(401);

    const json = await upload({ name: 'downloadable-json', content: '[{"a":1},{"a":2}]', fileName: 'j.json' });
    const jsonNode = (await stack.admin.query(DatasetDownload, { id: json.dataset!.id })).node as { downloadUrl: string };
    const jsonResponse = await fetch(jsonNode.downloadUrl);
    expect(jsonResponse.headers.get('content-type')).toBe('application/json');
    expect(await jsonResponse.json()).toEqual([{ a: 1 }, { a: 2 }]);
  });

  it("fits kmeans on a data set, then on another run's clustered_data artifact", async () => {
    const datasetPath = (await stack.core.db.dataset.findFirstOrThrow({ where: { name: 'customers' } })).path;
    const fromDataset = await stack.admin.query(DatasetRun, {
      input: {
        instanceId,
        methodName: 'fit',
        executionType: 'IN_MEMORY',
        storeArtifacts: true,
        inputs: { points: { path: datasetPath, columns: ['a', 'b'] } },
      },
    });
    if (fromDataset.createRun.__typename !== 'CreateRunSuccess') throw new Error(JSON.stringify(fromDataset));
    expect(fromDataset.createRun.run.status).toBe('COMPLETED');
    const first = fromDataset.createRun.run.outputs as { clusterSizes: number[]; inertia: number };
    expect([...first.clusterSizes].sort()).toEqual([3, 3, 3]);

    // The first run's clustered_data (x0, x1, cluster) feeds the next fit.
    const clustered = fromDataset.createRun.run.artifacts.find((a) => a.name === 'clustered_data')!;
    const fromArtifact = await stack.admin.query(DatasetRun, {
      input: {
        instanceId,
        methodName: 'fit',
        executionType: 'IN_MEMORY',
        inputs: { points: { path: clustered.path, columns: ['x0', 'x1'] } },
      },
    });
    if (fromArtifact.createRun.__typename !== 'CreateRunSuccess') throw new Error(JSON.stringify(fromArtifact));
    expect(fromArtifact.createRun.run.status).toBe('COMPLETED');
    expect(fromArtifact.createRun.run.outputs).toMatchObject({ inertia: first.inertia, clusterSizes: first.clusterSizes });

    // A text column is a data problem found while running: FAILED, naming row and column.
    const text = await stack.admin.query(DatasetRun, {
      input: {
        instanceId,
        methodName: 'fit',
        executionType: 'IN_MEMORY',
        inputs: { points: { path: datasetPath, columns: ['a', 'site'] } },
      },
    });
    if (text.createRun.__typename !== 'CreateRunSuccess') throw new Error(JSON.stringify(text));
    expect(text.createRun.run).toMatchObject({
      status: 'FAILED',
      error: { type: 'DataFormatError', message: expect.stringContaining('row 1, column "site" is "north", not a number') },
    });
  });

  it('refuses, at creation, a path that names no stored table', async () => {
    const rawInstanceId = (await stack.core.db.routineInstance.findFirstOrThrow({ where: { name: 'Segments' } })).id;
    for (const badPath of [
      `routine://instances_/${rawInstanceId}/shared_/datasets_/00000000-0000-0000-0000-000000000000/`,
      `routine://instances_/${rawInstanceId}/internalvars_/`,
    ]) {
      const result = await stack.admin.query(DatasetRun, {
        input: { instanceId, methodName: 'fit', executionType: 'IN_MEMORY', inputs: { points: { path: badPath } } },
      });
      if (result.createRun.__typename !== 'ValidationError') throw new Error(JSON.stringify(result));
      expect(result.createRun.fieldErrors.map((e) => e.path)).toEqual([['inputs', 'points', 'path']]);
    }
  });
});
