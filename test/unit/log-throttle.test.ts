import { describe, expect, it } from 'vitest';
import { LogThrottle } from '../../src/log-throttle.ts';

describe('LogThrottle', () => {
  it('logs a failure once, then at most one summary per interval, then one recovery', () => {
    let now = 0;
    const lines: string[] = [];
    const throttle = new LogThrottle((line) => lines.push(line), { intervalMs: 30_000, now: () => now });
    for (; now < 65_000; now += 500)
      throttle.failed('run sweeper', "Invalid `db.x()` invocation:\n\n  quoted code\nCan't reach database server");
    now = 70_000;
    throttle.succeeded('run sweeper');
    throttle.succeeded('run sweeper');
    expect(lines).toEqual([
      "run sweeper: Can't reach database server",
      "run sweeper: still failing (60 times in the last 30.0 s): Can't reach database server",
      "run sweeper: still failing (60 times in the last 30.0 s): Can't reach database server",
      'run sweeper: recovered after 70.0 s',
    ]);
  });

  it('keeps keys apart', () => {
    const lines: string[] = [];
    const throttle = new LogThrottle((line) => lines.push(line));
    throttle.failed('admission', 'down');
    throttle.failed('reconciler', 'down');
    throttle.failed('admission', 'down');
    expect(lines).toEqual(['admission: down', 'reconciler: down']);
    expect(throttle.isFailing('admission')).toBe(true);
  });
});
