-- An idempotency key is its user's within one workspace: a key used in a workspace a token cannot
-- see must neither collide with nor reveal the run there.
DROP INDEX "RoutineRun_createdById_idempotencyKey_key";

CREATE UNIQUE INDEX "RoutineRun_workspaceId_createdById_idempotencyKey_key" ON "RoutineRun"("workspaceId", "createdById", "idempotencyKey");
