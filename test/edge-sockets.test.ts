// The socket and HTTP edge (issue 11, items 5, 6, 10): what a client may send before it is
// authenticated, how a bad subscribe is answered without hurting its socket, and arguments and
// uploads refused with errors that name them. All over real sockets and real HTTP.
import { randomUUID } from 'node:crypto';
import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './helpers/graphql.ts';
import { RawWebSocket } from './helpers/raw-websocket.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';

const PROTOCOL = 'graphql-transport-ws';

interface Answer {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests walk each answer's data by its query's path
  body: { data?: Record<string, any> | null; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> };
}

describe('the socket and HTTP edge', () => {
  let stack: TestStack;
  let token: string;
  let instanceId: string;
  let wsUrl: string;

  async function post(body: unknown, headers: Record<string, string> = {}, withToken = true): Promise<Answer> {
    const response = await fetch(stack.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json, application/json',
        ...(withToken ? { authorization: `Bearer ${token}` } : {}),
        ...headers,
      },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Answer['body'] };
  }

  async function healthy() {
    const answer = await post({ query: '{ viewer { name } }' });
    expect(answer.body).toEqual({ data: { viewer: { name: 'admin' } } });
  }

  beforeAll(async () => {
    stack = await startTestStack({ withWorker: false });
    token = stack.admin.options.token!;
    wsUrl = stack.url.replace(/^http/, 'ws');
    const created = await post({
      query:
        'mutation($input: CreateInstanceInput!) { createInstance(input: $input) { ... on CreateInstanceSuccess { instance { id } } } }',
      variables: { input: { routineName: 'montecarlo', name: 'Edge' } },
    });
    instanceId = created.body.data!.createInstance.instance.id;
  });
  afterAll(async () => {
    await stack?.stop();
  });

  describe('graphql-ws before authentication (item 5)', () => {
    it('closes a socket that sends a frame over WS_MAX_PAYLOAD_BYTES (1 MiB) with 1009, and the server stays healthy', async () => {
      const socket = await RawWebSocket.connect({ url: wsUrl, protocol: PROTOCOL });
      // A connection_init carrying 2 MiB, before any token was checked.
      socket.sendText(
        JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}`, padding: 'x'.repeat(2 * 1024 * 1024) } }),
      );
      const { code } = await socket.closeCode(10_000);
      socket.destroy();
      expect(code).toBe(1009);
      await healthy();
    });

    it('accepts a frame just under the cap', async () => {
      const socket = await RawWebSocket.connect({ url: wsUrl, protocol: PROTOCOL });
      socket.sendText(
        JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}`, padding: 'x'.repeat(1000 * 1024) } }),
      );
      socket.sendText(JSON.stringify({ type: 'complete', id: 'nothing' }));
      // Authenticated and kept: the socket is not closed (until we close it).
      await expect(socket.closeCode(1500)).rejects.toThrow('no close frame');
      socket.destroy();
    });

    it('closes an unauthenticated socket that sends no connection_init within the wait with 4408', async () => {
      const socket = await RawWebSocket.connect({ url: wsUrl, protocol: PROTOCOL });
      const started = Date.now();
      const { code } = await socket.closeCode(10_000);
      socket.destroy();
      expect(code).toBe(4408);
      expect(Date.now() - started).toBeLessThan(5000);
    });

    it('refuses a subscribe before connection_ack with 4401, and answers nothing of the schema', async () => {
      const socket = await RawWebSocket.connect({ url: wsUrl, protocol: PROTOCOL });
      socket.sendText(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: '{ viewer { nam } }' } }));
      const { code, textFrames } = await socket.closeCode(10_000);
      socket.destroy();
      expect(code).toBe(4401);
      expect(textFrames).toBe(0);
    });

    it('closes a socket that sends a message only a server sends (connection_ack, next) with 4400, not 4500', async () => {
      for (const message of [{ type: 'connection_ack' }, { id: '1', type: 'next', payload: {} }]) {
        const socket = await RawWebSocket.connect({ url: wsUrl, protocol: PROTOCOL });
        socket.sendText(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }));
        socket.sendText(JSON.stringify(message));
        const { code } = await socket.closeCode(10_000);
        socket.destroy();
        expect(code, message.type).toBe(4400);
      }
      await healthy();
    });

    it('refuses a connection_init with a bad token with 4403', async () => {
      const socket = await RawWebSocket.connect({ url: wsUrl, protocol: PROTOCOL });
      socket.sendText(JSON.stringify({ type: 'connection_init', payload: { authorization: 'Bearer rr_not-a-token' } }));
      const { code } = await socket.closeCode(10_000);
      socket.destroy();
      expect(code).toBe(4403);
    });
  });

  describe('a bad subscribe on a socket with healthy subscriptions (item 6)', () => {
    /** Subscribes and collects what comes: results, or the errors of an `error` message. */
    function subscribe(client: Client, query: string, variables: Record<string, unknown> = {}) {
      const results: unknown[] = [];
      const done = new Promise<{ errors?: Array<{ message: string; extensions?: Record<string, unknown> }>; closed?: number }>(
        (resolve) => {
          client.subscribe(
            { query, variables },
            {
              next: (result) => results.push(result),
              error: (error) => {
                if (Array.isArray(error)) resolve({ errors: error });
                else resolve({ closed: (error as { code?: number }).code ?? -1 });
              },
              // A request error found only when executing (variables) comes as a result with errors.
              complete: () => resolve({ errors: results.flatMap((result) => (result as { errors?: never[] }).errors ?? []) }),
            },
          );
        },
      );
      return { results, done };
    }

    it('answers each bad operation with an `error` message naming the problem and keeps the socket and its subscriptions', async () => {
      const client = stack.admin.ws();
      let closedWith: number | null = null;
      client.on('closed', (event) => (closedWith = (event as { code: number }).code));
      const healthy = subscribe(client, 'subscription { runsUpdated { sequence run { id name } } }');
      await waitFor(async () => stack.api.runUpdates.size === 1, { timeoutMs: 15_000, what: 'the healthy subscription' });

      const aliases = Array.from({ length: 40 }, (_, i) => `a${i}: runsUpdated { sequence }`).join(' ');
      const tokens = `subscription { runsUpdated { ${Array.from({ length: 6000 }, () => '__typename').join(' ')} } }`;
      const bad: Array<{ query: string; variables?: Record<string, unknown>; says: RegExp }> = [
        { query: 'subscription { runsUpdated { sequence ', says: /Syntax Error/ },
        { query: tokens, says: /token/i },
        { query: `subscription { ${aliases} }`, says: /alias/i },
        { query: 'subscription { runsUpdated { nope } }', says: /Cannot query field "nope"/ },
        {
          query: 'subscription($f: RunFilter) { runsUpdated(filter: $f) { sequence } }',
          variables: { f: { status: ['NOPE'] } },
          says: /\$f/,
        },
      ];
      for (const { query, variables, says } of bad) {
        const answer = await subscribe(client, query, variables).done;
        expect(answer.closed, query.slice(0, 60)).toBeUndefined();
        expect(answer.errors?.length, query.slice(0, 60)).toBeGreaterThan(0);
        expect(answer.errors!.map((error) => error.message).join(' '), query.slice(0, 60)).toMatch(says);
        for (const error of answer.errors!) expect(error.extensions?.code).not.toBe('INTERNAL_SERVER_ERROR');
      }
      expect(closedWith).toBeNull();

      // The healthy subscription still delivers on the same socket.
      const name = `after-bad-${randomUUID()}`;
      await post({
        query: 'mutation($input: CreateRunInput!) { createRun(input: $input) { __typename } }',
        variables: { input: { instanceId, methodName: 'estimatePi', start: false, name, inputs: { samples: 1000 } } },
      });
      await waitFor(async () => healthy.results.some((result) => JSON.stringify(result).includes(name)), {
        timeoutMs: 15_000,
        what: 'the healthy subscription to deliver after the bad ones',
      });
      expect(closedWith).toBeNull();
      await client.dispose();
    });
  });

  describe('authentication before parsing and validation (item 10)', () => {
    it('answers an unauthenticated request 401 UNAUTHENTICATED and nothing about the schema', async () => {
      for (const query of ['{ viewer { nam } }', '{ viewer { name } ', '{ __schema { types { name } } }', '{ viewer { name } }']) {
        const answer = await post({ query }, {}, false);
        expect(answer.status, query).toBe(401);
        expect(answer.body.data, query).toBeUndefined();
        expect(answer.body.errors, query).toHaveLength(1);
        expect(answer.body.errors![0].extensions?.code, query).toBe('UNAUTHENTICATED');
        expect(JSON.stringify(answer.body), query).not.toMatch(/Did you mean|Cannot query|Syntax Error|viewer|__schema/);
      }
      // The same with a token that is not one.
      const forged = await post({ query: '{ viewer { nam } }' }, { authorization: 'Bearer rr_forged' }, false);
      expect(forged.status).toBe(401);
      expect(JSON.stringify(forged.body)).not.toMatch(/Did you mean/);
      // …and with a token, validation answers as before.
      const known = await post({ query: '{ viewer { nam } }' });
      expect(known.body.errors?.[0]?.message).toMatch(/Did you mean "name"\?/);
    });

    it('answers an unauthenticated GraphQL-over-SSE request 401 before validating it', async () => {
      const response = await fetch(stack.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
        body: JSON.stringify({ query: 'subscription { runsUpdated { nam } }' }),
      });
      const text = await response.text();
      expect(response.status).toBe(401);
      expect(text).toMatch(/UNAUTHENTICATED/);
      expect(text).not.toMatch(/Did you mean|Cannot query/);
    });

    it('answers an unauthenticated GET 401 before validating it', async () => {
      const url = new URL(stack.url);
      url.searchParams.set('query', '{ viewer { nam } }');
      const response = await fetch(url, { headers: { accept: 'application/json' } });
      const text = await response.text();
      expect(response.status).toBe(401);
      expect(text).not.toMatch(/Did you mean/);
    });
  });

  describe('downloadUrl(expiresInSeconds) and the multipart map (item 10)', () => {
    let datasetId: string;
    beforeAll(async () => {
      const uploaded = await uploadForm({ map: ['variables.input.file'], name: 'edge-data' });
      expect(uploaded.body.errors).toBeUndefined();
      datasetId = uploaded.body.data!.uploadDataset.dataset.id;
    });

    async function uploadForm({ map, name }: { map: string[]; name: string }): Promise<Answer> {
      const form = new FormData();
      form.append(
        'operations',
        JSON.stringify({
          query: `mutation($input: UploadDatasetInput!) { uploadDataset(input: $input) {
            __typename ... on UploadDatasetSuccess { dataset { id } } ... on Error { message } } }`,
          variables: { input: { instanceId, name, file: null }, note: null },
        }),
      );
      form.append('map', JSON.stringify({ 0: map }));
      form.append('0', new Blob(['a,b\n1,2\n'], { type: 'text/csv' }), `${name}.csv`);
      const response = await fetch(stack.url, { method: 'POST', body: form, headers: { authorization: `Bearer ${token}` } });
      return { status: response.status, body: (await response.json()) as Answer['body'] };
    }

    async function downloadUrl(expiresInSeconds: number) {
      return post({
        query: 'query($id: ID!, $s: Int) { node(id: $id) { ... on Dataset { downloadUrl(expiresInSeconds: $s) } } }',
        variables: { id: datasetId, s: expiresInSeconds },
      });
    }

    it('refuses expiresInSeconds outside 1 … 604800 with BAD_USER_INPUT naming the argument and the range', async () => {
      for (const seconds of [0, -5, 1_000_000_000, 604_801]) {
        const answer = await downloadUrl(seconds);
        expect(answer.body.errors, String(seconds)).toHaveLength(1);
        expect(answer.body.errors![0].extensions?.code, String(seconds)).toBe('BAD_USER_INPUT');
        expect(answer.body.errors![0].message, String(seconds)).toMatch(/expiresInSeconds/);
        expect(answer.body.errors![0].message, String(seconds)).toMatch(/604800/);
      }
      for (const seconds of [1, 604_800]) {
        const answer = await downloadUrl(seconds);
        expect(answer.body.errors, String(seconds)).toBeUndefined();
        const expires = Number(new URL(answer.body.data!.node.downloadUrl).searchParams.get('expires'));
        expect(Math.abs(expires - (Math.floor(Date.now() / 1000) + seconds))).toBeLessThanOrEqual(2);
      }
    });

    it('answers a multipart map entry that points at a non-file position with an error naming the entry', async () => {
      for (const entry of ['variables.input.name', 'variables.input.instanceId', 'variables.note', 'variables.input.extra']) {
        const answer = await uploadForm({ map: [entry], name: `wrong-${randomUUID().slice(0, 8)}` });
        const text = JSON.stringify(answer.body);
        expect(answer.status, entry).toBe(400);
        expect(answer.body.data ?? null, entry).toBeNull();
        expect(answer.body.errors?.[0]?.extensions?.code, entry).toBe('BAD_USER_INPUT');
        expect(answer.body.errors?.[0]?.message, entry).toContain(`"${entry}"`);
        expect(text, entry).not.toMatch(/\[object|File \{|Blob|_size|\{\}/);
      }
      // Nothing was stored by the refused uploads.
      const count = await stack.core.db.dataset.count();
      expect(count).toBe(1);
    });
  });
});
