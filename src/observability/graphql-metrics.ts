// The envelop plugin behind graphql_request_duration_seconds and the SSE half of
// routine_subscriptions_active (graphql-ws subscriptions are counted in src/http/socket-server.ts,
// where each subscriber, not each shared execution, is seen).
import type { Plugin } from 'graphql-yoga';
import { countSubscription, graphqlRequestDuration } from './metrics.ts';

/** When each operation's document began to be parsed, keyed by its context. */
const parseStarted = new WeakMap<object, number>();

export function useGraphQLMetrics(): Plugin<{ socketAccess?: unknown }> {
  return {
    onParse({ context }) {
      parseStarted.set(context, performance.now());
    },
    onExecute({ args }) {
      const started = parseStarted.get(args.contextValue) ?? performance.now();
      const operationType = operationTypeOf(args.document, args.operationName);
      return {
        onExecuteDone() {
          graphqlRequestDuration.observe({ operation_type: operationType }, (performance.now() - started) / 1000);
        },
      };
    },
    onSubscribe({ args }) {
      if ((args.contextValue as { socketAccess?: unknown }).socketAccess) return;
      return {
        onSubscribeResult({ result, setResult }) {
          if (typeof result === 'object' && result !== null && Symbol.asyncIterator in result) {
            setResult(countSubscription(result as AsyncIterable<never>, 'sse'));
          }
        },
      };
    },
  };
}

type OperationDocument = { definitions: ReadonlyArray<{ kind: string; operation?: string; name?: { value: string } }> };

/** query, mutation or subscription: a fixed set, whatever the client names its operation. */
function operationTypeOf(document: OperationDocument, operationName: string | null | undefined): string {
  const operations = document.definitions.filter((definition) => definition.kind === 'OperationDefinition');
  const chosen = operationName ? operations.find((operation) => operation.name?.value === operationName) : operations[0];
  const type = chosen?.operation;
  return type === 'query' || type === 'mutation' || type === 'subscription' ? type : 'unknown';
}
