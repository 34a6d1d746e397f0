-- AlterTable
ALTER TABLE "RoutineRun" ADD COLUMN     "errorHost" TEXT,
ADD COLUMN     "errorPhase" TEXT,
ADD COLUMN     "errorWorkerId" TEXT;

-- Errors recorded before phases were kept: the phase their type implies (the worker is unknown).
UPDATE "RoutineRun" SET "errorPhase" = CASE
    WHEN "errorType" IN ('ValidationError', 'MethodNotFoundError') THEN 'VALIDATION'
    WHEN "errorType" IN ('TIMEOUT', 'PROCESS_EXITED', 'API_PROCESS_LOST') THEN 'PROCESS'
    WHEN "errorType" IN ('TERMINATED', 'ATTEMPT_INTERRUPTED') OR "errorType" LIKE 'WORKFLOW\_%' THEN 'WORKFLOW'
    WHEN "errorType" = 'ArtifactError' THEN 'ARTIFACT_STORAGE'
    ELSE 'METHOD'
  END
WHERE "errorType" IS NOT NULL;
