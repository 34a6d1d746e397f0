// setRunParameter: one step of a guided (WORKFLOW) draft. The value is validated on its own and
// refused with a ValidationError naming ["inputs", name]; a refused value leaves the draft as it
// was. A null value unsets the parameter.
import type { Prisma, RoutineRun } from '../generated/prisma/client.ts';
import type { Access } from '../access/access.ts';
import type { RunStatus } from '../generated/prisma/enums.ts';
import { NotFoundError, ValidationError } from '../errors.ts';
import { runInputs } from '../db/json-columns.ts';
import type { ServiceDeps } from './deps.ts';
import { requireRun, runAction } from './require-access.ts';
import { dataRefErrors, lockReferencedDatasets } from './data-refs.ts';
import { parameterErrors } from './method-inputs.ts';

/** Parameters can be set only while a run is a draft (CREATED). */
export class RunNotDraftError extends Error {
  constructor(readonly status: RunStatus) {
    super(`Parameters can be set only on a CREATED run (a draft); this run is ${status}`);
    this.name = 'RunNotDraftError';
  }
}

export async function setRunParameter(
  deps: ServiceDeps,
  { access, runId, name, value }: { access: Access; runId: string; name: string; value: unknown },
): Promise<RoutineRun> {
  const { db, registry } = deps;
  return db.$transaction(async (tx) => {
    // The row lock serialises concurrent steps on one draft, so none overwrites another's value,
    // and a startRun racing with this step sees either the old or the new inputs.
    await tx.$queryRaw`SELECT id FROM "RoutineRun" WHERE id = ${runId}::uuid FOR UPDATE`;
    const run = await tx.routineRun.findUnique({ where: { id: runId }, include: { routine: { select: { name: true } } } });
    // Editing a draft is running it in part: the role its method kind needs.
    if (!run) throw new NotFoundError('No run has this id', runId);
    requireRun(access, runAction(run.methodKind), run, runId);
    if (run.status !== 'CREATED') throw new RunNotDraftError(run.status);
    const method = registry.method(run.routine.name, run.methodName);
    if (!method) throw ValidationError.field(['id'], `Routine "${run.routine.name}" no longer has a method "${run.methodName}"`);
    const inputs = { ...runInputs.parse(run.inputs) };
    if (value === null || value === undefined) {
      if (!Object.hasOwn(method.input.shape, name)) throw ValidationError.field(['inputs', name], 'Unknown parameter');
      delete inputs[name];
    } else {
      const errors = parameterErrors({ method, name, value });
      if (errors.length === 0) errors.push(...(await dataRefErrors(deps, access, { [name]: value }, run.workspaceId)));
      if (errors.length > 0) throw new ValidationError(errors);
      await lockReferencedDatasets(tx, { [name]: value });
      inputs[name] = value;
    }
    return tx.routineRun.update({ where: { id: runId }, data: { inputs: inputs as Prisma.InputJsonValue } });
  });
}
