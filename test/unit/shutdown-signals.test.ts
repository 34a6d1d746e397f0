// Ctrl-C at a terminal reaches `npm start` twice within milliseconds (the terminal's own signal and
// tsx's relayed copy), and a SIGTERM sent to a process group arrives once per process and again
// through tsx: the supervisor must treat those as one request to stop, still let a person who
// presses Ctrl-C again later force the exit, and never wait past its deadline.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { installShutdownHandlers, REPEATED_SIGNAL_WINDOW_MS, ShutdownSequence } from '../../src/shutdown.ts';

describe('shutdown signals', () => {
  let remove: (() => void) | undefined;
  afterEach(() => {
    remove?.();
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  function install({ timeoutMs = 10_000, pending = () => [] as string[], kill = () => [] as string[] } = {}) {
    const exit = vi.spyOn(process, 'exit').mockImplementation((() => undefined) as never);
    const log = vi.fn();
    // A stop that does not finish while the test looks: the service is still shutting down.
    const stop = vi.fn(() => new Promise<void>(() => {}));
    remove = installShutdownHandlers({ stop, log, timeoutMs, pending, kill });
    return { exit, log, stop };
  }

  // process.emit passes the signal's name as a real signal does.
  it('a copy of the first signal arriving at once is the same request: one stop, no forced exit', () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const { exit, stop } = install();
    process.emit('SIGINT', 'SIGINT');
    vi.setSystemTime(1_000_000 + 40);
    process.emit('SIGINT', 'SIGINT');
    expect(stop).toHaveBeenCalledTimes(1);
    expect(exit).not.toHaveBeenCalled();
  });

  it('a second SIGINT sent later forces the exit', () => {
    vi.useFakeTimers({ now: 2_000_000 });
    const { exit, log, stop } = install();
    process.emit('SIGTERM', 'SIGTERM');
    vi.setSystemTime(2_000_000 + REPEATED_SIGNAL_WINDOW_MS + 1);
    process.emit('SIGINT', 'SIGINT');
    expect(stop).toHaveBeenCalledTimes(1);
    expect(exit).toHaveBeenCalledWith(1);
    expect(log).toHaveBeenLastCalledWith('SIGINT again: exiting without waiting for shutdown');
  });

  it('a late copy of SIGTERM (a process group signalled, relayed by tsx) never forces the exit', () => {
    vi.useFakeTimers({ now: 3_000_000 });
    const { exit, stop } = install();
    process.emit('SIGTERM', 'SIGTERM');
    vi.setSystemTime(3_000_000 + 5 * REPEATED_SIGNAL_WINDOW_MS);
    process.emit('SIGTERM', 'SIGTERM');
    expect(stop).toHaveBeenCalledTimes(1);
    expect(exit).not.toHaveBeenCalled();
  });

  it('past the deadline it kills what it started and exits 1 naming what did not stop', () => {
    vi.useFakeTimers({ now: 4_000_000 });
    const kill = vi.fn(() => ['temporal dev server (PID 42)']);
    const { exit, log } = install({ timeoutMs: 3000, pending: () => ['worker', 'database connections'], kill });
    process.emit('SIGTERM', 'SIGTERM');
    vi.advanceTimersByTime(2999);
    expect(exit).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(kill).toHaveBeenCalledTimes(1);
    expect(exit).toHaveBeenCalledWith(1);
    expect(log).toHaveBeenLastCalledWith(
      'shutdown did not finish within 3000 ms: exiting without waiting for worker, database connections; killed temporal dev server (PID 42)',
    );
  });
});

describe('ShutdownSequence', () => {
  it('stops the parts last-started first, goes on past a failure, and names the ones still stopping', async () => {
    const parts = new ShutdownSequence();
    const order: string[] = [];
    let releaseApi!: () => void;
    parts.add('core', async () => void order.push('core'));
    parts.add('worker', async () => {
      order.push('worker');
      throw new Error('boom');
    });
    parts.add('api', () => new Promise<void>((resolve) => (releaseApi = () => (order.push('api'), resolve()))));
    const log = vi.fn();
    const stopped = parts.stopAll(log);
    await Promise.resolve();
    expect(parts.pending()).toEqual(['core', 'worker', 'api']);
    releaseApi();
    await stopped;
    expect(order).toEqual(['api', 'worker', 'core']);
    expect(parts.pending()).toEqual([]);
    expect(log).toHaveBeenCalledWith('shutdown: worker: boom');
  });
});
