// The routine:// file system on local disk: layout, file contents, previews and statistics only
// when asked, atomic writes, and refusal of paths that would leave the storage root.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ArtifactStore } from '../../src/storage/artifact-store.ts';
import { artifactPath, internalVarsPath, runPath } from '../../src/storage/layout.ts';

let root: string;
let store: ArtifactStore;
const ids = { instanceId: 'inst-1', runId: 'run-1' };
const RUN_DIR = 'instances_/inst-1/shared_/runs_/run-1';
const ARTIFACTS_DIR = `${RUN_DIR}/shared_/artifacts_`;

beforeEach(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'artifact-store-'));
  store = new ArtifactStore({ rootDir: root });
});

afterEach(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

/** The pid of a process that has exited (and is not yet reused). */
async function deadProcessId(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0']);
  await once(child, 'exit');
  return child.pid!;
}

/** Every file under the root, relative, sorted. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(root, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'))
    .sort();
}

const people = {
  columns: ['name', 'age', 'active', 'city'],
  rows: [
    ['Ada', 36, true, 'London'],
    ['Grace', 85, false, 'New York, NY'],
    ['Linus', null, true, 'Portland'],
    ['Alan "AT" Turing', 41, false, 'London'],
  ],
};

describe('layout', () => {
  it('names run and artifact folders with the raw ids, as routine:// paths', () => {
    expect(runPath(ids)).toBe('routine://instances_/inst-1/shared_/runs_/run-1/');
    expect(artifactPath({ ...ids, name: 'cluster_report' })).toBe(
      'routine://instances_/inst-1/shared_/runs_/run-1/shared_/artifacts_/cluster_report/',
    );
    expect(internalVarsPath({ instanceId: 'inst-1' })).toBe('routine://instances_/inst-1/internalvars_/');
    expect(store.resolveLocalPath(artifactPath({ ...ids, name: 'a' }))).toBe(path.join(root, ARTIFACTS_DIR, 'a'));
  });

  it('writes only data and metadata when neither preview nor statistics is asked for', async () => {
    const artifact = await store.writeTable({ ...ids, name: 'people', table: people, includePreview: false, includeStatistics: false });
    expect(await filesUnder(root)).toEqual([`${ARTIFACTS_DIR}/people/data_/data.csv`, `${ARTIFACTS_DIR}/people/metadata_/metadata.json`]);
    expect(artifact.preview).toBeNull();
    expect(artifact.statistics).toBeNull();
  });

  it('adds previews_/preview.json and statistics_/statistics.json when asked', async () => {
    await store.writeTable({ ...ids, name: 'people', table: people, includePreview: true, includeStatistics: true });
    await store.writeJson({ ...ids, name: 'report', value: { ok: true }, includePreview: true, includeStatistics: false });
    expect(await filesUnder(root)).toEqual([
      `${ARTIFACTS_DIR}/people/data_/data.csv`,
      `${ARTIFACTS_DIR}/people/metadata_/metadata.json`,
      `${ARTIFACTS_DIR}/people/previews_/preview.json`,
      `${ARTIFACTS_DIR}/people/statistics_/statistics.json`,
      `${ARTIFACTS_DIR}/report/data_/data.json`,
      `${ARTIFACTS_DIR}/report/metadata_/metadata.json`,
      `${ARTIFACTS_DIR}/report/previews_/preview.json`,
    ]);
  });

  it('refuses artifact names and ids that are not a single safe path segment', async () => {
    for (const name of ['', '../x', 'a/b', '.hidden', 'x'.repeat(65), 'sp ace']) {
      await expect(store.writeJson({ ...ids, name, value: 1, includePreview: false, includeStatistics: false })).rejects.toThrow(
        /Invalid artifact name/,
      );
    }
    expect(() => runPath({ instanceId: '../other', runId: 'r' })).toThrow(/Invalid instanceId/);
    expect(() => runPath({ instanceId: 'i', runId: 'a/b' })).toThrow(/Invalid runId/);
    expect(await filesUnder(root)).toEqual([]);
  });

  it('refuses routine:// paths that escape the root, are absolute or use another scheme', () => {
    for (const uri of [
      'routine://../etc/passwd',
      'routine://instances_/../../x',
      'routine://instances_/a/./b',
      'routine:///etc/passwd',
      'routine://C:/Windows',
      'routine://a\\..\\b',
      'file:///etc/passwd',
      '/etc/passwd',
      'instances_/a',
    ]) {
      expect(() => store.resolveLocalPath(uri), uri).toThrow(/routine:\/\//);
    }
  });
});

describe('tables', () => {
  it('writes CSV with a header, quoting, booleans as words and nulls as empty cells', async () => {
    const artifact = await store.writeTable({ ...ids, name: 'people', table: people, includePreview: false, includeStatistics: false });
    const file = await store.dataFilePath(artifact.path);
    expect(file).toBe(path.join(root, ARTIFACTS_DIR, 'people', 'data_', 'data.csv'));
    const csv = await fs.readFile(file, 'utf8');
    expect(csv).toBe(
      [
        'name,age,active,city',
        'Ada,36,true,London',
        'Grace,85,false,"New York, NY"',
        'Linus,,true,Portland',
        '"Alan ""AT"" Turing",41,false,London',
        '',
      ].join('\n'),
    );
    expect(artifact.contentType).toBe('text/csv');
    expect(artifact.sizeBytes).toBe(Buffer.byteLength(csv));
    expect(artifact.checksum).toBe(createHash('sha256').update(csv).digest('hex'));
  });

  it('stores user metadata with the shape, size, checksum and creation time', async () => {
    const artifact = await store.writeTable({
      ...ids,
      name: 'people',
      table: people,
      metadata: { source: 'hr.csv', sizeBytes: 'user values never override the facts' },
      includePreview: false,
      includeStatistics: false,
    });
    const onDisk = JSON.parse(await fs.readFile(path.join(root, ARTIFACTS_DIR, 'people/metadata_/metadata.json'), 'utf8'));
    expect(onDisk).toEqual(artifact.metadata);
    expect(onDisk).toMatchObject({
      source: 'hr.csv',
      rows: 4,
      columns: ['name', 'age', 'active', 'city'],
      sizeBytes: artifact.sizeBytes,
      checksum: artifact.checksum,
    });
    expect(Date.parse(onDisk.createdAt)).toBeGreaterThan(Date.now() - 60_000);
  });

  it('previews the first rows and says when it cut the table', async () => {
    const table = { columns: ['i'], rows: Array.from({ length: 250 }, (_, i) => [i]) };
    const cut = await store.writeTable({ ...ids, name: 'long', table, includePreview: true, includeStatistics: false, previewRows: 10 });
    expect(cut.preview).toEqual({ columns: ['i'], rows: table.rows.slice(0, 10), text: null, truncated: true });
    const whole = await store.writeTable({ ...ids, name: 'short', table: people, includePreview: true, includeStatistics: false });
    expect(whole.preview?.truncated).toBe(false);
    expect(whole.preview?.rows).toHaveLength(4);
    const onDisk = JSON.parse(await fs.readFile(path.join(root, ARTIFACTS_DIR, 'long/previews_/preview.json'), 'utf8'));
    expect(onDisk).toEqual(cut.preview);
  });

  it('summarizes numeric columns with quartiles and text columns with top values', async () => {
    const artifact = await store.writeTable({ ...ids, name: 'people', table: people, includePreview: false, includeStatistics: true });
    const statistics = artifact.statistics as { rows: number; columns: Record<string, unknown>[] };
    expect(statistics.rows).toBe(4);
    const [name, age, active, city] = statistics.columns;
    expect(age).toMatchObject({ name: 'age', type: 'numeric', count: 3, nulls: 1, min: 36, max: 85, median: 41, q1: 38.5, q3: 63 });
    expect(age.mean as number).toBeCloseTo(54, 10);
    expect(age.std as number).toBeCloseTo(Math.sqrt(((36 - 54) ** 2 + (85 - 54) ** 2 + (41 - 54) ** 2) / 2), 10);
    expect(city).toMatchObject({ type: 'categorical', count: 4, nulls: 0, distinct: 3 });
    expect((city.top as unknown[])[0]).toEqual({ value: 'London', count: 2 });
    expect(active).toMatchObject({ type: 'categorical', distinct: 2 });
    expect(name).toMatchObject({ distinct: 4 });
    const onDisk = JSON.parse(await fs.readFile(path.join(root, ARTIFACTS_DIR, 'people/statistics_/statistics.json'), 'utf8'));
    expect(onDisk).toEqual(artifact.statistics);
  });

  it('refuses rows whose width differs from the header', async () => {
    await expect(
      store.writeTable({
        ...ids,
        name: 'bad',
        table: { columns: ['a', 'b'], rows: [[1]] },
        includePreview: false,
        includeStatistics: false,
      }),
    ).rejects.toThrow(/row 0 has 1 cells, expected 2/);
  });
});

describe('JSON', () => {
  it('previews the head of the pretty text and flags a cut', async () => {
    const value = { values: Array.from({ length: 2000 }, (_, i) => ({ i, label: `item ${i}`, nested: { deep: [i] } })) };
    const artifact = await store.writeJson({ ...ids, name: 'big', value, includePreview: true, includeStatistics: true });
    const text = await fs.readFile(await store.dataFilePath(artifact.path), 'utf8');
    expect(JSON.parse(text)).toEqual(value);
    expect(artifact.contentType).toBe('application/json');
    expect(artifact.preview?.truncated).toBe(true);
    expect(Buffer.byteLength(artifact.preview!.text!)).toBeLessThanOrEqual(4096);
    expect(text.startsWith(artifact.preview!.text!)).toBe(true);
    expect(artifact.preview?.columns).toBeNull();
    expect(artifact.statistics).toEqual({ type: 'object', keys: 1 });
  });

  it('treats an array of flat records as a table', async () => {
    const value = [
      { city: 'Oslo', temperature: -3 },
      { city: 'Lima', temperature: 19, humid: true },
    ];
    const artifact = await store.writeJson({ ...ids, name: 'weather', value, includePreview: true, includeStatistics: true });
    expect(artifact.preview).toMatchObject({
      columns: ['city', 'temperature', 'humid'],
      rows: [
        ['Oslo', -3, null],
        ['Lima', 19, true],
      ],
      truncated: false,
    });
    const columns = (artifact.statistics as { columns: Record<string, unknown>[] }).columns;
    expect(columns[1]).toMatchObject({ name: 'temperature', type: 'numeric', mean: 8, min: -3, max: 19 });
    expect(columns[2]).toMatchObject({ name: 'humid', nulls: 1, count: 1 });
    expect(artifact.metadata).toMatchObject({ rows: 2, columns: ['city', 'temperature', 'humid'] });
  });
});

describe('atomic writes', () => {
  it('leaves no temp files, replaces on rewrite and sweeps what a killed attempt left', async () => {
    const dataDir = path.join(root, ARTIFACTS_DIR, 'report', 'data_');
    await fs.mkdir(dataDir, { recursive: true });
    // What a process killed between write and rename leaves behind: one from a dead process on
    // this host, one from long ago on another host; a fresh one from another host may be live.
    const deadPid = await deadProcessId();
    await fs.writeFile(path.join(dataDir, `.data.json.tmp-${os.hostname()}-${deadPid}-deadbeef`), '{"half":');
    const old = path.join(dataDir, '.data.json.tmp-other-host-12-cafe');
    await fs.writeFile(old, '{"half":');
    await fs.utimes(old, new Date(Date.now() - 3_600_000), new Date(Date.now() - 3_600_000));
    const live = '.data.json.tmp-other-host-13-beef';
    await fs.writeFile(path.join(dataDir, live), '{"in progress":');

    await store.writeJson({ ...ids, name: 'report', value: { version: 1 }, includePreview: true, includeStatistics: true });
    const second = await store.writeJson({
      ...ids,
      name: 'report',
      value: { version: 2 },
      includePreview: false,
      includeStatistics: false,
    });

    expect(await filesUnder(root)).toEqual([
      `${ARTIFACTS_DIR}/report/data_/${live}`,
      `${ARTIFACTS_DIR}/report/data_/data.json`,
      `${ARTIFACTS_DIR}/report/metadata_/metadata.json`,
    ]);
    expect(JSON.parse(await fs.readFile(path.join(dataDir, 'data.json'), 'utf8'))).toEqual({ version: 2 });
    expect(second.preview).toBeNull();
  });

  it('keeps the old file intact while writers race on the same artifact', async () => {
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        store.writeJson({ ...ids, name: 'race', value: { i, pad: 'x'.repeat(10_000) }, includePreview: false, includeStatistics: false }),
      ),
    );
    const text = await fs.readFile(path.join(root, ARTIFACTS_DIR, 'race/data_/data.json'), 'utf8');
    expect(JSON.parse(text).pad).toHaveLength(10_000);
    expect((await filesUnder(root)).filter((file) => file.includes('.tmp-'))).toEqual([]);
  });
});

describe('deleting a run', () => {
  it('removes that run folder and nothing else', async () => {
    await store.writeJson({ ...ids, name: 'a', value: 1, includePreview: false, includeStatistics: false });
    await store.writeJson({ ...ids, runId: 'run-2', name: 'b', value: 2, includePreview: false, includeStatistics: false });
    await store.deleteRun(ids);
    expect(await filesUnder(root)).toEqual([
      'instances_/inst-1/shared_/runs_/run-2/shared_/artifacts_/b/data_/data.json',
      'instances_/inst-1/shared_/runs_/run-2/shared_/artifacts_/b/metadata_/metadata.json',
    ]);
    await expect(store.deleteRun(ids)).resolves.toBeUndefined();
  });
});
