// Fields that read a value already on the row resolve as plain, synchronous property reads.
//
// Two per-row costs dominated a nested page (1,000 runs × 3 artifacts) before this plugin:
// 1. In select mode plugin-prisma gives every exposed column its own one-column selection, and
//    every field with a selection resolves through per-request selection bookkeeping (response-path
//    keys, ancestor scope lookups). A column the type-level `select` already names is on every row
//    the plugin loads, so its field needs no selection: this plugin drops it before plugin-prisma
//    wraps the resolver. Large or rarely read columns stay out of the type-level select and keep
//    their per-field selection, so a page still reads only what its fields ask for.
// 2. plugin-relay's `id` field is an async resolver, so every node object carried a promise and
//    the executor built each object asynchronously. For Prisma nodes identified by their `id`
//    column (`prismaNode(…, { id: { field: 'id' } })`, the only form this schema uses) the global
//    ID is computed synchronously, exactly as plugin-relay encodes it.
import SchemaBuilder, { BasePlugin, type PothosOutputFieldConfig, type SchemaTypes } from '@pothos/core';
import { encodeGlobalID } from '@pothos/plugin-relay';
import type { GraphQLFieldResolver } from 'graphql';

const pluginName = 'plainRowFields';

type Selection = Record<string, unknown>;

export class PlainRowFieldsPlugin<Types extends SchemaTypes> extends BasePlugin<Types> {
  override onOutputFieldConfig(fieldConfig: PothosOutputFieldConfig<Types>): PothosOutputFieldConfig<Types> | null {
    if (fieldConfig.kind !== 'PrismaObject') return fieldConfig;
    const fieldSelect = fieldConfig.extensions?.pothosPrismaSelect as Selection | false | undefined;
    if (!fieldSelect || typeof fieldSelect !== 'object') return fieldConfig;
    const typeSelect = this.typeSelect(fieldConfig.parentType);
    if (!typeSelect) return fieldConfig;
    const columns = Object.keys(fieldSelect);
    // Only plain column selections (`{ name: true }`) of columns the type always loads.
    if (columns.length === 0 || !columns.every((column) => fieldSelect[column] === true && typeSelect[column] === true)) return fieldConfig;
    const { pothosPrismaSelect: _dropped, ...extensions } = fieldConfig.extensions ?? {};
    return { ...fieldConfig, extensions };
  }

  override wrapResolve(
    resolver: GraphQLFieldResolver<unknown, Types['Context'], object>,
    fieldConfig: PothosOutputFieldConfig<Types>,
  ): GraphQLFieldResolver<unknown, Types['Context'], object> {
    if (fieldConfig.name !== 'id' || fieldConfig.type.kind !== 'Scalar') return resolver;
    const typeConfig = this.buildCache.getTypeConfig(fieldConfig.parentType);
    if (typeConfig.kind !== 'Object' || !typeConfig.extensions?.pothosPrismaModel) return resolver;
    if (!typeConfig.interfaces.some((ref) => this.buildCache.getTypeConfig(ref).name === 'Node')) return resolver;
    if (this.typeSelect(fieldConfig.parentType)?.id !== true) return resolver;
    const typename = typeConfig.name;
    return (row) => encodeGlobalID(typename, String((row as { id: string }).id));
  }

  private typeSelect(parentType: string): Selection | undefined {
    return this.buildCache.getTypeConfig(parentType).extensions?.pothosPrismaSelect as Selection | undefined;
  }
}

SchemaBuilder.registerPlugin(pluginName, PlainRowFieldsPlugin);

declare global {
  export namespace PothosSchemaTypes {
    export interface Plugins<Types extends SchemaTypes> {
      plainRowFields: PlainRowFieldsPlugin<Types>;
    }
  }
}
