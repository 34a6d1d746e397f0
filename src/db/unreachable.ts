// "The database is unreachable" as one concept: which errors mean the service's own storage is
// down (as opposed to a bad query or a constraint), and how a writer waits for it to come back.
// A write that fails because PostgreSQL is away is not the run's fault, so it must not cost an
// attempt; callers wait here instead of failing.

/** Prisma's codes for "cannot reach / lost the server" and "timed out waiting for a pooled connection". */
const PRISMA_UNREACHABLE = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024']);
/** SQLSTATEs of a server going away (admin_shutdown, crash_shutdown, cannot_connect_now, connection_failure…) or full (too_many_connections). */
const SQLSTATE_UNREACHABLE = new Set(['57P01', '57P02', '57P03', '08000', '08001', '08003', '08004', '08006', '53300']);
/** Node's socket errors when the server is down or the connection was cut. */
const SOCKET_UNREACHABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTCONN']);
const UNREACHABLE_KINDS = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'TlsConnectionError']);
const MESSAGE_UNREACHABLE =
  /can't reach database server|server has closed the connection|connection terminated|terminating connection|the database system is (starting up|shutting down|in recovery mode)|connection refused|econnrefused|econnreset|timed out fetching a new connection|server closed the connection unexpectedly|client has encountered a connection error|connection (is )?closed|is not currently accepting connections|too many clients already/i;

/** True when `error` (or an error it wraps) says PostgreSQL could not be reached or went away. */
export function isDatabaseUnreachable(error: unknown): boolean {
  for (let current = error, depth = 0; current && depth < 5; depth++) {
    if (typeof current !== 'object') return typeof current === 'string' && MESSAGE_UNREACHABLE.test(current);
    const { code, errorCode, originalCode, kind, message, cause } = current as Record<string, unknown>;
    // Prisma's driver adapters name the failure's kind (DatabaseNotReachable, ConnectionClosed…).
    if (typeof kind === 'string' && UNREACHABLE_KINDS.has(kind)) return true;
    for (const value of [code, errorCode, originalCode]) {
      if (typeof value !== 'string') continue;
      if (PRISMA_UNREACHABLE.has(value) || SQLSTATE_UNREACHABLE.has(value) || SOCKET_UNREACHABLE.has(value)) return true;
    }
    if (typeof message === 'string' && MESSAGE_UNREACHABLE.test(message)) return true;
    current = cause;
  }
  return false;
}

export interface UntilReachableOptions {
  /** Stops waiting (the error is rethrown) once aborted: the user cancelled, the process stops. */
  signal?: AbortSignal;
  /** Called before each wait, with the error and how many attempts failed so far. */
  onUnreachable?: (error: unknown, failures: number) => void;
  /** Called once when an attempt succeeds after failures. */
  onRecovered?: (failures: number, elapsedMs: number) => void;
  initialDelayMs?: number;
  maxDelayMs?: number;
}

/**
 * Runs `operation` until it does not fail with "database unreachable", waiting between attempts
 * with capped exponential backoff and full jitter (many writers coming back at once would
 * otherwise hit the restarted server together). Any other error is rethrown at once. The
 * operation is told whether an earlier attempt failed, so it can check whether that attempt's
 * commit went through before its reply was lost.
 */
export async function untilReachable<T>(
  operation: (retried: boolean) => Promise<T>,
  { signal, onUnreachable, onRecovered, initialDelayMs = 250, maxDelayMs = 5_000 }: UntilReachableOptions = {},
): Promise<T> {
  const started = Date.now();
  for (let failures = 0; ; failures++) {
    try {
      const result = await operation(failures > 0);
      if (failures > 0) onRecovered?.(failures, Date.now() - started);
      return result;
    } catch (error) {
      if (!isDatabaseUnreachable(error) || signal?.aborted) throw error;
      onUnreachable?.(error, failures + 1);
      const ceiling = Math.min(maxDelayMs, initialDelayMs * 2 ** Math.min(failures, 20));
      await sleep(ceiling / 2 + Math.random() * (ceiling / 2), signal);
    }
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
