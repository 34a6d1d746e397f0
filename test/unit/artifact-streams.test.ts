// The storage module's streaming side: a large artifact written piece by piece (hashed on the
// way, atomic), read back by byte range, and routine:// paths of artifacts and data sets parsed.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArtifactStore } from '../../src/storage/artifact-store.ts';
import { artifactPath, parsePath } from '../../src/storage/layout.ts';

let root: string;
let store: ArtifactStore;
beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'artifact-streams-'));
  store = new ArtifactStore({ rootDir: root });
});
afterAll(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

async function* pieces(count: number, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < count; i++) yield Buffer.alloc(size, String.fromCharCode(97 + (i % 26)));
}

async function readAll(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('streamed artifacts', () => {
  it('writes 8 MiB in pieces with its checksum, size and text preview, leaving no temp file', async () => {
    const expected = await readAll(pieces(128, 65536));
    const stored = await store.writeStream({
      instanceId: 'inst',
      runId: 'run-1',
      name: 'big',
      extension: 'txt',
      contentType: 'text/plain',
      includePreview: true,
      source: pieces(128, 65536),
    });
    expect(stored).toMatchObject({
      sizeBytes: 8 * 1024 * 1024,
      checksum: createHash('sha256').update(expected).digest('hex'),
      statistics: null,
    });
    expect(stored.preview).toMatchObject({ columns: null, rows: null, truncated: true });
    expect(stored.preview!.text).toBe('a'.repeat(4096));
    expect(stored.metadata).toMatchObject({ sizeBytes: 8 * 1024 * 1024, checksum: stored.checksum });

    const data = await store.openData(stored.path);
    expect(data).toMatchObject({ size: 8 * 1024 * 1024, extension: 'txt' });
    expect((await readAll(data!.stream())).equals(expected)).toBe(true);
    // Inclusive byte ranges, as HTTP asks for them: the end of piece 0 and the start of piece 1.
    expect((await readAll(data!.stream({ start: 65534, end: 65537 }))).toString()).toBe('aabb');
    const folder = path.dirname(await store.dataFilePath(stored.path));
    expect(await fs.readdir(folder)).toEqual(['data.txt']);
  });

  it('keeps the previous file when a stream fails midway', async () => {
    async function* failing(): AsyncGenerator<Buffer> {
      yield Buffer.from('partial');
      throw new Error('source broke');
    }
    await expect(
      store.writeStream({
        instanceId: 'inst',
        runId: 'run-1',
        name: 'big',
        extension: 'txt',
        contentType: 'text/plain',
        includePreview: false,
        source: failing(),
      }),
    ).rejects.toThrow('source broke');
    const data = await store.openData(artifactPath({ instanceId: 'inst', runId: 'run-1', name: 'big' }));
    expect(data!.size).toBe(8 * 1024 * 1024);
    expect(
      await fs.readdir(path.dirname(await store.dataFilePath(artifactPath({ instanceId: 'inst', runId: 'run-1', name: 'big' })))),
    ).toEqual(['data.txt']);
  });

  it('has nothing to open for an artifact that was never stored', async () => {
    expect(await store.openData(artifactPath({ instanceId: 'inst', runId: 'run-2', name: 'nothing' }))).toBeNull();
  });
});

describe('routine:// paths', () => {
  it('tells artifacts from data sets and refuses anything else', () => {
    expect(parsePath('routine://instances_/i1/shared_/runs_/r1/shared_/artifacts_/clustered_data/')).toEqual({
      kind: 'artifact',
      instanceId: 'i1',
      runId: 'r1',
      name: 'clustered_data',
    });
    expect(parsePath('routine://instances_/i1/shared_/datasets_/d1')).toEqual({ kind: 'dataset', instanceId: 'i1', datasetId: 'd1' });
    for (const other of [
      'routine://instances_/i1/internalvars_/',
      'routine://instances_/i1/shared_/runs_/r1/',
      'routine://instances_/../shared_/datasets_/d1/',
      'routine://instances_/i1/shared_/runs_/r1/shared_/artifacts_/a/b/',
      'file:///etc/passwd',
    ]) {
      expect(parsePath(other), other).toBeNull();
    }
  });

  it('reads back a stored table, CSV or JSON, as columns and rows', async () => {
    const stored = await store.writeDataset({ instanceId: 'inst', datasetId: 'ds1', data: Buffer.from('a,b\n1,x\n2,\n'), format: 'csv' });
    expect(stored.path).toBe('routine://instances_/inst/shared_/datasets_/ds1/');
    expect(await store.readTable(stored.path)).toEqual({
      columns: ['a', 'b'],
      rows: [
        [1, 'x'],
        [2, null],
      ],
    });
    await expect(store.readTable('routine://instances_/inst/shared_/datasets_/missing/')).rejects.toThrow(/Nothing is stored/);
  });
});
