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

/**
 * The console holds an API token in sessionStorage: only its own scripts may run (no inline
 * script, no eval), it talks only to its own origin (HTTP and graphql-ws), and no other site may
 * frame it (its buttons cancel runs) or learn its URLs through Referer.
 */
function securityHeaders(host: string | undefined): Record<string, string> {
  // 'self' covers ws:/wss: of the same host only in newer browsers: name the socket origins too.
  const sockets = host && /^[\w.:[\]-]+$/.test(host) ? ` ws://${host} wss://${host}` : '';
  return {
    'content-security-policy': [
      "default-src 'self'",
      "script-src 'self'",
      "style-src 'self'",
      "img-src 'self' data:",
      `connect-src 'self'${sockets}`,
      "object-src 'none'",
      "base-uri 'none'",
      "form-action 'self'",
      "frame-ancestors 'none'",
    ].join('; '),
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
  };
}

export class ConsoleFiles {
  private handler: Handler | null = null;
  private builtAt = 0;

  constructor(private readonly directory: string = CONSOLE_DIRECTORY) {}

  serve(req: IncomingMessage, res: ServerResponse, pathname: string): void {
    for (const [name, value] of Object.entries(securityHeaders(req.headers.host))) res.setHeader(name, value);
    // sirv sets caching in setHeaders below, which a HEAD request does not reach.
    if (!pathname.startsWith(ASSETS_PREFIX)) res.setHeader('cache-control', 'no-cache');
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
