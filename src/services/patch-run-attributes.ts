import type { Prisma, RoutineRun } from '../generated/prisma/client.ts';
import type { Access } from '../access/access.ts';
import { ValidationError } from '../errors.ts';
import { changeRunMetadata } from './change-run-metadata.ts';
import type { ServiceDeps } from './deps.ts';
import { attributeErrors, MAX_ATTRIBUTES_BYTES } from '../rules/run-metadata.ts';
import { changedKeys, jsonEqual } from './set-run-attributes.ts';

/** Applies a JSON merge patch (RFC 7396) to a run's attributes: null removes a key, objects merge. */
export async function patchRunAttributes(
  deps: ServiceDeps,
  { access, runId, patch }: { access: Access; runId: string; patch: unknown },
): Promise<RoutineRun> {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) {
    throw ValidationError.field(['patch'], 'A merge patch of attributes must be a JSON object');
  }
  if (Buffer.byteLength(JSON.stringify(patch)) > MAX_ATTRIBUTES_BYTES) {
    throw ValidationError.field(['patch'], `A patch may take at most ${MAX_ATTRIBUTES_BYTES} bytes as JSON`);
  }
  return changeRunMetadata(deps, {
    access,
    runId,
    change: {
      type: 'ATTRIBUTES_CHANGED',
      compute: (current) => {
        const next = mergePatch(current.attributes, patch) as Record<string, unknown>;
        const errors = attributeErrors(next);
        if (errors.length) throw new ValidationError(errors);
        if (jsonEqual(current.attributes, next)) return null;
        return {
          set: { attributes: next as Prisma.InputJsonValue },
          detail: { operation: 'patch', changedKeys: changedKeys(current.attributes, next) },
        };
      },
    },
  });
}

/** RFC 7396, section 2. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const result: Record<string, unknown> =
    target !== null && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}
