// Live logs: a method's log lines become LOG run events, streamed by runUpdated with the same
// replay-without-gaps guarantee as status and progress, and kept for paging in RoutineRun.logs.
// A flood is bounded (a few writes a second, a capped number of lines each) without losing the
// last line of the attempt or the order against progress and the final status.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, waitFor } from './helpers/graphql.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';
import { graphql } from './gql/index.ts';
import type { LlRunLogsQuery } from './gql/graphql.ts';

const FIXTURES = fileURLToPath(new URL('./fixtures/routines/', import.meta.url));

const LlCreateInstance = graphql(`
  mutation LlCreateInstance($input: CreateInstanceInput!) {
    createInstance(input: $input) {
      __typename
      ... on CreateInstanceSuccess {
        instance {
          id
        }
      }
    }
  }
`);

const LlCreateRun = graphql(`
  mutation LlCreateRun($input: CreateRunInput!) {
    createRun(input: $input) {
      __typename
      ... on CreateRunSuccess {
        run {
          id
        }
      }
    }
  }
`);

const LlRunUpdated = graphql(`
  subscription LlRunUpdated($id: ID!, $afterSequence: Int) {
    runUpdated(id: $id, afterSequence: $afterSequence) {
      sequence
      type
      toStatus
      progress {
        percent
      }
      log {
        level
        message
        lines
        attempt
        at
      }
    }
  }
`);

const LlRunLogs = graphql(`
  query LlRunLogs($id: ID!, $after: String) {
    run(id: $id) {
      status
      logs(first: 100, after: $after) {
        totalCount
        pageInfo {
          hasNextPage
          endCursor
        }
        edges {
          node {
            level
            message
            lines
            attempt
          }
        }
      }
      events(first: 100, types: [LOG]) {
        totalCount
      }
    }
  }
`);

type Step = { line: string; level?: string } | { burst: number; levels?: string[] } | { pauseMs: number } | { percent: number };
type Delivered = Awaited<ReturnType<typeof watch>>[number];

let stack: TestStack;
let instanceId: string;

beforeAll(async () => {
  stack = await startTestStack({ env: { ROUTINES_EXTRA_DIRS: FIXTURES } });
  const created = await stack.admin.query(LlCreateInstance, { input: { routineName: 'testkit', name: 'live-logs' } });
  if (created.createInstance.__typename !== 'CreateInstanceSuccess') throw new Error(JSON.stringify(created));
  instanceId = created.createInstance.instance.id;
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

async function startChatter(script: Step[]): Promise<string> {
  const created = await stack.admin.query(LlCreateRun, { input: { instanceId, methodName: 'chatter', inputs: { script } } });
  if (created.createRun.__typename !== 'CreateRunSuccess') throw new Error(JSON.stringify(created));
  return created.createRun.run.id;
}

/** Every event of the run after `afterSequence`, until it ends. */
async function watch(runId: string, afterSequence = 0) {
  const client = stack.admin.ws();
  try {
    const items = await collect(client, LlRunUpdated, { id: runId, afterSequence }, (got) =>
      got.some((item) => ['COMPLETED', 'FAILED', 'CANCELLED'].includes(item.runUpdated.toStatus ?? '')),
    );
    return items.map((item) => item.runUpdated);
  } finally {
    await client.dispose();
  }
}

/** Every RoutineRun.logs entry, all pages. */
async function allLogs(runId: string) {
  const entries: Array<{ level: string; message: string; lines: number; attempt: number }> = [];
  let after: string | null = null;
  let logEvents: number;
  for (;;) {
    const { run }: LlRunLogsQuery = await stack.admin.query(LlRunLogs, { id: runId, after });
    if (!run) throw new Error('run not found');
    logEvents = run.events.totalCount;
    entries.push(...run.logs.edges.map((edge) => edge.node));
    if (!run.logs.pageInfo.hasNextPage) break;
    after = run.logs.pageInfo.endCursor ?? null;
  }
  return { entries, logEvents };
}

const logLines = (events: Delivered[]) => events.flatMap((event) => (event.log ? event.log.message.split('\n') : []));

describe('live logs', () => {
  it('streams each line as it is written, in order with progress and before the final status, and replays the same from any sequence', async () => {
    const runId = await startChatter([
      { line: 'loading data' },
      { pauseMs: 600 },
      { percent: 50 },
      { line: 'half way', level: 'warn' },
      { pauseMs: 600 },
      { line: 'the last line', level: 'error' },
    ]);
    const events = await watch(runId);

    const sequences = events.map((event) => event.sequence);
    expect(sequences).toEqual(Array.from({ length: sequences.length }, (_, index) => index + 1));
    const order = events.map((event) =>
      event.type === 'LOG' ? `LOG ${event.log!.message}` : event.type === 'STATUS_CHANGED' ? event.toStatus : event.type,
    );
    expect(order).toEqual(expect.arrayContaining(['LOG loading data', 'LOG half way', 'LOG the last line', 'COMPLETED']));
    // Lines paused apart are separate entries, in the method's order against progress and status.
    const at = (entry: string) => order.indexOf(entry);
    expect(at('RUNNING')).toBeLessThan(at('LOG loading data'));
    expect(at('LOG loading data')).toBeLessThan(
      order.findIndex((entry, index) => entry === 'PROGRESS' && events[index].progress?.percent === 50),
    );
    expect(order.findIndex((entry, index) => entry === 'PROGRESS' && events[index].progress?.percent === 50)).toBeLessThan(
      at('LOG half way'),
    );
    expect(at('LOG half way')).toBeLessThan(at('LOG the last line'));
    expect(at('LOG the last line')).toBeLessThan(at('COMPLETED'));
    const logged = events.filter((event) => event.type === 'LOG').map((event) => event.log!);
    expect(logged.map((log) => [log.level, log.message, log.lines, log.attempt])).toEqual([
      ['info', 'loading data', 1, 1],
      ['warn', 'half way', 1, 1],
      ['error', 'the last line', 1, 1],
    ]);
    // Non-LOG events carry no log.
    expect(events.filter((event) => event.type !== 'LOG').every((event) => event.log === null)).toBe(true);

    // A client that reconnects after any sequence gets exactly the rest.
    const middle = events.find((event) => event.log?.message === 'half way')!.sequence - 1;
    const resumed = await watch(runId, middle);
    expect(resumed.map((event) => event.sequence)).toEqual(sequences.slice(middle));
    expect(logLines(resumed)).toEqual(['half way', 'the last line']);

    // Paging shows the same entries as the stream.
    const { entries, logEvents } = await allLogs(runId);
    expect(entries.map((entry) => entry.message)).toEqual(['loading data', 'half way', 'the last line']);
    expect(logEvents).toBe(3);
  }, 60_000);

  it('coalesces a burst into one entry per level and bounds a flood, keeping the order of lines and the last line of the attempt', async () => {
    const runId = await startChatter([
      { line: 'before the burst' },
      { pauseMs: 400 },
      { burst: 150, levels: ['info'] },
      { pauseMs: 400 },
      { burst: 20, levels: ['info', 'warn'] },
      { pauseMs: 400 },
      { burst: 20_000, levels: ['debug'] },
      { line: 'the end', level: 'warn' },
    ]);
    const events = await watch(runId);
    const logEvents = events.filter((event) => event.type === 'LOG');
    const { entries } = await allLogs(runId);

    // One event per stored entry; few of them for 20,172 lines.
    expect(logEvents.length).toBe(entries.length);
    expect(logEvents.length).toBeLessThan(60);
    expect(logEvents.map((event) => event.log!.message)).toEqual(entries.map((entry) => entry.message));

    const lines = logLines(logEvents);
    expect(lines[0]).toBe('before the burst');
    // The 150-line burst is whole and in order (within the per-write bound).
    const burst = lines.slice(1, 151);
    expect(burst).toEqual(Array.from({ length: 150 }, (_, index) => `burst line ${index + 1}`));
    // Alternating levels stay apart as entries while there are few, and keep their level.
    const alternating = logEvents.filter(
      (event) => event.log!.message.startsWith('burst line') && event.log!.lines < 150 && event.log!.level !== 'debug',
    );
    expect(new Set(alternating.map((event) => event.log!.level))).toEqual(new Set(['info', 'warn']));
    // The flood: stored lines are bounded, the rest counted in a warning, the last line kept, last.
    const stored = entries.reduce((sum, entry) => sum + entry.lines, 0);
    expect(stored).toBeLessThan(20_172);
    const notices = entries.filter((entry) => /log lines? not stored/.test(entry.message));
    expect(notices.length).toBeGreaterThan(0);
    const dropped = notices.reduce((sum, entry) => sum + Number(/^(\d+) log line/.exec(entry.message)![1]), 0);
    expect(stored - notices.length + dropped).toBe(1 + 150 + 20 + 20_000 + 1);
    expect(lines.at(-1)).toBe('the end');
    const last = logEvents.at(-1)!;
    expect(last.log!.level).toBe('warn');
    expect(last.sequence).toBeLessThan(events.find((event) => event.toStatus === 'COMPLETED')!.sequence);
  }, 90_000);

  it('a line no PostgreSQL text can hold (NUL) is stored readable and costs the run nothing', async () => {
    const runId = await startChatter([{ line: 'before<NUL>after' }, { line: 'fine' }]);
    const events = await watch(runId);
    expect(events.at(-1)!.toStatus).toBe('COMPLETED');
    expect(logLines(events)).toEqual(['before\uFFFDafter', 'fine']);
  }, 60_000);

  it('RoutineRun.logs of a finished run is still paged in order, and LOG events are counted by type', async () => {
    const runId = await startChatter([{ line: 'one' }, { pauseMs: 300 }, { line: 'two' }, { pauseMs: 300 }, { line: 'three' }]);
    await waitFor(async () => {
      const { run } = await stack.admin.query(LlRunLogs, { id: runId, after: null });
      return run?.status === 'COMPLETED';
    });
    const { entries, logEvents } = await allLogs(runId);
    expect(entries.map((entry) => entry.message)).toEqual(['one', 'two', 'three']);
    expect(logEvents).toBe(3);
  }, 60_000);
});
