// Parsing uploaded and stored tables (CSV with a header row, or JSON: an array of flat records or
// of arrays). Errors name the line and column, so a user can fix the file; nothing here touches
// files (src/storage/artifact-store.ts does).
import { parse } from 'csv-parse/sync';

export type TabularFormat = 'csv' | 'json';

export interface ParsedTable {
  columns: string[];
  rows: unknown[][];
}

/** A malformed upload: what is wrong and where (1-based line and column, when known). */
export class TabularFormatError extends Error {
  readonly nonRetryable = true;
  constructor(
    readonly problem: string,
    readonly line: number | null = null,
    readonly column: number | string | null = null,
  ) {
    super(
      `${line !== null ? `line ${line}` : ''}${line !== null && column !== null ? ', ' : ''}${column !== null ? `column ${typeof column === 'string' ? JSON.stringify(column) : column}` : ''}${line !== null || column !== null ? ': ' : ''}${problem}`,
    );
    this.name = 'TabularFormatError';
  }
}

export function parseTable({ text, format }: { text: string; format: TabularFormat }): ParsedTable {
  return format === 'csv' ? parseCsv(text) : parseJsonTable(text);
}

/**
 * CSV with a header row. Numbers become numbers, empty unquoted cells null, everything else
 * stays text (a column with any text is a category in the statistics).
 */
export function parseCsv(text: string): ParsedTable {
  let records: unknown[][];
  try {
    records = parse(text.replace(/^\uFEFF/, ''), {
      bom: true,
      skip_empty_lines: true,
      cast: (value, context) => {
        if (context.header || context.lines === 1) return value;
        if (value === '' && !context.quoting) return null;
        if (!context.quoting && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
        return value;
      },
    }) as unknown[][];
  } catch (error) {
    const csvError = error as { code?: string; lines?: number; column?: number | string; message: string };
    if (!csvError.code?.startsWith('CSV_')) throw error;
    // csv-parse ends its messages with "at line N" / "on line N"; the line is ours to say.
    const problem = csvError.message.replace(/,?\s*(at|on) line \d+\.?$/, '').replace(/^Invalid Record Length: /, 'wrong number of fields: ');
    throw new TabularFormatError(problem, csvError.lines ?? null, typeof csvError.column === 'number' ? csvError.column + 1 : null);
  }
  if (records.length === 0) throw new TabularFormatError('the file is empty: a header row naming the columns is required', 1);
  const [header, ...rows] = records;
  const columns = header.map((cell) => String(cell ?? '').trim());
  checkColumns({ columns, line: 1 });
  return { columns, rows };
}

/** An array of flat records (columns in order of first appearance) or of arrays of scalars. */
export function parseJsonTable(text: string): ParsedTable {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const message = (error as Error).message;
    const position = /position (\d+)/.exec(message);
    if (!position) throw new TabularFormatError(`not valid JSON (${message})`);
    const before = text.slice(0, Number(position[1]));
    const line = before.split('\n').length;
    const column = Number(position[1]) - before.lastIndexOf('\n');
    throw new TabularFormatError(`not valid JSON (${message.replace(/ in JSON at position \d+.*$/, '')})`, line, column);
  }
  if (!Array.isArray(value) || value.length === 0) {
    throw new TabularFormatError('expected a non-empty JSON array of records (objects) or of rows (arrays)');
  }
  if (value.every(Array.isArray)) {
    const width = (value[0] as unknown[]).length;
    value.forEach((row: unknown[], index) => {
      if (row.length !== width) throw new TabularFormatError(`item ${index} has ${row.length} values, item 0 has ${width}`);
      row.forEach((cell, column) => {
        if (!isScalar(cell)) throw new TabularFormatError(`item ${index} has a nested value (only numbers, strings, booleans, null)`, null, column + 1);
      });
    });
    return { columns: Array.from({ length: width }, (_, index) => `c${index}`), rows: value as unknown[][] };
  }
  const columns: string[] = [];
  const seen = new Set<string>();
  value.forEach((item, index) => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      throw new TabularFormatError(`item ${index} is not an object (mix of records and other values)`);
    }
    for (const [key, cell] of Object.entries(item)) {
      if (!isScalar(cell)) throw new TabularFormatError(`item ${index} has a nested value (only numbers, strings, booleans, null)`, null, key);
      if (!seen.has(key)) {
        seen.add(key);
        columns.push(key);
      }
    }
  });
  checkColumns({ columns, line: null });
  return { columns, rows: (value as Record<string, unknown>[]).map((item) => columns.map((column) => item[column] ?? null)) };
}

function checkColumns({ columns, line }: { columns: string[]; line: number | null }): void {
  const seen = new Map<string, number>();
  columns.forEach((column, index) => {
    if (column === '') throw new TabularFormatError('the column has no name', line, index + 1);
    if (seen.has(column)) throw new TabularFormatError(`the column name ${JSON.stringify(column)} is also column ${seen.get(column)! + 1}`, line, index + 1);
    seen.set(column, index);
  });
}

function isScalar(value: unknown): boolean {
  return value === null || ['string', 'number', 'boolean'].includes(typeof value);
}
