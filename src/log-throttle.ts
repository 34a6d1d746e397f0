// Log lines about a failure that repeats (the database is down and every timer trips over it) are
// rate-limited per key: the first failure is logged as it is, then at most one "still failing"
// summary per interval, and one "recovered" line when the key succeeds again. An outage then
// costs a handful of lines instead of thousands.

export const DEFAULT_SUMMARY_INTERVAL_MS = 30_000;

interface Failing {
  since: number;
  lastLoggedAt: number;
  /** Failures since the last line logged about this key. */
  unlogged: number;
}

export class LogThrottle {
  private readonly failing = new Map<string, Failing>();

  constructor(
    private readonly log: (message: string) => void,
    private readonly options: { intervalMs?: number; now?: () => number } = {},
  ) {}

  /** Records a failure of `key`; logs `message` the first time, a summary at most once per interval after that. */
  failed(key: string, detail: string): void {
    const message = oneLine(detail);
    const now = this.now();
    const state = this.failing.get(key);
    if (!state) {
      this.failing.set(key, { since: now, lastLoggedAt: now, unlogged: 0 });
      this.log(`${key}: ${message}`);
      return;
    }
    state.unlogged += 1;
    const interval = this.options.intervalMs ?? DEFAULT_SUMMARY_INTERVAL_MS;
    if (now - state.lastLoggedAt >= interval) {
      this.log(`${key}: still failing (${state.unlogged} times in the last ${seconds(now - state.lastLoggedAt)} s): ${message}`);
      state.lastLoggedAt = now;
      state.unlogged = 0;
    }
  }

  /** Records a success of `key`; logs once that it recovered, if it was failing. */
  succeeded(key: string): void {
    const state = this.failing.get(key);
    if (!state) return;
    this.failing.delete(key);
    this.log(`${key}: recovered after ${seconds(this.now() - state.since)} s`);
  }

  /** Whether `key` is failing now (its failures are being throttled). */
  isFailing(key: string): boolean {
    return this.failing.has(key);
  }

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }
}

/**
 * Prisma's messages quote the calling code over many lines and end with the reason; a log line
 * about a repeated failure needs the reason only.
 */
function oneLine(message: string): string {
  const lines = message
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  return lines.length <= 1 ? (lines[0] ?? '') : lines.at(-1)!;
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(1);
}
