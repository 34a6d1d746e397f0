// What the services ask src/access/ before they change anything, in the words of runs and
// instances: a target the request cannot see gets the very NotFoundError a missing id gets (so a
// refusal never confirms that it exists), one it can see but may not change a ForbiddenError.
import type { Access, InWorkspace } from '../access/access.ts';
import type { Action } from '../access/roles.ts';
import type { MethodKind } from '../generated/prisma/enums.ts';
import { NotFoundError } from '../errors.ts';

/** Creating, starting, re-running or editing a run: a CONSTRUCTOR run rewrites its instance's config, so it needs more. */
export function runAction(kind: MethodKind): Action {
  return kind === 'CONSTRUCTOR' ? 'runConstructor' : 'runStandard';
}

/** The run, when the request can see it and may take `action` on it. */
export function requireRun<T extends InWorkspace>(access: Access, action: Action, run: T | null, runId: string): T {
  if (!run || !access.canSee(run)) throw new NotFoundError('No run has this id', runId);
  access.require(action, run);
  return run;
}

/** The instance, when the request can see it and may take `action` on it. */
export function requireInstance<T extends InWorkspace>(access: Access, action: Action, instance: T | null, instanceId: string): T {
  if (!instance || !access.canSee(instance)) throw new NotFoundError('No routine instance has this id', instanceId);
  access.require(action, instance);
  return instance;
}

/** The instance, when the request can see it (the action then depends on more than the instance). */
export function visibleInstance<T extends InWorkspace>(access: Access, instance: T | null, instanceId: string): T {
  if (!instance || !access.canSee(instance)) throw new NotFoundError('No routine instance has this id', instanceId);
  return instance;
}
