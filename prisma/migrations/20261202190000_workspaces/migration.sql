-- CreateEnum
CREATE TYPE "WorkspaceRole" AS ENUM ('VIEWER', 'OPERATOR', 'MAINTAINER', 'ADMIN');

-- CreateEnum
CREATE TYPE "TokenScope" AS ENUM ('READ', 'RUN', 'MANAGE', 'ADMIN');

-- DropIndex
DROP INDEX "RoutineInstance_routineId_name_key";

-- AlterTable
ALTER TABLE "ApiToken" ADD COLUMN     "expiresAt" TIMESTAMP(3),
ADD COLUMN     "lastAddress" TEXT,
ADD COLUMN     "scopes" "TokenScope"[] DEFAULT ARRAY['ADMIN']::"TokenScope"[],
ADD COLUMN     "workspaceId" UUID;

-- AlterTable
ALTER TABLE "RoutineInstance" ADD COLUMN     "workspaceId" UUID;

-- AlterTable
ALTER TABLE "RoutineRun" ADD COLUMN     "workspaceId" UUID;

-- CreateTable
CREATE TABLE "Workspace" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "createdById" UUID,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Workspace_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "WorkspaceMember" (
    "workspaceId" UUID NOT NULL,
    "userId" UUID NOT NULL,
    "role" "WorkspaceRole" NOT NULL,
    "addedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "WorkspaceMember_pkey" PRIMARY KEY ("workspaceId","userId")
);

-- CreateTable
CREATE TABLE "AuditEvent" (
    "id" UUID NOT NULL,
    "at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "userId" UUID NOT NULL,
    "tokenId" UUID,
    "workspaceId" UUID,
    "operation" TEXT NOT NULL,
    "targetIds" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "resultType" TEXT NOT NULL,
    "address" TEXT,

    CONSTRAINT "AuditEvent_pkey" PRIMARY KEY ("id")
);

-- Backfill: every existing instance (and so its runs) goes to the workspace "default", and every
-- existing user joins it with today's rights: an admin stays ADMIN, anyone else could create
-- instances and run anything, which is MAINTAINER. Existing tokens keep their full reach (scope
-- ADMIN, unbound), acting with their user's role.
INSERT INTO "Workspace" ("id", "name") VALUES (gen_random_uuid(), 'default');
UPDATE "RoutineInstance" SET "workspaceId" = (SELECT "id" FROM "Workspace" WHERE "name" = 'default');
UPDATE "RoutineRun" r SET "workspaceId" = i."workspaceId" FROM "RoutineInstance" i WHERE i."id" = r."instanceId";
INSERT INTO "WorkspaceMember" ("workspaceId", "userId", "role")
  SELECT w."id", u."id", CASE WHEN u."isAdmin" THEN 'ADMIN'::"WorkspaceRole" ELSE 'MAINTAINER'::"WorkspaceRole" END
  FROM "User" u, "Workspace" w WHERE w."name" = 'default';
ALTER TABLE "RoutineInstance" ALTER COLUMN "workspaceId" SET NOT NULL;
ALTER TABLE "RoutineRun" ALTER COLUMN "workspaceId" SET NOT NULL;

-- CreateIndex
CREATE UNIQUE INDEX "Workspace_name_key" ON "Workspace"("name");

-- CreateIndex
CREATE INDEX "WorkspaceMember_userId_idx" ON "WorkspaceMember"("userId");

-- CreateIndex
CREATE INDEX "AuditEvent_workspaceId_at_id_idx" ON "AuditEvent"("workspaceId", "at" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "AuditEvent_userId_at_id_idx" ON "AuditEvent"("userId", "at" DESC, "id" DESC);

-- CreateIndex
CREATE UNIQUE INDEX "RoutineInstance_workspaceId_routineId_name_key" ON "RoutineInstance"("workspaceId", "routineId", "name");

-- CreateIndex
CREATE INDEX "RoutineInstance_workspaceId_createdAt_id_idx" ON "RoutineInstance"("workspaceId", "createdAt", "id");

-- CreateIndex
CREATE INDEX "RoutineRun_workspaceId_createdAt_id_idx" ON "RoutineRun"("workspaceId", "createdAt" DESC, "id");

-- AddForeignKey
ALTER TABLE "Workspace" ADD CONSTRAINT "Workspace_createdById_fkey" FOREIGN KEY ("createdById") REFERENCES "User"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "WorkspaceMember" ADD CONSTRAINT "WorkspaceMember_workspaceId_fkey" FOREIGN KEY ("workspaceId") REFERENCES "Workspace"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "WorkspaceMember" ADD CONSTRAINT "WorkspaceMember_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ApiToken" ADD CONSTRAINT "ApiToken_workspaceId_fkey" FOREIGN KEY ("workspaceId") REFERENCES "Workspace"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RoutineInstance" ADD CONSTRAINT "RoutineInstance_workspaceId_fkey" FOREIGN KEY ("workspaceId") REFERENCES "Workspace"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

