// The plain HTTP requests: a health check, downloads of artifacts and data sets, and everything
// else to GraphQL over HTTP/SSE (yoga) once its body is within the upload limit.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isDownloadPath, serveDownload } from './downloads.ts';
import type { UploadLimit } from './upload-limit.ts';
import type { BaseContext, createYogaServer } from './yoga.ts';

type Yoga = ReturnType<typeof createYogaServer>;

/** The HTTP server, routing each request; WebSocket upgrades are attached to it separately. */
export function createHttpServer(routes: {
  base: BaseContext;
  yoga: Yoga;
  uploads: UploadLimit;
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
  onDownloadError,
}: {
  base: BaseContext;
  yoga: Yoga;
  uploads: UploadLimit;
  onDownloadError: (error: unknown) => void;
}): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      return;
    }
    if (isDownloadPath(url.pathname)) {
      serveDownload({ req, res, url, db: base.db, links: base.links, storageRoot: base.services.storageRoot }).catch((error) => {
        onDownloadError(error);
        if (!res.headersSent) res.writeHead(500).end('Internal error');
        else res.destroy();
      });
      return;
    }
    // Bodies over their limit (uploads: DATASET_MAX_BYTES) are refused here, before yoga buffers them.
    const admitted = uploads.admit(req, res);
    if (admitted) void yoga.requestListener(admitted, res);
  };
}
