// What clients and the log see while PostgreSQL is unreachable. Every request then fails the same
// way: clients get a retryable SERVICE_UNAVAILABLE error instead of a masked "Unexpected error."
// they cannot act on, and the log gets one line per outage (then throttled summaries) instead of
// a Prisma stack per request.
import { createGraphQLError, maskError as yogaMaskError, type YogaLogger } from 'graphql-yoga';
import { isDatabaseUnreachable } from '../db/unreachable.ts';
import { LogThrottle } from '../log-throttle.ts';
import { processLogger } from '../logger.ts';

const OUTAGE_KEY = 'graphql requests: database unreachable';

function causedByOutage(error: unknown): boolean {
  return isDatabaseUnreachable(error) || isDatabaseUnreachable((error as { originalError?: unknown } | null)?.originalError);
}

/** yoga's maskError, except that an outage is named (and retryable) rather than masked. */
export function maskErrorNamingOutage(error: unknown, message: string, isDev?: boolean): Error {
  if (causedByOutage(error)) {
    return createGraphQLError(
      'The database is unavailable right now; retry shortly (a createRun with its idempotencyKey is safe to resend).',
      {
        extensions: { code: 'SERVICE_UNAVAILABLE', retryable: true },
      },
    );
  }
  return yogaMaskError(error, message, isDev);
}

/** yoga's logger on the process's pino logger, with outage errors throttled. */
export function yogaLogger(): YogaLogger {
  const logger = processLogger().child({ name: 'graphql' });
  const outage = new LogThrottle((message) => logger.error(message));
  const text = (args: unknown[]) => args.map((arg) => (arg instanceof Error ? (arg.stack ?? arg.message) : String(arg))).join(' ');
  return {
    debug: (...args: unknown[]) => logger.debug(text(args)),
    info: (...args: unknown[]) => logger.info(text(args)),
    warn: (...args: unknown[]) => logger.warn(text(args)),
    error: (...args: unknown[]) => {
      const error = args[0];
      if (causedByOutage(error)) {
        outage.failed(OUTAGE_KEY, error instanceof Error ? error.message : String(error));
        return;
      }
      if (outage.isFailing(OUTAGE_KEY)) outage.succeeded(OUTAGE_KEY);
      logger.error(text(args));
    },
  };
}
