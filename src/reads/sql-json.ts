// SQL expressions that render values exactly as the GraphQL layer serializes them, so that a
// compiled read (src/reads/compile.ts) answers byte for byte what the resolvers answer:
// DateTime as `Date.toISOString()`, Relay global ids and cursors as their base64 encodings.
import { Prisma } from '../generated/prisma/client.ts';

/** `"t"."column"`: a column of a row alias. Aliases and columns come from code, never from a request. */
export function column(row: string, name: string): Prisma.Sql {
  return Prisma.raw(`${row}."${name}"`);
}

/** Prisma's DateTime columns are `timestamp(3)` holding UTC: rendered like `Date.toISOString()`. */
export function isoDate(value: Prisma.Sql): Prisma.Sql {
  return Prisma.sql`to_char(${value}, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
}

/** PostgreSQL's base64 breaks lines every 76 characters; Node's does not. */
function base64(text: Prisma.Sql): Prisma.Sql {
  return Prisma.sql`translate(encode(convert_to(${text}, 'UTF8'), 'base64'), E'\\n', '')`;
}

/**
 * Node's `base64url`: no padding, no line breaks. `escapeFree`: the text holds no backslash, so it
 * casts to bytea as it is (cheaper than convert_to).
 */
export function base64url(text: Prisma.Sql, { escapeFree = false } = {}): Prisma.Sql {
  const bytes = escapeFree ? Prisma.sql`(${text})::bytea` : Prisma.sql`convert_to(${text}, 'UTF8')`;
  return Prisma.sql`rtrim(translate(encode(${bytes}, 'base64'), E'+/\\n', '-_'), '=')`;
}

/**
 * The relay plugin's global id: base64 of `Typename:id`. Ids are UUIDs: no backslash, so the
 * text casts to bytea as it is (cheaper than convert_to), and with a type name of at most 20
 * characters the encoding stays within one 76-character line.
 */
export function globalId(typename: string, uuid: Prisma.Sql): Prisma.Sql {
  if (typename.length > 20) return base64(Prisma.sql`${Prisma.raw(`'${typename}:'`)} || ${uuid}::text`);
  return Prisma.sql`encode((${Prisma.raw(`'${typename}:'`)} || ${uuid}::text)::bytea, 'base64')`;
}

/** plugin-prisma's cursor on a string column (`cursor: 'id'`): base64 of `GPC:S:value`. */
export function prismaStringCursor(value: Prisma.Sql): Prisma.Sql {
  return base64(Prisma.sql`'GPC:S:' || ${value}::text`);
}

/** A GraphQL response key or type name as an SQL string literal (GraphQL names are [_A-Za-z0-9]). */
export function nameLiteral(name: string): Prisma.Sql {
  if (!/^[_A-Za-z][_0-9A-Za-z]*$/.test(name)) throw new Error(`Not a GraphQL name: ${name}`);
  return Prisma.raw(`'${name}'`);
}

/** PostgreSQL functions take at most 100 arguments: json_build_object at most 50 keys. */
export const MAX_OBJECT_KEYS = 50;

/** A JSON object with the keys in the order given (GraphQL responses keep the query's order). */
export function jsonObject(entries: [key: string, value: Prisma.Sql][]): Prisma.Sql {
  if (entries.length === 0) return Prisma.sql`'{}'::json`;
  return Prisma.sql`json_build_object(${Prisma.join(
    entries.map(([key, value]) => Prisma.sql`${nameLiteral(key)}, ${value}`),
    ', ',
  )})`;
}
