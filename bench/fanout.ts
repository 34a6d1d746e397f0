// bench/fanout: N graphql-ws subscribers (100, 1,000, 5,000) to one run (`runUpdated`) and to a
// filter (`runsUpdated`), events emitted at a steady rate by a writer that records them the way a
// worker does; prints deliveries/s, event → client latency p50/p95/p99, events lost, and server
// memory per connection, next to a bare `ws` broadcast of the same payloads to the same number of
// sockets (the baseline), as ratios. The API runs in its own process, a fresh one for each N, in
// its production form (`npm run build`, then `npm run api:prod`: plain node on dist/, with the
// script's V8 flags); API_FORM=source runs `npm run api` (tsx) instead.
//
// Memory is the API's RSS as the OS sees it (/proc/PID/status VmRSS, no forced GC), sampled
// SETTLE_MS after the process is ready, and after its N-th subscriber subscribed both at once
// (the garbage of N connection handshakes still on the heap) and SETTLE_MS later (idle: V8's
// memory reducer collects and shrinks the heap some 20–30 s after allocation stops).
//
// runsUpdated sends snapshots, and a snapshot supersedes the ones before it: a subscriber that
// receives sequence s has seen the run's state after every event up to s, whether or not each
// one got its own message. So its rate counts events reflected (each subscriber's last sequence
// minus the run's sequence before the first event), the same quantity as the bare broadcast's
// messages, which carry one event each; the messages it actually sent are printed beside it.
//
//   npm run bench:fanout                 SIZES=100,1000 RATE=20 SECONDS=8 SETTLE_MS=5000 to change the load
//   BUS=redis npm run bench:fanout       notices over Redis pub/sub (REDIS_URL, default the local server)
//   API_FORM=source npm run bench:fanout the API from the TypeScript sources under tsx
//   CPU_PROFILE_DIR=/tmp/prof npm run bench:fanout -- --saturate   also prints where the API's CPU
//                                        went while runUpdated was saturated (node --cpu-prof)
//
// At a fixed 20 events/s the rate mostly measures the sender. `npm run bench:fanout -- --saturate`
// (SIZES default 1000,5000) instead sends events as fast as each path takes them: the next event
// goes out as soon as fewer than WINDOW (default 16) events are still on their way to some
// subscriber, for SATURATE_SECONDS (default 5), first through the bare broadcast, then through
// runUpdated (recorded, announced, read once by the run's feed, executed once, serialized once,
// sent to N sockets). It prints deliveries/s, the ratio to bare, p50/p99 latency from the send to
// each subscriber, the peak RSS of each server, and CPU per 1,000 deliveries of each server and of
// this process (the receiving sockets, and the writer for runUpdated): on a loaded machine the
// servers' CPU per delivery stays put when the rates do not, and a ceiling set by the receivers
// shows there.
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { createToken } from '../src/auth/tokens.ts';
import { createDb, type Db } from '../src/db/client.ts';
import type { RedisRunEventTransport } from '../src/events/redis-transport.ts';
import { migrate } from '../src/db/migrate.ts';
import { loadRoutineRegistry } from '../src/routines/registry.ts';
import { syncRoutines } from '../src/routines/sync.ts';
import { RunRecorder } from '../src/runs/recorder.ts';
import { transitionRun } from '../src/runs/state-machine.ts';
import { createTestDatabase } from '../test/helpers/database.ts';
import { freePort } from '../test/helpers/ports.ts';
import { startServiceProcess } from '../test/helpers/processes.ts';
import { startTestTemporalServer } from '../test/helpers/temporal-server.ts';
import { cpuProfileNodeArgs, monotonicMicros, printProfile, profileOf, summarizeProfile } from './cpu-profile.ts';

const SATURATE = process.argv.includes('--saturate');
const SIZES = (process.env.SIZES ?? (SATURATE ? '1000,5000' : '100,1000,5000')).split(',').map(Number);
const WINDOW = Number(process.env.WINDOW ?? 16);
const SATURATE_SECONDS = Number(process.env.SATURATE_SECONDS ?? 5);
const CPU_PROFILE_DIR = process.env.CPU_PROFILE_DIR ? path.resolve(process.env.CPU_PROFILE_DIR) : undefined;
const RATE = Number(process.env.RATE ?? 20); // events per second
const SECONDS = Number(process.env.SECONDS ?? 8);
const REDIS_URL = process.env.BUS === 'redis' ? (process.env.REDIS_URL ?? 'redis://127.0.0.1:6379') : null;
const SETTLE_MS = Number(process.env.SETTLE_MS ?? 30_000);
const COMPILED = (process.env.API_FORM ?? 'compiled') !== 'source';

interface Figures {
  deliveriesPerSecond: number;
  p50: number;
  p95: number;
  p99: number;
  /** Events a subscriber never received (runUpdated), or subscribers that missed the final state (runsUpdated). */
  lost: number;
  /** Messages received, all subscribers together. */
  messages: number;
  connectMs: number;
  /** API RSS once every subscriber is connected and subscribed, before any event. */
  subscribedRss: number | null;
  /** The same, SETTLE_MS later. */
  idleRss: number | null;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(status.match(/VmRSS:\s+(\d+)/)![1]) * 1024;
}

/** RSS after SETTLE_MS of quiet: what an idle process keeps, rather than its transient peak. */
async function settledRss(pid: number): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  return rssOf(pid);
}

/** Opens `count` sockets, `batch` at a time; each calls `onOpen` and routes messages to `onMessage`. */
async function openSockets(
  count: number,
  url: string,
  protocol: string | undefined,
  onOpen: (socket: WebSocket) => void,
  onMessage: (socket: WebSocket, data: string, client: number) => void,
): Promise<WebSocket[]> {
  const sockets: WebSocket[] = [];
  const batch = 200;
  for (let start = 0; start < count; start += batch) {
    await Promise.all(
      Array.from(
        { length: Math.min(batch, count - start) },
        (_, offset) =>
          new Promise<void>((resolve, reject) => {
            const client = start + offset;
            const socket = protocol ? new WebSocket(url, protocol) : new WebSocket(url);
            socket.on('message', (data) => onMessage(socket, data.toString(), client));
            socket.once('open', () => {
              onOpen(socket);
              resolve();
            });
            socket.once('error', reject);
            sockets.push(socket);
          }),
      ),
    );
  }
  return sockets;
}

async function measure({
  count,
  expectedEvents,
  connect,
  emit,
  coalesced,
  serverPid,
}: {
  count: number;
  expectedEvents: number;
  connect: (onDelivery: (sentAt: number, sequence: number, client: number) => void) => Promise<{ close(): void; ready(): Promise<void> }>;
  emit: (index: number) => Promise<void>;
  /**
   * Snapshots are coalesced: count a subscriber as losing only if its last sequence is not the
   * final one, and count the events a subscriber's last snapshot reflects (after `baseSequence`).
   */
  coalesced?: { baseSequence: number; finalSequence: () => Promise<number> };
  serverPid?: number;
}): Promise<Figures> {
  const latencies: number[] = [];
  const lastSequenceOf = new Map<number, number>();
  let deliveries = 0;
  const connectStarted = performance.now();
  const connection = await connect((sentAt, sequence, client) => {
    deliveries += 1;
    latencies.push(Date.now() - sentAt);
    lastSequenceOf.set(client, Math.max(lastSequenceOf.get(client) ?? 0, sequence));
  });
  await connection.ready();
  const connectMs = performance.now() - connectStarted;
  const subscribedRss = serverPid ? rssOf(serverPid) : null;
  const idleRss = serverPid ? await settledRss(serverPid) : null;
  const started = performance.now();
  for (let i = 0; i < expectedEvents; i++) {
    const due = started + (i * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    await emit(i);
  }
  // Let the last deliveries arrive.
  const emittedFor = performance.now() - started;
  const finalSequence = coalesced ? await coalesced.finalSequence() : 0;
  const done = () =>
    coalesced
      ? lastSequenceOf.size === count && [...lastSequenceOf.values()].every((s) => s === finalSequence)
      : deliveries >= count * expectedEvents;
  // Deliveries still in flight are late, not lost: wait for them (up to a minute).
  const deadline = Date.now() + 60_000;
  while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const elapsed = Math.max(emittedFor, performance.now() - started) / 1000;
  connection.close();
  latencies.sort((a, b) => a - b);
  const lost = coalesced
    ? count - [...lastSequenceOf.values()].filter((s) => s === finalSequence).length
    : count * expectedEvents - deliveries;
  // Events delivered (runUpdated, bare) or reflected by the last snapshot (runsUpdated).
  const events = coalesced
    ? [...lastSequenceOf.values()].reduce((sum, sequence) => sum + Math.max(0, sequence - coalesced.baseSequence), 0)
    : deliveries;
  return {
    deliveriesPerSecond: events / elapsed,
    messages: deliveries,
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    p99: percentile(latencies, 99),
    lost,
    connectMs,
    subscribedRss,
    idleRss,
  };
}

/** CPU time (user + system, ms) of another process, from /proc (clock ticks of 10 ms). */
function processCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

interface SaturationFigures {
  /** When it ran, in monotonicMicros(), to find its samples in a CPU profile. */
  window: [number, number];
  events: number;
  deliveriesPerSecond: number;
  p50: number;
  p99: number;
  /** Deliveries still missing 30 s after the last event was sent. */
  lost: number;
  peakRss: number;
  serverCpuMs: number;
  /** The server's CPU time over the time measured: near 100% it was the bottleneck, well below it the pipeline's latency or the machine was. */
  serverBusy: number;
  clientCpuMs: number;
}

/**
 * Events as fast as the path takes them: event i is sent once every subscriber has event
 * i - WINDOW, for SATURATE_SECONDS. `connect` reports each delivery by the event's index.
 */
async function saturate({
  count,
  connect,
  emit,
  serverPid,
}: {
  count: number;
  connect: (onDelivery: (index: number) => void) => Promise<{ close(): void; ready(): Promise<void> }>;
  emit: (index: number) => Promise<void> | void;
  serverPid: number;
}): Promise<SaturationFigures> {
  const sentAt: number[] = [];
  const received: number[] = [];
  const latencies: number[] = [];
  let deliveries = 0;
  let lastDeliveryAt = 0;
  let waiting: { index: number; resolve: () => void } | null = null;
  const connection = await connect((index) => {
    const now = performance.now();
    deliveries += 1;
    lastDeliveryAt = now;
    latencies.push(now - sentAt[index]);
    received[index] = (received[index] ?? 0) + 1;
    if (waiting && (received[waiting.index] ?? 0) >= count) {
      const { resolve } = waiting;
      waiting = null;
      resolve();
    }
  });
  await connection.ready();
  const allReceived = (index: number, timeoutMs: number) =>
    (received[index] ?? 0) >= count
      ? Promise.resolve(true)
      : new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => {
            waiting = null;
            resolve(false);
          }, timeoutMs);
          waiting = {
            index,
            resolve: () => {
              clearTimeout(timer);
              resolve(true);
            },
          };
        });
  let peakRss = rssOf(serverPid);
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssOf(serverPid))), 100);
  const windowStart = monotonicMicros();
  const serverCpuBefore = processCpuMs(serverPid);
  const clientCpuBefore = process.cpuUsage();
  const started = performance.now();
  const deadline = started + SATURATE_SECONDS * 1000;
  let emitted = 0;
  while (performance.now() < deadline) {
    if (emitted >= WINDOW && !(await allReceived(emitted - WINDOW, 10_000))) break;
    sentAt[emitted] = performance.now();
    await emit(emitted);
    emitted += 1;
  }
  // The events still on their way, for 30 s at most in all: one that never arrives is lost, not waited for.
  const drainDeadline = performance.now() + 30_000;
  for (let index = Math.max(0, emitted - WINDOW); index < emitted; index++) {
    if (!(await allReceived(index, Math.max(0, drainDeadline - performance.now())))) break;
  }
  clearInterval(sampler);
  const clientCpu = process.cpuUsage(clientCpuBefore);
  const serverCpuMs = processCpuMs(serverPid) - serverCpuBefore;
  connection.close();
  latencies.sort((a, b) => a - b);
  const elapsedMs = lastDeliveryAt - started;
  return {
    window: [windowStart, monotonicMicros()],
    events: emitted,
    deliveriesPerSecond: deliveries / (elapsedMs / 1000),
    serverBusy: serverCpuMs / elapsedMs,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    lost: emitted * count - deliveries,
    peakRss,
    serverCpuMs,
    clientCpuMs: (clientCpu.user + clientCpu.system) / 1000,
  };
}

/** The number after `"sequence":` in a message, without parsing the message. */
function sequenceIn(data: string): number {
  const at = data.indexOf('"sequence":');
  return at < 0 ? NaN : parseInt(data.slice(at + 11, at + 32), 10);
}

async function main() {
  const benchStarted = performance.now();
  const temporal = await startTestTemporalServer();
  const database = await createTestDatabase('rr_bench_fanout');
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'rr-fanout-'));
  await chmod(dataDir, 0o755);
  let db: Db | null = null;
  let api: Awaited<ReturnType<typeof startServiceProcess>> | null = null;
  let bare: ChildProcess | null = null;
  let transport: RedisRunEventTransport | null = null;
  try {
    await migrate({ url: database.url });
    const channelPrefix = `rr-bench-${randomBytes(4).toString('hex')}`;
    // The writer announces its events the way a worker on the same transport would.
    transport = REDIS_URL
      ? await (await import('../src/events/redis-transport.ts')).RedisRunEventTransport.connect({ url: REDIS_URL, channelPrefix })
      : null;
    db = transport ? transport.publishThrough(createDb({ url: database.url })) : createDb({ url: database.url });
    await syncRoutines({ db, registry: await loadRoutineRegistry() });
    const { token, user, workspace } = await createToken({ db, userName: 'bench' });
    // The production form measured is the one the sources build to now.
    if (COMPILED) execFileSync('npm', ['run', 'build'], { stdio: 'ignore' });
    /** A fresh API process: one per N, so no N's figures carry what a smaller N left behind. */
    const startApiProcess = async () => {
      const port = await freePort();
      const started = await startServiceProcess({
        role: 'api',
        compiled: COMPILED,
        env: {
          DATABASE_URL: database.url,
          TEMPORAL_ADDRESS: temporal.address,
          TEMPORAL_TASK_QUEUE: `fanout-${randomBytes(3).toString('hex')}`,
          DATA_DIR: dataDir,
          PORT: String(port),
          WS_STALL_TIMEOUT_MS: '60000',
          ...(REDIS_URL ? { REDIS_URL, REDIS_CHANNEL_PREFIX: channelPrefix } : {}),
        },
        nodeArgs: CPU_PROFILE_DIR ? cpuProfileNodeArgs(CPU_PROFILE_DIR) : [],
      });
      return { process: started, wsUrl: `ws://127.0.0.1:${port}/graphql` };
    };

    // A run to emit on, RUNNING, as a worker would have it.
    const routine = await db.routine.findFirstOrThrow({ where: { name: 'montecarlo' } });
    const instance = await db.routineInstance.create({
      data: { routineId: routine.id, name: 'fanout', createdById: user.id, workspaceId: workspace!.id },
    });
    const recorder = new RunRecorder(db);
    const newRun = async () => {
      const run = await db!.routineRun.create({
        data: {
          instanceId: instance.id,
          workspaceId: instance.workspaceId,
          routineId: routine.id,
          routineVersion: routine.version,
          methodName: 'estimatePi',
          methodKind: 'STANDARD',
          memoryMb: 128,
          createdById: user.id,
          labels: ['bench'],
          status: 'QUEUED',
          queuedAt: new Date(),
        },
      });
      await transitionRun(db!, { runId: run.id, to: 'RUNNING', set: { attempt: 1 } });
      return run.id;
    };
    const globalRunId = (id: string) => Buffer.from(`RoutineRun:${id}`).toString('base64');

    // The bare baseline server, in its own process like the API.
    bare = fork(fileURLToPath(new URL('./fixtures/bare-broadcast.ts', import.meta.url)), [], { execArgv: ['--import', 'tsx'] });
    const barePort = await new Promise<number>((resolve) => bare!.once('message', (m: { port: number }) => resolve(m.port)));

    const expectedEvents = RATE * SECONDS;
    const rows: string[] = [];
    for (const count of SIZES) {
      const started = await startApiProcess();
      api = started.process;
      const wsUrl = started.wsUrl;
      if (SATURATE) {
        const apiPid = api.child.pid!;
        const rssIdle = rssOf(apiPid);
        const bareFigures = await saturate({
          count,
          serverPid: bare.pid!,
          connect: async (onDelivery) => {
            const sockets = await openSockets(
              count,
              `ws://127.0.0.1:${barePort}`,
              undefined,
              () => {},
              (_socket, data) => onDelivery(sequenceIn(data) - 1),
            );
            return { close: () => sockets.forEach((socket) => socket.terminate()), ready: async () => {} };
          },
          emit: (i) => {
            const payload = JSON.stringify({
              id: '1',
              type: 'next',
              payload: {
                data: {
                  runUpdated: {
                    sequence: i + 1,
                    type: 'PROGRESS',
                    at: new Date().toISOString(),
                    progress: { percent: i % 100, message: `step ${i}` },
                  },
                },
              },
            });
            bare!.send({ type: 'broadcast', payload });
          },
        });
        const runId = await newRun();
        const { lastSequence: baseSequence } = await db.routineRun.findUniqueOrThrow({
          where: { id: runId },
          select: { lastSequence: true },
        });
        let subscribed = 0;
        const oneRun = await saturate({
          count,
          serverPid: apiPid,
          connect: async (onDelivery) => {
            const sockets = await openSockets(
              count,
              wsUrl,
              'graphql-transport-ws',
              (socket) => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })),
              (socket, data) => {
                if (data.includes('"type":"next"')) return onDelivery(sequenceIn(data) - baseSequence - 1);
                if ((JSON.parse(data) as { type: string }).type !== 'connection_ack') return;
                socket.send(
                  JSON.stringify({
                    id: '1',
                    type: 'subscribe',
                    payload: {
                      query:
                        'subscription($id: ID!, $after: Int) { runUpdated(id: $id, afterSequence: $after) { sequence type at progress { percent message } } }',
                      variables: { id: globalRunId(runId), after: baseSequence },
                    },
                  }),
                );
                subscribed += 1;
              },
            );
            return {
              close: () => sockets.forEach((socket) => socket.terminate()),
              ready: async () => {
                const deadline = Date.now() + 60_000;
                while (subscribed < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
                await new Promise((r) => setTimeout(r, 500)); // let subscriptions register server-side
              },
            };
          },
          emit: (i) => recorder.progress({ runId, percent: i % 100, message: `step ${i}` }),
        });
        await api.stop();
        api = null;
        if (CPU_PROFILE_DIR) {
          const file = profileOf(CPU_PROFILE_DIR, apiPid);
          if (!file) throw new Error(`no CPU profile of the API process ${apiPid} in ${CPU_PROFILE_DIR}`);
          const summary = summarizeProfile(file, [oneRun.window]);
          printProfile(`N=${count}: the API while runUpdated was saturated (${file})`, summary, {
            count: Math.max(1, oneRun.events * count - oneRun.lost) / 1000,
            per: '1,000 deliveries',
          });
        }
        const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
        const perThousand = (ms: number, f: SaturationFigures) => ((ms * 1000) / Math.max(1, f.events * count - f.lost)).toFixed(1);
        const fmt = (f: SaturationFigures) =>
          `${Math.round(f.deliveriesPerSecond).toString().padStart(7)} deliveries/s (${String(f.events).padStart(4)} events)  p50 ${f.p50.toFixed(0).padStart(5)} p99 ${f.p99.toFixed(0).padStart(5)} ms  lost ${f.lost}  peak RSS ${mb(f.peakRss).padStart(6)}  CPU per 1,000 deliveries: server ${perThousand(f.serverCpuMs, f).padStart(5)} ms (busy ${(100 * f.serverBusy).toFixed(0)}% of one CPU), this process (receivers, writer) ${perThousand(f.clientCpuMs, f).padStart(5)} ms`;
        rows.push(
          `N=${count}, saturated (next event once fewer than ${WINDOW} are on their way, ${SATURATE_SECONDS} s)`,
          `  bare ws broadcast   ${fmt(bareFigures)}`,
          `  runUpdated (1 run)  ${fmt(oneRun)}  ratio ${(oneRun.deliveriesPerSecond / bareFigures.deliveriesPerSecond).toFixed(2)}× of bare`,
          `  API (${COMPILED ? 'compiled: npm run api:prod' : 'sources: npm run api'}, a fresh process) RSS before the subscribers ${mb(rssIdle)}`,
        );
        console.log(rows.slice(-4).join('\n'));
        continue;
      }
      const rssBefore = await settledRss(api.child.pid!);
      /** Size of a message each kind sent, to show that like is compared with like. */
      const messageBytes = { bare: 0, runUpdated: 0, runsUpdated: 0 };
      // --- baseline: bare ws broadcast of the same payload shape ---
      let bareReady = 0;
      const bareFigures = await measure({
        count,
        expectedEvents,
        connect: async (onDelivery) => {
          const sockets = await openSockets(
            count,
            `ws://127.0.0.1:${barePort}`,
            undefined,
            () => (bareReady += 1),
            (_socket, data, client) => {
              const event = JSON.parse(data).payload.data.runUpdated;
              messageBytes.bare = data.length;
              onDelivery(Date.parse(event.at), event.sequence, client);
            },
          );
          return { close: () => sockets.forEach((s) => s.terminate()), ready: async () => {} };
        },
        emit: async (i) => {
          const payload = JSON.stringify({
            id: '1',
            type: 'next',
            payload: {
              data: {
                runUpdated: {
                  sequence: i + 1,
                  type: 'PROGRESS',
                  at: new Date().toISOString(),
                  progress: { percent: i % 100, message: `step ${i}` },
                },
              },
            },
          });
          bare!.send({ type: 'broadcast', payload });
        },
      });

      // --- runUpdated: N subscribers to one run ---
      const runId = await newRun();
      let acked = 0;
      let subscribed = 0;
      let baseSequence = 0;
      const oneRun = await measure({
        count,
        expectedEvents,
        connect: async (onDelivery) => {
          const [{ lastSequence }] = await db!.$queryRaw<
            { lastSequence: number }[]
          >`SELECT "lastSequence" FROM "RoutineRun" WHERE id = ${runId}::uuid`;
          baseSequence = lastSequence;
          const sockets = await openSockets(
            count,
            wsUrl,
            'graphql-transport-ws',
            (socket) => {
              socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }));
            },
            (socket, data, client) => {
              const message = JSON.parse(data);
              if (message.type === 'connection_ack') {
                acked += 1;
                socket.send(
                  JSON.stringify({
                    id: '1',
                    type: 'subscribe',
                    payload: {
                      query:
                        'subscription($id: ID!, $after: Int) { runUpdated(id: $id, afterSequence: $after) { sequence type at progress { percent message } } }',
                      variables: { id: globalRunId(runId), after: baseSequence },
                    },
                  }),
                );
                subscribed += 1;
              } else if (message.type === 'next') {
                const event = message.payload.data.runUpdated;
                messageBytes.runUpdated = data.length;
                onDelivery(Date.parse(event.at), event.sequence, client);
              }
            },
          );
          return {
            close: () => sockets.forEach((s) => s.terminate()),
            ready: async () => {
              const deadline = Date.now() + 60_000;
              while (subscribed < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
              await new Promise((r) => setTimeout(r, 500)); // let subscriptions register server-side
            },
          };
        },
        emit: async (i) => {
          await recorder.progress({ runId, percent: i % 100, message: `step ${i}` });
        },
        serverPid: api.child.pid!,
      });
      const rssAfter = oneRun.idleRss!;

      // --- runsUpdated: N subscribers to a filter ---
      const filterRunId = await newRun();
      const filterBaseSequence = (await db.routineRun.findUniqueOrThrow({ where: { id: filterRunId }, select: { lastSequence: true } }))
        .lastSequence;
      let filterSubscribed = 0;
      const filtered = await measure({
        count,
        expectedEvents,
        connect: async (onDelivery) => {
          const sockets = await openSockets(
            count,
            wsUrl,
            'graphql-transport-ws',
            (socket) => {
              socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }));
            },
            (socket, data, client) => {
              const message = JSON.parse(data);
              if (message.type === 'connection_ack') {
                socket.send(
                  JSON.stringify({
                    id: '1',
                    type: 'subscribe',
                    payload: {
                      query: 'subscription($f: RunFilter) { runsUpdated(filter: $f) { sequence run { status progress { percent at } } } }',
                      variables: { f: { labelsAny: ['bench'], status: ['RUNNING'] } },
                    },
                  }),
                );
                filterSubscribed += 1;
              } else if (message.type === 'next') {
                const update = message.payload.data.runsUpdated;
                messageBytes.runsUpdated = data.length;
                onDelivery(Date.parse(update.run.progress.at), update.sequence, client);
              }
            },
          );
          return {
            close: () => sockets.forEach((s) => s.terminate()),
            ready: async () => {
              const deadline = Date.now() + 60_000;
              while (filterSubscribed < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
              await new Promise((r) => setTimeout(r, 500));
            },
          };
        },
        emit: async (i) => {
          await recorder.progress({ runId: filterRunId, percent: i % 100, message: `step ${i}` });
        },
        coalesced: {
          baseSequence: filterBaseSequence,
          finalSequence: async () =>
            (await db!.routineRun.findUniqueOrThrow({ where: { id: filterRunId }, select: { lastSequence: true } })).lastSequence,
        },
      });
      void acked;
      await api.stop();
      api = null;

      const perConnection = (rssAfter - rssBefore) / count / 1024;
      const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(0);
      const fmt = (f: Figures) =>
        `${Math.round(f.deliveriesPerSecond).toString().padStart(7)}/s  p50 ${String(f.p50).padStart(4)} p95 ${String(f.p95).padStart(4)} p99 ${String(f.p99).padStart(5)} ms  lost ${f.lost}`;
      rows.push(
        `N=${count}  (${expectedEvents} events at ${RATE}/s; events/s delivered, or reflected by the last snapshot for runsUpdated)`,
        `  bare ws broadcast   ${fmt(bareFigures)}   (${messageBytes.bare} B messages)`,
        `  runUpdated (1 run)  ${fmt(oneRun)}   ratio ${(oneRun.deliveriesPerSecond / bareFigures.deliveriesPerSecond).toFixed(2)}× of bare  (${messageBytes.runUpdated} B messages)`,
        `  runsUpdated filter  ${fmt(filtered)}   ratio ${(filtered.deliveriesPerSecond / bareFigures.deliveriesPerSecond).toFixed(2)}× of bare  (${messageBytes.runsUpdated} B messages, ${(filtered.messages / count).toFixed(0)} of ${expectedEvents} events sent per subscriber; lost = subscribers without the final state)`,
        `  API (${COMPILED ? 'compiled: npm run api:prod' : 'sources: npm run api'}, a fresh process) RSS idle ${mb(rssBefore)} MB; with N idle subscribers ${mb(rssAfter)} MB (+${mb(rssAfter - rssBefore)} MB, ${perConnection.toFixed(1)} KB per connection), ${mb(oneRun.subscribedRss!)} MB as the last one subscribed (idle = ${SETTLE_MS / 1000} s later)`,
      );
      console.log(rows.slice(-5).join('\n'));
    }
    console.log(
      `\nsummary (notices over ${REDIS_URL ? 'Redis pub/sub' : 'PostgreSQL LISTEN/NOTIFY'}; ${((performance.now() - benchStarted) / 1000).toFixed(0)} s in all, load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} CPUs)\n` +
        rows.join('\n'),
    );
  } catch (error) {
    if (api && api.child.exitCode !== null) console.error(`The API process exited (${api.child.exitCode}):\n${api.output()}`);
    throw error;
  } finally {
    bare?.send({ type: 'stop' });
    await api?.stop();
    await db?.$disconnect();
    await transport?.close();
    await database.drop();
    await temporal.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
