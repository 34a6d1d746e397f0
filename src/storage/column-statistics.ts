// Per-column statistics of a table, computed in one pass over its rows so that a table need not be
// held in memory to be summarized (uploaded data sets stream through this; artifacts written as
// whole tables use the same code, so both report the same figures).
//
// A column is numeric while every present value is a finite number: it keeps count, Welford's
// running mean and variance, min and max, and its values in a growing Float64Array (8 bytes a
// value) because exact quartiles need them all. Any other present value makes it categorical:
// the numbers seen so far are counted as categories and the array is dropped. Categories are
// counted exactly up to MAX_TRACKED_DISTINCT distinct values; past that, `distinct` is a lower
// bound (`distinctCapped: true`) and `top` counts only values first seen before the cap.
import { quantileSorted } from 'simple-statistics';

export const MAX_TRACKED_DISTINCT = 10_000;
const TOP_VALUES = 10;
const INITIAL_CAPACITY = 1024;

export function isNullCell(value: unknown): boolean {
  return value === null || value === undefined || (typeof value === 'number' && Number.isNaN(value));
}

/** A cell as it is stored in JSON (previews, categories): no undefined, NaN, bigint or Date. */
export function jsonCell(value: unknown): unknown {
  if (value === undefined) return null;
  if (typeof value === 'number' && !Number.isFinite(value)) return null;
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Date) return value.toISOString();
  return value;
}

function categoryKey(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(jsonCell(value));
}

export class ColumnAccumulator {
  private count = 0;
  private nulls = 0;
  private numeric = true;
  private mean = 0;
  private m2 = 0;
  private min = Infinity;
  private max = -Infinity;
  private values: Float64Array | null = new Float64Array(0);
  private counts: Map<string, number> | null = null;
  private capped = false;

  constructor(readonly name: string) {}

  /** `n` missing values at once: a JSON column first seen after `n` records. */
  addNulls(n: number): void {
    this.nulls += n;
  }

  add(value: unknown): void {
    if (isNullCell(value)) {
      this.nulls++;
      return;
    }
    this.count++;
    if (this.numeric && typeof value === 'number' && Number.isFinite(value)) {
      const delta = value - this.mean;
      this.mean += delta / this.count;
      this.m2 += delta * (value - this.mean);
      if (value < this.min) this.min = value;
      if (value > this.max) this.max = value;
      let values = this.values!;
      const index = this.count - 1;
      if (index === values.length) {
        const grown = new Float64Array(Math.max(INITIAL_CAPACITY, values.length * 2));
        grown.set(values);
        this.values = values = grown;
      }
      values[index] = value;
      return;
    }
    if (this.numeric) this.becomeCategorical();
    this.countCategory(categoryKey(value));
  }

  private becomeCategorical(): void {
    this.numeric = false;
    this.counts = new Map();
    const seen = this.values!.subarray(0, this.count - 1);
    this.values = null;
    for (const value of seen) this.countCategory(categoryKey(value));
  }

  private countCategory(key: string): void {
    const counts = this.counts!;
    const known = counts.get(key);
    if (known !== undefined) counts.set(key, known + 1);
    else if (counts.size < MAX_TRACKED_DISTINCT) counts.set(key, 1);
    else this.capped = true;
  }

  result(): Record<string, unknown> {
    const base = { name: this.name, count: this.count, nulls: this.nulls };
    if (this.count === 0) return { ...base, type: 'empty', distinct: 0, top: [] };
    if (this.numeric) {
      // Sorting the typed array in place: no copy, numeric order.
      const sorted = this.values!.subarray(0, this.count).sort();
      return {
        ...base,
        type: 'numeric',
        mean: this.mean,
        // Sample standard deviation, as pandas' describe(); undefined for a single value.
        std: this.count > 1 ? Math.sqrt(this.m2 / (this.count - 1)) : null,
        min: this.min,
        max: this.max,
        // Linear interpolation (numpy/pandas default); quantileSorted reads any array-like.
        q1: quantileSorted(sorted as unknown as number[], 0.25),
        median: quantileSorted(sorted as unknown as number[], 0.5),
        q3: quantileSorted(sorted as unknown as number[], 0.75),
      };
    }
    const counts = this.counts!;
    const top = [...counts.entries()]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, TOP_VALUES)
      .map(([value, count]) => ({ value, count }));
    return { ...base, type: 'categorical', distinct: counts.size, distinctCapped: this.capped, top };
  }
}

/** Statistics of a table fed row by row; columns may be added as they are discovered. */
export class TableStatistics {
  private readonly columns: ColumnAccumulator[] = [];
  private rows = 0;

  constructor(columns: string[] = []) {
    for (const name of columns) this.addColumn(name);
  }

  /** A column first seen now: it was missing (null) in every earlier row. */
  addColumn(name: string): void {
    const column = new ColumnAccumulator(name);
    column.addNulls(this.rows);
    this.columns.push(column);
  }

  /** One row, cells in column order; a short row's missing cells are null. */
  addRow(row: readonly unknown[]): void {
    this.rows++;
    const columns = this.columns;
    for (let index = 0; index < columns.length; index++) columns[index].add(row[index]);
  }

  result(): { rows: number; columns: Array<Record<string, unknown>> } {
    return { rows: this.rows, columns: this.columns.map((column) => column.result()) };
  }
}

export function tableStatistics({ table }: { table: { columns: string[]; rows: unknown[][] } }): Record<string, unknown> {
  const statistics = new TableStatistics(table.columns);
  for (const row of table.rows) statistics.addRow(row);
  return statistics.result();
}
