// Orders and paces what a running method reports. A method may report progress thousands of
// times a second; every change of progress *message* is kept, while updates that only move
// the percentage are coalesced to at most `percentUpdatesPerSecond`, always ending with the
// latest value. Log lines are written at most `logWritesPerSecond` times a second: a burst
// becomes one entry per level, and past `maxLogLinesPerWrite` lines in one write the excess is
// counted, not stored, but the newest line always is. All writes go through one queue, so the
// run's events keep the method's order (pending lines are written before any later report).
export interface ProgressUpdate {
  percent: number;
  message: string | null;
}

/** Log lines of one level, reported back to back, stored as one entry. */
export interface LogEntry {
  level: string;
  message: string;
  lines: number;
  at: Date;
}

const LOG_LEVEL_SEVERITY: Record<string, number> = { debug: 0, info: 1, warn: 2, error: 3 };
/** One write holds at most this many entries: a method alternating levels cannot multiply events. */
const MAX_LOG_ENTRIES_PER_WRITE = 8;
const MAX_LOG_BYTES_PER_WRITE = 256 * 1024;

export class ProgressWriter {
  private queue: Promise<void> = Promise.resolve();
  private lastMessage: string | null | undefined = undefined;
  private pending: ProgressUpdate | null = null;
  private timer: NodeJS.Timeout | null = null;
  private lastWriteAt = 0;
  private failure: unknown = null;
  private readonly minIntervalMs: number;

  private pendingLog: LogEntry[] = [];
  private pendingLogLines = 0;
  private pendingLogBytes = 0;
  /** Lines past the per-write bound: counted; the newest one is kept for the write. */
  private droppedLogLines = 0;
  private newestDroppedLine: { level: string; message: string; at: Date } | null = null;
  private logTimer: NodeJS.Timeout | null = null;
  private lastLogWriteAt = 0;
  private readonly logIntervalMs: number;
  private readonly maxLogLinesPerWrite: number;

  constructor(
    private readonly writeProgress: (update: ProgressUpdate) => Promise<void>,
    {
      percentUpdatesPerSecond = 10,
      writeLogs = async () => {},
      logWritesPerSecond = 5,
      maxLogLinesPerWrite = 200,
    }: {
      percentUpdatesPerSecond?: number;
      writeLogs?: (entries: LogEntry[]) => Promise<void>;
      logWritesPerSecond?: number;
      maxLogLinesPerWrite?: number;
    } = {},
  ) {
    this.minIntervalMs = 1000 / percentUpdatesPerSecond;
    this.writeLogs = writeLogs;
    this.logIntervalMs = 1000 / logWritesPerSecond;
    this.maxLogLinesPerWrite = maxLogLinesPerWrite;
  }

  private readonly writeLogs: (entries: LogEntry[]) => Promise<void>;

  log({ level, message }: { level: string; message: string }): void {
    const at = new Date();
    const bytes = Buffer.byteLength(message);
    if (this.pendingLogLines >= this.maxLogLinesPerWrite || this.pendingLogBytes + bytes > MAX_LOG_BYTES_PER_WRITE) {
      this.droppedLogLines += 1;
      this.newestDroppedLine = { level, message, at };
    } else {
      this.appendLogLine(level, message, at);
      this.pendingLogBytes += bytes;
    }
    const wait = this.lastLogWriteAt + this.logIntervalMs - Date.now();
    if (wait <= 0) this.flushLogs();
    else this.logTimer ??= setTimeout(() => this.flushLogs(), wait);
  }

  private appendLogLine(level: string, message: string, at: Date): void {
    this.pendingLogLines += 1;
    const last = this.pendingLog.at(-1);
    if (last && last.level === level) {
      last.message += `\n${message}`;
      last.lines += 1;
    } else if (last && this.pendingLog.length >= MAX_LOG_ENTRIES_PER_WRITE) {
      // Out of entries for this write: the line joins the last one, its level kept in the text.
      const severer = (LOG_LEVEL_SEVERITY[level] ?? 1) > (LOG_LEVEL_SEVERITY[last.level] ?? 1);
      last.message += `\n[${level}] ${message}`;
      last.lines += 1;
      if (severer) last.level = level;
    } else {
      this.pendingLog.push({ level, message, lines: 1, at });
    }
  }

  /** Queues the pending lines as one write (after everything reported before them). */
  private flushLogs(): void {
    if (this.logTimer) clearTimeout(this.logTimer);
    this.logTimer = null;
    if (this.droppedLogLines > 0) {
      const dropped = this.droppedLogLines - 1; // the newest is kept below
      if (dropped > 0) {
        this.pendingLog.push({
          level: 'warn',
          message: `${dropped} log line${dropped === 1 ? '' : 's'} not stored: the method wrote more than ${this.maxLogLinesPerWrite} lines (or ${MAX_LOG_BYTES_PER_WRITE / 1024} KB) within ${Math.round(this.logIntervalMs)} ms`,
          lines: 1,
          at: this.newestDroppedLine!.at,
        });
      }
      const newest = this.newestDroppedLine!;
      this.pendingLog.push({ level: newest.level, message: newest.message, lines: 1, at: newest.at });
    }
    const entries = this.pendingLog;
    this.pendingLog = [];
    this.pendingLogLines = 0;
    this.pendingLogBytes = 0;
    this.droppedLogLines = 0;
    this.newestDroppedLine = null;
    if (entries.length === 0) return;
    this.lastLogWriteAt = Date.now();
    void this.queueWrite(() => this.writeLogs(entries));
  }

  /** The latest progress reported, written or not (for heartbeats). */
  latest: ProgressUpdate | null = null;

  progress(update: ProgressUpdate): void {
    this.latest = update;
    if (update.message !== this.lastMessage) {
      this.lastMessage = update.message;
      this.cancelPending();
      this.enqueueProgress(update);
      return;
    }
    this.pending = update;
    const wait = this.lastWriteAt + this.minIntervalMs - Date.now();
    if (wait <= 0) {
      this.flushPending();
    } else if (!this.timer) {
      this.timer = setTimeout(() => this.flushPending(), wait);
    }
  }

  /** Runs `write` after everything reported before it. */
  enqueue(write: () => Promise<void>): Promise<void> {
    this.flushLogs();
    return this.queueWrite(write);
  }

  private queueWrite(write: () => Promise<void>): Promise<void> {
    const next = this.queue.then(write);
    this.queue = next.catch((error) => {
      this.failure ??= error;
    });
    return next;
  }

  /** Writes what is pending and waits for the queue; rethrows the first write failure. */
  async drain(): Promise<void> {
    this.flushPending();
    this.flushLogs();
    await this.queue;
    if (this.failure) throw this.failure;
  }

  private flushPending(): void {
    this.cancelPending(false);
    if (this.pending) {
      const update = this.pending;
      this.pending = null;
      this.enqueueProgress(update);
    }
  }

  private cancelPending(dropValue = true): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (dropValue) this.pending = null;
  }

  private enqueueProgress(update: ProgressUpdate): void {
    this.lastWriteAt = Date.now();
    void this.enqueue(() => this.writeProgress(update));
  }
}
