import { describe, expect, it } from 'vitest';
import { isDatabaseUnreachable, untilReachable } from '../../src/db/unreachable.ts';

const prismaError = (code: string, message: string) => Object.assign(new Error(message), { code });

describe('isDatabaseUnreachable', () => {
  it.each([
    ['Prisma P1001', prismaError('P1001', "Invalid `db.run.findMany()` invocation:\n\nCan't reach database server at 127.0.0.1:5432")],
    ['Prisma P1017', prismaError('P1017', 'Server has closed the connection.')],
    ['Prisma P2024', prismaError('P2024', 'Timed out fetching a new connection from the connection pool.')],
    ['pg ECONNREFUSED', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })],
    ['pg ECONNRESET', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })],
    ['admin shutdown 57P01', prismaError('57P01', 'terminating connection due to administrator command')],
    ['starting up 57P03', prismaError('57P03', 'the database system is starting up')],
    ['pg connection terminated', new Error('Connection terminated unexpectedly')],
    [
      'a database closed to connections',
      Object.assign(new Error('database "x" is not currently accepting connections'), { code: '55000' }),
    ],
    ['a full server', Object.assign(new Error('sorry, too many clients already'), { code: '53300' })],
    ['a driver adapter kind in the cause', Object.assign(new Error('wrapped'), { cause: { kind: 'DatabaseNotReachable' } })],
  ])('%s is unreachable', (_name, error) => {
    expect(isDatabaseUnreachable(error)).toBe(true);
  });

  it.each([
    ['a unique violation', prismaError('P2002', 'Unique constraint failed on the fields: (`name`)')],
    [
      'a missing row',
      prismaError('P2025', 'An operation failed because it depends on one or more records that were required but not found.'),
    ],
    ['a deadlock', prismaError('40P01', 'deadlock detected')],
    ['a plain error', new Error('Instance state changed during the write; retried')],
    ['nothing', undefined],
  ])('%s is not', (_name, error) => {
    expect(isDatabaseUnreachable(error)).toBe(false);
  });
});

describe('untilReachable', () => {
  const unreachable = () => prismaError('P1001', "Can't reach database server");

  it('retries while unreachable, tells the operation it is a retry, and reports the recovery once', async () => {
    const calls: boolean[] = [];
    const waits: number[] = [];
    const recovered: number[] = [];
    const result = await untilReachable(
      async (retried) => {
        calls.push(retried);
        if (calls.length < 4) throw unreachable();
        return 'written';
      },
      {
        initialDelayMs: 1,
        maxDelayMs: 4,
        onUnreachable: (_error, failures) => waits.push(failures),
        onRecovered: (failures) => recovered.push(failures),
      },
    );
    expect(result).toBe('written');
    expect(calls).toEqual([false, true, true, true]);
    expect(waits).toEqual([1, 2, 3]);
    expect(recovered).toEqual([3]);
  });

  it('rethrows any other error at once', async () => {
    let calls = 0;
    const failure = prismaError('P2002', 'Unique constraint failed');
    await expect(
      untilReachable(async () => {
        calls += 1;
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(calls).toBe(1);
  });

  it('stops waiting once its signal is aborted', async () => {
    const controller = new AbortController();
    let calls = 0;
    const waiting = untilReachable(
      async () => {
        calls += 1;
        throw unreachable();
      },
      { signal: controller.signal, initialDelayMs: 60_000 },
    );
    setTimeout(() => controller.abort(), 20);
    await expect(waiting).rejects.toThrow("Can't reach database server");
    expect(calls).toBe(2);
  });
});
