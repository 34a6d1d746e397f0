// Inputs that name a workspace take its global id (Workspace is a Node type). Decoded here by
// hand, not with `t.globalID({ for: Workspace })`, so the mutations that take one do not depend on
// where the Workspace type is defined; another type's id is the client's mistake, named on the field.
import { decodeGlobalID } from '@pothos/plugin-relay';
import { isUuid } from '../src/db/ids.ts';
import { ValidationError } from '../src/errors.ts';

/** The raw workspace id of a global id given in input field `field`; null when none was given. */
export function workspaceIdInput(globalId: string | null | undefined, field = 'workspaceId'): string | null {
  if (globalId === null || globalId === undefined) return null;
  let decoded: { typename: string; id: string } | null;
  try {
    decoded = decodeGlobalID(globalId);
  } catch {
    decoded = null;
  }
  if (!decoded || decoded.typename !== 'Workspace' || !isUuid(decoded.id)) {
    throw ValidationError.field([field], `${JSON.stringify(globalId.slice(0, 100))} is not the id of a Workspace (Workspace.id)`);
  }
  return decoded.id;
}
