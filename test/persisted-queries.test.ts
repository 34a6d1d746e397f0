// Automatic persisted queries over real HTTP (issue 17): the APQ round trip (not found → register →
// hash only, POST and GET), a hash that does not match refused, and a persisted document going
// through the token check and every limit like any other.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PERSISTED_QUERY_LIMITS } from '../src/http/persisted-queries.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';

interface GraphQLErrorJson {
  message: string;
  extensions?: Record<string, unknown>;
}
interface Answer {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests walk each answer's data by its query's path
  body: { data?: Record<string, any> | null; errors?: GraphQLErrorJson[] };
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const persisted = (hash: string) => ({ persistedQuery: { version: 1, sha256Hash: hash } });

describe('automatic persisted queries', () => {
  let stack: TestStack;
  let token: string;

  async function post(body: unknown, authorization: string | null = `Bearer ${token}`): Promise<Answer> {
    const response = await fetch(stack.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json, application/json',
        ...(authorization ? { authorization } : {}),
      },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Answer['body'] };
  }

  async function get(params: Record<string, unknown>): Promise<Answer> {
    const url = new URL(stack.url);
    for (const [name, value] of Object.entries(params))
      url.searchParams.set(name, typeof value === 'string' ? value : JSON.stringify(value));
    const response = await fetch(url, { headers: { accept: 'application/graphql-response+json', authorization: `Bearer ${token}` } });
    return { status: response.status, body: (await response.json()) as Answer['body'] };
  }

  beforeAll(async () => {
    stack = await startTestStack({ withWorker: false });
    token = stack.admin.options.token!;
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('answers an unknown hash PersistedQueryNotFound, then runs it by hash once registered (POST and GET)', async () => {
    const query = 'query PersistedViewer($first: Int!) { viewer { name } runs(first: $first) { totalCount } }';
    const hash = sha256(query);
    const variables = { first: 3 };

    const unknown = await post({ extensions: persisted(hash), variables });
    expect(unknown.status).toBe(404);
    expect(unknown.body.errors).toEqual([expect.objectContaining({ message: 'PersistedQueryNotFound' })]);
    expect(unknown.body.errors![0].extensions?.code).toBe('PERSISTED_QUERY_NOT_FOUND');

    const registered = await post({ query, extensions: persisted(hash), variables });
    expect(registered.status).toBe(200);
    expect(registered.body.errors).toBeUndefined();
    expect(registered.body.data).toEqual({ viewer: { name: 'admin' }, runs: { totalCount: 0 } });

    const byHash = await post({ extensions: persisted(hash), variables });
    expect(byHash).toEqual(registered);
    const byHashOverGet = await get({ extensions: persisted(hash), variables });
    expect(byHashOverGet.status).toBe(200);
    expect(byHashOverGet.body).toEqual(registered.body);
  });

  it('refuses a hash that is not the document’s, persisting nothing', async () => {
    const query = '{ viewer { name } }';
    const wrongHash = sha256(`${query} `);
    const mismatch = await post({ query, extensions: persisted(wrongHash) });
    expect(mismatch.status).toBe(400);
    expect(mismatch.body.data).toBeUndefined();
    expect(mismatch.body.errors).toHaveLength(1);
    expect(mismatch.body.errors![0].extensions?.code).toBe('PERSISTED_QUERY_MISMATCH');
    expect(mismatch.body.errors![0].message).toMatch(/^PersistedQueryMismatch: extensions\.persistedQuery\.sha256Hash is not the SHA-256/);
    // The wrong hash was not kept for the document.
    expect((await post({ extensions: persisted(wrongHash) })).body.errors![0].extensions?.code).toBe('PERSISTED_QUERY_NOT_FOUND');

    const notHex = await post({ query, extensions: persisted('ABC') });
    expect(notHex.status).toBe(400);
    expect(notHex.body.errors![0].message).toMatch(/sha256Hash: expected the lowercase hex SHA-256 digest/);
  });

  it('checks the token before anything: no token is a 401, not a lookup', async () => {
    const query = '{ viewer { name } }';
    for (const body of [{ extensions: persisted(sha256(query)) }, { query, extensions: persisted(sha256(query)) }]) {
      const anonymous = await post(body, null);
      expect(anonymous.status).toBe(401);
      expect(anonymous.body.errors![0].extensions?.code).toBe('UNAUTHENTICATED');
    }
    // The anonymous registration above persisted nothing.
    expect((await post({ extensions: persisted(sha256(query)) })).body.errors![0].extensions?.code).toBe('PERSISTED_QUERY_NOT_FOUND');
  });

  it('applies the cost limit to a persisted document, literal or through its variables', async () => {
    const literal = '{ runs(first: 2147483648) { totalCount } }';
    const registering = await post({ query: literal, extensions: persisted(sha256(literal)) });
    expect(registering.body.errors![0].message).toMatch(/Query Cost limit of \d+ exceeded/);
    for (let attempt = 0; attempt < 2; attempt++) {
      const byHash = await post({ extensions: persisted(sha256(literal)) });
      expect(byHash.status).toBe(400);
      expect(byHash.body.errors![0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(byHash.body.errors![0].message).toMatch(/Query Cost limit of \d+ exceeded/);
    }

    const withVariable = 'query CostThroughVariable($n: Int!) { runs(first: $n) { totalCount } }';
    const fits = await post({ query: withVariable, extensions: persisted(sha256(withVariable)), variables: { n: 5 } });
    expect(fits.body).toEqual({ data: { runs: { totalCount: 0 } } });
    // The same persisted document, cheap then too costly then cheap again: each request is counted with its own variables.
    for (const [n, refused] of [
      [5, false],
      [2147483647, true],
      [5, false],
      [2147483647, true],
    ] as const) {
      const answer = await post({ extensions: persisted(sha256(withVariable)), variables: { n } });
      if (refused) expect(answer.body.errors![0].message, `n = ${n}`).toMatch(/Query Cost limit of \d+ exceeded/);
      else expect(answer.body, `n = ${n}`).toEqual({ data: { runs: { totalCount: 0 } } });
    }
  });

  it('refuses to persist a document over its size limit, and a persisted mutation over GET', async () => {
    const padding = 'x'.repeat(PERSISTED_QUERY_LIMITS.maxDocumentBytes);
    const large = `{ viewer { name } } # ${padding}`;
    const tooLarge = await post({ query: large, extensions: persisted(sha256(large)) });
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.body.errors![0].extensions?.code).toBe('PERSISTED_QUERY_TOO_LARGE');
    expect(tooLarge.body.errors![0].message).toMatch(/the document has \d+ bytes; at most 65536 are persisted/);
    expect((await post({ extensions: persisted(sha256(large)) })).body.errors![0].extensions?.code).toBe('PERSISTED_QUERY_NOT_FOUND');

    const mutation = 'mutation PersistedDryRun { cancelRuns(input: { filter: { status: [RUNNING] }, dryRun: true }) { __typename } }';
    await post({ query: mutation, extensions: persisted(sha256(mutation)) });
    const overGet = await get({ extensions: persisted(sha256(mutation)) });
    expect(overGet.status).toBe(405);
  });
});
