// compareRuns: the inputs that differ between runs and, for same-named artifacts, their
// statistics side by side (src/services/compare-runs.ts).
import {
  compareRuns,
  type ArtifactComparison,
  type ColumnComparison,
  type InputDifference,
  type RunComparison,
} from '../src/services/compare-runs.ts';
import { ArtifactRef } from './artifact.ts';
import { builder } from './builder.ts';
import { NotFoundError, ValidationError } from './errors.ts';
import { RoutineRunRef } from './run.ts';

const InputDifferenceRef = builder.objectRef<InputDifference>('InputDifference').implement({
  description: 'A parameter (or output, or instance config entry) whose value differs between the compared runs.',
  fields: (t) => ({
    name: t.exposeString('name'),
    values: t.field({
      type: t.listRef('JSON', { nullable: true }),
      description: "Each run's value, in the order of `runs`; null where the run does not set it.",
      resolve: (difference) => difference.values,
    }),
    deltas: t.field({
      type: t.listRef('Float', { nullable: true }),
      description: "Each run's value minus the first run's, where both are numbers; null otherwise.",
      resolve: (difference) => difference.deltas,
    }),
  }),
});

const ColumnComparisonRef = builder.objectRef<ColumnComparison>('ColumnComparison').implement({
  fields: (t) => ({
    name: t.exposeString('name'),
    statistics: t.field({
      type: t.listRef('JSON', { nullable: true }),
      description:
        "The column's statistics in each run (count, nulls, mean, std, min, max, quartiles or distinct values); null where missing.",
      resolve: (column) => column.statistics,
    }),
  }),
});

const ArtifactComparisonRef = builder.objectRef<ArtifactComparison>('ArtifactComparison').implement({
  description: 'An artifact name that at least two of the runs stored.',
  fields: (t) => ({
    name: t.exposeString('name'),
    artifacts: t.field({ type: t.listRef(ArtifactRef, { nullable: true }), resolve: (comparison) => comparison.artifacts }),
    checksums: t.field({
      type: t.listRef('String', { nullable: true }),
      description: "Each run's sha256 of the artifact's data file; null where the run has none.",
      resolve: (comparison) => comparison.checksums,
    }),
    identical: t.exposeBoolean('identical', {
      description: 'Every run has this artifact and its bytes are the same in all (equal checksums).',
    }),
    statistics: t.field({
      type: t.listRef('JSON', { nullable: true }),
      description: "Each run's statistics of this artifact (null where the run has none or did not ask for them).",
      resolve: (comparison) => comparison.statistics,
    }),
    columns: t.field({ type: [ColumnComparisonRef], resolve: (comparison) => comparison.columns }),
  }),
});

const RunComparisonRef = builder.objectRef<RunComparison>('RunComparison').implement({
  fields: (t) => ({
    runs: t.field({ type: [RoutineRunRef], description: 'The runs, in the order asked for.', resolve: (comparison) => comparison.runs }),
    sameMethod: t.exposeBoolean('sameMethod', { description: 'All runs ran the same method of the same routine.' }),
    differentInputs: t.field({ type: [InputDifferenceRef], resolve: (comparison) => comparison.differentInputs }),
    sameInputs: t.exposeStringList('sameInputs', { description: 'Parameters every run set to the same value.' }),
    differentOutputs: t.field({
      type: [InputDifferenceRef],
      description: 'Outputs whose value differs between the runs (a run without the output, or not finished: null).',
      resolve: (comparison) => comparison.differentOutputs,
    }),
    sameOutputs: t.exposeStringList('sameOutputs', { description: 'Outputs every run produced with the same value.' }),
    differentInstanceConfig: t.field({
      type: [InputDifferenceRef],
      description: 'Entries of the instance config the runs executed with (RoutineRun.instanceConfig) that differ.',
      resolve: (comparison) => comparison.differentInstanceConfig,
    }),
    sameInstanceConfig: t.exposeStringList('sameInstanceConfig', {
      description: 'Entries of the instance config every run executed with the same value.',
    }),
    identicalArtifacts: t.exposeBoolean('identicalArtifacts', {
      description: 'Every run stored the same artifacts (by name), each byte-identical across the runs (equal checksums).',
    }),
    artifacts: t.field({ type: [ArtifactComparisonRef], resolve: (comparison) => comparison.artifacts }),
  }),
});

builder.queryField('compareRuns', (t) =>
  t.field({
    type: RunComparisonRef,
    description:
      'Two or more runs side by side: differing inputs, outputs and instance config, and whether same-named artifacts are byte-identical, with their statistics.',
    args: { ids: t.arg.globalIDList({ required: true, for: RoutineRunRef }) },
    errors: { types: [ValidationError, NotFoundError], directResult: true, union: { name: 'CompareRunsResult' } },
    resolve: (_root, { ids }, ctx) => compareRuns(ctx.services, { access: ctx.access, runIds: ids.map((id) => id.id) }),
  }),
);
