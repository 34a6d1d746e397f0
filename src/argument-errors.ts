// Argument errors, in one place: a field without a typed-error union (queries, arguments) refuses
// bad input with a GraphQLError whose extensions.code is BAD_USER_INPUT (as Apollo Server does)
// and whose message names the argument, or the field inside it.
//
// Our own code throws them with `badInput` and the global-ID helpers below. graphql-js (variable
// coercion) and the Pothos plugins (connection arguments, relay global IDs) throw theirs without
// a code or an argument name; `useArgumentErrors` classifies those on every execution result, so
// HTTP, SSE and graphql-ws (all enveloped by the same yoga instance) answer the same.
import { GraphQLError, Kind, type ExecutionArgs, type ExecutionResult, type FieldNode, type ValueNode } from 'graphql';
import { handleStreamOrSingleExecutionResult, type Plugin } from 'graphql-yoga';

export const BAD_USER_INPUT = 'BAD_USER_INPUT';

/** A client error that is not masked: a bad argument (cursor, page size, filter value, id). */
export function badInput(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: BAD_USER_INPUT } });
}

/** Some input is megabytes long: an error quotes at most the start and the end of it. */
export function excerpt(text: string, max = 100): string {
  if (text.length <= max) return text;
  const half = Math.floor(max / 2);
  return `${text.slice(0, half)}…${text.slice(-half)} (${text.length} characters)`;
}

// ---- Global IDs ----

/** `where` is the argument path, e.g. `input.instanceId` or `ids[1]`. */
export function invalidGlobalIdMessage(where: string, id: string): string {
  return `${where}: "${excerpt(id)}" is not a valid id (pass an \`id\` as the API returned it)`;
}

export function wrongGlobalIdTypeMessage(where: string, id: string, typenames: string[]): string {
  return `${where}: "${excerpt(id)}" is not a ${typenames.join(' or ')} id`;
}

// ---- Classifying graphql-js and Pothos errors ----

const VARIABLE_ERROR = /^Variable "\$([A-Za-z_][A-Za-z0-9_]*)"/;
const TOO_MANY_VARIABLE_ERRORS = /^Too many errors processing variables/;
/** What the relay and prisma plugins throw for connection arguments; each names the argument itself. */
const CONNECTION_ARGUMENT_ERROR = /^Arguments? "(first|last|before|after)"/;
/** The prisma plugin's cursor errors (Invalid cursor, Invalid offset cursor, Cursor must be a string, …). */
const PLUGIN_CURSOR_ERROR = /cursor/i;
const PLUGIN_GLOBAL_ID = { invalid: /^Invalid global ID: ([\s\S]*)$/, wrongType: /^ID: ([\s\S]*) is not of type: ([\s\S]*)$/ };
/** Past this, a message keeps its start (which variable) and its end (what was wrong). */
const MAX_MESSAGE = 800;

function withCode(error: GraphQLError, message = error.message, code = BAD_USER_INPUT): GraphQLError {
  return new GraphQLError(message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    originalError: error.originalError,
    extensions: { ...error.extensions, code },
  });
}

function shortened(message: string): string {
  if (message.length <= MAX_MESSAGE) return message;
  const part = Math.floor(MAX_MESSAGE / 2);
  return `${message.slice(0, part)} … ${message.slice(-part)}`;
}

/**
 * Where `needle` (a string the client sent) sits among the field's arguments, as a path such as
 * `input.instanceId` or `filter.createdBy[0]`; the variables are the raw ones. The walk is bounded:
 * arguments may be JSON hundreds of thousands of levels deep or wide.
 */
export function argumentPathOf(field: FieldNode, variables: Record<string, unknown>, needle: string): string | null {
  let budget = 10_000;
  const inValue = (value: unknown, path: string, depth: number): string | null => {
    if (--budget < 0) return null;
    if (value === needle) return path;
    if (value === null || typeof value !== 'object' || depth > 16) return null;
    const entries: [string, unknown][] = Array.isArray(value)
      ? value.map((item, index) => [`${path}[${index}]`, item])
      : Object.entries(value).map(([key, item]) => [`${path}.${key}`, item]);
    for (const [at, item] of entries) {
      const found = inValue(item, at, depth + 1);
      if (found) return found;
    }
    return null;
  };
  const inNode = (node: ValueNode, path: string, depth: number): string | null => {
    if (--budget < 0 || depth > 16) return null;
    switch (node.kind) {
      case Kind.VARIABLE:
        return inValue(variables[node.name.value], path, depth);
      case Kind.STRING:
        return node.value === needle ? path : null;
      case Kind.LIST:
        for (const [index, item] of node.values.entries()) {
          const found = inNode(item, `${path}[${index}]`, depth + 1);
          if (found) return found;
        }
        return null;
      case Kind.OBJECT:
        for (const field of node.fields) {
          const found = inNode(field.value, `${path}.${field.name.value}`, depth + 1);
          if (found) return found;
        }
        return null;
      default:
        return null;
    }
  };
  for (const argument of field.arguments ?? []) {
    const found = inNode(argument.value, argument.name.value, 0);
    if (found) return found;
  }
  return null;
}

/** The error as a client should see it: with a code, and for a global ID, naming the argument. */
function classify(error: GraphQLError, args: ExecutionArgs, variableNames: string[]): GraphQLError {
  if (error.extensions?.code) return error;
  if (!error.path) {
    // Request errors of graphql-js's execute/subscribe, before any resolver ran.
    if (VARIABLE_ERROR.test(error.message)) return withCode(error, shortened(error.message));
    if (TOO_MANY_VARIABLE_ERRORS.test(error.message) && variableNames.length) {
      return withCode(error, `Too many errors processing variables (${variableNames.map((name) => `$${name}`).join(', ')}): error limit reached. Execution aborted.`);
    }
    if (TOO_MANY_VARIABLE_ERRORS.test(error.message)) return withCode(error);
    return error;
  }
  if (error.originalError?.name !== 'PothosValidationError') return error;
  if (CONNECTION_ARGUMENT_ERROR.test(error.message)) return withCode(error);
  const field = error.nodes?.[0]?.kind === Kind.FIELD ? (error.nodes[0] as FieldNode) : null;
  if (PLUGIN_CURSOR_ERROR.test(error.message)) {
    const given = field?.arguments?.filter((argument) => ['after', 'before'].includes(argument.name.value)).map((argument) => argument.name.value) ?? [];
    const where = given.length ? given.join(' or ') : 'after or before';
    return withCode(error, `${where}: not a cursor of this list (pass an edge's cursor or pageInfo's startCursor/endCursor): ${excerpt(error.message, 200)}`);
  }
  const where = (id: string) =>
    (field && argumentPathOf(field, (args.variableValues ?? {}) as Record<string, unknown>, id)) ?? `an argument of ${field?.name.value ?? 'this field'}`;
  const invalid = PLUGIN_GLOBAL_ID.invalid.exec(error.message);
  if (invalid) return withCode(error, invalidGlobalIdMessage(where(invalid[1]), invalid[1]));
  const wrongType = PLUGIN_GLOBAL_ID.wrongType.exec(error.message);
  if (wrongType) return withCode(error, wrongGlobalIdTypeMessage(where(wrongType[1]), wrongType[1], wrongType[2].split(', ')));
  return error;
}

function classified(result: ExecutionResult, args: ExecutionArgs): ExecutionResult | null {
  const errors = result.errors;
  if (!errors?.length || errors.every((error) => error.extensions?.code)) return null;
  const variableNames = [...new Set(errors.map((error) => VARIABLE_ERROR.exec(error.message)?.[1]).filter((name): name is string => !!name))];
  return { ...result, errors: errors.map((error) => classify(error, args, variableNames)) };
}

/** Gives graphql-js's and the Pothos plugins' argument errors their code and argument name. */
export function useArgumentErrors(): Plugin {
  const onDone =
    (args: ExecutionArgs) =>
    (payload: Parameters<typeof handleStreamOrSingleExecutionResult>[0]) =>
      handleStreamOrSingleExecutionResult(payload, ({ result, setResult }) => {
        const next = classified(result, args);
        if (next) setResult(next);
      });
  return {
    onExecute: ({ args }) => ({ onExecuteDone: onDone(args) }),
    onSubscribe: ({ args }) => ({ onSubscribeResult: onDone(args) }),
  };
}
