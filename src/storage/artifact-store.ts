// The routine:// file system on local disk: the only module that touches artifact files;
// everything else holds routine:// paths (layout.ts) and asks this module for local paths.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, promises as fs, type ReadStream } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { jsonCell, TableStatistics, tableStatistics } from './column-statistics.ts';
import {
  ArtifactError,
  artifactPath,
  checksumFile,
  configVersionFile,
  DATA_FILE,
  dataFileName,
  datasetPath,
  FOLDER,
  internalVarsPath,
  METADATA_FILE,
  parsePath,
  PREVIEW_FILE,
  ROUTINE_SCHEME,
  runPath,
  STATISTICS_FILE,
  withSlash,
} from './layout.ts';
import { parseTable, TableReader, TabularFormatError, type TabularFormat } from './tabular.ts';

export const DEFAULT_PREVIEW_ROWS = 100;
/** The most rows a run may ask for in a preview: previews are stored in the database and sent whole. */
export const MAX_PREVIEW_ROWS = 10_000;
const PREVIEW_TEXT_BYTES = 4096;
// 256 KiB reads: large enough for disk throughput, small enough that a slow client holds little.
const READ_CHUNK_BYTES = 256 * 1024;

export interface ArtifactPreview {
  columns: string[] | null;
  rows: unknown[][] | null;
  text: string | null;
  truncated: boolean;
}

export interface StoredArtifact {
  name: string;
  /** routine://…/artifacts_/{name}/ */
  path: string;
  contentType: string;
  sizeBytes: number;
  /** sha256 hex of the data file. */
  checksum: string;
  metadata: Record<string, unknown>;
  preview: ArtifactPreview | null;
  statistics: Record<string, unknown> | null;
}

export interface DataFile {
  size: number;
  /** Without the dot: csv, json, … */
  extension: string;
  modifiedAt: Date;
  /** A fresh stream of bytes `start`..`end` (both inclusive; default the whole file). */
  stream(range?: { start?: number; end?: number }): ReadStream;
}

export interface StoredDataset {
  /** routine://instances_/{instanceId}/shared_/datasets_/{id}/ */
  path: string;
  contentType: string;
  sizeBytes: number;
  checksum: string;
  rows: number;
  columns: string[];
  preview: ArtifactPreview;
  statistics: Record<string, unknown>;
}

export interface Table {
  columns: string[];
  rows: unknown[][];
}

interface RunRef {
  instanceId: string;
  runId: string;
}

interface WriteOptions extends RunRef {
  name: string;
  metadata?: Record<string, unknown>;
  includePreview: boolean;
  includeStatistics: boolean;
  previewRows?: number;
}

/** An instance config version as stored under internalvars_. */
export interface StoredConfigVersion {
  path: string;
  version: number;
  sizeBytes: number;
  /** sha256 hex of the file. */
  checksum: string;
}

export class ArtifactStore {
  readonly rootDir: string;

  constructor({ rootDir }: { rootDir: string }) {
    this.rootDir = path.resolve(rootDir);
  }

  /** The absolute local path behind a routine:// path; refuses anything that would leave the root. */
  resolveLocalPath(routineUri: string): string {
    if (typeof routineUri !== 'string' || !routineUri.startsWith(ROUTINE_SCHEME)) {
      throw new ArtifactError(`Not a routine:// path: ${JSON.stringify(routineUri)}`);
    }
    const relative = routineUri.slice(ROUTINE_SCHEME.length);
    if (relative.startsWith('/') || relative.includes('\\') || relative.includes('\0') || /^[a-z]:/i.test(relative)) {
      throw new ArtifactError(`routine:// path must be relative to the storage root: ${JSON.stringify(routineUri)}`);
    }
    const segments = relative.split('/');
    if (segments.some((segment) => segment === '..' || segment === '.')) {
      throw new ArtifactError(`routine:// path may not contain '.' or '..' segments: ${JSON.stringify(routineUri)}`);
    }
    const resolved = path.resolve(this.rootDir, relative);
    const fromRoot = path.relative(this.rootDir, resolved);
    if (fromRoot.startsWith('..') || path.isAbsolute(fromRoot)) {
      throw new ArtifactError(`routine:// path escapes the storage root: ${JSON.stringify(routineUri)}`);
    }
    return resolved;
  }

  /** The local data file of an artifact or data set (its extension is whatever it was written with). */
  async dataFilePath(artifactPath: string): Promise<string> {
    const dataDir = this.resolveLocalPath(`${withSlash(artifactPath)}${FOLDER.data}/`);
    const entries = await fs.readdir(dataDir).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [];
      throw error;
    });
    const file = entries.find((entry) => DATA_FILE.test(entry));
    if (!file) throw new Error(`Artifact has no data file: ${artifactPath}`);
    return path.join(dataDir, file);
  }

  /**
   * Opens the data file of an artifact or a data set for reading: its size and extension, and a
   * stream of any byte range of it (inclusive `end`, as HTTP ranges), so downloads never hold a
   * file in memory.
   */
  async openData(artifactPath: string): Promise<DataFile | null> {
    const file = await this.dataFilePath(artifactPath).catch(() => null);
    const info = file ? await fs.stat(file).catch(() => null) : null;
    // Deleted meanwhile (retention, deleteRun, deleteInstance) or never written (storeArtifacts: false).
    if (!file || !info) return null;
    return {
      size: info.size,
      extension: path.extname(file).slice(1),
      modifiedAt: info.mtime,
      stream: ({ start, end }: { start?: number; end?: number } = {}) =>
        createReadStream(file, { start, end, highWaterMark: READ_CHUNK_BYTES }),
    };
  }

  /**
   * Reads a stored table (an artifact or a data set, CSV or JSON) back as columns and rows, for
   * methods that take earlier results or uploads as input.
   */
  async readTable(routineUri: string): Promise<Table> {
    if (!parsePath(routineUri)) {
      throw new ArtifactError(`${JSON.stringify(routineUri)} is not the path of an artifact or a data set`);
    }
    const file = await this.dataFilePath(routineUri).catch(() => {
      throw new ArtifactError(`Nothing is stored at ${routineUri}`);
    });
    const text = await fs.readFile(file, 'utf8');
    const format = path.extname(file) === '.json' ? 'json' : 'csv';
    try {
      return parseTable({ text, format });
    } catch (error) {
      if (error instanceof TabularFormatError) throw new ArtifactError(`${routineUri} is not a table: ${error.message}`);
      throw error;
    }
  }

  /**
   * Stores an uploaded data set as it streams in: the bytes go to a temp file (renamed into place
   * only once the whole table has parsed) while they are parsed row by row, and only the preview
   * rows and per-column running statistics are kept, so memory does not follow the file's size
   * (numeric columns keep 8 bytes a value for exact quartiles). A TabularFormatError names the
   * line and column of the first problem; nothing of the data set is left on disk then.
   */
  async writeDataset({
    instanceId,
    datasetId,
    format,
    previewRows = DEFAULT_PREVIEW_ROWS,
    ...input
  }: {
    instanceId: string;
    datasetId: string;
    format: TabularFormat;
    previewRows?: number;
  } & ({ source: AsyncIterable<Uint8Array | string> } | { data: Uint8Array })): Promise<StoredDataset> {
    const source = 'source' in input ? input.source : [input.data];
    const routinePath = datasetPath({ instanceId, datasetId });
    const dir = this.resolveLocalPath(routinePath);
    const limit = Math.max(0, Math.floor(previewRows));
    const columns: string[] = [];
    const head: unknown[][] = [];
    let rows = 0;
    const statistics = new TableStatistics();
    const reader = new TableReader({
      format,
      sink: {
        onColumn: (name) => {
          columns.push(name);
          statistics.addColumn(name);
        },
        onRow: (row) => {
          rows++;
          statistics.addRow(row);
          if (head.length < limit) head.push(row.map(jsonCell));
        },
      },
    });
    try {
      const { sizeBytes, checksum } = await writeAtomicStream({
        file: path.join(dir, FOLDER.data, dataFileName(format)),
        source,
        headBytes: 0,
        inspect: { chunk: (chunk) => reader.push(chunk), end: () => reader.end() },
      });
      // A JSON record may name a column first after the preview's rows: they lack it.
      for (const row of head) while (row.length < columns.length) row.push(null);
      const contentType = format === 'csv' ? 'text/csv' : 'application/json';
      const preview: ArtifactPreview = { columns: [...columns], rows: head, text: null, truncated: rows > limit };
      const summary = statistics.result();
      await writeAtomic({ file: path.join(dir, FOLDER.previews, PREVIEW_FILE), data: jsonBytes(preview) });
      await writeAtomic({ file: path.join(dir, FOLDER.statistics, STATISTICS_FILE), data: jsonBytes(summary) });
      const metadata = { contentType, rows, columns, sizeBytes, checksum, createdAt: new Date().toISOString() };
      await writeAtomic({ file: path.join(dir, FOLDER.metadata, METADATA_FILE), data: jsonBytes(metadata) });
      return { path: routinePath, contentType, sizeBytes, checksum, rows, columns, preview, statistics: summary };
    } catch (error) {
      await this.deleteDataset({ instanceId, datasetId });
      throw error;
    }
  }

  async deleteDataset({ instanceId, datasetId }: { instanceId: string; datasetId: string }): Promise<void> {
    await fs.rm(this.resolveLocalPath(datasetPath({ instanceId, datasetId })), { recursive: true, force: true });
  }

  /** Removes an instance's state files (internalvars_), once the instance is deleted. */
  async deleteInternalVars({ instanceId }: { instanceId: string }): Promise<void> {
    await fs.rm(this.resolveLocalPath(internalVarsPath({ instanceId })), { recursive: true, force: true });
  }

  /** Removes the run's whole folder (artifacts and anything else under it). */
  async deleteRun({ instanceId, runId }: RunRef): Promise<void> {
    await fs.rm(this.resolveLocalPath(runPath({ instanceId, runId })), { recursive: true, force: true });
  }

  /**
   * Stores one version of an instance's config as `internalvars_/config-v{n}.json` with its
   * sha256 beside it. Rewriting a version (a retried recording) replaces both atomically.
   */
  async writeConfigVersion({
    instanceId,
    version,
    config,
  }: {
    instanceId: string;
    version: number;
    config: unknown;
  }): Promise<StoredConfigVersion> {
    const name = configVersionFile(version);
    const routinePath = `${internalVarsPath({ instanceId })}${name}`;
    const file = this.resolveLocalPath(routinePath);
    const data = jsonBytes(config);
    const checksum = createHash('sha256').update(data).digest('hex');
    await writeAtomic({ file, data });
    await writeAtomic({ file: this.resolveLocalPath(checksumFile(routinePath)), data: Buffer.from(`${checksum}  ${name}\n`, 'utf8') });
    return { path: routinePath, version, sizeBytes: data.length, checksum };
  }

  // ---- Writing ----

  async writeTable({ table, previewRows = DEFAULT_PREVIEW_ROWS, ...options }: WriteOptions & { table: Table }): Promise<StoredArtifact> {
    checkTable(table);
    const csv = stringify([table.columns, ...table.rows], {
      cast: {
        // csv-stringify's defaults write booleans as '1'/'' and dates as epoch numbers.
        boolean: (value) => String(value),
        date: (value) => value.toISOString(),
        bigint: (value) => value.toString(),
        object: (value) => JSON.stringify(value),
      },
    });
    return this.write({
      ...options,
      data: Buffer.from(csv, 'utf8'),
      extension: 'csv',
      contentType: 'text/csv',
      shape: { rows: table.rows.length, columns: table.columns },
      preview: () => tablePreview({ table, previewRows }),
      statistics: () => tableStatistics({ table }),
    });
  }

  async writeJson({ value, previewRows = DEFAULT_PREVIEW_ROWS, ...options }: WriteOptions & { value: unknown }): Promise<StoredArtifact> {
    const text = JSON.stringify(value, jsonReplacer, 2);
    if (text === undefined) throw new ArtifactError(`Artifact ${options.name}: value is not JSON-serializable`);
    const table = asTable(value);
    return this.write({
      ...options,
      data: Buffer.from(text, 'utf8'),
      extension: 'json',
      contentType: 'application/json',
      shape: table ? { rows: table.rows.length, columns: table.columns } : { rows: null, columns: null },
      preview: () => {
        const head = utf8Head({ text, maxBytes: PREVIEW_TEXT_BYTES });
        const tabular = table ? tablePreview({ table, previewRows }) : null;
        return {
          columns: tabular?.columns ?? null,
          rows: tabular?.rows ?? null,
          text: head,
          truncated: head.length < text.length || (tabular?.truncated ?? false),
        };
      },
      statistics: () => (table ? tableStatistics({ table }) : valueStatistics({ value })),
    });
  }

  /**
   * Streams an artifact's data to disk without holding it in memory (large outputs, uploads):
   * the checksum is computed on the way, the file appears atomically when complete, and the
   * preview, when asked for, is the head of the text. Statistics need the values, so a streamed
   * artifact has none; write a table for those.
   */
  async writeStream({
    instanceId,
    runId,
    name,
    metadata,
    includePreview,
    extension,
    contentType,
    source,
  }: Omit<WriteOptions, 'previewRows' | 'includeStatistics'> & {
    extension: string;
    contentType: string;
    source: AsyncIterable<Uint8Array | string>;
  }): Promise<StoredArtifact> {
    if (!/^[a-z0-9]{1,8}$/i.test(extension)) throw new ArtifactError(`Invalid data file extension ${JSON.stringify(extension)}`);
    const routinePath = artifactPath({ instanceId, runId, name });
    const dir = this.resolveLocalPath(routinePath);
    const { sizeBytes, checksum, head } = await writeAtomicStream({
      file: path.join(dir, FOLDER.data, dataFileName(extension)),
      source,
      headBytes: PREVIEW_TEXT_BYTES,
    });
    await removeOtherDataFiles({ dir: path.join(dir, FOLDER.data), keep: dataFileName(extension) });
    const storedPreview: ArtifactPreview | null = includePreview
      ? {
          columns: null,
          rows: null,
          text: utf8Head({ text: head.toString('utf8'), maxBytes: PREVIEW_TEXT_BYTES }),
          truncated: sizeBytes > head.length,
        }
      : null;
    if (storedPreview) {
      await writeAtomic({ file: path.join(dir, FOLDER.previews, PREVIEW_FILE), data: jsonBytes(storedPreview) });
    } else {
      await fs.rm(path.join(dir, FOLDER.previews), { recursive: true, force: true });
    }
    await fs.rm(path.join(dir, FOLDER.statistics), { recursive: true, force: true });
    const storedMetadata: Record<string, unknown> = {
      ...(metadata ?? {}),
      name,
      contentType,
      rows: null,
      columns: null,
      sizeBytes,
      checksum,
      createdAt: new Date().toISOString(),
    };
    await writeAtomic({ file: path.join(dir, FOLDER.metadata, METADATA_FILE), data: jsonBytes(storedMetadata) });
    return {
      name,
      path: routinePath,
      contentType,
      sizeBytes,
      checksum,
      metadata: storedMetadata,
      preview: storedPreview,
      statistics: null,
    };
  }

  private async write({
    instanceId,
    runId,
    name,
    metadata,
    includePreview,
    includeStatistics,
    data,
    extension,
    contentType,
    shape,
    preview,
    statistics,
  }: Omit<WriteOptions, 'previewRows'> & {
    data: Buffer;
    extension: string;
    contentType: string;
    shape: { rows: number | null; columns: string[] | null };
    preview: () => ArtifactPreview;
    statistics: () => Record<string, unknown>;
  }): Promise<StoredArtifact> {
    const routinePath = artifactPath({ instanceId, runId, name });
    const dir = this.resolveLocalPath(routinePath);
    const checksum = createHash('sha256').update(data).digest('hex');

    // Data first, metadata last: a folder with metadata.json is a complete artifact, even if a
    // killed attempt left an earlier folder half-written.
    await writeAtomic({ file: path.join(dir, FOLDER.data, dataFileName(extension)), data });
    await removeOtherDataFiles({ dir: path.join(dir, FOLDER.data), keep: dataFileName(extension) });

    const storedPreview = includePreview ? preview() : null;
    if (storedPreview) {
      await writeAtomic({ file: path.join(dir, FOLDER.previews, PREVIEW_FILE), data: jsonBytes(storedPreview) });
    } else {
      // A retried attempt with the same name must not inherit an earlier attempt's extras.
      await fs.rm(path.join(dir, FOLDER.previews), { recursive: true, force: true });
    }
    const storedStatistics = includeStatistics ? statistics() : null;
    if (storedStatistics) {
      await writeAtomic({ file: path.join(dir, FOLDER.statistics, STATISTICS_FILE), data: jsonBytes(storedStatistics) });
    } else {
      await fs.rm(path.join(dir, FOLDER.statistics), { recursive: true, force: true });
    }

    const storedMetadata: Record<string, unknown> = {
      ...(metadata ?? {}),
      name,
      contentType,
      rows: shape.rows,
      columns: shape.columns,
      sizeBytes: data.length,
      checksum,
      createdAt: new Date().toISOString(),
    };
    await writeAtomic({ file: path.join(dir, FOLDER.metadata, METADATA_FILE), data: jsonBytes(storedMetadata) });

    return {
      name,
      path: routinePath,
      contentType,
      sizeBytes: data.length,
      checksum,
      metadata: storedMetadata,
      preview: storedPreview,
      statistics: storedStatistics,
    };
  }
}

// ---- Files ----

const TEMP_MARK = '.tmp-';
const HOST = hostname();
/** A temp file untouched this long belongs to no live writer, whichever host wrote it. */
const STALE_TEMP_MS = 15 * 60 * 1000;

async function writeAtomic({ file, data }: { file: string; data: Buffer }): Promise<void> {
  await replaceAtomically({ file, fill: (handle) => handle.writeFile(data) });
}

/**
 * writeAtomic for data that arrives in pieces: hashes and counts on the way, keeps the head, and
 * shows each piece to `inspect` (a parser) while it is being written; `inspect` throwing, from a
 * piece or at the end, fails the write and leaves no file.
 */
async function writeAtomicStream({
  file,
  source,
  headBytes,
  inspect,
}: {
  file: string;
  source: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>;
  headBytes: number;
  inspect?: { chunk(piece: Uint8Array): void; end(): void };
}): Promise<{ sizeBytes: number; checksum: string; head: Buffer }> {
  return replaceAtomically({
    file,
    fill: async (handle) => {
      const hash = createHash('sha256');
      let sizeBytes = 0;
      const headChunks: Buffer[] = [];
      let headLength = 0;
      for await (const piece of source) {
        const chunk = typeof piece === 'string' ? Buffer.from(piece, 'utf8') : piece;
        hash.update(chunk);
        sizeBytes += chunk.length;
        if (headLength < headBytes) {
          const part = Buffer.from(chunk.subarray(0, headBytes - headLength));
          headChunks.push(part);
          headLength += part.length;
        }
        // Awaiting each write is the backpressure: the producer is paused while the disk catches up.
        // The inspector parses the piece meanwhile (the write runs on libuv's thread pool).
        const writing = writeFully(handle, chunk);
        if (inspect) {
          try {
            inspect.chunk(chunk);
          } catch (error) {
            await writing.catch(() => {});
            throw error;
          }
        }
        await writing;
      }
      inspect?.end();
      return { sizeBytes, checksum: hash.digest('hex'), head: Buffer.concat(headChunks) };
    },
  });
}

async function writeFully(handle: fs.FileHandle, chunk: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < chunk.length) {
    const { bytesWritten } = await handle.write(chunk, offset, chunk.length - offset);
    offset += bytesWritten;
  }
}

/**
 * Fills a temp file in the target's folder, fsyncs it and renames it over the target, so readers
 * see the old or the new file, never half (rename is atomic within one file system). A failed
 * fill leaves no temp file behind.
 */
async function replaceAtomically<T>({ file, fill }: { file: string; fill: (handle: fs.FileHandle) => Promise<T> }): Promise<T> {
  const dir = path.dirname(file);
  await fs.mkdir(dir, { recursive: true });
  await removeStaleTemps({ dir, base: path.basename(file) });
  const temp = path.join(dir, `.${path.basename(file)}${TEMP_MARK}${HOST}-${process.pid}-${randomBytes(6).toString('hex')}`);
  const handle = await fs.open(temp, 'wx');
  let result: T;
  try {
    result = await fill(handle);
    await handle.sync();
  } catch (error) {
    await handle.close().catch(() => {});
    await fs.rm(temp, { force: true });
    throw error;
  }
  await handle.close();
  try {
    await fs.rename(temp, file);
  } catch (error) {
    await fs.rm(temp, { force: true });
    throw error;
  }
  await syncDir(dir);
  return result;
}

// An attempt killed mid-write (timeout, OOM, cancel) leaves its temp file behind; the next write
// of the same file sweeps it. A temp may also belong to a concurrent writer, so only temps of a
// dead process on this host, or old ones, go.
async function removeStaleTemps({ dir, base }: { dir: string; base: string }): Promise<void> {
  const prefix = `.${base}${TEMP_MARK}`;
  const temps = (await fs.readdir(dir)).filter((entry) => entry.startsWith(prefix));
  await Promise.all(
    temps.map(async (entry) => {
      const full = path.join(dir, entry);
      const owner = /^(.*)-(\d+)-[0-9a-f]+$/.exec(entry.slice(prefix.length));
      const deadLocalWriter = owner !== null && owner[1] === HOST && !isAlive(Number(owner[2]));
      const stat = await fs.stat(full).catch(() => null);
      if (stat && (deadLocalWriter || Date.now() - stat.mtimeMs > STALE_TEMP_MS)) await fs.rm(full, { force: true });
    }),
  );
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function removeOtherDataFiles({ dir, keep }: { dir: string; keep: string }): Promise<void> {
  const entries = await fs.readdir(dir);
  await Promise.all(
    entries.filter((entry) => entry !== keep && DATA_FILE.test(entry)).map((entry) => fs.rm(path.join(dir, entry), { force: true })),
  );
}

// Makes the rename itself durable; not every platform lets a directory be fsynced, which is fine.
async function syncDir(dir: string): Promise<void> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(dir, 'r');
    await handle.sync();
  } catch {
    // best effort
  } finally {
    await handle?.close().catch(() => {});
  }
}

// ---- Validation ----

function checkTable(table: Table): void {
  if (!table || !Array.isArray(table.columns) || !Array.isArray(table.rows)) {
    throw new ArtifactError('A table needs `columns` (string[]) and `rows` (unknown[][])');
  }
  if (table.columns.some((column) => typeof column !== 'string')) throw new ArtifactError('Table columns must be strings');
  if (new Set(table.columns).size !== table.columns.length) throw new ArtifactError('Table columns must be unique');
  table.rows.forEach((row, index) => {
    if (!Array.isArray(row) || row.length !== table.columns.length) {
      throw new ArtifactError(`Table row ${index} has ${Array.isArray(row) ? row.length : 'no'} cells, expected ${table.columns.length}`);
    }
  });
}

// ---- Previews ----

function tablePreview({ table, previewRows }: { table: Table; previewRows: number }): ArtifactPreview {
  const limit = Math.max(0, Math.floor(previewRows));
  return {
    columns: [...table.columns],
    rows: table.rows.slice(0, limit).map((row) => row.map(jsonCell)),
    text: null,
    truncated: table.rows.length > limit,
  };
}

/** Cuts at a UTF-8 byte budget without splitting a character. */
function utf8Head({ text, maxBytes }: { text: string; maxBytes: number }): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return text;
  let end = maxBytes;
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString('utf8');
}

/** An array of flat records or flat arrays previews and summarizes like a table. */
function asTable(value: unknown): Table | null {
  if (!Array.isArray(value) || value.length === 0) return null;
  if (value.every((item) => Array.isArray(item) && item.every(isScalar))) {
    const width = Math.max(...value.map((item: unknown[]) => item.length));
    return {
      columns: Array.from({ length: width }, (_, index) => `c${index}`),
      rows: value.map((item: unknown[]) => Array.from({ length: width }, (_, index) => item[index] ?? null)),
    };
  }
  if (value.every((item) => isPlainObject(item) && Object.values(item).every(isScalar))) {
    const columns: string[] = [];
    const seen = new Set<string>();
    for (const item of value as Record<string, unknown>[]) {
      for (const key of Object.keys(item)) {
        if (!seen.has(key)) {
          seen.add(key);
          columns.push(key);
        }
      }
    }
    return { columns, rows: (value as Record<string, unknown>[]).map((item) => columns.map((column) => item[column] ?? null)) };
  }
  return null;
}

function isScalar(value: unknown): boolean {
  return value === null || ['string', 'number', 'boolean'].includes(typeof value);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function jsonReplacer(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

function jsonBytes(value: unknown): Buffer {
  return Buffer.from(`${JSON.stringify(value, jsonReplacer, 2)}\n`, 'utf8');
}

// ---- Statistics (column statistics: column-statistics.ts) ----

function valueStatistics({ value }: { value: unknown }): Record<string, unknown> {
  if (Array.isArray(value)) return { type: 'array', length: value.length };
  if (isPlainObject(value)) return { type: 'object', keys: Object.keys(value).length };
  return { type: value === null ? 'null' : typeof value };
}
