// The permission table's own shape, without a server: more rights never see less, and nothing of A
// leaks to a request that cannot see A, whatever its role elsewhere or its old isAdmin flag.
import { describe, expect, it } from 'vitest';
import { roleRank, scopeRank } from '../../src/access/roles.ts';
import { OPERATION_NAMES, OPERATION_RULES, REQUESTERS, effectiveRoleInA, expectedOutcome, type OperationRule } from '../access/matrix.ts';

const RANK = { invisible: 0, invalid: 0, forbidden: 1, allowed: 2 } as const;

describe('permission table', () => {
  it('never gives a member less for a higher role or a wider scope', () => {
    const members = REQUESTERS.filter((r) => effectiveRoleInA(r) !== null);
    const bad: string[] = [];
    for (const operation of OPERATION_NAMES)
      for (const low of members)
        for (const high of members) {
          if (roleRank(high.roleInA!) < roleRank(low.roleInA!) || scopeRank(high.scope) < scopeRank(low.scope)) continue;
          if (RANK[expectedOutcome(operation, high)] < RANK[expectedOutcome(operation, low)])
            bad.push(`${operation}: ${high.label} < ${low.label}`);
        }
    expect(bad).toEqual([]);
  });

  it('shows nothing of A to a request that cannot see A, except what is not about A', () => {
    const blind = REQUESTERS.filter((r) => effectiveRoleInA(r) === null);
    expect(blind.map((r) => r.key).sort()).toEqual(['adminBoundB', 'legacyAdmin', 'outsider']);
    for (const operation of OPERATION_NAMES) {
      const rule: OperationRule = OPERATION_RULES[operation];
      if (rule.action === null) continue;
      for (const r of blind)
        expect([operation, expectedOutcome(operation, r)]).toContainEqual(expect.stringMatching(/^(invisible|invalid)$/));
    }
  });

  it('lets a full-scope ADMIN of A do every operation about A', () => {
    const admin = REQUESTERS.find((r) => r.key === 'admin')!;
    expect(OPERATION_NAMES.filter((operation) => expectedOutcome(operation, admin) !== 'allowed')).toEqual([]);
  });
});
