// compareRuns: two or more runs side by side — the inputs that differ (each run's value) and, for
// artifacts with the same name, their statistics per run and per column.
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
  statistics: unknown[];
  columns: ColumnComparison[];
}

export interface RunComparison {
  runs: RoutineRun[];
  sameMethod: boolean;
  differentInputs: InputDifference[];
  sameInputs: string[];
  artifacts: ArtifactComparison[];
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

  const inputs = runs.map((run) => runInputs.parse(run.inputs));
  const names = [...new Set(inputs.flatMap((values) => Object.keys(values)))].sort();
  const differentInputs: InputDifference[] = [];
  const sameInputs: string[] = [];
  for (const name of names) {
    const values = inputs.map((values) => (Object.hasOwn(values, name) ? values[name] : null));
    const keys = new Set(values.map((value) => canonicalJson(value)));
    if (keys.size > 1) differentInputs.push({ name, values });
    else sameInputs.push(name);
  }

  const artifactNames = [...new Set(runs.flatMap((run) => run.artifacts.map((artifact) => artifact.name)))].sort();
  const artifacts = artifactNames
    .map((name) => {
      const perRun = runs.map((run) => run.artifacts.find((artifact) => artifact.name === name) ?? null);
      const statistics = perRun.map((artifact) => artifact?.statistics ?? null);
      const columnNames = [...new Set(statistics.flatMap((stats) => columnsOf(stats).map((column) => String(column.name))))];
      return {
        name,
        artifacts: perRun,
        statistics,
        columns: columnNames.map((column) => ({
          name: column,
          statistics: statistics.map((stats) => columnsOf(stats).find((entry) => entry.name === column) ?? null),
        })),
      };
    })
    // "Same-named": an artifact only one run has has nothing to be compared with.
    .filter((comparison) => comparison.artifacts.filter(Boolean).length >= 2);

  const sameMethod = runs.every((run) => run.routine.name === runs[0].routine.name && run.methodName === runs[0].methodName);
  return {
    runs: runs.map(({ artifacts: _a, routine: _r, ...run }) => run as RoutineRun),
    sameMethod,
    differentInputs,
    sameInputs,
    artifacts,
  };
}

function columnsOf(statistics: unknown): Array<Record<string, unknown>> {
  return storedStatistics.parse(statistics)?.columns ?? [];
}
