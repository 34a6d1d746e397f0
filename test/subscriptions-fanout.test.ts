// The graphql-ws server built for fan-out (src/http/graphql-ws-server.ts): identical
// subscriptions share one execution and one serialization, each subscriber still gets its own
// message id (whatever characters it holds), and a socket that stops answering pings is dropped.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { graphql } from './gql/index.ts';
import { waitFor } from './helpers/graphql.ts';
import { RawWebSocket } from './helpers/raw-websocket.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';

const FanCreateInstance = graphql(`
  mutation FanCreateInstance($input: CreateInstanceInput!) {
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
const FanCreateRun = graphql(`
  mutation FanCreateRun($input: CreateRunInput!) {
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
const FanAddLabels = graphql(`
  mutation FanAddLabels($input: AddRunLabelsInput!) {
    addRunLabels(input: $input) {
      __typename
      ... on Error {
        message
      }
    }
  }
`);

const QUERY = 'subscription($id: ID!) { runUpdated(id: $id, afterSequence: 0) { sequence type detail } }';

interface NextMessage {
  id: string;
  type: string;
  payload: { data: { runUpdated: { sequence: number; type: string; detail: unknown } } };
}

describe('graphql-ws fan-out', () => {
  let stack: TestStack;
  let runId: string;
  beforeAll(async () => {
    stack = await startTestStack({ withWorker: false, env: { WS_KEEPALIVE_MS: '300' } });
    const instance = await stack.admin.query(FanCreateInstance, { input: { routineName: 'montecarlo', name: 'fan' } });
    if (instance.createInstance.__typename !== 'CreateInstanceSuccess') throw new Error('instance');
    const run = await stack.admin.query(FanCreateRun, {
      input: { instanceId: instance.createInstance.instance.id, methodName: 'estimatePi', start: false, inputs: { samples: 1000 } },
    });
    if (run.createRun.__typename !== 'CreateRunSuccess') throw new Error(JSON.stringify(run.createRun));
    runId = run.createRun.run.id;
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('shares one execution and one payload, and sends each subscriber its own id', async () => {
    // Ids a client may pick: quotes, backslashes, non-ASCII, a JSON line separator.
    const ids = ['plain', 'with "quotes" and \\ backslash', 'ünïcödé ✓', 'line\u2028separator'];
    const texts = new Map<string, string[]>(ids.map((id) => [id, []]));
    const sockets = await Promise.all(
      ids.map(
        (id) =>
          new Promise<WebSocket>((resolve, reject) => {
            const socket = new WebSocket(stack.url.replace(/^http/, 'ws'), 'graphql-transport-ws');
            socket.on('message', (data) => {
              const text = String(data);
              const message = JSON.parse(text) as { type: string };
              if (message.type === 'connection_ack') {
                socket.send(JSON.stringify({ id, type: 'subscribe', payload: { query: QUERY, variables: { id: runId } } }));
                resolve(socket);
              } else texts.get(id)!.push(text);
            });
            socket.once('open', () =>
              socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${stack.admin.options.token}` } })),
            );
            socket.once('error', reject);
          }),
      ),
    );
    await waitFor(async () => ids.every((id) => texts.get(id)!.length === 1), { what: 'the CREATED event on every socket' });
    expect(stack.api.sharedSubscriptions.size).toBe(1);
    for (const label of ['a', 'b', 'c']) {
      const added = await stack.admin.query(FanAddLabels, { input: { id: runId, labels: [label] } });
      expect(added.addRunLabels.__typename).not.toBe('ValidationError');
    }
    await waitFor(async () => ids.every((id) => texts.get(id)!.length === 4), { what: 'every event on every socket' });

    const payloads = ids.map((id) => {
      const messages = texts.get(id)!.map((text) => JSON.parse(text) as NextMessage);
      for (const message of messages) expect(message).toMatchObject({ id, type: 'next' });
      return messages.map((message) => message.payload);
    });
    expect(payloads[0].map((payload) => payload.data.runUpdated.sequence)).toEqual([1, 2, 3, 4]);
    expect(payloads[0].slice(1).map((payload) => payload.data.runUpdated.type)).toEqual([
      'LABELS_CHANGED',
      'LABELS_CHANGED',
      'LABELS_CHANGED',
    ]);
    for (const other of payloads.slice(1)) expect(other).toEqual(payloads[0]);
    // The payload text is the same bytes for everyone: serialized once, spliced in after the id.
    const payloadText = (text: string) => text.slice(text.indexOf('"payload":'));
    for (const id of ids.slice(1)) expect(texts.get(id)!.map(payloadText)).toEqual(texts.get(ids[0])!.map(payloadText));

    for (const socket of sockets) socket.close();
    await waitFor(async () => stack.api.sharedSubscriptions.size === 0, { what: 'the shared execution to end' });
  });

  it('drops a socket that stops answering pings', async () => {
    const socket = await RawWebSocket.connect({ url: stack.url.replace(/^http/, 'ws'), protocol: 'graphql-transport-ws' });
    socket.sendText(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${stack.admin.options.token}` } }));
    const started = Date.now();
    // This client never answers a ping: after one unanswered ping (300 ms apart) it is gone.
    await Promise.race([
      socket.ended(),
      new Promise((_, reject) => setTimeout(() => reject(new Error('the silent socket was not dropped')), 5000)),
    ]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    socket.destroy();
  });
});
