import { GraphQLError } from 'graphql';
import { badInput } from '../src/argument-errors.ts';
import { abortable, type FeedEvent } from '../src/events/run-feed.ts';
import { visibleRunWhere } from '../src/access/visibility.ts';
import { builder } from './builder.ts';
import { RunEventTypeEnum, RunStatusEnum } from './enums.ts';
import { RoutineRunRef, RunProgressRef } from './run.ts';

export const RunEventRef = builder.prismaObject('RunEvent', {
  description: 'One change of a run. Sequences are 1, 2, 3… per run, with no gaps.',
  fields: (t) => ({
    runId: t.globalID({ resolve: (event) => ({ type: 'RoutineRun', id: event.runId }) }),
    sequence: t.exposeInt('sequence'),
    at: t.expose('at', { type: 'DateTime' }),
    type: t.expose('type', { type: RunEventTypeEnum }),
    fromStatus: t.expose('fromStatus', { type: RunStatusEnum, nullable: true }),
    toStatus: t.expose('toStatus', { type: RunStatusEnum, nullable: true }),
    progress: t.field({
      type: RunProgressRef,
      nullable: true,
      resolve: (event) =>
        event.progressPercent === null
          ? null
          : { percent: event.progressPercent, message: event.progressMessage ?? '', at: event.at, sequence: event.sequence },
    }),
    actor: t.relation('actor', { nullable: true, description: 'Who caused it; null for the system.' }),
    detail: t.expose('detail', { type: 'JSON', nullable: true }),
    log: t.relation('log', { nullable: true, description: 'LOG events: the log entry written.' }),
  }),
});

/** RoutineRun.events; its cursor is the sequence. */
export const RunEventConnection = builder.connectionObject(
  {
    type: RunEventRef,
    name: 'RunEventConnection',
    fields: (t) => ({
      totalCount: t.int({
        description: 'How many events match `types` (all pages).',
        resolve: (connection) => (connection as unknown as { totalCount: () => Promise<number> }).totalCount(),
      }),
    }),
  },
  { name: 'RunEventEdge' },
);

builder.subscriptionField('runUpdated', (t) =>
  // A prismaField, so that Pothos knows each event row arrives loaded (with its actor) and does
  // not query it again for every subscriber.
  t.prismaField({
    type: 'RunEvent',
    description:
      "Replays the run's stored events after `afterSequence` (default 0: all of them), then streams new ones live, in sequence order. A client that reconnects passes the last sequence it received.",
    args: {
      id: t.arg.globalID({ required: true, for: RoutineRunRef }),
      afterSequence: t.arg.int({ defaultValue: 0 }),
    },
    subscribe: async (_root, args, ctx) => {
      // Sequences start at 1: a negative one is a client's bug, not "replay everything".
      if (args.afterSequence != null && args.afterSequence < 0)
        throw badInput(`afterSequence must be zero or more (got ${args.afterSequence})`);
      const run = await ctx.db.routineRun.findFirst({ where: { id: args.id.id, ...visibleRunWhere(ctx.access) }, select: { id: true } });
      if (!run) throw new GraphQLError('No run has this id', { extensions: { code: 'NOT_FOUND' } });
      const afterSequence = args.afterSequence ?? 0;
      return abortable((signal) => ctx.feeds.stream({ runId: run.id, afterSequence, access: ctx.access, signal }));
    },
    resolve: (_query, event: FeedEvent) => event,
  }),
);
