// Workspaces and their members: who may create a workspace, who may add and remove members, and
// the rule that keeps every workspace administrable (it never loses its last ADMIN).
import type { Db } from '../db/client.ts';
import type { Workspace, WorkspaceMember } from '../generated/prisma/client.ts';
import type { WorkspaceRole } from '../generated/prisma/enums.ts';
import { tokensChanged } from '../auth/tokens.ts';
import { ForbiddenError, ValidationError } from '../errors.ts';
import type { Access } from './access.ts';

const WORKSPACE_NAME = /^[a-z0-9][a-z0-9\-_.]*$/;
export const WORKSPACE_NAME_MAX = 64;

/** Why a workspace name is refused, or null: names are shown in URLs and the CLI, so they stay plain. */
export function workspaceNameProblem(name: string): string | null {
  if (name.length < 1 || name.length > WORKSPACE_NAME_MAX) return `must be 1 to ${WORKSPACE_NAME_MAX} characters long`;
  if (!WORKSPACE_NAME.test(name))
    return 'must start with a lowercase letter or a digit and hold only lowercase letters, digits, "-", "_" and "."';
  return null;
}

/**
 * Any user may create a workspace and becomes its ADMIN, but only with a token that could administer
 * it: unbound (a bound token reaches one workspace, never a new one) and with the ADMIN scope.
 */
export async function createWorkspace(db: Db, access: Access, { name }: { name: string }): Promise<Workspace> {
  if (access.token.workspaceId !== null || access.token.scope !== 'ADMIN') {
    throw new ForbiddenError('Creating a workspace needs a token with the ADMIN scope that is not bound to a workspace', null, 'ADMIN');
  }
  const problem = workspaceNameProblem(name);
  if (problem) throw ValidationError.field(['name'], `The name ${problem}`);
  const taken = () => ValidationError.field(['name'], `A workspace named "${name}" exists already`);
  if (await db.workspace.findUnique({ where: { name }, select: { id: true } })) throw taken();
  try {
    const workspace = await db.workspace.create({
      data: { name, createdById: access.user.id, members: { create: { userId: access.user.id, role: 'ADMIN' } } },
    });
    await tokensChanged(db, (cached) => cached.user.id === access.user.id);
    return workspace;
  } catch (error) {
    if ((error as { code?: string }).code === 'P2002') throw taken();
    throw error;
  }
}

/** Adds a user to a workspace (its ADMINs only). A role changes by removing and adding again. */
export async function addWorkspaceMember(
  db: Db,
  access: Access,
  input: { workspaceId: string; userName: string; role: WorkspaceRole },
): Promise<WorkspaceMember> {
  access.require('manageMembers', input.workspaceId, { what: 'Workspace', id: input.workspaceId });
  const user = await db.user.findUnique({ where: { name: input.userName }, select: { id: true } });
  if (!user) throw ValidationError.field(['userName'], `No user is named "${input.userName}"`);
  try {
    const member = await db.workspaceMember.create({ data: { workspaceId: input.workspaceId, userId: user.id, role: input.role } });
    await tokensChanged(db, (cached) => cached.user.id === user.id);
    return member;
  } catch (error) {
    if ((error as { code?: string }).code === 'P2002') {
      throw ValidationError.field(['userName'], `"${input.userName}" is a member already: remove it first to change its role`);
    }
    throw error;
  }
}

/**
 * Removes a member (ADMINs only), never the last ADMIN: a workspace nobody can administer could
 * not get members or lose them again. Two ADMINs removing each other at once are serialized by
 * the workspace row's lock, so one of them stays.
 */
export async function removeWorkspaceMember(db: Db, access: Access, input: { workspaceId: string; userName: string }): Promise<Workspace> {
  access.require('manageMembers', input.workspaceId, { what: 'Workspace', id: input.workspaceId });
  const { workspace, userId } = await db.$transaction(async (tx) => {
    await tx.$queryRaw`SELECT 1 FROM "Workspace" WHERE id = ${input.workspaceId}::uuid FOR UPDATE`;
    const member = await tx.workspaceMember.findFirst({
      where: { workspaceId: input.workspaceId, user: { name: input.userName } },
      select: { userId: true, role: true },
    });
    if (!member) throw ValidationError.field(['userName'], `"${input.userName}" is not a member of this workspace`);
    if (member.role === 'ADMIN') {
      const admins = await tx.workspaceMember.count({ where: { workspaceId: input.workspaceId, role: 'ADMIN' } });
      if (admins <= 1) throw ValidationError.field(['userName'], `"${input.userName}" is the last ADMIN: add another ADMIN first`);
    }
    await tx.workspaceMember.delete({ where: { workspaceId_userId: { workspaceId: input.workspaceId, userId: member.userId } } });
    return { workspace: await tx.workspace.findUniqueOrThrow({ where: { id: input.workspaceId } }), userId: member.userId };
  });
  await tokensChanged(db, (cached) => cached.user.id === userId);
  return workspace;
}
