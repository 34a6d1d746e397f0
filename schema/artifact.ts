import type { ArtifactLinks, DownloadKind } from '../src/http/artifact-links.ts';
import { badInput } from '../src/argument-errors.ts';
import type { ArtifactPreview } from '../src/storage/artifact-store.ts';
import { storedPreview } from '../src/db/json-columns.ts';
import { visibleArtifactWhere } from '../src/access/visibility.ts';
import { builder } from './builder.ts';

const DEFAULT_LINK_SECONDS = 3600;
const MAX_LINK_SECONDS = 7 * 86400;

/** `downloadUrl(expiresInSeconds)`, the same on artifacts and data sets (GET /{artifacts|datasets}/{id}/data). */
export const downloadUrlField = {
  description: `A signed link to the data file, valid for \`expiresInSeconds\` (default ${DEFAULT_LINK_SECONDS}, at most 7 days) while the token that asked for it may see the file (revoked, expired or removed from the workspace: the link is dead too); the same path answers a bearer token.`,
  resolve: (
    links: ArtifactLinks,
    {
      kind,
      id,
      expiresInSeconds,
      tokenId,
    }: { kind: DownloadKind; id: string; expiresInSeconds: number | null | undefined; tokenId: string | null },
  ) => {
    const seconds = expiresInSeconds ?? DEFAULT_LINK_SECONDS;
    // Refused, not clamped: a client asking for a link that is already expired, or valid for
    // decades, should learn that it did not get what it asked for.
    if (seconds < 1 || seconds > MAX_LINK_SECONDS) {
      throw badInput(`expiresInSeconds must be between 1 and ${MAX_LINK_SECONDS} (7 days); got ${seconds}`);
    }
    return links.downloadUrl({ kind, id, expiresInSeconds: seconds, tokenId });
  },
  defaultSeconds: DEFAULT_LINK_SECONDS,
};

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
  nullable: true,
  // Select mode: every query reads these small columns (their fields resolve as plain reads,
  // schema/plugins/plain-row-fields.ts); JSON columns are read only when a field asks for them.
  select: { id: true, runId: true, name: true, path: true, contentType: true, sizeBytes: true, checksum: true, createdAt: true },
  id: { field: 'id' },
  // node(id:)/nodes(ids:): an artifact of a run the request cannot see is null, as an unknown id.
  findUnique: (id, ctx) => ({ ...visibleArtifactWhere(ctx.access), id }),
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
      resolve: (a) => storedPreview.parse(a.preview ?? null),
    }),
    statistics: t.expose('statistics', {
      type: 'JSON',
      nullable: true,
      description: 'Per-column statistics, present when the run asked for them.',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    downloadUrl: t.string({
      description: downloadUrlField.description,
      args: { expiresInSeconds: t.arg.int({ defaultValue: downloadUrlField.defaultSeconds }) },
      resolve: (a, args, ctx) =>
        downloadUrlField.resolve(ctx.links, {
          kind: 'artifact',
          id: a.id,
          expiresInSeconds: args.expiresInSeconds,
          tokenId: ctx.access.token.id,
        }),
    }),
  }),
});
