import type { RoutineRun } from '../generated/prisma/client.ts';
import type { Access } from '../access/access.ts';
import { changeRunMetadata } from './change-run-metadata.ts';
import type { ServiceDeps } from './deps.ts';

/** Removes labels from a run; labels it does not carry are ignored. */
export async function removeRunLabels(
  deps: ServiceDeps,
  { access, runId, labels }: { access: Access; runId: string; labels: string[] },
): Promise<RoutineRun> {
  return changeRunMetadata(deps, {
    access,
    runId,
    change: {
      type: 'LABELS_CHANGED',
      compute: (current) => {
        const removed = current.labels.filter((label) => labels.includes(label));
        if (removed.length === 0) return null;
        const next = current.labels.filter((label) => !labels.includes(label));
        return { set: { labels: next }, detail: { added: [], removed, labels: next } };
      },
    },
  });
}
