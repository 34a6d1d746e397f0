// The envelop plugin that answers queries with compiled reads (src/reads/compile.ts) and hands
// everything else to the resolvers. It runs after parsing, validation and the limits of
// src/http/yoga.ts, and after authentication: the same request is refused the same way.
import { getOperationAST, getVariableValues, Kind, type ExecutionArgs, type ExecutionResult, type FragmentDefinitionNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Context } from '../context.ts';
import { queryValues } from '../db/client.ts';
import { Prisma } from '../generated/prisma/client.ts';
import { compileQuery } from './compile.ts';
import { NotCompilable } from './selection.ts';

/**
 * The response as PostgreSQL wrote it. Over HTTP yoga sends `stringify()`'s text as it is (no
 * parse, no re-serialization); anything that reads `data` (graphql-ws, other plugins) gets it parsed.
 */
function rawResult(dataJson: string): ExecutionResult {
  let data: unknown;
  return {
    get data() {
      return (data ??= JSON.parse(dataJson));
    },
    stringify: () => `{"data":${dataJson}}`,
  } as ExecutionResult;
}

/** The compiled answer, or why the request goes to the resolvers (which answer it, or report its error). */
export async function executeCompiled(args: ExecutionArgs): Promise<ExecutionResult | { fallback: string }> {
  const operation = getOperationAST(args.document, args.operationName);
  if (!operation || operation.operation !== 'query') return { fallback: `not a query` };
  // Only whether they coerce: the resolvers report the errors. Without a limit graphql-js builds one
  // per bad entry, each quoting the whole value: quadratic (20,000 unknown keys held the event loop for minutes).
  const variables = getVariableValues(args.schema, operation.variableDefinitions ?? [], (args.variableValues ?? {}) as Record<string, unknown>, { maxErrors: 0 });
  if (variables.errors) return { fallback: 'variables' };
  const fragments: Record<string, FragmentDefinitionNode> = {};
  for (const definition of args.document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments[definition.name.value] = definition;
  }
  const context = args.contextValue as Context;
  const scope = { schema: args.schema, fragments, variables: variables.coerced };
  const compile = (pagesInStatement: boolean) => compileQuery(scope, context, [operation.selectionSet], { pagesInStatement });
  let statement: Prisma.Sql;
  try {
    statement = await compile(true);
  } catch (error) {
    // Not compiled (NotCompilable), or an argument the resolvers refuse with their own error.
    return { fallback: error instanceof NotCompilable ? `not compiled: ${error.message}` : `argument: ${String(error)}` };
  }
  try {
    let row = await queryValues(context.db, statement);
    // A probed page that was not full: read the pages first, then the answer (src/reads/compile.ts).
    if (row && row[1] !== true) row = await queryValues(context.db, await compile(false));
    if (!row || typeof row[0] !== 'string') return { fallback: 'statement returned nothing' };
    return rawResult(row[0]);
  } catch (error) {
    // A statement it built failed: a bug here, or the database. The resolvers answer (or report the
    // failure masked as usual); the log says which statement to look at.
    console.error('compiled read failed; the resolvers answer instead:', error);
    return { fallback: `statement failed: ${String(error)}` };
  }
}

export function useCompiledReads({ onFallback }: { onFallback?: (reason: string) => void } = {}): Plugin<
  Record<string, unknown>,
  Context
> {
  return {
    onExecute({ executeFn, setExecuteFn }) {
      setExecuteFn(async (args) => {
        const compiled = await executeCompiled(args);
        if (!('fallback' in compiled)) return compiled;
        onFallback?.(compiled.fallback);
        return executeFn(args);
      });
    },
  };
}
