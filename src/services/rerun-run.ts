// rerunRun: a new run from a finished run's captured inputs and options, with overrides merged
// in and validated exactly as createRun validates (it is createRun). The new run records its
// parent and which inputs changed (`changedInputs`, and the detail of its first event). It
// executes with the parent's instance config unless asked for the current one.
import type { RoutineRun } from '../generated/prisma/client.ts';
import type { Access } from '../access/access.ts';
import type { ExecutionType } from '../generated/prisma/enums.ts';
import { NotFoundError, RunNotFinishedError, ValidationError } from '../errors.ts';
import { isTerminal } from '../runs/state-machine.ts';
import { jsonEqual } from '../db/json-equal.ts';
import { runInputs } from '../db/json-columns.ts';
import { createRun } from './create-run.ts';
import type { ServiceDeps } from './deps.ts';
import { requireRun, runAction } from './require-access.ts';

export interface RerunOverrides {
  /** Merged into the parent's inputs (a JSON merge patch: null removes a parameter). */
  inputs?: unknown;
  name?: string | null;
  description?: string | null;
  labels?: string[] | null;
  attributes?: unknown;
  executionType?: ExecutionType | null;
  /** null clears the parent's override (the method's default memory). */
  memoryOverrideMb?: number | null;
  /** null or absent: the parent's priority. */
  priority?: number | null;
  includePreviews?: boolean | null;
  /** null goes back to the storage default. */
  previewRows?: number | null;
  includeStatistics?: boolean | null;
  storeArtifacts?: boolean | null;
  /**
   * Execute with the instance's config as it is now instead of the config the parent executed
   * with (the default, so that a re-run reproduces its parent after the instance is reconfigured).
   */
  useCurrentConfig?: boolean | null;
}

export async function rerunRun(
  deps: ServiceDeps,
  {
    access,
    runId,
    overrides = {},
    start = true,
  }: { access: Access; runId: string; overrides?: RerunOverrides | null; start?: boolean | null },
): Promise<{ run: RoutineRun; changedInputs: Record<string, unknown> }> {
  const parent = await deps.db.routineRun.findUnique({ where: { id: runId } });
  if (!parent) throw new NotFoundError('No run has this id', runId);
  // createRun asks again on the instance; asking here first refuses before RunNotFinished tells anything.
  requireRun(access, runAction(parent.methodKind), parent, runId);
  if (!isTerminal(parent.status)) throw new RunNotFinishedError(parent.status, 're-run');
  const o = overrides ?? {};

  const parentInputs = runInputs.parse(parent.inputs);
  let inputs = parentInputs;
  if (o.inputs !== undefined && o.inputs !== null) {
    if (typeof o.inputs !== 'object' || Array.isArray(o.inputs)) {
      throw ValidationError.field(['overrides', 'inputs'], 'Input overrides must be a JSON object of parameter values');
    }
    inputs = { ...parentInputs };
    for (const [key, value] of Object.entries(o.inputs as Record<string, unknown>)) {
      if (value === null) delete inputs[key];
      else inputs[key] = value;
    }
  }
  const changedInputs: Record<string, unknown> = {};
  for (const key of new Set([...Object.keys(parentInputs), ...Object.keys(inputs)])) {
    if (!jsonEqual(parentInputs[key], inputs[key])) changedInputs[key] = inputs[key] ?? null;
  }

  try {
    const { run } = await createRun(deps, {
      access,
      input: {
        instanceId: parent.instanceId,
        methodName: parent.methodName,
        name: o.name !== undefined ? o.name : parent.name,
        description: o.description !== undefined ? o.description : parent.description,
        inputs,
        executionType: o.executionType ?? parent.executionType,
        invocationMethod: parent.invocationMethod,
        storeArtifacts: o.storeArtifacts ?? parent.storeArtifacts,
        includeStatistics: o.includeStatistics ?? parent.includeStatistics,
        includePreviews: o.includePreviews ?? parent.includePreviews,
        previewRows: o.previewRows !== undefined ? o.previewRows : parent.previewRows,
        memoryOverrideMb: o.memoryOverrideMb !== undefined ? o.memoryOverrideMb : parent.memoryOverrideMb,
        priority: o.priority ?? parent.priority,
        labels: o.labels ?? parent.labels,
        attributes: o.attributes ?? parent.attributes,
        start: start ?? true,
        parentRunId: parent.id,
        changedInputs,
        // A parent from before runs recorded their config has none to repeat: the current one it is.
        instanceConfig:
          o.useCurrentConfig || parent.instanceConfigVersion === null
            ? null
            : { config: parent.instanceConfig, version: parent.instanceConfigVersion },
      },
    });
    return { run, changedInputs };
  } catch (error) {
    // The fields the caller wrote are under `overrides`.
    if (error instanceof ValidationError) {
      throw new ValidationError(error.fieldErrors.map((e) => ({ ...e, path: ['overrides', ...e.path] })));
    }
    throw error;
  }
}
