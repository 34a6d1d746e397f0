import type { RoutineRun } from '../generated/prisma/client.ts';
import type { Access } from '../access/access.ts';
import { ValidationError } from '../errors.ts';
import { changeRunMetadata } from './change-run-metadata.ts';
import type { ServiceDeps } from './deps.ts';
import { labelErrors, MAX_LABELS, normalizeLabels } from '../rules/run-metadata.ts';

/** Adds labels a run does not carry yet (keeping their order after the existing ones). */
export async function addRunLabels(
  deps: ServiceDeps,
  { access, runId, labels }: { access: Access; runId: string; labels: string[] },
): Promise<RoutineRun> {
  const errors = labelErrors(normalizeLabels(labels));
  if (errors.length) throw new ValidationError(errors);
  return changeRunMetadata(deps, {
    access,
    runId,
    change: {
      type: 'LABELS_CHANGED',
      compute: (current) => {
        const added = normalizeLabels(labels).filter((label) => !current.labels.includes(label));
        if (added.length === 0) return null;
        const next = [...current.labels, ...added];
        if (next.length > MAX_LABELS) {
          throw ValidationError.field(['labels'], `A run carries at most ${MAX_LABELS} labels (this would make ${next.length})`);
        }
        return { set: { labels: next }, detail: { added, removed: [], labels: next } };
      },
    },
  });
}
