// buildApp: one HTTP server carrying GraphQL over HTTP/SSE (yoga), GraphQL over WebSocket
// (graphql-ws on the same /graphql path) and downloads of artifacts and data sets.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { GraphQLSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import type { User } from '../generated/prisma/client.ts';
import { DEFAULT_MAX_DATASET_BYTES } from '../services/upload-dataset.ts';
import { isDownloadPath, serveDownload } from './downloads.ts';
import { SharedSubscriptions } from './shared-subscriptions.ts';
import { UploadLimit } from './upload-limit.ts';
import { authenticateConnectionParams, createYogaServer, type BaseContext, type GraphQLLimits } from './yoga.ts';

interface SocketRoot {
  execute: typeof import('graphql').execute;
  subscribe: typeof import('graphql').subscribe;
  socket: WebSocket;
  shareKey: string;
}

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
  /** Depth, alias, token, cost and directive limits of one operation (default DEFAULT_GRAPHQL_LIMITS). */
  graphqlLimits?: GraphQLLimits;
}

/** "Try Again Later": the client may reconnect and resume from its last sequence. */
export const SLOW_CONSUMER_CLOSE_CODE = 1013;
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
  const yoga = createYogaServer({ schema, base, limits: options.graphqlLimits, maxRequestBodySize: uploads.maxBodyBytes });

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

  const wsServer = new WebSocketServer({ server, path: yoga.graphqlEndpoint });
  const shared = new SharedSubscriptions();
  const closeSlowConsumer = (socket: WebSocket) => {
    if (socket.readyState !== socket.OPEN) return;
    socket.close(SLOW_CONSUMER_CLOSE_CODE, 'Subscriber too slow: reconnect and resume from your last sequence');
    // A peer that never reads again cannot complete the close handshake: drop it.
    setTimeout(() => socket.terminate(), STALLED_CLOSE_GRACE_MS).unref();
  };
  const wsCleanup = useServer<Record<string, unknown>, { user: User }>(
    {
      onConnect: async (ctx) => {
        const user = await authenticateConnectionParams(base.db, ctx.connectionParams);
        if (!user) return false; // graphql-ws closes with 4403 Forbidden
        ctx.extra.user = user;
        return true;
      },
      execute: (args) => (args.rootValue as { execute: typeof import('graphql').execute }).execute(args),
      subscribe: (args) => {
        const root = args.rootValue as SocketRoot;
        return shared.subscribe({
          key: root.shareKey,
          start: () => root.subscribe(args),
          onOverflow: () => closeSlowConsumer(root.socket),
        });
      },
      onSubscribe: async (ctx, _id, payload) => {
        const { schema: envelopedSchema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params: payload,
          socketUser: ctx.extra.user,
        });
        const rootValue: SocketRoot = {
          execute,
          subscribe,
          socket: ctx.extra.socket,
          // Results depend on the document, the variables and who asks (the context's user).
          shareKey: JSON.stringify([ctx.extra.user?.id ?? null, payload.operationName ?? null, payload.query, payload.variables ?? {}]),
        };
        const args = {
          schema: envelopedSchema,
          operationName: payload.operationName,
          document: parse(payload.query),
          variableValues: payload.variables,
          contextValue: await contextFactory(),
          rootValue,
        };
        const errors = validate(args.schema, args.document);
        if (errors.length) return errors;
        return args;
      },
    },
    wsServer,
  );

  // graphql-ws waits for each message to be written before it reads the next event, so a reader
  // that stops reading costs at most one message per subscription plus the kernel's buffers — but
  // it would hold its subscriptions forever. Sockets whose unsent bytes pile up or stop draining
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
