// Queue: the workers' capacity and the queued runs in line order, each with why it waits; kept
// current by `runsUpdated` on QUEUED runs (capacity is read again when the line moves).
import { useRef } from 'preact/hooks';
import { useQuery, useSubscription } from '../api.ts';
import { StatusBadge, formatTime } from '../components/Status.tsx';
import { graphql } from '../gql/index.ts';
import type { ConsoleQueueQuery } from '../gql/graphql.ts';
import { href } from '../router.ts';

const QueueQuery = graphql(`
  query ConsoleQueue {
    capacity {
      slotsTotal
      slotsBusy
      memoryTotalMb
      memoryBusyMb
      largestWorkerMemoryMb
      queued
      workers {
        id
        host
        pid
        slots
        slotsBusy
        memoryMb
        memoryBusyMb
        heartbeatAt
      }
    }
    runs(filter: { status: [QUEUED] }, first: 100, orderBy: { field: CREATED_AT, direction: ASC }) {
      totalCount
      edges {
        node {
          id
          name
          status
          methodName
          memoryMb
          queuePosition
          queuedAt
          admittedAt
          routine {
            name
          }
          instance {
            name
          }
        }
      }
    }
  }
`);

const QueueChanged = graphql(`
  subscription ConsoleQueueChanged($since: DateTime) {
    runsUpdated(filter: { status: [QUEUED, RUNNING] }, since: $since) {
      sequence
      run {
        id
        status
      }
    }
  }
`);

type QueuedRun = ConsoleQueueQuery['runs']['edges'][number]['node'];
type Capacity = ConsoleQueueQuery['capacity'];

export function QueuePage() {
  const queue = useQuery(QueueQuery, {});
  const since = useRef(new Date().toISOString());
  const reloadTimer = useRef<ReturnType<typeof setTimeout>>();
  useSubscription(QueueChanged, { since: since.current }, () => {
    clearTimeout(reloadTimer.current);
    // A burst of admissions reads the queue once.
    reloadTimer.current = setTimeout(queue.reload, 500);
  });
  if (queue.error && !queue.data) {
    return (
      <p class="error" role="alert">
        {queue.error}
      </p>
    );
  }
  if (!queue.data) return <p class="muted">Loading…</p>;
  const { capacity } = queue.data;
  const queued = queue.data.runs.edges
    .map((edge) => edge.node)
    .sort((a, b) => (a.queuePosition ?? Infinity) - (b.queuePosition ?? Infinity));
  return (
    <section class="page">
      <h1>Queue</h1>
      <div class="columns">
        <section class="card" aria-labelledby="capacity-heading">
          <h2 id="capacity-heading">Capacity</h2>
          <dl class="facts">
            <dt>Slots busy</dt>
            <dd>
              {capacity.slotsBusy} of {capacity.slotsTotal}
            </dd>
            <dt>Memory busy</dt>
            <dd>
              {capacity.memoryBusyMb} of {capacity.memoryTotalMb} MB
            </dd>
            <dt>Largest worker</dt>
            <dd>{capacity.largestWorkerMemoryMb} MB</dd>
            <dt>Queued</dt>
            <dd>{capacity.queued}</dd>
          </dl>
          <meter min={0} max={Math.max(capacity.slotsTotal, 1)} value={capacity.slotsBusy} aria-label="Slots busy" />
        </section>
        <section class="card" aria-labelledby="workers-heading">
          <h2 id="workers-heading">Workers</h2>
          {capacity.workers.length === 0 && <p class="muted">No live worker: queued runs wait for one.</p>}
          <ul class="workers">
            {capacity.workers.map((worker) => (
              <li key={worker.id}>
                <strong>
                  {worker.host}:{worker.pid}
                </strong>{' '}
                {worker.slotsBusy}/{worker.slots} slots, {worker.memoryBusyMb}/{worker.memoryMb} MB
                <span class="muted"> · heartbeat {formatTime(worker.heartbeatAt)}</span>
              </li>
            ))}
          </ul>
        </section>
      </div>
      <section class="card" aria-labelledby="queued-heading">
        <h2 id="queued-heading">Queued runs ({queue.data.runs.totalCount})</h2>
        {queued.length === 0 ? (
          <p class="muted">Nothing is waiting.</p>
        ) : (
          <div class="table-scroll">
            <table>
              <thead>
                <tr>
                  <th scope="col">Position</th>
                  <th scope="col">Run</th>
                  <th scope="col">Status</th>
                  <th scope="col">Memory</th>
                  <th scope="col">Queued</th>
                  <th scope="col">Why it waits</th>
                </tr>
              </thead>
              <tbody>
                {queued.map((run) => (
                  <tr key={run.id}>
                    <td class="number">{run.queuePosition ?? '—'}</td>
                    <td>
                      <a href={href.run(run.id)}>{run.name ?? `${run.routine.name}.${run.methodName}`}</a>
                      <span class="muted"> {run.instance.name}</span>
                    </td>
                    <td>
                      <StatusBadge status={run.status} />
                    </td>
                    <td class="number">{run.memoryMb} MB</td>
                    <td class="nowrap">{formatTime(run.queuedAt)}</td>
                    <td>{waitReason(run, capacity)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </section>
  );
}

function waitReason(run: QueuedRun, capacity: Capacity): string {
  if (run.admittedAt) return 'Admitted: waiting for a worker to pick it up';
  if (capacity.workers.length === 0) return 'No live worker';
  if (run.memoryMb > capacity.largestWorkerMemoryMb)
    return `Needs ${run.memoryMb} MB, more than any worker has (${capacity.largestWorkerMemoryMb} MB)`;
  if (run.queuePosition != null && run.queuePosition > 1) return `Behind ${run.queuePosition - 1} earlier run(s)`;
  if (capacity.slotsBusy >= capacity.slotsTotal) return 'Every slot is busy';
  if (run.memoryMb > capacity.memoryTotalMb - capacity.memoryBusyMb) return `Waiting for ${run.memoryMb} MB of free memory`;
  return 'Next to start';
}
