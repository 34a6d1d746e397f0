import { abortable } from '../src/events/run-feed.ts';
import type { RunUpdate } from '../src/events/run-updates.ts';
import { builder } from './builder.ts';
import { RunFilterInput } from './run-graph.ts';
import { runFilter } from './run-list-args.ts';

const RunUpdateRef = builder.objectRef<RunUpdate>('RunUpdate').implement({
  description: 'A snapshot of a run after a change. Keep the highest sequence per run and ignore older snapshots.',
  fields: (t) => ({
    // The snapshot is a whole row: resolving it as a prismaField lets its scalar fields answer
    // from the row instead of a query per subscriber.
    run: t.prismaField({ type: 'RoutineRun', resolve: (_query, update) => update.run }),
    sequence: t.exposeInt('sequence', { description: "The run's latest event sequence in this snapshot." }),
    matchesFilter: t.exposeBoolean('matchesFilter', {
      description: 'False once, when a run that matched the filter stops matching it.',
    }),
  }),
});

builder.subscriptionField('runsUpdated', (t) =>
  t.field({
    type: RunUpdateRef,
    description:
      'Every run matching `filter` that changed at or after `since` (oldest first), then each change live. A run that stops matching is sent once more with matchesFilter: false. Reconnect with `since` = your last update time minus a small margin to miss nothing.',
    args: {
      filter: t.arg({ type: RunFilterInput }),
      since: t.arg({ type: 'DateTime' }),
    },
    subscribe: (_root, args, ctx) => {
      const filter = runFilter(args.filter);
      return abortable((signal) => ctx.runUpdates.stream({ filter, since: args.since ?? null, access: ctx.access, signal }));
    },
    resolve: (update: RunUpdate) => update,
  }),
);
