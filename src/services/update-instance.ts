// updateInstance: renames or re-describes an instance. Its config is not writable here: only a
// constructor run writes it.
import type { RoutineInstance, User } from '../generated/prisma/client.ts';
import { ForbiddenError, NotFoundError, ValidationError } from '../errors.ts';
import type { ServiceDeps } from './deps.ts';
import { nameProblem, normalizeName } from '../rules/text.ts';

export interface UpdateInstanceInput {
  id: string;
  name?: string | null;
  /** null clears the description; undefined leaves it. */
  description?: string | null;
}

export async function updateInstance(
  { db }: ServiceDeps,
  { user, input }: { user: User; input: UpdateInstanceInput },
): Promise<RoutineInstance> {
  const instance = await db.routineInstance.findUnique({ where: { id: input.id }, include: { routine: true } });
  if (!instance) throw new NotFoundError('No routine instance has this id', input.id);
  assertMayChangeInstance(user, instance);
  if (input.name === null) throw ValidationError.field(['name'], 'An instance needs a name');
  const name = input.name === undefined ? undefined : normalizeName(input.name);
  const problem = name === undefined ? null : nameProblem(name);
  if (problem) throw ValidationError.field(['name'], `The name ${problem}`);
  if (name !== undefined && name !== instance.name) {
    const taken = await db.routineInstance.findFirst({ where: { routineId: instance.routineId, name, id: { not: instance.id } } });
    if (taken) throw ValidationError.field(['name'], `Routine "${instance.routine.name}" already has an instance named "${name}"`);
  }
  try {
    return await db.routineInstance.update({
      where: { id: instance.id },
      data: {
        ...(name !== undefined ? { name } : {}),
        ...(input.description !== undefined ? { description: input.description } : {}),
      },
    });
  } catch (error) {
    // A concurrent rename took the name between the check and the write.
    if ((error as { code?: string }).code === 'P2002') {
      throw ValidationError.field(['name'], `Routine "${instance.routine.name}" already has an instance named "${name}"`);
    }
    throw error;
  }
}

/** An instance is changed (renamed, deleted) by its creator or an admin. */
export function assertMayChangeInstance(user: User, instance: Pick<RoutineInstance, 'createdById'>): void {
  if (user.isAdmin || instance.createdById === user.id) return;
  throw new ForbiddenError("Only the instance's creator or an admin can change this instance");
}
