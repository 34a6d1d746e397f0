-- Schedules give their runs memory and priority, and say how their last fire went (a fire that
-- createRun refuses makes no run; without these columns nobody could see it).
ALTER TABLE "Schedule" ADD COLUMN "memoryOverrideMb" INTEGER,
  ADD COLUMN "priority" INTEGER NOT NULL DEFAULT 0,
  ADD COLUMN "lastFiredAt" TIMESTAMP(3),
  ADD COLUMN "lastFireError" TEXT,
  ADD COLUMN "failedFireCount" INTEGER NOT NULL DEFAULT 0;
