// Inputs that name stored tables ({ path: "routine://…" }, see `tableRef` in the SDK): a path must
// name an existing artifact or data set when the run is created, so a typo is a ValidationError,
// not a failed run. One of a workspace the request cannot see gets the very same error as a
// missing one: a run cannot read what its user cannot, and the answer does not confirm it exists.
// A run reads only its own workspace's data: whoever may see the run (and, for a draft, start it)
// may see its inputs, so no data crosses workspaces except by a download and an upload.
import type { Access } from '../access/access.ts';
import { isUuid } from '../db/ids.ts';
import { ValidationError, type FieldError } from '../errors.ts';
import { parsePath, ROUTINE_SCHEME } from '../storage/layout.ts';
import type { Tx } from '../runs/run-events.ts';
import type { ServiceDeps } from './deps.ts';

export async function dataRefErrors(
  deps: Pick<ServiceDeps, 'db'>,
  access: Access,
  inputs: Record<string, unknown>,
  /** The workspace of the run's instance. */
  runWorkspaceId: string,
): Promise<FieldError[]> {
  const errors: FieldError[] = [];
  for (const [name, value] of Object.entries(inputs)) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) continue;
    const uri = (value as { path?: unknown }).path;
    if (typeof uri !== 'string' || !uri.startsWith(ROUTINE_SCHEME)) continue;
    const where = ['inputs', name, 'path'];
    const target = parsePath(uri);
    const ids = !target ? [] : target.kind === 'artifact' ? [target.instanceId, target.runId] : [target.instanceId, target.datasetId];
    if (!target || !ids.every(isUuid)) {
      errors.push({ path: where, message: 'Not the path of an artifact (Artifact.path) or a data set (Dataset.path)' });
    } else if (target.kind === 'artifact') {
      const artifact = await deps.db.artifact.findUnique({
        where: { runId_name: { runId: target.runId, name: target.name } },
        select: { run: { select: { instanceId: true, workspaceId: true } } },
      });
      if (!artifact || artifact.run.instanceId !== target.instanceId || !access.canSee(artifact.run))
        errors.push({ path: where, message: `No artifact is stored at ${uri}` });
      else if (artifact.run.workspaceId !== runWorkspaceId) errors.push({ path: where, message: otherWorkspace('artifact') });
    } else {
      const dataset = await deps.db.dataset.findUnique({
        where: { id: target.datasetId },
        select: { instanceId: true, instance: { select: { workspaceId: true } } },
      });
      if (!dataset || dataset.instanceId !== target.instanceId || !access.canSee(dataset.instance))
        errors.push({ path: where, message: `No data set is stored at ${uri}` });
      else if (dataset.instance.workspaceId !== runWorkspaceId) errors.push({ path: where, message: otherWorkspace('data set') });
    }
  }
  return errors;
}

/**
 * Called in the transaction that writes a run's inputs, after dataRefErrors accepted them: takes a
 * share lock on every data set the inputs name, so a deleteDataset (which locks the row for update,
 * then looks for unfinished runs naming it) either commits first — and the data set is reported
 * missing here — or waits for this transaction and then sees the run. Without it, a data set
 * deleted between the check and the commit left a queued run that failed reading it.
 */
export async function lockReferencedDatasets(tx: Tx, inputs: Record<string, unknown>): Promise<void> {
  const referenced = referencedDatasets(inputs);
  if (referenced.size === 0) return;
  const ids = [...referenced.keys()];
  const locked = await tx.$queryRaw<{ id: string }[]>`
    SELECT id::text AS id FROM "Dataset" WHERE id = ANY(${ids}::uuid[]) ORDER BY id FOR SHARE`;
  const present = new Set(locked.map((row) => row.id));
  const gone = ids.filter((id) => !present.has(id));
  if (gone.length > 0) {
    throw new ValidationError(
      gone.map((id) => ({
        path: ['inputs', referenced.get(id)!.name, 'path'],
        message: `No data set is stored at ${referenced.get(id)!.uri}`,
      })),
    );
  }
}

/** Whether the inputs name a data set that lockReferencedDatasets would lock. */
export function referencesDatasets(inputs: Record<string, unknown>): boolean {
  return referencedDatasets(inputs).size > 0;
}

/** Data set id → the input naming it and its path. */
function referencedDatasets(inputs: Record<string, unknown>): Map<string, { name: string; uri: string }> {
  const referenced = new Map<string, { name: string; uri: string }>();
  for (const [name, value] of Object.entries(inputs)) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) continue;
    const uri = (value as { path?: unknown }).path;
    if (typeof uri !== 'string' || !uri.startsWith(ROUTINE_SCHEME)) continue;
    const target = parsePath(uri);
    if (target?.kind === 'dataset' && isUuid(target.datasetId)) referenced.set(target.datasetId, { name, uri });
  }
  return referenced;
}

function otherWorkspace(what: string): string {
  return `This ${what} is in another workspace than the run's instance: a run reads only its own workspace's data (download it and upload it there)`;
}
