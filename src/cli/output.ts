// How the CLI writes: a terminal gets a live bar and colour-free tables; a pipe or CI log gets
// plain, throttled lines; --json gets one JSON document (or NDJSON for streams) and nothing else.
import cliProgress from 'cli-progress';
import { UsageError } from './client.ts';

export interface OutputMode {
  json: boolean;
  /** A live bar only on a terminal and never with --json. */
  tty: boolean;
}

export function outputMode(json: boolean): OutputMode {
  return { json, tty: !json && process.stdout.isTTY === true };
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

/** Exit codes of a run's outcome; anything else (usage, connection) is 3. */
export const EXIT_CODE_BY_STATUS: Record<string, number> = { COMPLETED: 0, FAILED: 1, CANCELLED: 2 };
export const USAGE_EXIT_CODE = 3;

export function exitCodeFor(status: string): number {
  const code = EXIT_CODE_BY_STATUS[status];
  if (code === undefined) throw new UsageError(`The run ended without a final status (${status})`);
  return code;
}

export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => row[column].length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column]))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

export function formatDuration(ms: number | null): string {
  if (ms === null) return '-';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 ** 2).toFixed(1)} MB`;
}

/** Plain progress lines: at most one per interval; the latest one waits for its turn, never lost. */
const PLAIN_LINE_INTERVAL_MS = 300;

/** The progress of one watched run, drawn as a bar on a terminal or as plain lines elsewhere. */
export class ProgressView {
  private bar: cliProgress.SingleBar | null = null;
  private lastPlainAt = 0;
  private pendingLine: string | null = null;
  private pendingTimer: NodeJS.Timeout | null = null;

  constructor(private readonly mode: OutputMode) {}

  update(percent: number, message: string): void {
    if (this.mode.json) return;
    const rounded = Math.round(percent);
    if (this.mode.tty) {
      if (!this.bar) {
        this.bar = new cliProgress.SingleBar(
          { format: '{bar} {percentage}% | {message}', stream: process.stdout, hideCursor: true, clearOnComplete: false },
          cliProgress.Presets.shades_classic,
        );
        this.bar.start(100, rounded, { message });
      } else {
        this.bar.update(rounded, { message });
      }
      return;
    }
    this.pendingLine = `${rounded}% ${message}`;
    const wait = this.lastPlainAt + PLAIN_LINE_INTERVAL_MS - Date.now();
    if (wait <= 0) this.flushPlain();
    else this.pendingTimer ??= setTimeout(() => this.flushPlain(), wait);
  }

  /** Text between bar frames (a status change, a reconnect) without tearing the bar. */
  note(text: string): void {
    if (this.mode.json) return;
    this.stop();
    process.stdout.write(`${text}\n`);
  }

  stop(): void {
    this.flushPlain();
    this.bar?.stop();
    this.bar = null;
  }

  private flushPlain(): void {
    if (this.pendingTimer) clearTimeout(this.pendingTimer);
    this.pendingTimer = null;
    if (this.pendingLine === null) return;
    process.stdout.write(`${this.pendingLine}\n`);
    this.pendingLine = null;
    this.lastPlainAt = Date.now();
  }
}
