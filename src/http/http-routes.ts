// The plain HTTP requests: liveness, readiness and metrics, downloads of artifacts and data sets,
// the web console's static files, and everything else to GraphQL over HTTP/SSE (yoga) once its body is within the upload limit.
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Readiness } from '../observability/health.ts';
import { metricsText } from '../observability/metrics.ts';
import { ConsoleFiles, isConsoleRequest } from './console-files.ts';
import { isDownloadPath, serveDownload } from './downloads.ts';
import type { UploadLimit } from './upload-limit.ts';
import type { BaseContext, createYogaServer } from './yoga.ts';

type Yoga = ReturnType<typeof createYogaServer>;

/** /healthz, /readyz and /metrics of one process. */
export interface OperationsRoutes {
  readiness: Readiness;
  /** Serve /metrics here (false: 404, as with METRICS=false or on the API port when METRICS_PORT is set). */
  metrics: boolean;
  /** METRICS_TOKEN: /metrics asks for it as a Bearer token. */
  metricsToken?: string;
}

/** Answers the operations paths; false for any other path. */
export function serveOperations(req: IncomingMessage, res: ServerResponse, pathname: string, operations: OperationsRoutes): boolean {
  if (pathname === '/healthz') {
    sendJson(res, 200, { status: 'ok' });
    return true;
  }
  if (pathname === '/readyz') {
    void operations.readiness.report().then((report) => sendJson(res, report.status === 'ok' ? 200 : 503, report));
    return true;
  }
  if (pathname === '/metrics' && operations.metrics) {
    if (operations.metricsToken && !bearerMatches(req.headers.authorization, operations.metricsToken)) {
      res
        .writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer' })
        .end('metrics need METRICS_TOKEN as a Bearer token\n');
      return true;
    }
    metricsText().then(
      ({ contentType, body }) => res.writeHead(200, { 'content-type': contentType }).end(body),
      (error: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${String(error)}\n`),
    );
    return true;
  }
  return false;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
}

function bearerMatches(header: string | undefined, token: string): boolean {
  const given = Buffer.from(header?.match(/^Bearer\s+(.+)$/i)?.[1] ?? '');
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** A server of the operations paths alone: METRICS_PORT, and the only HTTP port of a worker process. */
export function createOperationsServer(operations: OperationsRoutes): Server {
  return createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (!serveOperations(req, res, url.pathname, operations)) res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found\n');
  });
}

/**
 * SSE responses open on a server, ended with graphql-sse's `complete` event at shutdown instead of
 * being cut, so clients see the stream end and reconnect elsewhere.
 */
export class EventStreams {
  private readonly open = new Set<ServerResponse>();

  track(req: IncomingMessage, res: ServerResponse): void {
    if (!req.headers.accept?.includes('text/event-stream')) return;
    this.open.add(res);
    res.once('close', () => this.open.delete(res));
  }

  endAll(): void {
    for (const res of this.open) {
      // yoga may still try to write to it; that must not become an uncaught 'error'.
      res.on('error', () => {});
      if (res.headersSent && !res.writableEnded) res.end('event: complete\ndata:\n\n');
      else res.destroy();
    }
    this.open.clear();
  }

  get size(): number {
    return this.open.size;
  }
}

/** The HTTP server, routing each request; WebSocket upgrades are attached to it separately. */
export function createHttpServer(routes: {
  base: BaseContext;
  yoga: Yoga;
  uploads: UploadLimit;
  operations: OperationsRoutes;
  eventStreams: EventStreams;
  onDownloadError: (error: unknown) => void;
}): Server {
  const listener = requestListener(routes);
  const server = createServer(listener);
  // `Expect: 100-continue` bodies over their limit are refused before the client sends them.
  server.on('checkContinue', (req, res) => routes.uploads.checkContinue(req, res, listener));
  return server;
}

function requestListener({
  base,
  yoga,
  uploads,
  operations,
  eventStreams,
  onDownloadError,
}: {
  base: BaseContext;
  yoga: Yoga;
  uploads: UploadLimit;
  operations: OperationsRoutes;
  eventStreams: EventStreams;
  onDownloadError: (error: unknown) => void;
}): (req: IncomingMessage, res: ServerResponse) => void {
  const consoleFiles = new ConsoleFiles();
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (serveOperations(req, res, url.pathname, operations)) return;
    if (isDownloadPath(url.pathname)) {
      serveDownload({ req, res, url, db: base.db, links: base.links, storageRoot: base.services.storageRoot }).catch((error) => {
        onDownloadError(error);
        if (!res.headersSent) res.writeHead(500).end('Internal error');
        else res.destroy();
      });
      return;
    }
    if (isConsoleRequest(req.method, url.pathname)) {
      consoleFiles.serve(req, res, url.pathname);
      return;
    }
    // Bodies over their limit (uploads: DATASET_MAX_BYTES) are refused here, before yoga buffers them.
    const admitted = uploads.admit(req, res);
    if (!admitted) return;
    eventStreams.track(req, res);
    void yoga.requestListener(admitted, res);
  };
}
