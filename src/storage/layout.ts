// The routine:// layout: where each thing lives, said once. Every path is one list of segments
// (fixed text between ids); the routine:// text (here), the parser of such text (here) and the
// SQL expression compiled reads build it with (layout-sql.ts) are all made from that list, so
// they cannot disagree (test/storage-layout.test.ts checks the SQL against PostgreSQL).
//
//   routine://instances_/{instanceId}/internalvars_/   config-v{n}.json  config-v{n}.json.sha256
//   routine://instances_/{instanceId}/shared_/datasets_/{datasetId}/   data_/data.{csv|json} metadata_ previews_ statistics_
//   routine://instances_/{instanceId}/shared_/runs_/{runId}/shared_/artifacts_/{name}/
//       data_/data.{ext}  metadata_/metadata.json  previews_/preview.json  statistics_/statistics.json
//
// No dependencies: the method process (src/execution/method-process.ts) loads this through the
// artifact store, and the Prisma runtime that the SQL forms need would cost it ~10 MB of its
// measured peak memory.

export const ROUTINE_SCHEME = 'routine://';

const ARTIFACT_NAME = /^[a-z0-9][a-z0-9_.-]{0,63}$/i;
// Raw database ids (uuid, cuid): one path segment, nothing that could walk the tree.
const ID = /^[a-z0-9][a-z0-9_-]{0,127}$/i;

/**
 * A request the store refuses (bad name, bad path, malformed table). Retrying cannot fix it,
 * so the sandbox reads `nonRetryable` and fails the run at once.
 */
export class ArtifactError extends Error {
  readonly nonRetryable = true;
  constructor(message: string) {
    super(message);
    this.name = 'ArtifactError';
  }
}

// ---- The segments of each path (after `routine://`), generic in how an id is written ----

/** Fixed text, or an id (a string in TypeScript, an SQL expression in SQL). */
export type Segment<Id> = string | { id: Id };

export interface RunIds<Id> {
  instanceId: Id;
  runId: Id;
}
export interface ArtifactIds<Id> extends RunIds<Id> {
  name: Id;
}
export interface DatasetIds<Id> {
  instanceId: Id;
  datasetId: Id;
}

export const segments = {
  instance: <Id>({ instanceId }: { instanceId: Id }): Segment<Id>[] => ['instances_/', { id: instanceId }, '/'],
  internalVars: <Id>(ids: { instanceId: Id }): Segment<Id>[] => [...segments.instance(ids), 'internalvars_/'],
  run: <Id>({ instanceId, runId }: RunIds<Id>): Segment<Id>[] => [
    ...segments.instance({ instanceId }),
    'shared_/runs_/',
    { id: runId },
    '/',
  ],
  artifacts: <Id>(ids: RunIds<Id>): Segment<Id>[] => [...segments.run(ids), 'shared_/artifacts_/'],
  artifact: <Id>({ name, ...run }: ArtifactIds<Id>): Segment<Id>[] => [...segments.artifacts(run), { id: name }, '/'],
  dataset: <Id>({ instanceId, datasetId }: DatasetIds<Id>): Segment<Id>[] => [
    ...segments.instance({ instanceId }),
    'shared_/datasets_/',
    { id: datasetId },
    '/',
  ],
};

function render(parts: Segment<string>[]): string {
  return ROUTINE_SCHEME + parts.map((part) => (typeof part === 'string' ? part : part.id)).join('');
}

// ---- routine:// paths as text ----

export function instancePath({ instanceId }: { instanceId: string }): string {
  return render(segments.instance({ instanceId: checkId({ label: 'instanceId', id: instanceId }) }));
}

export function internalVarsPath({ instanceId }: { instanceId: string }): string {
  return render(segments.internalVars({ instanceId: checkId({ label: 'instanceId', id: instanceId }) }));
}

export function runPath(ids: RunIds<string>): string {
  return render(segments.run(checkRunIds(ids)));
}

export function artifactsPath(ids: RunIds<string>): string {
  return render(segments.artifacts(checkRunIds(ids)));
}

export function artifactPath({ name, ...run }: ArtifactIds<string>): string {
  return render(segments.artifact({ ...checkRunIds(run), name: checkArtifactName(name) }));
}

export function datasetPath({ instanceId, datasetId }: DatasetIds<string>): string {
  return render(
    segments.dataset({
      instanceId: checkId({ label: 'instanceId', id: instanceId }),
      datasetId: checkId({ label: 'datasetId', id: datasetId }),
    }),
  );
}

// ---- Reading a routine:// path back ----

export type RoutinePath =
  { kind: 'artifact'; instanceId: string; runId: string; name: string } | { kind: 'dataset'; instanceId: string; datasetId: string };

// Each id is one path segment; the id rules are checked after the match.
const ANY_SEGMENT = '([^/]+)';
const ARTIFACT_PATTERN = pattern(segments.artifact({ instanceId: ANY_SEGMENT, runId: ANY_SEGMENT, name: ANY_SEGMENT }));
const DATASET_PATTERN = pattern(segments.dataset({ instanceId: ANY_SEGMENT, datasetId: ANY_SEGMENT }));

function pattern(parts: Segment<string>[]): RegExp {
  const text = [ROUTINE_SCHEME, ...parts].map((part) =>
    typeof part === 'string' ? part.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&') : part.id,
  );
  return new RegExp(`^${text.join('')}$`);
}

/** What a routine:// path names: a run's artifact, an instance's data set, or neither. */
export function parsePath(routineUri: string): RoutinePath | null {
  const uri = typeof routineUri === 'string' ? withSlash(routineUri) : '';
  const artifact = ARTIFACT_PATTERN.exec(uri);
  if (artifact && ID.test(artifact[1]) && ID.test(artifact[2]) && ARTIFACT_NAME.test(artifact[3])) {
    return { kind: 'artifact', instanceId: artifact[1], runId: artifact[2], name: artifact[3] };
  }
  const dataset = DATASET_PATTERN.exec(uri);
  if (dataset && ID.test(dataset[1]) && ID.test(dataset[2])) return { kind: 'dataset', instanceId: dataset[1], datasetId: dataset[2] };
  return null;
}

export function withSlash(uri: string): string {
  return uri.endsWith('/') ? uri : `${uri}/`;
}

// ---- Inside an artifact's or a data set's folder ----

export const FOLDER = { data: 'data_', metadata: 'metadata_', previews: 'previews_', statistics: 'statistics_' } as const;
export const METADATA_FILE = 'metadata.json';
export const PREVIEW_FILE = 'preview.json';
export const STATISTICS_FILE = 'statistics.json';
/** The data file keeps the extension it was written with. */
export const DATA_FILE = /^data\.[a-z0-9]+$/i;

export function dataFileName(extension: string): string {
  return `data.${extension}`;
}

// ---- Inside an instance's internalvars_ folder ----

/** An instance config version: constructor runs write versions 1, 2, … (RoutineInstance.stateVersion). */
export function configVersionFile(version: number): string {
  if (!Number.isInteger(version) || version < 0) throw new ArtifactError(`Invalid config version ${JSON.stringify(version)}`);
  return `config-v${version}.json`;
}

/** Beside each config file: its sha256 in `sha256sum` format, so `sha256sum -c` checks it. */
export function checksumFile(file: string): string {
  return `${file}.sha256`;
}

// ---- Validation ----

export function checkArtifactName(name: string): string {
  if (typeof name !== 'string' || !ARTIFACT_NAME.test(name)) {
    throw new ArtifactError(
      `Invalid artifact name ${JSON.stringify(name)}: use 1-64 letters, digits, '_', '.', '-', starting with a letter or digit`,
    );
  }
  return name;
}

function checkId({ label, id }: { label: string; id: string }): string {
  if (typeof id !== 'string' || !ID.test(id)) throw new ArtifactError(`Invalid ${label} ${JSON.stringify(id)}`);
  return id;
}

function checkRunIds({ instanceId, runId }: RunIds<string>): RunIds<string> {
  return { instanceId: checkId({ label: 'instanceId', id: instanceId }), runId: checkId({ label: 'runId', id: runId }) };
}
