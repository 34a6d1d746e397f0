// A run's events as a stream: the stored events after `afterSequence`, then each new one as it
// is stored. Reads always come from the database in sequence order, and the bus only says
// "there is something new", so the replay/live boundary has no gap and no duplicate.
import type { Db } from '../db/client.ts';
import type { RunEvent } from '../generated/prisma/client.ts';
import type { RunEventBus } from './bus.ts';

const PAGE_SIZE = 500;

export async function* runEventStream({
  db,
  bus,
  runId,
  afterSequence,
  signal,
}: {
  db: Db;
  bus: RunEventBus;
  runId: string;
  afterSequence: number;
  signal?: AbortSignal;
}): AsyncGenerator<RunEvent> {
  // Listen before the first read, so an event stored in between is not missed.
  const waiter = bus.waiter(runId);
  const stop = () => waiter.close();
  signal?.addEventListener('abort', stop);
  let last = afterSequence;
  try {
    while (!signal?.aborted) {
      const events = await db.runEvent.findMany({
        where: { runId, sequence: { gt: last } },
        orderBy: { sequence: 'asc' },
        take: PAGE_SIZE,
      });
      for (const event of events) {
        last = event.sequence;
        yield event;
      }
      if (events.length === PAGE_SIZE) continue;
      await waiter.wait();
    }
  } finally {
    signal?.removeEventListener('abort', stop);
    waiter.close();
  }
}
