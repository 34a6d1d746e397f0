-- CreateIndex
CREATE INDEX "RoutineRun_parentRunId_idx" ON "RoutineRun"("parentRunId");
