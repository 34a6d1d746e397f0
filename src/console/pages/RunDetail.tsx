// Run detail: everything about one run, kept live by `runUpdated` (events replayed from the
// start, then streamed): the status timeline, progress, the log tail; and the run's actions.
import { useEffect, useRef, useState } from 'preact/hooks';
import { errorMessage, refusalOf, request, useQuery, useSubscription, type Refusal } from '../api.ts';
import { ArtifactView } from '../components/ArtifactView.tsx';
import { ParameterFields, formInputs, type Draft, type Parameter } from '../components/ParameterForm.tsx';
import { Json, ProgressBar, StatusBadge, formatDuration, formatTime, isFinished } from '../components/Status.tsx';
import { graphql } from '../gql/index.ts';
import type { ConsoleRunUpdatedSubscription } from '../gql/graphql.ts';
import { href, navigate } from '../router.ts';

const RunQuery = graphql(`
  query ConsoleRun($id: ID!) {
    run(id: $id) {
      id
      name
      description
      status
      methodName
      labels
      attributes
      inputs
      outputs
      changedInputs
      instanceConfig
      instanceConfigVersion
      attempt
      maxAttempts
      createdAt
      startedAt
      finishedAt
      durationMs
      executionType
      invocationMethod
      cancelReason
      queuePosition
      parentRun {
        id
      }
      routine {
        name
        stateful
      }
      instance {
        id
        name
      }
      method {
        name
        parameters {
          name
          type
          required
          description
          default
          options
        }
      }
      progress {
        percent
        message
      }
      error {
        message
        type
        phase
        attempt
        retryable
        at
        workerId
      }
      resources {
        requestedMemoryMb
        peakMemoryMb
        cpuTimeMs
      }
      logs(last: 100) {
        edges {
          node {
            at
            level
            message
            attempt
            lines
          }
        }
      }
      artifactsUnavailableReason
      artifacts {
        id
        name
        contentType
        sizeBytes
        downloadUrl
        preview {
          columns
          rows
          text
          truncated
        }
        statistics
      }
    }
  }
`);

const RunUpdated = graphql(`
  subscription ConsoleRunUpdated($id: ID!, $afterSequence: Int) {
    runUpdated(id: $id, afterSequence: $afterSequence) {
      sequence
      type
      at
      fromStatus
      toStatus
      detail
      progress {
        percent
        message
      }
      log {
        at
        level
        message
        attempt
        lines
      }
    }
  }
`);

const CancelRun = graphql(`
  mutation ConsoleCancelRun($input: CancelRunInput!) {
    cancelRun(input: $input) {
      __typename
      ... on Error {
        message
      }
    }
  }
`);

const RerunRun = graphql(`
  mutation ConsoleRerunRun($input: RerunRunInput!) {
    rerunRun(input: $input) {
      __typename
      ... on RerunRunSuccess {
        run {
          id
        }
      }
      ... on Error {
        message
      }
      ... on ValidationError {
        fieldErrors {
          path
          message
        }
      }
    }
  }
`);

const AddLabels = graphql(`
  mutation ConsoleAddLabels($input: AddRunLabelsInput!) {
    addRunLabels(input: $input) {
      __typename
      ... on Error {
        message
      }
    }
  }
`);

const RemoveLabels = graphql(`
  mutation ConsoleRemoveLabels($input: RemoveRunLabelsInput!) {
    removeRunLabels(input: $input) {
      __typename
      ... on Error {
        message
      }
    }
  }
`);

type RunEvent = ConsoleRunUpdatedSubscription['runUpdated'];

/** Lines kept in the log tail. */
const LOG_TAIL = 500;

export function RunDetailPage({ id }: { id: string }) {
  const run = useQuery(RunQuery, { id });
  const [timeline, setTimeline] = useState<RunEvent[]>([]);
  const [liveLogs, setLiveLogs] = useState<NonNullable<RunEvent['log']>[]>([]);
  const [live, setLive] = useState<{ status?: string; percent?: number; message?: string }>({});
  const lastSequence = useRef(0);
  const reloadTimer = useRef<ReturnType<typeof setTimeout>>();
  const reloadSoon = () => {
    clearTimeout(reloadTimer.current);
    reloadTimer.current = setTimeout(run.reload, 300);
  };
  useEffect(() => () => clearTimeout(reloadTimer.current), []);

  useSubscription(RunUpdated, { id, afterSequence: 0 }, ({ runUpdated: event }) => {
    // A reconnect replays from the start: keep each sequence once.
    if (event.sequence <= lastSequence.current) return;
    lastSequence.current = event.sequence;
    if (event.type === 'LOG' && event.log) {
      const entry = event.log;
      setLiveLogs((current) => [...current, entry].slice(-LOG_TAIL));
      return;
    }
    if (event.type === 'PROGRESS' && event.progress) {
      const progress = event.progress;
      setLive((current) => ({ ...current, percent: progress.percent, message: progress.message }));
      return;
    }
    if (event.type === 'STATUS_CHANGED' || event.type === 'CANCEL_REQUESTED' || event.type === 'ATTEMPT_FAILED') {
      setTimeline((current) => [...current, event]);
    }
    if (event.toStatus) setLive((current) => ({ ...current, status: event.toStatus! }));
    // Outputs, artifacts, labels and resources arrive with these: read the run again.
    if (event.type !== 'PROGRESS') reloadSoon();
  });

  if (run.error && !run.data) {
    return (
      <p class="error" role="alert">
        {run.error}
      </p>
    );
  }
  if (!run.data) return <p class="muted">Loading…</p>;
  const data = run.data.run;
  if (!data) return <p class="error">No run with id {id} (or not visible with this token).</p>;

  const status = live.status ?? data.status;
  const percent = live.percent ?? data.progress?.percent ?? 0;
  const reported = live.percent != null || data.progress != null;
  const message = live.message ?? data.progress?.message ?? (isFinished(status) && !reported ? 'This method reports no progress.' : '');
  const title = data.name ?? `${data.routine.name}.${data.methodName}`;
  const logs = mergeLogs(
    data.logs.edges.map((edge) => edge.node),
    liveLogs,
  );

  return (
    <section class="page run-detail">
      <div class="page-head">
        <h1>{title}</h1>
        <StatusBadge status={status} />
        <span class="muted">
          {data.routine.name} · {data.instance.name} · {data.methodName} · attempt {data.attempt}/{data.maxAttempts}
        </span>
      </div>
      {data.description && <p class="run-description">{data.description}</p>}
      <div class="card live" aria-live="polite">
        <ProgressBar percent={percent} label="Run progress" />
        <span class="progress-message">{message || ' '}</span>
      </div>
      <RunActions id={data.id} status={status} onChanged={run.reload} />
      <div class="columns">
        <section class="card" aria-labelledby="timeline-heading">
          <h2 id="timeline-heading">Timeline</h2>
          <ol class="timeline">
            {timeline.map((event) => (
              <li key={event.sequence}>
                <time>{formatTime(event.at)}</time> {timelineText(event)}
              </li>
            ))}
          </ol>
          <dl class="facts">
            <dt>Duration</dt>
            <dd>{formatDuration(data.durationMs)}</dd>
            <dt>Execution</dt>
            <dd>
              {data.executionType}, {data.invocationMethod}
            </dd>
            {data.queuePosition != null && (
              <>
                <dt>Queue position</dt>
                <dd>{data.queuePosition}</dd>
              </>
            )}
            {Object.keys((data.attributes as Record<string, unknown> | null) ?? {}).length > 0 && (
              <>
                <dt>Attributes</dt>
                <dd>
                  <code>{JSON.stringify(data.attributes)}</code>
                </dd>
              </>
            )}
            {data.parentRun && (
              <>
                <dt>Re-run of</dt>
                <dd>
                  <a href={href.run(data.parentRun.id)}>parent run</a>
                </dd>
              </>
            )}
            {data.cancelReason && (
              <>
                <dt>Cancel reason</dt>
                <dd>{data.cancelReason}</dd>
              </>
            )}
          </dl>
        </section>
        <section class="card" aria-labelledby="resources-heading">
          <h2 id="resources-heading">Resources</h2>
          <dl class="facts">
            <dt>Memory requested</dt>
            <dd>{data.resources.requestedMemoryMb} MB</dd>
            <dt>Peak memory</dt>
            <dd>{data.resources.peakMemoryMb != null ? `${data.resources.peakMemoryMb.toFixed(1)} MB` : '—'}</dd>
            <dt>CPU time</dt>
            <dd>{formatDuration(data.resources.cpuTimeMs != null ? Math.round(data.resources.cpuTimeMs) : null)}</dd>
          </dl>
          <MemoryBar requested={data.resources.requestedMemoryMb} peak={data.resources.peakMemoryMb} />
        </section>
      </div>
      {data.error && (
        <section class="card run-error" aria-labelledby="error-heading">
          <h2 id="error-heading">Error</h2>
          <p>
            <strong>{data.error.type}</strong> in phase <strong>{data.error.phase}</strong>, attempt {data.error.attempt}
            {data.error.retryable ? ' (retryable)' : ''}
          </p>
          <pre class="json">{data.error.message}</pre>
        </section>
      )}
      <div class="columns">
        <section class="card" aria-labelledby="inputs-heading">
          <h2 id="inputs-heading">Inputs</h2>
          <Json value={data.inputs} />
          {data.changedInputs != null && (
            <>
              <h3>Changed from the parent</h3>
              {Object.keys(data.changedInputs as Record<string, unknown>).length > 0 ? (
                <Json value={data.changedInputs} />
              ) : (
                <p class="muted">Nothing: the parent's inputs.</p>
              )}
            </>
          )}
        </section>
        <section class="card" aria-labelledby="outputs-heading">
          <h2 id="outputs-heading">Outputs</h2>
          {data.outputs != null ? <Json value={data.outputs} /> : <p class="muted">{isFinished(status) ? 'None.' : 'None yet.'}</p>}
        </section>
      </div>
      {data.routine.stateful && <InstanceConfig config={data.instanceConfig} version={data.instanceConfigVersion} />}
      <Labels id={data.id} labels={data.labels} onChanged={run.reload} />
      <section class="card" aria-labelledby="logs-heading">
        <h2 id="logs-heading">Logs</h2>
        <LogTail logs={logs} finished={isFinished(status)} />
      </section>
      <section class="card" aria-labelledby="artifacts-heading">
        <h2 id="artifacts-heading">Artifacts</h2>
        {data.artifactsUnavailableReason && <p class="muted">{data.artifactsUnavailableReason}</p>}
        {data.artifacts.length === 0 && !data.artifactsUnavailableReason && <p class="muted">None yet.</p>}
        {data.artifacts.map((artifact) => (
          <ArtifactView key={artifact.id} artifact={artifact} />
        ))}
      </section>
      {isFinished(status) && (
        <Rerun
          id={data.id}
          parameters={data.method.parameters}
          inputs={data.inputs as Record<string, unknown>}
          stateful={data.routine.stateful}
        />
      )}
    </section>
  );
}

/** The config fixed when the run was created: what it executed with, whatever the instance has since. */
function InstanceConfig({ config, version }: { config: unknown; version: number | null | undefined }) {
  return (
    <section class="card" aria-labelledby="instance-config-heading">
      <h2 id="instance-config-heading">Instance config</h2>
      {version ? (
        <>
          <p class="muted">Version {version}, as this run executed with it.</p>
          <Json value={config} />
        </>
      ) : (
        <p class="muted">The instance was not configured when this run was created.</p>
      )}
    </section>
  );
}

type LogEntry = NonNullable<RunEvent['log']>;

/** The entries read with the run and those streamed since (LOG events), each once, in time order. */
function mergeLogs(read: LogEntry[], streamed: LogEntry[]): LogEntry[] {
  const byKey = new Map<string, LogEntry>();
  for (const entry of [...read, ...streamed]) byKey.set(`${entry.at}|${entry.attempt}|${entry.message}`, entry);
  return [...byKey.values()].sort((a, b) => a.at.localeCompare(b.at)).slice(-LOG_TAIL);
}

function timelineText(event: RunEvent): string {
  if (event.type === 'STATUS_CHANGED') return event.fromStatus ? `${event.fromStatus} → ${event.toStatus}` : `created (${event.toStatus})`;
  if (event.type === 'CANCEL_REQUESTED') return 'cancel requested';
  return 'attempt failed';
}

function MemoryBar({ requested, peak }: { requested: number; peak: number | null | undefined }) {
  if (peak == null) return null;
  return (
    <div class="memory">
      <meter min={0} max={requested} value={Math.min(peak, requested)} aria-label="Peak memory of requested" />
      <span class="muted">{Math.round((100 * peak) / requested)}% of the requested memory at peak</span>
    </div>
  );
}

function LogTail({ logs, finished }: { logs: LogEntry[]; finished: boolean }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = box.current;
    if (element) element.scrollTop = element.scrollHeight;
  }, [logs.length]);
  if (logs.length === 0) return <p class="muted">{finished ? 'No log lines.' : 'No log lines yet.'}</p>;
  return (
    <div class="logs" ref={box} tabIndex={0} role="log" aria-label="Run log">
      {logs.map((entry, index) => (
        <div key={index} class={`log log-${entry.level}`}>
          <time>{new Date(entry.at).toLocaleTimeString()}</time>
          <span class="log-level">{entry.level}</span>
          <span class="log-message">{entry.message}</span>
        </div>
      ))}
    </div>
  );
}

function RunActions({ id, status, onChanged }: { id: string; status: string; onChanged: () => void }) {
  const [refusal, setRefusal] = useState<string | null>(null);
  const cancellable = status === 'CREATED' || status === 'QUEUED' || status === 'RUNNING';
  if (!cancellable && !refusal) return null;
  return (
    <div class="actions">
      {cancellable && (
        <button
          type="button"
          class="danger"
          onClick={() =>
            void (async () => {
              try {
                const { cancelRun } = await request(CancelRun, { input: { id, reason: 'cancelled from the web console' } });
                setRefusal(cancelRun.__typename === 'CancelRunSuccess' ? null : refusalOf(cancelRun).message);
                onChanged();
              } catch (error) {
                setRefusal(errorMessage(error));
              }
            })()
          }
        >
          Cancel run
        </button>
      )}
      {refusal && (
        <span class="error" role="alert">
          {refusal}
        </span>
      )}
    </div>
  );
}

function Labels({ id, labels, onChanged }: { id: string; labels: string[]; onChanged: () => void }) {
  const [value, setValue] = useState('');
  const [refusal, setRefusal] = useState<string | null>(null);
  const change = async (action: () => Promise<{ __typename?: string; message?: string }>) => {
    try {
      const result = await action();
      setRefusal(result.__typename?.endsWith('Success') ? null : (result.message ?? 'Refused'));
      onChanged();
    } catch (error) {
      setRefusal(errorMessage(error));
    }
  };
  return (
    <section class="card" aria-labelledby="labels-heading">
      <h2 id="labels-heading">Labels</h2>
      <p>
        {labels.length === 0 && <span class="muted">No labels. </span>}
        {labels.map((label) => (
          <span key={label} class="chip static">
            {label}
            <button
              type="button"
              class="chip-remove"
              aria-label={`Remove label ${label}`}
              onClick={() => void change(async () => (await request(RemoveLabels, { input: { id, labels: [label] } })).removeRunLabels)}
            >
              ×
            </button>
          </span>
        ))}
      </p>
      <form
        class="inline-form"
        onSubmit={(event) => {
          event.preventDefault();
          const added = value
            .split(',')
            .map((label) => label.trim())
            .filter(Boolean);
          if (added.length === 0) return;
          setValue('');
          void change(async () => (await request(AddLabels, { input: { id, labels: added } })).addRunLabels);
        }}
      >
        <label for="new-label">Add labels</label>
        <input
          id="new-label"
          value={value}
          placeholder="e.g. baseline, team:risk"
          onInput={(event) => setValue(event.currentTarget.value)}
        />
        <button type="submit">Add</button>
      </form>
      {refusal && (
        <p class="error" role="alert">
          {refusal}
        </p>
      )}
    </section>
  );
}

function Rerun({
  id,
  parameters,
  inputs,
  stateful,
}: {
  id: string;
  parameters: Parameter[];
  inputs: Record<string, unknown>;
  stateful: boolean;
}) {
  const [draft, setDraft] = useState<Draft>(() => draftOf(parameters, inputs));
  const [useCurrentConfig, setUseCurrentConfig] = useState(false);
  const [refusal, setRefusal] = useState<Refusal>({ message: '', fields: {} });
  return (
    <details class="card rerun">
      <summary>Re-run with changed inputs</summary>
      <form
        onSubmit={(event) =>
          void (async () => {
            event.preventDefault();
            const { inputs: changed, errors } = formInputs(parameters, draft);
            if (Object.keys(errors).length) return setRefusal({ message: 'Some fields cannot be read', fields: errors });
            // A field emptied removes the parameter (merge patch null): the method's default applies.
            const patch: Record<string, unknown> = { ...changed };
            for (const parameter of parameters) if (!(parameter.name in changed) && parameter.name in inputs) patch[parameter.name] = null;
            try {
              const { rerunRun } = await request(RerunRun, {
                input: { id, overrides: { inputs: patch, ...(stateful ? { useCurrentConfig } : {}) } },
              });
              if (rerunRun.__typename === 'RerunRunSuccess') navigate(href.run(rerunRun.run.id));
              else setRefusal(refusalOf(rerunRun));
            } catch (error) {
              setRefusal({ message: errorMessage(error), fields: {} });
            }
          })()
        }
      >
        <ParameterFields idPrefix="rerun" parameters={parameters} draft={draft} errors={refusal.fields} onChange={setDraft} />
        {stateful && (
          <div class="field">
            <label>
              <input type="checkbox" checked={useCurrentConfig} onChange={(event) => setUseCurrentConfig(event.currentTarget.checked)} />{' '}
              Use the instance's current config
            </label>
            <span class="hint">
              Unchecked, the re-run executes with the same config as this run, even if the instance was reconfigured since.
            </span>
          </div>
        )}
        {refusal.message && (
          <p class="error" role="alert">
            {refusal.message}
          </p>
        )}
        <button type="submit">Re-run</button>
      </form>
    </details>
  );
}

function draftOf(parameters: Parameter[], inputs: Record<string, unknown>): Draft {
  const draft: Draft = {};
  for (const parameter of parameters) {
    const value = inputs[parameter.name];
    if (parameter.type === 'boolean') draft[parameter.name] = value === true;
    else if (value === undefined) draft[parameter.name] = '';
    else if (parameter.type === 'string' && !parameter.options?.length) draft[parameter.name] = String(value);
    else draft[parameter.name] = JSON.stringify(value);
  }
  return draft;
}
