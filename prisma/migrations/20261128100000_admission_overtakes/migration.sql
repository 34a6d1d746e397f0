-- AlterTable
ALTER TABLE "RoutineRun" ADD COLUMN     "overtakenCount" INTEGER NOT NULL DEFAULT 0;
