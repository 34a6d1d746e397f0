// The memory an out-of-memory run is told to ask for, and the memory a method with
// retry.memoryGrowth is retried with: both bounded by MAX_RUN_MEMORY_MB.
import { describe, expect, it } from 'vitest';
import { grownMemoryMb, retriedWithMoreMemory, suggestedMemoryMb } from '../../src/execution/out-of-memory.ts';

describe('out of memory', () => {
  it('suggests twice the memory, at most the cap, and nothing at the cap', () => {
    expect(suggestedMemoryMb({ memoryMb: 256, maxRunMemoryMb: 16384 })).toBe(512);
    expect(suggestedMemoryMb({ memoryMb: 10000, maxRunMemoryMb: 16384 })).toBe(16384);
    expect(suggestedMemoryMb({ memoryMb: 16384, maxRunMemoryMb: 16384 })).toBeNull();
  });

  it('grows by the factor, rounded up to a whole MB, at most the cap, and not at all at the cap', () => {
    expect(grownMemoryMb({ memoryMb: 64, growth: 2, maxRunMemoryMb: 1024 })).toBe(128);
    expect(grownMemoryMb({ memoryMb: 100, growth: 1.25, maxRunMemoryMb: 1024 })).toBe(125);
    expect(grownMemoryMb({ memoryMb: 101, growth: 1.5, maxRunMemoryMb: 1024 })).toBe(152);
    expect(grownMemoryMb({ memoryMb: 96, growth: 2, maxRunMemoryMb: 160 })).toBe(160);
    expect(grownMemoryMb({ memoryMb: 160, growth: 2, maxRunMemoryMb: 160 })).toBeNull();
  });

  it('a retried attempt says which attempt comes next and with how much memory', () => {
    expect(retriedWithMoreMemory({ attempt: 1, memoryMb: 256, nextMemoryMb: 512, growth: 2 })).toEqual({
      type: 'OUT_OF_MEMORY',
      message: 'The method ran out of its 256 MB in attempt 1: attempt 2 with 512 MB (retry.memoryGrowth 2).',
      retryable: true,
      phase: 'PROCESS',
      suggestedMemoryMb: 512,
    });
  });
});
