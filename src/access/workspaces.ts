// Which workspace an operation acts in when the client did not say.
import { ValidationError } from '../errors.ts';
import type { Db } from '../db/client.ts';
import type { Access } from './access.ts';

/**
 * The workspace a new instance goes to: the one asked for; else the token's; else the user's
 * first (the one it joined earliest, `default` for a user made by `npm start` or the token CLI).
 * A workspace the request cannot see is refused as not found by the caller's `require`.
 */
export async function workspaceForCreate(db: Db, access: Access, requested: string | null | undefined): Promise<string> {
  if (requested) return requested;
  if (access.token.workspaceId) return access.token.workspaceId;
  const first = await db.workspaceMember.findFirst({
    where: { userId: access.user.id, workspaceId: { in: access.workspaceIds as string[] } },
    orderBy: [{ addedAt: 'asc' }, { workspaceId: 'asc' }],
    select: { workspaceId: true },
  });
  if (!first)
    throw ValidationError.field(['workspaceId'], 'You belong to no workspace: create one (createWorkspace) or ask an admin to add you');
  return first.workspaceId;
}
