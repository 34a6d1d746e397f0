// What each role and token scope may do: the permission table every check reads (src/access/access.ts).
// Roles and scopes are two ladders of the same four rungs; a request acts on the lower of the
// two, so a READ token of a workspace ADMIN only reads, and an ADMIN-scoped token of a VIEWER only reads.
import type { TokenScope, WorkspaceRole } from '../generated/prisma/enums.ts';

export const WORKSPACE_ROLES = ['VIEWER', 'OPERATOR', 'MAINTAINER', 'ADMIN'] as const satisfies readonly WorkspaceRole[];
export const TOKEN_SCOPES = ['READ', 'RUN', 'MANAGE', 'ADMIN'] as const satisfies readonly TokenScope[];

export function roleRank(role: WorkspaceRole): number {
  return WORKSPACE_ROLES.indexOf(role);
}

export function scopeRank(scope: TokenScope): number {
  return TOKEN_SCOPES.indexOf(scope);
}

/** The scope a role needs its token to carry, rung for rung. */
export function scopeForRole(role: WorkspaceRole): TokenScope {
  return TOKEN_SCOPES[roleRank(role)];
}

/** A token's reach is its highest scope (each includes the ones below); no scopes reads nothing more than READ. */
export function tokenScopeOf(scopes: readonly TokenScope[] | null | undefined): TokenScope {
  if (!scopes?.length) return 'READ';
  return scopes.reduce((best, scope) => (scopeRank(scope) > scopeRank(best) ? scope : best));
}

/** The role a request acts with in a workspace: the lower of the member's role and the token's scope. */
export function effectiveRole(memberRole: WorkspaceRole, scope: TokenScope): WorkspaceRole {
  return WORKSPACE_ROLES[Math.min(roleRank(memberRole), scopeRank(scope))];
}

/**
 * Every action a request can take in a workspace, and the least role it needs. Reading covers
 * subscribing and downloading; what a request cannot read it cannot see at all (NotFound / null).
 */
export const ACTION_ROLES = {
  /** Read anything in the workspace, subscribe to its runs, download its artifacts and data sets. */
  read: 'VIEWER',
  /** Create, start, cancel and re-run runs of STANDARD methods; edit drafts. */
  runStandard: 'OPERATOR',
  /** Cancel any run of the workspace (a STANDARD or a CONSTRUCTOR one). */
  cancelRun: 'OPERATOR',
  /** Name, description, labels and attributes of runs. */
  changeRunMetadata: 'OPERATOR',
  uploadDataset: 'OPERATOR',
  /** Pause, unpause and delete any schedule of the workspace (creating one needs the right to run its method). */
  manageSchedules: 'OPERATOR',
  /** Delete a run the user created. */
  deleteOwnRun: 'OPERATOR',
  /** Create, update and delete instances. */
  manageInstances: 'MAINTAINER',
  /** Create, start and re-run runs of CONSTRUCTOR methods (they rewrite the instance's config). */
  runConstructor: 'MAINTAINER',
  /** Delete anyone's run. */
  deleteAnyRun: 'MAINTAINER',
  /** Add and remove members. */
  manageMembers: 'ADMIN',
  applyRetention: 'ADMIN',
  /** See and revoke other members' tokens bound to the workspace; read the audit log. */
  administer: 'ADMIN',
} as const satisfies Record<string, WorkspaceRole>;

export type Action = keyof typeof ACTION_ROLES;
