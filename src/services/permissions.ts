// Single tenant until roles arrive: every valid token reads everything; changing a run
// (cancel, delete, relabel, re-run, start) is for its creator or an admin.
import type { RoutineRun, User } from '../generated/prisma/client.ts';
import { ForbiddenError } from '../errors.ts';

export function assertMayChangeRun(user: User, run: Pick<RoutineRun, 'createdById'>): void {
  if (user.isAdmin || run.createdById === user.id) return;
  throw new ForbiddenError("Only the run's creator or an admin can change this run");
}
