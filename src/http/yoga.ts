// GraphQL over HTTP (and SSE) with yoga, socket-free: app.ts mounts it on a server.
import { createGraphQLError, createYoga, type YogaServerInstance } from 'graphql-yoga';
import type { GraphQLSchema } from 'graphql';
import { authenticate, bearerToken } from '../auth/tokens.ts';
import type { Context } from '../context.ts';
import type { Db } from '../db/client.ts';
import type { User } from '../generated/prisma/client.ts';

export type BaseContext = Omit<Context, 'user'>;

export interface ServerContext {
  /** Set by the graphql-ws server once `connection_init` authenticated the socket. */
  socketUser?: User;
}

export function unauthenticated(message = 'Authentication required: send "Authorization: Bearer <token>"') {
  return createGraphQLError(message, { extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } });
}

export function createYogaServer({
  schema,
  base,
}: {
  schema: GraphQLSchema;
  base: BaseContext;
}): YogaServerInstance<ServerContext, Context> {
  return createYoga<ServerContext, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    graphiql: {
      title: 'Routine Runs',
      // GraphiQL sends this header; paste your token into it.
      headers: JSON.stringify({ Authorization: 'Bearer <your token>' }, null, 2),
      subscriptionsProtocol: 'WS',
    },
    context: async ({ request, socketUser }) => {
      const user = socketUser ?? (await authenticate({ db: base.db, token: bearerToken(request.headers.get('authorization')) }));
      if (!user) throw unauthenticated();
      return { ...base, user };
    },
  });
}

export async function authenticateConnectionParams(db: Db, params: Record<string, unknown> | undefined) {
  const raw = params?.authorization ?? params?.Authorization ?? params?.token;
  if (typeof raw !== 'string') return null;
  return authenticate({ db, token: bearerToken(raw) ?? raw });
}
