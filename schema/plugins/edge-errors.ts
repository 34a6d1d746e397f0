// What a request's own mistakes and races look like at the edge, in one place for every field:
// - A global ID that cannot name a node (not base64 of "Type:uuid", or a type that is no Node) is
//   refused before any query: a ValidationError naming the argument where the field answers
//   with typed errors, else a BAD_USER_INPUT GraphQL error naming it. Without this, a non-UUID id
//   reached PostgreSQL and came back as "Unexpected error.".
// - A row that disappears (or whose parent disappears) between a service's check and its write
//   is a NotFoundError where the field can answer one: Prisma reports it as P2025 (the record to
//   change is gone) or P2003 (the row it refers to is gone), which would otherwise be masked.
import SchemaBuilder, { BasePlugin, PothosValidationError, type PothosOutputFieldConfig, type SchemaTypes } from '@pothos/core';
import { decodeGlobalID } from '@pothos/plugin-relay';
import { GraphQLError, isInterfaceType, isObjectType, type GraphQLFieldResolver, type GraphQLSchema } from 'graphql';
import { isUuid } from '../../src/db/ids.ts';
import { NotFoundError, ValidationError } from '../../src/errors.ts';

const pluginName = 'edgeErrors';

/** The object types implementing Node, read from the built schema. */
let nodeTypes: ReadonlySet<string> | null = null;

/** A global ID that names no node; `globalID` is what the client sent. */
export class MalformedGlobalIdError extends Error {
  constructor(
    readonly globalID: string,
    reason: string,
  ) {
    super(`Invalid global ID ${JSON.stringify(globalID.length > 100 ? `${globalID.slice(0, 100)}…` : globalID)}: ${reason}`);
    this.name = 'MalformedGlobalIdError';
  }
}

/** plugin-relay's decoder, held to what this schema's ids are: a Node type and a UUID. */
export function decodeNodeId(globalID: string): { typename: string; id: string } {
  let decoded: { typename: string; id: string };
  try {
    decoded = decodeGlobalID(globalID);
  } catch {
    throw new MalformedGlobalIdError(globalID, 'expected the base64 of "Type:id", as the id fields return it');
  }
  if (nodeTypes && !nodeTypes.has(decoded.typename)) throw new MalformedGlobalIdError(globalID, `${decoded.typename} is no node type`);
  if (!isUuid(decoded.id)) throw new MalformedGlobalIdError(globalID, `the ${decoded.typename} id is not a UUID`);
  return decoded;
}

/** Where `value` sits in the field's raw arguments, e.g. ["input", "id"] or ["ids", "2"]. */
function argumentPath(args: unknown, value: string, path: string[] = []): string[] | null {
  if (args === value) return path;
  if (args && typeof args === 'object') {
    for (const [key, inner] of Object.entries(args)) {
      const found = argumentPath(inner, value, [...path, key]);
      if (found) return found;
    }
  }
  return null;
}

function prismaCode(error: unknown): string | undefined {
  const { code, severity } = (error ?? {}) as { code?: unknown; severity?: unknown };
  if (typeof code !== 'string') return undefined;
  if (/^P\d{4}$/.test(code)) return code;
  // A statement sent on the pg driver (queryRows: createRun's write, events) reports PostgreSQL's
  // SQLSTATE: foreign_key_violation is what Prisma calls P2003.
  if (typeof severity === 'string' && code === '23503') return 'P2003';
  return undefined;
}

export class EdgeErrorsPlugin<Types extends SchemaTypes> extends BasePlugin<Types> {
  override afterBuild(schema: GraphQLSchema): GraphQLSchema {
    const node = schema.getType('Node');
    nodeTypes = isInterfaceType(node)
      ? new Set(
          Object.values(schema.getTypeMap())
            .filter((type) => isObjectType(type) && type.getInterfaces().includes(node))
            .map((type) => type.name),
        )
      : null;
    return schema;
  }

  override wrapArgMappers(
    resolver: GraphQLFieldResolver<unknown, Types['Context'], object>,
    fieldConfig: PothosOutputFieldConfig<Types>,
  ): GraphQLFieldResolver<unknown, Types['Context'], object> {
    const errorTypes = (fieldConfig.extensions?.pothosErrors ?? []) as unknown[];
    const typedValidation = errorTypes.includes(ValidationError);
    const typedNotFound = errorTypes.includes(NotFoundError);
    const field = `${fieldConfig.parentType}.${fieldConfig.name}`;
    return async (parent, args, context, info) => {
      try {
        return await resolver(parent, args, context, info);
      } catch (error) {
        if (
          error instanceof MalformedGlobalIdError ||
          (error instanceof PothosValidationError && /^ID: .* is not of type: /.test(error.message))
        ) {
          const globalID =
            error instanceof MalformedGlobalIdError ? error.globalID : error.message.replace(/^ID: (.*) is not of type: .*$/, '$1');
          const where = argumentPath(args, globalID) ?? [];
          const message =
            error instanceof MalformedGlobalIdError
              ? error.message
              : `${JSON.stringify(globalID)} is not of type: ${error.message.replace(/^.* is not of type: /, '')}`;
          if (typedValidation) throw ValidationError.field(where[0] === 'input' ? where.slice(1) : where, message);
          throw new GraphQLError(`Argument "${where.join('.') || '?'}" of ${field}: ${message}`, {
            extensions: { code: 'BAD_USER_INPUT', argument: where.join('.') },
          });
        }
        const code = prismaCode(error);
        if (typedNotFound && (code === 'P2025' || code === 'P2003')) {
          throw new NotFoundError(
            `Not found: what ${fieldConfig.name} works on was deleted meanwhile (${code === 'P2003' ? 'a row it refers to' : 'the record'} is gone)`,
          );
        }
        throw error;
      }
    };
  }
}

SchemaBuilder.registerPlugin(pluginName, EdgeErrorsPlugin);

declare global {
  export namespace PothosSchemaTypes {
    export interface Plugins<Types extends SchemaTypes> {
      edgeErrors: EdgeErrorsPlugin<Types>;
    }
  }
}
