// Who may read which audit events, and the cursor the audit log pages by. One module, so
// Query.auditEvents, viewer.auditEvents and node(id:) apply the same rule: a workspace's ADMINs
// (action administer) read the events of their workspace; a user reads its own events, and with a
// token bound to a workspace only those of that workspace and those acting in none.
import type { Prisma } from '../generated/prisma/client.ts';
import { badInput } from '../argument-errors.ts';
import { isUuid } from '../db/ids.ts';
import type { Access } from './access.ts';

interface AuditEventLike {
  userId: string;
  workspaceId: string | null;
}

/** Whether `access` may read this one event (node(id:)); the lists apply the same rule as where clauses below. */
export function canReadAuditEvent(access: Access, event: AuditEventLike): boolean {
  if (event.workspaceId !== null && access.can('administer', event.workspaceId)) return true;
  return event.userId === access.user.id && ownEventVisible(access, event.workspaceId);
}

function ownEventVisible(access: Access, workspaceId: string | null): boolean {
  return !access.token.workspaceId || workspaceId === null || access.canSee(workspaceId);
}

/** The where clause of a user's own events as `access` may read them (viewer.auditEvents). */
export function ownAuditWhere(access: Access): Prisma.AuditEventWhereInput {
  const own: Prisma.AuditEventWhereInput = { userId: access.user.id };
  if (!access.token.workspaceId) return own;
  return { ...own, OR: [{ workspaceId: null }, { workspaceId: { in: [...access.workspaceIds] } }] };
}

/** Where a page resumes: the (at, id) of the last event of the page before. */
export interface AuditCursor {
  at: Date;
  id: string;
}

/**
 * Opaque to clients (base64url of JSON), so the order may change without clients noticing; the
 * id in it is a random UUID, so a cursor says nothing about how many events exist elsewhere.
 */
export function encodeAuditCursor(event: AuditCursor): string {
  return Buffer.from(JSON.stringify([event.at.toISOString(), event.id])).toString('base64url');
}

export const TIME_CURSOR_PAGE = { default: 20, max: 100 };

/**
 * `first` and `after` of a list paged by the (time, id) cursor (auditEvents, deletedRuns); a
 * cursor that is not ours is refused naming the list whose endCursor to use.
 */
export function timeCursorPage(
  args: { first?: number | null; after?: string | null },
  cursor: { what: string; list: string },
): { take: number; after: AuditCursor | null } {
  const take = args.first ?? TIME_CURSOR_PAGE.default;
  if (!Number.isInteger(take) || take < 0 || take > TIME_CURSOR_PAGE.max)
    throw badInput(`"first" must be between 0 and ${TIME_CURSOR_PAGE.max} (got ${take})`);
  if (args.after === null || args.after === undefined) return { take, after: null };
  const after = decodeAuditCursor(args.after);
  if (!after)
    throw badInput(`Argument "after" is not ${cursor.what}: use an endCursor of ${cursor.list}`, [
      { path: ['after'], message: `not ${cursor.what}` },
    ]);
  return { take, after };
}

/** The cursor a client sent back, or null when it is none of ours (the caller names the argument). */
export function decodeAuditCursor(cursor: string): AuditCursor | null {
  if (cursor.length > 200 || !/^[A-Za-z0-9_-]+$/.test(cursor)) return null;
  let parts: unknown;
  try {
    parts = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (!Array.isArray(parts) || parts.length !== 2) return null;
  const [at, id] = parts as unknown[];
  if (typeof at !== 'string' || !isUuid(id)) return null;
  const date = new Date(at);
  // Only the exact form encodeAuditCursor writes: anything else was not made by us.
  if (Number.isNaN(date.getTime()) || date.toISOString() !== at) return null;
  return { at: date, id: id.toLowerCase() };
}

/**
 * Events after `cursor` in the order newest first, (at DESC, id DESC). The `lte` on `at` alone
 * bounds the index range scan ((workspaceId | userId), at DESC, id DESC) so a deep page does not
 * walk the pages before it; the OR settles the events of the cursor's own millisecond.
 */
export function afterAuditCursor(cursor: AuditCursor): Prisma.AuditEventWhereInput {
  return {
    at: { lte: cursor.at },
    OR: [{ at: { lt: cursor.at } }, { id: { lt: cursor.id } }],
  };
}

export const AUDIT_ORDER = [{ at: 'desc' }, { id: 'desc' }] satisfies Prisma.AuditEventOrderByWithRelationInput[];
