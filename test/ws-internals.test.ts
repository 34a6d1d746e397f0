// What src/http/graphql-ws-server.ts relies on in graphql-ws and ws beyond their documented API
// (both pinned exactly in package.json for it): a failure here after an upgrade names the
// assumption that broke. Over a real HTTP server and real sockets, no database.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { buildSchema, type ExecutionResult } from 'graphql';
import { makeServer } from 'graphql-ws';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { useGraphQLWsServer } from '../src/http/graphql-ws-server.ts';

const PROTOCOL = 'graphql-transport-ws';
const schema = buildSchema('type Query { ok: Boolean } type Subscription { tick: Int }');

/** Hands every subscriber the very same result objects, as shared subscriptions do. */
class Feed {
  private readonly subscribers = new Set<{ queue: ExecutionResult[]; wake: (() => void) | null }>();

  publish(result: ExecutionResult): void {
    for (const subscriber of this.subscribers) {
      subscriber.queue.push(result);
      subscriber.wake?.();
    }
  }

  get size(): number {
    return this.subscribers.size;
  }

  async *subscribe(): AsyncGenerator<ExecutionResult> {
    const subscriber = { queue: [] as ExecutionResult[], wake: null as (() => void) | null };
    this.subscribers.add(subscriber);
    try {
      for (;;) {
        const next = subscriber.queue.shift();
        if (next) yield next;
        else await new Promise<void>((resolve) => (subscriber.wake = resolve));
      }
    } finally {
      this.subscribers.delete(subscriber);
    }
  }
}

async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

interface Connection {
  socket: WebSocket;
  request: IncomingMessage;
}

describe('graphql-ws and ws internals that graphql-ws-server.ts depends on', () => {
  let server: Server;
  let url: string;
  let dispose: () => Promise<void>;
  const feed = new Feed();
  /** What the next upgrade hands to 'connection' as its request: the real one, or one without a socket. */
  let hideSocket = false;
  const connections: Connection[] = [];
  const clients: WebSocket[] = [];

  beforeAll(async () => {
    server = createServer((_req, res) => res.writeHead(404).end());
    const wsServer = new WebSocketServer({ noServer: true });
    server.on('upgrade', (request, netSocket, head) => {
      wsServer.handleUpgrade(request, netSocket, head, (socket) => {
        const handedOver = hideSocket ? ({ headers: request.headers } as IncomingMessage) : request;
        wsServer.emit('connection', socket, handedOver);
      });
    });
    ({ dispose } = useGraphQLWsServer<{ socket: WebSocket }>(wsServer, {
      hooks: { schema, subscribe: () => feed.subscribe() },
      extra: (socket) => ({ socket }),
      maxBufferedBytes: 1 << 24,
      onSlowConsumer: (socket) => socket.close(1013),
    }));
    wsServer.on('connection', (socket: WebSocket, request: IncomingMessage) => connections.push({ socket, request }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(() => {
    for (const client of clients.splice(0)) client.terminate();
    connections.length = 0;
    hideSocket = false;
    vi.restoreAllMocks();
  });
  afterAll(async () => {
    await dispose?.();
    await new Promise((resolve) => server?.close(resolve));
  });

  /** A client subscribed as `id`, with every frame it receives (one frame, one string). */
  async function subscriber(id: string): Promise<{ frames: string[] }> {
    const client = new WebSocket(url, PROTOCOL);
    clients.push(client);
    const frames: string[] = [];
    client.on('message', (data) => frames.push(String(data)));
    await new Promise((resolve, reject) => client.once('open', resolve).once('error', reject));
    client.send(JSON.stringify({ type: 'connection_init' }));
    await until(() => frames.length > 0, 'connection_ack');
    expect(JSON.parse(frames.shift()!)).toEqual({ type: 'connection_ack' });
    const before = feed.size;
    client.send(JSON.stringify({ id, type: 'subscribe', payload: { query: 'subscription { tick }' } }));
    await until(() => feed.size > before, `subscription ${JSON.stringify(id)}`);
    return { frames };
  }

  it('graphql-ws hands the value onNext returns to jsonMessageReplacer as `payload`, the last key of a next message', async () => {
    const marker = { marker: true };
    const replaced: string[] = [];
    const sent: string[] = [];
    let deliver: ((data: string) => Promise<void>) | null = null;
    const bare = makeServer({
      schema,
      subscribe: async function* () {
        yield { data: { tick: 1 } };
      },
      onNext: () => marker as never,
      jsonMessageReplacer(key, value) {
        if (value !== marker) return value;
        replaced.push(key);
        return 'REPLACED';
      },
    });
    bare.opened(
      { protocol: PROTOCOL, send: (data) => void sent.push(data), close: () => {}, onMessage: (callback) => void (deliver = callback) },
      {},
    );
    await deliver!(JSON.stringify({ type: 'connection_init' }));
    await deliver!(JSON.stringify({ id: 'only', type: 'subscribe', payload: { query: 'subscription { tick }' } }));
    expect(replaced, 'graphql-ws no longer passes onNext\'s return value to jsonMessageReplacer under "payload"').toEqual(['payload']);
    expect(
      sent,
      'graphql-ws no longer stringifies a next message as {id, type, payload} with payload last: graphql-ws-server.ts splices pre-serialized results at the end of the message',
    ).toContain('{"id":"only","type":"next","payload":"REPLACED"}');
  });

  it('a result serialized once reaches two subscribers intact, each under its own id, in order', async () => {
    // The second id looks like the placeholder itself: it must not be mistaken for it.
    const ids = ['first', 'x\u0000payload:0"}'];
    const subscribers = await Promise.all(ids.map((id) => subscriber(id)));
    const results: ExecutionResult[] = [
      { data: { tick: 1 } },
      { data: { tick: 2, text: 'a "quoted" }, a \u0000, and "\\u0000payload:1"}' } },
      { data: null, errors: [{ message: 'boom' } as never] },
    ];
    for (const result of results) feed.publish(result); // one turn: corked together
    await until(() => subscribers.every(({ frames }) => frames.length >= results.length), 'every result on both sockets');
    ids.forEach((id, index) => {
      expect(
        subscribers[index]!.frames,
        "each next message must be graphql-ws's message with the pre-serialized result spliced in as payload (graphql-ws message layout, src/http/graphql-ws-server.ts withPayload)",
      ).toEqual(results.map((payload) => JSON.stringify({ id, type: 'next', payload })));
    });
  });

  it('serializes a result once, however many subscribers send it', async () => {
    const ids = ['one', 'two', 'three'];
    const subscribers = await Promise.all(ids.map((id) => subscriber(id)));
    let serializations = 0;
    // toJSON is called only by JSON.stringify: it counts the serializations of this result.
    const data = { tick: 7, toJSON: () => (serializations++, { tick: 7 }) };
    feed.publish({ data });
    await until(() => subscribers.every(({ frames }) => frames.length >= 1), 'the result on every socket');
    ids.forEach((id, index) =>
      expect(JSON.parse(subscribers[index]!.frames[0]!)).toEqual({ id, type: 'next', payload: { data: { tick: 7 } } }),
    );
    expect(
      serializations,
      'one JSON.stringify per result, shared by every subscriber (src/http/shared-subscriptions.ts serializedResult)',
    ).toBe(1);
  });

  it('corks the socket ws writes to, and what leaves in one write stays separate frames in order', async () => {
    const { frames } = await subscriber('corked');
    expect(connections).toHaveLength(1);
    const { socket, request } = connections[0]!;
    expect(
      (socket as unknown as { _socket: Socket })._socket,
      "ws no longer writes frames to the upgrade request's socket: graphql-ws-server.ts corks request.socket",
    ).toBe(request.socket);
    const corkedWhileWriting: number[] = [];
    const write = request.socket.write.bind(request.socket);
    vi.spyOn(request.socket, 'write').mockImplementation(((...args: Parameters<Socket['write']>) => {
      corkedWhileWriting.push(request.socket.writableCorked);
      return write(...args);
    }) as Socket['write']);

    const count = 50;
    for (let tick = 0; tick < count; tick += 1) feed.publish({ data: { tick } });
    await until(() => frames.length >= count, `${count} frames`);
    expect(frames.map((frame) => JSON.parse(frame).payload.data.tick)).toEqual([...Array(count).keys()]);
    // ws corks around each frame itself (1); ours holds the socket corked across them (2).
    expect(Math.min(...corkedWhileWriting), 'sends were not corked: is ws still writing to request.socket?').toBeGreaterThanOrEqual(2);
    await new Promise((resolve) => setImmediate(resolve));
    expect(request.socket.writableCorked, 'a socket is left corked after the turn').toBe(0);
  });

  it('without a socket to cork, it sends uncorked instead of failing', async () => {
    hideSocket = true;
    const { frames } = await subscriber('uncorked');
    expect(connections[0]!.request.socket).toBeUndefined();
    feed.publish({ data: { tick: 1 } });
    feed.publish({ data: { tick: 2 } });
    await until(() => frames.length >= 2, 'two frames');
    expect(frames).toEqual([1, 2].map((tick) => JSON.stringify({ id: 'uncorked', type: 'next', payload: { data: { tick } } })));
  });
});
