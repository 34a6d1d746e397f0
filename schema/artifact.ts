import type { ArtifactPreview } from '../src/storage/artifact-store.ts';
import { builder } from './builder.ts';

export const ArtifactPreviewRef = builder.objectRef<ArtifactPreview>('ArtifactPreview').implement({
  description: 'The first rows of a table artifact, or the head of a text artifact.',
  fields: (t) => ({
    columns: t.exposeStringList('columns', { nullable: true }),
    rows: t.field({
      type: t.listRef(t.listRef('JSON', { nullable: true })),
      nullable: true,
      resolve: (p) => p.rows as unknown[][] | null,
    }),
    text: t.exposeString('text', { nullable: true }),
    truncated: t.exposeBoolean('truncated'),
  }),
});

export const ArtifactRef = builder.prismaNode('Artifact', {
  // Select mode: every query reads these small columns (their fields resolve as plain reads,
  // schema/plugins/plain-row-fields.ts); JSON columns are read only when a field asks for them.
  select: { id: true, runId: true, name: true, path: true, contentType: true, sizeBytes: true, checksum: true, createdAt: true },
  id: { field: 'id' },
  fields: (t) => ({
    name: t.exposeString('name'),
    run: t.relation('run'),
    path: t.exposeString('path', { description: 'routine://…/artifacts_/{name}/' }),
    contentType: t.exposeString('contentType'),
    sizeBytes: t.field({ type: 'SafeInt', select: { sizeBytes: true }, resolve: (a) => Number(a.sizeBytes) }),
    checksum: t.exposeString('checksum', { description: 'SHA-256 of the data file, hex.' }),
    metadata: t.expose('metadata', { type: 'JSON' }),
    preview: t.field({
      type: ArtifactPreviewRef,
      nullable: true,
      description: 'Present when the run asked for previews.',
      select: { preview: true },
      resolve: (a) => (a.preview as ArtifactPreview | null) ?? null,
    }),
    statistics: t.expose('statistics', {
      type: 'JSON',
      nullable: true,
      description: 'Per-column statistics, present when the run asked for them.',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    downloadUrl: t.string({
      description: 'A signed link to the data file, valid for `expiresInSeconds` (default 3600, at most 7 days).',
      args: { expiresInSeconds: t.arg.int({ defaultValue: 3600 }) },
      resolve: (a, args, ctx) =>
        ctx.links.downloadUrl({ artifactId: a.id, expiresInSeconds: Math.min(Math.max(args.expiresInSeconds ?? 3600, 1), 7 * 86400) }),
    }),
  }),
});
