// Compare: two or more runs side by side (`compareRuns`): the inputs that differ, each run's
// outputs (differing ones marked) and the statistics of same-named artifacts per column.
import { useState } from 'preact/hooks';
import { useQuery } from '../api.ts';
import { formatNumber } from '../components/BarChart.tsx';
import { StatusBadge } from '../components/Status.tsx';
import { graphql } from '../gql/index.ts';
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
        }
        runs {
          id
          name
          status
          methodName
          routine {
            name
          }
          outputs
        }
        artifacts {
          name
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
  const outputNames = [...new Set(result.runs.flatMap((run) => Object.keys((run.outputs as Record<string, unknown> | null) ?? {})))];
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
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            <tr class="section">
              <th colSpan={result.runs.length + 1}>Inputs that differ</th>
            </tr>
            {result.differentInputs.length === 0 && (
              <tr>
                <td colSpan={result.runs.length + 1} class="muted">
                  None
                </td>
              </tr>
            )}
            {result.differentInputs.map((difference) => (
              <tr key={difference.name} class="differs">
                <th scope="row">{difference.name}</th>
                {difference.values.map((value, index) => (
                  <td key={index}>{cell(value)}</td>
                ))}
              </tr>
            ))}
            {result.sameInputs.length > 0 && (
              <tr>
                <th scope="row">Same inputs</th>
                <td colSpan={result.runs.length} class="muted">
                  {result.sameInputs.join(', ')}
                </td>
              </tr>
            )}
            <tr class="section">
              <th colSpan={result.runs.length + 1}>Outputs</th>
            </tr>
            {outputNames.map((name) => {
              const values = result.runs.map((run) => (run.outputs as Record<string, unknown> | null)?.[name]);
              const differs = new Set(values.map((value) => JSON.stringify(value))).size > 1;
              return (
                <tr key={name} class={differs ? 'differs' : undefined}>
                  <th scope="row">{name}</th>
                  {values.map((value, index) => (
                    <td key={index}>{cell(value)}</td>
                  ))}
                </tr>
              );
            })}
            {result.artifacts.map((artifact) =>
              artifact.columns.map((column) => (
                <tr key={`${artifact.name}.${column.name}`}>
                  <th scope="row">
                    {artifact.name}.{column.name}
                  </th>
                  {column.statistics.map((statistics, index) => (
                    <td key={index}>{statisticsCell(statistics)}</td>
                  ))}
                </tr>
              )),
            )}
          </tbody>
        </table>
      </div>
    </section>
  );
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
