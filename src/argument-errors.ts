// Argument errors, in one place: a field without a typed-error union (queries, arguments) refuses
// bad input with a GraphQLError whose extensions.code is BAD_USER_INPUT (as Apollo Server does)
// and whose message names the argument, or the field inside it.
//
// Our own code throws them with `badInput` and the global-ID helpers below. graphql-js (variable
// coercion) and the Pothos plugins (connection arguments, cursors) throw theirs without
// a code; `useArgumentErrors` classifies those on every execution result, so
// HTTP, SSE and graphql-ws (all enveloped by the same yoga instance) answer the same. It also gives
// parse and validation errors theirs: GRAPHQL_PARSE_FAILED, or GRAPHQL_VALIDATION_FAILED for a
// document over a limit (GraphQL Armor's, relabelled: they call themselves "Syntax Error").
import { GraphQLError, Kind, type ExecutionArgs, type ExecutionResult, type FieldNode } from 'graphql';
import { handleStreamOrSingleExecutionResult, type Plugin } from 'graphql-yoga';
import type { FieldError } from './errors.ts';

export const BAD_USER_INPUT = 'BAD_USER_INPUT';
export const VALIDATION_FAILED = 'GRAPHQL_VALIDATION_FAILED';
/** A document over a limit (nesting, tokens, depth, aliases, directives, cost): refused before execution. */
export const LIMIT_EXCEEDED = VALIDATION_FAILED;
export const PARSE_FAILED = 'GRAPHQL_PARSE_FAILED';

/**
 * A client error that is not masked: a bad argument (cursor, page size, filter value, id, refused
 * text) of a field without a typed ValidationError result. `fieldErrors` name the arguments.
 */
export function badInput(message: string, fieldErrors?: FieldError[]): GraphQLError {
  return new GraphQLError(message, { extensions: { code: BAD_USER_INPUT, ...(fieldErrors ? { fieldErrors } : {}) } });
}

/** Some input is megabytes long: an error quotes at most the start and the end of it. */
export function excerpt(text: string, max = 100): string {
  if (text.length <= max) return text;
  const half = Math.floor(max / 2);
  return `${text.slice(0, half)}…${text.slice(-half)} (${text.length} characters)`;
}

/** A document over one of the limits of an operation; the message names the limit. */
export function limitExceeded(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: LIMIT_EXCEEDED } });
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

/** The error as a client should see it: with a code. Global IDs are named by schema/plugins/edge-errors.ts. */
function classify(error: GraphQLError, args: ExecutionArgs, variableNames: string[]): GraphQLError {
  if (error.extensions?.code) return error;
  if (!error.path) {
    // Request errors of graphql-js's execute/subscribe, before any resolver ran.
    if (VARIABLE_ERROR.test(error.message)) return withCode(error, shortened(error.message));
    if (TOO_MANY_VARIABLE_ERRORS.test(error.message) && variableNames.length) {
      return withCode(
        error,
        `Too many errors processing variables (${variableNames.map((name) => `$${name}`).join(', ')}): error limit reached. Execution aborted.`,
      );
    }
    if (TOO_MANY_VARIABLE_ERRORS.test(error.message)) return withCode(error);
    return error;
  }
  if (error.originalError?.name !== 'PothosValidationError') return error;
  if (CONNECTION_ARGUMENT_ERROR.test(error.message)) return withCode(error);
  const field = error.nodes?.[0]?.kind === Kind.FIELD ? (error.nodes[0] as FieldNode) : null;
  if (PLUGIN_CURSOR_ERROR.test(error.message)) {
    const given =
      field?.arguments?.filter((argument) => ['after', 'before'].includes(argument.name.value)).map((argument) => argument.name.value) ??
      [];
    const where = given.length ? given.join(' or ') : 'after or before';
    return withCode(
      error,
      `${where}: not a cursor of this list (pass an edge's cursor or pageInfo's startCursor/endCursor): ${excerpt(error.message, 200)}`,
    );
  }
  return error;
}

function classified(result: ExecutionResult, args: ExecutionArgs): ExecutionResult | null {
  const errors = result.errors;
  if (!errors?.length || errors.every((error) => error.extensions?.code)) return null;
  const variableNames = [
    ...new Set(errors.map((error) => VARIABLE_ERROR.exec(error.message)?.[1]).filter((name): name is string => !!name)),
  ];
  return { ...result, errors: errors.map((error) => classify(error, args, variableNames)) };
}

// ---- Parse and validation errors ----

/**
 * GraphQL Armor labels every limit "Syntax Error: …" and gives it no code, and throws it out of
 * parse (tokens) or validate (the rest) rather than reporting it.
 */
const ARMOR_LIMIT = /^Syntax Error: (.* limit of \d+ exceeded.*)$/s;

/** A parse or validation error as a client should see it: a limit, or else `code`. */
function documentError(error: GraphQLError, code: string): GraphQLError {
  if (error.extensions?.code) return error;
  const limit = ARMOR_LIMIT.exec(error.message);
  return limit ? withCode(error, limit[1], LIMIT_EXCEEDED) : withCode(error, error.message, code);
}

/** Gives graphql-js's and the Pothos plugins' argument errors their code and argument name. */
export function useArgumentErrors(): Plugin {
  const onDone = (args: ExecutionArgs) => (payload: Parameters<typeof handleStreamOrSingleExecutionResult>[0]) =>
    handleStreamOrSingleExecutionResult(payload, ({ result, setResult }) => {
      const next = classified(result, args);
      if (next) setResult(next);
    });
  return {
    // Over graphql-ws nothing else gives parse and validation errors a code (yoga does it for HTTP
    // requests only, and not for errors thrown out of validate).
    onParse:
      () =>
      ({ result, replaceParseResult }) => {
        if (result instanceof GraphQLError) replaceParseResult(documentError(result, PARSE_FAILED));
      },
    onValidate: ({ validateFn, setValidationFn }) => {
      setValidationFn((...args) => {
        try {
          return validateFn(...args).map((error: GraphQLError) => documentError(error, VALIDATION_FAILED));
        } catch (error) {
          if (error instanceof GraphQLError) return [documentError(error, VALIDATION_FAILED)];
          throw error;
        }
      });
    },
    onExecute: ({ args }) => ({ onExecuteDone: onDone(args) }),
    onSubscribe: ({ args }) => ({ onSubscribeResult: onDone(args) }),
  };
}
