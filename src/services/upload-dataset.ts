// uploadDataset: a CSV or JSON file sent with the GraphQL multipart request spec, checked (size,
// format, a malformed row named by line and column) and stored under
// routine://instances_/{instanceId}/shared_/datasets_/{id}/, parsed as it is written (memory
// follows the preview and the numeric columns, not the file). Bad input is refused and nothing is kept.
import { randomUUID } from 'node:crypto';
import type { Dataset } from '../generated/prisma/client.ts';
import type { Access } from '../access/access.ts';
import { ValidationError } from '../errors.ts';
import { ENV_DEFAULTS } from '../env.ts';
import { ArtifactStore } from '../storage/artifact-store.ts';
import { TabularFormatError, type TabularFormat } from '../storage/tabular.ts';
import type { ServiceDeps } from './deps.ts';
import { requireInstance } from './require-access.ts';

export const DEFAULT_MAX_DATASET_BYTES = ENV_DEFAULTS.DATASET_MAX_BYTES;
const DATASET_NAME = /^[a-z0-9][a-z0-9_.-]{0,63}$/i;

export interface UploadDatasetInput {
  instanceId: string;
  name: string;
  file: File;
  /** Default: from the file name's extension (.csv, .json), then its content type. */
  format?: TabularFormat | null;
}

export async function uploadDataset(deps: ServiceDeps, { access, input }: { access: Access; input: UploadDatasetInput }): Promise<Dataset> {
  const { db } = deps;
  const instance = requireInstance(
    access,
    'uploadDataset',
    await db.routineInstance.findUnique({ where: { id: input.instanceId }, select: { id: true, workspaceId: true } }),
    input.instanceId,
  );
  if (!DATASET_NAME.test(input.name)) {
    throw ValidationError.field(['name'], "Use 1-64 letters, digits, '_', '.', '-', starting with a letter or digit");
  }
  const maxBytes = deps.limits.maxDatasetBytes ?? DEFAULT_MAX_DATASET_BYTES;
  if (input.file.size > maxBytes) {
    throw ValidationError.field(['file'], `The file has ${input.file.size} bytes; at most ${maxBytes} can be uploaded (DATASET_MAX_BYTES)`);
  }
  const format = input.format ?? formatOf(input.file);
  if (!format) throw ValidationError.field(['format'], 'Say whether the file is CSV or JSON (or name it .csv / .json)');
  if (await db.dataset.findUnique({ where: { instanceId_name: { instanceId: instance.id, name: input.name } }, select: { id: true } })) {
    throw ValidationError.field(['name'], `This instance already has a data set named "${input.name}"`);
  }

  const id = randomUUID();
  const store = new ArtifactStore({ rootDir: deps.storageRoot });
  let stored;
  try {
    // Read piece by piece: no second copy of the file, and it is parsed as it is written.
    stored = await store.writeDataset({ instanceId: instance.id, datasetId: id, source: pieces(input.file), format });
  } catch (error) {
    if (error instanceof TabularFormatError) throw ValidationError.field(['file'], error.message);
    throw error;
  }
  try {
    return await db.dataset.create({
      data: {
        id,
        instanceId: instance.id,
        name: input.name,
        path: stored.path,
        contentType: stored.contentType,
        sizeBytes: BigInt(stored.sizeBytes),
        checksum: stored.checksum,
        rowCount: stored.rows,
        columns: stored.columns,
        preview: stored.preview as object,
        statistics: stored.statistics as object,
        createdById: access.user.id,
      },
    });
  } catch (error) {
    // Nothing is kept when the row cannot be written (e.g. the same name uploaded at the same time).
    await store.deleteDataset({ instanceId: instance.id, datasetId: id });
    if ((error as { code?: string }).code === 'P2002') {
      throw ValidationError.field(['name'], `This instance already has a data set named "${input.name}"`);
    }
    throw error;
  }
}

async function* pieces(file: File): AsyncGenerator<Uint8Array> {
  const reader = file.stream().getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

function formatOf(file: File): TabularFormat | null {
  const extension = /\.([a-z]+)$/i.exec(file.name ?? '')?.[1]?.toLowerCase();
  if (extension === 'csv' || extension === 'json') return extension;
  if (/csv/i.test(file.type)) return 'csv';
  if (/json/i.test(file.type)) return 'json';
  return null;
}
