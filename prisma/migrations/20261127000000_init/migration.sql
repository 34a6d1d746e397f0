-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateEnum
CREATE TYPE "RunStatus" AS ENUM ('CREATED', 'QUEUED', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED');

-- CreateEnum
CREATE TYPE "ExecutionType" AS ENUM ('BACKGROUND', 'IN_MEMORY');

-- CreateEnum
CREATE TYPE "InvocationMethod" AS ENUM ('WORKFLOW', 'DIRECT');

-- CreateEnum
CREATE TYPE "MethodKind" AS ENUM ('CONSTRUCTOR', 'STANDARD');

-- CreateEnum
CREATE TYPE "RunEventType" AS ENUM ('STATUS_CHANGED', 'PROGRESS', 'ATTEMPT_FAILED', 'CANCEL_REQUESTED', 'LABELS_CHANGED', 'ATTRIBUTES_CHANGED', 'ARTIFACT_STORED', 'RECONCILED');

-- CreateTable
CREATE TABLE "User" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "isAdmin" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "User_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ApiToken" (
    "id" UUID NOT NULL,
    "userId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "tokenHash" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastUsedAt" TIMESTAMP(3),
    "revokedAt" TIMESTAMP(3),

    CONSTRAINT "ApiToken_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Routine" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "version" TEXT NOT NULL,
    "description" TEXT,
    "stateful" BOOLEAN NOT NULL,
    "methods" JSONB NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Routine_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "RoutineInstance" (
    "id" UUID NOT NULL,
    "routineId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT,
    "config" JSONB,
    "stateVersion" INTEGER NOT NULL DEFAULT 0,
    "constructedAt" TIMESTAMP(3),
    "constructedByRunId" UUID,
    "createdById" UUID NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "RoutineInstance_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "RoutineRun" (
    "id" UUID NOT NULL,
    "instanceId" UUID NOT NULL,
    "routineId" UUID NOT NULL,
    "routineVersion" TEXT NOT NULL,
    "methodName" TEXT NOT NULL,
    "methodKind" "MethodKind" NOT NULL,
    "name" TEXT,
    "description" TEXT,
    "inputs" JSONB NOT NULL DEFAULT '{}',
    "outputs" JSONB,
    "status" "RunStatus" NOT NULL DEFAULT 'CREATED',
    "executionType" "ExecutionType" NOT NULL DEFAULT 'BACKGROUND',
    "invocationMethod" "InvocationMethod" NOT NULL DEFAULT 'DIRECT',
    "storeArtifacts" BOOLEAN NOT NULL DEFAULT true,
    "includeStatistics" BOOLEAN NOT NULL DEFAULT false,
    "includePreviews" BOOLEAN NOT NULL DEFAULT false,
    "memoryMb" INTEGER NOT NULL,
    "memoryOverrideMb" INTEGER,
    "labels" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "attributes" JSONB NOT NULL DEFAULT '{}',
    "createdById" UUID NOT NULL,
    "idempotencyKey" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "queuedAt" TIMESTAMP(3),
    "startedAt" TIMESTAMP(3),
    "finishedAt" TIMESTAMP(3),
    "updatedAt" TIMESTAMP(3) NOT NULL,
    "durationMs" INTEGER,
    "cancelRequestedAt" TIMESTAMP(3),
    "cancelReason" TEXT,
    "cancelRequestedById" UUID,
    "maxAttempts" INTEGER NOT NULL DEFAULT 1,
    "timeoutMs" INTEGER,
    "attempt" INTEGER NOT NULL DEFAULT 0,
    "peakMemoryMb" DOUBLE PRECISION,
    "cpuTimeMs" DOUBLE PRECISION,
    "progressPercent" DOUBLE PRECISION,
    "progressMessage" TEXT,
    "progressAt" TIMESTAMP(3),
    "progressSequence" INTEGER,
    "lastSequence" INTEGER NOT NULL DEFAULT 0,
    "errorType" TEXT,
    "errorMessage" TEXT,
    "errorAttempt" INTEGER,
    "errorRetryable" BOOLEAN,
    "errorAt" TIMESTAMP(3),
    "parentRunId" UUID,
    "workflowId" TEXT,

    CONSTRAINT "RoutineRun_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "RunEvent" (
    "id" BIGSERIAL NOT NULL,
    "runId" UUID NOT NULL,
    "sequence" INTEGER NOT NULL,
    "at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "type" "RunEventType" NOT NULL,
    "fromStatus" "RunStatus",
    "toStatus" "RunStatus",
    "progressPercent" DOUBLE PRECISION,
    "progressMessage" TEXT,
    "actorId" UUID,
    "detail" JSONB,

    CONSTRAINT "RunEvent_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "RunLog" (
    "id" BIGSERIAL NOT NULL,
    "runId" UUID NOT NULL,
    "at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "level" TEXT NOT NULL,
    "message" TEXT NOT NULL,
    "attempt" INTEGER NOT NULL,

    CONSTRAINT "RunLog_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Artifact" (
    "id" UUID NOT NULL,
    "runId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "path" TEXT NOT NULL,
    "contentType" TEXT NOT NULL,
    "sizeBytes" BIGINT NOT NULL,
    "checksum" TEXT NOT NULL,
    "metadata" JSONB NOT NULL DEFAULT '{}',
    "preview" JSONB,
    "statistics" JSONB,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Artifact_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "User_name_key" ON "User"("name");

-- CreateIndex
CREATE UNIQUE INDEX "ApiToken_tokenHash_key" ON "ApiToken"("tokenHash");

-- CreateIndex
CREATE INDEX "ApiToken_userId_idx" ON "ApiToken"("userId");

-- CreateIndex
CREATE UNIQUE INDEX "Routine_name_version_key" ON "Routine"("name", "version");

-- CreateIndex
CREATE INDEX "RoutineInstance_createdAt_id_idx" ON "RoutineInstance"("createdAt", "id");

-- CreateIndex
CREATE UNIQUE INDEX "RoutineInstance_routineId_name_key" ON "RoutineInstance"("routineId", "name");

-- CreateIndex
CREATE INDEX "RoutineRun_instanceId_createdAt_id_idx" ON "RoutineRun"("instanceId", "createdAt" DESC, "id");

-- CreateIndex
CREATE INDEX "RoutineRun_createdAt_id_idx" ON "RoutineRun"("createdAt" DESC, "id");

-- CreateIndex
CREATE INDEX "RoutineRun_status_queuedAt_idx" ON "RoutineRun"("status", "queuedAt");

-- CreateIndex
CREATE INDEX "RoutineRun_labels_idx" ON "RoutineRun" USING GIN ("labels");

-- CreateIndex
CREATE INDEX "RoutineRun_attributes_idx" ON "RoutineRun" USING GIN ("attributes" jsonb_path_ops);

-- CreateIndex
CREATE UNIQUE INDEX "RoutineRun_createdById_idempotencyKey_key" ON "RoutineRun"("createdById", "idempotencyKey");

-- CreateIndex
CREATE UNIQUE INDEX "RunEvent_runId_sequence_key" ON "RunEvent"("runId", "sequence");

-- CreateIndex
CREATE INDEX "RunLog_runId_id_idx" ON "RunLog"("runId", "id");

-- CreateIndex
CREATE UNIQUE INDEX "Artifact_runId_name_key" ON "Artifact"("runId", "name");

-- AddForeignKey
ALTER TABLE "ApiToken" ADD CONSTRAINT "ApiToken_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RoutineInstance" ADD CONSTRAINT "RoutineInstance_routineId_fkey" FOREIGN KEY ("routineId") REFERENCES "Routine"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RoutineInstance" ADD CONSTRAINT "RoutineInstance_createdById_fkey" FOREIGN KEY ("createdById") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RoutineRun" ADD CONSTRAINT "RoutineRun_instanceId_fkey" FOREIGN KEY ("instanceId") REFERENCES "RoutineInstance"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RoutineRun" ADD CONSTRAINT "RoutineRun_routineId_fkey" FOREIGN KEY ("routineId") REFERENCES "Routine"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RoutineRun" ADD CONSTRAINT "RoutineRun_createdById_fkey" FOREIGN KEY ("createdById") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RoutineRun" ADD CONSTRAINT "RoutineRun_cancelRequestedById_fkey" FOREIGN KEY ("cancelRequestedById") REFERENCES "User"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RoutineRun" ADD CONSTRAINT "RoutineRun_parentRunId_fkey" FOREIGN KEY ("parentRunId") REFERENCES "RoutineRun"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RunEvent" ADD CONSTRAINT "RunEvent_runId_fkey" FOREIGN KEY ("runId") REFERENCES "RoutineRun"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RunEvent" ADD CONSTRAINT "RunEvent_actorId_fkey" FOREIGN KEY ("actorId") REFERENCES "User"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RunLog" ADD CONSTRAINT "RunLog_runId_fkey" FOREIGN KEY ("runId") REFERENCES "RoutineRun"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Artifact" ADD CONSTRAINT "Artifact_runId_fkey" FOREIGN KEY ("runId") REFERENCES "RoutineRun"("id") ON DELETE CASCADE ON UPDATE CASCADE;

