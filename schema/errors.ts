// Expected failures as typed results: clients write `... on Error { __typename message }`.
import {
  CapacityExceededError,
  ForbiddenError,
  IdempotencyKeyReusedError,
  InstanceNotConstructedError,
  NotFoundError,
  RateLimitedError,
  RunNotCancellableError,
  RunNotStartableError,
  ValidationError,
  type FieldError,
} from '../src/errors.ts';
import { visibleRunWhere } from '../src/access/visibility.ts';
import { builder } from './builder.ts';
import { RunStatusEnum, TokenScopeEnum, WorkspaceRoleEnum } from './enums.ts';

export const ErrorInterface = builder.interfaceRef<Error>('Error').implement({
  description: 'Every expected failure of a mutation implements Error.',
  fields: (t) => ({ message: t.exposeString('message') }),
});

const FieldErrorRef = builder.objectRef<FieldError>('FieldError').implement({
  description: 'One bad input field: its path (e.g. ["inputs","k"]) and why it was refused.',
  fields: (t) => ({
    path: t.exposeStringList('path'),
    message: t.exposeString('message'),
  }),
});

builder.objectType(ValidationError, {
  name: 'ValidationError',
  description: 'The input was refused; nothing was written.',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    fieldErrors: t.field({ type: [FieldErrorRef], resolve: (error) => error.fieldErrors }),
  }),
});

builder.objectType(NotFoundError, {
  name: 'NotFoundError',
  interfaces: [ErrorInterface],
  fields: (t) => ({ id: t.id({ nullable: true, resolve: (error) => error.id }) }),
});

builder.objectType(ForbiddenError, {
  name: 'ForbiddenError',
  description: 'What the user can see but may not do. It names the role, or the token scope, that would allow it.',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    requiredRole: t.field({ type: WorkspaceRoleEnum, nullable: true, resolve: (error) => error.requiredRole }),
    requiredScope: t.field({ type: TokenScopeEnum, nullable: true, resolve: (error) => error.requiredScope }),
  }),
});

builder.objectType(RunNotCancellableError, {
  name: 'RunNotCancellableError',
  interfaces: [ErrorInterface],
  fields: (t) => ({ status: t.field({ type: RunStatusEnum, resolve: (error) => error.status }) }),
});

builder.objectType(RunNotStartableError, {
  name: 'RunNotStartableError',
  interfaces: [ErrorInterface],
  fields: (t) => ({ status: t.field({ type: RunStatusEnum, resolve: (error) => error.status }) }),
});

builder.objectType(InstanceNotConstructedError, {
  name: 'InstanceNotConstructedError',
  description: "A stateful routine's standard method needs a completed constructor run on the instance.",
  interfaces: [ErrorInterface],
  fields: (t) => ({ constructorName: t.exposeString('constructorName') }),
});

builder.objectType(IdempotencyKeyReusedError, {
  name: 'IdempotencyKeyReusedError',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    existingRun: t.prismaField({
      type: 'RoutineRun',
      // The key is the user's own, but the run's workspace may have been left since: still one rule.
      resolve: (query, error, _args, ctx) =>
        ctx.db.routineRun.findFirstOrThrow({ ...query, where: { id: error.existingRunId, ...visibleRunWhere(ctx.access) } }),
    }),
  }),
});

builder.objectType(CapacityExceededError, {
  name: 'CapacityExceededError',
  description: 'A capacity limit is reached now (e.g. in-memory runs); nothing was written. The message names the limit and its setting.',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    retryAfterSeconds: t.exposeInt('retryAfterSeconds', {
      description: 'When trying again is likely to succeed (an estimate; at least 1).',
    }),
  }),
});

builder.objectType(RateLimitedError, {
  name: 'RateLimitedError',
  description:
    'This token sent more mutations than MUTATION_RATE_LIMIT_PER_MINUTE allows (MUTATION_RATE_BURST at once); nothing was written. Every mutation can answer it.',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    retryAfterSeconds: t.exposeInt('retryAfterSeconds', {
      description: 'When the next mutation of this token will be admitted (at least 1).',
    }),
  }),
});

export { ValidationError, NotFoundError, ForbiddenError, RunNotCancellableError, RunNotStartableError };
export { InstanceNotConstructedError, IdempotencyKeyReusedError, CapacityExceededError, RateLimitedError };
