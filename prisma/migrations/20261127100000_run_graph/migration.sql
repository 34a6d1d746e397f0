-- CreateExtension
CREATE EXTENSION IF NOT EXISTS "pg_trgm";

-- CreateIndex
CREATE INDEX "RoutineRun_updatedAt_id_idx" ON "RoutineRun"("updatedAt", "id");

-- CreateIndex
CREATE INDEX "RoutineRun_finishedAt_id_idx" ON "RoutineRun"("finishedAt", "id");

-- CreateIndex
CREATE INDEX "RoutineRun_durationMs_id_idx" ON "RoutineRun"("durationMs", "id");

-- CreateIndex
CREATE INDEX "RoutineRun_name_id_idx" ON "RoutineRun"("name", "id");

-- CreateIndex
CREATE INDEX "RoutineRun_routineId_methodName_idx" ON "RoutineRun"("routineId", "methodName");

-- CreateIndex
CREATE INDEX "RoutineRun_createdById_createdAt_idx" ON "RoutineRun"("createdById", "createdAt");

-- CreateIndex
CREATE INDEX "RoutineRun_name_trgm_idx" ON "RoutineRun" USING GIN ("name" gin_trgm_ops);

-- CreateIndex
CREATE INDEX "RoutineRun_description_trgm_idx" ON "RoutineRun" USING GIN ("description" gin_trgm_ops);

