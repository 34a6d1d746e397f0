// Parsing uploaded and stored tables (CSV with a header row, or JSON: an array of flat records or
// of arrays), as a stream: `TableReader` takes the bytes in pieces of any size and hands over one
// row at a time, so a large upload is never held whole. Errors name the line and column, so a
// user can fix the file; nothing here touches files (src/storage/artifact-store.ts does).
//
// The CSV tokenizer is our own: csv-parse needs a per-cell `cast` callback (a context object per
// cell) to tell quoted from unquoted cells, which made ingestion run at ~3 MB/s, and even without
// it parses at ~17 MB/s. Lines without a quote take a fast path (split on ','); a line with a
// quote, or a lone CR, goes through a small RFC 4180 state machine.
import { MAY_HOLD_REFUSED_TEXT, textProblem } from '../rules/text.ts';

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

export interface TableSink {
  /** A column, in order. CSV names all of them before the first row; JSON records add one when first seen. */
  onColumn(name: string): void;
  /** A row, cells in column order; a JSON record's row is as long as the columns known so far. */
  onRow(row: unknown[]): void;
}

/** Parses a table pushed in pieces; throws TabularFormatError from `push` or `end` at the first problem. */
export class TableReader {
  // Fatal: bytes that are not UTF-8 are refused rather than stored as U+FFFD (which would make
  // the data set differ silently from the file); `stream` keeps a character split across pieces.
  private readonly decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  private readonly parser: CsvParser | JsonParser;
  private started = false;
  /** Lines decoded so far, to say where bytes that are not UTF-8 are. */
  private linesDecoded = 0;

  constructor({ format, sink }: { format: TabularFormat; sink: TableSink }) {
    this.parser = format === 'csv' ? new CsvParser(sink) : new JsonParser(sink);
  }

  push(piece: Uint8Array | string): void {
    let text = typeof piece === 'string' ? piece : this.decode(piece, true);
    if (!this.started && text.length > 0) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    if (text.length > 0) this.parser.push(text, false);
  }

  end(): void {
    const rest = this.decode(new Uint8Array(0), false);
    this.parser.push(!this.started && rest.charCodeAt(0) === 0xfeff ? rest.slice(1) : rest, true);
    this.parser.finish();
  }

  private decode(bytes: Uint8Array, stream: boolean): string {
    let text: string;
    try {
      text = this.decoder.decode(bytes, { stream });
    } catch {
      // The line of the first bad byte: the lines before this piece, and those of the piece
      // up to where a lenient decoder puts its first replacement character.
      const lenient = new TextDecoder('utf-8').decode(bytes);
      const bad = lenient.indexOf('\ufffd');
      const line = this.linesDecoded + 1 + countLines(lenient.slice(0, bad === -1 ? lenient.length : bad));
      throw new TabularFormatError('the file is not valid UTF-8 text (save it as UTF-8)', line);
    }
    this.linesDecoded += countLines(text);
    return text;
  }
}

function countLines(text: string): number {
  let lines = 0;
  for (let at = text.indexOf('\n'); at !== -1; at = text.indexOf('\n', at + 1)) lines++;
  return lines;
}

/** A whole table in memory (stored tables read back as a method's input). */
export function parseTable({ text, format }: { text: string; format: TabularFormat }): ParsedTable {
  const columns: string[] = [];
  const rows: unknown[][] = [];
  const reader = new TableReader({ format, sink: { onColumn: (name) => columns.push(name), onRow: (row) => rows.push(row) } });
  reader.push(text);
  reader.end();
  // JSON records may name a column first in a later item: earlier rows lack it.
  for (const row of rows) while (row.length < columns.length) row.push(null);
  return { columns, rows };
}

export function parseCsv(text: string): ParsedTable {
  return parseTable({ text, format: 'csv' });
}

export function parseJsonTable(text: string): ParsedTable {
  return parseTable({ text, format: 'json' });
}

// ---- CSV ----

const QUOTE = 34; // "
const COMMA = 44;
const LF = 10;
const CR = 13;

/**
 * CSV with a header row. Numbers become numbers, empty unquoted cells null, everything else
 * stays text (a column with any text is a category in the statistics); a quoted cell is always
 * text. Empty lines are skipped; records end with LF, CRLF or a lone CR.
 */
class CsvParser {
  /** Text not yet parsed: the start of a record whose end has not arrived. */
  private text = '';
  /** Physical line number of text[0]. */
  private line = 1;
  private header: string[] | null = null;
  /** Whether the text being parsed may hold refused text (one scan per piece, not per cell). */
  private suspect = false;

  constructor(private readonly sink: TableSink) {}

  push(piece: string, final: boolean): void {
    const s = this.text.length === 0 ? piece : this.text + piece;
    const n = s.length;
    this.suspect = MAY_HOLD_REFUSED_TEXT.test(s);
    let pos = 0;
    let line = this.line;
    // Cached positions of the next quote / CR (-1: none left), so each is searched once per chunk.
    let nextQuote = s.indexOf('"');
    let nextCr = s.indexOf('\r');
    while (pos < n) {
      let nl = s.indexOf('\n', pos);
      if (nl === -1) {
        if (!final) break;
        nl = n;
      }
      if (nextQuote !== -1 && nextQuote < pos) nextQuote = s.indexOf('"', pos);
      if (nextCr !== -1 && nextCr < pos) nextCr = s.indexOf('\r', pos);
      // nextCr is the first CR at or after pos: at nl - 1 it is the only one on the line (CRLF).
      if ((nextQuote === -1 || nextQuote >= nl) && (nextCr === -1 || nextCr >= nl - 1)) {
        const end = nextCr === nl - 1 ? nl - 1 : nl;
        if (end > pos) this.record(s.slice(pos, end).split(','), null, line);
        pos = nl + 1;
        line++;
        continue;
      }
      const parsed = this.slowRecord(s, pos, final, line);
      if (!parsed) break;
      if (parsed.cells.length > 1 || parsed.cells[0] !== '' || parsed.quoted[0]) this.record(parsed.cells, parsed.quoted, line);
      pos = parsed.next;
      line += parsed.lines;
    }
    this.text = pos >= n ? '' : s.slice(pos);
    this.line = line;
  }

  finish(): void {
    if (!this.header) throw new TabularFormatError('the file is empty: a header row naming the columns is required', 1);
  }

  /** One record that contains a quote or a lone CR; null when its end has not arrived yet. */
  private slowRecord(
    s: string,
    start: number,
    final: boolean,
    line: number,
  ): { cells: string[]; quoted: boolean[]; next: number; lines: number } | null {
    const n = s.length;
    const cells: string[] = [];
    const quoted: boolean[] = [];
    let lines = 0;
    let i = start;
    for (;;) {
      // At the start of a field.
      if (i < n && s.charCodeAt(i) === QUOTE) {
        const openLine = line + lines;
        let value = '';
        let j = i + 1;
        for (;;) {
          const close = s.indexOf('"', j);
          if (close === -1) {
            if (!final) return null;
            throw new TabularFormatError(
              'quote not closed: the file ends inside the quoted field that starts here',
              openLine,
              cells.length + 1,
            );
          }
          const part = s.slice(j, close);
          value += part;
          for (let k = part.indexOf('\n'); k !== -1; k = part.indexOf('\n', k + 1)) lines++;
          if (close + 1 >= n && !final) return null; // "" (an escaped quote) may be split across pieces
          if (s.charCodeAt(close + 1) === QUOTE) {
            value += '"';
            j = close + 2;
            continue;
          }
          i = close + 1;
          break;
        }
        cells.push(value);
        quoted.push(true);
        if (i >= n) return { cells, quoted, next: n, lines: lines + 1 };
        const after = s.charCodeAt(i);
        if (after === COMMA) {
          i++;
          continue;
        }
        const ended = this.recordEnd(s, i, final);
        if (ended === null) return null;
        if (ended === -1) {
          throw new TabularFormatError(
            `a closing quote is followed by ${JSON.stringify(s[i])}, not by ',' or the end of the line (double a quote inside a quoted field)`,
            line + lines,
            cells.length,
          );
        }
        return { cells, quoted, next: ended, lines: lines + 1 };
      }
      // An unquoted field: up to ',' or the end of the record.
      let j = i;
      while (j < n) {
        const c = s.charCodeAt(j);
        if (c === COMMA || c === LF || c === CR) break;
        if (c === QUOTE) {
          throw new TabularFormatError(
            'a quote inside an unquoted field: quote the whole field and double the quotes inside it',
            line + lines,
            cells.length + 1,
          );
        }
        j++;
      }
      if (j >= n && !final) return null;
      cells.push(s.slice(i, j));
      quoted.push(false);
      if (j >= n) return { cells, quoted, next: n, lines: lines + 1 };
      if (s.charCodeAt(j) === COMMA) {
        i = j + 1;
        continue;
      }
      const ended = this.recordEnd(s, j, final);
      if (ended === null) return null;
      return { cells, quoted, next: ended, lines: lines + 1 };
    }
  }

  /** Where the next record starts, if a record delimiter is at `i`; -1 if something else is; null: wait for more. */
  private recordEnd(s: string, i: number, final: boolean): number | null {
    const c = s.charCodeAt(i);
    if (c === LF) return i + 1;
    if (c !== CR) return -1;
    if (i + 1 >= s.length) return final ? i + 1 : null;
    return s.charCodeAt(i + 1) === LF ? i + 2 : i + 1;
  }

  private record(cells: string[], quoted: boolean[] | null, line: number): void {
    const header = this.header;
    if (this.suspect) {
      cells.forEach((cell, index) => {
        const problem = textProblem(cell);
        if (problem) throw new TabularFormatError(header ? problem : `the column name ${problem}`, line, index + 1);
      });
    }
    if (!header) {
      const columns = cells.map((cell) => cell.trim());
      checkColumns({ columns, line });
      this.header = columns;
      for (const column of columns) this.sink.onColumn(column);
      return;
    }
    const width = header.length;
    if (cells.length !== width) {
      throw new TabularFormatError(
        `wrong number of fields: expect ${width}, got ${cells.length}`,
        line,
        cells.length < width ? cells.length + 1 : width + 1,
      );
    }
    const row: unknown[] = new Array(width);
    for (let index = 0; index < width; index++) {
      row[index] = quoted?.[index] ? cells[index] : cellValue(cells[index]);
    }
    this.sink.onRow(row);
  }
}

function cellValue(cell: string): unknown {
  if (cell === '') return null;
  const number = +cell;
  if (number === number && number !== Infinity && number !== -Infinity && (number !== 0 || cell.trim() !== '')) return number;
  return cell;
}

// ---- JSON ----

type JsonPhase = 'start' | 'first' | 'next' | 'item' | 'after' | 'done';

/**
 * An array of flat records (columns in order of first appearance) or of arrays of scalars. The
 * array is cut into its items by a small scanner (strings, escapes and brackets), and each item
 * goes through JSON.parse, so one item at a time is in memory.
 */
class JsonParser {
  private text = '';
  /** Absolute offset of text[0], and where the current line starts (absolute), for line and column. */
  private offset = 0;
  private line = 1;
  private lineStart = 0;
  private phase: JsonPhase = 'start';
  private depth = 0;
  private inString = false;
  private escaped = false;
  private itemStart = 0;
  private itemLine = 1;
  private itemColumn = 1;
  /** Where scanning of text resumes. */
  private pos = 0;
  private items = 0;
  private mode: 'rows' | 'records' | null = null;
  private width = 0;
  private readonly columns = new Map<string, number>();

  constructor(private readonly sink: TableSink) {}

  push(piece: string, _final: boolean): void {
    const s = this.text.length === 0 ? piece : this.text + piece;
    this.text = s;
    const n = s.length;
    let i = this.pos;
    while (i < n) {
      const c = s.charCodeAt(i);
      if (this.phase === 'item') {
        if (this.inString) {
          if (this.escaped) this.escaped = false;
          else if (c === 92)
            this.escaped = true; // backslash
          else if (c === QUOTE) this.inString = false;
        } else if (c === QUOTE) this.inString = true;
        else if (c === 123 || c === 91)
          this.depth++; // { [
        else if (c === 125 || c === 93) {
          // } ]
          if (--this.depth === 0) {
            this.item(s.slice(this.itemStart, i + 1));
            this.phase = 'after';
          }
        }
        if (c === LF) this.newLine(i);
        i++;
        continue;
      }
      if (c === 32 || c === 9 || c === CR || c === LF) {
        if (c === LF) this.newLine(i);
        i++;
        continue;
      }
      switch (this.phase) {
        case 'start':
          if (c !== 91) throw new TabularFormatError('expected a non-empty JSON array of records (objects) or of rows (arrays)');
          this.phase = 'first';
          break;
        case 'first':
        case 'next':
          if (c === 93 && this.phase === 'first')
            throw new TabularFormatError('expected a non-empty JSON array of records (objects) or of rows (arrays)');
          if (c !== 123 && c !== 91) {
            if (c === 93) this.syntax("a ',' is followed by ']'", i);
            throw new TabularFormatError(this.notAnItem(), this.line, null);
          }
          this.phase = 'item';
          this.depth = 1;
          this.itemStart = i;
          this.itemLine = this.line;
          this.itemColumn = this.offset + i - this.lineStart + 1;
          break;
        case 'after':
          if (c === COMMA) this.phase = 'next';
          else if (c === 93) this.phase = 'done';
          else this.syntax(`expected ',' or ']' after item ${this.items - 1}, found ${JSON.stringify(s[i])}`, i);
          break;
        case 'done':
          this.syntax(`unexpected ${JSON.stringify(s[i])} after the end of the array`, i);
      }
      i++;
    }
    // Keep only the unfinished item.
    const keep = this.phase === 'item' ? this.itemStart : n;
    this.text = s.slice(keep);
    this.offset += keep;
    this.itemStart -= keep;
    this.pos = i - keep;
  }

  finish(): void {
    if (this.phase === 'start' || this.phase === 'first') {
      throw new TabularFormatError('expected a non-empty JSON array of records (objects) or of rows (arrays)');
    }
    if (this.phase !== 'done') {
      throw new TabularFormatError(
        `not valid JSON (the file ends inside ${this.phase === 'item' ? `item ${this.items}, which starts here` : 'the array'})`,
        this.phase === 'item' ? this.itemLine : this.line,
        this.phase === 'item' ? this.itemColumn : null,
      );
    }
  }

  private newLine(i: number): void {
    this.line++;
    this.lineStart = this.offset + i + 1;
  }

  private syntax(problem: string, i: number): never {
    throw new TabularFormatError(`not valid JSON (${problem})`, this.line, this.offset + i - this.lineStart + 1);
  }

  private notAnItem(): string {
    if (this.mode === 'rows') return `item ${this.items} is not an array (mix of rows and other values)`;
    return `item ${this.items} is not an object (mix of records and other values)`;
  }

  private item(text: string): void {
    const index = this.items++;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      const message = (error as Error).message;
      const position = /position (\d+)/.exec(message);
      const problem = `not valid JSON (${message.replace(/ in JSON at position \d+.*$/, '')})`;
      if (!position) throw new TabularFormatError(problem, this.itemLine, this.itemColumn);
      const before = text.slice(0, Number(position[1]));
      const newlines = before.split('\n').length - 1;
      const column = newlines === 0 ? this.itemColumn + before.length : before.length - before.lastIndexOf('\n');
      throw new TabularFormatError(problem, this.itemLine + newlines, column);
    }
    if (index === 0) this.mode = Array.isArray(value) ? 'rows' : 'records';
    // Refused text in JSON comes from \u escapes (JSON.parse refuses a raw NUL in a string).
    const suspect = text.includes('\\u') || MAY_HOLD_REFUSED_TEXT.test(text);
    if (this.mode === 'rows') {
      if (!Array.isArray(value))
        throw new TabularFormatError(`item ${index} is not an array (mix of rows and other values)`, this.itemLine);
      if (index === 0) {
        this.width = value.length;
        for (let column = 0; column < value.length; column++) this.sink.onColumn(`c${column}`);
      } else if (value.length !== this.width) {
        throw new TabularFormatError(`item ${index} has ${value.length} values, item 0 has ${this.width}`, this.itemLine);
      }
      value.forEach((cell, column) => {
        if (!isScalar(cell))
          throw new TabularFormatError(`item ${index} has a nested value (only numbers, strings, booleans, null)`, null, column + 1);
        const problem = suspect && typeof cell === 'string' ? textProblem(cell) : null;
        if (problem) throw new TabularFormatError(problem, this.itemLine, column + 1);
      });
      this.sink.onRow(value);
      return;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new TabularFormatError(`item ${index} is not an object (mix of records and other values)`, this.itemLine);
    }
    const row: unknown[] = new Array(this.columns.size).fill(null);
    for (const [key, cell] of Object.entries(value)) {
      if (suspect) {
        const keyProblem = textProblem(key);
        // Named by its position: the name itself is the refused text.
        if (keyProblem)
          throw new TabularFormatError(`the column name ${keyProblem}`, this.itemLine, (this.columns.get(key) ?? this.columns.size) + 1);
      }
      if (!isScalar(cell))
        throw new TabularFormatError(`item ${index} has a nested value (only numbers, strings, booleans, null)`, null, key);
      const problem = suspect && typeof cell === 'string' ? textProblem(cell) : null;
      if (problem) throw new TabularFormatError(problem, this.itemLine, (this.columns.get(key) ?? this.columns.size) + 1);
      let column = this.columns.get(key);
      if (column === undefined) {
        if (key.trim() === '') throw new TabularFormatError(`item ${index}: the column has no name`, this.itemLine, this.columns.size + 1);
        column = this.columns.size;
        this.columns.set(key, column);
        this.sink.onColumn(key);
      }
      row[column] = cell;
    }
    this.sink.onRow(row);
  }
}

function checkColumns({ columns, line }: { columns: string[]; line: number | null }): void {
  const seen = new Map<string, number>();
  columns.forEach((column, index) => {
    if (column === '') throw new TabularFormatError('the column has no name', line, index + 1);
    if (seen.has(column))
      throw new TabularFormatError(`the column name ${JSON.stringify(column)} is also column ${seen.get(column)! + 1}`, line, index + 1);
    seen.set(column, index);
  });
}

function isScalar(value: unknown): boolean {
  return value === null || ['string', 'number', 'boolean'].includes(typeof value);
}
