import type { RoutineInstance } from '../generated/prisma/client.ts';
import type { Access } from '../access/access.ts';
import { workspaceForCreate } from '../access/workspaces.ts';
import { ValidationError } from '../errors.ts';
import type { ServiceDeps } from './deps.ts';
import { nameProblem, normalizeName } from '../rules/text.ts';

export interface CreateInstanceInput {
  routineName: string;
  name: string;
  description?: string | null;
  /** Without it: the token's workspace, else the user's first (src/access/workspaces.ts). */
  workspaceId?: string | null;
}

export async function createInstance(
  { db, registry }: ServiceDeps,
  { access, input }: { access: Access; input: CreateInstanceInput },
): Promise<RoutineInstance> {
  const workspaceId = await workspaceForCreate(db, access, input.workspaceId);
  access.require('manageInstances', workspaceId, { what: 'Workspace', id: input.workspaceId ?? null });
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
  const taken = await db.routineInstance.findFirst({ where: { workspaceId, routine: { name: routine.name }, name } });
  if (taken) throw ValidationError.field(['name'], `Routine "${routine.name}" already has an instance named "${name}" in this workspace`);
  return db.routineInstance.create({
    data: { routineId: routineRow.id, name, description: input.description ?? null, createdById: access.user.id, workspaceId },
  });
}
