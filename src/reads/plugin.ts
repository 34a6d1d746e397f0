// The envelop plugin that answers queries with compiled reads (src/reads/compile.ts) and hands
// the queries it cannot compile to the resolvers. It runs after parsing, validation and the limits
// of src/http/yoga.ts, and after authentication: the same request is refused the same way.
import { createHash } from 'node:crypto';
import {
  getOperationAST,
  GraphQLError,
  getVariableValues,
  isNonNullType,
  Kind,
  locatedError,
  print,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type FragmentDefinitionNode,
  type OperationDefinitionNode,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Context } from '../context.ts';
import { queryValues, type StatementText } from '../db/client.ts';
import { processLogger } from '../logger.ts';
import { LruCache } from '../lru-cache.ts';
import { compileQuery } from './compile.ts';
import { collectFields, NotCompilable, type SelectionScope } from './selection.ts';

/**
 * The response as PostgreSQL wrote it. Over HTTP yoga sends `stringify()`'s bytes as they are (no
 * parse, no re-serialization); anything that reads `data` (graphql-ws, other plugins) gets it parsed.
 * The text is the resolvers' answer as JSON values, not as bytes: PostgreSQL's whitespace, and
 * numbers in Json columns as stored (`12345678901234567890`, not `12345678901234567000`);
 * test/compiled-reads.test.ts pins the difference. `stringify` is an undocumented hook of yoga's
 * result processor, so graphql-yoga is pinned to an exact version; the pinned wire differences
 * fail if an upgrade stops calling it.
 *
 * `stringify` answers a Buffer, not a string: yoga's regular (JSON) processor hands its result to
 * the Response as it is, and a Buffer body is written to the socket as it is, where a string is
 * measured (a pass over a megabyte text) and then encoded again by the socket. The streaming
 * processors (SSE, multipart) put it in a template or a TextEncoder, which read a Buffer as its UTF-8 text.
 */
function rawResult(dataJson: string): ExecutionResult {
  let data: unknown;
  return {
    get data() {
      return (data ??= JSON.parse(dataJson));
    },
    stringify: () => responseBytes(dataJson),
  } as unknown as ExecutionResult;
}

const RESPONSE_HEAD = '{"data":';

/**
 * `{"data":…}` in UTF-8, in one pass over the text when it is ASCII (the usual answer: ids, enums,
 * dates and numbers), without first measuring it or joining it to its head and tail as a string
 * (V8 copies a joined megabyte string before it encodes it). Room for 4 bytes more than an ASCII
 * text needs: a text with any wider character writes more than its length in bytes (or, cut at
 * the end of the room, whole characters at most 3 bytes short of it), never exactly its length.
 */
export function responseBytes(dataJson: string): Buffer {
  const length = dataJson.length;
  const bytes = Buffer.allocUnsafe(RESPONSE_HEAD.length + length + 4 + 1);
  bytes.write(RESPONSE_HEAD, 0, 'latin1');
  if (bytes.write(dataJson, RESPONSE_HEAD.length, 'utf8') === length) {
    bytes[RESPONSE_HEAD.length + length] = 0x7d; // }
    return bytes.subarray(0, RESPONSE_HEAD.length + length + 1);
  }
  return Buffer.from(`${RESPONSE_HEAD}${dataJson}}`, 'utf8');
}

/**
 * A failed statement answered the way graphql-js answers root fields whose resolvers threw: an
 * error located at each, null for each that may be null, `data: null` at the first that may not.
 * The error is unexpected, so yoga masks it ("Unexpected error.", INTERNAL_SERVER_ERROR) like a
 * resolver's database failure. The statement answers every root field at once, so all of them fail.
 */
function failedResult(scope: SelectionScope, operation: OperationDefinitionNode, cause: Error): ExecutionResult {
  const queryType = scope.schema.getQueryType()!;
  const errors: GraphQLError[] = [];
  const data: Record<string, unknown> = {};
  for (const field of collectFields(scope, queryType, [operation.selectionSet])) {
    if (field.name === '__typename') {
      data[field.responseKey] = queryType.name;
      continue;
    }
    errors.push(locatedError(cause, field.nodes, [field.responseKey]));
    if (isNonNullType(field.definition.type)) return { errors, data: null };
    data[field.responseKey] = null;
  }
  return { errors, data };
}

/** Why a request goes to the resolvers: `kind` groups the reasons a document is logged under once. */
interface Fallback {
  fallback: string;
  kind: 'not a query' | 'not compiled' | 'variables' | 'argument';
}

/**
 * The compiled answer (an error answer when its statement fails: running the query again through
 * the resolvers would double the load when the database is struggling, and hide a compiler bug),
 * or why the request goes to the resolvers (which answer it, or report its error).
 */
export type CompiledReadLog = (message: string, level: 'info' | 'error') => void;

/**
 * Statements compiled before, by document, operation, coerced variables and the workspaces the
 * request sees: everything a statement with its page inside (pagesInStatement) is made of, so the
 * same read repeated (a dashboard's poll, a console page) skips the selection walk and the SQL
 * building. Bounded by count and by the statements' text; a document yoga's parse cache forgot
 * stops being asked for and ages out.
 */
export class CompiledStatements {
  private readonly statements: LruCache<string, StatementText | NotCompilable>;
  private readonly documentIds = new WeakMap<DocumentNode, number>();
  private nextDocumentId = 0;

  constructor({ maxStatements = 1000, maxTextBytes = 32 * 1024 * 1024 } = {}) {
    this.statements = new LruCache(maxStatements, {
      maxWeight: maxTextBytes,
      weigh: (entry) => (entry instanceof NotCompilable ? entry.message.length : entry.text.length),
    });
  }

  /** Null when the variables have no JSON form (then nothing is remembered). */
  key(
    document: DocumentNode,
    operationName: string | null | undefined,
    variables: Record<string, unknown>,
    context: Context,
  ): string | null {
    let documentId = this.documentIds.get(document);
    if (documentId === undefined) this.documentIds.set(document, (documentId = ++this.nextDocumentId));
    try {
      return JSON.stringify([documentId, operationName ?? null, variables, context.access.workspaceIds]);
    } catch {
      return null;
    }
  }

  get(key: string | null) {
    return key === null ? undefined : this.statements.get(key);
  }

  set(key: string | null, entry: StatementText | NotCompilable) {
    if (key !== null) this.statements.set(key, entry);
  }
}

export async function executeCompiled(
  args: ExecutionArgs,
  log: CompiledReadLog,
  cache: CompiledStatements,
): Promise<ExecutionResult | Fallback> {
  const operation = getOperationAST(args.document, args.operationName);
  if (!operation || operation.operation !== 'query') return { fallback: 'not a query', kind: 'not a query' };
  // Only whether they coerce: the resolvers report the errors. Without a limit graphql-js builds one
  // per bad entry, each quoting the whole value: quadratic (20,000 unknown keys held the event loop for minutes).
  const variables = getVariableValues(
    args.schema,
    operation.variableDefinitions ?? [],
    (args.variableValues ?? {}) as Record<string, unknown>,
    { maxErrors: 0 },
  );
  if (variables.errors) return { fallback: 'variables', kind: 'variables' };
  const fragments: Record<string, FragmentDefinitionNode> = {};
  for (const definition of args.document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments[definition.name.value] = definition;
  }
  const context = args.contextValue as Context;
  const scope = { schema: args.schema, fragments, variables: variables.coerced };
  const compile = (pagesInStatement: boolean) => compileQuery(scope, context, [operation.selectionSet], { pagesInStatement });
  let statement: StatementText;
  const key = cache.key(args.document, args.operationName, variables.coerced, context);
  try {
    const cached = cache.get(key);
    if (cached instanceof NotCompilable) throw cached;
    if (cached) statement = cached;
    else {
      const compiled = await compile(true);
      statement = { text: compiled.text, values: compiled.values };
      cache.set(key, statement);
    }
  } catch (error) {
    // The same request would fail the same way: remembered too (argument errors are not, they are rare).
    if (error instanceof NotCompilable) cache.set(key, error);
    // Not compiled (NotCompilable), or an argument the resolvers refuse with their own error
    // (a GraphQLError naming it). Anything else is a bug in the compiler: answered and logged as a
    // failure, never hidden behind the resolvers.
    if (error instanceof NotCompilable) return { fallback: `not compiled: ${error.message}`, kind: 'not compiled' };
    if (error instanceof GraphQLError) return { fallback: `argument: ${String(error)}`, kind: 'argument' };
    const cause = error instanceof Error ? error : new Error(String(error));
    log(`compiled read could not be compiled (a bug in src/reads), answered as an error: ${cause.stack ?? String(cause)}`, 'error');
    return failedResult(scope, operation, cause);
  }
  try {
    let row = await queryValues(context.db, statement);
    // A probed page that was not full: read the pages first, then the answer (src/reads/compile.ts).
    if (row && row[1] !== true) row = await queryValues(context.db, await compile(false));
    if (!row || typeof row[0] !== 'string') throw new Error('the statement returned no answer');
    return rawResult(row[0]);
  } catch (error) {
    const cause = error instanceof Error ? error : new Error(String(error));
    const code = (error as { code?: unknown } | null)?.code;
    const operationName = operation.name ? ` (operation ${operation.name.value})` : '';
    log(
      `compiled read failed${operationName}, answered as an error: ${String(cause)}${typeof code === 'string' ? ` [SQLSTATE ${code}]` : ''}`,
      'error',
    );
    return failedResult(scope, operation, cause);
  }
}

/**
 * Remembers which (document, kind of fallback) it has seen, the newest `limit` of them, so that a
 * client repeating a query the compiler does not handle is logged once, not once per request.
 */
export class SeenFallbacks {
  private readonly seen = new Map<string, true>();
  constructor(private readonly limit = 1000) {}

  /** True the first time (or once it was forgotten). */
  firstTime(document: DocumentNode, operationName: string | null | undefined, kind: string): boolean {
    const text = document.loc?.source.body ?? print(document);
    const key = createHash('sha256')
      .update(`${kind}\0${operationName ?? ''}\0${text}`)
      .digest('base64');
    if (this.seen.delete(key)) {
      this.seen.set(key, true); // the most recently seen is kept longest
      return false;
    }
    this.seen.set(key, true);
    if (this.seen.size > this.limit) this.seen.delete(this.seen.keys().next().value!);
    return true;
  }
}

export function useCompiledReads({
  onFallback,
  log = (message, level) => processLogger()[level](message),
}: {
  /** Told why each request went to the resolvers instead (tests). */
  onFallback?: (reason: string) => void;
  /** Where failed statements (each, at error) and fallbacks (once per document and kind, at info) are reported. */
  log?: CompiledReadLog;
} = {}): Plugin<Record<string, unknown>, Context> {
  const seen = new SeenFallbacks();
  const statements = new CompiledStatements();
  return {
    onExecute({ executeFn, setExecuteFn }) {
      setExecuteFn(async (args) => {
        const compiled = await executeCompiled(args, log, statements);
        if (!('fallback' in compiled)) return compiled;
        onFallback?.(compiled.fallback);
        // Mutations and subscriptions are no reads: nothing to look at.
        if (compiled.kind !== 'not a query' && seen.firstTime(args.document, args.operationName, compiled.kind)) {
          const name = getOperationAST(args.document, args.operationName)?.name?.value;
          log(
            `compiled reads: ${name ? `query ${name}` : 'an anonymous query'} goes to the resolvers (logged once per document): ${compiled.fallback}`,
            'info',
          );
        }
        return executeFn(args);
      });
    },
  };
}
