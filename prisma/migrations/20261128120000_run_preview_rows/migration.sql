-- AlterTable
ALTER TABLE "RoutineRun" ADD COLUMN     "previewRows" INTEGER;
