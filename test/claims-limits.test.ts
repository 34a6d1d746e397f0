// The documented limits, checked at their edges on a real API: a signed download link
// works until its expiry and not after, and GRAPHQL_MAX_COST / GRAPHQL_MAX_DIRECTIVES (set here to
// small values) answer a document just under the limit and refuse one just over it, saying why.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEnv } from '../src/env.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';

const MAX_COST = 1000;
const MAX_DIRECTIVES = 5;

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({
    withWorker: false,
    env: { GRAPHQL_MAX_COST: String(MAX_COST), GRAPHQL_MAX_DIRECTIVES: String(MAX_DIRECTIVES) },
  });
});

afterAll(async () => {
  await stack?.stop();
});

interface Answer {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the tests walk answer data by path
  body: { data?: Record<string, any> | null; errors?: Array<{ message: string; extensions?: { code?: string } }> };
}

async function post(query: string, variables: Record<string, unknown> = {}): Promise<Answer> {
  const response = await fetch(stack.url, {
    method: 'POST',
    // The GraphQL-over-HTTP media type: a refused document is a 400 (with only application/json, a 200).
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
      authorization: `Bearer ${stack.admin.options.token}`,
    },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, body: (await response.json()) as Answer['body'] };
}

async function data(query: string, variables: Record<string, unknown> = {}) {
  const { body } = await post(query, variables);
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data!;
}

describe('a signed download link', () => {
  let artifactId: string;

  beforeAll(async () => {
    const created = await data(`mutation { createInstance(input: { routineName: "kmeans", name: "links" }) {
      ... on CreateInstanceSuccess { instance { id } } } }`);
    const instanceId = created.createInstance.instance.id;
    const run = `mutation($input: CreateRunInput!) { createRun(input: $input) {
      __typename ... on CreateRunSuccess { run { status artifacts { id name } } } ... on Error { message } } }`;
    await data(run, { input: { instanceId, methodName: 'configure', executionType: 'IN_MEMORY', inputs: { k: 2, seed: 1 } } });
    const fit = await data(run, {
      input: {
        instanceId,
        methodName: 'fit',
        executionType: 'IN_MEMORY',
        storeArtifacts: true,
        inputs: {
          points: [
            [0, 0],
            [0, 1],
            [9, 9],
            [9, 10],
          ],
        },
      },
    });
    expect(fit.createRun.run.status).toBe('COMPLETED');
    artifactId = fit.createRun.run.artifacts.find((a: { name: string }) => a.name === 'centroids').id;
  });

  it('opens the data until the expiry its caller chose, and is refused (401) from then on; the expiry cannot be moved', async () => {
    // The caller chooses the lifetime (expiresInSeconds, default 3600): a short one is the real thing.
    const linked = await data(`query($id: ID!) { node(id: $id) { ... on Artifact { downloadUrl(expiresInSeconds: 2) } } }`, {
      id: artifactId,
    });
    const url = new URL(linked.node.downloadUrl);
    const expiresAt = Number(url.searchParams.get('expires')) * 1000;
    expect(expiresAt).toBeGreaterThan(Date.now());

    const before = await fetch(url);
    expect(before.status).toBe(200);
    expect((await before.text()).length).toBeGreaterThan(0);

    await new Promise((resolve) => setTimeout(resolve, expiresAt - Date.now() + 1100));
    const after = await fetch(url);
    expect(after.status).toBe(401);
    await after.body?.cancel();

    // The signature covers the expiry: a link pushed into the future is refused too.
    const extended = new URL(url);
    extended.searchParams.set('expires', String(Math.floor(Date.now() / 1000) + 3600));
    const forged = await fetch(extended);
    expect(forged.status).toBe(401);
    await forged.body?.cancel();
  });
});

describe(`GRAPHQL_MAX_COST (${MAX_COST} here)`, () => {
  const page = (first: number) => `{ runs(first: ${first}) { totalCount edges { cursor node { id name status } } } }`;
  const foundCost = (answer: Answer) => {
    const match = /^Query Cost limit of (\d+) exceeded, found (\d+)/.exec(answer.body.errors?.[0]?.message ?? '');
    return match ? { limit: Number(match[1]), found: Number(match[2]) } : null;
  };

  it('answers the largest page that fits and refuses one more item with GRAPHQL_VALIDATION_FAILED naming limit and cost', async () => {
    // The cost is linear in `first`: learn it from two refusals, then aim at the limit.
    const [small, large] = [await post(page(1000)), await post(page(2000))];
    const [c1, c2] = [foundCost(small)!, foundCost(large)!];
    expect(c1.limit).toBe(MAX_COST);
    const perItem = (c2.found - c1.found) / 1000;
    const fixed = c1.found - perItem * 1000;
    expect(perItem).toBeGreaterThan(0);
    const fits = Math.floor((MAX_COST - fixed) / perItem);

    const under = await post(page(fits));
    expect(under.status).toBe(200);
    expect(under.body.errors).toBeUndefined();
    expect(under.body.data?.runs.totalCount).toBeGreaterThanOrEqual(0);

    const over = await post(page(fits + 1));
    expect(over.status).toBe(400);
    expect(over.body.data ?? null).toBeNull();
    expect(over.body.errors?.[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(foundCost(over)).toEqual({ limit: MAX_COST, found: fixed + perItem * (fits + 1) });
    expect(fixed + perItem * (fits + 1)).toBeGreaterThan(MAX_COST);

    // The same page size through a variable costs the same.
    const variable = `query($n: Int) { runs(first: $n) { totalCount edges { cursor node { id name status } } } }`;
    expect((await post(variable, { n: fits })).body.errors).toBeUndefined();
    expect(foundCost(await post(variable, { n: fits + 1 }))).toEqual({ limit: MAX_COST, found: fixed + perItem * (fits + 1) });
  });
});

describe(`GRAPHQL_MAX_DIRECTIVES (${MAX_DIRECTIVES} here)`, () => {
  // A directive may appear once per location, so each one sits on its own aliased field.
  const withDirectives = (count: number) =>
    `{ viewer { ${Array.from({ length: count }, (_, i) => `f${i}: name @include(if: true)`).join(' ')} } }`;

  it('answers a document with as many directives as the limit, and refuses one more with GRAPHQL_VALIDATION_FAILED', async () => {
    const under = await post(withDirectives(MAX_DIRECTIVES));
    expect(under.body.errors).toBeUndefined();
    expect(under.body.data).toEqual({ viewer: Object.fromEntries(Array.from({ length: MAX_DIRECTIVES }, (_, i) => [`f${i}`, 'admin'])) });

    const over = await post(withDirectives(MAX_DIRECTIVES + 1));
    expect(over.status).toBe(400);
    expect(over.body.data ?? null).toBeNull();
    expect(over.body.errors).toHaveLength(1);
    expect(over.body.errors?.[0]).toMatchObject({
      message: expect.stringMatching(new RegExp(`Directives limit of ${MAX_DIRECTIVES} exceeded`)),
      extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
    });
  });
});

describe('the limits by default', () => {
  it('are the documented defaults (docs/operations.md): GRAPHQL_MAX_COST 150000, GRAPHQL_MAX_DIRECTIVES 50', () => {
    const env = loadEnv({});
    expect(env.GRAPHQL_MAX_COST).toBe(150_000);
    expect(env.GRAPHQL_MAX_DIRECTIVES).toBe(50);
  });
});
