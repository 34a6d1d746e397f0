import type { Env } from '../env.ts';
import { lineLog, processLogger, type Log, type Logger } from '../logger.ts';

/** The logger of a service command (start, api, worker, migrate): JSON lines on stderr at LOG_LEVEL. */
export function serviceLogger(env: Env, name: string): Logger {
  return processLogger(env.LOG_LEVEL).child({ name });
}

export function serviceLog(env: Env, name: string): Log {
  return lineLog(serviceLogger(env, name));
}

/** What a command run by a person (token, retention) tells that person: prose on stdout, with its results. */
export function personLog(prefix: string): Log {
  return (message: string) => console.log(`[${prefix}] ${message}`);
}

export async function timed<T>(phases: Record<string, number>, name: string, work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await work();
  } finally {
    phases[name] = Math.round(performance.now() - started);
  }
}
