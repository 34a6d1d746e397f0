// A run list's GraphQL arguments (first, after, filter, orderBy) turned into the list semantics of
// src/runs/run-filter.ts: global ids decoded, and a value the semantics refuse (RunListInputError)
// reported as an argument error (BAD_USER_INPUT, src/argument-errors.ts). Query.runs,
// RoutineInstance.runs, runsUpdated, deleteRuns and compiled reads (src/reads/compile.ts) all read
// their arguments through here. No schema types here: compiled reads import it without the builder.
import { badInput, excerpt, invalidGlobalIdMessage, wrongGlobalIdTypeMessage } from '../src/argument-errors.ts';
import {
  checkRunFilter,
  decodeRunCursor,
  DEFAULT_RUN_ORDER,
  isUuid,
  MAX_PAGE_SIZE,
  pageSize as runPageSize,
  RunListInputError,
  type RunFilter,
  type RunListQuery,
  type RunOrder,
} from '../src/runs/run-filter.ts';

/** The list semantics' refusal of `read`'s input as the argument error a client gets. */
function asArgumentError<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof RunListInputError) throw badInput(error.message);
    throw error;
  }
}

// The arguments as Pothos hands them over: resolvers get parsed global ids; compiled reads (and
// nested selection functions) may see the raw strings.
export type GlobalIdArg = { id: string; typename: string } | string;
export interface RunFilterArg extends Omit<RunFilter, 'instanceId' | 'createdBy'> {
  instanceId?: GlobalIdArg | null;
  createdBy?: GlobalIdArg[] | null;
}
export interface RunListArgs {
  first?: number | null;
  after?: string | null;
  filter?: RunFilterArg | null;
  orderBy?: RunOrder | null;
}

/** `where` names the argument in errors (e.g. `filter.instanceId`). */
export function rawId(id: GlobalIdArg, typename: string, where: string): string {
  if (typeof id !== 'string') return id.id;
  // Decode it the way the relay plugin does, with the same errors (src/argument-errors.ts).
  const decoded = Buffer.from(id, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0 || colon === decoded.length - 1) throw badInput(invalidGlobalIdMessage(where, id));
  if (decoded.slice(0, colon) !== typename) throw badInput(wrongGlobalIdTypeMessage(where, id, [typename]));
  return decoded.slice(colon + 1);
}

/** A RunFilter argument as the list semantics take it: raw ids, every condition within its bounds. */
export function runFilter(filter: RunFilterArg | null | undefined): RunFilter {
  const { instanceId, createdBy, ...rest } = filter ?? {};
  const checked = asArgumentError(() =>
    checkRunFilter({
      ...rest,
      instanceId: instanceId ? rawId(instanceId, 'RoutineInstance', 'filter.instanceId') : null,
      createdBy: createdBy ? createdBy.map((id, index) => rawId(id, 'User', `filter.createdBy[${index}]`)) : null,
    }),
  );
  if (checked.instanceId && !isUuid(checked.instanceId))
    throw badInput(`filter.instanceId: not a valid id: ${excerpt(checked.instanceId)}`);
  for (const [index, id] of (checked.createdBy ?? []).entries()) {
    if (!isUuid(id)) throw badInput(`filter.createdBy[${index}]: not a valid id: ${excerpt(id)}`);
  }
  return checked;
}

export function runListQuery(args: RunListArgs): RunListQuery {
  const filter = runFilter(args.filter);
  const order = args.orderBy ?? DEFAULT_RUN_ORDER;
  const take = pageSize(args.first);
  const after = asArgumentError(() => decodeRunCursor(order, args.after));
  return { filter, order, take, after, key: JSON.stringify(filter) };
}

/** `first` of a list: at most MAX_PAGE_SIZE. */
export function pageSize(first: number | null | undefined): number {
  return asArgumentError(() => runPageSize(first));
}

/** For Pothos connections (`maxSize`): the same cap, refused with the same error rather than clamped. */
export function checkedMaxSize(args: { first?: number | null; last?: number | null }): number {
  pageSize(args.first ?? args.last);
  return MAX_PAGE_SIZE;
}

/** RoutineRun.events' `after`: the sequence of the last event seen (0 without one). */
export function eventCursor(after: string | null | undefined): number {
  if (after === null || after === undefined) return 0;
  if (!/^\d{1,9}$/.test(after)) throw badInput('Argument "after" is not an event cursor: an event cursor is a sequence number, e.g. "12"');
  return Number(after);
}
