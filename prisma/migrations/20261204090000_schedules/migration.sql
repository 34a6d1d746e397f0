-- Schedules (issue 16): the Schedule row is the record for access and lists, the Temporal Schedule
-- schedule-{id} fires; each run it fires points back at it (RoutineRun.scheduleId, kept null once the
-- schedule is deleted, so its runs stay). Deleting an instance deletes its schedules.
-- CreateEnum
CREATE TYPE "ScheduleOverlapPolicy" AS ENUM ('SKIP', 'BUFFER_ONE', 'ALLOW_ALL');

-- AlterTable
ALTER TABLE "RoutineRun" ADD COLUMN     "scheduleId" UUID;

-- CreateTable
CREATE TABLE "Schedule" (
    "id" UUID NOT NULL,
    "workspaceId" UUID NOT NULL,
    "instanceId" UUID NOT NULL,
    "methodName" TEXT NOT NULL,
    "inputs" JSONB NOT NULL DEFAULT '{}',
    "cron" TEXT,
    "intervalSeconds" INTEGER,
    "name" TEXT NOT NULL,
    "labels" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "paused" BOOLEAN NOT NULL DEFAULT false,
    "overlapPolicy" "ScheduleOverlapPolicy" NOT NULL DEFAULT 'SKIP',
    "createdById" UUID NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Schedule_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "Schedule_workspaceId_createdAt_id_idx" ON "Schedule"("workspaceId", "createdAt" DESC, "id");

-- CreateIndex
CREATE INDEX "Schedule_instanceId_idx" ON "Schedule"("instanceId");

-- CreateIndex
CREATE UNIQUE INDEX "Schedule_workspaceId_name_key" ON "Schedule"("workspaceId", "name");

-- CreateIndex
CREATE INDEX "RoutineRun_scheduleId_createdAt_id_idx" ON "RoutineRun"("scheduleId", "createdAt" DESC, "id");

-- AddForeignKey
ALTER TABLE "RoutineRun" ADD CONSTRAINT "RoutineRun_scheduleId_fkey" FOREIGN KEY ("scheduleId") REFERENCES "Schedule"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Schedule" ADD CONSTRAINT "Schedule_workspaceId_fkey" FOREIGN KEY ("workspaceId") REFERENCES "Workspace"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Schedule" ADD CONSTRAINT "Schedule_instanceId_fkey" FOREIGN KEY ("instanceId") REFERENCES "RoutineInstance"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Schedule" ADD CONSTRAINT "Schedule_createdById_fkey" FOREIGN KEY ("createdById") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

