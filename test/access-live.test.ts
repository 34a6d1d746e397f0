// Access on the live paths, over real sockets: a revoked or expired token, or a member removed from
// its workspace, ends an open graphql-ws socket (4403) and an open SSE stream within
// AUTH_CACHE_MS + 1 s and runs nothing more; runsUpdated and runUpdated never carry a run of a
// workspace the subscriber cannot see, not even as matchesFilter: false; a bearer download of
// another workspace's artifact is a 404, like one that does not exist. A refused token is told why
// (missing, unknown, revoked, expired) in the same words over HTTP, downloads and graphql-ws; a
// revocation or membership change made through this API process closes its open sockets before
// its mutation answers.
import { createClient, type Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createToken, revokeToken, TOKEN_REFUSAL_MESSAGES, type TokenRefusalReason } from '../src/auth/tokens.ts';
import { graphql } from './gql/index.ts';
import { ACCESS_CHANGED_REASON } from '../src/http/live-access.ts';
import { GraphQLTestClient, waitFor } from './helpers/graphql.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';

const AUTH_CACHE_MS = 1000;
/** The promised bound, plus what a busy test machine adds to a timer and a statement. */
const BOUND_MS = AUTH_CACHE_MS + 1000;
const SLACK_MS = 400;

const LiveCreateInstance = graphql(`
  mutation LiveCreateInstance($input: CreateInstanceInput!) {
    createInstance(input: $input) {
      __typename
      ... on CreateInstanceSuccess {
        instance {
          id
        }
      }
      ... on Error {
        message
      }
    }
  }
`);

const LiveCreateRun = graphql(`
  mutation LiveCreateRun($input: CreateRunInput!) {
    createRun(input: $input) {
      __typename
      ... on CreateRunSuccess {
        run {
          id
          status
          artifacts {
            id
            name
            downloadUrl(expiresInSeconds: 60)
          }
        }
      }
      ... on Error {
        message
      }
    }
  }
`);

const RUNS_UPDATED = /* GraphQL */ `
  subscription LiveRunsUpdated($filter: RunFilter, $since: DateTime) {
    runsUpdated(filter: $filter, since: $since) {
      run {
        id
      }
      matchesFilter
    }
  }
`;
const RUN_UPDATED = /* GraphQL */ `
  subscription LiveRunUpdated($id: ID!) {
    runUpdated(id: $id) {
      sequence
    }
  }
`;
const EPOCH = '2000-01-01T00:00:00.000Z';

interface Team {
  client: GraphQLTestClient;
  token: string;
  tokenId: string;
  instanceId: string;
  /** Runs this team created, each with its artifacts. */
  runs: Map<string, Array<{ id: string; name: string; downloadUrl: string }>>;
}

/** A socket with its close event observable, authenticated in connection_init (with no token when null). */
function openSocket(stack: TestStack, token: string | null) {
  let resolveClosed!: (event: { code: number; reason: string; at: number }) => void;
  const closed = new Promise<{ code: number; reason: string; at: number }>((resolve) => (resolveClosed = resolve));
  const client: Client = createClient({
    url: stack.url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: false,
    connectionParams: token === null ? {} : { authorization: `Bearer ${token}` },
    // A refused socket is what some tests expect: not worth graphql-ws's console.error.
    onNonLazyError: () => {},
    on: {
      closed: (event) => resolveClosed({ code: (event as CloseEvent).code, reason: String((event as CloseEvent).reason), at: Date.now() }),
    },
  });
  return { client, closed };
}

/** One query or mutation over a socket: its results, and the error it ended with (a CloseEvent when the socket closed). */
function executeOn(client: Client, query: string, variables: Record<string, unknown> = {}) {
  return new Promise<{ results: Array<{ data?: Record<string, unknown> | null; errors?: unknown }>; error: unknown }>((resolve) => {
    const results: Array<{ data?: Record<string, unknown> | null; errors?: unknown }> = [];
    client.subscribe(
      { query, variables },
      {
        next: (result) => void results.push(result as never),
        error: (error) => resolve({ results, error }),
        complete: () => resolve({ results, error: null }),
      },
    );
  });
}

/**
 * A bare graphql-transport-ws socket, acknowledged: unlike graphql-ws's client it never reconnects,
 * so an operation sent on it runs on this very connection or not at all.
 */
async function rawSocket(stack: TestStack, token: string) {
  const ws = new WebSocket(stack.url.replace(/^http/, 'ws'), 'graphql-transport-ws');
  const messages: Array<{ id?: string; type: string; payload?: unknown }> = [];
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  ws.on('message', (data) => messages.push(JSON.parse(String(data))));
  await new Promise((resolve) => ws.once('open', resolve));
  ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }));
  await waitFor(async () => messages.some((m) => m.type === 'connection_ack'));
  return {
    messages,
    closed,
    /** Sends an operation if the socket is still open here (a socket seen closed runs nothing anyway). */
    send(id: string, query: string, variables: Record<string, unknown> = {}) {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ id, type: 'subscribe', payload: { query, variables } }));
    },
    answers: (id: string) => messages.filter((m) => m.id === id && m.type === 'next'),
  };
}

/** A raw GraphQL request over HTTP. */
async function post(stack: TestStack, token: string | null, query: string, variables: Record<string, unknown> = {}) {
  const response = await fetch(stack.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token === null ? {} : { authorization: `Bearer ${token}` }) },
    body: JSON.stringify({ query, variables }),
  });
  return { response, body: (await response.json()) as { data?: Record<string, { __typename: string }> | null; errors?: unknown[] } };
}

const globalId = (type: string, id: string) => Buffer.from(`${type}:${id}`).toString('base64');

const REVOKE = /* GraphQL */ `
  mutation LiveRevoke($id: ID!) {
    revokeApiToken(input: { id: $id }) {
      __typename
    }
  }
`;
const ARTIFACT_LINK = /* GraphQL */ `
  query LiveArtifactLink($id: ID!) {
    node(id: $id) {
      ... on Artifact {
        downloadUrl(expiresInSeconds: 600)
      }
    }
  }
`;
const REMOVE_MEMBER = /* GraphQL */ `
  mutation LiveRemoveMember($workspaceId: ID!, $userName: String!) {
    removeWorkspaceMember(input: { workspaceId: $workspaceId, userName: $userName }) {
      __typename
    }
  }
`;
const CREATE_INSTANCE = /* GraphQL */ `
  mutation LiveCreateAfter($name: String!) {
    createInstance(input: { routineName: "kmeans", name: $name }) {
      __typename
    }
  }
`;
const VIEWER = '{ viewer { name } }';

/** Subscribes and keeps every result (and whether the server completed the subscription). */
function subscribe(client: Client, query: string, variables: Record<string, unknown>) {
  const state = { results: [] as Array<{ data?: Record<string, unknown> | null; errors?: unknown }>, done: false, error: null as unknown };
  const stop = client.subscribe(
    { query, variables },
    {
      next: (result) => void state.results.push(result as never),
      error: (error) => {
        state.error = error;
        state.done = true;
      },
      complete: () => (state.done = true),
    },
  );
  return { state, stop };
}

/** An SSE subscription; `ended` resolves with the time the server ended the stream. */
async function openSse(stack: TestStack, token: string, query: string, variables: Record<string, unknown>) {
  const controller = new AbortController();
  const response = await fetch(stack.url, {
    method: 'POST',
    signal: controller.signal,
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  expect(response.status).toBe(200);
  const events: string[] = [];
  const ended = (async () => {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of response.body! as unknown as AsyncIterable<Uint8Array>) events.push(decoder.decode(chunk));
    } catch {
      return { at: Date.now(), byServer: false };
    }
    return { at: Date.now(), byServer: true };
  })();
  return { events, ended, abort: () => controller.abort() };
}

describe('access on live paths (graphql-ws, SSE, downloads)', () => {
  let stack: TestStack;
  let alice: Team;
  let bob: Team;

  async function team(userName: string, workspace: string): Promise<Team> {
    const { token, apiToken } = await createToken({ db: stack.core.db, userName, workspace, role: 'ADMIN' });
    const client = new GraphQLTestClient({ url: stack.url, token });
    // The same instance name in both workspaces: names are unique per workspace only.
    const created = await client.query(LiveCreateInstance, { input: { routineName: 'kmeans', name: 'Same' } });
    if (created.createInstance.__typename !== 'CreateInstanceSuccess') throw new Error(JSON.stringify(created));
    return { client, token, tokenId: apiToken.id, instanceId: created.createInstance.instance.id, runs: new Map() };
  }

  async function run(of: Team, methodName: 'configure' | 'fit') {
    const inputs =
      methodName === 'configure'
        ? { k: 2, seed: 1 }
        : {
            points: [
              [0, 0],
              [0, 1],
              [5, 5],
              [5, 6],
            ],
          };
    const result = await of.client.query(LiveCreateRun, {
      input: { instanceId: of.instanceId, methodName, executionType: 'IN_MEMORY', storeArtifacts: true, inputs },
    });
    if (result.createRun.__typename !== 'CreateRunSuccess') throw new Error(JSON.stringify(result.createRun));
    of.runs.set(result.createRun.run.id, result.createRun.run.artifacts as never);
    return result.createRun.run.id;
  }

  /** A fresh token of a user, keeping its memberships (the team's own token stays usable for the other tests). */
  const tokenOf = (userName: string, expiresAt: Date | null = null) =>
    createToken({ db: stack.core.db, userName, tokenName: 'live', expiresAt });

  beforeAll(async () => {
    stack = await startTestStack({ withWorker: false, env: { AUTH_CACHE_MS: String(AUTH_CACHE_MS) } });
    alice = await team('alice', 'team-a');
    bob = await team('bob', 'team-b');
    await run(alice, 'configure');
    await run(bob, 'configure');
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('runsUpdated of two workspaces never cross: not in the replay, not live, not as matchesFilter: false', async () => {
    const a = openSocket(stack, alice.token);
    const b = openSocket(stack, bob.token);
    // Everything since long ago, and a filter naming the other's instance: both must stay empty of the other.
    const aliceAll = subscribe(a.client, RUNS_UPDATED, { since: EPOCH });
    const bobAll = subscribe(b.client, RUNS_UPDATED, { since: EPOCH });
    const aliceOnBob = subscribe(a.client, RUNS_UPDATED, { filter: { instanceId: bob.instanceId }, since: EPOCH });
    // The same (empty) filter from alice and bob is two feeds, one per set of visible workspaces.
    await waitFor(async () => aliceAll.state.results.length >= 1 && bobAll.state.results.length >= 1);
    // One run each, at once (a user runs one IN_MEMORY run at a time).
    const live = await Promise.all([run(alice, 'configure'), run(bob, 'configure')]);
    await waitFor(async () => {
      const ids = (state: typeof aliceAll.state) =>
        new Set(state.results.map((r) => (r.data?.runsUpdated as { run: { id: string } }).run.id));
      return ids(aliceAll.state).has(live[0]) && ids(bobAll.state).has(live[1]);
    });
    // Let any late notice of bob's runs reach alice's feeds too.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const idsOf = (state: typeof aliceAll.state) =>
      state.results.map((r) => (r.data?.runsUpdated as { run: { id: string } } | undefined)?.run.id);
    for (const id of idsOf(aliceAll.state)) expect(alice.runs.has(id!)).toBe(true);
    for (const id of idsOf(bobAll.state)) expect(bob.runs.has(id!)).toBe(true);
    expect(aliceOnBob.state.results.filter((r) => r.data)).toEqual([]);
    expect(stack.api.runUpdates.size).toBe(3);
    for (const s of [aliceAll, bobAll, aliceOnBob]) s.stop();
    await a.client.dispose();
    await b.client.dispose();
  });

  it('runUpdated delivers nothing of a run the subscriber cannot see', async () => {
    const bobRun = [...bob.runs.keys()][0];
    const aliceRun = [...alice.runs.keys()][0];
    const a = openSocket(stack, alice.token);
    const own = subscribe(a.client, RUN_UPDATED, { id: aliceRun });
    const other = subscribe(a.client, RUN_UPDATED, { id: bobRun });
    await waitFor(async () => own.state.results.length >= 1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(other.state.results.filter((r) => r.data?.runUpdated)).toEqual([]);
    own.stop();
    other.stop();
    await a.client.dispose();
  });

  it('a revoked token closes its open socket with 4403 and ends its SSE stream within AUTH_CACHE_MS + 1 s', async () => {
    const { token, apiToken } = await tokenOf('alice');
    // The token is remembered by this process (AUTH_CACHE_MS) before the revoke, the hard case.
    const socket = openSocket(stack, token);
    const sub = subscribe(socket.client, RUNS_UPDATED, { since: EPOCH });
    const sse = await openSse(stack, token, RUNS_UPDATED, { since: EPOCH });
    await waitFor(async () => sub.state.results.length >= 1 && sse.events.some((e) => e.includes('event: next')));

    const revokedAt = Date.now();
    expect(await revokeToken({ db: stack.core.db, idOrSecret: apiToken.id })).toBe(true);
    const [closed, ended] = await Promise.all([socket.closed, sse.ended]);
    expect(closed.code).toBe(4403);
    expect(closed.at - revokedAt).toBeLessThanOrEqual(BOUND_MS + SLACK_MS);
    expect(ended.byServer).toBe(true);
    expect(ended.at - revokedAt).toBeLessThanOrEqual(BOUND_MS + SLACK_MS);
    expect(sse.events.join('')).toContain('event: complete');

    // Nothing more runs with it: a new socket is refused, and so is an HTTP request.
    const again = openSocket(stack, token);
    const refused = subscribe(again.client, RUNS_UPDATED, {});
    expect((await again.closed).code).toBe(4403);
    expect(refused.state.results).toEqual([]);
    const http = await fetch(stack.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(http.status).toBe(401);
    await again.client.dispose();
    await socket.client.dispose();
  });

  it('an expiring token closes its socket and ends its SSE stream once it expires, and runs nothing after', async () => {
    const expiresAt = new Date(Date.now() + 3000);
    const { token } = await tokenOf('alice', expiresAt);
    const socket = openSocket(stack, token);
    const sub = subscribe(socket.client, RUNS_UPDATED, { since: EPOCH });
    const sse = await openSse(stack, token, RUNS_UPDATED, { since: EPOCH });
    await waitFor(async () => sub.state.results.length >= 1 && sse.events.some((e) => e.includes('event: next')));
    // Still open shortly before it expires.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, expiresAt.getTime() - Date.now() - 500)));
    expect(sub.state.done).toBe(false);
    const [closed, ended] = await Promise.all([socket.closed, sse.ended]);
    expect(closed.code).toBe(4403);
    expect(closed.at).toBeGreaterThanOrEqual(expiresAt.getTime());
    expect(closed.at - expiresAt.getTime()).toBeLessThanOrEqual(BOUND_MS + SLACK_MS);
    expect(ended.byServer).toBe(true);
    expect(ended.at - expiresAt.getTime()).toBeLessThanOrEqual(BOUND_MS + SLACK_MS);
    await socket.client.dispose();
  });

  it('a member removed from the workspace has its open socket closed (its access changed)', async () => {
    const { token } = await createToken({ db: stack.core.db, userName: 'carol', workspace: 'team-a', role: 'VIEWER' });
    const socket = openSocket(stack, token);
    const sub = subscribe(socket.client, RUNS_UPDATED, { since: EPOCH });
    await waitFor(async () => sub.state.results.length >= 1);
    // Carol sees alice's runs and only those.
    for (const r of sub.state.results) expect(alice.runs.has((r.data!.runsUpdated as { run: { id: string } }).run.id)).toBe(true);
    const carol = await stack.core.db.user.findUniqueOrThrow({ where: { name: 'carol' } });
    const workspace = await stack.core.db.workspace.findUniqueOrThrow({ where: { name: 'team-a' } });
    const removedAt = Date.now();
    await stack.core.db.workspaceMember.delete({ where: { workspaceId_userId: { workspaceId: workspace.id, userId: carol.id } } });
    const closed = await socket.closed;
    expect(closed.code).toBe(4403);
    expect(closed.at - removedAt).toBeLessThanOrEqual(BOUND_MS + SLACK_MS);
    await socket.client.dispose();
  });

  it('a refused token is told why, in the same words over HTTP, downloads and graphql-ws', async () => {
    const revoked = await tokenOf('alice');
    await revokeToken({ db: stack.core.db, idOrSecret: revoked.apiToken.id });
    const expired = await tokenOf('alice', new Date(Date.now() - 1000));
    const download = `${new URL(stack.url).origin}/artifacts/00000000-0000-4000-8000-000000000000/data`;
    const cases: Array<[string | null, TokenRefusalReason]> = [
      [null, 'MISSING'],
      ['rr_never-issued', 'UNKNOWN'],
      [revoked.token, 'REVOKED'],
      [expired.token, 'EXPIRED'],
    ];
    for (const [token, reason] of cases) {
      const words = TOKEN_REFUSAL_MESSAGES[reason];
      const http = await post(stack, token, '{ __typename }');
      expect(http.response.status, reason).toBe(401);
      expect(http.response.headers.get('www-authenticate'), reason).toBe('Bearer');
      expect(http.body.errors, reason).toEqual([
        expect.objectContaining({ message: words, extensions: { code: 'UNAUTHENTICATED', reason } }),
      ]);
      expect(http.body.data ?? null, reason).toBeNull();

      const file = await fetch(download, { headers: token === null ? {} : { authorization: `Bearer ${token}` } });
      expect(file.status, reason).toBe(401);
      const fileError = ((await file.json()) as { errors: Array<{ message: string; extensions: unknown }> }).errors[0];
      expect(fileError.extensions, reason).toEqual({ code: 'UNAUTHENTICATED', reason });
      // Without a token a signed link would do as well: the download says so.
      if (reason === 'MISSING') expect(fileError.message).toMatch(/signed link/);
      else expect(fileError.message, reason).toBe(words);

      const socket = openSocket(stack, token);
      expect(await socket.closed, reason).toMatchObject({ code: 4403, reason: words });
      await socket.client.dispose();
    }
  });

  it('revokeApiToken over GraphQL closes the token’s open socket here before it answers: an operation sent right after is not run', async () => {
    const { token, apiToken } = await tokenOf('alice');
    const socket = await rawSocket(stack, token);
    socket.send('before', VIEWER);
    await waitFor(async () => socket.answers('before').length === 1);
    expect(socket.answers('before')[0].payload).toEqual({ data: { viewer: { name: 'alice' } } });

    const revoke = await post(stack, alice.token, REVOKE, { id: globalId('ApiToken', apiToken.id) });
    expect(revoke.body.data?.revokeApiToken.__typename).toBe('RevokeApiTokenSuccess');
    // At once, well inside a sweep interval (AUTH_CACHE_MS): only the in-process re-check can refuse it.
    socket.send('after', CREATE_INSTANCE, { name: 'after-revoke' });
    expect(await socket.closed).toEqual({ code: 4403, reason: TOKEN_REFUSAL_MESSAGES.REVOKED });
    expect(socket.answers('after')).toEqual([]);
    expect(await stack.core.db.routineInstance.count({ where: { name: 'after-revoke' } })).toBe(0);
  });

  it('a socket that revokes its own token gets the answer, then is closed with 4403', async () => {
    const { token, apiToken } = await tokenOf('alice');
    const socket = openSocket(stack, token);
    const revoke = await executeOn(socket.client, REVOKE, { id: globalId('ApiToken', apiToken.id) });
    expect(revoke.results).toEqual([{ data: { revokeApiToken: { __typename: 'RevokeApiTokenSuccess' } } }]);
    expect(await socket.closed).toMatchObject({ code: 4403, reason: TOKEN_REFUSAL_MESSAGES.REVOKED });
    await socket.client.dispose();
  });

  it('removeWorkspaceMember over GraphQL closes the member’s open socket here before it answers', async () => {
    const { token } = await createToken({ db: stack.core.db, userName: 'erin', workspace: 'team-a', role: 'OPERATOR' });
    const socket = await rawSocket(stack, token);
    const workspace = await stack.core.db.workspace.findUniqueOrThrow({ where: { name: 'team-a' } });

    const removed = await post(stack, alice.token, REMOVE_MEMBER, { workspaceId: globalId('Workspace', workspace.id), userName: 'erin' });
    expect(removed.body.data?.removeWorkspaceMember.__typename).toBe('RemoveWorkspaceMemberSuccess');
    socket.send('after', VIEWER);
    expect(await socket.closed).toEqual({ code: 4403, reason: ACCESS_CHANGED_REASON });
    expect(socket.answers('after')).toEqual([]);
  });

  it('a bearer download of another workspace’s artifact is 404, like a missing one; a signed link acts with the token that made it', async () => {
    const fit = await run(bob, 'fit');
    const artifact = bob.runs.get(fit)!.find((a) => a.name === 'clustered_data')!;
    const link = new URL(artifact.downloadUrl);
    const bare = `${link.origin}${link.pathname}`;
    const download = (token: string, url = bare) => fetch(url, { headers: { authorization: `Bearer ${token}` } });

    const own = await download(bob.token);
    expect(own.status).toBe(200);
    const ownBody = await own.text();
    const other = await download(alice.token);
    expect(other.status).toBe(404);
    const rawArtifactId = Buffer.from(artifact.id, 'base64').toString().split(':')[1];
    expect(bare).toContain(rawArtifactId);
    const missing = await download(alice.token, bare.replace(rawArtifactId, '00000000-0000-4000-8000-000000000000'));
    expect(missing.status).toBe(404);
    expect(await other.text()).toBe(await missing.text());
    // Without a bearer token the signed link alone opens it…
    const { token: linkToken } = await createToken({ db: stack.core.db, userName: 'bob', tokenName: 'links' });
    const asked = await post(stack, linkToken, ARTIFACT_LINK, { id: artifact.id });
    const signedUrl = (asked.body.data?.node as unknown as { downloadUrl: string }).downloadUrl;
    const signed = await fetch(signedUrl);
    expect(signed.status).toBe(200);
    expect(await signed.text()).toBe(ownBody);
    // …signed with its token, which no one can drop or swap…
    const dropped = new URL(signedUrl);
    dropped.searchParams.delete('token');
    expect((await fetch(dropped)).status).toBe(401);
    const swapped = new URL(signedUrl);
    swapped.searchParams.set('token', '00000000-0000-4000-8000-000000000000');
    expect((await fetch(swapped)).status).toBe(401);
    // …and dead with it: a revoked token's links open nothing, and say why.
    expect(await revokeToken({ db: stack.core.db, idOrSecret: linkToken })).toBe(true);
    const afterRevoke = await fetch(signedUrl);
    expect(afterRevoke.status).toBe(401);
    const refusal = (await afterRevoke.json()) as { errors: { message: string; extensions: { reason: string } }[] };
    expect(refusal.errors[0].extensions.reason).toBe('REVOKED');
    expect(refusal.errors[0].message).toMatch(/link/);
  });
});
