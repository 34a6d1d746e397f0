// Workspaces, members and API tokens over real HTTP (and the token CLI as a real process) against
// a real database: who may create and change what, and that a token never hands on more than it has.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../src/auth/tokens.ts';
import type { TokenScope, WorkspaceRole } from '../src/generated/prisma/enums.ts';
import { graphql } from './gql/index.ts';
import { GraphQLTestClient, waitFor } from './helpers/graphql.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';

const execFileAsync = promisify(execFile);

const CreateWorkspace = graphql(`
  mutation AccessCreateWorkspace($input: CreateWorkspaceInput!) {
    createWorkspace(input: $input) {
      __typename
      ... on CreateWorkspaceSuccess {
        workspace {
          id
          name
          viewerRole
          members {
            edges {
              node {
                role
                user {
                  name
                }
              }
            }
          }
        }
      }
      ... on ValidationError {
        fieldErrors {
          path
          message
        }
      }
      ... on ForbiddenError {
        requiredRole
        requiredScope
      }
    }
  }
`);

const AddMember = graphql(`
  mutation AccessAddMember($input: AddWorkspaceMemberInput!) {
    addWorkspaceMember(input: $input) {
      __typename
      ... on AddWorkspaceMemberSuccess {
        member {
          role
          addedAt
          user {
            name
          }
        }
      }
      ... on ValidationError {
        fieldErrors {
          path
        }
      }
      ... on ForbiddenError {
        requiredRole
        requiredScope
      }
    }
  }
`);

const RemoveMember = graphql(`
  mutation AccessRemoveMember($input: RemoveWorkspaceMemberInput!) {
    removeWorkspaceMember(input: $input) {
      __typename
      ... on RemoveWorkspaceMemberSuccess {
        workspace {
          members {
            edges {
              node {
                role
                user {
                  name
                }
              }
            }
          }
        }
      }
      ... on ValidationError {
        fieldErrors {
          path
          message
        }
      }
      ... on ForbiddenError {
        requiredRole
      }
    }
  }
`);

const Workspaces = graphql(`
  query AccessWorkspaces {
    workspaces {
      id
      name
      viewerRole
    }
    viewer {
      name
      workspaces {
        name
      }
    }
  }
`);

const WorkspaceById = graphql(`
  query AccessWorkspace($id: ID!) {
    node(id: $id) {
      id
    }
    workspace(id: $id) {
      name
      viewerRole
      instances(first: 10) {
        totalCount
        edges {
          node {
            name
            workspace {
              name
            }
          }
        }
      }
      members(first: 10) {
        edges {
          node {
            role
            user {
              name
              tokens {
                id
              }
            }
          }
        }
      }
    }
  }
`);

const CreateApiToken = graphql(`
  mutation AccessCreateApiToken($input: CreateApiTokenInput!) {
    createApiToken(input: $input) {
      __typename
      ... on CreateApiTokenSuccess {
        secret
        token {
          id
          name
          scopes
          expiresAt
          revokedAt
          workspace {
            name
          }
        }
      }
      ... on ValidationError {
        fieldErrors {
          path
          message
        }
      }
      ... on ForbiddenError {
        requiredRole
        requiredScope
      }
    }
  }
`);

const RevokeApiToken = graphql(`
  mutation AccessRevokeApiToken($input: RevokeApiTokenInput!) {
    revokeApiToken(input: $input) {
      __typename
      ... on RevokeApiTokenSuccess {
        token {
          id
          revokedAt
        }
      }
    }
  }
`);

const ViewerTokens = graphql(`
  query AccessViewerTokens {
    viewer {
      tokens {
        id
        name
        scopes
        revokedAt
        lastUsedAt
        workspace {
          name
        }
      }
    }
  }
`);

const CreateInstanceIn = graphql(`
  mutation AccessCreateInstance($input: CreateInstanceInput!) {
    createInstance(input: $input) {
      __typename
    }
  }
`);

describe('workspaces, members and tokens', () => {
  let stack: TestStack;
  let alice: GraphQLTestClient;
  const clients = new Map<string, GraphQLTestClient>();

  /** A client with a fresh token: by default the user's own rights (MAINTAINER of `default`), ADMIN scope, unbound. */
  async function tokenFor(
    userName: string,
    options: { workspace?: string; role?: WorkspaceRole; scopes?: TokenScope[]; bind?: boolean; expiresAt?: Date } = {},
  ) {
    const { token, apiToken } = await createToken({ db: stack.core.db, userName, tokenName: `t-${clients.size}`, ...options });
    const client = new GraphQLTestClient({ url: stack.url, token });
    clients.set(token, client);
    return Object.assign(client, { tokenId: apiToken.id });
  }

  const as = (secret: string) => new GraphQLTestClient({ url: stack.url, token: secret });

  async function workspaceId(client: GraphQLTestClient, name: string): Promise<string> {
    const { workspaces } = await client.query(Workspaces);
    const found = workspaces.find((w) => w.name === name);
    if (!found) throw new Error(`${name} is not visible`);
    return found.id;
  }

  beforeAll(async () => {
    stack = await startTestStack({ withWorker: false });
    alice = await tokenFor('alice');
    for (const name of ['bob', 'carol']) await tokenFor(name);
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('any user creates a workspace with an unbound ADMIN-scoped token and becomes its ADMIN; names are checked', async () => {
    const created = await alice.query(CreateWorkspace, { input: { name: 'team-a' } });
    expect(created.createWorkspace.__typename).toBe('CreateWorkspaceSuccess');
    if (created.createWorkspace.__typename !== 'CreateWorkspaceSuccess') return;
    expect(created.createWorkspace.workspace.viewerRole).toBe('ADMIN');
    expect(created.createWorkspace.workspace.members.edges.map((e) => [e.node.user.name, e.node.role])).toEqual([['alice', 'ADMIN']]);

    // The same token sees it in the next request too (the token cache forgot alice's old memberships).
    const seen = await alice.query(Workspaces);
    expect(seen.workspaces.map((w) => [w.name, w.viewerRole])).toEqual([
      ['default', 'MAINTAINER'],
      ['team-a', 'ADMIN'],
    ]);

    for (const name of ['team-a', 'Team-B', '-x', 'a b', '', 'x'.repeat(65)]) {
      const refused = await alice.query(CreateWorkspace, { input: { name } });
      expect(refused.createWorkspace.__typename, name).toBe('ValidationError');
      if (refused.createWorkspace.__typename === 'ValidationError') expect(refused.createWorkspace.fieldErrors[0].path).toEqual(['name']);
    }
    const longest = await alice.query(CreateWorkspace, { input: { name: `a${'.'.repeat(63)}` } });
    expect(longest.createWorkspace.__typename).toBe('CreateWorkspaceSuccess');

    for (const options of [{ scopes: ['MANAGE'] as TokenScope[] }, { workspace: 'default', bind: true }]) {
      const narrow = await tokenFor('alice', options);
      const forbidden = await narrow.query(CreateWorkspace, { input: { name: 'never-made' } });
      expect(forbidden.createWorkspace).toEqual({ __typename: 'ForbiddenError', requiredRole: null, requiredScope: 'ADMIN' });
    }
    expect(await stack.core.db.workspace.count({ where: { name: 'never-made' } })).toBe(0);
  });

  it('ADMINs add and remove members; the role shows through viewerRole at once; duplicates and the last ADMIN are refused', async () => {
    const bob = await tokenFor('bob');
    const carol = await tokenFor('carol');
    await alice.query(CreateWorkspace, { input: { name: 'team-m' } });
    const id = await workspaceId(alice, 'team-m');

    // Invisible to non-members: null, absent, and NotFound as a mutation's target.
    expect(await bob.query(WorkspaceById, { id })).toEqual({ node: null, workspace: null });
    expect((await bob.query(Workspaces)).workspaces.map((w) => w.name)).not.toContain('team-m');
    const byStranger = await carol.query(AddMember, { input: { workspaceId: id, userName: 'carol', role: 'ADMIN' } });
    expect(byStranger.addWorkspaceMember.__typename).toBe('NotFoundError');

    const added = await alice.query(AddMember, { input: { workspaceId: id, userName: 'bob', role: 'VIEWER' } });
    expect(added.addWorkspaceMember.__typename).toBe('AddWorkspaceMemberSuccess');
    // bob's token was remembered (AUTH_CACHE_MS) before: the change is seen by the next request all the same.
    expect(await bob.query(WorkspaceById, { id })).toMatchObject({ node: { id }, workspace: { viewerRole: 'VIEWER' } });
    expect((await bob.query(Workspaces)).viewer?.workspaces.map((w) => w.name)).toEqual(['default', 'team-m']);

    const again = await alice.query(AddMember, { input: { workspaceId: id, userName: 'bob', role: 'ADMIN' } });
    expect(again.addWorkspaceMember).toEqual({ __typename: 'ValidationError', fieldErrors: [{ path: ['userName'] }] });
    const nobody = await alice.query(AddMember, { input: { workspaceId: id, userName: 'nobody', role: 'VIEWER' } });
    expect(nobody.addWorkspaceMember.__typename).toBe('ValidationError');
    const byViewer = await bob.query(AddMember, { input: { workspaceId: id, userName: 'carol', role: 'VIEWER' } });
    expect(byViewer.addWorkspaceMember).toEqual({ __typename: 'ForbiddenError', requiredRole: 'ADMIN', requiredScope: null });

    const lastAdmin = await alice.query(RemoveMember, { input: { workspaceId: id, userName: 'alice' } });
    expect(lastAdmin.removeWorkspaceMember.__typename).toBe('ValidationError');
    const notMember = await alice.query(RemoveMember, { input: { workspaceId: id, userName: 'carol' } });
    expect(notMember.removeWorkspaceMember.__typename).toBe('ValidationError');

    // A role changes by remove + add.
    expect((await alice.query(RemoveMember, { input: { workspaceId: id, userName: 'bob' } })).removeWorkspaceMember.__typename).toBe(
      'RemoveWorkspaceMemberSuccess',
    );
    expect((await bob.query(WorkspaceById, { id })).workspace).toBeNull();
    await alice.query(AddMember, { input: { workspaceId: id, userName: 'bob', role: 'ADMIN' } });
    expect((await bob.query(WorkspaceById, { id })).workspace?.viewerRole).toBe('ADMIN');
    // A token acts with the lesser of its scope and the role.
    const bobReads = await tokenFor('bob', { scopes: ['READ'] });
    expect((await bobReads.query(WorkspaceById, { id })).workspace?.viewerRole).toBe('VIEWER');
    const readOnly = await bobReads.query(AddMember, { input: { workspaceId: id, userName: 'carol', role: 'VIEWER' } });
    expect(readOnly.addWorkspaceMember).toEqual({ __typename: 'ForbiddenError', requiredRole: null, requiredScope: 'ADMIN' });

    // With a second ADMIN, alice may leave; then bob is the last one.
    const left = await alice.query(RemoveMember, { input: { workspaceId: id, userName: 'alice' } });
    expect(left.removeWorkspaceMember.__typename).toBe('RemoveWorkspaceMemberSuccess');
    expect((await alice.query(WorkspaceById, { id })).workspace).toBeNull();
    const bobLast = await bob.query(RemoveMember, { input: { workspaceId: id, userName: 'bob' } });
    expect(bobLast.removeWorkspaceMember.__typename).toBe('ValidationError');
    const row = await stack.core.db.workspace.findUniqueOrThrow({ where: { name: 'team-m' } });
    expect(await stack.core.db.workspaceMember.count({ where: { workspaceId: row.id, role: 'ADMIN' } })).toBe(1);
  });

  it("a workspace lists its own instances; another user's tokens are never listed", async () => {
    await alice.query(CreateWorkspace, { input: { name: 'team-i' } });
    const id = await workspaceId(alice, 'team-i');
    // Without a workspaceId an instance goes to the token's workspace, else the user's first (default).
    const boundToTeam = await tokenFor('alice', { workspace: 'team-i', bind: true });
    for (const client of [boundToTeam, alice]) {
      const created = await client.query(CreateInstanceIn, { input: { routineName: 'kmeans', name: 'inst-i' } });
      expect(created.createInstance.__typename).toBe('CreateInstanceSuccess');
    }
    await alice.query(AddMember, { input: { workspaceId: id, userName: 'carol', role: 'VIEWER' } });
    const { workspace } = await alice.query(WorkspaceById, { id });
    expect(workspace?.instances.totalCount).toBe(1);
    expect(workspace?.instances.edges.map((e) => e.node.workspace.name)).toEqual(['team-i']);
    const members = Object.fromEntries(workspace!.members.edges.map((e) => [e.node.user.name, e.node.user.tokens.length]));
    expect(members.carol).toBe(0);
    expect(members.alice).toBeGreaterThan(0);
  });

  it('a new token is never wider than the one asking: scope, workspace binding and expiry', async () => {
    const teamA = await workspaceId(alice, 'team-a');
    const defaultId = await workspaceId(alice, 'default');
    const reader = await tokenFor('alice', { scopes: ['READ'] });
    const wider = await reader.query(CreateApiToken, { input: { name: 'wider', scopes: ['READ', 'RUN'] } });
    expect(wider.createApiToken).toEqual({ __typename: 'ForbiddenError', requiredRole: null, requiredScope: 'RUN' });
    const same = await reader.query(CreateApiToken, { input: { name: 'dashboard', scopes: ['READ'] } });
    if (same.createApiToken.__typename !== 'CreateApiTokenSuccess') throw new Error(same.createApiToken.__typename);
    expect(same.createApiToken.token).toMatchObject({ name: 'dashboard', scopes: ['READ'], workspace: null, revokedAt: null });
    // The secret works, and only as READ.
    expect((await as(same.createApiToken.secret).query(WorkspaceById, { id: teamA })).workspace?.viewerRole).toBe('VIEWER');

    const bound = await tokenFor('alice', { workspace: 'team-a', bind: true });
    const elsewhere = await bound.query(CreateApiToken, { input: { name: 'x', scopes: ['READ'], workspaceId: defaultId } });
    expect(elsewhere.createApiToken.__typename).toBe('ValidationError');
    const inherited = await bound.query(CreateApiToken, { input: { name: 'child', scopes: ['RUN'] } });
    if (inherited.createApiToken.__typename !== 'CreateApiTokenSuccess') throw new Error(inherited.createApiToken.__typename);
    expect(inherited.createApiToken.token.workspace?.name).toBe('team-a');
    expect((await as(inherited.createApiToken.secret).query(Workspaces)).workspaces.map((w) => [w.name, w.viewerRole])).toEqual([
      ['team-a', 'OPERATOR'],
    ]);
    // A bound token lists only its workspace's tokens of its user.
    const boundList = await bound.query(ViewerTokens);
    expect(new Set(boundList.viewer?.tokens.map((t) => t.workspace?.name))).toEqual(new Set(['team-a']));

    // Binding an unbound token's child: to a visible workspace, not to an invisible one.
    const explicit = await alice.query(CreateApiToken, { input: { name: 'bound', scopes: ['ADMIN'], workspaceId: teamA } });
    expect(explicit.createApiToken.__typename === 'CreateApiTokenSuccess' && explicit.createApiToken.token.workspace?.name).toBe('team-a');
    const teamM = (await stack.core.db.workspace.findUniqueOrThrow({ where: { name: 'team-m' } })).id;
    const teamMGlobal = Buffer.from(`Workspace:${teamM}`).toString('base64');
    const invisible = await alice.query(CreateApiToken, { input: { name: 'x', scopes: ['READ'], workspaceId: teamMGlobal } });
    expect(invisible.createApiToken.__typename).toBe('NotFoundError');

    const past = await alice.query(CreateApiToken, {
      input: { name: 'x', scopes: ['READ'], expiresAt: new Date(Date.now() - 1000).toISOString() },
    });
    expect(past.createApiToken.__typename === 'ValidationError' && past.createApiToken.fieldErrors[0].path).toEqual(['expiresAt']);
    const inAnHour = new Date(Date.now() + 3_600_000);
    const expiring = await tokenFor('alice', { expiresAt: inAnHour });
    const outlives = await expiring.query(CreateApiToken, {
      input: { name: 'x', scopes: ['READ'], expiresAt: new Date(Date.now() + 7_200_000).toISOString() },
    });
    expect(outlives.createApiToken.__typename === 'ValidationError' && outlives.createApiToken.fieldErrors[0].path).toEqual(['expiresAt']);
    const child = await expiring.query(CreateApiToken, { input: { name: 'x', scopes: ['READ'] } });
    expect(child.createApiToken.__typename === 'CreateApiTokenSuccess' && child.createApiToken.token.expiresAt).toBe(
      inAnHour.toISOString(),
    );
  });

  it("revokes own tokens; an ADMIN revokes a member's token bound to its workspace; anything else is not found", async () => {
    const own = await alice.query(CreateApiToken, { input: { name: 'to-revoke', scopes: ['READ'] } });
    if (own.createApiToken.__typename !== 'CreateApiTokenSuccess') throw new Error(own.createApiToken.__typename);
    const { secret, token: ownToken } = own.createApiToken;
    expect((await as(secret).request(Workspaces)).status).toBe(200);
    const revoked = await alice.query(RevokeApiToken, { input: { id: ownToken.id } });
    expect(revoked.revokeApiToken.__typename === 'RevokeApiTokenSuccess' && revoked.revokeApiToken.token.revokedAt).toBeTruthy();
    // Refused at once, though the API remembers valid tokens (AUTH_CACHE_MS), and told why.
    const refused = await as(secret).request(Workspaces);
    expect(refused.status).toBe(401);
    expect(refused.body.errors?.[0]).toMatchObject({
      message: 'The token was revoked',
      extensions: { code: 'UNAUTHENTICATED', reason: 'REVOKED' },
    });
    const listed = (await alice.query(ViewerTokens)).viewer!.tokens.find((t) => t.id === ownToken.id);
    expect(listed?.revokedAt).toBeTruthy();

    // bob, a member of alice's team-a, with a token bound to it and one that is not.
    const teamA = await workspaceId(alice, 'team-a');
    await alice.query(AddMember, { input: { workspaceId: teamA, userName: 'bob', role: 'OPERATOR' } });
    const bobBound = await tokenFor('bob', { workspace: 'team-a', role: 'OPERATOR', bind: true });
    const bobFree = await tokenFor('bob');
    const toGlobal = (id: string) => Buffer.from(`ApiToken:${id}`).toString('base64');
    expect((await bobBound.request(Workspaces)).status).toBe(200);

    const carol = await tokenFor('carol');
    expect((await carol.query(RevokeApiToken, { input: { id: toGlobal(bobBound.tokenId) } })).revokeApiToken.__typename).toBe(
      'NotFoundError',
    );
    expect((await alice.query(RevokeApiToken, { input: { id: toGlobal(bobFree.tokenId) } })).revokeApiToken.__typename).toBe(
      'NotFoundError',
    );
    // An ADMIN-role user whose token only reads may not administer: not found either.
    const aliceReads = await tokenFor('alice', { scopes: ['READ'] });
    expect((await aliceReads.query(RevokeApiToken, { input: { id: toGlobal(bobBound.tokenId) } })).revokeApiToken.__typename).toBe(
      'NotFoundError',
    );
    expect((await alice.query(RevokeApiToken, { input: { id: toGlobal(bobBound.tokenId) } })).revokeApiToken.__typename).toBe(
      'RevokeApiTokenSuccess',
    );
    expect((await bobBound.request(Workspaces)).status).toBe(401);
    expect((await bobFree.request(Workspaces)).status).toBe(200);
    expect(await stack.core.db.apiToken.count({ where: { id: bobFree.tokenId, revokedAt: null } })).toBe(1);
  });

  describe('the token CLI', () => {
    const cli = async (args: string[]) => {
      try {
        const { stdout, stderr } = await execFileAsync(process.execPath, ['--import', 'tsx', 'src/main.ts', 'token', ...args], {
          env: { ...process.env, DATABASE_URL: stack.database.url, DATA_DIR: stack.dataDir, LOG_LEVEL: 'warn' },
        });
        return { code: 0, stdout, stderr };
      } catch (error) {
        const failed = error as { code: number; stdout: string; stderr: string };
        return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
      }
    };

    it('creates a scoped, bound, expiring token in a workspace, lists it and revokes it', async () => {
      const expires = new Date(Date.now() + 86_400_000);
      const created = await cli([
        'create',
        'dave',
        '--workspace',
        'ops',
        '--role',
        'OPERATOR',
        '--scope',
        'RUN',
        '--bind',
        '--expires',
        expires.toISOString(),
      ]);
      expect(created.code, created.stderr).toBe(0);
      const secret = created.stdout.trim().split('\n').at(-1)!;
      expect(secret).toMatch(/^rr_/);
      const dave = as(secret);
      expect((await dave.query(Workspaces)).workspaces.map((w) => [w.name, w.viewerRole])).toEqual([['ops', 'OPERATOR']]);

      const row = await stack.core.db.apiToken.findFirstOrThrow({ where: { user: { name: 'dave' } } });
      const listed = await cli(['list']);
      expect(listed.code).toBe(0);
      const line = listed.stdout.split('\n').find((l) => l.startsWith(row.id));
      expect(line).toContain('dave');
      expect(line).toContain('scopes RUN');
      expect(line).toContain('bound to ops');
      expect(line).toContain(`expires ${expires.toISOString()}`);
      expect(line).toMatch(/last used \d{4}-/);

      expect((await cli(['revoke', row.id])).code).toBe(0);
      // Another process revoked it: this API process may remember the token for AUTH_CACHE_MS (5 s).
      await waitFor(async () => (await dave.request(Workspaces)).status === 401, { timeoutMs: 10_000, what: 'the revoked token refused' });
      expect((await cli(['list'])).stdout.split('\n').find((l) => l.startsWith(row.id))).toContain('revoked');
    });

    it('--workspace alone makes a member without changing an existing role or binding the token', async () => {
      const created = await cli(['create', 'alice', '--workspace', 'team-a']);
      expect(created.code, created.stderr).toBe(0);
      const secret = created.stdout.trim().split('\n').at(-1)!;
      const seen = await as(secret).query(Workspaces);
      expect(seen.workspaces.find((w) => w.name === 'team-a')?.viewerRole).toBe('ADMIN');
      expect(seen.workspaces.length).toBeGreaterThan(1);
    });

    it('refuses bad flags with exit code 2 and names the flag (the rest of the parsing: test/unit/token-command.test.ts)', async () => {
      for (const [args, flag] of [
        [['create', 'erin', '--role', 'BOSS'], '--role'],
        [['create', 'erin', '--expires', '2001-01-01T00:00:00Z'], '--expires'],
      ] as const) {
        const result = await cli([...args]);
        expect(result.code, args.join(' ')).toBe(2);
        expect(result.stderr).toContain(flag);
      }
      expect(await stack.core.db.user.count({ where: { name: 'erin' } })).toBe(0);
    });
  });
});
