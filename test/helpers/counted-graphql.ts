// GraphQL requests answered in process by yoga on a database client that records every SQL
// statement, so a test (or the benchmark) can count what one request costs. Authentication's own
// statement (the token lookup) is left out of the count.
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print, type ExecutionResult } from 'graphql';
import { schema } from '../../schema/index.ts';
import { createDb, type Db } from '../../src/db/client.ts';
import { ArtifactLinks } from '../../src/http/artifact-links.ts';
import { createYogaServer, type BaseContext, type GraphQLLimits } from '../../src/http/yoga.ts';
import type { CompiledReadLog } from '../../src/reads/plugin.ts';
import type { ServiceDeps } from '../../src/services/deps.ts';

export interface RecordedStatement {
  sql: string;
  params: string;
}

export interface CountedGraphQL {
  db: Db;
  request<TResult, TVariables>(
    document: TypedDocumentNode<TResult, TVariables>,
    variables?: TVariables,
  ): Promise<{ body: ExecutionResult<TResult>; text: string; statements: RecordedStatement[] }>;
  close(): Promise<void>;
}

export function countedGraphQL({
  databaseUrl,
  services,
  token,
  limits,
  compiledReads,
  onCompiledReadFallback,
  log,
}: {
  databaseUrl: string;
  services: ServiceDeps;
  token: string;
  limits?: GraphQLLimits;
  /** Default true, as the API runs. */
  compiledReads?: boolean;
  onCompiledReadFallback?: (reason: string) => void;
  log?: CompiledReadLog;
}): CountedGraphQL {
  let recording: RecordedStatement[] | null = null;
  const db = createDb({ url: databaseUrl, onQuery: (sql, params) => recording?.push({ sql, params }) });
  const base = {
    db,
    services: { ...services, db },
    links: new ArtifactLinks({ baseUrl: 'http://127.0.0.1', secret: 'counted-graphql-secret-0123456789' }),
  } as unknown as BaseContext; // no subscriptions here: no bus, no feeds
  const yoga = createYogaServer({ schema, base, limits, compiledReads, onCompiledReadFallback, log });
  return {
    db,
    async request(document, variables) {
      const statements: RecordedStatement[] = [];
      recording = statements;
      try {
        const response = await yoga.fetch('http://127.0.0.1/graphql', {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ query: print(document), variables }),
        });
        const text = await response.text();
        const body = JSON.parse(text) as ExecutionResult<never>;
        return { body, text, statements: statements.filter((s) => !s.sql.includes('"ApiToken"')) };
      } finally {
        recording = null;
      }
    },
    close: () => db.$disconnect(),
  };
}
