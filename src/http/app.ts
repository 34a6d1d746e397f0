// buildApp: one HTTP server carrying GraphQL over HTTP/SSE (yoga), GraphQL over WebSocket
// (graphql-ws on the same /graphql path) and downloads of artifacts and data sets. A request goes
// http-routes.ts (health, downloads, upload limit) → yoga.ts; a WebSocket goes socket-server.ts
// (limits, authentication, shared subscriptions) → yoga's envelop; stalled-sockets.ts closes the
// sockets that stop reading.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { GraphQLSchema } from 'graphql';
import type { WebSocketServer } from 'ws';
import { ENV_DEFAULTS } from '../env.ts';
import { processLogger } from '../logger.ts';
import { Readiness } from '../observability/health.ts';
import { DEFAULT_MAX_DATASET_BYTES } from '../services/upload-dataset.ts';
import { createHttpServer, EventStreams, type OperationsRoutes } from './http-routes.ts';
import { SharedSubscriptions } from './shared-subscriptions.ts';
import { createSocketServer } from './socket-server.ts';
import { sweepStalledSockets } from './stalled-sockets.ts';
import { UploadLimit } from './upload-limit.ts';
import { createYogaServer, type BaseContext, type GraphQLLimits } from './yoga.ts';

export { SLOW_CONSUMER_CLOSE_CODE } from './stalled-sockets.ts';

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
  /** /readyz and /metrics on this server; without it /readyz answers ok and /metrics 404. */
  operations?: OperationsRoutes;
}

export function buildApp({ schema, base, options = {} }: { schema: GraphQLSchema; base: BaseContext; options?: AppOptions }): App {
  const maxBufferedBytes = options.maxBufferedBytes ?? ENV_DEFAULTS.WS_MAX_BUFFERED_BYTES;
  const stallTimeoutMs = options.stallTimeoutMs ?? ENV_DEFAULTS.WS_STALL_TIMEOUT_MS;
  const { yoga, uploads } = graphqlOverHttp({ schema, base, options });
  const eventStreams = new EventStreams();
  const server = createHttpServer({
    base,
    yoga,
    uploads,
    operations: options.operations ?? { readiness: new Readiness({}), metrics: false },
    eventStreams,
    onDownloadError: (error) => processLogger().error({ err: error }, 'download failed'),
  });
  const shared = new SharedSubscriptions();
  const sockets = createSocketServer({
    server,
    yoga,
    base,
    shared,
    limits: {
      maxBufferedBytes,
      keepAliveMs: options.keepAliveMs,
      maxPayloadBytes: options.maxPayloadBytes,
      connectionInitTimeoutMs: options.connectionInitTimeoutMs,
    },
  });
  const stopSweeping = sweepStalledSockets({ wsServer: sockets.wsServer, maxBufferedBytes, stallTimeoutMs });

  return {
    server,
    sharedSubscriptions: shared,
    start: ({ port, host }) => listen(server, { port, host }),
    async stop() {
      stopSweeping();
      await shutdown({ server, wsServer: sockets.wsServer, eventStreams, disposeSockets: sockets.dispose });
    },
  };
}

/** The yoga instance, with request bodies limited before yoga reads them (upload-limit.ts). */
function graphqlOverHttp({ schema, base, options }: { schema: GraphQLSchema; base: BaseContext; options: AppOptions }) {
  const uploads = new UploadLimit({ maxFileBytes: base.services.limits.maxDatasetBytes ?? DEFAULT_MAX_DATASET_BYTES });
  const yoga = createYogaServer({
    schema,
    base,
    limits: options.graphqlLimits,
    compiledReads: options.compiledReads ?? true,
    // No limit of yoga's own: UploadLimit has counted every body before yoga sees it (a declared
    // length checked, a chunked body counted as it streams). yoga's backstop cost every request
    // with a body a TransformStream, a stream pipeline (whose end throws away an AbortError) and a
    // second Request, to enforce a limit already enforced (issue 17).
    maxRequestBodySize: false,
  });
  return { yoga, uploads };
}

async function listen(server: Server, { port, host }: { port: number; host: string }): Promise<{ url: string; port: number }> {
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
}

/**
 * Sockets are told the server is going away (1001) and SSE streams end with `complete`, then
 * graphql-ws, then HTTP connections close.
 */
async function shutdown({
  server,
  wsServer,
  eventStreams,
  disposeSockets,
}: {
  server: Server;
  wsServer: WebSocketServer;
  eventStreams: EventStreams;
  disposeSockets: () => Promise<void>;
}): Promise<void> {
  for (const client of wsServer.clients) client.close(1001, 'Server shutting down');
  eventStreams.endAll();
  await disposeSockets();
  await new Promise<void>((resolve) => wsServer.close(() => resolve()));
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
