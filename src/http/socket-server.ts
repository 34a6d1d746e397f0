// GraphQL over WebSocket (graphql-ws) on the HTTP server's /graphql path: the socket limits, who
// may connect, and each operation run through yoga's envelop — or, for a subscription the same
// user already runs here, joined to that shared execution.
import { createHash } from 'node:crypto';
import type { Server } from 'node:http';
import { GraphQLError, type DocumentNode, type ExecutionArgs, type GraphQLSchema } from 'graphql';
import type { Context as GraphQLWsContext, SubscribePayload } from 'graphql-ws';
import { countSubscription } from '../observability/metrics.ts';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Access } from '../access/access.ts';
import { TOKEN_REFUSAL_MESSAGES, TokenRefusal } from '../auth/tokens.ts';
import { useGraphQLWsServer } from './graphql-ws-server.ts';
import type { SharedSubscriptions } from './shared-subscriptions.ts';
import { ENV_DEFAULTS } from '../env.ts';
import { ACCESS_ENDED_CLOSE_CODE, accessFingerprint, liveAccessOf, type LiveConnection } from './live-access.ts';
import { closeSlowConsumer, closeWithGrace } from './stalled-sockets.ts';
import { authenticateConnectionParams, remoteAddress, type BaseContext, type createYogaServer } from './yoga.ts';

type Yoga = ReturnType<typeof createYogaServer>;

/** What a graphql-ws operation carries to the execute/subscribe hooks (as its rootValue). */
interface SocketRoot {
  /** Results depend on the document, the variables and who asks (the context's user). */
  shareKey: string;
  socket: WebSocket;
  /** The enveloped execution; absent for a subscriber that joins a running shared execution. */
  enveloped?: Enveloped;
  /** Prepares `enveloped` if the execution it meant to join has ended meanwhile. */
  prepare: () => Promise<Enveloped | readonly GraphQLError[]>;
  /** The graphql-ws operation id. */
  id: string;
  live?: LiveConnection;
  /** The socket's operations executing (SocketExtra.executing). */
  executing: Set<string>;
}

interface Enveloped {
  execute: typeof import('graphql').execute;
  subscribe: typeof import('graphql').subscribe;
  args: ExecutionArgs;
}

/** What a running shared execution keeps for subscribers that join it. */
interface SharedMeta {
  schema: GraphQLSchema;
  document: DocumentNode;
}

type SocketExtra = {
  socket: WebSocket;
  access?: Access;
  live?: LiveConnection;
  address: string | null;
  /** Queries and mutations executing: their answers are sent before an ended access closes the socket. */
  executing: Set<string>;
};
type WsContext = GraphQLWsContext<Record<string, unknown>, SocketExtra>;

/** Joiners execute nothing themselves: their context is never read. */
const JOINER_CONTEXT = Object.freeze({});
const DEFAULT_WS_MAX_PAYLOAD_BYTES = ENV_DEFAULTS.WS_MAX_PAYLOAD_BYTES;
const DEFAULT_CONNECTION_INIT_TIMEOUT_MS = ENV_DEFAULTS.WS_CONNECTION_INIT_TIMEOUT_MS;

export interface SocketLimits {
  /** A socket with more than this many bytes unsent is closed with 1013. */
  maxBufferedBytes: number;
  keepAliveMs?: number;
  maxPayloadBytes?: number;
  connectionInitTimeoutMs?: number;
}

export function createSocketServer({
  server,
  yoga,
  base,
  shared,
  limits,
}: {
  server: Server;
  yoga: Yoga;
  base: BaseContext;
  shared: SharedSubscriptions;
  limits: SocketLimits;
}): { wsServer: WebSocketServer; dispose(): Promise<void> } {
  // Before connection_init nobody is authenticated: what one socket may hold is bounded by the
  // frame cap (checked against the frame header, so nothing of a larger frame is buffered) and
  // the connection_init wait; graphql-ws closes a socket that subscribes before its ack with 4401.
  const wsServer = new WebSocketServer({
    server,
    path: yoga.graphqlEndpoint,
    maxPayload: limits.maxPayloadBytes ?? DEFAULT_WS_MAX_PAYLOAD_BYTES,
  });
  // ws repeats the HTTP server's errors (a listen that fails: EADDRINUSE, a HOST that does not
  // resolve) on itself; unheard, that repeat would end the process before listen() could reject
  // and the command stop what it started. listen() reports the error.
  wsServer.on('error', () => {});
  const envelop = (ctx: WsContext, payload: SubscribePayload) => envelopOperation(yoga, ctx, payload);
  const live = liveAccessOf(base.db, base.services.limits.authCacheMs);
  const wsCleanup = useGraphQLWsServer<SocketExtra>(wsServer, {
    maxBufferedBytes: limits.maxBufferedBytes,
    keepAliveMs: limits.keepAliveMs,
    onSlowConsumer: (socket) => closeSlowConsumer(socket),
    // The upgrade request is not kept (only its address, for the audit trail): nothing reads it once the socket is authenticated.
    extra: (socket, request) => ({ socket, address: remoteAddress(request), executing: new Set() }),
    hooks: {
      connectionInitWaitTimeout: limits.connectionInitTimeoutMs ?? DEFAULT_CONNECTION_INIT_TIMEOUT_MS,
      onConnect: async (ctx) => {
        const access = await authenticateConnectionParams(
          base.db,
          ctx.connectionParams,
          base.services.limits.authCacheMs,
          ctx.extra.address,
        );
        const socket = ctx.extra.socket;
        if (access instanceof TokenRefusal) {
          // Closed here with the refusal's words (graphql-ws's own close, "Forbidden", then finds it closing).
          closeWithGrace(socket, ACCESS_ENDED_CLOSE_CODE, access.message);
          return false;
        }
        ctx.extra.access = access;
        // A revoked or expired token, or a changed membership, closes the socket (live-access.ts).
        const connection = live.register(access, (reason) => closeWithGrace(socket, ACCESS_ENDED_CLOSE_CODE, reason));
        ctx.extra.live = connection;
        socket.once('close', () => connection.release());
        // The token is not needed once the socket is authenticated: do not keep it per connection.
        delete (ctx as { connectionParams?: unknown }).connectionParams;
        return true;
      },
      execute: async (args) => {
        const root = args.rootValue as SocketRoot;
        const enveloped = root.enveloped ?? (await root.prepare());
        if (!('args' in enveloped)) return { errors: enveloped };
        // The access may have ended while the operation was prepared (a revocation answered meanwhile).
        const ended = accessEnded(root.live);
        if (ended) return { errors: ended };
        root.live?.hold();
        root.executing.add(root.id);
        return enveloped.execute({ ...enveloped.args, rootValue: root });
      },
      onComplete: (ctx, id) => {
        if (ctx.extra.executing.delete(id)) ctx.extra.live?.done();
      },
      subscribe: (args) => {
        const root = args.rootValue as SocketRoot;
        const subscribed = shared.subscribe({
          key: root.shareKey,
          meta: { schema: args.schema, document: args.document } satisfies SharedMeta,
          start: async () => {
            const enveloped = root.enveloped ?? (await root.prepare());
            if (!('args' in enveloped)) return { errors: enveloped };
            return enveloped.subscribe({ ...enveloped.args, rootValue: root });
          },
          onOverflow: () => closeSlowConsumer(root.socket),
        });
        return Promise.resolve(subscribed).then((result) =>
          typeof result === 'object' && result !== null && Symbol.asyncIterator in result
            ? countSubscription(result as AsyncIterable<never>, 'ws')
            : result,
        );
      },
      onSubscribe: (ctx, id, payload) => {
        // Every operation asks again: none runs once the socket's access has ended, even before
        // the sweep closes the socket (an expiry is seen here at once).
        const ended = accessEnded(ctx.extra.live);
        if (ended) return ended;
        return prepareOperation({ shared, envelop }, ctx, payload, id);
      },
    },
  });
  return { wsServer, dispose: () => wsCleanup.dispose() };
}

/** The errors an operation is refused with once its socket's access ended (which also closes the socket), or null. */
function accessEnded(connection: LiveConnection | undefined): GraphQLError[] | null {
  if (!connection || connection.live) return null;
  // Not ended yet: it expired since the last sweep.
  const reason = connection.endedWith ?? TOKEN_REFUSAL_MESSAGES.EXPIRED;
  connection.end(reason);
  return [new GraphQLError(reason, { extensions: { code: 'UNAUTHENTICATED' } })];
}

/**
 * The arguments graphql-ws executes an operation with. Its root carries a share key: the same user
 * already running this very subscription here (parsed, validated and within the limits) joins it
 * without an envelop, a context or a parse of its own.
 */
async function prepareOperation(
  {
    shared,
    envelop,
  }: { shared: SharedSubscriptions; envelop: (ctx: WsContext, payload: SubscribePayload) => Promise<Enveloped | readonly GraphQLError[]> },
  ctx: WsContext,
  payload: SubscribePayload,
  id: string,
): Promise<ExecutionArgs | GraphQLError[]> {
  // A digest: every subscriber keeps its key, and thousands of copies of the query add up. The
  // token and everything its rights depend on are in it: a subscriber joins only an execution
  // whose results were computed for exactly what it may see.
  const access = ctx.extra.access;
  const shareKey = createHash('sha256')
    .update(
      JSON.stringify([
        access?.token.id ?? null,
        access ? accessFingerprint(access) : null,
        payload.operationName ?? null,
        payload.query,
        payload.variables ?? {},
      ]),
    )
    .digest('base64');
  const root: SocketRoot = {
    shareKey,
    socket: ctx.extra.socket,
    prepare: () => envelop(ctx, payload),
    id,
    live: ctx.extra.live,
    executing: ctx.extra.executing,
  };
  const running = shared.joinable(shareKey) as SharedMeta | undefined;
  if (running) {
    return {
      schema: running.schema,
      document: running.document,
      operationName: payload.operationName,
      variableValues: payload.variables,
      contextValue: JOINER_CONTEXT,
      rootValue: root,
    };
  }
  const enveloped = await envelop(ctx, payload);
  if (!('args' in enveloped)) return [...enveloped];
  root.enveloped = enveloped;
  return { ...enveloped.args, rootValue: root };
}

/** The full per-operation path: yoga's envelop (limits, parse and validation caches, context). */
async function envelopOperation(yoga: Yoga, ctx: WsContext, payload: SubscribePayload): Promise<Enveloped | readonly GraphQLError[]> {
  const {
    schema: envelopedSchema,
    execute,
    subscribe,
    contextFactory,
    parse,
    validate,
  } = yoga.getEnveloped({
    ...ctx,
    socket: ctx.extra.socket,
    params: payload,
    socketAccess: ctx.extra.access,
    socketAddress: ctx.extra.address,
  });
  // A syntax error or a document over the token limit is thrown by parse (and a limit may throw
  // from validate): it answers this operation with `error`, as over SSE, instead of escaping
  // graphql-ws's message handler, which would close the socket and every subscription on it.
  let document: DocumentNode;
  try {
    document = parse(payload.query);
    const errors = validate(envelopedSchema, document);
    if (errors.length) return errors;
  } catch (error) {
    if (error instanceof GraphQLError) return [error];
    throw error;
  }
  const args: ExecutionArgs = {
    schema: envelopedSchema,
    operationName: payload.operationName,
    document,
    variableValues: payload.variables,
    contextValue: await contextFactory(),
  };
  return { execute, subscribe, args };
}
