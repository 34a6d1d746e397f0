-- Out of memory (issue 16): the memory an OUT_OF_MEMORY error suggests re-running with, and the
-- mark of a RUNNING run that gave its capacity back to be admitted again with more memory
-- (retry.memoryGrowth, src/runs/admission.ts). Existing runs: no suggestion, not waiting.
ALTER TABLE "RoutineRun" ADD COLUMN "errorSuggestedMemoryMb" INTEGER;
ALTER TABLE "RoutineRun" ADD COLUMN "awaitingReadmission" BOOLEAN NOT NULL DEFAULT false;
