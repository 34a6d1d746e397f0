// The routine:// paths of layout.ts as SQL expressions, for compiled reads that build a path in
// PostgreSQL (src/reads/compile.ts). Made from the same segments as the TypeScript forms; kept
// apart only so the method process, which needs the text forms, never loads the Prisma runtime.
import { Prisma } from '../generated/prisma/client.ts';
import { ROUTINE_SCHEME, segments, type ArtifactIds, type DatasetIds, type RunIds, type Segment } from './layout.ts';

/** `'routine://instances_/' || <instanceId>::text || '/shared_/runs_/' || <runId>::text || '/'` */
function renderSql(parts: Segment<Prisma.Sql>[]): Prisma.Sql {
  const pieces: Prisma.Sql[] = [];
  let literal = ROUTINE_SCHEME;
  for (const part of parts) {
    if (typeof part === 'string') {
      literal += part;
      continue;
    }
    if (literal) pieces.push(textLiteral(literal));
    pieces.push(Prisma.sql`${part.id}::text`);
    literal = '';
  }
  if (literal) pieces.push(textLiteral(literal));
  return Prisma.join(pieces, ' || ');
}

// Inlined rather than bound, as the statement always had it: the text comes from layout.ts, not a request.
function textLiteral(text: string): Prisma.Sql {
  if (!/^[a-z_:/]+$/.test(text)) throw new Error(`Not a layout literal: ${text}`);
  return Prisma.raw(`'${text}'`);
}

export const instancePathSql = (ids: { instanceId: Prisma.Sql }) => renderSql(segments.instance(ids));
export const internalVarsPathSql = (ids: { instanceId: Prisma.Sql }) => renderSql(segments.internalVars(ids));
export const runPathSql = (ids: RunIds<Prisma.Sql>) => renderSql(segments.run(ids));
export const artifactsPathSql = (ids: RunIds<Prisma.Sql>) => renderSql(segments.artifacts(ids));
export const artifactPathSql = (ids: ArtifactIds<Prisma.Sql>) => renderSql(segments.artifact(ids));
export const datasetPathSql = (ids: DatasetIds<Prisma.Sql>) => renderSql(segments.dataset(ids));
