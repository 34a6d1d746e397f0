// The audit trail and per-token mutation rate limits, over real HTTP and graphql-ws on a real
// database: every mutation leaves one AuditEvent whatever it answers (a success, a typed error, a
// malformed id, an unexpected error), a delete's row still names its workspace, workspace ADMINs
// page through auditEvents (others: ForbiddenError, non-members: null), a token seen from a new
// address is recorded, and a token past its mutation rate gets RateLimitedError and writes nothing
// while other tokens go on.
import { getNamedType, isUnionType } from 'graphql';
import { print } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schema } from '../schema/index.ts';
import { createToken, forgetCachedTokens } from '../src/auth/tokens.ts';
import { graphql } from './gql/index.ts';
import type { AuEventsQuery, AuEventsQueryVariables } from './gql/graphql.ts';
import { GraphQLTestClient, waitFor } from './helpers/graphql.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';

const AuInstance = graphql(`
  mutation AuInstance($input: CreateInstanceInput!) {
    createInstance(input: $input) {
      __typename
      ... on CreateInstanceSuccess {
        instance {
          id
        }
      }
      ... on RateLimitedError {
        message
        retryAfterSeconds
      }
      ... on Error {
        message
      }
    }
  }
`);
const AuUpdateInstance = graphql(`
  mutation AuUpdateInstance($input: UpdateInstanceInput!) {
    updateInstance(input: $input) {
      __typename
      ... on Error {
        message
      }
    }
  }
`);
const AuCreateRun = graphql(`
  mutation AuCreateRun($input: CreateRunInput!) {
    createRun(input: $input) {
      __typename
      ... on CreateRunSuccess {
        run {
          id
        }
      }
      ... on Error {
        message
      }
    }
  }
`);
const AuCancel = graphql(`
  mutation AuCancel($input: CancelRunInput!) {
    cancelRun(input: $input) {
      __typename
      ... on Error {
        message
      }
    }
  }
`);
const AuDeleteRun = graphql(`
  mutation AuDeleteRun($input: DeleteRunInput!) {
    deleteRun(input: $input) {
      __typename
      ... on DeleteRunSuccess {
        deletedRunId
      }
      ... on Error {
        message
      }
    }
  }
`);
const AuEvents = graphql(`
  query AuEvents($workspaceId: ID!, $first: Int, $after: String, $filter: AuditEventFilter) {
    auditEvents(workspaceId: $workspaceId, first: $first, after: $after, filter: $filter) {
      __typename
      ... on AuditEventConnection {
        edges {
          cursor
          node {
            id
            at
            operation
            targetIds
            resultType
            address
            tokenId
            user {
              name
            }
          }
        }
        pageInfo {
          hasNextPage
          endCursor
        }
      }
      ... on ForbiddenError {
        message
        requiredRole
      }
    }
  }
`);
const AuViewerEvents = graphql(`
  query AuViewerEvents {
    viewer {
      name
      auditEvents(first: 50) {
        edges {
          node {
            operation
            resultType
            user {
              name
            }
          }
        }
      }
    }
  }
`);
const AuNode = graphql(`
  query AuNode($id: ID!) {
    node(id: $id) {
      __typename
      id
      ... on AuditEvent {
        operation
        resultType
        user {
          name
        }
      }
    }
  }
`);

const AuRetentionProbe = graphql(`
  mutation AuRetentionProbe($input: ApplyRetentionInput!) {
    applyRetention(input: $input) {
      __typename
    }
  }
`);

const gid = (type: string, id: string) => Buffer.from(`${type}:${id}`).toString('base64');
const LOCALHOST = /^(::ffff:)?127\.0\.0\.1$|^::1$/;

/** The audit rows of one operation, newest first, read straight from the table. */
async function rowsOf(stack: TestStack, operation: string) {
  return stack.core.db.auditEvent.findMany({ where: { operation }, orderBy: [{ at: 'desc' }, { id: 'desc' }] });
}

describe('audit trail', () => {
  let stack: TestStack;
  let workspaceId: string;
  let instanceId: string;
  let vera: GraphQLTestClient;

  beforeAll(async () => {
    stack = await startTestStack({ withWorker: false });
    const created = await stack.admin.query(AuInstance, { input: { routineName: 'montecarlo', name: 'audited' } });
    if (created.createInstance.__typename !== 'CreateInstanceSuccess') throw new Error(JSON.stringify(created));
    instanceId = created.createInstance.instance.id;
    workspaceId = (await stack.core.db.workspace.findUniqueOrThrow({ where: { name: 'default' } })).id;
    const { token } = await createToken({ db: stack.core.db, userName: 'vera', workspace: 'default', role: 'VIEWER' });
    vera = new GraphQLTestClient({ url: stack.url, token });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('puts RateLimitedError in the result union of every mutation', () => {
    const mutations = Object.values(schema.getMutationType()!.getFields());
    expect(mutations.length).toBeGreaterThan(10);
    for (const field of mutations) {
      const type = getNamedType(field.type);
      expect(isUnionType(type), field.name).toBe(true);
      if (isUnionType(type))
        expect(
          type.getTypes().map((member) => member.name),
          field.name,
        ).toContain('RateLimitedError');
    }
  });

  it('records a success with the targets it named and the run it made, the user, the token and the address', async () => {
    const created = await stack.admin.query(AuCreateRun, {
      input: { instanceId, methodName: 'estimatePi', inputs: { samples: 10 }, start: false },
    });
    if (created.createRun.__typename !== 'CreateRunSuccess') throw new Error(JSON.stringify(created));
    const [row] = await rowsOf(stack, 'createRun');
    const admin = await stack.core.db.user.findUniqueOrThrow({ where: { name: 'admin' } });
    expect(row).toMatchObject({ resultType: 'CreateRunSuccess', userId: admin.id, workspaceId });
    expect(row.targetIds).toEqual(expect.arrayContaining([instanceId, created.createRun.run.id]));
    expect(row.tokenId).toMatch(/^[0-9a-f-]{36}$/);
    expect(row.address).toMatch(LOCALHOST);
  });

  it('records typed errors, malformed ids and a refusal as the union member answered', async () => {
    const invalid = await stack.admin.query(AuInstance, { input: { routineName: 'no-such-routine', name: 'x' } });
    expect(invalid.createInstance.__typename).toBe('ValidationError');
    expect((await rowsOf(stack, 'createInstance'))[0].resultType).toBe('ValidationError');

    const malformed = await stack.admin.query(AuCancel, { input: { id: 'not-a-global-id' } });
    expect(malformed.cancelRun.__typename).toBe('ValidationError');
    expect((await rowsOf(stack, 'cancelRun'))[0]).toMatchObject({ resultType: 'ValidationError', workspaceId: null, targetIds: [] });

    const refused = await vera.query(AuUpdateInstance, { input: { id: instanceId, name: 'renamed by a viewer' } });
    expect(refused.updateInstance.__typename).toBe('ForbiddenError');
    const [row] = await rowsOf(stack, 'updateInstance');
    const veraUser = await stack.core.db.user.findUniqueOrThrow({ where: { name: 'vera' } });
    expect(row).toMatchObject({ resultType: 'ForbiddenError', userId: veraUser.id, workspaceId, targetIds: [instanceId] });
  });

  it('records an unexpected error as Error, and the client still gets its masked error', async () => {
    // A real failure inside PostgreSQL, not a stub: the instance refuses this one name.
    await stack.core.db.$executeRawUnsafe(`
      CREATE FUNCTION audit_test_refuse() RETURNS trigger AS $$
      BEGIN IF NEW.name = 'explodes' THEN RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql`);
    await stack.core.db.$executeRawUnsafe(
      `CREATE TRIGGER audit_test_refuse BEFORE UPDATE ON "RoutineInstance" FOR EACH ROW EXECUTE FUNCTION audit_test_refuse()`,
    );
    try {
      const { body } = await stack.admin.request(AuUpdateInstance, { input: { id: instanceId, name: 'explodes' } });
      expect(body.errors?.[0]?.message).toBe('Unexpected error.');
      expect((await rowsOf(stack, 'updateInstance'))[0]).toMatchObject({ resultType: 'Error', workspaceId, targetIds: [instanceId] });
    } finally {
      await stack.core.db.$executeRawUnsafe(`DROP TRIGGER audit_test_refuse ON "RoutineInstance"`);
      await stack.core.db.$executeRawUnsafe(`DROP FUNCTION audit_test_refuse()`);
    }
  });

  it('names the workspace and the target of a delete, looked up before the row was gone', async () => {
    const created = await stack.admin.query(AuCreateRun, {
      input: { instanceId, methodName: 'estimatePi', inputs: { samples: 10 }, start: false },
    });
    if (created.createRun.__typename !== 'CreateRunSuccess') throw new Error(JSON.stringify(created));
    const runId = created.createRun.run.id;
    expect((await stack.admin.query(AuCancel, { input: { id: runId } })).cancelRun.__typename).toBe('CancelRunSuccess');
    const deleted = await stack.admin.query(AuDeleteRun, { input: { id: runId } });
    expect(deleted.deleteRun.__typename).toBe('DeleteRunSuccess');
    expect(await stack.core.db.routineRun.count({ where: { id: Buffer.from(runId, 'base64').toString().split(':')[1] } })).toBe(0);
    const [row] = await rowsOf(stack, 'deleteRun');
    expect(row).toMatchObject({ resultType: 'DeleteRunSuccess', workspaceId });
    expect(row.targetIds).toContain(runId);
  });

  it('audits a mutation over graphql-ws with the upgrade request address', async () => {
    const { token } = await createToken({ db: stack.core.db, userName: 'sockets' });
    const client = new GraphQLTestClient({ url: stack.url, token }).ws();
    try {
      const results: unknown[] = [];
      for await (const result of client.iterate({
        query: print(AuInstance),
        variables: { input: { routineName: 'montecarlo', name: 'over a socket' } },
      })) {
        results.push(result);
      }
      expect(results).toEqual([
        { data: { createInstance: { __typename: 'CreateInstanceSuccess', instance: { id: expect.any(String) } } } },
      ]);
    } finally {
      await client.dispose();
    }
    const user = await stack.core.db.user.findUniqueOrThrow({ where: { name: 'sockets' } });
    const [row] = await stack.core.db.auditEvent.findMany({ where: { userId: user.id, operation: 'createInstance' } });
    expect(row).toMatchObject({ resultType: 'CreateInstanceSuccess', workspaceId });
    expect(row.address).toMatch(LOCALHOST);
  });

  it('records a token used from a new address (its first use too), on the uncached path only', async () => {
    const { token, apiToken } = await createToken({ db: stack.core.db, userName: 'roaming' });
    const roaming = new GraphQLTestClient({ url: stack.url, token });
    await roaming.query(AuViewerEvents);
    const first = await waitFor(async () => {
      const rows = await stack.core.db.auditEvent.findMany({ where: { tokenId: apiToken.id, operation: 'tokenUsedFromNewAddress' } });
      return rows.length === 1 ? rows[0] : null;
    });
    expect(first.resultType).toBe('FirstUse');
    expect(first.address).toMatch(LOCALHOST);
    expect(first.targetIds).toEqual([gid('ApiToken', apiToken.id)]);
    await waitFor(async () => (await stack.core.db.apiToken.findUniqueOrThrow({ where: { id: apiToken.id } })).lastAddress !== null);

    // The same address again: nothing new, even once the token is looked up again.
    forgetCachedTokens(stack.core.db, (access) => access.token.id === apiToken.id);
    await roaming.query(AuViewerEvents);
    // As if the token had last been used elsewhere.
    await stack.core.db.apiToken.update({ where: { id: apiToken.id }, data: { lastAddress: '203.0.113.7' } });
    forgetCachedTokens(stack.core.db, (access) => access.token.id === apiToken.id);
    await roaming.query(AuViewerEvents);
    const rows = await waitFor(async () => {
      const found = await stack.core.db.auditEvent.findMany({
        where: { tokenId: apiToken.id, operation: 'tokenUsedFromNewAddress' },
        orderBy: { at: 'asc' },
      });
      return found.length >= 2 ? found : null;
    });
    expect(rows.map((row) => row.resultType)).toEqual(['FirstUse', 'NewAddress']);
    expect((await stack.core.db.apiToken.findUniqueOrThrow({ where: { id: apiToken.id } })).lastAddress).toMatch(LOCALHOST);
  });

  it('lets workspace ADMINs page through auditEvents newest first; filters by operation, user and time', async () => {
    const workspace = gid('Workspace', workspaceId);
    const all = await stack.admin.query(AuEvents, { workspaceId: workspace, first: 100 });
    if (all.auditEvents?.__typename !== 'AuditEventConnection') throw new Error(JSON.stringify(all));
    const edges = all.auditEvents.edges;
    expect(edges.length).toBeGreaterThanOrEqual(8);
    // Random ids: neither an id nor a cursor counts the deployment's mutations.
    for (const edge of edges) {
      expect(Buffer.from(edge.node.id, 'base64').toString()).toMatch(
        /^AuditEvent:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/,
      );
      expect(Buffer.from(edge.cursor, 'base64url').toString()).not.toMatch(/^\d+$/);
    }
    const times = edges.map((edge) => new Date(edge.node.at as string).getTime());
    expect(times).toEqual([...times].sort((a, b) => b - a));
    expect(await stack.core.db.auditEvent.count({ where: { workspaceId } })).toBe(edges.length);

    const paged: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 50; page++) {
      const result: Awaited<ReturnType<typeof stack.admin.query<AuEventsQuery, AuEventsQueryVariables>>> = await stack.admin.query(
        AuEvents,
        {
          workspaceId: workspace,
          first: 3,
          after,
        },
      );
      if (result.auditEvents?.__typename !== 'AuditEventConnection') throw new Error(JSON.stringify(result));
      expect(result.auditEvents.edges.length).toBeLessThanOrEqual(3);
      paged.push(...result.auditEvents.edges.map((edge) => edge.node.id));
      if (!result.auditEvents.pageInfo.hasNextPage) break;
      after = result.auditEvents.pageInfo.endCursor ?? null;
    }
    expect(paged).toEqual(all.auditEvents.edges.map((edge) => edge.node.id));

    const byOperation = await stack.admin.query(AuEvents, { workspaceId: workspace, filter: { operation: 'updateInstance' } });
    if (byOperation.auditEvents?.__typename !== 'AuditEventConnection') throw new Error(JSON.stringify(byOperation));
    expect(byOperation.auditEvents.edges.map((edge) => edge.node.resultType).sort()).toEqual(['Error', 'ForbiddenError']);

    const byUser = await stack.admin.query(AuEvents, { workspaceId: workspace, filter: { userName: 'vera' } });
    if (byUser.auditEvents?.__typename !== 'AuditEventConnection') throw new Error(JSON.stringify(byUser));
    expect(byUser.auditEvents.edges.map((edge) => [edge.node.user?.name, edge.node.operation])).toEqual([['vera', 'updateInstance']]);

    const future = await stack.admin.query(AuEvents, {
      workspaceId: workspace,
      filter: { since: new Date(Date.now() + 60_000).toISOString() },
    });
    expect(future.auditEvents).toMatchObject({ __typename: 'AuditEventConnection', edges: [] });

    const tooMany = await stack.admin.request(AuEvents, { workspaceId: workspace, first: 101 });
    expect(tooMany.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    for (const after of ['17', 'not a cursor', Buffer.from(JSON.stringify(['yesterday', 'x'])).toString('base64url')]) {
      const malformed = await stack.admin.request(AuEvents, { workspaceId: workspace, after });
      expect(malformed.body.errors?.[0]?.extensions?.code, after).toBe('BAD_USER_INPUT');
      expect(malformed.body.errors?.[0]?.message, after).toMatch(/"after"/);
    }
  });

  it('answers ForbiddenError to members below ADMIN and null to non-members', async () => {
    const workspace = gid('Workspace', workspaceId);
    const viewer = await vera.query(AuEvents, { workspaceId: workspace });
    expect(viewer.auditEvents).toMatchObject({ __typename: 'ForbiddenError', requiredRole: 'ADMIN' });
    const maintainer = await (await stack.clientFor('mia')).query(AuEvents, { workspaceId: workspace });
    expect(maintainer.auditEvents).toMatchObject({ __typename: 'ForbiddenError', requiredRole: 'ADMIN' });
    // An ADMIN of another workspace only.
    const { token } = await createToken({ db: stack.core.db, userName: 'outsider', workspace: 'elsewhere', role: 'ADMIN' });
    const outsider = new GraphQLTestClient({ url: stack.url, token });
    expect((await outsider.query(AuEvents, { workspaceId: workspace })).auditEvents).toBeNull();
    expect(
      (await stack.admin.query(AuEvents, { workspaceId: gid('Workspace', '00000000-0000-4000-8000-0000000000aa') })).auditEvents,
    ).toBeNull();
  });

  it('keeps in a record only the named ids of its own workspace: a probe of another workspace leaves its ids out', async () => {
    const { token, user } = await createToken({ db: stack.core.db, userName: 'prober', workspace: 'probing', role: 'ADMIN' });
    const prober = new GraphQLTestClient({ url: stack.url, token });
    const probing = await stack.core.db.workspace.findUniqueOrThrow({ where: { name: 'probing' } });
    // Its own workspace and default's instance (which it cannot see) in one input.
    const answer = await prober.query(AuRetentionProbe, { input: { dryRun: true, workspaceId: gid('Workspace', probing.id), instanceId } });
    expect(answer.applyRetention.__typename).toBe('NotFoundError');
    const row = (await rowsOf(stack, 'applyRetention')).find((event) => event.userId === user.id)!;
    expect(row.resultType).toBe('NotFoundError');
    // Whichever workspace the record landed in, it names only that workspace's things.
    const named = row.workspaceId === probing.id ? [gid('Workspace', probing.id)] : [instanceId];
    expect(row.targetIds).toEqual(named);
  });

  it("shows a user its own events through viewer.auditEvents, and nobody else's", async () => {
    const { viewer } = await vera.query(AuViewerEvents);
    const events = viewer?.auditEvents?.edges.map((edge) => edge.node) ?? [];
    expect(events.filter((event) => event.operation === 'updateInstance')).toEqual([
      { operation: 'updateInstance', resultType: 'ForbiddenError', user: { name: 'vera' } },
    ]);
    expect(events.every((event) => event.user?.name === 'vera')).toBe(true);
  });

  it('answers node(id:) of an event to an ADMIN of its workspace and to its own user, null to anyone else', async () => {
    const veraUser = await stack.core.db.user.findUniqueOrThrow({ where: { name: 'vera' } });
    const event = await stack.core.db.auditEvent.findFirstOrThrow({ where: { userId: veraUser.id, operation: 'updateInstance' } });
    const id = gid('AuditEvent', event.id);
    const expected = { __typename: 'AuditEvent', id, operation: 'updateInstance', resultType: 'ForbiddenError', user: { name: 'vera' } };
    expect((await stack.admin.query(AuNode, { id })).node).toEqual(expected);
    expect((await vera.query(AuNode, { id })).node).toEqual(expected);
    // A MAINTAINER of the same workspace, and a user of another workspace: as if it did not exist.
    const mia = await stack.clientFor('mia');
    expect((await mia.query(AuNode, { id })).node).toBeNull();
    const { token } = await createToken({ db: stack.core.db, userName: 'outsider2', workspace: 'elsewhere2', role: 'ADMIN' });
    expect((await new GraphQLTestClient({ url: stack.url, token }).query(AuNode, { id })).node).toBeNull();
    // An admin's event read by the viewer who did not make it.
    const adminEvent = await stack.core.db.auditEvent.findFirstOrThrow({ where: { operation: 'createRun' } });
    expect((await vera.query(AuNode, { id: gid('AuditEvent', adminEvent.id) })).node).toBeNull();
  });
});

describe('mutation rate limits', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startTestStack({ withWorker: false, env: { MUTATION_RATE_LIMIT_PER_MINUTE: '1', MUTATION_RATE_BURST: '3' } });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('answers RateLimitedError past the burst, writes nothing, audits it, and leaves other tokens alone', async () => {
    const greedy = await stack.clientFor('greedy');
    for (let i = 0; i < 3; i++) {
      const created = await greedy.query(AuInstance, { input: { routineName: 'montecarlo', name: `greedy ${i}` } });
      expect(created.createInstance.__typename).toBe('CreateInstanceSuccess');
    }
    const limited = await greedy.query(AuInstance, { input: { routineName: 'montecarlo', name: 'greedy 3' } });
    if (limited.createInstance.__typename !== 'RateLimitedError') throw new Error(JSON.stringify(limited));
    expect(limited.createInstance.retryAfterSeconds).toBeGreaterThan(0);
    expect(limited.createInstance.retryAfterSeconds).toBeLessThanOrEqual(60);
    expect(limited.createInstance.message).toMatch(/MUTATION_RATE_LIMIT_PER_MINUTE/);
    expect(await stack.core.db.routineInstance.count({ where: { name: 'greedy 3' } })).toBe(0);
    const user = await stack.core.db.user.findUniqueOrThrow({ where: { name: 'greedy' } });
    const rows = await stack.core.db.auditEvent.findMany({
      where: { userId: user.id, operation: 'createInstance' },
      orderBy: { at: 'asc' },
    });
    expect(rows.map((row) => row.resultType)).toEqual([...Array(3).fill('CreateInstanceSuccess'), 'RateLimitedError']);

    // Another token of another user has its own bucket.
    const patient = await stack.clientFor('patient');
    const other = await patient.query(AuInstance, { input: { routineName: 'montecarlo', name: 'patient 0' } });
    expect(other.createInstance.__typename).toBe('CreateInstanceSuccess');
    // Reads are not limited.
    expect((await greedy.query(AuViewerEvents)).viewer?.name).toBe('greedy');
  });

  it('limits a user across all its tokens: minting tokens does not multiply the budget', async () => {
    // Token burst 3, so a user's is 6: two fresh tokens use it up, a third fresh token is refused.
    // One after another: concurrent upserts of the same new user race on its unique name.
    const tokens = [];
    for (let i = 0; i < 3; i++) tokens.push(await createToken({ db: stack.core.db, userName: 'minter' }));
    const [first, second, third] = tokens.map(({ token }) => new GraphQLTestClient({ url: stack.url, token }));
    let made = 0;
    for (const client of [first, second]) {
      for (let i = 0; i < 3; i++) {
        const created = await client.query(AuInstance, { input: { routineName: 'montecarlo', name: `minted ${made++}` } });
        expect(created.createInstance.__typename).toBe('CreateInstanceSuccess');
      }
    }
    const limited = await third.query(AuInstance, { input: { routineName: 'montecarlo', name: 'minted 6' } });
    if (limited.createInstance.__typename !== 'RateLimitedError') throw new Error(JSON.stringify(limited));
    expect(limited.createInstance.message).toMatch(/from this user, all its tokens together/);
    expect(limited.createInstance.message).not.toMatch(/from this token/);
    expect(limited.createInstance.retryAfterSeconds).toBeGreaterThan(0);
    expect(await stack.core.db.routineInstance.count({ where: { name: 'minted 6' } })).toBe(0);
  });
});
