// Runs: the filtered list with facet counts and keyset paging, kept live by `runsUpdated`.
import { useEffect, useRef, useState } from 'preact/hooks';
import { request, subscribe, useQuery } from '../api.ts';
import { ProgressBar, RUN_STATUSES, StatusBadge, formatDuration, formatTime, isFinished } from '../components/Status.tsx';
import { graphql } from '../gql/index.ts';
import type { RunFilter, RunRowFragment } from '../gql/graphql.ts';
import { href, navigate } from '../router.ts';

const PAGE_SIZE = 20;

graphql(`
  fragment RunRow on RoutineRun {
    id
    name
    status
    methodName
    labels
    createdAt
    durationMs
    routine {
      name
    }
    instance {
      id
      name
    }
    progress {
      percent
      message
    }
  }
`);

const RunsQuery = graphql(`
  query ConsoleRuns($filter: RunFilter, $first: Int, $after: String) {
    runs(filter: $filter, first: $first, after: $after) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      facets {
        status {
          status
          count
        }
        labels {
          label
          count
        }
      }
      edges {
        node {
          ...RunRow
        }
      }
    }
    routines {
      name
      methods {
        name
      }
    }
  }
`);

const FacetsQuery = graphql(`
  query ConsoleRunFacets($filter: RunFilter) {
    runs(filter: $filter, first: 1) {
      totalCount
      facets {
        status {
          status
          count
        }
        labels {
          label
          count
        }
      }
    }
  }
`);

const RunsUpdated = graphql(`
  subscription ConsoleRunsUpdated($filter: RunFilter, $since: DateTime) {
    runsUpdated(filter: $filter, since: $since) {
      sequence
      matchesFilter
      run {
        ...RunRow
      }
    }
  }
`);

interface FilterForm {
  status: string[];
  routineName: string;
  methodName: string;
  labels: string;
  attributes: string;
  search: string;
}

const EMPTY_FORM: FilterForm = { status: [], routineName: '', methodName: '', labels: '', attributes: '', search: '' };

// The form's fields as they appear in the hash query, e.g. `#/runs?status=CANCELLED&routine=kmeans`.
const QUERY_KEYS = {
  routineName: 'routine',
  methodName: 'method',
  labels: 'labels',
  attributes: 'attributes',
  search: 'search',
} as const satisfies Record<Exclude<keyof FilterForm, 'status'>, string>;

function formFromQuery(query: string): FilterForm {
  const params = new URLSearchParams(query);
  const form: FilterForm = {
    ...EMPTY_FORM,
    status: params.getAll('status').filter((status) => (RUN_STATUSES as string[]).includes(status)),
  };
  for (const [field, key] of Object.entries(QUERY_KEYS) as [keyof typeof QUERY_KEYS, string][]) form[field] = params.get(key) ?? '';
  return form;
}

function queryFromForm(form: FilterForm): string {
  const params = new URLSearchParams();
  for (const status of form.status) params.append('status', status);
  for (const [field, key] of Object.entries(QUERY_KEYS) as [keyof typeof QUERY_KEYS, string][]) {
    const value = form[field].trim();
    if (value) params.set(key, value);
  }
  return params.toString();
}

function toFilter(form: FilterForm): { filter: RunFilter; error: string | null } {
  const filter: RunFilter = {};
  if (form.status.length) filter.status = form.status as RunFilter['status'];
  if (form.routineName) filter.routineName = form.routineName;
  if (form.methodName.trim()) filter.methodName = form.methodName.trim();
  const labels = form.labels
    .split(',')
    .map((label) => label.trim())
    .filter(Boolean);
  if (labels.length) filter.labelsAll = labels;
  if (form.search.trim()) filter.search = form.search.trim();
  if (form.attributes.trim()) {
    try {
      filter.attributes = JSON.parse(form.attributes);
    } catch {
      return { filter, error: 'Attributes must be a JSON object, e.g. {"team": "risk"}' };
    }
  }
  return { filter, error: null };
}

export function RunsPage({ query }: { query: string }) {
  const [form, setForm] = useState<FilterForm>(() => formFromQuery(query));
  const [applied, setApplied] = useState<RunFilter>(() => toFilter(formFromQuery(query)).filter);
  const [formError, setFormError] = useState<string | null>(() => toFilter(formFromQuery(query)).error);
  // Cursors of the pages before this one: Previous pops, Next pushes.
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const after = cursors[cursors.length - 1];
  const runs = useQuery(RunsQuery, { filter: applied, first: PAGE_SIZE, after });
  const [rows, setRows] = useState<RunRowFragment[]>([]);
  const [facets, setFacets] = useState<{ totalCount: number; facets: NonNullable<typeof runs.data>['runs']['facets'] } | null>(null);
  const [selected, setSelected] = useState<string[]>([]);
  const sequences = useRef(new Map<string, number>());

  useEffect(() => {
    if (!runs.data) return;
    setRows(runs.data.runs.edges.map((edge) => edge.node as RunRowFragment));
    setFacets({ totalCount: runs.data.runs.totalCount, facets: runs.data.runs.facets });
    sequences.current.clear();
  }, [runs.data]);

  // Live: every change of a matching run since just before the page loaded, then each change as it happens.
  useEffect(() => {
    if (!runs.data) return;
    const since = new Date(Date.now() - 5000).toISOString();
    let facetTimer: ReturnType<typeof setTimeout> | undefined;
    const refreshFacets = () => {
      clearTimeout(facetTimer);
      // Counts follow the live changes, at most once a second.
      facetTimer = setTimeout(() => {
        request(FacetsQuery, { filter: applied }).then(
          (data) => setFacets({ totalCount: data.runs.totalCount, facets: data.runs.facets }),
          () => {},
        );
      }, 1000);
    };
    const unsubscribe = subscribe(RunsUpdated, { filter: applied, since }, ({ runsUpdated }) => {
      const run = runsUpdated.run as RunRowFragment;
      if ((sequences.current.get(run.id) ?? -1) >= runsUpdated.sequence) return;
      sequences.current.set(run.id, runsUpdated.sequence);
      setRows((current) => {
        const index = current.findIndex((row) => row.id === run.id);
        if (!runsUpdated.matchesFilter) return index === -1 ? current : current.filter((row) => row.id !== run.id);
        if (index !== -1) {
          if (current[index].status !== run.status) refreshFacets();
          return current.map((row) => (row.id === run.id ? run : row));
        }
        refreshFacets();
        // A run created since the page was read belongs at the top of the first page (newest
        // first); an older one missing from the page is on a later page, and later pages stay as paged.
        const isNew = current.length === 0 || run.createdAt >= current[0].createdAt;
        return after === null && isNew ? [run, ...current].slice(0, PAGE_SIZE) : current;
      });
    });
    return () => {
      clearTimeout(facetTimer);
      unsubscribe();
    };
  }, [runs.data]);

  // The URL is the source of the applied filter: Apply, a reload, Back and Forward all land here.
  const appliedQuery = useRef(query);
  useEffect(() => {
    if (appliedQuery.current === query) return;
    appliedQuery.current = query;
    const next = formFromQuery(query);
    const { filter, error } = toFilter(next);
    setForm(next);
    setFormError(error);
    if (error) return;
    setApplied(filter);
    setCursors([null]);
  }, [query]);

  const apply = (next: FilterForm) => {
    const { error } = toFilter(next);
    setFormError(error);
    if (error) return;
    const nextQuery = queryFromForm(next);
    // The same filter again leaves the URL unchanged (no hashchange), so go back to page 1 here.
    if (nextQuery === query) setCursors([null]);
    else navigate(href.filteredRuns(nextQuery));
  };
  const toggleStatus = (status: string) => {
    const next = { ...form, status: form.status.includes(status) ? form.status.filter((s) => s !== status) : [...form.status, status] };
    setForm(next);
    apply(next);
  };
  const statusCount = new Map(facets?.facets.status.map((facet) => [facet.status, facet.count]));
  const routine = runs.data?.routines.find((candidate) => candidate.name === form.routineName);

  return (
    <section class="page">
      <div class="page-head">
        <h1>Runs</h1>
        <span class="muted" aria-live="polite">
          {facets ? `${facets.totalCount} matching` : ''}
        </span>
        <button type="button" disabled={selected.length < 2} onClick={() => navigate(href.compare(selected))}>
          Compare selected ({selected.length})
        </button>
      </div>
      <fieldset class="facets">
        <legend>Status</legend>
        {RUN_STATUSES.map((status) => (
          <label key={status} class="facet">
            <input type="checkbox" checked={form.status.includes(status)} onChange={() => toggleStatus(status)} />
            <StatusBadge status={status} />
            <span class="facet-count" data-status={status}>
              {statusCount.get(status) ?? 0}
            </span>
          </label>
        ))}
      </fieldset>
      <form
        class="filters"
        onSubmit={(event) => {
          event.preventDefault();
          apply(form);
        }}
      >
        <div class="field">
          <label for="filter-routine">Routine</label>
          <select
            id="filter-routine"
            value={form.routineName}
            onChange={(event) => setForm({ ...form, routineName: event.currentTarget.value, methodName: '' })}
          >
            <option value="">any</option>
            {runs.data?.routines.map((candidate) => (
              <option key={candidate.name}>{candidate.name}</option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="filter-method">Method</label>
          <input
            id="filter-method"
            list="filter-methods"
            value={form.methodName}
            onInput={(event) => setForm({ ...form, methodName: event.currentTarget.value })}
          />
          <datalist id="filter-methods">
            {(routine?.methods ?? []).map((method) => (
              <option key={method.name} value={method.name} />
            ))}
          </datalist>
        </div>
        <div class="field">
          <label for="filter-labels">Labels (all of, comma-separated)</label>
          <input id="filter-labels" value={form.labels} onInput={(event) => setForm({ ...form, labels: event.currentTarget.value })} />
        </div>
        <div class="field">
          <label for="filter-attributes">Attributes (JSON)</label>
          <input
            id="filter-attributes"
            placeholder='{"team": "risk"}'
            value={form.attributes}
            onInput={(event) => setForm({ ...form, attributes: event.currentTarget.value })}
          />
        </div>
        <div class="field">
          <label for="filter-search">Search</label>
          <input
            id="filter-search"
            type="search"
            value={form.search}
            onInput={(event) => setForm({ ...form, search: event.currentTarget.value })}
          />
        </div>
        <div class="filter-actions">
          <button type="submit">Apply</button>
          <button
            type="button"
            class="secondary"
            onClick={() => {
              setForm(EMPTY_FORM);
              apply(EMPTY_FORM);
            }}
          >
            Reset
          </button>
        </div>
        {formError && (
          <p class="error" role="alert">
            {formError}
          </p>
        )}
      </form>
      {facets && facets.facets.labels.length > 0 && (
        <p class="label-facets">
          Labels:{' '}
          {facets.facets.labels.map((facet) => (
            <button
              type="button"
              key={facet.label}
              class="chip"
              onClick={() => {
                const next = { ...form, labels: facet.label };
                setForm(next);
                apply(next);
              }}
            >
              {facet.label} <span class="facet-count">{facet.count}</span>
            </button>
          ))}
        </p>
      )}
      {runs.error && (
        <p class="error" role="alert">
          {runs.error}
        </p>
      )}
      <div class="table-scroll">
        <table class="runs">
          <thead>
            <tr>
              <th scope="col">
                <span class="visually-hidden">Select</span>
              </th>
              <th scope="col">Run</th>
              <th scope="col">Status</th>
              <th scope="col">Progress</th>
              <th scope="col">Labels</th>
              <th scope="col">Created</th>
              <th scope="col">Duration</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((run) => (
              <RunRow
                key={run.id}
                run={run}
                selected={selected.includes(run.id)}
                onSelect={(checked) => setSelected((current) => (checked ? [...current, run.id] : current.filter((id) => id !== run.id)))}
              />
            ))}
          </tbody>
        </table>
      </div>
      {!runs.loading && rows.length === 0 && <p class="muted">No runs match. Start one from Routines.</p>}
      <nav class="pager" aria-label="Pages of runs">
        <button type="button" class="secondary" disabled={cursors.length <= 1} onClick={() => setCursors(cursors.slice(0, -1))}>
          Previous
        </button>
        <span class="muted">Page {cursors.length}</span>
        <button
          type="button"
          class="secondary"
          disabled={!runs.data?.runs.pageInfo.hasNextPage}
          onClick={() => setCursors([...cursors, runs.data!.runs.pageInfo.endCursor ?? null])}
        >
          Next
        </button>
      </nav>
    </section>
  );
}

function RunRow({ run, selected, onSelect }: { run: RunRowFragment; selected: boolean; onSelect: (checked: boolean) => void }) {
  const title = run.name ?? `${run.routine.name}.${run.methodName}`;
  return (
    <tr data-run-id={run.id}>
      <td>
        <input
          type="checkbox"
          aria-label={`Select ${title} for comparison`}
          checked={selected}
          onChange={(event) => onSelect(event.currentTarget.checked)}
        />
      </td>
      <td class="run-title">
        <a href={href.run(run.id)}>{title}</a>
        <span class="muted">
          {run.routine.name} · {run.instance.name} · {run.methodName}
        </span>
      </td>
      <td>
        <StatusBadge status={run.status} />
      </td>
      <td>
        {run.progress ? (
          <ProgressBar percent={run.progress.percent} label={`Progress of ${title}`} />
        ) : (
          <span class="progress muted">{isFinished(run.status) ? 'not reported' : 'not started'}</span>
        )}
      </td>
      <td class="labels">
        {run.labels.map((label) => (
          <span key={label} class="chip static">
            {label}
          </span>
        ))}
      </td>
      <td class="nowrap">{formatTime(run.createdAt)}</td>
      <td class="nowrap">{formatDuration(run.durationMs)}</td>
    </tr>
  );
}
