// Ctrl-C at a terminal reaches `npm start` twice within milliseconds (the terminal's own signal and
// tsx's relayed copy): the supervisor must treat that as one request to stop, and still let a
// person who presses Ctrl-C again later force the exit.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { installShutdownHandlers, REPEATED_SIGNAL_WINDOW_MS } from '../../src/embedded/supervisor.ts';

describe('shutdown signals', () => {
  let remove: (() => void) | undefined;
  afterEach(() => {
    remove?.();
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  function install() {
    const exit = vi.spyOn(process, 'exit').mockImplementation((() => undefined) as never);
    const log = vi.fn();
    // A stop that does not finish while the test looks: the service is still shutting down.
    const stop = vi.fn(() => new Promise<void>(() => {}));
    remove = installShutdownHandlers({ stop, log });
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

  it('a second signal sent later forces the exit', () => {
    vi.useFakeTimers({ now: 2_000_000 });
    const { exit, log, stop } = install();
    process.emit('SIGTERM', 'SIGTERM');
    vi.setSystemTime(2_000_000 + REPEATED_SIGNAL_WINDOW_MS + 1);
    process.emit('SIGINT', 'SIGINT');
    expect(stop).toHaveBeenCalledTimes(1);
    expect(exit).toHaveBeenCalledWith(1);
    expect(log).toHaveBeenLastCalledWith('SIGINT again: exiting without waiting for shutdown');
  });
});
