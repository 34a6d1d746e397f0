-- Priority: admission takes higher priority first among queued runs that fit, with ageing
-- (src/runs/admission.ts). Existing runs keep the default, 0: their order among themselves is unchanged.
ALTER TABLE "RoutineRun" ADD COLUMN "priority" INTEGER NOT NULL DEFAULT 0;

-- RunOrder PRIORITY: keyset pagination on (priority, id), like the other sort fields.
CREATE INDEX "RoutineRun_priority_id_idx" ON "RoutineRun"("priority", "id");
