// The client recipe for watching one run without missing anything across reconnects.
//
// graphql-ws's own retry re-sends a subscription with its *original* variables, which would
// replay the run from the start. This helper instead resubscribes with the last sequence it
// delivered, and drops anything at or below it, so the caller sees each event exactly once, in
// order, across dropped sockets, server restarts and slow-consumer disconnects (close 1013).
//
//   for await (const event of watchRun({ url, token, runId })) draw(event.progress);
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

export interface WatchedRunEvent {
  runId: string;
  sequence: number;
  at: string;
  type: string;
  fromStatus: string | null;
  toStatus: string | null;
  progress: { percent: number; message: string } | null;
  detail: unknown;
  /** LOG events: the log entry they announce (a coalesced burst holds `lines` lines). */
  log: { at: string; level: string; message: string; attempt: number; lines: number } | null;
}

const RUN_UPDATED = /* GraphQL */ `
  subscription WatchRun($id: ID!, $afterSequence: Int) {
    runUpdated(id: $id, afterSequence: $afterSequence) {
      runId
      sequence
      at
      type
      fromStatus
      toStatus
      progress {
        percent
        message
      }
      detail
      log {
        at
        level
        message
        attempt
        lines
      }
    }
  }
`;

const TERMINAL = new Set(['COMPLETED', 'FAILED', 'CANCELLED']);
/** Close codes after which reconnecting cannot help (graphql-ws: bad token, bad request). */
const FATAL_CLOSE_CODES = new Set([4400, 4401, 4403, 4406, 4409]);

export interface WatchRunOptions {
  /** ws:// or http:// URL of /graphql. */
  url: string;
  token: string;
  /** Global id of the run. */
  runId: string;
  /** Resume after this sequence (0 = from the first event). */
  afterSequence?: number;
  /** Stop after the event that ends the run (default true). */
  untilTerminal?: boolean;
  signal?: AbortSignal;
  /** Back-off between reconnects: starts here, doubles, capped at 10 s. */
  retryDelayMs?: number;
  /** Give up after this many reconnects in a row without receiving anything (default: never). */
  maxRetries?: number;
  onReconnect?: (info: { attempt: number; afterSequence: number; reason: unknown }) => void;
  /** For tests and custom transports. */
  createClient?: (options: { url: string; token: string }) => Client;
}

export async function* watchRun(options: WatchRunOptions): AsyncGenerator<WatchedRunEvent> {
  const url = options.url.replace(/^http/, 'ws');
  const untilTerminal = options.untilTerminal ?? true;
  let cursor = options.afterSequence ?? 0;
  let failures = 0;
  while (!options.signal?.aborted) {
    const client = (options.createClient ?? defaultClient)({ url, token: options.token });
    const subscription = client.iterate<{ runUpdated: WatchedRunEvent }>({
      query: RUN_UPDATED,
      variables: { id: options.runId, afterSequence: cursor },
    });
    const abort = () => void subscription.return?.();
    options.signal?.addEventListener('abort', abort);
    let reason: unknown;
    try {
      for await (const result of subscription) {
        if (result.errors?.length) throw new Error(result.errors.map((e) => e.message).join('; '));
        const event = result.data!.runUpdated;
        if (event.sequence <= cursor) continue;
        cursor = event.sequence;
        failures = 0;
        yield event;
        if (untilTerminal && event.type === 'STATUS_CHANGED' && event.toStatus && TERMINAL.has(event.toStatus)) return;
      }
      if (options.signal?.aborted) return;
      reason = new Error('subscription completed by the server');
    } catch (error) {
      const code = (error as { code?: number }).code;
      if (code !== undefined && FATAL_CLOSE_CODES.has(code))
        throw new Error(`Subscription refused (close ${code}): ${(error as { reason?: string }).reason ?? ''}`, { cause: error });
      if (error instanceof Error && !('code' in error) && !isNetworkError(error)) throw error;
      reason = error;
    } finally {
      options.signal?.removeEventListener('abort', abort);
      await client.dispose();
    }
    failures += 1;
    if (options.maxRetries !== undefined && failures > options.maxRetries) {
      throw new Error(`Gave up watching run ${options.runId} after ${failures - 1} reconnects`, { cause: reason });
    }
    options.onReconnect?.({ attempt: failures, afterSequence: cursor, reason });
    await sleep(Math.min((options.retryDelayMs ?? 250) * 2 ** (failures - 1), 10_000), options.signal);
  }
}

function defaultClient({ url, token }: { url: string; token: string }): Client {
  return createClient({
    url,
    webSocketImpl: WebSocket,
    retryAttempts: 0, // this helper reconnects itself, with the latest sequence
    lazy: true,
    connectionParams: { authorization: `Bearer ${token}` },
  });
}

function isNetworkError(error: Error): boolean {
  return /ECONNREFUSED|ECONNRESET|socket|closed|terminated/i.test(error.message);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}
