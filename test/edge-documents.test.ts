// What an outside attacker sent to the HTTP edge (issue 11 follow-ups): broken multipart maps,
// documents nested deeper than graphql-js's parser can recurse, and the GraphQL limits' errors.
// Every answer is a client error with a code; none is INTERNAL_SERVER_ERROR. Real HTTP, real sockets.
import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

const UPLOAD = 'mutation($f: File!, $id: ID!){ uploadDataset(input:{instanceId:$id,name:"q",file:$f}){ __typename } }';

describe('documents and multipart bodies at the HTTP edge', () => {
  let stack: TestStack;
  let token: string;
  let instanceId: string;

  async function post(body: unknown): Promise<Answer> {
    const response = await fetch(stack.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json, application/json',
        authorization: `Bearer ${token}`,
      },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Answer['body'] };
  }

  async function multipart({ map, files = ['0'], query = UPLOAD }: { map: string; files?: string[]; query?: string }): Promise<Answer> {
    const form = new FormData();
    form.append('operations', JSON.stringify({ query, variables: { f: null, id: instanceId } }));
    form.append('map', map);
    for (const name of files) form.append(name, new Blob(['a,b\n1,2\n'], { type: 'text/csv' }), 'ok.csv');
    const response = await fetch(stack.url, { method: 'POST', body: form, headers: { authorization: `Bearer ${token}` } });
    return { status: response.status, body: (await response.json()) as Answer['body'] };
  }

  /** Over graphql-ws: the errors of an `error` message, or of a result. */
  function overSocket(client: Client, query: string, variables?: Record<string, unknown>): Promise<GraphQLErrorJson[]> {
    const errors: GraphQLErrorJson[] = [];
    return new Promise((resolve, reject) => {
      client.subscribe(
        { query, variables },
        {
          next: (result) => errors.push(...((result.errors ?? []) as GraphQLErrorJson[])),
          error: (error) => (Array.isArray(error) ? resolve(error) : reject(error)),
          complete: () => resolve(errors),
        },
      );
    });
  }

  async function datasetCount() {
    return stack.core.db.dataset.count();
  }

  beforeAll(async () => {
    stack = await startTestStack({ withWorker: false });
    token = stack.admin.options.token!;
    const created = await post({
      query:
        'mutation($input: CreateInstanceInput!) { createInstance(input: $input) { ... on CreateInstanceSuccess { instance { id } } } }',
      variables: { input: { routineName: 'montecarlo', name: 'Edge documents' } },
    });
    instanceId = created.body.data!.createInstance.instance.id;
  });
  afterAll(async () => {
    await stack?.stop();
  });

  describe('multipart maps (item 1)', () => {
    it('still stores an upload whose map is right', async () => {
      const answer = await multipart({ map: JSON.stringify({ 0: ['variables.f'] }) });
      expect(answer.body).toEqual({ data: { uploadDataset: { __typename: 'UploadDatasetSuccess' } } });
    });

    const deep = '['.repeat(5000) + '"variables.f"' + ']'.repeat(5000);
    const broken: Array<{ map: string; files?: string[]; says: RegExp; entry?: string }> = [
      { map: '{"0":[1]}', says: /"variables\.…"/, entry: '0' },
      { map: '{"0":[null]}', says: /"variables\.…"/, entry: '0' },
      { map: '{"0":[["variables.f"]]}', says: /"variables\.…"/, entry: '0' },
      { map: '{"0":[{"a":1}]}', says: /"variables\.…"/, entry: '0' },
      { map: `{"0":${deep}}`, says: /"variables\.…"/, entry: '0' },
      { map: '{"0":"variables.f"}', says: /array/, entry: '0' },
      { map: '{"0":', says: /map.*JSON/ },
      { map: '["variables.f"]', says: /map.*object/ },
      { map: '{"0":["variables.__proto__.x"]}', says: /__proto__/, entry: 'variables.__proto__.x' },
      { map: '{"0":["variables.constructor.prototype.x"]}', says: /constructor/, entry: 'variables.constructor.prototype.x' },
      { map: '{"0":["query"]}', says: /"variables\.…"/, entry: 'query' },
      { map: '{"0":["variables.f"],"1":["variables.f"]}', says: /no file part "1"/, entry: '1' },
    ];
    for (const { map, files, says, entry } of broken) {
      it(`refuses the map ${map.slice(0, 50)} with 400 BAD_USER_INPUT naming the problem`, async () => {
        const before = await datasetCount();
        const answer = await multipart({ map, files });
        expect(answer.status).toBe(400);
        expect(answer.body.errors).toHaveLength(1);
        const [error] = answer.body.errors!;
        expect(error.extensions?.code).toBe('BAD_USER_INPUT');
        expect(error.message).toMatch(says);
        if (entry) expect(error.extensions?.mapEntry).toBe(entry);
        expect(await datasetCount()).toBe(before);
      });
    }

    it('names the File variable that no map entry gives a file', async () => {
      const before = await datasetCount();
      const answer = await multipart({ map: '{}' });
      expect(answer.body.data ?? null).toBeNull();
      expect(answer.body.errors).toHaveLength(1);
      const [error] = answer.body.errors!;
      expect(error.extensions).toMatchObject({ code: 'BAD_USER_INPUT', mapEntry: 'variables.f' });
      expect(error.message).toMatch(/\$f/);
      expect(error.message).toMatch(/no file/);
      expect(await datasetCount()).toBe(before);
    });
  });

  describe('documents nested deeper than the parser can recurse (item 2)', () => {
    const documents = {
      list: `query{ runs(filter:{labelsAll:${'['.repeat(2000)}"a"${']'.repeat(2000)}}){ totalCount } }`,
      object: `mutation{ createRun(input:{instanceId:"x",methodName:"m",attributes:${'{a:'.repeat(2000)}1${'}'.repeat(2000)}}){ __typename } }`,
      selection: `query{ ${'a{'.repeat(1990)} b ${'}'.repeat(1990)} }`,
    };

    for (const [name, query] of Object.entries(documents)) {
      it(`refuses ${name} nesting over HTTP with a code and the limit`, async () => {
        const answer = await post({ query });
        expect(answer.status).toBe(400);
        expect(answer.body.errors).toHaveLength(1);
        const [error] = answer.body.errors!;
        expect(error.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
        expect(error.message).toMatch(/nested deeper than 100/);
      });
    }

    it('accepts strings and comments holding brackets, and nesting up to the limit', async () => {
      const answer = await post({
        query: `# ${'{'.repeat(500)}\nquery{ runs(filter:{search:"\\"${'['.repeat(150)}", routineName:"""${'('.repeat(150)}\\""""""}){ totalCount } }`,
      });
      expect(answer.body).toEqual({ data: { runs: { totalCount: 0 } } });
      const atLimit = await post({ query: `query{ runs(filter:{labelsAll:${'['.repeat(97)}"a"${']'.repeat(97)}}){ totalCount } }` });
      // Parsed, then refused by validation for what it is: a list where a String goes.
      expect(atLimit.body.errors?.[0].message ?? '').not.toMatch(/nested deeper/);
      expect(atLimit.body.errors?.[0]).toMatchObject({
        message: expect.stringMatching(/String/),
        extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
      });
    });

    it('refuses them over graphql-ws per operation, keeping the socket', async () => {
      const client = stack.admin.ws();
      try {
        for (const query of Object.values(documents)) {
          const errors = await overSocket(client, query);
          expect(errors).toHaveLength(1);
          expect(errors[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
          expect(errors[0].message).toMatch(/nested deeper than 100/);
        }
        expect(await overSocket(client, '{ viewer { name } }')).toEqual([]);
      } finally {
        await client.dispose();
      }
    });
  });

  describe('limit errors carry a code and are not syntax errors (item 3)', () => {
    const overLimit: Record<string, { query: string; says: RegExp }> = {
      cost: { query: '{ runs(first:2147483648){ totalCount } }', says: /Query Cost limit of \d+ exceeded/ },
      depth: { query: `{ ${'viewer { '.repeat(14)} name ${'} '.repeat(14)} }`, says: /[Dd]epth limit/ },
      aliases: { query: `{ ${Array.from({ length: 40 }, (_, i) => `a${i}: viewer { name }`).join(' ')} }`, says: /[Aa]liases limit/ },
      directives: { query: `{ viewer { name ${'@skip(if: false) '.repeat(60)} } }`, says: /[Dd]irectives limit/ },
      tokens: { query: `{ viewer { ${'__typename '.repeat(6000)} } }`, says: /Token limit of 5000/ },
    };

    for (const [name, { query, says }] of Object.entries(overLimit)) {
      it(`answers the ${name} limit over HTTP with GRAPHQL_VALIDATION_FAILED, not a syntax error`, async () => {
        const answer = await post({ query });
        expect(answer.body.errors?.length).toBeGreaterThan(0);
        for (const error of answer.body.errors!) {
          expect(error.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
          expect(error.message).not.toMatch(/Syntax Error/);
        }
        expect(answer.body.errors!.map((error) => error.message).join(' ')).toMatch(says);
        expect(answer.status).toBe(400);
      });
    }

    it('answers every limit over graphql-ws with GRAPHQL_VALIDATION_FAILED', async () => {
      const client = stack.admin.ws();
      try {
        for (const [name, { query, says }] of Object.entries(overLimit)) {
          const errors = await overSocket(client, query);
          expect(errors.length, name).toBeGreaterThan(0);
          for (const error of errors) {
            expect(error.extensions?.code, name).toBe('GRAPHQL_VALIDATION_FAILED');
            expect(error.message, name).not.toMatch(/Syntax Error/);
          }
          expect(errors.map((error) => error.message).join(' '), name).toMatch(says);
        }
      } finally {
        await client.dispose();
      }
    });

    it('counts `first: $n` at its value, as it counts a literal (found from outside: 38 MB answered)', async () => {
      const nested = (first: string) =>
        `${Array.from({ length: 30 }, (_, i) => `a${i}: runs(first: ${first}) { edges { node { id instance { runs(first: ${first}) { edges { node { id name status } } } } } } }`).join(' ')}`;
      const literal = await post({ query: `{ ${nested('100')} }` });
      expect(literal.body.errors?.[0]).toMatchObject({ extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } });
      const variable = await post({ query: `query($f: Int) { ${nested('$f')} }`, variables: { f: 100 } });
      expect(variable.body.data ?? null).toBeNull();
      expect(variable.body.errors?.[0]).toMatchObject({ extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } });
      expect(variable.body.errors?.[0].message).toMatch(/^Query Cost limit of 150000 exceeded, found \d+\./);
      // The same document fits with a small page, and one without the variable is counted as before.
      const small = await post({ query: `query($f: Int) { ${nested('$f')} }`, variables: { f: 2 } });
      expect(small.body.errors).toBeUndefined();
      const unset = await post({ query: `query($f: Int) { ${nested('$f')} }` });
      expect(unset.body.errors).toBeUndefined();
      // Over graphql-ws too.
      const client = stack.admin.ws();
      try {
        const errors = await overSocket(client, `query($f: Int) { ${nested('$f')} }`, { f: 100 });
        expect(errors[0]).toMatchObject({ extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } });
      } finally {
        await client.dispose();
      }
    });

    it('gives a true syntax error GRAPHQL_PARSE_FAILED over HTTP and graphql-ws', async () => {
      const answer = await post({ query: '{ viewer { name ' });
      expect(answer.body.errors?.[0]).toMatchObject({ extensions: { code: 'GRAPHQL_PARSE_FAILED' } });
      expect(answer.body.errors?.[0].message).toMatch(/^Syntax Error/);
      const client = stack.admin.ws();
      try {
        const errors = await overSocket(client, '{ viewer { name ');
        expect(errors[0]).toMatchObject({ extensions: { code: 'GRAPHQL_PARSE_FAILED' } });
      } finally {
        await client.dispose();
      }
    });
  });
});
