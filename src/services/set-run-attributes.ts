import type { Prisma, RoutineRun } from '../generated/prisma/client.ts';
import type { Access } from '../access/access.ts';
import { ValidationError } from '../errors.ts';
import { changeRunMetadata } from './change-run-metadata.ts';
import type { ServiceDeps } from './deps.ts';
import { attributeErrors } from '../rules/run-metadata.ts';

/** Replaces a run's attributes with a new JSON object. */
export async function setRunAttributes(
  deps: ServiceDeps,
  { access, runId, attributes }: { access: Access; runId: string; attributes: unknown },
): Promise<RoutineRun> {
  const errors = attributeErrors(attributes);
  if (errors.length) throw new ValidationError(errors);
  const next = attributes as Record<string, unknown>;
  return changeRunMetadata(deps, {
    access,
    runId,
    change: {
      type: 'ATTRIBUTES_CHANGED',
      compute: (current) =>
        jsonEqual(current.attributes, next)
          ? null
          : {
              set: { attributes: next as Prisma.InputJsonValue },
              detail: { operation: 'set', changedKeys: changedKeys(current.attributes, next) },
            },
    },
  });
}

export function changedKeys(before: Record<string, unknown>, after: Record<string, unknown>): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys].filter((key) => !jsonEqual(before[key], after[key])).sort();
}

export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const other = b as unknown[];
    return a.length === other.length && a.every((value, index) => jsonEqual(value, other[index]));
  }
  const ak = Object.keys(a);
  const bk = Object.keys(b);
  return ak.length === bk.length && ak.every((key) => key in b && jsonEqual((a as never)[key], (b as never)[key]));
}
