// How a method process's end becomes the run's result: what the child reported, whether a cancel
// or the timeout came first, and how the process exited.
import { describe, expect, it } from 'vitest';
import { decide } from '../../src/execution/sandbox.ts';

const USED = { peakMemoryMb: 42, cpuTimeMs: 1234 };
const NONE = { peakMemoryMb: null, cpuTimeMs: null };
const ENDED = {
  childOutcome: null,
  cancelRequested: false,
  timedOut: false,
  timeoutMs: 5000,
  code: 0,
  signalName: null,
  stderrTail: '',
  outOfMemory: false,
  heapMb: 512,
  memoryMb: 448,
  maxRunMemoryMb: 16384,
};
const reported = (outcome: Parameters<typeof decide>[0]['childOutcome']) => ({ ...ENDED, childOutcome: outcome });

describe('decide', () => {
  it('what the child reported is the result, with the resources it measured', () => {
    expect(decide(reported({ outcome: { status: 'COMPLETED', outputs: { pi: 3.14 } }, resources: USED }))).toEqual({
      status: 'COMPLETED',
      outputs: { pi: 3.14 },
      resources: USED,
    });
    const error = { type: 'VALIDATION', message: 'k must be positive', retryable: false, phase: 'METHOD' } as const;
    expect(decide(reported({ outcome: { status: 'FAILED', error }, resources: USED }))).toEqual({
      status: 'FAILED',
      error,
      resources: USED,
    });
    expect(decide(reported({ outcome: { status: 'CANCELLED' }, resources: USED }))).toEqual({ status: 'CANCELLED', resources: USED });
  });

  it('a cancel wins over a result that raced it', () => {
    const completed = reported({ outcome: { status: 'COMPLETED', outputs: {} }, resources: USED });
    expect(decide({ ...completed, cancelRequested: true })).toEqual({ status: 'CANCELLED', resources: USED });
    // Killed after the grace period: nothing was reported, nothing measured.
    expect(decide({ ...ENDED, cancelRequested: true, code: null, signalName: 'SIGKILL' })).toEqual({
      status: 'CANCELLED',
      resources: NONE,
    });
  });

  it('the timeout without a result is a retryable TIMEOUT naming the limit; a result that made it in time stands', () => {
    expect(decide({ ...ENDED, timedOut: true, cancelRequested: true, code: null, signalName: 'SIGKILL' })).toEqual({
      status: 'FAILED',
      error: {
        type: 'TIMEOUT',
        message: 'Method did not finish within its timeout of 5000 ms and was killed',
        retryable: true,
        phase: 'PROCESS',
      },
      resources: NONE,
    });
    const completed = reported({ outcome: { status: 'COMPLETED', outputs: { n: 1 } }, resources: USED });
    expect(decide({ ...completed, timedOut: true })).toMatchObject({ status: 'COMPLETED' });
  });

  it('a process that ended without a result fails, retryably, saying how it ended and the last lines it printed', () => {
    expect(decide({ ...ENDED, code: 3, stderrTail: 'one\ntwo\nthree\nTypeError: x is undefined\n' })).toEqual({
      status: 'FAILED',
      error: {
        type: 'PROCESS_EXITED',
        message: 'Method process exited with code 3 before reporting a result: two | three | TypeError: x is undefined',
        retryable: true,
        phase: 'PROCESS',
      },
      resources: NONE,
    });
    expect(decide({ ...ENDED, code: null, signalName: 'SIGSEGV' })).toMatchObject({
      error: { message: 'Method process was killed by SIGSEGV before reporting a result' },
    });
  });

  it('running out of memory is OUT_OF_MEMORY, not retryable, and names the memory to re-run with (twice, at most the cap)', () => {
    const outOfMemory = { ...ENDED, code: null, signalName: 'SIGABRT' as const, outOfMemory: true, stderrTail: 'FATAL ERROR: heap limit' };
    expect(decide(outOfMemory)).toEqual({
      status: 'FAILED',
      error: {
        type: 'OUT_OF_MEMORY',
        message:
          'The method ran out of its 448 MB (heap limit 512 MB; the process was killed by SIGABRT). ' +
          'Re-run with memoryOverrideMb: 896 or more (at most MAX_RUN_MEMORY_MB = 16384).',
        retryable: false,
        phase: 'PROCESS',
        suggestedMemoryMb: 896,
      },
      resources: NONE,
    });
    expect(decide({ ...outOfMemory, maxRunMemoryMb: 600 })).toMatchObject({
      error: {
        message: expect.stringContaining('Re-run with memoryOverrideMb: 600 or more (at most MAX_RUN_MEMORY_MB = 600)'),
        suggestedMemoryMb: 600,
      },
    });
    expect(decide({ ...outOfMemory, maxRunMemoryMb: 448 })).toMatchObject({
      error: {
        type: 'OUT_OF_MEMORY',
        message: expect.stringContaining('That is the most a run may have (MAX_RUN_MEMORY_MB = 448): no more memory can be given'),
        suggestedMemoryMb: null,
      },
    });
  });
});
