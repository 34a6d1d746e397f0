import type { RoutineInstance, User } from '../generated/prisma/client.ts';
import { ValidationError } from '../errors.ts';
import type { ServiceDeps } from './deps.ts';
import { nameProblem, normalizeName } from '../rules/text.ts';

export interface CreateInstanceInput {
  routineName: string;
  name: string;
  description?: string | null;
}

export async function createInstance(
  { db, registry }: ServiceDeps,
  { user, input }: { user: User; input: CreateInstanceInput },
): Promise<RoutineInstance> {
  const routine = registry.get(input.routineName);
  if (!routine) {
    const known = registry
      .list()
      .map((r) => r.name)
      .join(', ');
    throw ValidationError.field(['routineName'], `No routine is named "${input.routineName}" (routines: ${known})`);
  }
  const routineRow = await db.routine.findUniqueOrThrow({
    where: { name_version: { name: routine.name, version: routine.version } },
  });
  const name = normalizeName(input.name);
  const problem = nameProblem(name);
  if (problem) throw ValidationError.field(['name'], `The name ${problem}`);
  const taken = await db.routineInstance.findFirst({ where: { routine: { name: routine.name }, name } });
  if (taken) throw ValidationError.field(['name'], `Routine "${routine.name}" already has an instance named "${name}"`);
  return db.routineInstance.create({
    data: { routineId: routineRow.id, name, description: input.description ?? null, createdById: user.id },
  });
}
