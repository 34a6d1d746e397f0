// bench/artifacts: a 100 MB artifact written through the storage module (streamed, checksummed,
// atomic) and read back over real HTTP through the download endpoint (src/http/downloads.ts,
// bearer-token auth and the artifact lookup in PostgreSQL included), whole and with a Range —
// each next to a baseline in the same process: a plain fs write stream, and a bare HTTP server
// piping fs.createReadStream to the socket. Then a CSV data set uploaded through the API as a
// GraphQL multipart request (src/http/app.ts: the upload limit, yoga's parser, uploadDataset's
// parse, preview and statistics), next to a bare HTTP server piping the same body to a file, and
// an upload twice the limit, refused while it streams; and the same CSV ingested by the storage
// module alone (writeDataset from a file stream: parse, write, preview, running statistics) next
// to a plain file copy. Prints MB/s, the ratio to the baseline and the peak RSS growth of each
// phase (sampled every 10 ms): downloads, writes and ingestion must stay well under the file's
// size (ingestion keeps 8 bytes per numeric value for exact quartiles); an accepted upload adds
// the file itself, which yoga's multipart parser holds until the request has arrived; a refused
// one must cost no more than the limit, whatever its size.
// It stops by itself, drops its database and removes its files.
//
//   npm run bench:artifacts        (SIZE_MB=100, UPLOAD_MB=50, ROUNDS=3 best-of for downloads, BENCH_DATABASE_URL=postgresql://…)
import { randomBytes } from 'node:crypto';
import { encodeGlobalID } from '@pothos/plugin-relay';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { schema } from '../schema/index.ts';
import { createToken } from '../src/auth/tokens.ts';
import { loadEnv } from '../src/env.ts';
import { buildApp } from '../src/http/app.ts';
import { ArtifactLinks } from '../src/http/artifact-links.ts';
import { serveDownload } from '../src/http/downloads.ts';
import type { BaseContext } from '../src/http/yoga.ts';
import { openCore } from '../src/runtime.ts';
import { createInstance } from '../src/services/create-instance.ts';
import { accessOfUser } from '../src/access/access.ts';
import { createRun } from '../src/services/create-run.ts';
import type { ServiceDeps } from '../src/services/deps.ts';
import { ArtifactStore } from '../src/storage/artifact-store.ts';
import { createTestDatabase } from '../test/helpers/database.ts';
import { postMultipartUpload } from '../test/helpers/multipart-upload.ts';

const SIZE_MB = Number(process.env.SIZE_MB ?? 100);
const SIZE = SIZE_MB * 1024 * 1024;
const CHUNK = 64 * 1024;
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const UPLOAD_MB = Number(process.env.UPLOAD_MB ?? 50);
const UPLOAD_SIZE = UPLOAD_MB * 1024 * 1024;
const UPLOAD_MUTATION = `mutation($input: UploadDatasetInput!) { uploadDataset(input: $input) {
  __typename ... on UploadDatasetSuccess { dataset { rows sizeBytes } } ... on Error { message } } }`;

/** SIZE bytes of CSV-looking text in 64 KiB chunks, generated as they are consumed. */
async function* csvChunks(): AsyncGenerator<Buffer> {
  const line = Buffer.from('12345.678901,-98765.432109,cluster_7,2026-11-27T10:00:00.000Z\n');
  const chunk = Buffer.alloc(CHUNK);
  for (let offset = 0; offset < CHUNK; offset += line.length) line.copy(chunk, offset, 0, Math.min(line.length, CHUNK - offset));
  for (let written = 0; written < SIZE; written += CHUNK) yield written + CHUNK <= SIZE ? chunk : chunk.subarray(0, SIZE - written);
}

/** Runs `work` while sampling RSS; returns seconds and the peak RSS above the level at the start. */
async function measure(work: () => Promise<number>): Promise<{ seconds: number; bytes: number; peakGrowthMb: number }> {
  global.gc?.();
  const before = process.memoryUsage().rss;
  let peak = before;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 10);
  const started = performance.now();
  const bytes = await work();
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  return { seconds, bytes, peakGrowthMb: (peak - before) / 1024 / 1024 };
}

/** GETs a URL with node:http and discards the body, counting bytes (no buffering on the client). */
function download(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers }, (res) => {
        if (res.statusCode !== 200 && res.statusCode !== 206) reject(new Error(`GET ${url}: ${res.statusCode}`));
        let bytes = 0;
        res.on('data', (chunk: Buffer) => (bytes += chunk.length));
        res.on('end', () => resolve(bytes));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

/** About `bytes` of CSV (a header, then whole rows) in 64 KiB pieces, generated as they are sent. */
function* csvUpload(bytes: number): Generator<Buffer> {
  yield Buffer.from('x,y,label,at\n');
  const line = '12345.678901,-98765.432109,cluster_7,2026-11-27T10:00:00.000Z\n';
  const chunk = Buffer.from(line.repeat(Math.floor(CHUNK / line.length)));
  for (let sent = 0; sent < bytes; sent += chunk.length) yield chunk;
}

/** Uploads `file` as a data set of the instance through the API, streamed; resolves once answered. */
function postUpload({
  url,
  token,
  instanceId,
  name,
  file,
}: {
  url: string;
  token: string;
  instanceId: string;
  name: string;
  file: Iterable<Buffer>;
}) {
  return postMultipartUpload({
    url,
    token,
    query: UPLOAD_MUTATION,
    variables: { input: { instanceId: encodeGlobalID('RoutineInstance', instanceId), name, file: null } },
    filePath: 'variables.input.file',
    fileName: `${name}.csv`,
    file,
  });
}

function listen(server: http.Server): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)),
  );
}

async function main(): Promise<void> {
  const database = await createTestDatabase('rr_bench_artifacts');
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'rr-bench-artifacts-'));
  const servers: http.Server[] = [];
  let closeCore: (() => Promise<void>) | null = null;
  try {
    const env = loadEnv({ DATA_DIR: dataDir, DATABASE_URL: database.url, LOG_LEVEL: 'warn' });
    const core = await openCore({ env, databaseUrl: database.url, log: () => {} });
    closeCore = core.close;
    const deps: ServiceDeps = {
      db: core.db,
      registry: core.registry,
      launcher: null,
      storageRoot: core.storageRoot,
      limits: { maxRunMemoryMb: 16384 },
    };
    const { token, user } = await createToken({ db: core.db, userName: 'bench', admin: true });
    const instance = await createInstance(deps, {
      access: await accessOfUser(deps.db, user),
      input: { routineName: 'montecarlo', name: 'Bench' },
    });
    const { run } = await createRun(deps, {
      access: await accessOfUser(deps.db, user),
      input: { instanceId: instance.id, methodName: 'estimatePi', inputs: { samples: 1 }, start: false },
    });
    const store = new ArtifactStore({ rootDir: core.storageRoot });

    console.log(`bench:artifacts — one ${SIZE_MB} MB artifact, ${os.cpus().length} CPUs, Node ${process.version}`);
    console.log(`  RSS at start ${(process.memoryUsage().rss / 1024 / 1024).toFixed(0)} MB\n`);
    const rows: Array<[string, { seconds: number; bytes: number; peakGrowthMb: number }, { seconds: number; bytes: number } | null]> = [];

    // 1. Write: the storage module (hash, temp file, fsync, rename, metadata) vs a bare write stream.
    let stored!: Awaited<ReturnType<ArtifactStore['writeStream']>>;
    const write = await measure(async () => {
      stored = await store.writeStream({
        instanceId: instance.id,
        runId: run.id,
        name: 'big_table',
        contentType: 'text/csv',
        extension: 'csv',
        includePreview: true,
        source: csvChunks(),
      });
      return stored.sizeBytes;
    });
    const baselineFile = path.join(dataDir, 'baseline.csv');
    const writeBaseline = await measure(async () => {
      await pipeline(csvChunks(), createWriteStream(baselineFile));
      // The store makes its file durable (fsync) before renaming it; so does the baseline.
      const handle = await open(baselineFile, 'r+');
      await handle.sync();
      await handle.close();
      return SIZE;
    });
    rows.push(['write (storage module vs fs stream)', write, writeBaseline]);
    const artifact = await core.db.artifact.create({
      data: {
        runId: run.id,
        name: stored.name,
        path: stored.path,
        contentType: stored.contentType,
        sizeBytes: BigInt(stored.sizeBytes),
        checksum: stored.checksum,
        metadata: stored.metadata as object,
      },
    });

    // 2. The download endpoint, as the API mounts it, and a bare file server.
    const links = new ArtifactLinks({ baseUrl: '', secret: randomBytes(32).toString('hex') });
    const endpoint = http.createServer((req, res) => {
      const requestUrl = new URL(req.url ?? '/', 'http://localhost');
      serveDownload({ req, res, url: requestUrl, db: core.db, links, storageRoot: core.storageRoot }).catch((error) => {
        console.error(error);
        res.destroy();
      });
    });
    const bare = http.createServer((req, res) => {
      const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
      const start = range ? Number(range[1]) : 0;
      res.writeHead(range ? 206 : 200, { 'content-length': SIZE - start, 'content-type': 'text/csv' });
      createReadStream(baselineFile, { start }).pipe(res);
    });
    servers.push(endpoint, bare);
    const endpointUrl = `${await listen(endpoint)}/artifacts/${artifact.id}/data`;
    const bareUrl = `${await listen(bare)}/baseline.csv`;
    const auth = { authorization: `Bearer ${token}` };

    // The machine is shared: alternate endpoint and baseline ROUNDS times and keep each one's
    // fastest round (and its largest RSS growth), so a burst of load elsewhere skews neither.
    const best = async (work: () => Promise<number>, baselineWork: () => Promise<number>) => {
      let result: Awaited<ReturnType<typeof measure>> | null = null;
      let baseline: Awaited<ReturnType<typeof measure>> | null = null;
      for (let round = 0; round < ROUNDS; round++) {
        const a = await measure(work);
        const b = await measure(baselineWork);
        result = !result
          ? a
          : { ...(a.seconds < result.seconds ? a : result), peakGrowthMb: Math.max(a.peakGrowthMb, result.peakGrowthMb) };
        baseline = !baseline || b.seconds < baseline.seconds ? b : baseline;
      }
      return [result!, baseline!] as const;
    };
    const [full, fullBaseline] = await best(
      () => download(endpointUrl, auth),
      () => download(bareUrl, {}),
    );
    rows.push([`download whole (endpoint vs bare fs → socket)`, full, fullBaseline]);
    const half = Math.floor(SIZE / 2);
    const [ranged, rangedBaseline] = await best(
      () => download(endpointUrl, { ...auth, range: `bytes=${half}-` }),
      () => download(bareUrl, { range: `bytes=${half}-` }),
    );
    rows.push([`download Range bytes=${half}- (second half)`, ranged, rangedBaseline]);
    // Many small ranges: what a resumable client or a viewer paging through a file does.
    const small = await measure(async () => {
      let bytes = 0;
      for (let i = 0; i < 200; i++) {
        const start = Math.floor((i / 200) * (SIZE - 65536));
        bytes += await download(endpointUrl, { ...auth, range: `bytes=${start}-${start + 65535}` });
      }
      return bytes;
    });
    rows.push(['200 × 64 KiB ranges (requests/s below)', small, null]);

    // 3. A data set uploaded through the API (app.ts → upload limit → yoga's multipart parser →
    //    uploadDataset), and the same body piped to a file by a bare server.
    const api = buildApp({
      schema,
      base: {
        db: core.db,
        services: { ...deps, limits: { ...deps.limits, maxDatasetBytes: UPLOAD_SIZE + CHUNK } },
        links,
      } as unknown as BaseContext,
    });
    const apiUrl = (await api.start({ port: 0, host: '127.0.0.1' })).url;
    const uploadBaselineFile = path.join(dataDir, 'upload-baseline.bin');
    const bareUpload = http.createServer((req, res) => {
      pipeline(req, createWriteStream(uploadBaselineFile)).then(
        () => res.writeHead(200).end('{}'),
        () => res.destroy(),
      );
    });
    servers.push(bareUpload);
    const bareUploadUrl = await listen(bareUpload);
    // First (the process has not yet grown for a parsed table): twice the limit, chunked, refused
    // while it streams, so memory follows the limit (yoga's parser holds the file until the count
    // trips), not the size.
    const refused = await measure(async () => {
      const { status, sent } = await postUpload({
        url: apiUrl,
        token,
        instanceId: instance.id,
        name: 'too_big',
        file: csvUpload(2 * UPLOAD_SIZE),
      });
      if (status !== 413) throw new Error(`oversized upload: ${status}`);
      return sent;
    });
    rows.push([`upload ${2 * UPLOAD_MB} MB over the limit (413; MB sent until then)`, refused, null]);

    // The storage module's part of an upload on its own: no HTTP, no multipart parser holding the file.
    const ingestFile = path.join(dataDir, 'ingest.csv');
    await pipeline(Readable.from(csvUpload(UPLOAD_SIZE)), createWriteStream(ingestFile));
    let ingested!: Awaited<ReturnType<ArtifactStore['writeDataset']>>;
    const ingest = await measure(async () => {
      ingested = await store.writeDataset({
        instanceId: instance.id,
        datasetId: 'bench-ingest',
        format: 'csv',
        source: createReadStream(ingestFile, { highWaterMark: CHUNK }),
      });
      return ingested.sizeBytes;
    });
    const ingestBaseline = await measure(async () => {
      const copy = path.join(dataDir, 'ingest-copy.csv');
      await pipeline(createReadStream(ingestFile, { highWaterMark: CHUNK }), createWriteStream(copy));
      const handle = await open(copy, 'r+');
      await handle.sync();
      await handle.close();
      return ingested.sizeBytes;
    });
    rows.push([`ingest ${UPLOAD_MB} MB CSV (writeDataset vs fs copy)`, ingest, ingestBaseline]);
    const numericValues = (ingested.statistics.columns as Array<{ type: string; count: number }>)
      .filter((column) => column.type === 'numeric')
      .reduce((sum, column) => sum + column.count, 0);
    let uploadedRows = 0;
    const accepted = await measure(async () => {
      const { status, body, sent } = await postUpload({
        url: apiUrl,
        token,
        instanceId: instance.id,
        name: 'upload',
        file: csvUpload(UPLOAD_SIZE),
      });
      const result = JSON.parse(body).data?.uploadDataset;
      if (status !== 200 || result?.__typename !== 'UploadDatasetSuccess') throw new Error(`upload: ${status} ${body}`);
      uploadedRows = result.dataset.rows;
      return sent;
    });
    const acceptedBaseline = await measure(
      async () =>
        (await postUpload({ url: bareUploadUrl, token, instanceId: instance.id, name: 'baseline', file: csvUpload(UPLOAD_SIZE) })).sent,
    );
    rows.push([`upload ${UPLOAD_MB} MB CSV data set (API vs bare → file)`, accepted, acceptedBaseline]);
    await api.stop();

    for (const [label, result, baseline] of rows) {
      const mbs = result.bytes / 1024 / 1024 / result.seconds;
      const ratio = baseline
        ? ` | baseline ${(baseline.bytes / 1024 / 1024 / baseline.seconds).toFixed(0)} MB/s, ratio ${(mbs / (baseline.bytes / 1024 / 1024 / baseline.seconds)).toFixed(2)}`
        : '';
      console.log(
        `  ${label.padEnd(48)} ${(result.bytes / 1024 / 1024).toFixed(1).padStart(6)} MB in ${result.seconds.toFixed(2)} s = ${mbs.toFixed(0).padStart(5)} MB/s${ratio} | peak RSS +${result.peakGrowthMb.toFixed(1)} MB`,
      );
    }
    console.log(`  ${''.padEnd(48)} ${(200 / small.seconds).toFixed(0)} range requests/s`);
    const streamed = rows.filter(([label]) => !label.startsWith('upload') && !label.startsWith('ingest'));
    const worst = Math.max(...streamed.map(([, result]) => result.peakGrowthMb));
    console.log(
      `\n  largest peak RSS growth ${worst.toFixed(1)} MB for a ${SIZE_MB} MB artifact (${((worst / SIZE_MB) * 100).toFixed(1)} %)`,
    );
    const arraysMb = (numericValues * 8) / 1024 / 1024;
    console.log(
      `  ingestion (storage module): peak RSS growth ${ingest.peakGrowthMb.toFixed(0)} MB for a ${UPLOAD_MB} MB file of ${ingested.rows} rows ` +
        `(${(ingest.peakGrowthMb / UPLOAD_MB).toFixed(2)}× its size; its numeric columns' values take ${arraysMb.toFixed(1)} MB as Float64Array, ` +
        `${(ingest.peakGrowthMb / arraysMb).toFixed(1)}× that)`,
    );
    console.log(
      `  accepted upload (API): peak RSS growth ${accepted.peakGrowthMb.toFixed(0)} MB for the ${UPLOAD_MB} MB file of ${uploadedRows} rows ` +
        `(${(accepted.peakGrowthMb / UPLOAD_MB).toFixed(2)}× its size; yoga's multipart parser holds the file until the request has arrived, ` +
        `in memory the phases before freed, so this growth understates it); ` +
        `refused ${2 * UPLOAD_MB} MB upload: +${refused.peakGrowthMb.toFixed(1)} MB, answered after ${(refused.bytes / 1024 / 1024).toFixed(1)} MB sent`,
    );
  } finally {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
    await closeCore?.().catch(() => {});
    await database.drop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
