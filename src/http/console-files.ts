// The web console (src/console, built by `npm run build:console` into dist/console/) as static
// files on the API: `/` and `/index.html` (revalidated on every load, so a new build shows at
// once) and the hashed `/assets/…` (cached for good: a new build has new names).
import { existsSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import sirv from 'sirv';
import { PROJECT_ROOT } from '../paths.ts';

/** Where `npm run build:console` writes the console, from the sources (tsx) and the compiled form (dist/src) alike. */
export const CONSOLE_DIRECTORY = path.join(PROJECT_ROOT, 'dist', 'console');

const ASSETS_PREFIX = '/assets/';

/** Whether a request is the console's (only GET and HEAD of its own paths: nothing else is shadowed). */
export function isConsoleRequest(method: string | undefined, pathname: string): boolean {
  if (method !== 'GET' && method !== 'HEAD') return false;
  return pathname === '/' || pathname === '/index.html' || pathname.startsWith(ASSETS_PREFIX);
}

type Handler = ReturnType<typeof sirv>;

export class ConsoleFiles {
  private handler: Handler | null = null;
  private builtAt = 0;

  constructor(private readonly directory: string = CONSOLE_DIRECTORY) {}

  serve(req: IncomingMessage, res: ServerResponse, pathname: string): void {
    const handler = this.current(pathname);
    if (!handler) {
      if (pathname.startsWith(ASSETS_PREFIX)) res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found\n');
      else
        res
          .writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' })
          .end('The web console is not built. Build it with `npm run build:console` (npm install and npm run build do it too).\n');
      return;
    }
    handler(req as Parameters<Handler>[0], res, () => {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found\n');
    });
  }

  /**
   * sirv lists the files once; a page load (`/`) lists them again when the build changed since,
   * so a rebuild while the API runs serves its new assets.
   */
  private current(pathname: string): Handler | null {
    const index = path.join(this.directory, 'index.html');
    if (this.handler && pathname.startsWith(ASSETS_PREFIX)) return this.handler;
    if (!existsSync(index)) return (this.handler = null);
    const builtAt = statSync(index).mtimeMs;
    if (!this.handler || builtAt !== this.builtAt) {
      this.builtAt = builtAt;
      this.handler = sirv(this.directory, {
        etag: true,
        gzip: true,
        setHeaders: (res, file) => {
          res.setHeader('cache-control', file.startsWith(ASSETS_PREFIX) ? 'public, max-age=31536000, immutable' : 'no-cache');
        },
      });
    }
    return this.handler;
  }
}
