// Every change asks the one rule (src/access/): over real HTTP, as a member of each role of one
// workspace and as a user of another, each mutation is allowed, ForbiddenError (naming the role or
// scope it lacks) or NotFoundError exactly like a missing id. The exploit — an OPERATOR
// running another user's instance's constructor to rewrite its config — is refused.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../src/auth/tokens.ts';
import type { TokenScope, WorkspaceRole } from '../src/generated/prisma/enums.ts';
import { graphql } from './gql/index.ts';
import { GraphQLTestClient } from './helpers/graphql.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';

const AcCreateInstance = graphql(`
  mutation AcCreateInstance($input: CreateInstanceInput!) {
    createInstance(input: $input) {
      __typename
      ... on CreateInstanceSuccess {
        instance {
          id
          name
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
      ... on Error {
        message
      }
    }
  }
`);

const AcUpdateInstance = graphql(`
  mutation AcUpdateInstance($input: UpdateInstanceInput!) {
    updateInstance(input: $input) {
      __typename
      ... on ForbiddenError {
        requiredRole
        requiredScope
      }
      ... on Error {
        message
      }
    }
  }
`);

const AcDeleteInstance = graphql(`
  mutation AcDeleteInstance($input: DeleteInstanceInput!) {
    deleteInstance(input: $input) {
      __typename
      ... on ForbiddenError {
        requiredRole
        requiredScope
      }
      ... on Error {
        message
      }
    }
  }
`);

const AcCreateRun = graphql(`
  mutation AcCreateRun($input: CreateRunInput!) {
    createRun(input: $input) {
      __typename
      ... on CreateRunSuccess {
        run {
          id
          status
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
      ... on Error {
        message
      }
    }
  }
`);

const AcStartRun = graphql(`
  mutation AcStartRun($id: ID!) {
    startRun(input: { id: $id }) {
      __typename
      ... on ForbiddenError {
        requiredRole
        requiredScope
      }
      ... on Error {
        message
      }
    }
  }
`);

const AcCancelRun = graphql(`
  mutation AcCancelRun($id: ID!) {
    cancelRun(input: { id: $id }) {
      __typename
      ... on CancelRunSuccess {
        run {
          status
        }
      }
      ... on ForbiddenError {
        requiredRole
        requiredScope
      }
      ... on Error {
        message
      }
    }
  }
`);

const AcAddLabels = graphql(`
  mutation AcAddLabels($id: ID!, $labels: [String!]!) {
    addRunLabels(input: { id: $id, labels: $labels }) {
      __typename
      ... on AddRunLabelsSuccess {
        run {
          labels
        }
      }
      ... on ForbiddenError {
        requiredRole
        requiredScope
      }
      ... on Error {
        message
      }
    }
  }
`);

const AcSetParameter = graphql(`
  mutation AcSetParameter($id: ID!, $name: String!, $value: JSON) {
    setRunParameter(input: { id: $id, name: $name, value: $value }) {
      __typename
      ... on ForbiddenError {
        requiredRole
        requiredScope
      }
      ... on Error {
        message
      }
    }
  }
`);

const AcRerunRun = graphql(`
  mutation AcRerunRun($id: ID!) {
    rerunRun(input: { id: $id, start: false }) {
      __typename
      ... on RerunRunSuccess {
        run {
          id
        }
      }
      ... on ForbiddenError {
        requiredRole
        requiredScope
      }
      ... on Error {
        message
      }
    }
  }
`);

const AcDeleteRun = graphql(`
  mutation AcDeleteRun($id: ID!) {
    deleteRun(input: { id: $id }) {
      __typename
      ... on ForbiddenError {
        requiredRole
        requiredScope
      }
      ... on Error {
        message
      }
    }
  }
`);

const AcDeleteRuns = graphql(`
  mutation AcDeleteRuns($input: DeleteRunsInput!) {
    deleteRuns(input: $input) {
      __typename
      ... on DeleteRunsSuccess {
        matchedCount
        deletableCount
        deletedCount
        skippedCount
        notAllowedCount
      }
      ... on ForbiddenError {
        requiredRole
        requiredScope
      }
      ... on Error {
        message
      }
    }
  }
`);

const AcApplyRetention = graphql(`
  mutation AcApplyRetention($input: ApplyRetentionInput!) {
    applyRetention(input: $input) {
      __typename
      ... on ApplyRetentionSuccess {
        matchedCount
        deletedCount
        candidates {
          runId
          instanceId
        }
      }
      ... on ForbiddenError {
        requiredRole
        requiredScope
      }
      ... on Error {
        message
      }
    }
  }
`);

const UploadDatasetQuery = `mutation AcUpload($input: UploadDatasetInput!) {
  uploadDataset(input: $input) {
    __typename
    ... on UploadDatasetSuccess { dataset { id path } }
    ... on ForbiddenError { requiredRole requiredScope }
    ... on Error { message }
  }
}`;

const gid = (type: string, id: string) => Buffer.from(`${type}:${id}`).toString('base64');
const rawId = (id: string) => Buffer.from(id, 'base64').toString().split(':')[1];

describe('every change asks the one rule', () => {
  let stack: TestStack;
  const tokens: Record<string, string> = {};
  const clients: Record<string, GraphQLTestClient> = {};
  let team: string;
  let other: string;
  /** Montecarlo (STANDARD only) and kmeans (configure is its CONSTRUCTOR) instances of the team. */
  let pi: string;
  let km: string;
  let otherPi: string;

  async function member(userName: string, workspace: string, role: WorkspaceRole, scopes?: TokenScope[]) {
    const made = await createToken({
      db: stack.core.db,
      userName,
      tokenName: scopes ? scopes.join('-') : 'default',
      workspace,
      role,
      scopes,
    });
    tokens[userName] = made.token;
    return new GraphQLTestClient({ url: stack.url, token: made.token });
  }

  async function instance(client: GraphQLTestClient, routineName: string, name: string, workspaceId: string) {
    const { createInstance } = await client.query(AcCreateInstance, { input: { routineName, name, workspaceId } });
    if (createInstance.__typename !== 'CreateInstanceSuccess') throw new Error(JSON.stringify(createInstance));
    return createInstance.instance.id;
  }

  async function draft(client: GraphQLTestClient, instanceId: string, methodName = 'estimatePi', extra: Record<string, unknown> = {}) {
    const inputs = methodName === 'configure' ? { k: 3 } : { samples: 100 };
    const { createRun } = await client.query(AcCreateRun, { input: { instanceId, methodName, inputs, start: false, ...extra } });
    if (createRun.__typename !== 'CreateRunSuccess') throw new Error(JSON.stringify(createRun));
    return createRun.run.id;
  }

  /** A run of the team that has ended (cancelled while a draft), so it can be deleted and re-run. */
  async function ended(client: GraphQLTestClient, instanceId: string, methodName?: string, labels: string[] = []) {
    const id = await draft(client, instanceId, methodName, { labels });
    await stack.core.db.routineRun.update({
      where: { id: rawId(id) },
      data: { status: 'CANCELLED', finishedAt: new Date(Date.now() - 60_000) },
    });
    return id;
  }

  beforeAll(async () => {
    stack = await startTestStack({ withWorker: false });
    clients.ada = await member('ada', 'team', 'ADMIN');
    clients.adaRead = await member('ada', 'team', 'ADMIN', ['READ']);
    clients.mona = await member('mona', 'team', 'MAINTAINER');
    clients.olga = await member('olga', 'team', 'OPERATOR');
    clients.vic = await member('vic', 'team', 'VIEWER');
    clients.xena = await member('xena', 'other', 'MAINTAINER');
    team = gid('Workspace', (await stack.core.db.workspace.findUniqueOrThrow({ where: { name: 'team' } })).id);
    other = gid('Workspace', (await stack.core.db.workspace.findUniqueOrThrow({ where: { name: 'other' } })).id);
    pi = await instance(clients.mona, 'montecarlo', 'pi', team);
    km = await instance(clients.mona, 'kmeans', 'km', team);
    otherPi = await instance(clients.xena, 'montecarlo', 'pi', other);
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('instances: a MAINTAINER creates, updates and deletes them; below it ForbiddenError; another workspace NotFound', async () => {
    const { olga, vic, xena, mona, adaRead } = clients;
    expect(
      (await olga.query(AcCreateInstance, { input: { routineName: 'montecarlo', name: 'o', workspaceId: team } })).createInstance,
    ).toEqual({
      __typename: 'ForbiddenError',
      message: expect.any(String),
      requiredRole: 'MAINTAINER',
      requiredScope: null,
    });
    // An ADMIN's READ token lacks the scope, not the role.
    expect(
      (await adaRead.query(AcCreateInstance, { input: { routineName: 'montecarlo', name: 'r', workspaceId: team } })).createInstance,
    ).toMatchObject({
      __typename: 'ForbiddenError',
      requiredRole: null,
      requiredScope: 'MANAGE',
    });
    // Another workspace's user: the team's workspace does not exist for it.
    expect(
      (await xena.query(AcCreateInstance, { input: { routineName: 'montecarlo', name: 'x', workspaceId: team } })).createInstance,
    ).toMatchObject({
      __typename: 'NotFoundError',
    });
    // Another type's id is the client's mistake, named on the field.
    expect(
      (await mona.query(AcCreateInstance, { input: { routineName: 'montecarlo', name: 'y', workspaceId: pi } })).createInstance,
    ).toMatchObject({
      __typename: 'ValidationError',
      fieldErrors: [{ path: ['workspaceId'] }],
    });
    // The same name in two workspaces: neither collides nor shows.
    const second = await instance(mona, 'montecarlo', 'second', team);
    for (const [client, typename, role] of [
      [olga, 'ForbiddenError', 'MAINTAINER'],
      [vic, 'ForbiddenError', 'MAINTAINER'],
      [xena, 'NotFoundError', undefined],
    ] as const) {
      const updated = (await client.query(AcUpdateInstance, { input: { id: second, name: 'renamed' } })).updateInstance;
      expect(updated).toMatchObject({ __typename: typename, ...(role ? { requiredRole: role } : {}) });
      const deleted = (await client.query(AcDeleteInstance, { input: { id: second } })).deleteInstance;
      expect(deleted).toMatchObject({ __typename: typename, ...(role ? { requiredRole: role } : {}) });
    }
    const missing = (await xena.query(AcUpdateInstance, { input: { id: gid('RoutineInstance', randomUUID()), name: 'n' } })).updateInstance;
    const invisible = (await xena.query(AcUpdateInstance, { input: { id: second, name: 'n' } })).updateInstance;
    expect(invisible).toEqual(missing);
    expect((await mona.query(AcUpdateInstance, { input: { id: second, name: 'renamed' } })).updateInstance.__typename).toBe(
      'UpdateInstanceSuccess',
    );
    expect((await mona.query(AcDeleteInstance, { input: { id: second } })).deleteInstance.__typename).toBe('DeleteInstanceSuccess');
  });

  it('an idempotency key is per workspace: a token bound to one never meets, nor learns of, a run of another', async () => {
    // ida is an OPERATOR of both workspaces, with one token bound to each.
    const boundTo = async (workspace: string, role: WorkspaceRole) => {
      const made = await createToken({ db: stack.core.db, userName: 'ida', tokenName: `bound-${workspace}`, workspace, role, bind: true });
      return new GraphQLTestClient({ url: stack.url, token: made.token });
    };
    const inTeam = await boundTo('team', 'OPERATOR');
    const inOther = await boundTo('other', 'OPERATOR');
    const key = `key-${randomUUID()}`;
    const first = (
      await inTeam.query(AcCreateRun, {
        input: { instanceId: pi, methodName: 'estimatePi', inputs: { samples: 100 }, start: false, idempotencyKey: key },
      })
    ).createRun;
    expect(first.__typename).toBe('CreateRunSuccess');
    // Other inputs under the same key in another workspace: a new run, not IdempotencyKeyReusedError.
    const elsewhere = (
      await inOther.query(AcCreateRun, {
        input: { instanceId: otherPi, methodName: 'estimatePi', inputs: { samples: 200 }, start: false, idempotencyKey: key },
      })
    ).createRun;
    expect(elsewhere.__typename).toBe('CreateRunSuccess');
    // In the first workspace the key still deduplicates, and still refuses other inputs.
    const again = (
      await inTeam.query(AcCreateRun, {
        input: { instanceId: pi, methodName: 'estimatePi', inputs: { samples: 100 }, start: false, idempotencyKey: key },
      })
    ).createRun;
    expect(again).toEqual(first);
    const reused = (
      await inTeam.query(AcCreateRun, {
        input: { instanceId: pi, methodName: 'estimatePi', inputs: { samples: 300 }, start: false, idempotencyKey: key },
      })
    ).createRun;
    expect(reused.__typename).toBe('IdempotencyKeyReusedError');
  });

  it('createRun: an OPERATOR runs STANDARD methods; only a MAINTAINER runs a CONSTRUCTOR (the exploit); VIEWER and outsiders cannot', async () => {
    const { olga, vic, xena, mona } = clients;
    // The exploit: createRun(methodName: "configure") on someone else's instance.
    const exploit = (await olga.query(AcCreateRun, { input: { instanceId: km, methodName: 'configure', inputs: { k: 7 } } })).createRun;
    expect(exploit).toMatchObject({ __typename: 'ForbiddenError', requiredRole: 'MAINTAINER', requiredScope: null });
    expect(await stack.core.db.routineRun.count({ where: { instanceId: rawId(km) } })).toBe(0);
    expect(
      (await mona.query(AcCreateRun, { input: { instanceId: km, methodName: 'configure', inputs: { k: 7 }, start: false } })).createRun
        .__typename,
    ).toBe('CreateRunSuccess');

    expect(
      (await olga.query(AcCreateRun, { input: { instanceId: pi, methodName: 'estimatePi', inputs: { samples: 10 }, start: false } }))
        .createRun.__typename,
    ).toBe('CreateRunSuccess');
    expect(
      (await vic.query(AcCreateRun, { input: { instanceId: pi, methodName: 'estimatePi', inputs: { samples: 10 } } })).createRun,
    ).toMatchObject({
      __typename: 'ForbiddenError',
      requiredRole: 'OPERATOR',
    });
    // Invisible is exactly missing (same type, same message, same id field shape).
    const invisible = (await xena.query(AcCreateRun, { input: { instanceId: pi, methodName: 'estimatePi' } })).createRun;
    const missingId = gid('RoutineInstance', randomUUID());
    const missing = (await xena.query(AcCreateRun, { input: { instanceId: missingId, methodName: 'estimatePi' } })).createRun;
    expect(invisible).toEqual({ __typename: 'NotFoundError', message: (missing as { message: string }).message });
  });

  it('startRun and setRunParameter of a draft need the role of its method kind', async () => {
    const { olga, vic, mona, xena } = clients;
    const configureDraft = await draft(mona, km, 'configure');
    expect((await olga.query(AcStartRun, { id: configureDraft })).startRun).toMatchObject({
      __typename: 'ForbiddenError',
      requiredRole: 'MAINTAINER',
    });
    const guided = await draft(mona, km, 'configure', { invocationMethod: 'WORKFLOW', inputs: {} });
    expect((await olga.query(AcSetParameter, { id: guided, name: 'k', value: 4 })).setRunParameter).toMatchObject({
      __typename: 'ForbiddenError',
      requiredRole: 'MAINTAINER',
    });
    expect((await mona.query(AcSetParameter, { id: guided, name: 'k', value: 4 })).setRunParameter.__typename).toBe(
      'SetRunParameterSuccess',
    );

    const piDraft = await draft(mona, pi, 'estimatePi', { invocationMethod: 'WORKFLOW', inputs: {} });
    expect((await vic.query(AcSetParameter, { id: piDraft, name: 'samples', value: 5 })).setRunParameter).toMatchObject({
      __typename: 'ForbiddenError',
      requiredRole: 'OPERATOR',
    });
    expect((await xena.query(AcSetParameter, { id: piDraft, name: 'samples', value: 5 })).setRunParameter.__typename).toBe('NotFoundError');
    // An OPERATOR edits and starts another member's STANDARD draft.
    expect((await olga.query(AcSetParameter, { id: piDraft, name: 'samples', value: 5 })).setRunParameter.__typename).toBe(
      'SetRunParameterSuccess',
    );
    expect((await vic.query(AcStartRun, { id: piDraft })).startRun).toMatchObject({
      __typename: 'ForbiddenError',
      requiredRole: 'OPERATOR',
    });
    expect((await xena.query(AcStartRun, { id: piDraft })).startRun.__typename).toBe('NotFoundError');
    expect((await olga.query(AcStartRun, { id: piDraft })).startRun.__typename).toBe('StartRunSuccess');
  });

  it('cancelRun and run metadata: any OPERATOR of the workspace, whoever created the run', async () => {
    const { olga, vic, xena, mona } = clients;
    const run = await draft(mona, pi);
    expect((await vic.query(AcAddLabels, { id: run, labels: ['v'] })).addRunLabels).toMatchObject({
      __typename: 'ForbiddenError',
      requiredRole: 'OPERATOR',
    });
    expect((await xena.query(AcAddLabels, { id: run, labels: ['x'] })).addRunLabels.__typename).toBe('NotFoundError');
    expect((await olga.query(AcAddLabels, { id: run, labels: ['o'] })).addRunLabels).toMatchObject({ run: { labels: ['o'] } });

    expect((await vic.query(AcCancelRun, { id: run })).cancelRun).toMatchObject({ __typename: 'ForbiddenError', requiredRole: 'OPERATOR' });
    const missing = (await xena.query(AcCancelRun, { id: gid('RoutineRun', randomUUID()) })).cancelRun;
    expect((await xena.query(AcCancelRun, { id: run })).cancelRun).toEqual(missing);
    expect((await olga.query(AcCancelRun, { id: run })).cancelRun).toMatchObject({ run: { status: 'CANCELLED' } });
  });

  it('rerunRun and deleteRun: own runs for an OPERATOR, any for a MAINTAINER; constructors only for a MAINTAINER', async () => {
    const { olga, vic, xena, mona } = clients;
    const olgas = await ended(olga, pi);
    const monas = await ended(mona, pi);
    const constructor = await ended(mona, km, 'configure');
    expect((await olga.query(AcRerunRun, { id: monas })).rerunRun.__typename).toBe('RerunRunSuccess');
    expect((await olga.query(AcRerunRun, { id: constructor })).rerunRun).toMatchObject({
      __typename: 'ForbiddenError',
      requiredRole: 'MAINTAINER',
    });
    expect((await vic.query(AcRerunRun, { id: monas })).rerunRun).toMatchObject({ __typename: 'ForbiddenError', requiredRole: 'OPERATOR' });
    expect((await xena.query(AcRerunRun, { id: monas })).rerunRun.__typename).toBe('NotFoundError');

    expect((await olga.query(AcDeleteRun, { id: monas })).deleteRun).toMatchObject({
      __typename: 'ForbiddenError',
      requiredRole: 'MAINTAINER',
    });
    // Another member's run: a VIEWER lacks what an OPERATOR lacks there too.
    expect((await vic.query(AcDeleteRun, { id: olgas })).deleteRun).toMatchObject({
      __typename: 'ForbiddenError',
      requiredRole: 'MAINTAINER',
    });
    expect((await xena.query(AcDeleteRun, { id: olgas })).deleteRun.__typename).toBe('NotFoundError');
    expect((await olga.query(AcDeleteRun, { id: olgas })).deleteRun.__typename).toBe('DeleteRunSuccess');
    expect((await mona.query(AcDeleteRun, { id: monas })).deleteRun.__typename).toBe('DeleteRunSuccess');
    expect(await stack.core.db.routineRun.count({ where: { id: { in: [rawId(olgas), rawId(monas)] } } })).toBe(0);
  });

  it('deleteRuns acts only on visible runs, skips and counts the ones it may not delete; a VIEWER is refused', async () => {
    const { olga, vic, xena, mona } = clients;
    const label = 'bulk-delete';
    await ended(olga, pi, undefined, [label]);
    await ended(olga, pi, undefined, [label]);
    const monas = [await ended(mona, pi, undefined, [label])];
    const active = await draft(olga, pi, 'estimatePi', { labels: [label] });
    const xenas = [await ended(xena, otherPi, undefined, [label])];
    const input = { filter: { labelsAny: [label] }, dryRun: true };

    expect((await vic.query(AcDeleteRuns, { input })).deleteRuns).toMatchObject({ __typename: 'ForbiddenError', requiredRole: 'OPERATOR' });
    expect((await olga.query(AcDeleteRuns, { input })).deleteRuns).toEqual({
      __typename: 'DeleteRunsSuccess',
      matchedCount: 4,
      deletableCount: 2,
      deletedCount: 0,
      skippedCount: 2,
      notAllowedCount: 1,
    });
    expect((await mona.query(AcDeleteRuns, { input })).deleteRuns).toMatchObject({
      matchedCount: 4,
      deletableCount: 3,
      notAllowedCount: 0,
    });
    const applied = (await olga.query(AcDeleteRuns, { input: { ...input, dryRun: false } })).deleteRuns;
    expect(applied).toMatchObject({ deletedCount: 2, notAllowedCount: 1 });
    const left = await stack.core.db.routineRun.findMany({ where: { labels: { has: label } }, select: { id: true } });
    expect(left.map((run) => run.id).sort()).toEqual([...monas, active, ...xenas].map(rawId).sort());
    // The other workspace's run was never even counted.
    expect((await xena.query(AcDeleteRuns, { input })).deleteRuns).toMatchObject({ matchedCount: 1, deletableCount: 1 });
  });

  it('uploadDataset needs an OPERATOR; a data set of an invisible workspace is a missing one as a run input', async () => {
    const { olga, xena } = clients;
    const upload = async (who: string, instanceId: string, name: string) => {
      const form = new FormData();
      form.append('operations', JSON.stringify({ query: UploadDatasetQuery, variables: { input: { instanceId, name, file: null } } }));
      form.append('map', JSON.stringify({ 0: ['variables.input.file'] }));
      form.append('0', new Blob(['x0,x1\n1,2\n3,4\n5,6\n'], { type: 'text/csv' }), `${name}.csv`);
      const response = await fetch(stack.url, { method: 'POST', body: form, headers: { authorization: `Bearer ${tokens[who]}` } });
      const body = (await response.json()) as { data: { uploadDataset: Record<string, unknown> } };
      return body.data.uploadDataset;
    };
    expect(await upload('vic', pi, 'viewer')).toMatchObject({ __typename: 'ForbiddenError', requiredRole: 'OPERATOR' });
    expect(await upload('xena', pi, 'outsider')).toMatchObject({ __typename: 'NotFoundError' });
    const uploaded = await upload('olga', km, 'points');
    expect(uploaded.__typename).toBe('UploadDatasetSuccess');
    const { path, id } = (uploaded as { dataset: { path: string; id: string } }).dataset;

    // xena's own kmeans instance reads the team's data set: the same ValidationError as a path naming nothing.
    const xenaKm = await instance(xena, 'kmeans', 'km', other);
    const fit = (points: string) =>
      xena.query(AcCreateRun, {
        input: { instanceId: xenaKm, methodName: 'fit', inputs: { points: { path: points, columns: ['x0', 'x1'] } } },
      });
    const invisible = (await fit(path)).createRun;
    const missingPath = path.replace(rawId(id), randomUUID());
    const missing = (await fit(missingPath)).createRun;
    expect(invisible).toMatchObject({
      __typename: 'ValidationError',
      fieldErrors: [{ path: ['inputs', 'points', 'path'], message: `No data set is stored at ${path}` }],
    });
    expect(missing).toMatchObject({
      __typename: 'ValidationError',
      fieldErrors: [{ path: ['inputs', 'points', 'path'], message: `No data set is stored at ${missingPath}` }],
    });
    // A member of both workspaces sees the data set, yet another workspace's run may not read it:
    // whoever sees that run (or starts its draft) might not see the data.
    const duo = await member('duo', 'team', 'OPERATOR');
    await member('duo', 'other', 'OPERATOR');
    const crossing = (
      await duo.query(AcCreateRun, {
        input: { instanceId: xenaKm, methodName: 'fit', inputs: { points: { path, columns: ['x0', 'x1'] } } },
      })
    ).createRun;
    expect(crossing).toMatchObject({
      __typename: 'ValidationError',
      fieldErrors: [{ path: ['inputs', 'points', 'path'], message: expect.stringMatching(/another workspace/) }],
    });
    // A draft of fit needs a configured instance; configuring is beside the point here.
    await stack.core.db.routineInstance.update({ where: { id: rawId(xenaKm) }, data: { constructedAt: new Date() } });
    const otherDraft = await draft(xena, xenaKm, 'fit', { invocationMethod: 'WORKFLOW', inputs: {} });
    const stepped = (await duo.query(AcSetParameter, { id: otherDraft, name: 'points', value: { path, columns: ['x0', 'x1'] } }))
      .setRunParameter;
    expect(stepped).toMatchObject({ __typename: 'ValidationError' });
    expect(JSON.stringify(stepped)).toMatch(/another workspace/);
    // The team's OPERATOR passes that check (the instance is simply not configured yet).
    const own = (
      await olga.query(AcCreateRun, { input: { instanceId: km, methodName: 'fit', inputs: { points: { path, columns: ['x0', 'x1'] } } } })
    ).createRun;
    expect(own.__typename).toBe('InstanceNotConstructedError');
  });

  it('applyRetention: only where the request is ADMIN, optionally one workspace', async () => {
    const { ada, adaRead, mona, xena } = clients;
    const policy = { olderThanDays: 0, dryRun: true };
    await ended(mona, pi);
    await ended(xena, otherPi);
    expect((await mona.query(AcApplyRetention, { input: policy })).applyRetention).toMatchObject({
      __typename: 'ForbiddenError',
      requiredRole: 'ADMIN',
    });
    expect((await adaRead.query(AcApplyRetention, { input: policy })).applyRetention).toMatchObject({
      __typename: 'ForbiddenError',
      requiredRole: null,
      requiredScope: 'ADMIN',
    });
    expect((await ada.query(AcApplyRetention, { input: { ...policy, workspaceId: other } })).applyRetention.__typename).toBe(
      'NotFoundError',
    );
    expect((await ada.query(AcApplyRetention, { input: { ...policy, instanceId: otherPi } })).applyRetention.__typename).toBe(
      'NotFoundError',
    );
    const teamId = rawId(team);
    const teamFinished = await stack.core.db.routineRun.count({
      where: { workspaceId: teamId, status: { in: ['COMPLETED', 'FAILED', 'CANCELLED'] } },
    });
    const dry = (await ada.query(AcApplyRetention, { input: policy })).applyRetention;
    if (dry.__typename !== 'ApplyRetentionSuccess') throw new Error(JSON.stringify(dry));
    expect(dry.matchedCount).toBe(teamFinished);
    const teamInstances = new Set([pi, km]);
    expect(dry.candidates.every((candidate) => teamInstances.has(candidate.instanceId))).toBe(true);
    expect((await ada.query(AcApplyRetention, { input: { ...policy, workspaceId: team } })).applyRetention).toMatchObject({
      matchedCount: teamFinished,
    });
  });
});
