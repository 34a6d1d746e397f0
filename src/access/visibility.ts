// The visibility rule's forms for the read paths: a row is visible when its workspace is one of the
// request's (Access.workspaceIds). Runs carry their instance's workspace (RoutineRun.workspaceId),
// so scoping a run list is one indexed comparison inside the same SQL statement, never a filter
// after it. Every read of instances, runs, artifacts, data sets, events and logs takes one of these.
import { Prisma } from '../generated/prisma/client.ts';
import type { Access } from './access.ts';

/** `alias."workspaceId" = ANY(…)`, for SQL over a table that carries the column (RoutineRun, RoutineInstance). */
export function visibleSql(access: Access, alias: string): Prisma.Sql {
  return Prisma.sql`${Prisma.raw(`${alias}."workspaceId"`)} = ANY(${access.workspaceIds as string[]}::uuid[])`;
}

export function visibleRunWhere(access: Access): Prisma.RoutineRunWhereInput {
  return { workspaceId: { in: access.workspaceIds as string[] } };
}

export function visibleInstanceWhere(access: Access): Prisma.RoutineInstanceWhereInput {
  return { workspaceId: { in: access.workspaceIds as string[] } };
}

export function visibleScheduleWhere(access: Access): Prisma.ScheduleWhereInput {
  return { workspaceId: { in: access.workspaceIds as string[] } };
}

export function visibleArtifactWhere(access: Access): Prisma.ArtifactWhereInput {
  return { run: visibleRunWhere(access) };
}

export function visibleDatasetWhere(access: Access): Prisma.DatasetWhereInput {
  return { instance: visibleInstanceWhere(access) };
}

export function visibleWorkspaceWhere(access: Access): Prisma.WorkspaceWhereInput {
  return { id: { in: access.workspaceIds as string[] } };
}
