// graphql-ws over `ws`, through graphql-ws's transport-neutral makeServer, in place of its
// `graphql-ws/use/ws` adapter, for fan-out to thousands of sockets:
//
// - A `next` payload is serialized once per result, not once per subscriber: onNext hands
//   graphql-ws a marker for the result, the JSON replacer sets the result's cached JSON aside
//   under a number and leaves a placeholder naming it, and send() splices that JSON into the
//   (tiny) message graphql-ws stringified. Only the message id differs per subscriber.
// - send() does not wait for each write while the socket keeps up (and what it sends to a socket
//   in one event-loop turn leaves in one write); it returns a promise (which
//   graphql-ws awaits) only once unsent bytes pile up, so a slow reader still slows its own
//   subscriptions down instead of buffering without limit. A socket with more than
//   `maxBufferedBytes` waiting is closed at once with 1013 (see app.ts for stalled sockets).
// - Per connection there is one small transport object and no timer or closure of ours: one
//   keep-alive sweep pings every socket, and the listeners are shared functions.
//
// What this relies on in graphql-ws and ws beyond their documented API (test/ws-internals.test.ts
// checks each, and package.json pins both exactly for it):
// - graphql-ws stringifies a `next` message with `payload` as its LAST key, so the placeholder
//   ends the message (a client-chosen id, which comes first, can never be mistaken for it);
// - ws writes a connection's frames to the socket of the upgrade request it hands to
//   'connection' (request.socket), which is what is corked here.
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { CloseCode, handleProtocols, makeServer, type ServerOptions } from 'graphql-ws';
import type { WebSocket, WebSocketServer } from 'ws';
import { ENV_DEFAULTS } from '../env.ts';
import { processLogger } from '../logger.ts';
import { serializedResult } from './shared-subscriptions.ts';

/** Starts the placeholder the replacer leaves where a pre-serialized payload goes; a number follows. */
const PLACEHOLDER_PREFIX = '\u0000payload:';
/** The placeholder's opening as it appears in the stringified message: `"\u0000payload:`. */
const PLACEHOLDER_PREFIX_JSON = JSON.stringify(PLACEHOLDER_PREFIX).slice(0, -1);

class Preserialized {
  constructor(readonly json: string) {}
}
const markers = new WeakMap<object, Preserialized>();

/**
 * The JSON the replacer set aside, by the number its placeholder carries, until send() takes it.
 * Keyed rather than "the last one": nothing assumes graphql-ws sends a message right after it
 * stringifies it. graphql-ws 6 sends every message it stringifies, so entries do not linger.
 */
const setAside = new Map<number, string>();
let nextKey = 0;

function replacer(this: unknown, key: string, value: unknown): unknown {
  if (value instanceof Preserialized) {
    const payloadKey = nextKey;
    nextKey = (nextKey + 1) & 0x3fffffff; // a small non-negative integer; wraps long after it was sent
    setAside.set(payloadKey, value.json);
    return `${PLACEHOLDER_PREFIX}${payloadKey}`;
  }
  return value;
}

/** The message with its trailing placeholder, if it has one, replaced by the JSON set aside for it. */
function withPayload(data: string): string {
  if (!data.endsWith('"}')) return data;
  const start = data.lastIndexOf(PLACEHOLDER_PREFIX_JSON);
  if (start < 0) return data;
  const digits = data.slice(start + PLACEHOLDER_PREFIX_JSON.length, -2);
  if (!/^\d+$/.test(digits)) return data;
  const payloadKey = Number(digits);
  const json = setAside.get(payloadKey);
  // Sending the placeholder would hand the client a wrong payload without a word: fail the operation.
  if (json === undefined) throw new Error(`no pre-serialized payload ${payloadKey} for a graphql-ws message`);
  setAside.delete(payloadKey);
  return `${data.slice(0, start)}${json}}`;
}

/** Waits for a write only beyond this many unsent bytes: below it, sending never blocks. */
const LOW_WATER_BYTES = 64 * 1024;

// Messages for one socket within one turn of the event loop leave in one write: a subscriber
// that is behind (several results queued) costs one syscall per turn, not one per message.
const corked: Socket[] = [];
let uncorkScheduled = false;
function uncorkAll(): void {
  uncorkScheduled = false;
  for (const socket of corked.splice(0)) socket.uncork();
}
function corkUntilNextTurn(socket: Socket | null): void {
  if (!socket || socket.writableCorked > 0) return;
  socket.cork();
  corked.push(socket);
  if (!uncorkScheduled) {
    uncorkScheduled = true;
    setImmediate(uncorkAll);
  }
}

/** The upgrade request's socket if it can be corked; anything else is sent to uncorked. */
function corkable(socket: unknown): Socket | null {
  const candidate = socket as Partial<Socket> | null | undefined;
  return typeof candidate?.cork === 'function' && typeof candidate.uncork === 'function' && typeof candidate.writableCorked === 'number'
    ? (socket as Socket)
    : null;
}

const transports = new WeakMap<WebSocket, SocketTransport>();

export interface GraphQLWsServerOptions<E> {
  /** graphql-ws hooks; onNext and jsonMessageReplacer are this module's. */
  hooks: Omit<ServerOptions<Record<string, unknown>, E>, 'onNext' | 'jsonMessageReplacer'>;
  /** The per-connection `extra` of graphql-ws's context. */
  extra: (socket: WebSocket, request: IncomingMessage) => E;
  maxBufferedBytes: number;
  /** Called (once) for a socket that cannot keep up; app.ts closes it with 1013. */
  onSlowConsumer: (socket: WebSocket) => void;
  keepAliveMs?: number;
  log?: (message: string) => void;
}

/** What graphql-ws's server sees of one socket. */
class SocketTransport {
  readonly protocol: string;
  onMessageCallback: ((data: string) => Promise<void>) | null = null;
  closed: ((code?: number, reason?: string) => Promise<void>) | null = null;

  constructor(
    private readonly socket: WebSocket,
    readonly server: WsServer,
    /** What ws writes this connection's frames to, or null (no corking) when that is not a net.Socket. */
    private readonly netSocket: Socket | null,
  ) {
    this.protocol = socket.protocol;
  }

  send(data: string): Promise<void> | void {
    data = withPayload(data);
    const socket = this.socket;
    if (socket.readyState !== socket.OPEN) return;
    if (socket.bufferedAmount < LOW_WATER_BYTES) {
      corkUntilNextTurn(this.netSocket);
      socket.send(data);
      return;
    }
    if (socket.bufferedAmount > this.server.maxBufferedBytes) {
      this.server.onSlowConsumer(socket);
      return;
    }
    return new Promise((resolve) => socket.send(data, () => resolve()));
  }

  close(code?: number, reason?: string): void {
    this.socket.close(code, reason);
  }

  onMessage(callback: (data: string) => Promise<void>): void {
    this.onMessageCallback = callback;
  }
}

interface WsServer {
  maxBufferedBytes: number;
  onSlowConsumer: (socket: WebSocket) => void;
  log: (message: string) => void;
}

function onSocketMessage(this: WebSocket, data: unknown): void {
  const transport = transports.get(this);
  const callback = transport?.onMessageCallback;
  if (!transport || !callback) return;
  callback(String(data)).catch((error: unknown) => {
    const message = (error as Error).message;
    // A message only a server sends (connection_ack, next…) is the client's protocol error: graphql-ws
    // throws it like any failure, but it is a 4400, not our 4500, and nothing to log.
    if (/^Unexpected message of type \S+ received$/.test(message)) {
      this.close(CloseCode.BadRequest, message);
      return;
    }
    transport.server.log(`graphql-ws message handling failed: ${message}`);
    this.close(CloseCode.InternalServerError, 'Internal server error');
  });
}

function onSocketClose(this: WebSocket, code: number, reason: Buffer): void {
  const transport = transports.get(this);
  transports.delete(this);
  void transport?.closed?.(code, String(reason));
}

/** How long a socket that broke the protocol (a frame over maxPayload…) may take to close cleanly. */
const PROTOCOL_ERROR_CLOSE_GRACE_MS = 2000;

function onSocketError(this: WebSocket): void {
  // ws has already sent the close frame (1009 for a frame over maxPayload, 1002…) and discards
  // what the peer still sends. Destroying the socket at once would reset the connection while the
  // peer is still writing, and the peer would see 1006 instead of the reason: give it a moment to
  // read the close frame, then drop it (ws alone would wait 30 s for the peer's close).
  setTimeout(() => this.terminate(), PROTOCOL_ERROR_CLOSE_GRACE_MS).unref();
}

const unanswered = new WeakSet<WebSocket>();
function onSocketPong(this: WebSocket): void {
  unanswered.delete(this);
}

export function useGraphQLWsServer<E>(wsServer: WebSocketServer, options: GraphQLWsServerOptions<E>): { dispose(): Promise<void> } {
  const server = makeServer<Record<string, unknown>, E>({
    ...options.hooks,
    onNext: (_ctx, _id, _payload, _args, result) => {
      let marker = markers.get(result);
      if (!marker) {
        marker = new Preserialized(serializedResult(result));
        markers.set(result, marker);
      }
      // graphql-ws validates that the payload is an object and hands it to the replacer.
      return marker as never;
    },
    jsonMessageReplacer: replacer,
  });
  const shared: WsServer = {
    maxBufferedBytes: options.maxBufferedBytes,
    onSlowConsumer: options.onSlowConsumer,
    log: options.log ?? ((message) => processLogger().error(message)),
  };
  wsServer.options.handleProtocols = handleProtocols;
  wsServer.on('connection', (socket: WebSocket, request: IncomingMessage) => {
    const transport = new SocketTransport(socket, shared, corkable(request.socket));
    transports.set(socket, transport);
    socket.on('message', onSocketMessage);
    socket.on('close', onSocketClose);
    socket.on('error', onSocketError);
    socket.on('pong', onSocketPong);
    transport.closed = server.opened(transport, options.extra(socket, request));
  });

  // One sweep for every socket: a socket that did not answer the previous ping is gone.
  const keepAliveMs = options.keepAliveMs ?? ENV_DEFAULTS.WS_KEEPALIVE_MS;
  const keepAlive = setInterval(() => {
    for (const socket of wsServer.clients) {
      if (socket.readyState !== socket.OPEN) continue;
      if (unanswered.has(socket)) {
        socket.terminate();
        continue;
      }
      unanswered.add(socket);
      socket.ping();
    }
  }, keepAliveMs);
  keepAlive.unref();

  return {
    async dispose() {
      clearInterval(keepAlive);
      for (const client of wsServer.clients) client.close(1001, 'Going away');
    },
  };
}
