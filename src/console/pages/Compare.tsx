// Compare: two or more runs side by side (`compareRuns`): the inputs, instance config entries and
// outputs that differ (with each number's delta from the first run), whether same-named artifacts
// are byte-identical, and their statistics per column. The API decides what differs.
import { useState } from 'preact/hooks';
import { useQuery } from '../api.ts';
import { formatNumber } from '../components/BarChart.tsx';
import { StatusBadge, formatTime } from '../components/Status.tsx';
import { graphql } from '../gql/index.ts';
import type { ConsoleCompareQuery } from '../gql/graphql.ts';
import { href, navigate } from '../router.ts';

const CompareQuery = graphql(`
  query ConsoleCompare($ids: [ID!]!) {
    compareRuns(ids: $ids) {
      __typename
      ... on RunComparison {
        sameMethod
        sameInputs
        differentInputs {
          name
          values
          deltas
        }
        differentInstanceConfig {
          name
          values
          deltas
        }
        sameInstanceConfig
        differentOutputs {
          name
          values
          deltas
        }
        sameOutputs
        identicalArtifacts
        runs {
          id
          name
          status
          methodName
          createdAt
          routine {
            name
          }
          instanceConfigVersion
        }
        artifacts {
          name
          identical
          checksums
          columns {
            name
            statistics
          }
        }
      }
      ... on Error {
        message
      }
    }
  }
`);

const STATISTICS = ['count', 'mean', 'std', 'min', 'median', 'max', 'distinct'];

export function ComparePage({ ids }: { ids: string[] }) {
  if (ids.length < 2) return <ChooseRuns />;
  return <Comparison ids={ids} />;
}

function ChooseRuns() {
  const [text, setText] = useState('');
  return (
    <section class="page">
      <h1>Compare runs</h1>
      <p>Select two or more runs in the Runs list and press “Compare selected”, or paste their ids here.</p>
      <form
        class="inline-form"
        onSubmit={(event) => {
          event.preventDefault();
          navigate(href.compare(text.split(/[\s,]+/).filter(Boolean)));
        }}
      >
        <label for="compare-ids">Run ids</label>
        <input id="compare-ids" value={text} onInput={(event) => setText(event.currentTarget.value)} />
        <button type="submit">Compare</button>
      </form>
    </section>
  );
}

function Comparison({ ids }: { ids: string[] }) {
  const compared = useQuery(CompareQuery, { ids });
  if (compared.error) {
    return (
      <p class="error" role="alert">
        {compared.error}
      </p>
    );
  }
  const result = compared.data?.compareRuns;
  if (!result) return <p class="muted">Loading…</p>;
  if (result.__typename !== 'RunComparison') {
    return (
      <p class="error" role="alert">
        {'message' in result ? result.message : 'Cannot compare these runs'}
      </p>
    );
  }
  const columnCount = result.runs.length + 1;
  const showsConfig = result.differentInstanceConfig.length > 0 || result.sameInstanceConfig.length > 0;
  return (
    <section class="page">
      <h1>Compare {result.runs.length} runs</h1>
      {!result.sameMethod && <p class="notice">These runs ran different methods.</p>}
      <div class="table-scroll">
        <table class="compare">
          <thead>
            <tr>
              <th scope="col">
                <span class="visually-hidden">Field</span>
              </th>
              {result.runs.map((run) => (
                <th scope="col" key={run.id}>
                  <a href={href.run(run.id)}>{run.name ?? `${run.routine.name}.${run.methodName}`}</a> <StatusBadge status={run.status} />
                  {/* Unnamed runs of one method look alike: when each was created tells them apart. */}
                  <span class="hint">created {formatTime(run.createdAt)}</span>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            <Differences title="Inputs" differences={result.differentInputs} same={result.sameInputs} columnCount={columnCount} />
            {showsConfig && (
              <>
                <tr class="section">
                  <th colSpan={columnCount}>Instance config</th>
                </tr>
                <tr>
                  <th scope="row">Config version</th>
                  {result.runs.map((run) => (
                    <td key={run.id}>{run.instanceConfigVersion ?? '—'}</td>
                  ))}
                </tr>
                <Differences differences={result.differentInstanceConfig} same={result.sameInstanceConfig} columnCount={columnCount} />
              </>
            )}
            <Differences title="Outputs" differences={result.differentOutputs} same={result.sameOutputs} columnCount={columnCount} />
            <tr class="section">
              <th colSpan={columnCount}>
                Artifacts{' '}
                <span class={result.identicalArtifacts ? 'verdict same' : 'verdict differs'}>
                  {result.identicalArtifacts ? 'all identical' : 'not identical'}
                </span>
              </th>
            </tr>
            {result.artifacts.length === 0 && (
              <tr>
                <td colSpan={columnCount} class="muted">
                  No artifact name in common
                </td>
              </tr>
            )}
            {result.artifacts.map((artifact) => (
              <ArtifactRows key={artifact.name} artifact={artifact} />
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

type RunComparison = Extract<NonNullable<ConsoleCompareQuery['compareRuns']>, { __typename: 'RunComparison' }>;
type Difference = RunComparison['differentInputs'][number];

/** One section: the entries that differ, one row each, then the names of those that do not. */
function Differences({
  title,
  differences,
  same,
  columnCount,
}: {
  title?: string;
  differences: readonly Difference[];
  same: readonly string[];
  columnCount: number;
}) {
  return (
    <>
      {title && (
        <tr class="section">
          <th colSpan={columnCount}>{title}</th>
        </tr>
      )}
      {differences.map((difference) => (
        <tr key={difference.name} class="differs">
          <th scope="row">{difference.name}</th>
          {difference.values.map((value, index) => (
            <td key={index}>
              {cell(value)}
              {index > 0 && difference.deltas[index] != null && <span class="delta">Δ {signed(difference.deltas[index])}</span>}
            </td>
          ))}
        </tr>
      ))}
      <tr>
        <th scope="row">Same</th>
        <td colSpan={columnCount - 1} class="muted">
          {same.length > 0 ? same.join(', ') : 'None'}
        </td>
      </tr>
    </>
  );
}

type ArtifactComparison = RunComparison['artifacts'][number];

function ArtifactRows({ artifact }: { artifact: ArtifactComparison }) {
  return (
    <>
      <tr class={artifact.identical ? undefined : 'differs'}>
        <th scope="row">
          {artifact.name} <span class="muted">{artifact.identical ? 'identical' : 'differs'}</span>
        </th>
        {artifact.checksums.map((checksum, index) => (
          <td key={index}>
            {checksum ? (
              <code class="checksum" title={`sha256 ${checksum}`}>
                {checksum.slice(0, CHECKSUM_CHARACTERS)}
              </code>
            ) : (
              <span class="muted">none</span>
            )}
          </td>
        ))}
      </tr>
      {artifact.columns.map((column) => (
        <tr key={column.name}>
          <th scope="row" class="column-name">
            {artifact.name}.{column.name}
          </th>
          {column.statistics.map((statistics, index) => (
            <td key={index}>{statisticsCell(statistics)}</td>
          ))}
        </tr>
      ))}
    </>
  );
}

/** Enough of a sha256 to tell artifacts apart at a glance; the whole one is the cell's title. */
const CHECKSUM_CHARACTERS = 12;

function signed(delta: number): string {
  return delta > 0 ? `+${formatNumber(delta)}` : formatNumber(delta);
}

/** Long values (a data set given inline) are cut: the run's page shows them whole. */
const CELL_CHARACTERS = 160;

function cell(value: unknown): string {
  if (value === undefined || value === null) return '—';
  const text = typeof value === 'object' ? JSON.stringify(value) : formatNumber(value);
  return text.length > CELL_CHARACTERS ? `${text.slice(0, CELL_CHARACTERS)}…` : text;
}

function statisticsCell(statistics: unknown) {
  if (!statistics || typeof statistics !== 'object') return <span class="muted">—</span>;
  const values = statistics as Record<string, unknown>;
  return (
    <dl class="mini-stats">
      {STATISTICS.filter((key) => values[key] != null).map((key) => (
        <div key={key}>
          <dt>{key}</dt>
          <dd>{formatNumber(values[key])}</dd>
        </div>
      ))}
    </dl>
  );
}
