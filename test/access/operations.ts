// Every operation of the permission matrix, performed over real HTTP, graphql-ws or SSE as one
// requester, and what that requester observed: allowed, forbidden (a ForbiddenError naming a role
// or scope), invisible (null / NotFoundError / absent / 404 / no event) or invalid (ValidationError).
// Anything else (a GraphQL error, an unexpected type) is an `error` with its detail, never a pass.
import { GraphQLTestClient } from '../helpers/graphql.ts';
import {
  POINTS_CSV,
  montecarloInput,
  rawIdOf,
  scheduleInput,
  type AccessClient,
  type AccessFixtures,
  type WireResult,
} from '../helpers/access.ts';
import type { OperationName, Outcome } from './matrix.ts';

export interface Observation {
  outcome: Outcome | 'error';
  detail?: string;
  /** A ForbiddenError's `requiredRole/requiredScope` (`-` for null), checked against the table. */
  requirement?: string;
}

export interface Operation {
  perform(client: AccessClient, fx: AccessFixtures): Promise<Observation>;
}

const ERRORS = '__typename ... on Error { message ... on ForbiddenError { requiredRole requiredScope } }';
/** How long a subscription that should replay at once gets before "no event" counts as invisible. */
const NO_EVENT_MS = 2500;
const unique = () => Math.random().toString(36).slice(2, 10);

function error(detail: string): Observation {
  return { outcome: 'error', detail: detail.slice(0, 300) };
}

function wireError(result: WireResult): Observation | null {
  if (result.errors?.length) return error(`${result.status} ${result.errors.map((e) => e.message).join('; ')}`);
  if (!result.data) return error(`${result.status} no data`);
  return null;
}

/** A mutation's (or union query's) result type as an outcome. */
function classifyPayload(
  payload: unknown,
  isAllowed: (payload: Record<string, unknown>) => Observation = () => ({ outcome: 'allowed' }),
): Observation {
  if (payload === null || payload === undefined) return { outcome: 'invisible', detail: 'null' };
  const p = payload as Record<string, unknown>;
  const type = String(p.__typename);
  if (type === 'ForbiddenError') {
    if (!p.requiredRole && !p.requiredScope) return error('ForbiddenError names neither requiredRole nor requiredScope');
    const requirement = `${String(p.requiredRole ?? '-')}/${String(p.requiredScope ?? '-')}`;
    return { outcome: 'forbidden', detail: requirement, requirement };
  }
  if (type === 'NotFoundError') return { outcome: 'invisible', detail: 'NotFoundError' };
  if (type === 'ValidationError') return { outcome: 'invalid', detail: String(p.message) };
  if (type.endsWith('Success') || type === 'RunComparison' || type === 'AuditEventConnection') return isAllowed(p);
  return error(`${type}: ${String(p.message ?? '')}`);
}

async function mutation(
  client: AccessClient,
  field: string,
  inputType: string,
  input: Record<string, unknown>,
  select = '',
): Promise<Observation> {
  const result = await client.gql(`mutation($input: ${inputType}!) { ${field}(input: $input) { ${ERRORS} ${select} } }`, { input });
  return wireError(result) ?? classifyPayload(result.data![field]);
}

/** A read that answers an object or null. */
async function nullable(client: AccessClient, query: string, variables: Record<string, unknown>, field: string): Promise<Observation> {
  const result = await client.gql(query, variables);
  return wireError(result) ?? (result.data![field] ? { outcome: 'allowed' } : { outcome: 'invisible', detail: 'null' });
}

/** A read where the target is either present or absent. */
async function presence(
  client: AccessClient,
  query: string,
  variables: Record<string, unknown>,
  present: (data: Record<string, unknown>) => boolean,
) {
  const result = await client.gql(query, variables);
  return (
    wireError(result) ?? (present(result.data!) ? { outcome: 'allowed' as const } : { outcome: 'invisible' as const, detail: 'absent' })
  );
}

function ids(connection: unknown): string[] {
  return ((connection as { edges?: { node: { id: string } }[] } | null)?.edges ?? []).map((edge) => edge.node.id);
}

/** The first result of a subscription over graphql-ws, or invisible when none comes (or it is refused as not found). */
async function firstOverWs(client: AccessClient, query: string, variables: Record<string, unknown>): Promise<Observation> {
  const ws = new GraphQLTestClient({ url: client.url, token: client.token }).ws();
  try {
    return await new Promise<Observation>((resolve) => {
      const timer = setTimeout(() => resolve({ outcome: 'invisible', detail: 'no event' }), NO_EVENT_MS);
      const finish = (observation: Observation) => {
        clearTimeout(timer);
        resolve(observation);
      };
      ws.subscribe(
        { query, variables },
        {
          next: (result) => {
            if (result.errors?.length) finish(notFoundOrError(result.errors));
            else finish(result.data ? { outcome: 'allowed' } : { outcome: 'invisible', detail: 'null' });
          },
          error: (e) => finish(notFoundOrError(Array.isArray(e) ? (e as WireError[]) : [{ message: String((e as Error)?.message ?? e) }])),
          complete: () => finish({ outcome: 'invisible', detail: 'completed without an event' }),
        },
      );
    });
  } finally {
    await ws.dispose();
  }
}

interface WireError {
  message: string;
  extensions?: { code?: unknown };
}

/** A subscription to something invisible fails exactly as one to an id that does not exist: NOT_FOUND. */
function notFoundOrError(errors: readonly WireError[]): Observation {
  const message = errors.map((e) => e.message).join('; ');
  return errors.every((e) => e.extensions?.code === 'NOT_FOUND') ? { outcome: 'invisible', detail: message.slice(0, 120) } : error(message);
}

/** The first result of a subscription over SSE (graphql-sse distinct connections, as yoga serves it). */
async function firstOverSse(client: AccessClient, query: string, variables: Record<string, unknown>): Promise<Observation> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), NO_EVENT_MS);
  try {
    const response = await fetch(client.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${client.token}` },
      body: JSON.stringify({ query, variables }),
      signal: abort.signal,
    });
    if (response.status === 404) return { outcome: 'invisible', detail: '404' };
    if (!response.ok || !response.body) return error(`SSE answered ${response.status}`);
    let buffer = '';
    const decoder = new TextDecoder();
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      for (const line of buffer.split('\n').slice(0, -1)) {
        if (!line.startsWith('data:')) continue;
        const data = line.slice('data:'.length).trim();
        if (!data.startsWith('{')) continue;
        const result = JSON.parse(data) as { data?: unknown; errors?: WireError[] };
        if (result.errors?.length) return notFoundOrError(result.errors);
        return result.data ? { outcome: 'allowed' } : { outcome: 'invisible', detail: 'null' };
      }
      buffer = buffer.slice(buffer.lastIndexOf('\n') + 1);
    }
    return { outcome: 'invisible', detail: 'stream ended without an event' };
  } catch (e) {
    if (abort.signal.aborted) return { outcome: 'invisible', detail: 'no event' };
    return error(String(e));
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
}

async function download(client: AccessClient, route: 'artifacts' | 'datasets', id: string): Promise<Observation> {
  const response = await fetch(`${new URL(client.url).origin}/${route}/${id}/data`, {
    headers: { authorization: `Bearer ${client.token}` },
  });
  await response.arrayBuffer();
  if (response.status === 200) return { outcome: 'allowed' };
  if (response.status === 404) return { outcome: 'invisible', detail: '404' };
  if (response.status === 403) return { outcome: 'forbidden', detail: '403' };
  return error(`download answered ${response.status}`);
}

const RUN_UPDATED = 'subscription($id: ID!) { runUpdated(id: $id) { sequence } }';
const RUNS_UPDATED =
  'subscription($filter: RunFilter, $since: DateTime) { runsUpdated(filter: $filter, since: $since) { sequence matchesFilter run { id } } }';
const LONG_AGO = '2000-01-01T00:00:00Z';

export const OPERATIONS: Record<OperationName, Operation> = {
  // ---- Queries
  'run(id)': { perform: (c, fx) => nullable(c, 'query($id: ID!) { run(id: $id) { id } }', { id: fx.runs[0] }, 'run') },
  'node(id) run': { perform: (c, fx) => nullable(c, 'query($id: ID!) { node(id: $id) { id } }', { id: fx.runs[0] }, 'node') },
  'nodes(ids) run+instance': {
    perform: async (c, fx) => {
      const result = await c.gql('query($ids: [ID!]!) { nodes(ids: $ids) { id } }', { ids: [fx.runs[0], fx.mc.id] });
      return wireError(result) ?? allOrNothing(result.data!.nodes as unknown[]);
    },
  },
  'runs edges': {
    perform: (c, fx) =>
      presence(c, 'query($f: RunFilter) { runs(filter: $f, first: 100) { edges { node { id } } } }', { f: { instanceId: fx.mc.id } }, (d) =>
        ids(d.runs).includes(fx.runs[0]),
      ),
  },
  'runs totalCount': {
    perform: (c, fx) =>
      presence(
        c,
        'query($f: RunFilter) { runs(filter: $f) { totalCount } }',
        { f: { instanceId: fx.mc.id } },
        (d) => (d.runs as { totalCount: number }).totalCount > 0,
      ),
  },
  'runs facets': {
    perform: (c, fx) =>
      presence(
        c,
        'query($f: RunFilter) { runs(filter: $f) { facets { status { status count } } } }',
        { f: { instanceId: fx.mc.id } },
        (d) => (d.runs as { facets: { status: { count: number }[] } }).facets.status.some((s) => s.count > 0),
      ),
  },
  instances: {
    perform: (c, fx) => presence(c, '{ instances(first: 100) { edges { node { id } } } }', {}, (d) => ids(d.instances).includes(fx.mc.id)),
  },
  'instance(name)': {
    perform: (c, fx) =>
      nullable(c, 'query($n: String!) { instance(name: $n, routineName: "montecarlo") { id } }', { n: fx.mc.name }, 'instance'),
  },
  'routines→instances→runs': {
    perform: async (c, fx) => {
      const result = await c.gql(
        '{ routines { instances(first: 100) { edges { node { id runs(first: 5) { totalCount edges { node { id } } } } } } } }',
      );
      const failed = wireError(result);
      if (failed) return failed;
      const instances = (
        result.data!.routines as { instances: { edges: { node: { id: string; runs: { totalCount: number } } }[] } }[]
      ).flatMap((r) => r.instances.edges.map((e) => e.node));
      const mc = instances.find((i) => i.id === fx.mc.id);
      if (!mc) return { outcome: 'invisible', detail: 'absent' };
      return mc.runs.totalCount > 0 ? { outcome: 'allowed' } : error('instance visible but its runs are not');
    },
  },
  compareRuns: {
    perform: async (c, fx) => {
      const result = await c.gql(`query($ids: [ID!]!) { compareRuns(ids: $ids) { ${ERRORS} } }`, { ids: fx.runs });
      return wireError(result) ?? classifyPayload(result.data!.compareRuns);
    },
  },
  'nodes(ids) artifact+dataset': {
    perform: async (c, fx) => {
      const result = await c.gql('query($ids: [ID!]!) { nodes(ids: $ids) { id } }', { ids: [fx.artifact.gid, fx.dataset.gid] });
      return wireError(result) ?? allOrNothing(result.data!.nodes as unknown[]);
    },
  },
  'workspace(id)': { perform: (c, fx) => nullable(c, 'query($id: ID!) { workspace(id: $id) { id } }', { id: fx.a.gid }, 'workspace') },
  workspaces: {
    perform: (c, fx) => presence(c, '{ workspaces { id } }', {}, (d) => (d.workspaces as { id: string }[]).some((w) => w.id === fx.a.gid)),
  },
  auditEvents: {
    perform: async (c, fx) => {
      const result = await c.gql(`query($w: ID!) { auditEvents(workspaceId: $w, first: 5) { ${ERRORS} } }`, { w: fx.a.gid });
      return wireError(result) ?? classifyPayload(result.data!.auditEvents);
    },
  },
  deletedRuns: {
    perform: (c, fx) =>
      presence(c, '{ deletedRuns(first: 100) { edges { node { runId } } } }', {}, (d) =>
        (d.deletedRuns as { edges: { node: { runId: string } }[] }).edges.some((edge) => edge.node.runId === fx.deletedRun),
      ),
  },
  // ---- Subscriptions (a finished run's events replay at once) and downloads
  'runUpdated ws': { perform: (c, fx) => firstOverWs(c, RUN_UPDATED, { id: fx.runs[0] }) },
  'runUpdated sse': { perform: (c, fx) => firstOverSse(c, RUN_UPDATED, { id: fx.runs[0] }) },
  'runsUpdated ws': { perform: (c, fx) => firstOverWs(c, RUNS_UPDATED, { filter: { instanceId: fx.mc.id }, since: LONG_AGO }) },
  'runsUpdated sse': { perform: (c, fx) => firstOverSse(c, RUNS_UPDATED, { filter: { instanceId: fx.mc.id }, since: LONG_AGO }) },
  'artifact download (bearer)': { perform: (c, fx) => download(c, 'artifacts', fx.artifact.id) },
  'dataset download (bearer)': { perform: (c, fx) => download(c, 'datasets', fx.dataset.id) },
  // ---- Schedules
  schedules: {
    perform: (c, fx) =>
      presence(c, '{ schedules(first: 100) { edges { node { id } } } }', {}, (d) => ids(d.schedules).includes(fx.schedule)),
  },
  'node(id) schedule': {
    perform: (c, fx) => nullable(c, 'query($id: ID!) { node(id: $id) { ... on Schedule { id } } }', { id: fx.schedule }, 'node'),
  },
  'createSchedule STANDARD': { perform: (c, fx) => mutation(c, 'createSchedule', 'CreateScheduleInput', scheduleInput(fx.mc.id)) },
  pauseSchedule: { perform: (c, fx) => mutation(c, 'pauseSchedule', 'PauseScheduleInput', { id: fx.schedule, paused: true }) },
  deleteSchedule: { perform: async (c, fx) => mutation(c, 'deleteSchedule', 'DeleteScheduleInput', { id: await fx.fresh.schedule() }) },
  // ---- Instances
  createInstance: {
    perform: (c, fx) =>
      mutation(c, 'createInstance', 'CreateInstanceInput', { workspaceId: fx.a.gid, name: `made-${unique()}`, routineName: 'montecarlo' }),
  },
  updateInstance: {
    perform: (c, fx) => mutation(c, 'updateInstance', 'UpdateInstanceInput', { id: fx.mc.id, description: `by ${c.userName}` }),
  },
  deleteInstance: { perform: async (c, fx) => mutation(c, 'deleteInstance', 'DeleteInstanceInput', { id: await fx.fresh.instance() }) },
  // ---- Runs (drafts: creating one checks the same permission without executing anything)
  'createRun STANDARD': { perform: (c, fx) => mutation(c, 'createRun', 'CreateRunInput', montecarloInput(fx.mc.id, { start: false })) },
  'createRun CONSTRUCTOR': {
    perform: (c, fx) =>
      mutation(c, 'createRun', 'CreateRunInput', {
        instanceId: fx.km.id,
        methodName: 'configure',
        inputs: { k: 2 },
        executionType: 'IN_MEMORY',
        start: false,
      }),
  },
  'createRun with data set input': {
    perform: (c, fx) =>
      mutation(c, 'createRun', 'CreateRunInput', {
        instanceId: fx.km.id,
        methodName: 'fit',
        inputs: { points: { path: fx.dataset.path, columns: fx.dataset.columns } },
        start: false,
      }),
  },
  startRun: { perform: async (c, fx) => mutation(c, 'startRun', 'StartRunInput', { id: await fx.fresh.draft() }) },
  setRunParameter: {
    perform: (c, fx) => mutation(c, 'setRunParameter', 'SetRunParameterInput', { id: fx.draft, name: 'samples', value: 500 }),
  },
  cancelRun: { perform: async (c, fx) => mutation(c, 'cancelRun', 'CancelRunInput', { id: await fx.fresh.draft(), reason: 'matrix' }) },
  rerunRun: { perform: (c, fx) => mutation(c, 'rerunRun', 'RerunRunInput', { id: fx.runs[0], start: false }) },
  'deleteRun own': { perform: async (c, fx) => mutation(c, 'deleteRun', 'DeleteRunInput', { id: await fx.fresh.finishedRun(c.userId) }) },
  'deleteRun other': {
    perform: async (c, fx) => mutation(c, 'deleteRun', 'DeleteRunInput', { id: await fx.fresh.finishedRun(fx.owner.userId) }),
  },
  'deleteRuns other': {
    perform: async (c, fx) => {
      const label = `bulk-${unique()}`;
      await fx.fresh.finishedRun(fx.owner.userId, label);
      const result = await c.gql(
        `mutation($input: DeleteRunsInput!) { deleteRuns(input: $input) { ${ERRORS} ... on DeleteRunsSuccess { matchedCount deletedCount } } }`,
        { input: { filter: { labelsAll: [label] }, dryRun: false } },
      );
      return (
        wireError(result) ??
        classifyPayload(result.data!.deleteRuns, (p) => {
          if (p.deletedCount === 1) return { outcome: 'allowed' };
          if (p.matchedCount === 0) return { outcome: 'invisible', detail: 'matched 0' };
          // Visible but skipped: a bulk delete passes over what it may not delete rather than failing.
          return { outcome: 'forbidden', detail: `matched ${String(p.matchedCount)}, deleted ${String(p.deletedCount)}` };
        })
      );
    },
  },
  cancelRuns: {
    perform: async (c, fx) => {
      const label = `cancel-${unique()}`;
      const draft = await fx.fresh.draft();
      await fx.db.routineRun.update({ where: { id: rawIdOf(draft) }, data: { labels: [label] } });
      const result = await c.gql(
        `mutation($input: CancelRunsInput!) { cancelRuns(input: $input) { ${ERRORS} ... on CancelRunsSuccess { matchedCount count } } }`,
        { input: { filter: { labelsAll: [label] }, dryRun: false } },
      );
      return (
        wireError(result) ??
        classifyPayload(result.data!.cancelRuns, (p) => {
          if (p.count === 1) return { outcome: 'allowed' };
          if (p.matchedCount === 0) return { outcome: 'invisible', detail: 'matched 0' };
          return { outcome: 'forbidden', detail: `matched ${String(p.matchedCount)}, cancelled ${String(p.count)}` };
        })
      );
    },
  },
  addRunLabels: {
    perform: (c, fx) => mutation(c, 'addRunLabels', 'AddRunLabelsInput', { id: fx.runs[0], labels: [`l-${c.requester.key}`] }),
  },
  removeRunLabels: {
    perform: (c, fx) => mutation(c, 'removeRunLabels', 'RemoveRunLabelsInput', { id: fx.runs[0], labels: ['not-there'] }),
  },
  setRunAttributes: {
    perform: (c, fx) => mutation(c, 'setRunAttributes', 'SetRunAttributesInput', { id: fx.runs[1], attributes: { by: c.requester.key } }),
  },
  patchRunAttributes: {
    perform: (c, fx) =>
      mutation(c, 'patchRunAttributes', 'PatchRunAttributesInput', { id: fx.runs[0], patch: { [c.requester.key]: true } }),
  },
  uploadDataset: {
    perform: async (c, fx) => {
      const form = new FormData();
      form.append(
        'operations',
        JSON.stringify({
          query: `mutation($input: UploadDatasetInput!) { uploadDataset(input: $input) { ${ERRORS} } }`,
          variables: { input: { instanceId: fx.km.id, name: `up-${unique()}`, file: null } },
        }),
      );
      form.append('map', JSON.stringify({ 0: ['variables.input.file'] }));
      form.append('0', new Blob([POINTS_CSV], { type: 'text/csv' }), 'points.csv');
      const response = await fetch(c.url, { method: 'POST', body: form, headers: { authorization: `Bearer ${c.token}` } });
      const result = { status: response.status, ...((await response.json()) as Omit<WireResult, 'status'>) };
      return wireError(result) ?? classifyPayload(result.data!.uploadDataset);
    },
  },
  deleteDataset: {
    perform: async (c, fx) => mutation(c, 'deleteDataset', 'DeleteDatasetInput', { id: await fx.fresh.dataset() }),
  },
  applyRetention: {
    perform: async (c, fx) => {
      const result = await c.gql(
        `mutation($input: ApplyRetentionInput!) { applyRetention(input: $input) { ${ERRORS} ... on ApplyRetentionSuccess { matchedCount } } }`,
        { input: { instanceId: fx.mc.id, olderThanDays: 0, dryRun: true } },
      );
      return (
        wireError(result) ??
        classifyPayload(result.data!.applyRetention, (p) =>
          (p.matchedCount as number) > 0 ? { outcome: 'allowed' } : { outcome: 'invisible', detail: 'matched 0' },
        )
      );
    },
  },
  // ---- Workspaces and tokens
  createWorkspace: { perform: (c) => mutation(c, 'createWorkspace', 'CreateWorkspaceInput', { name: `ws-${unique()}` }) },
  addWorkspaceMember: {
    perform: async (c, fx) =>
      mutation(c, 'addWorkspaceMember', 'AddWorkspaceMemberInput', {
        workspaceId: fx.a.gid,
        userName: await fx.fresh.userName(),
        role: 'VIEWER',
      }),
  },
  removeWorkspaceMember: {
    perform: async (c, fx) =>
      mutation(c, 'removeWorkspaceMember', 'RemoveWorkspaceMemberInput', { workspaceId: fx.a.gid, userName: await fx.fresh.memberName() }),
  },
  'createApiToken READ unbound': {
    perform: (c) => mutation(c, 'createApiToken', 'CreateApiTokenInput', { name: `t-${unique()}`, scopes: ['READ'] }),
  },
  'createApiToken READ bound to A': {
    perform: (c, fx) =>
      mutation(c, 'createApiToken', 'CreateApiTokenInput', { name: `t-${unique()}`, scopes: ['READ'], workspaceId: fx.a.gid }),
  },
  "revokeApiToken of another member's A-bound token": {
    perform: async (c, fx) => mutation(c, 'revokeApiToken', 'RevokeApiTokenInput', { id: await fx.fresh.boundTokenId() }),
  },
};

function allOrNothing(nodes: unknown[]): Observation {
  const present = nodes.filter(Boolean).length;
  if (present === nodes.length) return { outcome: 'allowed' };
  if (present === 0) return { outcome: 'invisible', detail: 'null' };
  return error(`${present} of ${nodes.length} visible`);
}
