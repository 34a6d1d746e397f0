-- AlterTable
ALTER TABLE "RoutineRun" ADD COLUMN     "admittedAt" TIMESTAMP(3),
ADD COLUMN     "changedInputs" JSONB,
ADD COLUMN     "workerId" TEXT;

-- CreateTable
CREATE TABLE "Worker" (
    "id" TEXT NOT NULL,
    "host" TEXT NOT NULL,
    "pid" INTEGER NOT NULL,
    "taskQueue" TEXT NOT NULL,
    "slots" INTEGER NOT NULL,
    "memoryMb" INTEGER NOT NULL,
    "startedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "heartbeatAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Worker_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "RunTombstone" (
    "id" UUID NOT NULL,
    "runId" UUID NOT NULL,
    "instanceId" UUID NOT NULL,
    "routineName" TEXT NOT NULL,
    "methodName" TEXT NOT NULL,
    "name" TEXT,
    "status" "RunStatus" NOT NULL,
    "createdById" UUID NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL,
    "deletedById" UUID NOT NULL,
    "deletedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "reason" TEXT,

    CONSTRAINT "RunTombstone_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "Worker_heartbeatAt_idx" ON "Worker"("heartbeatAt");

-- CreateIndex
CREATE INDEX "RunTombstone_runId_idx" ON "RunTombstone"("runId");

-- CreateIndex
CREATE INDEX "RunTombstone_deletedAt_idx" ON "RunTombstone"("deletedAt");

-- CreateIndex
CREATE INDEX "RoutineRun_status_admittedAt_queuedAt_id_idx" ON "RoutineRun"("status", "admittedAt", "queuedAt", "id");

