// GraphQL over HTTP (and SSE) with yoga, socket-free: app.ts mounts it on a server.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { context as otelContext, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { createGraphQLError, createYoga, type Plugin as YogaPlugin, type YogaServerInstance } from 'graphql-yoga';
import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import type { DocumentNode, GraphQLSchema, OperationDefinitionNode } from 'graphql';
import { useArgumentErrors } from '../argument-errors.ts';
import { costOptions, useVariableCost } from './operation-cost.ts';
import { bearerToken, checkToken, TokenRefusal } from '../auth/tokens.ts';
import type { Context } from '../context.ts';
import type { Db } from '../db/client.ts';
import type { Access } from '../access/access.ts';
import { useCompiledReads, type CompiledReadLog } from '../reads/plugin.ts';
import { useDocumentNesting } from './document-nesting.ts';
import { ENV_DEFAULTS } from '../env.ts';
import { useMultipartMapCheck, useMultipartParser } from './multipart-map.ts';
import { liveAccessOf } from './live-access.ts';
import { processLogger } from '../logger.ts';
import { contextFromCarrier, tracer, tracingPipeline } from '../observability/tracing.ts';
import { useGraphQLMetrics } from '../observability/graphql-metrics.ts';
import { maskErrorNamingOutage, yogaLogger } from './outage-errors.ts';
import { usePersistedQueries } from './persisted-queries.ts';

export type BaseContext = Omit<Context, 'user' | 'access' | 'address'>;

export interface ServerContext {
  /** Set by the graphql-ws server once `connection_init` authenticated the socket. */
  socketAccess?: Access;
  /** The graphql-ws upgrade request's remote address. */
  socketAddress?: string | null;
  /** The Node request, when yoga serves through its requestListener (src/http/http-routes.ts). */
  req?: IncomingMessage;
}

/** The 401 GraphQL error for a refused token: its message and `reason` say the same as a socket's close reason. */
export function unauthenticated(refusal = new TokenRefusal('MISSING')) {
  return createGraphQLError(refusal.message, {
    extensions: { code: 'UNAUTHENTICATED', reason: refusal.reason, http: { status: 401, headers: { 'www-authenticate': 'Bearer' } } },
  });
}

/** Limits on what one operation may ask (GRAPHQL_MAX_* in src/env.ts). */
export interface GraphQLLimits {
  maxDepth: number;
  maxAliases: number;
  maxTokens: number;
  maxCost: number;
  maxDirectives: number;
}

export const DEFAULT_GRAPHQL_LIMITS: GraphQLLimits = {
  // GRAPHQL_MAX_DEPTH's default fits the deepest run-graph read, routines → instances → edges → node
  // → runs → edges → node → artifacts → preview → rows: 10
  maxDepth: ENV_DEFAULTS.GRAPHQL_MAX_DEPTH,
  maxAliases: ENV_DEFAULTS.GRAPHQL_MAX_ALIASES,
  maxTokens: ENV_DEFAULTS.GRAPHQL_MAX_TOKENS,
  maxCost: ENV_DEFAULTS.GRAPHQL_MAX_COST,
  maxDirectives: ENV_DEFAULTS.GRAPHQL_MAX_DIRECTIVES,
};

export function createYogaServer({
  schema,
  base,
  limits = DEFAULT_GRAPHQL_LIMITS,
  compiledReads = true,
  onCompiledReadFallback,
  log,
  maxRequestBodySize,
}: {
  schema: GraphQLSchema;
  base: BaseContext;
  limits?: GraphQLLimits;
  /** Answer run-graph queries with one SQL statement each (src/reads/), the rest with the resolvers. */
  compiledReads?: boolean;
  /** Told why a query went to the resolvers instead (tests). */
  onCompiledReadFallback?: (reason: string) => void;
  /** Where compiled reads report failed statements, and queries they hand to the resolvers (default stderr). */
  log?: CompiledReadLog;
  /** yoga's own body limit (default 25 MB); false where bodies are limited before yoga (app.ts). */
  maxRequestBodySize?: number | false;
}): YogaServerInstance<ServerContext, Context> {
  return createYoga<ServerContext, Context>({
    schema,
    maxRequestBodySize,
    logging: yogaLogger(),
    maskedErrors: { maskError: maskErrorNamingOutage },
    // Unexpected errors are masked (yoga's default); typed errors are results, and argument
    // errors (bad cursors, ids, page sizes) are GraphQLErrors with a code, shown as they are;
    // useArgumentErrors gives graphql-js's and the Pothos plugins' their code and argument name.
    plugins: [
      useRequestIdAndSpan(),
      useGraphQLMetrics(),
      useAuthenticateFirst(base),
      // After the token: an anonymous client can neither register documents nor probe the store.
      usePersistedQueries(),
      useLiveStreams(base),
      useArgumentErrors(),
      EnvelopArmorPlugin({
        maxDepth: { n: limits.maxDepth },
        maxAliases: { n: limits.maxAliases },
        maxTokens: { n: limits.maxTokens },
        // Literal `first`/`last` here; useVariableCost counts `first: $n` once variables are known.
        costLimit: costOptions(limits.maxCost),
        maxDirectives: { n: limits.maxDirectives },
        // Field suggestions stay: every token may read the whole schema anyway.
        blockFieldSuggestion: { enabled: false },
      }),
      useDocumentNesting(),
      useVariableCost({ maxCost: limits.maxCost }),
      useMultipartParser(),
      useMultipartMapCheck(),
      ...(compiledReads ? [useCompiledReads({ onFallback: onCompiledReadFallback, log })] : []),
    ],
    graphqlEndpoint: '/graphql',
    landingPage: false,
    graphiql: {
      title: 'Routine Runs',
      // GraphiQL sends this header; paste your token into it.
      headers: JSON.stringify({ Authorization: 'Bearer <your token>' }, null, 2),
      subscriptionsProtocol: 'WS',
    },
    context: async ({ request, socketAccess, socketAddress, req }) => {
      const access = socketAccess ?? requestAccess.get(request);
      if (!access) throw unauthenticated();
      return { ...base, user: access.user, access, address: socketAddress ?? remoteAddress(req) };
    },
  });
}

/** Each HTTP request's id: its `x-request-id` header when that is a sane one, otherwise a new UUID. */
const requestIds = new WeakMap<Request, string>();
const SANE_REQUEST_ID = /^[\w.:@/+=-]{1,128}$/;

/** The id of a request yoga serves, for its log lines and span (undefined over graphql-ws). */
export function requestIdOf(request: Request | undefined): string | undefined {
  return request ? requestIds.get(request) : undefined;
}

/**
 * Every request gets an id, echoed in the `x-request-id` response header and carried by its log
 * lines and span, so a client's report finds the server's lines. Each operation is a span (a
 * child of the request's `traceparent`, if it sent one); everything the operation does, such as
 * the workflow start createRun leads to, happens within it and joins its trace.
 */
function useRequestIdAndSpan(): YogaPlugin<ServerContext> {
  const logger = processLogger().child({ name: 'api' });
  return {
    onRequest({ request }) {
      const sent = request.headers.get('x-request-id');
      requestIds.set(request, sent && SANE_REQUEST_ID.test(sent) ? sent : randomUUID());
    },
    onResponse({ request, response }) {
      const requestId = requestIds.get(request);
      if (requestId) response.headers.set('x-request-id', requestId);
    },
    instrumentation: {
      operation({ request }, wrapped) {
        // Without a tracer provider every span is a no-op: reading the request's trace headers into
        // a carrier and entering a context for it would cost each request for nothing.
        if (!tracingPipeline()) return wrapped();
        const parent = contextFromCarrier(Object.fromEntries(request.headers), ROOT_CONTEXT);
        const span = tracer().startSpan(
          'graphql.operation',
          { kind: SpanKind.SERVER, attributes: { 'http.request_id': requestIds.get(request) } },
          parent,
        );
        const end = () => span.end();
        try {
          const running = otelContext.with(trace.setSpan(parent, span), wrapped);
          if (running instanceof Promise) return running.finally(end);
          end();
          return running;
        } catch (error) {
          end();
          throw error;
        }
      },
    },
    onExecute({ args }) {
      return {
        onExecuteDone: ({ result }) =>
          describeOperation(args, 'errors' in result && Array.isArray(result.errors) && result.errors.length > 0),
      };
    },
    onSubscribe({ args }) {
      describeOperation(args, false);
    },
  };

  function describeOperation(args: { contextValue: unknown; operationName?: string | null; document: DocumentNode }, failed: boolean) {
    const operation = args.document.definitions.find(
      (definition): definition is OperationDefinitionNode =>
        definition.kind === 'OperationDefinition' && (!args.operationName || definition.name?.value === args.operationName),
    );
    const type = operation?.operation ?? 'query';
    const name = args.operationName ?? operation?.name?.value ?? '';
    const span = trace.getActiveSpan();
    span?.setAttributes({ 'graphql.operation.type': type, 'graphql.operation.name': name });
    span?.updateName(name ? `${type} ${name}` : type);
    if (failed) span?.setStatus({ code: SpanStatusCode.ERROR });
    const requestId = requestIdOf((args.contextValue as { request?: Request }).request);
    logger.debug({ requestId, operationType: type, operationName: name || undefined, failed }, `graphql ${type} ${name}`.trim());
  }
}

/** Who sent each HTTP request, and what it may do, found before its body was parsed (useAuthenticateFirst). */
const requestAccess = new WeakMap<Request, Access>();

/**
 * Over HTTP and SSE the token is checked before the request's body and document are parsed or
 * validated: an anonymous client learns nothing of the schema from parse or validation errors
 * ("Did you mean…") and gets no upload read. graphql-ws sockets authenticate in connection_init.
 */
function useAuthenticateFirst(base: BaseContext): YogaPlugin<ServerContext> {
  return {
    async onRequestParse({ request, serverContext }) {
      const access = await checkToken({
        db: base.db,
        token: bearerToken(request.headers.get('authorization')),
        cacheMs: base.services.limits.authCacheMs,
        address: remoteAddress((serverContext as ServerContext).req),
      });
      if (access instanceof TokenRefusal) throw unauthenticated(access);
      requestAccess.set(request, access);
    },
  };
}

/**
 * An SSE (or incremental delivery) stream authenticated once, with its request: it ends once its
 * token is revoked or expires, or its access changes (live-access.ts). A graphql-ws socket is
 * closed whole instead (socket-server.ts).
 */
function useLiveStreams(base: BaseContext): YogaPlugin<ServerContext> {
  return {
    onSubscribe({ args }) {
      const context = args.contextValue as Partial<Context> & ServerContext;
      if (context.socketAccess || !context.access) return;
      const access = context.access;
      return {
        onSubscribeResult({ result, setResult }) {
          if (!isAsyncIterable(result)) return;
          setResult(liveAccessOf(base.db, base.services.limits.authCacheMs).guard(access, result));
        },
      };
    },
  };
}

function isAsyncIterable(value: unknown): value is AsyncIterable<never> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

export async function authenticateConnectionParams(
  db: Db,
  params: Record<string, unknown> | undefined,
  cacheMs = 0,
  address: string | null = null,
) {
  const raw = params?.authorization ?? params?.Authorization ?? params?.token;
  if (typeof raw !== 'string') return new TokenRefusal('MISSING');
  return checkToken({ db, token: bearerToken(raw) ?? raw, cacheMs, address });
}

/** The peer's address; a proxy in front of the API shows as itself (X-Forwarded-For is not trusted). */
export function remoteAddress(req: Pick<IncomingMessage, 'socket'> | undefined): string | null {
  return req?.socket?.remoteAddress ?? null;
}
