// Every mutation, once, for every field: the per-token rate limit first, then one AuditEvent row
// whatever the outcome — a success, an error answered as a union member, or a thrown error.
//
// Where it sits (schema/builder.ts lists it right after the errors plugin):
// - its onOutputFieldConfig runs before the errors plugin's (Pothos applies them last to first), so
//   RateLimitedError joins each mutation's `errors.types` and so its result union;
// - its wrapArgMappers wraps everything below the errors plugin's own: the text rules
//   (accepted-arguments), the id decoding (edge-errors), the argument mappers and the resolver with
//   the errors plugin's resolve wrapper. It sees the raw arguments (global ids as sent), typed
//   errors as the union members they became, and thrown ones, which the errors plugin outside
//   turns into union members (a RateLimitedError thrown here too) or yoga masks.
// Queries and subscriptions pass untouched: no statement is added to a read.
import SchemaBuilder, { BasePlugin, type PothosOutputFieldConfig, type SchemaTypes } from '@pothos/core';
import { errorTypeMap } from '@pothos/plugin-errors';
import { decodeGlobalID, encodeGlobalID } from '@pothos/plugin-relay';
import {
  getNamedType,
  isInterfaceType,
  isListType,
  isNonNullType,
  isObjectType,
  isUnionType,
  type GraphQLFieldResolver,
  type GraphQLObjectType,
  type GraphQLOutputType,
  type GraphQLResolveInfo,
  type GraphQLSchema,
} from 'graphql';
import { randomUUID } from 'node:crypto';
import { rateKeys } from '../../src/access/rate-limit.ts';
import type { Context } from '../../src/context.ts';
import { queryRows } from '../../src/db/client.ts';
import { isUuid } from '../../src/db/ids.ts';
import { Prisma } from '../../src/generated/prisma/client.ts';
import { RateLimitedError } from '../../src/errors.ts';
import { processLogger } from '../../src/logger.ts';

const pluginName = 'mutationAudit';

/** Enough to name what a bulk mutation touched without making one audit row megabytes long. */
const MAX_TARGETS = 100;
const MAX_NAMED_TARGETS = 20;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Pothos keys type configs by a class of any arguments
type ErrorClass = new (...args: any[]) => Error;

export interface AuditRecord {
  userId: string;
  tokenId: string | null;
  workspaceId: string | null;
  operation: string;
  targetIds: string[];
  resultType: string;
  address: string | null;
}

export class MutationAuditPlugin<Types extends SchemaTypes> extends BasePlugin<Types> {
  override onOutputFieldConfig(fieldConfig: PothosOutputFieldConfig<Types>): PothosOutputFieldConfig<Types> {
    if (fieldConfig.kind !== 'Mutation') return fieldConfig;
    const errors = fieldConfig.pothosOptions.errors as { types?: ErrorClass[] } | undefined;
    // A mutation without typed errors would answer a refusal as a masked "Unexpected error.": every
    // mutation of this schema has them (test/access-audit.test.ts checks RateLimitedError is in every union).
    if (!errors) return fieldConfig;
    return {
      ...fieldConfig,
      pothosOptions: { ...fieldConfig.pothosOptions, errors: { ...errors, types: [...(errors.types ?? []), RateLimitedError] } },
    } as PothosOutputFieldConfig<Types>;
  }

  override wrapArgMappers(
    resolver: GraphQLFieldResolver<unknown, Types['Context'], object> | undefined,
    fieldConfig: PothosOutputFieldConfig<Types>,
  ): GraphQLFieldResolver<unknown, Types['Context'], object> | undefined {
    if (!resolver || fieldConfig.kind !== 'Mutation') return resolver;
    const errorTypes = (fieldConfig.extensions?.pothosErrors ?? []) as ErrorClass[];
    const typeName = (errorType: ErrorClass) => this.buildCache.getTypeConfig(errorType).name;
    return async (parent, args, context, info) => {
      const ctx = context as Context;
      const operation = fieldConfig.name;
      // Each named id costs a lookup of its workspace: a record keeps the first few an input names.
      const named = globalIdsIn(args, nodeTypesOf(info.schema)).slice(0, MAX_NAMED_TARGETS);
      let resultType = 'Error';
      let result: unknown;
      let failed = true;
      // Looked up before the mutation runs: after a delete the target is gone.
      const targetWorkspaces = await workspacesOfTargets(ctx, named).catch((error: unknown) => {
        auditLog().warn({ err: error, operation }, 'audit: could not find the workspace of a mutation target');
        return named.map(() => null);
      });
      const workspaceBefore = targetWorkspaces.find((workspaceId) => workspaceId !== null) ?? null;
      // The record is read by the ADMINs of its workspace: ids of another workspace's things that the
      // input named (a probe, a mistake) are not theirs to learn.
      const recorded = named.filter((_, i) => targetWorkspaces[i] === null || targetWorkspaces[i] === workspaceBefore);
      try {
        ctx.services.mutationRate?.take(rateKeys(ctx.access));
        result = await resolver(parent, args, context, info);
        // The errors plugin answers a typed error as a proxy whose prototypes are proxies too, so
        // `instanceof Error` is false for it: its map says which error type it answers as.
        const answered = result !== null && typeof result === 'object' ? (errorTypeMap.get(result) as ErrorClass | undefined) : undefined;
        failed = answered !== undefined || result instanceof Error;
        resultType = answered ? typeName(answered) : failed ? 'Error' : successTypeName(info);
        return result;
      } catch (error) {
        const matched = errorTypes.find((type) => error instanceof type);
        resultType = matched ? typeName(matched) : 'Error';
        throw error;
      } finally {
        const made = failed ? { ids: [], workspaceId: null } : createdIn(result, info);
        await writeAudit(ctx, {
          userId: ctx.access.user.id,
          tokenId: ctx.access.token.id,
          workspaceId: workspaceBefore ?? made.workspaceId,
          operation,
          targetIds: [...new Set([...recorded.map((id) => id.globalId), ...made.ids])].slice(0, MAX_TARGETS),
          resultType,
          address: ctx.address ?? null,
        });
      }
    };
  }
}

function auditLog() {
  return processLogger().child({ name: 'audit' });
}

/**
 * Never fails the mutation it records: a lost audit row is logged, the answer goes out. Written on
 * the driver: Prisma's create cost ten times its CPU, on every mutation (bench/create-burst.ts).
 */
async function writeAudit(ctx: Context, record: AuditRecord): Promise<void> {
  try {
    await queryRows(
      ctx.db,
      Prisma.sql`INSERT INTO "AuditEvent" (id, at, "userId", "tokenId", "workspaceId", operation, "targetIds", "resultType", address)
        VALUES (${randomUUID()}::uuid, ${new Date()}::timestamp, ${record.userId}::uuid, ${record.tokenId}::uuid,
          ${record.workspaceId}::uuid, ${record.operation}, ${record.targetIds}::text[], ${record.resultType}, ${record.address})`,
    );
  } catch (error) {
    auditLog().error({ err: error, operation: record.operation, userId: record.userId }, 'audit: could not write an audit event');
  }
}

const nodeTypeCache = new WeakMap<GraphQLSchema, ReadonlySet<string>>();
function nodeTypesOf(schema: GraphQLSchema): ReadonlySet<string> {
  let types = nodeTypeCache.get(schema);
  if (!types) {
    const node = schema.getType('Node');
    types = new Set(
      isInterfaceType(node)
        ? Object.values(schema.getTypeMap())
            .filter((type) => isObjectType(type) && type.getInterfaces().includes(node))
            .map((type) => type.name)
        : [],
    );
    nodeTypeCache.set(schema, types);
  }
  return types;
}

interface NamedId {
  globalId: string;
  typename: string;
  id: string;
}

/** Every string of the raw arguments that is a global id of a Node type (inputs, filters, lists). */
export function globalIdsIn(args: unknown, nodeTypes: ReadonlySet<string>, found: NamedId[] = [], depth = 0): NamedId[] {
  if (found.length >= MAX_TARGETS || depth > 8) return found;
  if (typeof args === 'string') {
    if (args.length > 200) return found;
    // Most strings of an input are no global id, and decodeGlobalID refuses each with a thrown
    // GraphQLError (a stack trace per method name, label or enum value): only a string that
    // decodes to "<node type>:" is worth asking.
    const text = Buffer.from(args, 'base64').toString('utf8');
    const colon = text.indexOf(':');
    if (colon <= 0 || !nodeTypes.has(text.slice(0, colon))) return found;
    try {
      const { typename, id } = decodeGlobalID(args);
      if (nodeTypes.has(typename) && isUuid(id) && !found.some((named) => named.globalId === args))
        found.push({ globalId: args, typename, id });
    } catch {
      // not a global id: any other text of the input
    }
  } else if (Array.isArray(args)) {
    for (const item of args) globalIdsIn(item, nodeTypes, found, depth + 1);
  } else if (args && typeof args === 'object' && !(args instanceof Blob)) {
    for (const value of Object.values(args)) globalIdsIn(value, nodeTypes, found, depth + 1);
  }
  return found;
}

/** The workspace of each named target (null: global, or no such thing). One indexed lookup per id; inputs name a few. */
async function workspacesOfTargets(ctx: Context, named: NamedId[]): Promise<Array<string | null>> {
  return Promise.all(named.map(({ typename, id }) => workspaceOf(ctx, typename, id)));
}

async function workspaceOf(ctx: Context, typename: string, id: string): Promise<string | null> {
  const { db } = ctx;
  switch (typename) {
    case 'Workspace':
      return id;
    // The two every run mutation names, on the driver (a tenth of Prisma's CPU per lookup).
    case 'RoutineRun':
      return workspaceColumn(db, Prisma.sql`SELECT "workspaceId"::text AS "workspaceId" FROM "RoutineRun" WHERE id = ${id}::uuid`);
    case 'RoutineInstance':
      return workspaceColumn(db, Prisma.sql`SELECT "workspaceId"::text AS "workspaceId" FROM "RoutineInstance" WHERE id = ${id}::uuid`);
    case 'Dataset':
      return (
        (await db.dataset.findUnique({ where: { id }, select: { instance: { select: { workspaceId: true } } } }))?.instance.workspaceId ??
        null
      );
    case 'Artifact':
      return (await db.artifact.findUnique({ where: { id }, select: { run: { select: { workspaceId: true } } } }))?.run.workspaceId ?? null;
    case 'Schedule':
      return (await db.schedule.findUnique({ where: { id }, select: { workspaceId: true } }))?.workspaceId ?? null;
    case 'ApiToken':
      return (await db.apiToken.findUnique({ where: { id }, select: { workspaceId: true } }))?.workspaceId ?? null;
    default:
      // Routines and users are global; a type added later names its workspace through one of the above.
      return null;
  }
}

async function workspaceColumn(db: Context['db'], sql: Prisma.Sql): Promise<string | null> {
  const [row] = await queryRows<{ workspaceId: string }>(db, sql);
  return row?.workspaceId ?? null;
}

/** The success member of the mutation's result union. */
function successTypeName(info: GraphQLResolveInfo): string {
  const type = getNamedType(info.returnType);
  if (!isUnionType(type)) return type.name;
  const success = type.getTypes().find((member) => !member.getInterfaces().some((iface) => iface.name === 'Error'));
  return success?.name ?? type.name;
}

interface RowLike {
  id?: unknown;
  workspaceId?: unknown;
}

/**
 * What a success names: the global ids of the nodes its fields return (the new run, the updated
 * instance), and the workspace they live in, for a mutation whose input named none (a create in
 * the default workspace).
 */
function createdIn(result: unknown, info: GraphQLResolveInfo): { ids: string[]; workspaceId: string | null } {
  const ids: string[] = [];
  let workspaceId: string | null = null;
  const type = successType(info);
  if (!type || !result || typeof result !== 'object') return { ids, workspaceId };
  const nodeTypes = nodeTypesOf(info.schema);
  for (const [name, field] of Object.entries(type.getFields())) {
    const nodeType = getNamedType(field.type);
    if (!nodeTypes.has(nodeType.name)) continue;
    const value = (result as Record<string, unknown>)[name];
    const rows = (isListOf(field.type) && Array.isArray(value) ? value : [value]) as unknown[];
    for (const row of rows.slice(0, MAX_TARGETS)) {
      if (!row || typeof row !== 'object') continue;
      const { id, workspaceId: rowWorkspace } = row as RowLike;
      if (typeof id !== 'string' || !isUuid(id)) continue;
      ids.push(encodeGlobalID(nodeType.name, id));
      workspaceId ??= nodeType.name === 'Workspace' ? id : typeof rowWorkspace === 'string' ? rowWorkspace : null;
    }
  }
  return { ids, workspaceId };
}

function successType(info: GraphQLResolveInfo): GraphQLObjectType | null {
  const type = getNamedType(info.returnType);
  if (isObjectType(type)) return type;
  if (!isUnionType(type)) return null;
  return type.getTypes().find((member) => !member.getInterfaces().some((iface) => iface.name === 'Error')) ?? null;
}

function isListOf(type: GraphQLOutputType): boolean {
  return isListType(isNonNullType(type) ? type.ofType : type);
}

SchemaBuilder.registerPlugin(pluginName, MutationAuditPlugin);

declare global {
  export namespace PothosSchemaTypes {
    export interface Plugins<Types extends SchemaTypes> {
      mutationAudit: MutationAuditPlugin<Types>;
    }
  }
}
