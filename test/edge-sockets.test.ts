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
      query: 'mutation($input: CreateInstanceInput!) { createInstance(input: $input) { ... on CreateInstanceSuccess { instance { id } } } }',
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
      socket.sendText(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}`, padding: 'x'.repeat(2 * 1024 * 1024) } }));
      const { code } = await socket.closeCode(10_000);
      socket.destroy();
      expect(code).toBe(1009);
      await healthy();
    });

    it('accepts a frame just under the cap', async () => {
      const socket = await RawWebSocket.connect({ url: wsUrl, protocol: PROTOCOL });
      socket.sendText(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}`, padding: 'x'.repeat(1000 * 1024) } }));
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

    it('refuses a connection_init with a bad token with 4403', async () => {
      const socket = await RawWebSocket.connect({ url: wsUrl, protocol: PROTOCOL });
      socket.sendText(JSON.stringify({ type: 'connection_init', payload: { authorization: 'Bearer rr_not-a-token' } }));
      const { code } = await socket.closeCode(10_000);
      socket.destroy();
      expect(code).toBe(4403);
    });
  });
});
