// Expected failures. Each is exposed as a typed GraphQL error (schema/errors.ts); anything
// else thrown by a resolver is unexpected and stays masked by yoga.
import type { RunStatus, TokenScope, WorkspaceRole } from './generated/prisma/enums.ts';

export interface FieldError {
  path: string[];
  message: string;
}

/**
 * A mutation's arguments are one `input` object, so its errors name paths inside it: ["inputs","k"],
 * not ["input","inputs","k"].
 */
export function inputRelativePath(path: readonly string[]): string[] {
  return path[0] === 'input' ? path.slice(1) : [...path];
}

export class ValidationError extends Error {
  constructor(readonly fieldErrors: FieldError[]) {
    super(
      fieldErrors.length === 1
        ? `Invalid input: ${fieldErrors[0].path.join('.')}: ${fieldErrors[0].message}`
        : `Invalid input: ${fieldErrors.length} problems (${fieldErrors.map((e) => e.path.join('.')).join(', ')})`,
    );
    this.name = 'ValidationError';
  }

  static field(path: string[], message: string): ValidationError {
    return new ValidationError([{ path, message }]);
  }
}

export class NotFoundError extends Error {
  constructor(
    message: string,
    readonly id: string | null = null,
  ) {
    super(message);
    this.name = 'NotFoundError';
  }
}

/** What a user can see but may not do; it names the role (or token scope) that would allow it. */
export class ForbiddenError extends Error {
  constructor(
    message = 'You are not allowed to do this',
    readonly requiredRole: WorkspaceRole | null = null,
    readonly requiredScope: TokenScope | null = null,
  ) {
    super(message);
    this.name = 'ForbiddenError';
  }
}

export class InstanceNotConstructedError extends Error {
  constructor(
    readonly instanceName: string,
    readonly constructorName: string,
  ) {
    super(`Instance "${instanceName}" has not been constructed: run its ${constructorName} method and wait for it to complete first`);
    this.name = 'InstanceNotConstructedError';
  }
}

export class RunNotCancellableError extends Error {
  constructor(readonly status: RunStatus) {
    super(`A ${status} run cannot be cancelled`);
    this.name = 'RunNotCancellableError';
  }
}

export class RunNotStartableError extends Error {
  constructor(readonly status: RunStatus) {
    super(`Only a CREATED run can be started; this run is ${status}`);
    this.name = 'RunNotStartableError';
  }
}

export class IdempotencyKeyReusedError extends Error {
  constructor(readonly existingRunId: string) {
    super('This idempotency key was already used within 24 hours for a run with different parameters');
    this.name = 'IdempotencyKeyReusedError';
  }
}

export class InstanceHasActiveRunsError extends Error {
  constructor(readonly activeRunCount: number) {
    super(
      `The instance has ${activeRunCount} run${activeRunCount === 1 ? '' : 's'} that ${activeRunCount === 1 ? 'has' : 'have'} not ended (CREATED, QUEUED or RUNNING): cancel ${activeRunCount === 1 ? 'it' : 'them'} or wait, then delete the instance`,
    );
    this.name = 'InstanceHasActiveRunsError';
  }
}

export class RunNotFinishedError extends Error {
  constructor(
    readonly status: RunStatus,
    action: string,
  ) {
    super(`Only a COMPLETED, FAILED or CANCELLED run can be ${action}; this run is ${status}`);
    this.name = 'RunNotFinishedError';
  }
}

/** A data set that a run still waiting or running names in its inputs cannot be deleted: that run would fail reading it. */
export class DatasetInUseError extends Error {
  constructor(
    /** Raw ids of the CREATED/QUEUED/RUNNING runs that reference it (at most a page; `runCount` counts all). */
    readonly runIds: string[],
    readonly runCount: number,
  ) {
    super(
      `This data set is an input of ${runCount} run${runCount === 1 ? '' : 's'} that ${runCount === 1 ? 'has' : 'have'} not finished (CREATED, QUEUED or RUNNING); cancel or wait for ${runCount === 1 ? 'it' : 'them'} first`,
    );
    this.name = 'DatasetInUseError';
  }
}

export class CapacityExceededError extends Error {
  constructor(
    message: string,
    /** When trying again is likely to succeed: an estimate, at least 1. */
    readonly retryAfterSeconds: number,
  ) {
    super(message);
    this.name = 'CapacityExceededError';
  }
}

/** A token (or, for internal callers, a user) sent more mutations than MUTATION_RATE_LIMIT_PER_MINUTE allows; nothing was written. */
export class RateLimitedError extends Error {
  constructor(
    message: string,
    /** When the next mutation will be admitted: at least 1. */
    readonly retryAfterSeconds: number,
  ) {
    super(message);
    this.name = 'RateLimitedError';
  }
}
