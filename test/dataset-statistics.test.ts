// Column statistics computed while a data set streams in (src/storage/column-statistics.ts) and
// the streaming table reader (src/storage/tabular.ts): a 200,000-row upload through the API gives
// the same figures as computing them here from the generated values, in pieces of any size the
// reader gives the same rows as reading the text whole, and a malformed row deep in a large file
// is named by its line and leaves nothing stored.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { print } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../src/auth/tokens.ts';
import { MAX_TRACKED_DISTINCT, tableStatistics } from '../src/storage/column-statistics.ts';
import { parseTable, TableReader } from '../src/storage/tabular.ts';
import { graphql } from './gql/index.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';

const UploadLargeDataset = graphql(`
  mutation UploadLargeDataset($input: UploadDatasetInput!) {
    uploadDataset(input: $input) {
      __typename
      ... on UploadDatasetSuccess {
        dataset {
          id
          rows
          columns
          checksum
          sizeBytes
          preview {
            columns
            rows
            truncated
          }
          statistics
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

const CreateStatsInstance = graphql(`
  mutation CreateStatsInstance($input: CreateInstanceInput!) {
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

const ROWS = 200_000;
const LABELS = Array.from({ length: 50 }, (_, index) => `segment ${index}`);

/** A seeded generator, so a failure can be reproduced. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * id: unique integers; x: floats with ~1% empty cells; label: 50 categories, some quoted with a
 * comma inside; code: numbers (20,000 distinct) except a few "n/a", so it ends categorical with
 * more distinct values than are tracked.
 */
function generate(): { csv: string; columns: Array<Array<number | string | null>> } {
  const next = random(42);
  const id: number[] = [];
  const x: Array<number | null> = [];
  const label: string[] = [];
  const code: Array<number | string> = [];
  const lines = ['id,x,label,code'];
  for (let row = 0; row < ROWS; row++) {
    const value = next() < 0.01 ? null : Math.round((next() * 2 - 1) * 1e6) / 1e3 + row / 7;
    const name = next() < 0.1 ? `${LABELS[row % LABELS.length]}, north` : LABELS[Math.floor(next() * LABELS.length)];
    const codeValue = row % 9973 === 5000 ? 'n/a' : (row * 7919) % 20_000;
    id.push(row);
    x.push(value);
    label.push(name);
    code.push(codeValue);
    lines.push(`${row},${value ?? ''},${name.includes(',') ? `"${name}"` : name},${codeValue}`);
  }
  return { csv: `${lines.join('\r\n')}\r\n`, columns: [id, x, label, code] };
}

/** numpy's default (linear) quantile of sorted values. */
function quantile(sorted: Float64Array, p: number): number {
  const position = (sorted.length - 1) * p;
  const lower = Math.floor(position);
  const upper = Math.min(lower + 1, sorted.length - 1);
  return sorted[lower] + (position - lower) * (sorted[upper] - sorted[lower]);
}

/** The statistics of one column, computed directly: two-pass mean and variance, a full sort, full counts. */
function expectedColumn(name: string, values: Array<number | string | null>): Record<string, unknown> {
  const present = values.filter((value) => value !== null);
  const base = { name, count: present.length, nulls: values.length - present.length };
  if (present.every((value) => typeof value === 'number')) {
    const numbers = Float64Array.from(present as number[]).sort();
    const mean = numbers.reduce((sum, value) => sum + value, 0) / numbers.length;
    const variance = numbers.reduce((sum, value) => sum + (value - mean) ** 2, 0) / (numbers.length - 1);
    return {
      ...base,
      type: 'numeric',
      mean,
      std: Math.sqrt(variance),
      min: numbers[0],
      max: numbers[numbers.length - 1],
      q1: quantile(numbers, 0.25),
      median: quantile(numbers, 0.5),
      q3: quantile(numbers, 0.75),
    };
  }
  const counts = new Map<string, number>();
  for (const value of present) counts.set(String(value), (counts.get(String(value)) ?? 0) + 1);
  const top = [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 10);
  return {
    ...base,
    type: 'categorical',
    distinct: Math.min(counts.size, MAX_TRACKED_DISTINCT),
    distinctCapped: counts.size > MAX_TRACKED_DISTINCT,
    top: top.map(([value, count]) => ({ value, count })),
  };
}

function expectSameStatistics(actual: Record<string, unknown>, expected: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(expected)) {
    if (typeof value === 'number' && !Number.isInteger(value)) {
      // Welford's running figures and the two-pass ones differ only in the last bits.
      expect(Math.abs((actual[key] as number) - value), `${expected.name}.${key}`).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(value)));
    } else {
      expect(actual[key], `${expected.name}.${key}`).toEqual(value);
    }
  }
}

describe('column statistics', () => {
  it('a column turns categorical at its first text and counts the numbers before it as categories', () => {
    const stats = tableStatistics({ table: { columns: ['v'], rows: [[1], [2], [null], [1], ['x'], [Number.NaN]] } }) as {
      columns: Array<Record<string, unknown>>;
    };
    expect(stats.columns[0]).toEqual({
      name: 'v',
      count: 4,
      nulls: 2,
      type: 'categorical',
      distinct: 3,
      distinctCapped: false,
      top: [
        { value: '1', count: 2 },
        { value: '2', count: 1 },
        { value: 'x', count: 1 },
      ],
    });
  });

  it(`counts distinct values exactly up to ${MAX_TRACKED_DISTINCT}, then says it stopped counting`, () => {
    const rows = Array.from({ length: MAX_TRACKED_DISTINCT + 500 }, (_, index) => [`v${index}`, `w${index % MAX_TRACKED_DISTINCT}`]);
    const stats = tableStatistics({ table: { columns: ['over', 'at'], rows } }) as { columns: Array<Record<string, unknown>> };
    expect(stats.columns[0]).toMatchObject({ distinct: MAX_TRACKED_DISTINCT, distinctCapped: true, count: MAX_TRACKED_DISTINCT + 500 });
    expect(stats.columns[1]).toMatchObject({ distinct: MAX_TRACKED_DISTINCT, distinctCapped: false });
  });

  it('reads the same rows from a CSV in pieces of any size as from the whole text', () => {
    const { csv } = generate();
    const sample = csv.slice(0, csv.indexOf('\r\n', 200_000) + 2) + 'x,"multi\r\nline, ""quoted""",y,z\n\n1,,"",2';
    const whole = parseTable({ text: sample, format: 'csv' });
    expect(whole.rows.at(-2)).toEqual(['x', 'multi\r\nline, "quoted"', 'y', 'z']);
    expect(whole.rows.at(-1)).toEqual([1, null, '', 2]);
    const bytes = Buffer.from(sample);
    const next = random(7);
    for (let trial = 0; trial < 5; trial++) {
      const rows: unknown[][] = [];
      const reader = new TableReader({ format: 'csv', sink: { onColumn: () => {}, onRow: (row) => rows.push(row) } });
      for (let offset = 0; offset < bytes.length;) {
        const size = 1 + Math.floor(next() * (trial === 0 ? 3 : 5000));
        reader.push(bytes.subarray(offset, offset + size));
        offset += size;
      }
      reader.end();
      expect(rows).toEqual(whole.rows);
    }
  });
});

describe('a large data set uploaded through the API', () => {
  let stack: TestStack;
  let token: string;
  let instanceId: string;
  const data = generate();

  beforeAll(async () => {
    stack = await startTestStack({ withWorker: false, env: { DATASET_MAX_BYTES: String(32 * 1024 * 1024) } });
    token = (await createToken({ db: stack.core.db, userName: 'big-uploader' })).token;
    const created = await stack.admin.query(CreateStatsInstance, { input: { routineName: 'kmeans', name: 'Large' } });
    if (created.createInstance.__typename !== 'CreateInstanceSuccess') throw new Error(JSON.stringify(created));
    instanceId = created.createInstance.instance.id;
  });
  afterAll(async () => {
    await stack?.stop();
  });

  async function upload({ name, content }: { name: string; content: string }) {
    const form = new FormData();
    form.append('operations', JSON.stringify({ query: print(UploadLargeDataset), variables: { input: { instanceId, name, file: null } } }));
    form.append('map', JSON.stringify({ 0: ['variables.input.file'] }));
    form.append('0', new Blob([content], { type: 'text/csv' }), `${name}.csv`);
    const response = await fetch(stack.url, { method: 'POST', body: form, headers: { authorization: `Bearer ${token}` } });
    const body = (await response.json()) as { data?: { uploadDataset: Record<string, unknown> } };
    if (!body.data) throw new Error(JSON.stringify(body));
    return body.data.uploadDataset as {
      __typename: string;
      dataset?: {
        rows: number;
        columns: string[];
        checksum: string;
        sizeBytes: number;
        preview: { rows: unknown[][]; truncated: boolean };
        statistics: { rows: number; columns: Array<Record<string, unknown>> };
      };
      fieldErrors?: Array<{ path: string[]; message: string }>;
    };
  }

  it(`gives the statistics computed directly from the ${ROWS} generated rows`, async () => {
    const result = await upload({ name: 'large', content: data.csv });
    if (!result.dataset) throw new Error(JSON.stringify(result));
    const { dataset } = result;
    expect(dataset).toMatchObject({ rows: ROWS, columns: ['id', 'x', 'label', 'code'], sizeBytes: Buffer.byteLength(data.csv) });
    expect(dataset.checksum).toBe(createHash('sha256').update(data.csv).digest('hex'));
    expect(dataset.preview.truncated).toBe(true);
    const head = Array.from({ length: 100 }, (_, row) => data.columns.map((column) => column[row]));
    // The stored preview file is exact; the database's copy (a JSON column) comes back with floats
    // rounded to 15-16 significant digits, so the API's preview is compared to that precision.
    const raw = (await stack.core.db.dataset.findFirstOrThrow({ where: { name: 'large' } })) as {
      path: string;
      instanceId: string;
      id: string;
    };
    const folder = path.join(stack.dataDir, 'storage', 'instances_', raw.instanceId, 'shared_', 'datasets_', raw.id);
    expect(JSON.parse(readFileSync(path.join(folder, 'previews_', 'preview.json'), 'utf8')).rows).toEqual(head);
    dataset.preview.rows.forEach((row, index) =>
      row.forEach((cell, column) => {
        const want = head[index][column];
        if (typeof want === 'number') expect(Math.abs((cell as number) - want)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(want)));
        else expect(cell).toBe(want);
      }),
    );

    expect(dataset.statistics.rows).toBe(ROWS);
    const names = ['id', 'x', 'label', 'code'];
    const expected = data.columns.map((values, index) => expectedColumn(names[index], values));
    expect(expected.map((column) => column.type)).toEqual(['numeric', 'numeric', 'categorical', 'categorical']);
    expect(expected[3]).toMatchObject({ distinctCapped: true });
    dataset.statistics.columns.forEach((column, index) => {
      const { top, ...exact } = expected[index];
      expectSameStatistics(column, exact);
      // Past the cap, `top` counts only values first seen before it: compare it where nothing was capped.
      if (!expected[index].distinctCapped && top) expect(column.top).toEqual(top);
    });
  });

  it('refuses a large file whose malformed row is near its end, naming the line, and stores nothing', async () => {
    const lines = data.csv.split('\r\n');
    lines[ROWS - 10] = `${lines[ROWS - 10]},extra`; // line ROWS - 9 of the file (the header is line 1)
    const result = await upload({ name: 'broken', content: lines.join('\r\n') });
    expect(result.__typename).toBe('ValidationError');
    expect(result.fieldErrors).toEqual([
      { path: ['file'], message: `line ${ROWS - 9}, column 5: wrong number of fields: expect 4, got 5` },
    ]);
    expect(await stack.core.db.dataset.count({ where: { name: 'broken' } })).toBe(0);
    const rawInstanceId = (await stack.core.db.routineInstance.findFirstOrThrow({ where: { name: 'Large' } })).id;
    const datasets = path.join(stack.dataDir, 'storage', 'instances_', rawInstanceId, 'shared_', 'datasets_');
    const kept = (await stack.core.db.dataset.findMany({ where: { instance: { id: rawInstanceId } }, select: { id: true } })).map(
      (d) => d.id,
    );
    expect(existsSync(datasets) ? readdirSync(datasets).sort() : []).toEqual(kept.sort());
  });
});
