// buildApp: one HTTP server carrying GraphQL over HTTP/SSE (yoga), GraphQL over WebSocket
// (graphql-ws on the same /graphql path) and artifact downloads.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { GraphQLSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { User } from '../generated/prisma/client.ts';
import { serveArtifactDownload } from './downloads.ts';
import { authenticateConnectionParams, createYogaServer, type BaseContext } from './yoga.ts';

export interface App {
  server: Server;
  start(options: { port: number; host: string }): Promise<{ url: string; port: number }>;
  stop(): Promise<void>;
}

export function buildApp({ schema, base }: { schema: GraphQLSchema; base: BaseContext }): App {
  const yoga = createYogaServer({ schema, base });

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      return;
    }
    if (url.pathname.startsWith('/artifacts/')) {
      serveArtifactDownload({ req, res, url, db: base.db, links: base.links, storageRoot: base.services.storageRoot }).catch(
        (error) => {
          console.error('download failed', error);
          if (!res.headersSent) res.writeHead(500).end('Internal error');
          else res.destroy();
        },
      );
      return;
    }
    void yoga.requestListener(req, res);
  });

  const wsServer = new WebSocketServer({ server, path: yoga.graphqlEndpoint });
  const wsCleanup = useServer<Record<string, unknown>, { user: User }>(
    {
      onConnect: async (ctx) => {
        const user = await authenticateConnectionParams(base.db, ctx.connectionParams);
        if (!user) return false; // graphql-ws closes with 4403 Forbidden
        ctx.extra.user = user;
        return true;
      },
      execute: (args) => (args.rootValue as { execute: typeof import('graphql').execute }).execute(args),
      subscribe: (args) => (args.rootValue as { subscribe: typeof import('graphql').subscribe }).subscribe(args),
      onSubscribe: async (ctx, _id, payload) => {
        const { schema: envelopedSchema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params: payload,
          socketUser: ctx.extra.user,
        });
        const args = {
          schema: envelopedSchema,
          operationName: payload.operationName,
          document: parse(payload.query),
          variableValues: payload.variables,
          contextValue: await contextFactory(),
          rootValue: { execute, subscribe },
        };
        const errors = validate(args.schema, args.document);
        if (errors.length) return errors;
        return args;
      },
    },
    wsServer,
  );

  return {
    server,
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
      for (const client of wsServer.clients) client.close(1001, 'Server shutting down');
      await wsCleanup.dispose();
      await new Promise<void>((resolve) => wsServer.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
