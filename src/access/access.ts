// One rule decides what a request may see and do: the workspaces its user belongs to (narrowed to
// the token's workspace when the token is bound to one), with the lesser of the member's role and
// the token's scope. Every read path scopes by `workspaceIds` (src/access/visibility.ts builds the
// SQL and Prisma forms) and every change calls `require`, so no path can show what another hides.
import type { Db } from '../db/client.ts';
import type { User } from '../generated/prisma/client.ts';
import type { TokenScope, WorkspaceRole } from '../generated/prisma/enums.ts';
import { ForbiddenError, NotFoundError } from '../errors.ts';
import { ACTION_ROLES, effectiveRole, roleRank, scopeForRole, scopeRank, type Action } from './roles.ts';

/** The token a request came with, as far as access is concerned. */
export interface TokenGrant {
  /** Null for a request made inside the service (commands, tests): it acts with its user's roles. */
  id: string | null;
  scope: TokenScope;
  /** A token bound to one workspace reaches only it. */
  workspaceId: string | null;
  expiresAt: Date | null;
}

/** Anything that lives in a workspace: an instance, a run (which copies its instance's), a data set's instance. */
export interface InWorkspace {
  workspaceId: string;
}

const FULL_GRANT: TokenGrant = { id: null, scope: 'ADMIN', workspaceId: null, expiresAt: null };

export class Access {
  /** The workspaces this request may see, for `= ANY($1)` and `{ in: … }`. */
  readonly workspaceIds: readonly string[];
  /** Workspace id → the role the request acts with there (member role capped by the token's scope). */
  private readonly roles = new Map<string, WorkspaceRole>();

  constructor(
    readonly user: User,
    readonly token: TokenGrant,
    /** The user's memberships: workspace id → role. */
    private readonly memberships: ReadonlyMap<string, WorkspaceRole>,
  ) {
    for (const [workspaceId, role] of memberships) {
      if (token.workspaceId && token.workspaceId !== workspaceId) continue;
      this.roles.set(workspaceId, effectiveRole(role, token.scope));
    }
    this.workspaceIds = [...this.roles.keys()];
  }

  /** The role this request acts with in a workspace, or null where it sees nothing. */
  roleIn(workspaceId: string): WorkspaceRole | null {
    return this.roles.get(workspaceId) ?? null;
  }

  canSee(target: InWorkspace | string): boolean {
    return this.roles.has(workspaceOf(target));
  }

  can(action: Action, target: InWorkspace | string): boolean {
    const role = this.roleIn(workspaceOf(target));
    return role !== null && roleRank(role) >= roleRank(ACTION_ROLES[action]);
  }

  /**
   * Throws unless the request may take `action` on `target`: NotFoundError where it cannot see the
   * target (so a refusal never confirms that something exists), ForbiddenError naming the role or
   * scope it lacks where it can.
   */
  require(action: Action, target: InWorkspace | string, { what = 'This', id = null }: { what?: string; id?: string | null } = {}): void {
    const workspaceId = workspaceOf(target);
    if (!this.canSee(workspaceId)) throw new NotFoundError(`${what} was not found`, id);
    if (!this.can(action, workspaceId)) throw this.forbidden(action, workspaceId);
  }

  /** The ForbiddenError for an action the request can see but not take: which rung it misses, role or scope. */
  forbidden(action: Action, workspaceId: string): ForbiddenError {
    const needed = ACTION_ROLES[action];
    const scope = scopeForRole(needed);
    const memberRole = this.memberships.get(workspaceId) ?? null;
    const roleShort = memberRole === null || roleRank(memberRole) < roleRank(needed);
    const scopeShort = scopeRank(this.token.scope) < roleRank(needed);
    // ADMIN is the top rung of both ladders: nothing is "higher" than it.
    const orHigher = needed === 'ADMIN' ? '' : ' or higher';
    const missing = [
      roleShort ? `the ${needed} role${orHigher} in this workspace` : null,
      scopeShort ? `a token with the ${scope} scope${orHigher}` : null,
    ];
    return new ForbiddenError(`This needs ${missing.filter(Boolean).join(' and ')}`, roleShort ? needed : null, scopeShort ? scope : null);
  }
}

/** "a READ", "an ADMIN": a role or scope named in a sentence. */
export function withArticle(word: string): string {
  return `${/^[AEIOU]/i.test(word) ? 'an' : 'a'} ${word}`;
}

function workspaceOf(target: InWorkspace | string): string {
  return typeof target === 'string' ? target : target.workspaceId;
}

/** The user's memberships, as Access wants them. */
export async function loadMemberships(db: Db, userId: string): Promise<Map<string, WorkspaceRole>> {
  const rows = await db.workspaceMember.findMany({ where: { userId }, select: { workspaceId: true, role: true } });
  return new Map(rows.map((row) => [row.workspaceId, row.role]));
}

/**
 * The access of a request made inside the service on a user's behalf (commands, tests, internal
 * callers): the user's own roles, no token narrowing them.
 */
export async function accessOfUser(db: Db, user: User, token: TokenGrant = FULL_GRANT): Promise<Access> {
  return new Access(user, token, await loadMemberships(db, user.id));
}

/**
 * The deployment operator's access, for commands run on the server (`npm run retention`): ADMIN
 * of every workspace there is. Never built for a request: no token leads to it.
 */
export async function systemAccess(db: Db, user: User): Promise<Access> {
  const workspaces = await db.workspace.findMany({ select: { id: true } });
  return new Access(user, FULL_GRANT, new Map(workspaces.map(({ id }) => [id, 'ADMIN' as const])));
}
