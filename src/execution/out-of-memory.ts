// A method that runs out of its memory fails the same way at the same memory: retrying it there
// only burns attempts. So an out-of-memory attempt ends the run (with the memory to ask for next),
// unless the method opted into retrying with more (retry.memoryGrowth). This module owns the
// arithmetic and the words; the sandbox detects it, src/runs/execute-run.ts decides what follows.
import type { MethodFailure } from './types.ts';

export const OUT_OF_MEMORY = 'OUT_OF_MEMORY';

/** Bounds of a method's retry.memoryGrowth, checked when its routine is loaded (defineRoutine). */
export const MIN_MEMORY_GROWTH_EXCLUSIVE = 1;
export const MAX_MEMORY_GROWTH = 16;

/** The memory a re-run should ask for: twice as much, at most the cap; null when already at the cap. */
export function suggestedMemoryMb({ memoryMb, maxRunMemoryMb }: { memoryMb: number; maxRunMemoryMb: number }): number | null {
  return memoryMb >= maxRunMemoryMb ? null : Math.min(maxRunMemoryMb, memoryMb * 2);
}

/** The memory of the next attempt of a method with retry.memoryGrowth; null when already at the cap. */
export function grownMemoryMb({
  memoryMb,
  growth,
  maxRunMemoryMb,
}: {
  memoryMb: number;
  growth: number;
  maxRunMemoryMb: number;
}): number | null {
  return memoryMb >= maxRunMemoryMb ? null : Math.min(maxRunMemoryMb, Math.ceil(memoryMb * growth));
}

/**
 * The failure of a method process that ran out of its memory: not retryable at this memory, and
 * naming the memory to re-run with (or saying that no more can be given).
 */
export function outOfMemoryFailure({
  memoryMb,
  heapMb,
  how,
  maxRunMemoryMb,
}: {
  memoryMb: number;
  heapMb: number;
  /** How the process ended ("was killed by SIGABRT"). */
  how: string;
  maxRunMemoryMb: number;
}): MethodFailure {
  const suggested = suggestedMemoryMb({ memoryMb, maxRunMemoryMb });
  const what = `The method ran out of its ${memoryMb} MB (heap limit ${heapMb} MB; the process ${how}).`;
  const next =
    suggested === null
      ? ` That is the most a run may have (MAX_RUN_MEMORY_MB = ${maxRunMemoryMb}): no more memory can be given; the method must hold less at once.`
      : ` Re-run with memoryOverrideMb: ${suggested} or more (at most MAX_RUN_MEMORY_MB = ${maxRunMemoryMb}).`;
  return { type: OUT_OF_MEMORY, message: what + next, retryable: false, phase: 'PROCESS', suggestedMemoryMb: suggested };
}

/** The failure of an attempt that ran out of memory and is retried with more (retry.memoryGrowth). */
export function retriedWithMoreMemory({
  attempt,
  memoryMb,
  nextMemoryMb,
  growth,
}: {
  attempt: number;
  memoryMb: number;
  nextMemoryMb: number;
  growth: number;
}): MethodFailure {
  return {
    type: OUT_OF_MEMORY,
    message: `The method ran out of its ${memoryMb} MB in attempt ${attempt}: attempt ${attempt + 1} with ${nextMemoryMb} MB (retry.memoryGrowth ${growth}).`,
    retryable: true,
    phase: 'PROCESS',
    suggestedMemoryMb: nextMemoryMb,
  };
}
