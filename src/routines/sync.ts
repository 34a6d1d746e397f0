// Routines are defined in code; each version is mirrored as a row so runs can reference the
// exact version (and signature) they ran.
import type { Db } from '../db/client.ts';
import type { Prisma } from '../generated/prisma/client.ts';
import { methodSignature } from './sdk.ts';
import type { RoutineRegistry } from './registry.ts';

export async function syncRoutines({ db, registry }: { db: Db; registry: RoutineRegistry }): Promise<void> {
  for (const routine of registry.list()) {
    const methods = Object.entries(routine.methods).map(([name, method]) => methodSignature(name, method));
    const data = {
      description: routine.description ?? null,
      stateful: routine.stateful,
      methods: methods as unknown as Prisma.InputJsonValue,
    };
    await db.routine.upsert({
      where: { name_version: { name: routine.name, version: routine.version } },
      create: { name: routine.name, version: routine.version, ...data },
      update: data,
    });
  }
}
