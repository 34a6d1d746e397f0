// Inputs that name stored tables ({ path: "routine://…" }, see `tableRef` in the SDK): a path must
// name an existing artifact or data set when the run is created, so a typo is a ValidationError,
// not a failed run. One of a workspace the request cannot see gets the very same error as a
// missing one: a run cannot read what its user cannot, and the answer does not confirm it exists.
// A run reads only its own workspace's data: whoever may see the run (and, for a draft, start it)
// may see its inputs, so no data crosses workspaces except by a download and an upload.
import type { Access } from '../access/access.ts';
import { isUuid } from '../db/ids.ts';
import type { FieldError } from '../errors.ts';
import { parsePath, ROUTINE_SCHEME } from '../storage/layout.ts';
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

function otherWorkspace(what: string): string {
  return `This ${what} is in another workspace than the run's instance: a run reads only its own workspace's data (download it and upload it there)`;
}
