// applyRetention (ADMIN of a workspace): deletes old finished runs under a policy, or reports what it
// would delete (dryRun, the default), in the workspaces where the request is ADMIN. src/services/apply-retention.ts; `npm run retention` does the same.
import { z } from 'zod';
import { applyRetention, type RetentionCandidate, type RetentionResult } from '../src/services/apply-retention.ts';
import { builder } from './builder.ts';
import { RunStatusEnum } from './enums.ts';
import { ForbiddenError, NotFoundError, ValidationError } from './errors.ts';
import { RoutineInstanceRef } from './instance.ts';
import { WorkspaceRef } from './workspace.ts';

const RetentionCandidateRef = builder.objectRef<RetentionCandidate>('RetentionCandidate').implement({
  fields: (t) => ({
    runId: t.globalID({ resolve: (candidate) => ({ type: 'RoutineRun', id: candidate.id }) }),
    instanceId: t.globalID({ resolve: (candidate) => ({ type: 'RoutineInstance', id: candidate.instanceId }) }),
    status: t.field({ type: RunStatusEnum, resolve: (candidate) => candidate.status as never }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    finishedAt: t.expose('finishedAt', { type: 'DateTime', nullable: true }),
  }),
});

const ApplyRetentionInput = builder.inputType('ApplyRetentionInput', {
  fields: (t) => ({
    dryRun: t.boolean({ defaultValue: true, description: 'Only report what would be deleted (the default).' }),
    olderThanDays: t.float({
      description: 'Finished runs that finished longer ago than this may be deleted.',
      validate: z.number().min(0),
    }),
    failedOlderThanDays: t.float({
      description: 'FAILED runs are kept this long instead (default olderThanDays).',
      validate: z.number().min(0),
    }),
    keepLastPerInstance: t.int({ description: 'The newest N runs of each instance are always kept.', validate: z.number().int().min(0) }),
    keepLabels: t.stringList({ description: 'Runs with any of these labels are always kept.' }),
    instanceId: t.globalID({ for: RoutineInstanceRef, description: 'Only this instance.' }),
    workspaceId: t.globalID({
      for: WorkspaceRef,
      description: 'Only this workspace (Workspace.id); default every workspace where you are ADMIN.',
    }),
  }),
});

const ApplyRetentionSuccess = builder.objectRef<RetentionResult>('ApplyRetentionSuccess').implement({
  fields: (t) => ({
    dryRun: t.exposeBoolean('dryRun'),
    matchedCount: t.exposeInt('matchedCount', { description: 'Runs the policy selects.' }),
    deletedCount: t.exposeInt('deletedCount', { description: '0 on a dry run.' }),
    candidates: t.field({
      type: [RetentionCandidateRef],
      description: 'The first 100 selected runs, oldest first.',
      resolve: (result) => result.candidates,
    }),
  }),
});

builder.mutationField('applyRetention', (t) =>
  t.field({
    type: ApplyRetentionSuccess,
    description:
      'ADMIN of a workspace: acts only in the workspaces where you are ADMIN. Deletes finished runs (rows, events, logs, artifacts and files, leaving tombstones) older than a policy allows; never active runs.',
    args: { input: t.arg({ type: ApplyRetentionInput, required: true }) },
    errors: { types: [ValidationError, NotFoundError, ForbiddenError], directResult: true, union: { name: 'ApplyRetentionResult' } },
    resolve: (_root, { input }, ctx) =>
      applyRetention(ctx.services, {
        access: ctx.access,
        dryRun: input.dryRun ?? true,
        workspaceId: input.workspaceId?.id ?? null,
        policy: {
          olderThanDays: input.olderThanDays,
          failedOlderThanDays: input.failedOlderThanDays,
          keepLastPerInstance: input.keepLastPerInstance,
          keepLabels: input.keepLabels,
          instanceId: input.instanceId?.id ?? null,
        },
      }),
  }),
);
