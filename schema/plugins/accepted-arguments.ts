// Every field's arguments go through the text rules (src/http/accepted-arguments.ts) before its
// argument mappers and resolver run, so no service needs its own check and HTTP, SSE and
// graphql-ws (one schema) refuse the same text the same way. A field whose result union has
// ValidationError answers one naming the bad input (the errors plugin, outside this one, turns it
// into the typed result); any other field answers a BAD_USER_INPUT GraphQLError.
import SchemaBuilder, { BasePlugin, type PothosOutputFieldConfig, type SchemaTypes } from '@pothos/core';
import type { GraphQLFieldResolver } from 'graphql';
import { argumentErrors, refusedArgumentsError } from '../../src/http/accepted-arguments.ts';
import { inputRelativePath, ValidationError } from '../../src/errors.ts';

const pluginName = 'acceptedArguments';

type PrismaSelect = (...args: unknown[]) => unknown;

export class AcceptedArgumentsPlugin<Types extends SchemaTypes> extends BasePlugin<Types> {
  /**
   * A prisma relation field (relatedConnection, or a field with `select`) reads its arguments
   * (cursors, page sizes) while its PARENT is loaded: what they throw there fails the parent (the
   * whole run is null) and comes before the text rules of the field's own resolver. Such a
   * selection loads nothing instead, so the field's resolver runs with the rules above: its
   * arguments are refused there, at its own path, or its fallback query loads it.
   */
  override onOutputFieldConfig(fieldConfig: PothosOutputFieldConfig<Types>): PothosOutputFieldConfig<Types> {
    const select = fieldConfig.extensions?.pothosPrismaSelect as PrismaSelect | undefined;
    if (typeof select !== 'function') return fieldConfig;
    const guarded: PrismaSelect = (...args) => {
      try {
        return select(...args);
      } catch {
        return {};
      }
    };
    return { ...fieldConfig, extensions: { ...fieldConfig.extensions, pothosPrismaSelect: guarded } };
  }

  override wrapArgMappers(
    resolver: GraphQLFieldResolver<unknown, Types['Context'], object> | undefined,
    fieldConfig: PothosOutputFieldConfig<Types>,
  ): GraphQLFieldResolver<unknown, Types['Context'], object> | undefined {
    if (!resolver || Object.keys(fieldConfig.args).length === 0) return resolver;
    const errorTypes = (fieldConfig.extensions?.pothosErrors ?? []) as (abstract new (...args: never[]) => Error)[];
    const typed = errorTypes.some((type) => type === ValidationError || ValidationError.prototype instanceof type);
    return (parent, args, context, info) => {
      const errors = argumentErrors(info.parentType.getFields()[info.fieldName].args, args as Record<string, unknown>);
      if (errors.length > 0) {
        throw typed
          ? new ValidationError(errors.map((error) => ({ ...error, path: inputRelativePath(error.path) })))
          : refusedArgumentsError(errors);
      }
      return resolver(parent, args, context, info);
    };
  }
}

SchemaBuilder.registerPlugin(pluginName, AcceptedArgumentsPlugin);

declare global {
  export namespace PothosSchemaTypes {
    export interface Plugins<Types extends SchemaTypes> {
      acceptedArguments: AcceptedArgumentsPlugin<Types>;
    }
  }
}
