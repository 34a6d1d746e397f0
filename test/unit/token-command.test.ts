// The token CLI's command line: what it accepts, and that every refusal names its flag.
import { describe, expect, it } from 'vitest';
import { parseTokenArgs, TokenUsageError } from '../../src/commands/token.ts';

const now = new Date('2026-06-01T00:00:00Z');

describe('npm run token -- …', () => {
  it('reads create with every flag, upper-casing roles and scopes', () => {
    expect(
      parseTokenArgs(
        [
          'create',
          'alice',
          '--workspace',
          'ops',
          '--role',
          'operator',
          '--scope',
          'READ',
          '--scope',
          'run',
          '--bind',
          '--expires',
          '2027-01-01',
        ],
        now,
      ),
    ).toEqual({
      action: 'create',
      userName: 'alice',
      tokenName: 'cli',
      admin: false,
      workspace: 'ops',
      role: 'OPERATOR',
      scopes: ['READ', 'RUN'],
      bind: true,
      expiresAt: new Date('2027-01-01T00:00:00Z'),
    });
  });

  it('defaults: ADMIN scope, unbound, no expiry, no workspace', () => {
    expect(parseTokenArgs(['create', 'bob', '--admin'], now)).toMatchObject({
      admin: true,
      scopes: ['ADMIN'],
      bind: false,
      expiresAt: null,
      workspace: undefined,
      role: undefined,
    });
    expect(parseTokenArgs(['list'], now)).toEqual({ action: 'list' });
    expect(parseTokenArgs(['revoke', 'abc'], now)).toEqual({ action: 'revoke', idOrSecret: 'abc' });
  });

  it.each([
    [['create', 'x', '--role', 'BOSS'], '--role'],
    [['create', 'x', '--scope', 'READ', '--scope', 'ALL'], '--scope'],
    [['create', 'x', '--expires', 'tomorrow'], '--expires'],
    [['create', 'x', '--expires', '2026-13-45'], '--expires'],
    [['create', 'x', '--expires', '2026-05-31T23:59:59Z'], '--expires'],
    [['create', 'x', '--bind'], '--bind'],
    [['create', 'x', '--workspace', ' '], '--workspace'],
    [['create', 'x', '--color'], '--color'],
    [['create', 'x', '--role'], '--role'],
  ])('refuses %j naming %s', (args, flag) => {
    expect(() => parseTokenArgs(args, now)).toThrow(TokenUsageError);
    expect(() => parseTokenArgs(args, now)).toThrow(flag);
  });

  it('refuses a missing user or action, and extra arguments', () => {
    for (const args of [[], ['create'], ['revoke'], ['list', 'x'], ['create', 'a', 'b'], ['drop', 'a']]) {
      expect(() => parseTokenArgs(args, now), args.join(' ')).toThrow(TokenUsageError);
    }
  });
});
