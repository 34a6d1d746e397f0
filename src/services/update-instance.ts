// updateInstance: renames or re-describes an instance. Its config is not writable here: only a
// constructor run writes it. A MAINTAINER of its workspace may (manageInstances).
import type { RoutineInstance } from '../generated/prisma/client.ts';
import type { Access } from '../access/access.ts';
import { ValidationError } from '../errors.ts';
import { requireInstance } from './require-access.ts';
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
  { access, input }: { access: Access; input: UpdateInstanceInput },
): Promise<RoutineInstance> {
  const instance = requireInstance(
    access,
    'manageInstances',
    await db.routineInstance.findUnique({ where: { id: input.id }, include: { routine: true } }),
    input.id,
  );
  if (input.name === null) throw ValidationError.field(['name'], 'An instance needs a name');
  const name = input.name === undefined ? undefined : normalizeName(input.name);
  const problem = name === undefined ? null : nameProblem(name);
  if (problem) throw ValidationError.field(['name'], `The name ${problem}`);
  if (name !== undefined && name !== instance.name) {
    // Names are unique per workspace: another workspace's instance neither collides nor shows.
    const taken = await db.routineInstance.findFirst({
      where: { workspaceId: instance.workspaceId, routineId: instance.routineId, name, id: { not: instance.id } },
    });
    if (taken)
      throw ValidationError.field(['name'], `Routine "${instance.routine.name}" already has an instance named "${name}" in this workspace`);
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
      throw ValidationError.field(['name'], `Routine "${instance.routine.name}" already has an instance named "${name}" in this workspace`);
    }
    throw error;
  }
}
