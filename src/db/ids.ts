// Every row a client can name (runs, instances, routines, artifacts, data sets, users) has a UUID
// id (prisma/schema.prisma, @db.Uuid). Anything else would reach PostgreSQL as a cast error, so
// it is refused before any query as the client's mistake.
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}
