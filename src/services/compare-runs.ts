// compareRuns: two or more runs side by side — the inputs, outputs and instance config entries
// that differ (each run's value, and how far a number moved), and, for artifacts with the same
// name, whether their bytes are identical (checksums) and their statistics per run and per column.
import type { Artifact, RoutineRun } from '../generated/prisma/client.ts';
import type { Access } from '../access/access.ts';
import { visibleRunWhere } from '../access/visibility.ts';
import { NotFoundError, ValidationError } from '../errors.ts';
import type { ServiceDeps } from './deps.ts';
import { canonicalJson } from '../db/json-equal.ts';
import { runInputs, storedStatistics } from '../db/json-columns.ts';

export const MAX_COMPARED_RUNS = 20;

export interface InputDifference {
  name: string;
  /** One per run, in the order asked for; null when the run does not set the parameter. */
  values: unknown[];
  /** One per run: its value minus the first run's where both are numbers, else null. */
  deltas: Array<number | null>;
}

export interface ColumnComparison {
  name: string;
  /** The column's statistics in each run's artifact (null where the artifact or column is missing). */
  statistics: Array<Record<string, unknown> | null>;
}

export interface ArtifactComparison {
  name: string;
  /** One per run; null where that run has no artifact of this name. */
  artifacts: Array<Artifact | null>;
  /** One per run: the sha256 of its artifact's data file; null where it has none. */
  checksums: Array<string | null>;
  /** Every run has this artifact and its bytes are the same in all (equal checksums). */
  identical: boolean;
  statistics: unknown[];
  columns: ColumnComparison[];
}

export interface RunComparison {
  runs: RoutineRun[];
  sameMethod: boolean;
  differentInputs: InputDifference[];
  sameInputs: string[];
  differentOutputs: InputDifference[];
  sameOutputs: string[];
  /** Entries of the instance config the runs executed with (RoutineRun.instanceConfig). */
  differentInstanceConfig: InputDifference[];
  sameInstanceConfig: string[];
  artifacts: ArtifactComparison[];
  /** Every run stored the same artifacts (by name), each byte-identical across the runs. */
  identicalArtifacts: boolean;
}

/** A run the request cannot see is answered as a run that does not exist. */
export async function compareRuns(
  { db }: Pick<ServiceDeps, 'db'>,
  { access, runIds }: { access: Access; runIds: string[] },
): Promise<RunComparison> {
  const ids = [...new Set(runIds)];
  if (ids.length < 2) throw ValidationError.field(['ids'], 'Give at least two different runs to compare');
  if (ids.length > MAX_COMPARED_RUNS) throw ValidationError.field(['ids'], `At most ${MAX_COMPARED_RUNS} runs can be compared at once`);
  const found = await db.routineRun.findMany({
    where: { id: { in: ids }, ...visibleRunWhere(access) },
    include: { artifacts: { orderBy: { name: 'asc' } }, routine: { select: { name: true } } },
  });
  const byId = new Map(found.map((run) => [run.id, run]));
  const missing = ids.find((id) => !byId.has(id));
  if (missing) throw new NotFoundError('No run has this id', missing);
  const runs = ids.map((id) => byId.get(id)!);

  const inputs = compareEntries(runs.map((run) => runInputs.parse(run.inputs)));
  const outputs = compareEntries(runs.map((run) => jsonObject(run.outputs)));
  const configs = compareEntries(runs.map((run) => jsonObject(run.instanceConfig)));

  const artifactNames = [...new Set(runs.flatMap((run) => run.artifacts.map((artifact) => artifact.name)))].sort();
  const artifacts = artifactNames
    .map((name) => {
      const perRun = runs.map((run) => run.artifacts.find((artifact) => artifact.name === name) ?? null);
      const statistics = perRun.map((artifact) => artifact?.statistics ?? null);
      const checksums = perRun.map((artifact) => artifact?.checksum ?? null);
      const columnNames = [...new Set(statistics.flatMap((stats) => columnsOf(stats).map((column) => String(column.name))))];
      return {
        name,
        artifacts: perRun,
        checksums,
        identical: checksums.every((checksum) => checksum !== null && checksum === checksums[0]),
        statistics,
        columns: columnNames.map((column) => ({
          name: column,
          statistics: statistics.map((stats) => columnsOf(stats).find((entry) => entry.name === column) ?? null),
        })),
      };
    })
    // "Same-named": an artifact only one run has has nothing to be compared with.
    .filter((comparison) => comparison.artifacts.filter(Boolean).length >= 2);
  const identicalArtifacts =
    artifactNames.every((name) => artifacts.some((comparison) => comparison.name === name)) &&
    artifacts.every((comparison) => comparison.identical);

  const sameMethod = runs.every((run) => run.routine.name === runs[0].routine.name && run.methodName === runs[0].methodName);
  return {
    runs: runs.map(({ artifacts: _a, routine: _r, ...run }) => run as RoutineRun),
    sameMethod,
    differentInputs: inputs.different,
    sameInputs: inputs.same,
    differentOutputs: outputs.different,
    sameOutputs: outputs.same,
    differentInstanceConfig: configs.different,
    sameInstanceConfig: configs.same,
    artifacts,
    identicalArtifacts,
  };
}

/** The keys, sorted, whose values differ between the objects (one per run) and those that do not. */
function compareEntries(objects: Array<Record<string, unknown>>): { different: InputDifference[]; same: string[] } {
  const names = [...new Set(objects.flatMap((values) => Object.keys(values)))].sort();
  const different: InputDifference[] = [];
  const same: string[] = [];
  for (const name of names) {
    const values = objects.map((values) => (Object.hasOwn(values, name) ? values[name] : null));
    const keys = new Set(values.map((value) => canonicalJson(value)));
    if (keys.size > 1) different.push({ name, values, deltas: deltasOf(values) });
    else same.push(name);
  }
  return { different, same };
}

function deltasOf(values: unknown[]): Array<number | null> {
  const [first] = values;
  return values.map((value) => (typeof value === 'number' && typeof first === 'number' ? value - first : null));
}

/** A JSON column as an object of entries: outputs and config are objects; anything else has none. */
function jsonObject(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function columnsOf(statistics: unknown): Array<Record<string, unknown>> {
  return storedStatistics.parse(statistics)?.columns ?? [];
}
