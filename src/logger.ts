// The one logger: pino, one JSON object per line ({"level":"info","time":"…","pid":…,"msg":…}) on
// stderr, at LOG_LEVEL; readable colored lines (pino-pretty) instead when stderr is a terminal,
// unless NODE_ENV=production. stdout stays for what a command prints for a person and the READY
// lines that supervisors and tests read.
import { createRequire } from 'node:module';
import { pino, type DestinationStream, type Logger } from 'pino';
import type { PrettyOptions } from 'pino-pretty';
import type { Env } from './env.ts';

export type { Logger };
export type LogLevel = Env['LOG_LEVEL'];

/**
 * One line of prose, logged at info: what most modules take, so that they need not know pino.
 * Make one with lineLog, in the command or runtime that owns the logger.
 */
export type Log = (message: string) => void;

export function createLogger({
  level,
  destination,
  pretty = false,
}: {
  level: LogLevel;
  destination: DestinationStream;
  /** Colored lines for a person (prettyFor) instead of JSON. */
  pretty?: boolean;
}): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid },
      // "info", not pino's 30: readable in a terminal and by anything that greps the lines.
      formatters: { level: (label) => ({ level: label }) },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Temporal's activity log lines carry the activity's task token: whoever holds it can complete
      // or fail that activity through Temporal's API, so it does not belong in a log.
      redact: { paths: ['taskToken', '*.taskToken'], censor: '[redacted]' },
    },
    pretty ? prettyStream(destination) : destination,
  );
}

/**
 * Whether lines written to `stream` are read by a person: a terminal, outside production. The
 * logger exists before the environment is parsed (an invalid one is itself logged), hence
 * NODE_ENV read here.
 */
export function prettyFor(stream: { isTTY?: boolean }, nodeEnv = process.env.NODE_ENV): boolean {
  return stream.isTTY === true && nodeEnv !== 'production';
}

function prettyStream(destination: DestinationStream): DestinationStream {
  // Loaded only for a terminal: services under a supervisor never need it.
  const pinoPretty = createRequire(import.meta.url)('pino-pretty') as (options: PrettyOptions) => DestinationStream;
  return pinoPretty({ colorize: true, sync: true, destination, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' });
}

let processWide: Logger | undefined;

/**
 * This process's logger; every part of the process shares it and its stderr destination. The
 * command or runtime that loaded the environment passes LOG_LEVEL once; parts that only log
 * (the HTTP server, compiled reads, graphql-ws) call it without a level and get that setting.
 */
export function processLogger(level?: LogLevel): Logger {
  // Synchronous, like console.error: a line logged just before process.exit is not lost.
  if (!processWide) {
    const destination = pino.destination({ fd: 2, sync: true });
    // stderr may be a pipe whose reader is gone (a wrapper killed with the process group): a lost
    // log line must not end the process mid-shutdown, before it has stopped what it started.
    destination.on('error', () => {});
    processWide = createLogger({ level: level ?? 'info', destination, pretty: prettyFor(process.stderr) });
  }
  if (level && processWide.level !== level) processWide.level = level;
  return processWide;
}

/** A Log writing each message as an info line of `logger`. */
export function lineLog(logger: Logger): Log {
  return (message) => logger.info(message);
}
