// Configures the schema builder (plugins, scalars, context, relay options). Types live in
// one file per domain type beside this one.
import SchemaBuilder from '@pothos/core';
import ErrorsPlugin from '@pothos/plugin-errors';
import PrismaPlugin from '@pothos/plugin-prisma';
import RelayPlugin from '@pothos/plugin-relay';
import ValidationPlugin from '@pothos/plugin-validation';
import { GraphQLError, GraphQLScalarType } from 'graphql';
import { DateTimeResolver, JSONResolver, SafeIntResolver } from 'graphql-scalars';
import type { Context } from '../src/context.ts';
import { inputRelativePath, ValidationError } from '../src/errors.ts';
import type PrismaTypes from '../src/generated/pothos-types.ts';
import { getDatamodel } from '../src/generated/pothos-types.ts';
import './plugins/accepted-arguments.ts';
import { decodeNodeId } from './plugins/edge-errors.ts';
import './plugins/mutation-audit.ts';
import './plugins/plain-row-fields.ts';

export const builder = new SchemaBuilder<{
  Context: Context;
  PrismaTypes: PrismaTypes;
  DefaultFieldNullability: false;
  Scalars: {
    DateTime: { Input: Date; Output: Date };
    JSON: { Input: unknown; Output: unknown };
    SafeInt: { Input: number; Output: number | bigint };
    ID: { Input: string; Output: string | number | bigint };
    /** Uploads (GraphQL multipart request spec); input only. */
    File: { Input: File; Output: never };
  };
}>({
  // Errors first, so it wraps (and turns into typed results) what the other plugins throw;
  // mutationAudit right inside it, so every mutation is rate limited before anything else runs
  // and audited with the result type it answers (schema/plugins/mutation-audit.ts); acceptedArguments next, so refused text never reaches an argument mapper or a resolver, then
  // edgeErrors (malformed ids, rows gone meanwhile: schema/plugins/edge-errors.ts);
  // plainRowFields after prisma, whose field selections it trims.
  plugins: [
    ErrorsPlugin,
    'mutationAudit',
    'acceptedArguments',
    'edgeErrors',
    PrismaPlugin,
    'plainRowFields',
    RelayPlugin,
    ValidationPlugin,
  ],
  defaultFieldNullability: false,
  prisma: {
    client: (ctx) => ctx.db,
    dmmf: getDatamodel(),
    exposeDescriptions: false,
    filterConnectionTotalCount: true,
    // Subscription payloads are resolved from rows already loaded (schema/run-event.ts).
    onUnusedQuery: null,
  },
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
    decodeGlobalID: decodeNodeId,
    // Every prismaNode is `nullable: true`: node(id:)/nodes(ids:) answer null for an id that names
    // no row (or a deleted one), as Relay says, not an error. Each node type of a workspace (and
    // User) loads through a `findUnique` scoped by the request's access, so an id the request may
    // not see is that same null: invisible is indistinguishable from absent.
  },
  errors: {
    // Input validation failures become ValidationError results, like the services' own.
    unsafelyHandleInputErrors: true,
  },
  validation: {
    validationError: (result) =>
      new ValidationError(
        result.issues.map((issue) => ({
          path: inputRelativePath((issue.path ?? []).map((part) => String(typeof part === 'object' ? part.key : part))),
          message: issue.message,
        })),
      ),
  },
});

// PostgreSQL's timestamp holds years 4713 BC to 294276 AD, but ISO text (and what clients
// expect back) years 0001 to 9999: any other date is refused as the variable's or argument's
// coercion error (BAD_USER_INPUT, src/argument-errors.ts) before a resolver or query sees it.
// A GraphQLError, as graphql-scalars' own: yoga masks any other error as "Unexpected error.".
// A literal in the document is different: graphql-js names the argument and the value only for
// an error that is not a GraphQLError (`Expected value of type "DateTime", found …; …`).
function withinTimestamp(date: Date, { literal = false } = {}): Date {
  const year = date.getUTCFullYear();
  if (year >= 1 && year <= 9999) return date;
  const message = `DateTime must be in the years 0001 to 9999, got year ${year} (${date.toISOString()})`;
  throw literal ? new TypeError(message) : new GraphQLError(message);
}
builder.addScalarType(
  'DateTime',
  new GraphQLScalarType({
    ...DateTimeResolver.toConfig(),
    parseValue: (value) => withinTimestamp(DateTimeResolver.parseValue(value) as Date),
    parseLiteral: (ast, variables) => withinTimestamp(DateTimeResolver.parseLiteral(ast, variables) as Date, { literal: true }),
  }),
);
builder.addScalarType('JSON', JSONResolver);
builder.addScalarType('SafeInt', SafeIntResolver);

builder.queryType({});
builder.mutationType({});
builder.subscriptionType({});
