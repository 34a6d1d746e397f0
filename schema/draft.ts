// Guided (WORKFLOW) invocation: a CREATED draft asks for its next parameter and takes them one
// at a time (src/services/run-draft.ts, set-run-parameter.ts); startRun validates the whole.
import type { RoutineRun } from '../src/generated/prisma/client.ts';
import { draftStatus, type RunDraftStatus } from '../src/services/run-draft.ts';
import { RunNotDraftError, setRunParameter } from '../src/services/set-run-parameter.ts';
import { builder } from './builder.ts';
import { RunStatusEnum } from './enums.ts';
import { ErrorInterface, ForbiddenError, NotFoundError, ValidationError } from './errors.ts';
import { methodsOf, MethodParameterRef } from './routine.ts';
import { RoutineRunRef } from './run.ts';

const RunDraftStatusRef = builder.objectRef<RunDraftStatus>('RunDraftStatus').implement({
  description: 'Where a draft (a CREATED run) stands: what is set, what is still missing, what to ask next.',
  fields: (t) => ({
    complete: t.exposeBoolean('complete', { description: 'Every required parameter is set.' }),
    missing: t.exposeStringList('missing', { description: 'Required parameters not set yet, in signature order.' }),
    set: t.exposeStringList('set'),
    next: t.field({ type: MethodParameterRef, nullable: true, resolve: (status) => status.next }),
  }),
});

const draftSelect = { status: true, inputs: true, methodName: true, routine: { select: { methods: true } } } as const;

function statusOf(run: { status: string; inputs: unknown; methodName: string; routine: { methods: unknown } }): RunDraftStatus | null {
  if (run.status !== 'CREATED') return null;
  const method = methodsOf(run.routine).find((m) => m.name === run.methodName);
  return method ? draftStatus({ parameters: method.parameters, inputs: run.inputs }) : null;
}

builder.prismaObjectFields('RoutineRun', (t) => ({
  draftStatus: t.field({
    type: RunDraftStatusRef,
    nullable: true,
    description: 'For a CREATED run (a draft): which parameters are set and which are missing. Null once started.',
    select: draftSelect,
    resolve: (run) => statusOf(run),
  }),
  nextParameter: t.field({
    type: MethodParameterRef,
    nullable: true,
    description: 'For a CREATED run: the next required parameter to ask for (description, type, options, default); null when none is missing.',
    select: draftSelect,
    resolve: (run) => statusOf(run)?.next ?? null,
  }),
}));

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
      run: await setRunParameter(ctx.services, { user: ctx.user, runId: input.id.id, name: input.name, value: input.value }),
    }),
  }),
);
