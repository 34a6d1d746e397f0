// Fixtures of the permission matrix: workspaces A (`alpha`, where every target lives) and B
// (`beta`), one user per kind of requester (test/access/matrix.ts), and A's instances, runs,
// artifacts and data set, made once by an owner who is none of the requesters. Operations that
// consume their target (delete, cancel, start, revoke, remove) take a fresh one per cell.
import { randomBytes } from 'node:crypto';
import { createToken } from '../../src/auth/tokens.ts';
import type { Db } from '../../src/db/client.ts';
import { REQUESTERS, type Requester } from '../access/matrix.ts';
import { startTestStack, type TestStack } from './stack.ts';

export const WORKSPACE_A = 'alpha';
export const WORKSPACE_B = 'beta';

/** A GraphQL answer as it came over the wire. */
export interface WireResult {
  status: number;
  data?: Record<string, unknown> | null;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

/** One requester: who it is and how it talks to the API. */
export interface AccessClient {
  requester: Requester;
  userId: string;
  userName: string;
  token: string;
  url: string;
  gql(query: string, variables?: Record<string, unknown>): Promise<WireResult>;
}

export function clientOf({ url, token, requester, userId, userName }: Omit<AccessClient, 'gql'>): AccessClient {
  return {
    requester,
    userId,
    userName,
    token,
    url,
    async gql(query, variables = {}) {
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/graphql-response+json, application/json',
          authorization: `Bearer ${token}`,
        },
        body: JSON.stringify({ query, variables }),
        signal: AbortSignal.timeout(30_000),
      });
      const body = (await response.json()) as Omit<WireResult, 'status'>;
      return { status: response.status, ...body };
    },
  };
}

/** The relay plugin's global id of a row (Workspace and ApiToken have no GraphQL answer to take it from here). */
export function globalIdOf(typename: string, id: string): string {
  return Buffer.from(`${typename}:${id}`).toString('base64');
}

export function rawIdOf(globalId: string): string {
  const decoded = Buffer.from(globalId, 'base64').toString('utf8');
  return decoded.slice(decoded.indexOf(':') + 1);
}

export interface AccessFixtures {
  stack: TestStack;
  db: Db;
  url: string;
  /** Workspace A's and B's database ids and global ids. */
  a: { id: string; gid: string };
  b: { id: string; gid: string };
  owner: AccessClient;
  clients: Record<string, AccessClient>;
  /** A montecarlo instance in A with two COMPLETED runs (the first with an artifact) and a draft. */
  mc: { id: string; name: string };
  /** A constructed kmeans instance in A with an uploaded data set. */
  km: { id: string; name: string };
  runs: [string, string];
  draft: string;
  artifact: { gid: string; id: string };
  dataset: { gid: string; id: string; path: string; columns: string[] };
  /** The global id a run of A had before the owner deleted it: its tombstone is in deletedRuns. */
  deletedRun: string;
  /** A schedule of A (montecarlo, on a yearly cron: it does not fire during the matrix). */
  schedule: string;
  fresh: FreshTargets;
  stop(): Promise<void>;
}

export interface FreshTargets {
  /** The global id of a schedule of A (yearly: it does not fire). */
  schedule(): Promise<string>;
  /** A COMPLETED run of A (a copy of a fixture run) created by `createdById`, optionally labelled. */
  finishedRun(createdById: string, label?: string): Promise<string>;
  /** A CREATED montecarlo draft of A (a background run once started: the worker executes it, not the cell). */
  draft(): Promise<string>;
  instance(): Promise<string>;
  /** The global id of a data set of A that no run uses. */
  dataset(): Promise<string>;
  /** A user who exists but belongs to no workspace the matrix looks at. */
  userName(): Promise<string>;
  /** A VIEWER member of A who is not a requester. */
  memberName(): Promise<string>;
  /** The global id of a token of another member of A, bound to A. */
  boundTokenId(): Promise<string>;
}

const PAYLOAD_ERRORS = '__typename ... on Error { message }';
const unique = () => randomBytes(4).toString('hex');

async function must(
  client: AccessClient,
  query: string,
  variables: Record<string, unknown>,
  field: string,
): Promise<Record<string, unknown>> {
  const result = await client.gql(query, variables);
  const payload = result.data?.[field] as Record<string, unknown> | undefined;
  if (!payload || (typeof payload.__typename === 'string' && !payload.__typename.endsWith('Success')))
    throw new Error(`fixture ${field} failed: ${JSON.stringify(result).slice(0, 800)}`);
  return payload;
}

async function createInstance(owner: AccessClient, routineName: string, name: string): Promise<string> {
  const payload = await must(
    owner,
    `mutation($input: CreateInstanceInput!) { createInstance(input: $input) { ${PAYLOAD_ERRORS} ... on CreateInstanceSuccess { instance { id } } } }`,
    { input: { name, routineName } },
    'createInstance',
  );
  return (payload.instance as { id: string }).id;
}

const CREATE_RUN = `mutation($input: CreateRunInput!) { createRun(input: $input) {
  ${PAYLOAD_ERRORS} ... on CreateRunSuccess { run { id status artifacts { id } } } } }`;

async function createRun(
  owner: AccessClient,
  input: Record<string, unknown>,
): Promise<{ id: string; status: string; artifacts: { id: string }[] }> {
  const payload = await must(owner, CREATE_RUN, { input }, 'createRun');
  return payload.run as { id: string; status: string; artifacts: { id: string }[] };
}

/** A small montecarlo run executed in the API process: the cheapest run that leaves an artifact. */
/** A createSchedule input for a montecarlo instance: yearly, so it never fires while a test runs. */
export function scheduleInput(instanceId: string) {
  return {
    instanceId,
    methodName: 'estimatePi',
    inputs: { samples: 1000, batches: 1 },
    cron: '0 0 1 1 *',
    name: `matrix-${Math.random().toString(36).slice(2, 10)}`,
  };
}

export function montecarloInput(instanceId: string, extra: Record<string, unknown> = {}) {
  return {
    instanceId,
    methodName: 'estimatePi',
    inputs: { samples: 1000, batches: 1, seed: 7 },
    executionType: 'IN_MEMORY',
    storeArtifacts: true,
    ...extra,
  };
}

async function uploadCsv(owner: AccessClient, instanceId: string, name: string, csv: string): Promise<Record<string, unknown>> {
  const form = new FormData();
  form.append(
    'operations',
    JSON.stringify({
      query: `mutation($input: UploadDatasetInput!) { uploadDataset(input: $input) { ${PAYLOAD_ERRORS}
        ... on UploadDatasetSuccess { dataset { id path columns } } } }`,
      variables: { input: { instanceId, name, file: null } },
    }),
  );
  form.append('map', JSON.stringify({ 0: ['variables.input.file'] }));
  form.append('0', new Blob([csv], { type: 'text/csv' }), `${name}.csv`);
  const response = await fetch(owner.url, { method: 'POST', body: form, headers: { authorization: `Bearer ${owner.token}` } });
  return (await response.json()) as Record<string, unknown>;
}

export const POINTS_CSV = 'x0,x1\n0,0\n0,1\n1,0\n10,10\n10,11\n11,10\n';

export async function startAccessFixtures(): Promise<AccessFixtures> {
  const stack = await startTestStack();
  const db = stack.core.db;
  const url = stack.url;
  const made = async (requester: Requester | null, userName: string, options: Parameters<typeof createToken>[0]) => {
    const { token, user } = await createToken(options);
    return clientOf({
      url,
      token,
      userId: user.id,
      userName,
      requester: requester ?? { key: userName, label: userName, roleInA: 'ADMIN', scope: 'ADMIN' },
    });
  };

  // The owner makes everything the requesters act on; its token is bound to A so what it creates lands there.
  const owner = await made(null, 'owner', { db, userName: 'owner', workspace: WORKSPACE_A, role: 'ADMIN', scopes: ['ADMIN'], bind: true });
  const clients: Record<string, AccessClient> = {};
  for (const requester of REQUESTERS) {
    const userName = `matrix-${requester.key}`;
    let options: Parameters<typeof createToken>[0];
    if (requester.boundToB) {
      await createToken({ db, userName, workspace: WORKSPACE_A, role: requester.roleInA!, tokenName: 'unused' });
      options = { db, userName, workspace: WORKSPACE_B, role: 'ADMIN', scopes: [requester.scope], bind: true };
    } else if (requester.roleInA === null) {
      // Only a member of B: it sees B, never A. The legacy admin keeps the old global flag.
      options = { db, userName, workspace: WORKSPACE_B, role: 'ADMIN', scopes: [requester.scope], admin: requester.legacyAdmin ?? false };
    } else {
      options = { db, userName, workspace: WORKSPACE_A, role: requester.roleInA, scopes: [requester.scope] };
    }
    clients[requester.key] = await made(requester, userName, options);
  }
  // Made once up front: fresh targets are made by concurrent cells, and concurrent upserts of one new row race.
  await createToken({ db, userName: 'victim', tokenName: 'victim', workspace: WORKSPACE_A, role: 'OPERATOR', scopes: ['RUN'], bind: true });
  await createToken({ db, userName: 'gamma-admin', workspace: 'gamma', role: 'ADMIN' });
  const a = await db.workspace.findUniqueOrThrow({ where: { name: WORKSPACE_A } });
  const b = await db.workspace.findUniqueOrThrow({ where: { name: WORKSPACE_B } });

  const mc = { name: `mc-matrix-${unique()}`, id: '' };
  mc.id = await createInstance(owner, 'montecarlo', mc.name);
  const km = { name: `km-matrix-${unique()}`, id: '' };
  km.id = await createInstance(owner, 'kmeans', km.name);
  // Constructed as a configure run would leave it, without the seconds an executed run costs here.
  await db.routineInstance.update({
    where: { id: rawIdOf(km.id) },
    data: { config: { k: 2, maxIterations: 100, seed: null }, constructedAt: new Date() },
  });
  const run1 = await createRun(owner, montecarloInput(mc.id));
  if (run1.status !== 'COMPLETED' || !run1.artifacts.length)
    throw new Error(`fixture run did not complete with an artifact: ${JSON.stringify(run1)}`);
  const draft = await createRun(owner, montecarloInput(mc.id, { start: false }));
  const uploaded = await uploadCsv(owner, km.id, 'points', POINTS_CSV);
  const dataset = (uploaded as { data?: { uploadDataset?: { dataset?: { id: string; path: string; columns: string[] } } } }).data
    ?.uploadDataset?.dataset;
  if (!dataset) throw new Error(`fixture upload failed: ${JSON.stringify(uploaded)}`);

  const runColumns = (
    await db.$queryRaw<{ column_name: string }[]>`
      SELECT column_name::text AS column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'RoutineRun'`
  ).map((row) => row.column_name);
  const overridden: Record<string, string> = {
    id: 'gen_random_uuid()',
    createdById: '$2::uuid',
    labels: '$3::text[]',
    workflowId: 'NULL',
    idempotencyKey: 'NULL',
  };
  const cloneSql =
    `INSERT INTO "RoutineRun" (${runColumns.map((c) => `"${c}"`).join(', ')}) ` +
    `SELECT ${runColumns.map((c) => overridden[c] ?? `"${c}"`).join(', ')} FROM "RoutineRun" WHERE id = $1::uuid RETURNING id`;
  const run1Id = rawIdOf(run1.id);
  const cloneRun = async (createdById: string, labels: string[]) => {
    // A copy of a finished run: as readable and deletable as the original, without executing anything.
    const [row] = await db.$queryRawUnsafe<{ id: string }[]>(cloneSql, run1Id, createdById, labels);
    return globalIdOf('RoutineRun', row.id);
  };
  const run2 = await cloneRun(owner.userId, []);
  const deletedRun = await cloneRun(owner.userId, []);
  await must(
    owner,
    `mutation($input: DeleteRunInput!) { deleteRun(input: $input) { ${PAYLOAD_ERRORS} } }`,
    { input: { id: deletedRun, reason: 'matrix fixture' } },
    'deleteRun',
  );

  const makeSchedule = async () => {
    const made = await must(
      owner,
      `mutation($input: CreateScheduleInput!) { createSchedule(input: $input) { ${PAYLOAD_ERRORS} ... on CreateScheduleSuccess { schedule { id } } } }`,
      { input: scheduleInput(mc.id) },
      'createSchedule',
    );
    return (made as { schedule: { id: string } }).schedule.id;
  };
  const schedule = await makeSchedule();

  let freshCount = 0;
  const fresh: FreshTargets = {
    schedule: makeSchedule,
    finishedRun: (createdById, label) => cloneRun(createdById, label ? [label] : []),
    async draft() {
      return (await createRun(owner, montecarloInput(mc.id, { start: false, executionType: 'BACKGROUND' }))).id;
    },
    instance: () => createInstance(owner, 'montecarlo', `fresh-${unique()}`),
    async dataset() {
      const uploaded = await uploadCsv(owner, km.id, `fresh-${unique()}`, POINTS_CSV);
      const made = (uploaded as { data?: { uploadDataset?: { dataset?: { id: string } } } }).data?.uploadDataset?.dataset;
      if (!made) throw new Error(`fresh data set upload failed: ${JSON.stringify(uploaded)}`);
      return made.id;
    },
    async userName() {
      const userName = `fresh-user-${++freshCount}-${unique()}`;
      await createToken({ db, userName, workspace: 'gamma', role: 'VIEWER' });
      return userName;
    },
    async memberName() {
      const userName = `fresh-member-${++freshCount}-${unique()}`;
      await createToken({ db, userName, workspace: WORKSPACE_A, role: 'VIEWER' });
      return userName;
    },
    async boundTokenId() {
      const { apiToken } = await createToken({
        db,
        userName: 'victim',
        tokenName: `victim-${unique()}`,
        workspace: WORKSPACE_A,
        role: 'OPERATOR',
        scopes: ['RUN'],
        bind: true,
      });
      return globalIdOf('ApiToken', apiToken.id);
    },
  };

  return {
    stack,
    db,
    url,
    a: { id: a.id, gid: globalIdOf('Workspace', a.id) },
    b: { id: b.id, gid: globalIdOf('Workspace', b.id) },
    owner,
    clients,
    mc,
    km,
    runs: [run1.id, run2],
    draft: draft.id,
    artifact: { gid: run1.artifacts[0].id, id: rawIdOf(run1.artifacts[0].id) },
    dataset: { gid: dataset.id, id: rawIdOf(dataset.id), path: dataset.path, columns: dataset.columns },
    deletedRun,
    schedule,
    fresh,
    stop: () => stack.stop(),
  };
}
