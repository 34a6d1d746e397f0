// Configures the schema builder (plugins, scalars, context, relay options). Types live in
// one file per domain type beside this one.
import SchemaBuilder from '@pothos/core';
import ErrorsPlugin from '@pothos/plugin-errors';
import PrismaPlugin from '@pothos/plugin-prisma';
import RelayPlugin from '@pothos/plugin-relay';
import ValidationPlugin from '@pothos/plugin-validation';
import { DateTimeResolver, JSONResolver, SafeIntResolver } from 'graphql-scalars';
import type { Context } from '../src/context.ts';
import { inputRelativePath, ValidationError } from '../src/errors.ts';
import type PrismaTypes from '../src/generated/pothos-types.ts';
import { getDatamodel } from '../src/generated/pothos-types.ts';
import './plugins/accepted-arguments.ts';
import { decodeNodeId } from './plugins/edge-errors.ts';
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
  // acceptedArguments next, so refused text never reaches an argument mapper or a resolver, then
  // edgeErrors (malformed ids, rows gone meanwhile: schema/plugins/edge-errors.ts);
  // plainRowFields after prisma, whose field selections it trims.
  plugins: [ErrorsPlugin, 'acceptedArguments', 'edgeErrors', PrismaPlugin, 'plainRowFields', RelayPlugin, ValidationPlugin],
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
    // no row (or a deleted one), as Relay says, not an error.
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

builder.addScalarType('DateTime', DateTimeResolver);
builder.addScalarType('JSON', JSONResolver);
builder.addScalarType('SafeInt', SafeIntResolver);

builder.queryType({});
builder.mutationType({});
builder.subscriptionType({});
