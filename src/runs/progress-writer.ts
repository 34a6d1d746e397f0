// Orders and paces what a running method reports. A method may report progress thousands of
// times a second; every change of progress *message* is kept, while updates that only move
// the percentage are coalesced to at most `percentUpdatesPerSecond`, always ending with the
// latest value. All writes go through one queue, so the run's events keep the method's order.
export interface ProgressUpdate {
  percent: number;
  message: string | null;
}

export class ProgressWriter {
  private queue: Promise<void> = Promise.resolve();
  private lastMessage: string | null | undefined = undefined;
  private pending: ProgressUpdate | null = null;
  private timer: NodeJS.Timeout | null = null;
  private lastWriteAt = 0;
  private failure: unknown = null;
  private readonly minIntervalMs: number;

  constructor(
    private readonly writeProgress: (update: ProgressUpdate) => Promise<void>,
    { percentUpdatesPerSecond = 10 }: { percentUpdatesPerSecond?: number } = {},
  ) {
    this.minIntervalMs = 1000 / percentUpdatesPerSecond;
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
    const next = this.queue.then(write);
    this.queue = next.catch((error) => {
      this.failure ??= error;
    });
    return next;
  }

  /** Writes what is pending and waits for the queue; rethrows the first write failure. */
  async drain(): Promise<void> {
    this.flushPending();
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
