-- A run records the instance config it executes with (fixed at creation), so a retry or a re-run
-- executes with that config and not with whatever the instance was reconfigured to since.
ALTER TABLE "RoutineRun" ADD COLUMN "instanceConfig" JSONB;
ALTER TABLE "RoutineRun" ADD COLUMN "instanceConfigVersion" INTEGER;

-- Runs of stateful routines that have not ended would have executed with the instance's current
-- config: pin that one. Ended runs keep null: which config they executed with was not recorded.
UPDATE "RoutineRun" AS run
SET "instanceConfig" = instance.config, "instanceConfigVersion" = instance."stateVersion"
FROM "RoutineInstance" AS instance, "Routine" AS routine
WHERE run."instanceId" = instance.id
  AND routine.id = instance."routineId"
  AND routine.stateful
  AND run.status IN ('CREATED', 'QUEUED', 'RUNNING');
