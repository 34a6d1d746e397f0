// deleteDataset: removes an uploaded data set (its row, then its files under
// routine://instances_/{instanceId}/shared_/datasets_/{id}/). Refused while a run that has not
// finished names it in its inputs ({ path: Dataset.path }, see ./data-refs.ts): a draft would be
// started, and a queued or running run would read it, after the file is gone.
import type { Access } from '../access/access.ts';
import { DatasetInUseError, NotFoundError } from '../errors.ts';
import type { Tx } from '../runs/run-events.ts';
import { retryOnDeadlock } from '../runs/deadlock.ts';
import { ArtifactStore } from '../storage/artifact-store.ts';
import type { ServiceDeps } from './deps.ts';

/** How many of the referencing runs the error names; `runCount` counts them all. */
const LISTED_RUNS = 20;

export async function deleteDataset(
  deps: ServiceDeps,
  { access, datasetId }: { access: Access; datasetId: string },
): Promise<{ deletedDatasetId: string }> {
  const found = await deps.db.dataset.findUnique({
    where: { id: datasetId },
    select: { id: true, instanceId: true, path: true, instance: { select: { workspaceId: true } } },
  });
  // The instance's workspace decides, as for uploadDataset: a data set of an invisible instance is not found.
  if (!found || !access.canSee(found.instance)) throw new NotFoundError('No data set has this id', datasetId);
  access.require('uploadDataset', found.instance);
  const dataset = found;
  const deleted = await retryOnDeadlock(() =>
    deps.db.$transaction(async (tx) => {
      // Lock the row so two deletes do not both pass; the reference check and the delete commit together.
      const locked = await tx.$queryRaw<{ id: string }[]>`SELECT id FROM "Dataset" WHERE id = ${dataset.id}::uuid FOR UPDATE`;
      if (locked.length === 0) return false;
      const users = await unfinishedRunsUsing(tx, dataset.path);
      if (users.length > 0) throw new DatasetInUseError(users.slice(0, LISTED_RUNS), users.length);
      await tx.dataset.delete({ where: { id: dataset.id } });
      return true;
    }),
  );
  if (!deleted) throw new NotFoundError('No data set has this id', datasetId); // deleted meanwhile
  await new ArtifactStore({ rootDir: deps.storageRoot }).deleteDataset({ instanceId: dataset.instanceId, datasetId: dataset.id });
  return { deletedDatasetId: dataset.id };
}

/**
 * Runs not yet finished whose inputs name `path` as a top-level table reference, the only place
 * dataRefErrors accepts one. Runs of every workspace are looked at: a run of another workspace
 * cannot have been created with this path, and counting one it cannot see tells nothing.
 */
async function unfinishedRunsUsing(tx: Tx, path: string): Promise<string[]> {
  const rows = await tx.$queryRaw<{ id: string }[]>`
    SELECT r.id::text AS id FROM "RoutineRun" r
    WHERE r.status IN ('CREATED', 'QUEUED', 'RUNNING')
      AND jsonb_typeof(r.inputs) = 'object'
      AND EXISTS (SELECT 1 FROM jsonb_each(r.inputs) AS input(name, value)
                  WHERE jsonb_typeof(input.value) = 'object' AND input.value ->> 'path' = ${path})
    ORDER BY r."createdAt", r.id`;
  return rows.map((row) => row.id);
}
