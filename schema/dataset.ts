// Uploaded data sets: `uploadDataset` (GraphQL multipart request spec, the `File` scalar) stores
// a CSV or JSON table on an instance; `Dataset.path` is what a run input names to use it.
import { GraphQLError } from 'graphql';
import type { Dataset } from '../src/generated/prisma/client.ts';
import { storedPreview } from '../src/db/json-columns.ts';
import { FILE_SCALAR, isUploadedFile } from '../src/http/multipart-map.ts';
import { MAX_TRACKED_DISTINCT } from '../src/storage/column-statistics.ts';
import { uploadDataset } from '../src/services/upload-dataset.ts';
import { deleteDataset } from '../src/services/delete-dataset.ts';
import { DatasetInUseError } from '../src/errors.ts';
import { encodeGlobalID } from '@pothos/plugin-relay';
import { ArtifactPreviewRef, downloadUrlField } from './artifact.ts';
import { visibleDatasetWhere } from '../src/access/visibility.ts';
import { builder } from './builder.ts';
import { ErrorInterface, ForbiddenError, NotFoundError, ValidationError } from './errors.ts';
import { RoutineInstanceRef } from './instance.ts';

builder.scalarType(FILE_SCALAR, {
  description: 'A file sent with the GraphQL multipart request spec (input only).',
  serialize: () => {
    throw new Error('File is an input-only scalar');
  },
  parseValue: (value) => {
    if (isUploadedFile(value)) return value;
    throw new GraphQLError('Expected a file sent as a multipart upload (GraphQL multipart request spec)');
  },
});

const DatasetFormatEnum = builder.enumType('DatasetFormat', { values: { CSV: { value: 'csv' }, JSON: { value: 'json' } } as const });

const DatasetRef = builder.prismaNode('Dataset', {
  nullable: true,
  select: { id: true },
  id: { field: 'id' },
  // node(id:)/nodes(ids:): a data set of an instance the request cannot see is null, as an unknown id.
  findUnique: (id, ctx) => ({ ...visibleDatasetWhere(ctx.access), id }),
  description: 'A table uploaded to an instance, stored under routine://instances_/{instance}/shared_/datasets_/{id}/.',
  fields: (t) => ({
    name: t.exposeString('name'),
    instance: t.relation('instance'),
    path: t.exposeString('path', { description: 'Give it as a run input: { "path": "<this>", "columns": [...] }.' }),
    contentType: t.exposeString('contentType'),
    sizeBytes: t.field({ type: 'SafeInt', select: { sizeBytes: true }, resolve: (d) => Number(d.sizeBytes) }),
    checksum: t.exposeString('checksum', { description: 'SHA-256 of the file, hex.' }),
    rows: t.exposeInt('rowCount'),
    columns: t.exposeStringList('columns'),
    preview: t.field({
      type: ArtifactPreviewRef,
      nullable: true,
      select: { preview: true },
      resolve: (d) => storedPreview.parse(d.preview ?? null),
    }),
    statistics: t.expose('statistics', {
      type: 'JSON',
      nullable: true,
      description:
        'Per-column statistics, computed while the file streamed in: `{ rows, columns: [{ name, type, count, nulls, … }] }`. ' +
        'A column whose present values are all numbers is `numeric`: `mean`, `std` (sample), `min`, `max` and exact quartiles `q1`, `median`, `q3` ' +
        '(linear interpolation, as numpy/pandas). Any other column is `categorical`: `distinct` and the 10 most frequent values (`top`). ' +
        `Distinct values are counted exactly up to ${MAX_TRACKED_DISTINCT}; past that \`distinctCapped\` is true, \`distinct\` means at least ${MAX_TRACKED_DISTINCT}, ` +
        'and `top` counts only values first seen before the cap.',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    createdBy: t.relation('createdBy'),
    downloadUrl: t.string({
      description: downloadUrlField.description,
      args: { expiresInSeconds: t.arg.int({ defaultValue: downloadUrlField.defaultSeconds }) },
      resolve: (d, args, ctx) =>
        downloadUrlField.resolve(ctx.links, {
          kind: 'dataset',
          id: d.id,
          expiresInSeconds: args.expiresInSeconds,
          tokenId: ctx.access.token.id,
        }),
    }),
  }),
});

const UploadDatasetInput = builder.inputType('UploadDatasetInput', {
  fields: (t) => ({
    instanceId: t.globalID({ required: true, for: RoutineInstanceRef }),
    name: t.string({ required: true, description: "Unique per instance: letters, digits, '_', '.', '-'." }),
    file: t.field({ type: 'File', required: true }),
    format: t.field({ type: DatasetFormatEnum, description: 'Default: from the file name (.csv, .json), then its content type.' }),
  }),
});

const UploadDatasetSuccess = builder.objectRef<{ dataset: Dataset }>('UploadDatasetSuccess').implement({
  fields: (t) => ({ dataset: t.field({ type: DatasetRef, resolve: (result) => result.dataset }) }),
});

builder.mutationField('uploadDataset', (t) =>
  t.field({
    type: UploadDatasetSuccess,
    description:
      'Uploads a CSV (with a header row) or JSON (array of records or rows) table to an instance. A malformed file is a ValidationError naming the line and column.',
    args: { input: t.arg({ type: UploadDatasetInput, required: true }) },
    errors: { types: [ValidationError, NotFoundError, ForbiddenError], directResult: true, union: { name: 'UploadDatasetResult' } },
    resolve: async (_root, { input }, ctx) => ({
      dataset: await uploadDataset(ctx.services, {
        access: ctx.access,
        input: { instanceId: input.instanceId.id, name: input.name, file: input.file, format: input.format ?? null },
      }),
    }),
  }),
);

// ---- deleteDataset ----

builder.objectType(DatasetInUseError, {
  name: 'DatasetInUseError',
  description: 'A run that has not finished (CREATED, QUEUED or RUNNING) names the data set in its inputs; nothing was deleted.',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    runIds: t.idList({
      description: 'Global ids of the first (oldest) such runs, at most 20.',
      resolve: (error) => error.runIds.map((id) => encodeGlobalID('RoutineRun', id)),
    }),
    runCount: t.exposeInt('runCount', { description: 'How many such runs there are.' }),
  }),
});

const DeleteDatasetInput = builder.inputType('DeleteDatasetInput', {
  fields: (t) => ({ id: t.globalID({ required: true, for: DatasetRef }) }),
});

const DeleteDatasetSuccess = builder.objectRef<{ deletedDatasetId: string }>('DeleteDatasetSuccess').implement({
  fields: (t) => ({ deletedDatasetId: t.id({ resolve: (result) => encodeGlobalID('Dataset', result.deletedDatasetId) }) }),
});

builder.mutationField('deleteDataset', (t) =>
  t.field({
    type: DeleteDatasetSuccess,
    description:
      'Removes a data set and its stored file (the same right as uploadDataset). Refused with DatasetInUseError while a CREATED, QUEUED or RUNNING run names it in its inputs; finished runs that read it keep their inputs, outputs and artifacts.',
    args: { input: t.arg({ type: DeleteDatasetInput, required: true }) },
    errors: {
      types: [ValidationError, NotFoundError, ForbiddenError, DatasetInUseError],
      directResult: true,
      union: { name: 'DeleteDatasetResult' },
    },
    resolve: (_root, { input }, ctx) => deleteDataset(ctx.services, { access: ctx.access, datasetId: input.id.id }),
  }),
);
