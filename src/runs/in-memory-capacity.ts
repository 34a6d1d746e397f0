// In-memory capacity. An in-memory run executes in a method process under the API process that
// took its request, not on a worker, so background admission (admission.ts) never sees it. Each
// API process bounds its own in-memory runs instead, in admission's terms: slots
// (IN_MEMORY_MAX_CONCURRENT_RUNS), memory (IN_MEMORY_MEMORY_MB, counted as the runs' memoryMb,
// as a worker budget counts them) and runs per user (IN_MEMORY_MAX_RUNS_PER_USER), so that one
// user cannot take every slot from the others.
//
// Past a limit the run is refused, not queued: its caller is holding a request open for the
// answer, and a queue would only move the wait there. The refusal comes before anything is
// written and says when trying again is likely to work. Holds live in this process's memory and
// are taken synchronously (one event loop: two requests cannot take the same capacity); an API
// process that dies takes its holds, and its method processes, with it.
import { CapacityExceededError, ValidationError } from '../errors.ts';

export interface InMemoryLimits {
  slots: number;
  memoryMb: number;
  perUser: number;
}

/** Capacity taken for one in-memory run; release it however the run ends (releasing twice is harmless). */
export interface InMemoryHold {
  release(): void;
}

interface Holder {
  userId: string;
  memoryMb: number;
  /** routine.method: recent durations are kept per method. */
  method: string;
  startedAt: number;
  /** When its time limit stops it at the latest. */
  deadline: number;
}

/** Weight of the newest duration in a method's running average. */
const RECENT_WEIGHT = 0.3;

export class InMemoryCapacity {
  private readonly holders = new Set<Holder>();
  private readonly typicalMs = new Map<string, number>();

  constructor(
    readonly limits: InMemoryLimits,
    private readonly now: () => number = Date.now,
  ) {}

  get busy(): { slots: number; memoryMb: number } {
    let memoryMb = 0;
    for (const holder of this.holders) memoryMb += holder.memoryMb;
    return { slots: this.holders.size, memoryMb };
  }

  /**
   * Takes a slot and `memoryMb` for a run of `userId`, or throws CapacityExceededError (a limit
   * is reached now) or a ValidationError on `memoryPath` (the run could never fit).
   */
  hold({
    userId,
    memoryMb,
    method,
    timeLimitMs,
    memoryPath,
  }: {
    userId: string;
    memoryMb: number;
    method: string;
    timeLimitMs: number;
    memoryPath: string[];
  }): InMemoryHold {
    const { slots, memoryMb: budget, perUser } = this.limits;
    if (memoryMb > budget) {
      throw ValidationError.field(
        memoryPath,
        `An in-memory run may use at most ${budget} MB (IN_MEMORY_MEMORY_MB); this one needs ${memoryMb} MB: run it in the background`,
      );
    }
    const holders = [...this.holders];
    const mine = holders.filter((holder) => holder.userId === userId);
    if (mine.length >= perUser) {
      throw new CapacityExceededError(
        `You already have ${mine.length} in-memory run${mine.length === 1 ? '' : 's'} executing, the most one user may have at once (IN_MEMORY_MAX_RUNS_PER_USER)`,
        this.retryAfterSeconds(mine, { slots: mine.length - perUser + 1, memoryMb: 0 }),
      );
    }
    if (holders.length >= slots) {
      throw new CapacityExceededError(
        `All ${slots} in-memory slot${slots === 1 ? ' is' : 's are'} busy (IN_MEMORY_MAX_CONCURRENT_RUNS)`,
        this.retryAfterSeconds(holders, { slots: holders.length - slots + 1, memoryMb: 0 }),
      );
    }
    const free = budget - this.busy.memoryMb;
    if (memoryMb > free) {
      throw new CapacityExceededError(
        `In-memory runs have ${free} of ${budget} MB free (IN_MEMORY_MEMORY_MB); this one needs ${memoryMb} MB`,
        this.retryAfterSeconds(holders, { slots: 0, memoryMb: memoryMb - free }),
      );
    }
    const startedAt = this.now();
    const holder: Holder = { userId, memoryMb, method, startedAt, deadline: startedAt + timeLimitMs };
    this.holders.add(holder);
    return {
      release: () => {
        if (!this.holders.delete(holder)) return;
        const tookMs = this.now() - holder.startedAt;
        const typical = this.typicalMs.get(method);
        this.typicalMs.set(method, typical === undefined ? tookMs : typical + RECENT_WEIGHT * (tookMs - typical));
      },
    };
  }

  /**
   * How long until enough of `holders` have ended to free `needed`: each is expected to take as
   * long as its method's recent runs took, and at most until its time limit stops it.
   */
  private retryAfterSeconds(holders: Holder[], needed: { slots: number; memoryMb: number }): number {
    const now = this.now();
    const remaining = holders
      .map((holder) => {
        const untilDeadline = Math.max(0, holder.deadline - now);
        const typical = this.typicalMs.get(holder.method);
        const expected = typical === undefined ? untilDeadline : holder.startedAt + typical - now;
        return { memoryMb: holder.memoryMb, ms: expected > 0 ? Math.min(expected, untilDeadline) : untilDeadline };
      })
      .sort((a, b) => a.ms - b.ms);
    let slots = 0;
    let memoryMb = 0;
    let waitMs = remaining.at(-1)?.ms ?? 0;
    for (const holder of remaining) {
      slots += 1;
      memoryMb += holder.memoryMb;
      if (slots >= needed.slots && memoryMb >= needed.memoryMb) {
        waitMs = holder.ms;
        break;
      }
    }
    return Math.max(1, Math.ceil(waitMs / 1000));
  }
}
