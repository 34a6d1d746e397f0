-- Run counters: totalCount and facets of run lists read these instead of counting runs
-- (src/runs/run-counts.ts, docs/querying.md#counts). A cell is every dimension a run list can
-- filter on without reading runs: workspace (visibility), instance, routine version (routineName),
-- method, status, and for RunLabelCount one label.
--
-- Kept by triggers, not by the services: a run enters, leaves or moves between cells on insert,
-- status transition (state machine, bulk cancel's own UPDATE), label change, delete (deleteRun(s),
-- retention, instance delete), and any future path or hand-written SQL. A trigger runs in the
-- writer's own transaction, so the counters are exact at every commit and no code path can forget
-- them.
--
-- Hot rows: the runs of one instance moving between the same statuses would all update one row
-- and wait for each other's commits. Each cell is therefore split into 16 shards, and a writer
-- adds to the shard of its own connection (pg_backend_pid() % 16): concurrent writers on
-- different connections touch different rows; reads sum the shards. Cells that drop to zero stay
-- (deleting them would race with a concurrent writer); reads skip zero sums.
CREATE TABLE "RunCount" (
    "workspaceId" UUID NOT NULL,
    "instanceId" UUID NOT NULL,
    "routineId" UUID NOT NULL,
    "methodName" TEXT NOT NULL,
    "status" "RunStatus" NOT NULL,
    "shard" SMALLINT NOT NULL,
    "count" INTEGER NOT NULL,

    CONSTRAINT "RunCount_pkey" PRIMARY KEY ("workspaceId","instanceId","routineId","methodName","status","shard")
);

CREATE TABLE "RunLabelCount" (
    "workspaceId" UUID NOT NULL,
    "label" TEXT NOT NULL,
    "instanceId" UUID NOT NULL,
    "routineId" UUID NOT NULL,
    "methodName" TEXT NOT NULL,
    "status" "RunStatus" NOT NULL,
    "shard" SMALLINT NOT NULL,
    "count" INTEGER NOT NULL,

    CONSTRAINT "RunLabelCount_pkey" PRIMARY KEY ("workspaceId","label","instanceId","routineId","methodName","status","shard")
);

-- Inserts and deletes are counted per statement: one upsert per cell however many runs, so bulk
-- deletes (deleteRuns, retention, instance delete) stay cheap. Rows are written in key order so
-- that two statements never take the same counter rows in opposite orders.
CREATE FUNCTION run_counts_statement() RETURNS TRIGGER LANGUAGE plpgsql AS $$
DECLARE
  sign INTEGER := CASE TG_OP WHEN 'INSERT' THEN 1 ELSE -1 END;
BEGIN
  INSERT INTO "RunCount" AS c ("workspaceId", "instanceId", "routineId", "methodName", status, shard, count)
  SELECT "workspaceId", "instanceId", "routineId", "methodName", status, (pg_backend_pid() % 16)::smallint, sign * count(*)
  FROM counted_runs GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
  ON CONFLICT ("workspaceId", "instanceId", "routineId", "methodName", status, shard) DO UPDATE SET count = c.count + EXCLUDED.count;
  INSERT INTO "RunLabelCount" AS c ("workspaceId", label, "instanceId", "routineId", "methodName", status, shard, count)
  SELECT r."workspaceId", l.label, r."instanceId", r."routineId", r."methodName", r.status, (pg_backend_pid() % 16)::smallint, sign * count(*)
  FROM counted_runs r CROSS JOIN LATERAL unnest(r.labels) AS l(label)
  GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6
  ON CONFLICT ("workspaceId", label, "instanceId", "routineId", "methodName", status, shard) DO UPDATE SET count = c.count + EXCLUDED.count;
  RETURN NULL;
END $$;

-- Updates per row, and only when a counted column changed (the WHEN clause): most updates of a
-- run (progress, events' sequence, timestamps) never enter the function.
CREATE FUNCTION run_counts_updated() RETURNS TRIGGER LANGUAGE plpgsql AS $$
DECLARE
  writer_shard SMALLINT := (pg_backend_pid() % 16)::smallint;
BEGIN
  INSERT INTO "RunCount" AS c ("workspaceId", "instanceId", "routineId", "methodName", status, shard, count)
  VALUES (OLD."workspaceId", OLD."instanceId", OLD."routineId", OLD."methodName", OLD.status, writer_shard, -1)
  ON CONFLICT ("workspaceId", "instanceId", "routineId", "methodName", status, shard) DO UPDATE SET count = c.count - 1;
  INSERT INTO "RunCount" AS c ("workspaceId", "instanceId", "routineId", "methodName", status, shard, count)
  VALUES (NEW."workspaceId", NEW."instanceId", NEW."routineId", NEW."methodName", NEW.status, writer_shard, 1)
  ON CONFLICT ("workspaceId", "instanceId", "routineId", "methodName", status, shard) DO UPDATE SET count = c.count + 1;
  INSERT INTO "RunLabelCount" AS c ("workspaceId", label, "instanceId", "routineId", "methodName", status, shard, count)
  SELECT OLD."workspaceId", label, OLD."instanceId", OLD."routineId", OLD."methodName", OLD.status, writer_shard, -count(*)
  FROM unnest(OLD.labels) AS label GROUP BY label ORDER BY label
  ON CONFLICT ("workspaceId", label, "instanceId", "routineId", "methodName", status, shard) DO UPDATE SET count = c.count + EXCLUDED.count;
  INSERT INTO "RunLabelCount" AS c ("workspaceId", label, "instanceId", "routineId", "methodName", status, shard, count)
  SELECT NEW."workspaceId", label, NEW."instanceId", NEW."routineId", NEW."methodName", NEW.status, writer_shard, count(*)
  FROM unnest(NEW.labels) AS label GROUP BY label ORDER BY label
  ON CONFLICT ("workspaceId", label, "instanceId", "routineId", "methodName", status, shard) DO UPDATE SET count = c.count + EXCLUDED.count;
  RETURN NULL;
END $$;

CREATE TRIGGER "RoutineRun_counts_insert" AFTER INSERT ON "RoutineRun"
  REFERENCING NEW TABLE AS counted_runs FOR EACH STATEMENT EXECUTE FUNCTION run_counts_statement();
CREATE TRIGGER "RoutineRun_counts_delete" AFTER DELETE ON "RoutineRun"
  REFERENCING OLD TABLE AS counted_runs FOR EACH STATEMENT EXECUTE FUNCTION run_counts_statement();
CREATE TRIGGER "RoutineRun_counts_update" AFTER UPDATE OF status, labels, "workspaceId", "instanceId", "routineId", "methodName" ON "RoutineRun"
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.labels IS DISTINCT FROM NEW.labels
    OR OLD."workspaceId" IS DISTINCT FROM NEW."workspaceId" OR OLD."instanceId" IS DISTINCT FROM NEW."instanceId"
    OR OLD."routineId" IS DISTINCT FROM NEW."routineId" OR OLD."methodName" IS DISTINCT FROM NEW."methodName")
  EXECUTE FUNCTION run_counts_updated();

-- Backfill. CREATE TRIGGER above already holds a lock that blocks writers of "RoutineRun" until
-- this migration commits, so no run is counted twice or missed.
INSERT INTO "RunCount" ("workspaceId", "instanceId", "routineId", "methodName", status, shard, count)
SELECT "workspaceId", "instanceId", "routineId", "methodName", status, 0, count(*)
FROM "RoutineRun" GROUP BY 1, 2, 3, 4, 5;
INSERT INTO "RunLabelCount" ("workspaceId", label, "instanceId", "routineId", "methodName", status, shard, count)
SELECT r."workspaceId", l.label, r."instanceId", r."routineId", r."methodName", r.status, 0, count(*)
FROM "RoutineRun" r CROSS JOIN LATERAL unnest(r.labels) AS l(label) GROUP BY 1, 2, 3, 4, 5, 6;
