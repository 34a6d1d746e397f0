// ForbiddenError messages name what is missing in a sentence that reads well on every rung of both
// ladders (roles and scopes), and agree with requiredRole / requiredScope.
import { describe, expect, it } from 'vitest';
import { Access, withArticle } from '../../src/access/access.ts';
import { ACTION_ROLES, TOKEN_SCOPES, WORKSPACE_ROLES, type Action } from '../../src/access/roles.ts';
import type { User } from '../../src/generated/prisma/client.ts';

const USER = { id: 'u', name: 'u', isAdmin: false, createdAt: new Date(0) } as unknown as User;

describe('ForbiddenError messages', () => {
  it('read well and name the missing role or scope for every action, role and scope', () => {
    let refusals = 0;
    for (const role of WORKSPACE_ROLES) {
      for (const scope of TOKEN_SCOPES) {
        const access = new Access(USER, { id: 't', scope, workspaceId: null, expiresAt: null }, new Map([['w', role]]));
        for (const action of Object.keys(ACTION_ROLES) as Action[]) {
          if (access.can(action, 'w')) continue;
          refusals++;
          const error = access.forbidden(action, 'w');
          expect(error.requiredRole ?? error.requiredScope, action).not.toBeNull();
          expect(error.message).not.toMatch(/\ba [AEIOU]/);
          expect(error.message).not.toMatch(/ADMIN (role|scope) or higher/);
          if (error.requiredRole) expect(error.message).toContain(`the ${error.requiredRole} role`);
          if (error.requiredScope) expect(error.message).toContain(`the ${error.requiredScope} scope`);
        }
      }
    }
    expect(refusals).toBeGreaterThan(0);
  });

  it('puts "an" before a vowel', () => {
    expect(withArticle('ADMIN')).toBe('an ADMIN');
    expect(withArticle('OPERATOR')).toBe('an OPERATOR');
    expect(withArticle('READ')).toBe('a READ');
    expect(withArticle('MANAGE')).toBe('a MANAGE');
  });
});
