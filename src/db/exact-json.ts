// Json columns keep exactly the numbers they were given.
//
// Prisma's query compiler (engineType "client") reads the JSON written to a Json column with a
// float parser that is one unit in the last place off for some 17-digit doubles — 0.1 + 0.2 is
// stored as 0.3, 123456789.12345678 as 123456789.1234568 — and turns 1.7976931348623157e308 into
// null (the prisma/prisma float-precision family: #3918, #11096, #22249). For a service whose
// record of inputs, outputs and statistics must be trustworthy, and whose idempotency check
// compares inputs, that is data loss. Reads are exact, and so is JSON handed to Prisma as text in
// its tagged form ({ $type: "Json", value }), which it passes to PostgreSQL untouched. So every
// write of a Json field goes that way: this extension rewrites the Json fields of each write's
// data (nested writes included) before Prisma serializes them.
import { Prisma } from '../generated/prisma/client.ts';
import { getDatamodel } from '../generated/pothos-types.ts';

interface ModelShape {
  json: Set<string>;
  /** Relation field → the related model. */
  relations: Map<string, string>;
}

const MODELS = new Map<string, ModelShape>(
  Object.entries(getDatamodel().datamodel.models).map(([name, { fields }]) => [
    name,
    {
      json: new Set(fields.filter((f) => f.kind === 'scalar' && f.type === 'Json').map((f) => f.name)),
      relations: new Map(fields.filter((f) => f.kind === 'object').map((f) => [f.name, f.type])),
    },
  ]),
);

/** Prisma puts what `toJSON` returns into its protocol as it is: here, the tagged JSON text. */
class JsonText {
  constructor(private readonly text: string) {}
  toJSON() {
    return { $type: 'Json', value: this.text };
  }
}

/** The same conversions Prisma applies to a Json value (BigInt as a string, bytes as base64). */
function serialize(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    typeof inner === 'bigint'
      ? inner.toString()
      : ArrayBuffer.isView(inner)
        ? Buffer.from(inner.buffer, inner.byteOffset, inner.byteLength).toString('base64')
        : inner,
  );
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** A JSON value as users write it; Prisma's null sentinels (JsonNull, DbNull) and null stay as they are. */
function isJsonValue(value: unknown): boolean {
  return ['number', 'string', 'boolean'].includes(typeof value) || Array.isArray(value) || isPlainObject(value);
}

function rewriteData(model: string, data: unknown): unknown {
  if (Array.isArray(data)) return data.map((item) => rewriteData(model, item));
  const shape = MODELS.get(model);
  if (!shape || !isPlainObject(data)) return data;
  let copy: Record<string, unknown> | null = null;
  for (const [key, value] of Object.entries(data)) {
    let next = value;
    if (shape.json.has(key) && isJsonValue(value)) next = new JsonText(serialize(value));
    else if (shape.relations.has(key)) next = rewriteNestedWrites(shape.relations.get(key)!, value);
    if (next !== value) (copy ??= { ...data })[key] = next;
  }
  return copy ?? data;
}

/** A relation field's nested writes: the operations that carry data for the related model. */
function rewriteNestedWrites(model: string, writes: unknown): unknown {
  if (!isPlainObject(writes)) return writes;
  const each = (value: unknown, rewrite: (one: Record<string, unknown>) => unknown) =>
    Array.isArray(value) ? value.map((one) => (isPlainObject(one) ? rewrite(one) : one)) : isPlainObject(value) ? rewrite(value) : value;
  const hasData = (one: Record<string, unknown>) => 'data' in one && !MODELS.get(model)?.json.has('data');
  const out: Record<string, unknown> = { ...writes };
  for (const [operation, value] of Object.entries(writes)) {
    switch (operation) {
      case 'create':
        out.create = rewriteData(model, value);
        break;
      case 'createMany':
        out.createMany = each(value, (one) => ({ ...one, data: rewriteData(model, one.data) }));
        break;
      case 'connectOrCreate':
        out.connectOrCreate = each(value, (one) => ({ ...one, create: rewriteData(model, one.create) }));
        break;
      case 'update':
      case 'updateMany':
        // A to-one update is the data itself, or { where, data }; a to-many one always the latter.
        out[operation] = each(value, (one) => (hasData(one) ? { ...one, data: rewriteData(model, one.data) } : rewriteData(model, one)));
        break;
      case 'upsert':
        out.upsert = each(value, (one) => ({ ...one, create: rewriteData(model, one.create), update: rewriteData(model, one.update) }));
        break;
      default:
        break; // connect, disconnect, set, delete…: no data
    }
  }
  return out;
}

const WRITES = new Set(['create', 'createMany', 'createManyAndReturn', 'update', 'updateMany', 'updateManyAndReturn', 'upsert']);

/** Rewrites the Json fields of one operation's arguments (exported for its test). */
export function exactJsonArgs(model: string, operation: string, args: Record<string, unknown>): Record<string, unknown> {
  if (!WRITES.has(operation) || !MODELS.get(model)) return args;
  if (operation === 'upsert') return { ...args, create: rewriteData(model, args.create), update: rewriteData(model, args.update) };
  return 'data' in args ? { ...args, data: rewriteData(model, args.data) } : args;
}

export const exactJson = Prisma.defineExtension({
  name: 'exact-json',
  query: {
    $allModels: {
      $allOperations({ model, operation, args, query }) {
        return query(exactJsonArgs(model, operation, args as Record<string, unknown>) as typeof args);
      },
    },
  },
});
