// buildApp: one HTTP server carrying GraphQL over HTTP/SSE (yoga), GraphQL over WebSocket
// (graphql-ws on the same /graphql path) and downloads of artifacts and data sets.
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GraphQLError, type DocumentNode, type ExecutionArgs, type GraphQLSchema } from 'graphql';
import type { Context as GraphQLWsContext, SubscribePayload } from 'graphql-ws';
import { WebSocketServer, type WebSocket } from 'ws';
import type { User } from '../generated/prisma/client.ts';
import { DEFAULT_MAX_DATASET_BYTES } from '../services/upload-dataset.ts';
import { isDownloadPath, serveDownload } from './downloads.ts';
import { useGraphQLWsServer } from './graphql-ws-server.ts';
import { SharedSubscriptions } from './shared-subscriptions.ts';
import { UploadLimit } from './upload-limit.ts';
import { authenticateConnectionParams, createYogaServer, type BaseContext, type GraphQLLimits } from './yoga.ts';

/** What a graphql-ws operation carries to the execute/subscribe hooks (as its rootValue). */
interface SocketRoot {
  /** Results depend on the document, the variables and who asks (the context's user). */
  shareKey: string;
  socket: WebSocket;
  /** The enveloped execution; absent for a subscriber that joins a running shared execution. */
  enveloped?: Enveloped;
  /** Prepares `enveloped` if the execution it meant to join has ended meanwhile. */
  prepare: () => Promise<Enveloped | readonly GraphQLError[]>;
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

/** Joiners execute nothing themselves: their context is never read. */
const JOINER_CONTEXT = Object.freeze({});

export interface App {
  server: Server;
  /** Shared subscription executions running in this process. */
  sharedSubscriptions: SharedSubscriptions;
  start(options: { port: number; host: string }): Promise<{ url: string; port: number }>;
  stop(): Promise<void>;
}

export interface AppOptions {
  /** A graphql-ws socket with more than this many bytes unsent is closed with 1013. */
  maxBufferedBytes?: number;
  /** A graphql-ws socket whose unsent bytes have not drained for this long is closed with 1013. */
  stallTimeoutMs?: number;
  /** Every socket is pinged this often; one that did not answer the previous ping is dropped. */
  keepAliveMs?: number;
  /** Largest graphql-ws message read; a larger frame closes its socket with 1009 before it is buffered. */
  maxPayloadBytes?: number;
  /** A socket that has not sent connection_init within this is closed with 4408. */
  connectionInitTimeoutMs?: number;
  /** Depth, alias, token, cost and directive limits of one operation (default DEFAULT_GRAPHQL_LIMITS). */
  graphqlLimits?: GraphQLLimits;
  /** Answer run-graph queries with one SQL statement each (src/reads/); default true. */
  compiledReads?: boolean;
}

/** "Try Again Later": the client may reconnect and resume from its last sequence. */
export const SLOW_CONSUMER_CLOSE_CODE = 1013;
const DEFAULT_WS_MAX_PAYLOAD_BYTES = 1024 * 1024;
const DEFAULT_CONNECTION_INIT_TIMEOUT_MS = 3000;
/** How long a stalled peer has to read its close frame before its socket is dropped. */
const STALLED_CLOSE_GRACE_MS = 15_000;

export function buildApp({
  schema,
  base,
  options = {},
}: {
  schema: GraphQLSchema;
  base: BaseContext;
  options?: AppOptions;
}): App {
  const maxBufferedBytes = options.maxBufferedBytes ?? 4 * 1024 * 1024;
  const stallTimeoutMs = options.stallTimeoutMs ?? 30_000;
  // Request bodies are limited before yoga reads them (upload-limit.ts); yoga's limit stays as a backstop.
  const uploads = new UploadLimit({ maxFileBytes: base.services.limits.maxDatasetBytes ?? DEFAULT_MAX_DATASET_BYTES });
  const yoga = createYogaServer({
    schema,
    base,
    limits: options.graphqlLimits,
    compiledReads: options.compiledReads ?? true,
    maxRequestBodySize: uploads.maxBodyBytes,
  });

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      return;
    }
    if (isDownloadPath(url.pathname)) {
      serveDownload({ req, res, url, db: base.db, links: base.links, storageRoot: base.services.storageRoot }).catch(
        (error) => {
          console.error('download failed', error);
          if (!res.headersSent) res.writeHead(500).end('Internal error');
          else res.destroy();
        },
      );
      return;
    }
    // Bodies over their limit (uploads: DATASET_MAX_BYTES) are refused here, before yoga buffers them.
    const admitted = uploads.admit(req, res);
    if (admitted) void yoga.requestListener(admitted, res);
  };
  const server = createServer(handle);
  server.on('checkContinue', (req, res) => uploads.checkContinue(req, res, handle));

  // Before connection_init nobody is authenticated: what one socket may hold is bounded by the
  // frame cap (checked against the frame header, so nothing of a larger frame is buffered) and
  // the connection_init wait; graphql-ws closes a socket that subscribes before its ack with 4401.
  const wsServer = new WebSocketServer({
    server,
    path: yoga.graphqlEndpoint,
    maxPayload: options.maxPayloadBytes ?? DEFAULT_WS_MAX_PAYLOAD_BYTES,
  });
  const shared = new SharedSubscriptions();
  const closeSlowConsumer = (socket: WebSocket) => {
    if (socket.readyState !== socket.OPEN) return;
    socket.close(SLOW_CONSUMER_CLOSE_CODE, 'Subscriber too slow: reconnect and resume from your last sequence');
    // A peer that never reads again cannot complete the close handshake: drop it.
    setTimeout(() => socket.terminate(), STALLED_CLOSE_GRACE_MS).unref();
  };
  type WsContext = GraphQLWsContext<Record<string, unknown>, { socket: WebSocket; user?: User }>;
  // The full per-operation path: yoga's envelop (limits, parse and validation caches, context).
  const envelop = async (ctx: WsContext, payload: SubscribePayload): Promise<Enveloped | readonly GraphQLError[]> => {
    const { schema: envelopedSchema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
      ...ctx,
      socket: ctx.extra.socket,
      params: payload,
      socketUser: ctx.extra.user,
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
  };
  const wsCleanup = useGraphQLWsServer<{ socket: WebSocket; user?: User }>(wsServer, {
    maxBufferedBytes,
    keepAliveMs: options.keepAliveMs,
    onSlowConsumer: (socket) => closeSlowConsumer(socket),
    // The upgrade request is not kept: nothing reads it once the socket is authenticated.
    extra: (socket) => ({ socket }),
    hooks: {
      connectionInitWaitTimeout: options.connectionInitTimeoutMs ?? DEFAULT_CONNECTION_INIT_TIMEOUT_MS,
      onConnect: async (ctx) => {
        const user = await authenticateConnectionParams(base.db, ctx.connectionParams, base.services.limits.authCacheMs);
        if (!user) return false; // graphql-ws closes with 4403 Forbidden
        ctx.extra.user = user;
        // The token is not needed once the socket is authenticated: do not keep it per connection.
        delete (ctx as { connectionParams?: unknown }).connectionParams;
        return true;
      },
      execute: async (args) => {
        const root = args.rootValue as SocketRoot;
        const enveloped = root.enveloped ?? (await root.prepare());
        if (!('args' in enveloped)) return { errors: enveloped };
        return enveloped.execute({ ...enveloped.args, rootValue: root });
      },
      subscribe: (args) => {
        const root = args.rootValue as SocketRoot;
        return shared.subscribe({
          key: root.shareKey,
          meta: { schema: args.schema, document: args.document } satisfies SharedMeta,
          start: async () => {
            const enveloped = root.enveloped ?? (await root.prepare());
            if (!('args' in enveloped)) return { errors: enveloped };
            return enveloped.subscribe({ ...enveloped.args, rootValue: root });
          },
          onOverflow: () => closeSlowConsumer(root.socket),
        });
      },
      onSubscribe: async (ctx, _id, payload) => {
        // A digest: every subscriber keeps its key, and thousands of copies of the query add up.
        const shareKey = createHash('sha256')
          .update(JSON.stringify([ctx.extra.user?.id ?? null, payload.operationName ?? null, payload.query, payload.variables ?? {}]))
          .digest('base64');
        const root: SocketRoot = { shareKey, socket: ctx.extra.socket, prepare: () => envelop(ctx, payload) };
        // The same user already runs this very subscription here, parsed, validated and within
        // the limits: join it without an envelop, a context or a parse of one's own.
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
      },
    },
  });

  // Once a socket has unsent bytes, graphql-ws waits for each write before it reads the next
  // event (graphql-ws-server.ts), so a reader that stops reading costs a bounded buffer — but it
  // would hold its subscriptions forever. Sockets whose unsent bytes pile up or stop draining
  // are closed with 1013 (try again later); the client resumes from its last sequence.
  const stalledSince = new Map<WebSocket, number>();
  const stallCheck = setInterval(() => {
    const now = Date.now();
    for (const socket of wsServer.clients) {
      if (socket.readyState !== socket.OPEN) continue;
      if (socket.bufferedAmount === 0) {
        stalledSince.delete(socket);
        continue;
      }
      const since = stalledSince.get(socket) ?? now;
      stalledSince.set(socket, since);
      if (socket.bufferedAmount > maxBufferedBytes || now - since >= stallTimeoutMs) {
        stalledSince.delete(socket);
        closeSlowConsumer(socket);
      }
    }
    for (const socket of stalledSince.keys()) if (socket.readyState !== socket.OPEN) stalledSince.delete(socket);
  }, Math.min(1000, stallTimeoutMs / 2));
  stallCheck.unref();

  return {
    server,
    sharedSubscriptions: shared,
    async start({ port, host }) {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      const actualPort = (server.address() as AddressInfo).port;
      const shownHost = host === '0.0.0.0' || host === '::' ? 'localhost' : host;
      return { url: `http://${shownHost}:${actualPort}/graphql`, port: actualPort };
    },
    async stop() {
      clearInterval(stallCheck);
      for (const client of wsServer.clients) client.close(1001, 'Server shutting down');
      await wsCleanup.dispose();
      await new Promise<void>((resolve) => wsServer.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
