-- Logs stream live: a LOG run event points at the log entry it announces.
ALTER TYPE "RunEventType" ADD VALUE 'LOG';

ALTER TABLE "RunLog" ADD COLUMN "lines" INTEGER NOT NULL DEFAULT 1;

ALTER TABLE "RunEvent" ADD COLUMN "logId" BIGINT;
CREATE UNIQUE INDEX "RunEvent_logId_key" ON "RunEvent"("logId");
ALTER TABLE "RunEvent" ADD CONSTRAINT "RunEvent_logId_fkey" FOREIGN KEY ("logId") REFERENCES "RunLog"("id") ON DELETE CASCADE ON UPDATE CASCADE;
