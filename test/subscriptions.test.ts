// Live progress over real sockets: graphql-ws and GraphQL over SSE, replay then live without
// gaps, progress coalescing, and slow consumers cut off before they cost unbounded memory.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProgressWriter } from '../src/runs/progress-writer.ts';
import { graphql } from './gql/index.ts';
import { collect, waitFor } from './helpers/graphql.ts';
import { RawWebSocket } from './helpers/raw-websocket.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';

const SubCreateInstance = graphql(`
  mutation SubCreateInstance($input: CreateInstanceInput!) {
    createInstance(input: $input) {
      __typename
      ... on CreateInstanceSuccess {
        instance {
          id
        }
      }
      ... on Error {
        message
      }
    }
  }
`);
const SubCreateRun = graphql(`
  mutation SubCreateRun($input: CreateRunInput!) {
    createRun(input: $input) {
      __typename
      ... on CreateRunSuccess {
        run {
          id
        }
      }
      ... on Error {
        message
      }
    }
  }
`);
const SubRunUpdated = graphql(`
  subscription SubRunUpdated($id: ID!, $afterSequence: Int) {
    runUpdated(id: $id, afterSequence: $afterSequence) {
      sequence
      type
      toStatus
      progress {
        percent
        message
      }
      actor {
        name
      }
    }
  }
`);

describe('subscriptions', () => {
  let stack: TestStack;
  let instanceId: string;
  beforeAll(async () => {
    stack = await startTestStack({ env: { WS_STALL_TIMEOUT_MS: '1500' } });
    const created = await stack.admin.query(SubCreateInstance, { input: { routineName: 'montecarlo', name: 'Pi' } });
    if (created.createInstance.__typename !== 'CreateInstanceSuccess') throw new Error('instance');
    instanceId = created.createInstance.instance.id;
  });
  afterAll(async () => {
    await stack?.stop();
  });

  async function startRun(samples: number, batches = 20) {
    const result = await stack.admin.query(SubCreateRun, {
      input: { instanceId, methodName: 'estimatePi', inputs: { samples, batches, seed: 3 } },
    });
    if (result.createRun.__typename !== 'CreateRunSuccess') throw new Error(JSON.stringify(result.createRun));
    return result.createRun.run.id;
  }

  it('many graphql-ws subscribers to one run share one feed and each receive every event once', async () => {
    const runId = await startRun(50_000_000, 40);
    const clients = Array.from({ length: 20 }, () => stack.admin.ws());
    const streaming = Promise.all(
      clients.map((client) =>
        collect(client, SubRunUpdated, { id: runId, afterSequence: 0 }, (items) =>
          items.some((item) => ['COMPLETED', 'FAILED'].includes(item.runUpdated.toStatus ?? '')),
        ),
      ),
    );
    // The same document and variables from the same user: executed once, not once per client.
    await waitFor(async () => stack.api.sharedSubscriptions.size === 1);
    // The feed is acquired once the run's workspace is checked, a read after the subscription starts.
    await waitFor(async () => stack.api.feeds.size > 0);
    expect(stack.api.feeds.size).toBe(1);
    const streams = await streaming;
    await Promise.all(clients.map((client) => client.dispose()));
    const expected = streams[0].map((item) => item.runUpdated.sequence);
    expect(expected).toEqual(expected.map((_, index) => index + 1));
    for (const stream of streams) expect(stream.map((item) => item.runUpdated.sequence)).toEqual(expected);
    expect(streams[0].at(-1)!.runUpdated.toStatus).toBe('COMPLETED');
    // The creator is the actor of the events a user caused.
    expect(streams[0][0].runUpdated.actor?.name).toBe('admin');
    // Every subscriber left: the shared feed is gone.
    await waitFor(async () => stack.api.feeds.size === 0 && stack.api.sharedSubscriptions.size === 0);
  });

  it('resuming with afterSequence replays exactly what came after it', async () => {
    const runId = await startRun(1_000_000);
    const all = await collect(stack.admin.ws(), SubRunUpdated, { id: runId, afterSequence: 0 }, (items) =>
      items.some((item) => item.runUpdated.toStatus === 'COMPLETED'),
    );
    const middle = Math.floor(all.length / 2);
    const ws = stack.admin.ws();
    const rest = await collect(ws, SubRunUpdated, { id: runId, afterSequence: middle }, (items) =>
      items.some((item) => item.runUpdated.toStatus === 'COMPLETED'),
    );
    await ws.dispose();
    expect(rest.map((item) => item.runUpdated.sequence)).toEqual(all.slice(middle).map((item) => item.runUpdated.sequence));
  });

  it('streams over GraphQL-over-SSE with the token in the header', async () => {
    const runId = await startRun(1_000_000);
    const query = `subscription($id: ID!) { runUpdated(id: $id) { sequence type toStatus } }`;
    const refused = await fetch(stack.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query, variables: { id: runId } }),
    });
    expect(refused.status).toBe(401);
    await refused.body?.cancel();

    const controller = new AbortController();
    const response = await fetch(stack.url, {
      method: 'POST',
      signal: controller.signal,
      headers: {
        'content-type': 'application/json',
        accept: 'text/event-stream',
        authorization: `Bearer ${stack.admin.options.token}`,
      },
      body: JSON.stringify({ query, variables: { id: runId } }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/text\/event-stream/);
    const events: Array<{ sequence: number; toStatus: string | null }> = [];
    const decoder = new TextDecoder();
    let buffered = '';
    for await (const chunk of response.body! as unknown as AsyncIterable<Uint8Array>) {
      buffered += decoder.decode(chunk as Uint8Array, { stream: true });
      let boundary: number;
      while ((boundary = buffered.indexOf('\n\n')) >= 0) {
        const message = buffered.slice(0, boundary);
        buffered = buffered.slice(boundary + 2);
        const data = message.split('\n').find((line) => line.startsWith('data:'));
        if (message.includes('event: next') && data) events.push(JSON.parse(data.slice(5)).data.runUpdated);
      }
      if (events.some((event) => event.toStatus === 'COMPLETED')) break;
    }
    controller.abort();
    expect(events.map((event) => event.sequence)).toEqual(events.map((_, index) => index + 1));
    expect(events.at(-1)!.toStatus).toBe('COMPLETED');
  });

  it('closes a graphql-ws subscriber that stops reading with 1013, and the server stays healthy', async () => {
    // A run with a long history of large events, written straight to the database.
    const runId = await startRun(1_000_000);
    const rawRunId = Buffer.from(runId, 'base64').toString().split(':')[1];
    await waitFor(async () => (await stack.core.db.routineRun.findUnique({ where: { id: rawRunId } }))?.status === 'COMPLETED');
    const big = 'x'.repeat(20_000);
    await stack.core.db.$executeRaw`
      INSERT INTO "RunEvent" ("runId", sequence, type, detail)
      SELECT ${rawRunId}::uuid, r."lastSequence" + g, 'LABELS_CHANGED', jsonb_build_object('padding', ${big}::text)
      FROM "RoutineRun" r, generate_series(1, 2000) g WHERE r.id = ${rawRunId}::uuid`;
    await stack.core.db.$executeRaw`UPDATE "RoutineRun" SET "lastSequence" = "lastSequence" + 2000 WHERE id = ${rawRunId}::uuid`;

    const socket = await RawWebSocket.connect({ url: stack.url.replace(/^http/, 'ws'), protocol: 'graphql-transport-ws' });
    socket.sendText(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${stack.admin.options.token}` } }));
    socket.sendText(
      JSON.stringify({
        id: randomUUID(),
        type: 'subscribe',
        payload: { query: 'subscription($id: ID!) { runUpdated(id: $id) { sequence detail } }', variables: { id: runId } },
      }),
    );
    // Stop reading: the kernel buffers fill, then a message waits in the server's send buffer.
    socket.stopReading();
    const rss = process.memoryUsage().rss;
    // A consumer stalled for longer than WS_STALL_TIMEOUT_MS (1.5 s here)…
    await new Promise((resolve) => setTimeout(resolve, 4000));
    socket.resumeReading();
    // …finds a 1013 close (try again later) behind what had already been sent.
    const { code, textFrames } = await socket.closeCode();
    socket.destroy();
    expect(code).toBe(1013);
    await waitFor(async () => stack.api.feeds.size === 0); // the server let go of the subscription
    // It was cut off well before the 2,000 events (40 MB) of the history were sent.
    expect(textFrames).toBeLessThan(2000);
    expect(process.memoryUsage().rss - rss).toBeLessThan(200 * 1024 * 1024);

    const healthy = await stack.admin.query(SubCreateInstance, { input: { routineName: 'montecarlo', name: `after-${randomUUID()}` } });
    expect(healthy.createInstance.__typename).toBe('CreateInstanceSuccess');
  });
});

describe('runsUpdated: every run matching a filter', () => {
  let stack: TestStack;
  let instanceId: string;
  beforeAll(async () => {
    stack = await startTestStack();
    const created = await stack.admin.query(SubCreateInstance, { input: { routineName: 'montecarlo', name: 'Pi' } });
    if (created.createInstance.__typename !== 'CreateInstanceSuccess') throw new Error('instance');
    instanceId = created.createInstance.instance.id;
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const RunsUpdated = graphql(`
    subscription SubRunsUpdated($filter: RunFilter, $since: DateTime) {
      runsUpdated(filter: $filter, since: $since) {
        sequence
        matchesFilter
        run {
          id
          status
          labels
          progress {
            percent
          }
        }
      }
    }
  `);

  async function run(labels: string[]) {
    const result = await stack.admin.query(SubCreateRun, {
      input: { instanceId, methodName: 'estimatePi', labels, inputs: { samples: 5_000_000, batches: 10, seed: 1 } },
    });
    if (result.createRun.__typename !== 'CreateRunSuccess') throw new Error(JSON.stringify(result.createRun));
    return result.createRun.run.id;
  }

  const SubCancelRun = graphql(`
    mutation SubCancelRun($input: CancelRunInput!) {
      cancelRun(input: $input) {
        __typename
        ... on Error {
          message
        }
      }
    }
  `);

  async function draft(labels: string[]) {
    const result = await stack.admin.query(SubCreateRun, {
      input: { instanceId, methodName: 'estimatePi', labels, start: false, inputs: { samples: 1000 } },
    });
    if (result.createRun.__typename !== 'CreateRunSuccess') throw new Error(JSON.stringify(result.createRun));
    return result.createRun.run.id;
  }

  it('streams matching runs live and retracts a run once when it stops matching', async () => {
    const ws = stack.admin.ws();
    const filter = { status: ['CREATED', 'QUEUED', 'RUNNING'] as ('CREATED' | 'QUEUED' | 'RUNNING')[], labelsAny: ['watched'] };
    const updates: Array<{ sequence: number; matchesFilter: boolean; run: { id: string; status: string; labels: string[] } }> = [];
    const retracted = collect(
      ws,
      RunsUpdated,
      { filter },
      (items) => {
        updates.splice(0, updates.length, ...items.map((item) => item.runsUpdated));
        return items.some((item) => !item.runsUpdated.matchesFilter);
      },
      20_000,
    );
    await waitFor(async () => stack.api.runUpdates.size === 1, { timeoutMs: 15_000, what: 'the subscription' });

    // Two new runs; only the watched one matches, and it is sent live.
    const ignoredId = await draft(['other']);
    const watchedId = await draft(['watched']);
    await waitFor(async () => updates.some((update) => update.run.id === watchedId), { timeoutMs: 15_000, what: 'the watched run' });
    // Cancelling it makes it stop matching: it is sent once more, with matchesFilter: false.
    const cancelled = await stack.admin.query(SubCancelRun, { input: { id: watchedId } });
    expect(cancelled.cancelRun.__typename).toBe('CancelRunSuccess');
    await retracted.catch((error: Error) => {
      throw new Error(`no retraction after the cancel: ${error.message}; received ${JSON.stringify(updates)}`);
    });
    await ws.dispose();

    expect(updates.some((update) => update.run.id === ignoredId)).toBe(false);
    const forWatched = updates.filter((update) => update.run.id === watchedId);
    expect(forWatched[0]).toMatchObject({ matchesFilter: true, run: { status: 'CREATED' } });
    expect(forWatched.filter((update) => !update.matchesFilter)).toHaveLength(1);
    expect(forWatched.at(-1)).toMatchObject({ matchesFilter: false, run: { status: 'CANCELLED' } });
    const sequences = forWatched.map((update) => update.sequence);
    expect(sequences).toEqual([...sequences].sort((a, b) => a - b));
    expect(new Set(sequences).size).toBe(sequences.length);
  });

  it('with `since`, first sends every matching run changed since then', async () => {
    const since = new Date(Date.now() - 1000).toISOString();
    const first = await run(['batch-a']);
    const second = await run(['batch-a']);
    for (const id of [first, second]) {
      const rawId = Buffer.from(id, 'base64').toString().split(':')[1];
      await waitFor(async () => (await stack.core.db.routineRun.findUnique({ where: { id: rawId } }))?.status === 'COMPLETED');
    }
    const ws = stack.admin.ws();
    const items = await collect(ws, RunsUpdated, { filter: { labelsAll: ['batch-a'], status: ['COMPLETED'] }, since }, (received) =>
      [first, second].every((id) => received.some((item) => item.runsUpdated.run.id === id)),
    );
    await ws.dispose();
    expect(items.every((item) => item.runsUpdated.matchesFilter && item.runsUpdated.run.status === 'COMPLETED')).toBe(true);
    expect(items.map((item) => item.runsUpdated.run.id).sort()).toEqual([first, second].sort());
  });
});

describe('progress coalescing', () => {
  it('keeps every message change, coalesces percent-only updates, and always ends with the latest', async () => {
    const written: Array<{ percent: number; message: string | null }> = [];
    const writer = new ProgressWriter(
      async (update) => {
        written.push(update);
      },
      { percentUpdatesPerSecond: 10 },
    );
    const started = Date.now();
    for (let i = 0; i <= 20_000; i++) {
      const message = i < 10_000 ? 'Sampling...' : 'Saving artifacts...';
      writer.progress({ percent: (i / 20_000) * 100, message });
      if (i % 1000 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await writer.drain();
    const seconds = (Date.now() - started) / 1000;
    // Two messages, each written when it first appears, plus at most ~10 percent-only writes a second.
    expect(written.filter((w, i) => i === 0 || w.message !== written[i - 1].message).map((w) => w.message)).toEqual([
      'Sampling...',
      'Saving artifacts...',
    ]);
    expect(written.length).toBeLessThanOrEqual(2 + Math.ceil(seconds * 10) + 2);
    expect(written.at(-1)).toEqual({ percent: 100, message: 'Saving artifacts...' });
    const percents = written.map((w) => w.percent);
    expect(percents).toEqual([...percents].sort((a, b) => a - b));
  });
});
