// Guided (WORKFLOW) invocation: a CREATED draft asks for its next parameter and takes them one
// at a time (src/services/run-draft.ts, set-run-parameter.ts); startRun validates the whole. The
// draft's own fields (draftStatus, nextParameter) are RoutineRun's, in ./run.ts.
import type { RoutineRun } from '../src/generated/prisma/client.ts';
import { RunNotDraftError, setRunParameter } from '../src/services/set-run-parameter.ts';
import { builder } from './builder.ts';
import { RunStatusEnum } from './enums.ts';
import { ErrorInterface, ForbiddenError, NotFoundError, ValidationError } from './errors.ts';
import { RoutineRunRef } from './run.ts';

builder.objectType(RunNotDraftError, {
  name: 'RunNotDraftError',
  description: 'Parameters can be set only while the run is CREATED.',
  interfaces: [ErrorInterface],
  fields: (t) => ({ status: t.field({ type: RunStatusEnum, resolve: (error) => error.status }) }),
});

const SetRunParameterInput = builder.inputType('SetRunParameterInput', {
  fields: (t) => ({
    id: t.globalID({ required: true, for: RoutineRunRef }),
    name: t.string({ required: true, description: 'The parameter, as in RoutineMethod.parameters.' }),
    value: t.field({ type: 'JSON', description: 'Its value; null unsets it.' }),
  }),
});

const SetRunParameterSuccess = builder.objectRef<{ run: RoutineRun }>('SetRunParameterSuccess').implement({
  fields: (t) => ({ run: t.field({ type: RoutineRunRef, resolve: (result) => result.run }) }),
});

builder.mutationField('setRunParameter', (t) =>
  t.field({
    type: SetRunParameterSuccess,
    description:
      'Sets one parameter of a draft, validating just that parameter; a refused value is a ValidationError naming ["inputs", name] and the draft keeps its previous state.',
    args: { input: t.arg({ type: SetRunParameterInput, required: true }) },
    errors: {
      types: [ValidationError, NotFoundError, ForbiddenError, RunNotDraftError],
      directResult: true,
      union: { name: 'SetRunParameterResult' },
    },
    resolve: async (_root, { input }, ctx) => ({
      run: await setRunParameter(ctx.services, { access: ctx.access, runId: input.id.id, name: input.name, value: input.value }),
    }),
  }),
);
