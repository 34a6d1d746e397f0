// The permission matrix: what every kind of requester must observe for every operation on things of
// workspace A. Derived from ACTION_ROLES and the effective role (the lesser of member role and token
// scope, nothing where the token cannot see A), so it cannot drift from src/access/roles.ts; the few
// operations the rule does not decide alone list their exception next to them, with the reason.
import { ACTION_ROLES, effectiveRole, roleRank, scopeForRole, scopeRank, type Action } from '../../src/access/roles.ts';
import type { TokenScope, WorkspaceRole } from '../../src/generated/prisma/enums.ts';

/** What a requester observes. `invalid` (a ValidationError) appears only in listed exceptions. */
export type Outcome = 'allowed' | 'forbidden' | 'invisible' | 'invalid';

export interface Requester {
  key: string;
  label: string;
  /** The user's role in workspace A, null for a non-member. */
  roleInA: WorkspaceRole | null;
  scope: TokenScope;
  /** The token is bound to workspace B (so it sees nothing of A, whatever the user's role there). */
  boundToB?: boolean;
  /** The old global `User.isAdmin` flag: it must reveal and grant nothing. */
  legacyAdmin?: boolean;
}

export const REQUESTERS: readonly Requester[] = [
  { key: 'viewer', label: 'VIEWER', roleInA: 'VIEWER', scope: 'ADMIN' },
  { key: 'operator', label: 'OPERATOR', roleInA: 'OPERATOR', scope: 'ADMIN' },
  { key: 'maintainer', label: 'MAINTAINER', roleInA: 'MAINTAINER', scope: 'ADMIN' },
  { key: 'admin', label: 'ADMIN', roleInA: 'ADMIN', scope: 'ADMIN' },
  { key: 'operatorRun', label: 'OPERATOR·RUN', roleInA: 'OPERATOR', scope: 'RUN' },
  { key: 'maintainerRead', label: 'MAINTAINER·READ', roleInA: 'MAINTAINER', scope: 'READ' },
  { key: 'maintainerRun', label: 'MAINTAINER·RUN', roleInA: 'MAINTAINER', scope: 'RUN' },
  { key: 'maintainerManage', label: 'MAINTAINER·MANAGE', roleInA: 'MAINTAINER', scope: 'MANAGE' },
  { key: 'adminRead', label: 'ADMIN·READ', roleInA: 'ADMIN', scope: 'READ' },
  { key: 'outsider', label: 'non-member', roleInA: null, scope: 'ADMIN' },
  { key: 'adminBoundB', label: 'ADMIN bound to B', roleInA: 'ADMIN', scope: 'ADMIN', boundToB: true },
  { key: 'legacyAdmin', label: 'isAdmin non-member', roleInA: null, scope: 'ADMIN', legacyAdmin: true },
];

/** The role a requester acts with in workspace A, or null where A is invisible to it. */
export function effectiveRoleInA(requester: Requester): WorkspaceRole | null {
  if (requester.roleInA === null || requester.boundToB) return null;
  return effectiveRole(requester.roleInA, requester.scope);
}

/** What the permission rule says for an action on something in A. */
export function ruleOutcome(action: Action, requester: Requester): Outcome {
  const role = effectiveRoleInA(requester);
  if (role === null) return 'invisible';
  return roleRank(role) >= roleRank(ACTION_ROLES[action]) ? 'allowed' : 'forbidden';
}

export interface OperationRule {
  /** The action the operation needs on its target in A (src/access/roles.ts). */
  action: Action | null;
  /** Where the rule alone does not decide: the exception and why. */
  exception?: { why: string; outcome: (requester: Requester) => Outcome; requirement?: string };
  /**
   * The action whose rung a ForbiddenError names, where it is not `action`'s: a bulk operation is
   * refused whole only below its least right, and skips (counts) what it may not touch above it.
   */
  refusedBelow?: Action;
  /** How the outcome shows where it is not the plain union member (printed under the docs' table). */
  note?: string;
}

/**
 * Every operation's rule. Keys are the operation names of test/access/operations.ts (the test fails
 * when the two lists differ). Reads need `read`: a reader of A sees, anyone else sees nothing.
 */
export const OPERATION_RULES = {
  // Queries
  'run(id)': { action: 'read' },
  'node(id) run': { action: 'read' },
  'nodes(ids) run+instance': { action: 'read' },
  'runs edges': { action: 'read' },
  'runs totalCount': { action: 'read' },
  'runs facets': { action: 'read' },
  instances: { action: 'read' },
  'instance(name)': { action: 'read' },
  'routines→instances→runs': { action: 'read' },
  compareRuns: { action: 'read' },
  'nodes(ids) artifact+dataset': { action: 'read' },
  'workspace(id)': { action: 'read' },
  workspaces: { action: 'read' },
  auditEvents: { action: 'administer' },
  deletedRuns: {
    action: 'administer',
    exception: {
      why: 'the list spans workspaces, so there is no one workspace to refuse: A’s tombstones are listed to its ADMINs and left out for everyone else',
      outcome: (r) => (ruleOutcome('administer', r) === 'allowed' ? 'allowed' : 'invisible'),
    },
  },
  // Subscriptions and downloads
  'runUpdated ws': { action: 'read' },
  'runUpdated sse': { action: 'read' },
  'runsUpdated ws': { action: 'read' },
  'runsUpdated sse': { action: 'read' },
  'artifact download (bearer)': { action: 'read' },
  'dataset download (bearer)': { action: 'read' },
  // Instances
  createInstance: { action: 'manageInstances' },
  updateInstance: { action: 'manageInstances' },
  deleteInstance: { action: 'manageInstances' },
  // Runs
  'createRun STANDARD': { action: 'runStandard' },
  'createRun CONSTRUCTOR': { action: 'runConstructor' },
  'createRun with data set input': { action: 'runStandard' },
  startRun: { action: 'runStandard' },
  setRunParameter: { action: 'runStandard' },
  cancelRun: { action: 'cancelRun' },
  rerunRun: { action: 'runStandard' },
  'deleteRun own': { action: 'deleteOwnRun' },
  'deleteRun other': { action: 'deleteAnyRun' },
  'deleteRuns other': {
    action: 'deleteAnyRun',
    refusedBelow: 'deleteOwnRun',
    note: 'a bulk delete is refused whole (ForbiddenError) only where it may delete nothing at all (below OPERATOR); an OPERATOR gets `DeleteRunsSuccess` that deletes its own runs and counts the others in `notAllowedCount`',
  },
  cancelRuns: {
    action: 'cancelRun',
    note: 'a bulk cancel is refused whole (ForbiddenError) where it may cancel nothing at all (below OPERATOR); runs it can see but may not cancel are skipped and counted in `notAllowedCount`',
  },
  addRunLabels: { action: 'changeRunMetadata' },
  removeRunLabels: { action: 'changeRunMetadata' },
  setRunAttributes: { action: 'changeRunMetadata' },
  patchRunAttributes: { action: 'changeRunMetadata' },
  uploadDataset: { action: 'uploadDataset' },
  deleteDataset: { action: 'uploadDataset' },
  applyRetention: { action: 'applyRetention' },
  // Schedules
  schedules: { action: 'read' },
  'node(id) schedule': { action: 'read' },
  'createSchedule STANDARD': { action: 'runStandard' },
  pauseSchedule: { action: 'manageSchedules' },
  deleteSchedule: { action: 'manageSchedules' },
  // Workspaces and tokens
  createWorkspace: {
    action: null,
    exception: {
      why: 'not about A: any user, with an unbound token of the ADMIN scope',
      outcome: (r) => (!r.boundToB && r.scope === 'ADMIN' ? 'allowed' : 'forbidden'),
      requirement: '-/ADMIN',
    },
  },
  addWorkspaceMember: { action: 'manageMembers' },
  removeWorkspaceMember: { action: 'manageMembers' },
  'createApiToken READ unbound': {
    action: null,
    exception: {
      why: 'any user may make a token no wider than its own (a bound request token binds the new one too)',
      outcome: () => 'allowed',
    },
  },
  'createApiToken READ bound to A': {
    action: 'read',
    exception: {
      why: 'binding needs membership; a token bound to another workspace may only make tokens bound to that one',
      outcome: (r) => (r.boundToB ? 'invalid' : ruleOutcome('read', r)),
    },
  },
  "revokeApiToken of another member's A-bound token": {
    action: 'administer',
    exception: {
      why: "someone else's token is not shown to anyone but ADMINs: anything short of ADMIN is NotFound, not Forbidden",
      outcome: (r) => (ruleOutcome('administer', r) === 'allowed' ? 'allowed' : 'invisible'),
    },
  },
} as const satisfies Record<string, OperationRule>;

export type OperationName = keyof typeof OPERATION_RULES;
export const OPERATION_NAMES = Object.keys(OPERATION_RULES) as OperationName[];

export function expectedOutcome(operation: OperationName, requester: Requester): Outcome {
  const rule: OperationRule = OPERATION_RULES[operation];
  if (rule.exception) return rule.exception.outcome(requester);
  return ruleOutcome(rule.action!, requester);
}

/** The whole table: operation → requester key → outcome. */
export function permissionTable(): Record<OperationName, Record<string, Outcome>> {
  return Object.fromEntries(
    OPERATION_NAMES.map((operation) => [operation, Object.fromEntries(REQUESTERS.map((r) => [r.key, expectedOutcome(operation, r)]))]),
  ) as Record<OperationName, Record<string, Outcome>>;
}

/**
 * What a ForbiddenError must name, as `requiredRole/requiredScope` (`-` for null): the rung the
 * member's role misses, the rung the token's scope misses, or both.
 */
export function expectedRequirement(operation: OperationName, requester: Requester): string | null {
  if (expectedOutcome(operation, requester) !== 'forbidden') return null;
  const rule: OperationRule = OPERATION_RULES[operation];
  if (rule.exception) return rule.exception.requirement ?? null;
  const needed = ACTION_ROLES[rule.refusedBelow ?? rule.action!];
  const roleShort = requester.roleInA === null || roleRank(requester.roleInA) < roleRank(needed);
  const scopeShort = scopeRank(requester.scope) < roleRank(needed);
  return `${roleShort ? needed : '-'}/${scopeShort ? scopeForRole(needed) : '-'}`;
}
