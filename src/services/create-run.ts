// createRun: validate everything at the edge, then write the run (and, when asked, queue it)
// in one transaction. Bad input is refused with a ValidationError and nothing is written.
import { randomUUID } from 'node:crypto';
import { Prisma, type Routine, type RoutineRun, type User } from '../generated/prisma/client.ts';
import { queryRows, type Db } from '../db/client.ts';
import { isUuid } from '../db/ids.ts';
import type { Access } from '../access/access.ts';
import type { ExecutionType, InvocationMethod } from '../generated/prisma/enums.ts';
import { IdempotencyKeyReusedError, InstanceNotConstructedError, ValidationError, type FieldError } from '../errors.ts';
import { jsonEqual } from '../db/json-equal.ts';
import { runInputs } from '../db/json-columns.ts';
import { DEFAULT_WORKER_LEASE_MS } from '../env.ts';
import {
  creationResolvedParameters,
  methodOf,
  methodSignature,
  type MethodDefinition,
  type MethodSignature,
  type RoutineDefinition,
} from '../routines/sdk.ts';
import { largestWorkerMemoryMb, MAX_PRIORITY, MIN_PRIORITY } from '../runs/admission.ts';
import { createRunInTx } from '../runs/state-machine.ts';
import type { InMemoryHold } from '../runs/in-memory-capacity.ts';
import type { Tx } from '../runs/run-events.ts';
import type { ServiceDeps } from './deps.ts';
import { parseMethodInputs, previewRowsErrors } from './method-inputs.ts';
import { parseDraftInputs } from './run-draft.ts';
import { dataRefErrors, lockReferencedDatasets, referencesDatasets } from './data-refs.ts';
import { attributeErrors, labelErrors, normalizeLabels } from '../rules/run-metadata.ts';
import { executeInMemory, holdInMemoryCapacity } from './execute-in-memory.ts';
import { runAction, visibleInstance } from './require-access.ts';

export interface CreateRunInput {
  instanceId: string;
  methodName: string;
  name?: string | null;
  description?: string | null;
  inputs?: unknown;
  executionType?: ExecutionType | null;
  invocationMethod?: InvocationMethod | null;
  storeArtifacts?: boolean | null;
  includeStatistics?: boolean | null;
  includePreviews?: boolean | null;
  /** Rows in each table artifact's preview (with includePreviews); null: the storage default. */
  previewRows?: number | null;
  memoryOverrideMb?: number | null;
  /** MIN_PRIORITY..MAX_PRIORITY, default 0: higher is admitted first among queued runs that fit (src/runs/admission.ts). */
  priority?: number | null;
  labels?: string[] | null;
  attributes?: unknown;
  start?: boolean | null;
  idempotencyKey?: string | null;
  parentRunId?: string | null;
  /** Re-runs: the inputs that differ from the parent run's, recorded on the new run. */
  changedInputs?: Record<string, unknown> | null;
  /**
   * Re-runs: the instance config to execute with (the parent's). Default: the instance's config
   * when the run is created. Ignored for stateless routines.
   */
  instanceConfig?: PinnedInstanceConfig | null;
  /** Runs a schedule fires (src/services/fire-schedule.ts): the schedule, for Schedule.runs. */
  scheduleId?: string | null;
}

/** An instance config and its version (RoutineInstance.stateVersion when it was current). */
export interface PinnedInstanceConfig {
  config: unknown;
  version: number;
}

const IDEMPOTENCY_WINDOW_MS = 24 * 60 * 60 * 1000;

/** What createRun reads of the run's instance and its routine row. */
export interface RunInstance {
  id: string;
  name: string;
  workspaceId: string;
  /** The constructor has run (RoutineInstance.constructedAt is set). */
  constructed: boolean;
  routine: Pick<Routine, 'id' | 'name' | 'version'>;
}

/**
 * The instance and its routine row in one statement on the driver: Prisma's findUnique with the
 * routine included cost ten times the driver's CPU per call, and read the routine's whole method
 * signatures (a JSON document) that createRun does not use.
 */
async function readRunInstance(db: Db, instanceId: string): Promise<RunInstance | null> {
  if (!isUuid(instanceId)) return null;
  const [row] = await queryRows<Omit<RunInstance, 'routine'> & { routineId: string; routineName: string; routineVersion: string }>(
    db,
    Prisma.sql`
      SELECT i.id::text AS id, i.name, i."workspaceId"::text AS "workspaceId", i."constructedAt" IS NOT NULL AS constructed,
        r.id::text AS "routineId", r.name AS "routineName", r.version AS "routineVersion"
      FROM "RoutineInstance" i JOIN "Routine" r ON r.id = i."routineId"
      WHERE i.id = ${instanceId}::uuid`,
  );
  if (!row) return null;
  const { routineId, routineName, routineVersion, ...instance } = row;
  return { ...instance, routine: { id: routineId, name: routineName, version: routineVersion } };
}

/** What validation established about a run to be created: everything insertRun writes. */
export interface ValidRun {
  instance: RunInstance;
  routine: RoutineDefinition;
  method: MethodDefinition;
  signature: MethodSignature;
  executionType: ExecutionType;
  inputs: Record<string, unknown>;
  labels: string[];
  attributes: unknown;
  start: boolean;
  storeArtifacts: boolean;
  memoryMb: number;
}

export async function createRun(
  deps: ServiceDeps,
  { access, input }: { access: Access; input: CreateRunInput },
): Promise<{ run: RoutineRun; deduplicated: boolean }> {
  const { user } = access;
  const valid = await validateRun(deps, access, input);
  const existing = await findIdempotentRun(deps, { user, input, valid });
  if (existing) return { run: existing, deduplicated: true };

  // An in-memory run takes its capacity (or is refused) before anything is written.
  const hold =
    valid.start && valid.executionType === 'IN_MEMORY'
      ? holdInMemoryCapacity(deps, {
          userId: user.id,
          routineName: valid.routine.name,
          methodName: input.methodName,
          memoryMb: valid.memoryMb,
          timeoutMs: valid.signature.timeoutMs,
          memoryOverridden: input.memoryOverrideMb != null,
        })
      : null;
  let run: RoutineRun;
  try {
    run = await insertRun(deps, { user, input, valid });
  } catch (error) {
    hold?.release();
    // Two requests with the same idempotency key raced: the loser answers with the winner's run.
    // P2002 through Prisma (in a transaction), 23505 unique_violation from the driver.
    const code = (error as { code?: string }).code;
    if (input.idempotencyKey && (code === 'P2002' || code === '23505')) return createRun(deps, { access, input });
    throw error;
  }
  return { run: await dispatchRun(deps, { run, valid, hold }), deduplicated: false };
}

/**
 * Refuses the run (NotFound, Forbidden, ValidationError with every field error,
 * InstanceNotConstructed) or says what to write.
 */
export async function validateRun(deps: ServiceDeps, access: Access, input: CreateRunInput): Promise<ValidRun> {
  const { db, registry } = deps;
  const instance = visibleInstance(access, await readRunInstance(db, input.instanceId), input.instanceId);

  const routine = registry.get(instance.routine.name);
  const method = methodOf(routine, input.methodName);
  if (!routine || !method) {
    const known = routine ? Object.keys(routine.methods).join(', ') : 'none';
    throw ValidationError.field(
      ['methodName'],
      `Routine "${instance.routine.name}" has no method "${input.methodName}" (methods: ${known})`,
    );
  }
  // Which role depends on the method: an OPERATOR runs STANDARD methods, and only a MAINTAINER a
  // CONSTRUCTOR, which rewrites the instance's config for everyone who runs it afterwards.
  access.require(runAction(method.kind), instance);
  const signature = signatureOf(input.methodName, method);
  const executionType = input.executionType ?? 'BACKGROUND';
  const errors: FieldError[] = [];
  let inputs: Record<string, unknown> = {};
  // A guided (WORKFLOW) run created without starting is a draft: it may be incomplete, and each
  // parameter given is checked on its own; startRun validates the whole signature.
  const isDraft = input.invocationMethod === 'WORKFLOW' && input.start === false;
  try {
    inputs = isDraft ? parseDraftInputs(method, input.inputs) : parseMethodInputs(method, input.inputs);
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    errors.push(...error.fieldErrors);
  }
  if (executionType === 'IN_MEMORY' && !signature.allowsInMemory) {
    errors.push({ path: ['executionType'], message: `Method "${input.methodName}" does not allow in-memory execution` });
  }
  if (input.memoryOverrideMb != null && input.memoryOverrideMb > deps.limits.maxRunMemoryMb) {
    errors.push({
      path: ['memoryOverrideMb'],
      message: `At most ${deps.limits.maxRunMemoryMb} MB can be allocated to a run (MAX_RUN_MEMORY_MB)`,
    });
  } else if (input.memoryOverrideMb != null && executionType === 'BACKGROUND') {
    // A run no worker could ever hold would wait forever: refuse it now.
    const largest = await largestWorkerMemoryMb(db, { leaseMs: deps.limits.workerLeaseMs ?? DEFAULT_WORKER_LEASE_MS });
    if (largest !== null && input.memoryOverrideMb > largest) {
      errors.push({
        path: ['memoryOverrideMb'],
        message: `No worker has ${input.memoryOverrideMb} MB for a run: the largest worker budget is ${largest} MB (WORKER_MEMORY_MB)`,
      });
    }
  }
  if (input.priority != null && !(Number.isInteger(input.priority) && input.priority >= MIN_PRIORITY && input.priority <= MAX_PRIORITY)) {
    errors.push({ path: ['priority'], message: `Priority is a whole number from ${MIN_PRIORITY} to ${MAX_PRIORITY}` });
  }
  errors.push(...previewRowsErrors(input.previewRows));
  const labels = normalizeLabels(input.labels ?? []);
  errors.push(...labelErrors(labels));
  const attributes = input.attributes ?? {};
  errors.push(...attributeErrors(attributes));
  errors.push(...(await dataRefErrors(deps, access, inputs, instance.workspaceId)));
  if (errors.length > 0) throw new ValidationError(errors);

  if (routine.stateful && method.kind === 'STANDARD' && !instance.constructed) {
    const constructorName = Object.entries(routine.methods).find(([, m]) => m.kind === 'CONSTRUCTOR')![0];
    throw new InstanceNotConstructedError(instance.name, constructorName);
  }

  return {
    instance,
    routine,
    method,
    signature,
    executionType,
    inputs,
    labels,
    attributes,
    start: input.start ?? true,
    storeArtifacts: input.storeArtifacts ?? executionType === 'BACKGROUND',
    memoryMb: input.memoryOverrideMb ?? signature.defaultMemoryMb,
  };
}

const signatures = new WeakMap<MethodDefinition, Map<string, MethodSignature>>();

/**
 * methodSignature converts the method's zod schema to JSON Schema on every call (a quarter of a
 * millisecond): a method's definition never changes once registered, so neither does its signature.
 */
function signatureOf(methodName: string, method: MethodDefinition): MethodSignature {
  let byName = signatures.get(method);
  if (!byName) signatures.set(method, (byName = new Map()));
  let signature = byName.get(methodName);
  if (!signature) byName.set(methodName, (signature = methodSignature(methodName, method)));
  return signature;
}

/**
 * The run this user created with the same idempotency key in the instance's workspace within the
 * window, if it asked for the same thing (else IdempotencyKeyReusedError). Keys are per workspace so
 * that a token bound to one never learns of a run in another. An expired key is freed for the new run.
 */
async function findIdempotentRun(
  { db }: ServiceDeps,
  { user, input, valid }: { user: User; input: CreateRunInput; valid: ValidRun },
): Promise<RoutineRun | null> {
  if (!input.idempotencyKey) return null;
  const existing = await db.routineRun.findUnique({
    where: {
      workspaceId_createdById_idempotencyKey: {
        workspaceId: valid.instance.workspaceId,
        createdById: user.id,
        idempotencyKey: input.idempotencyKey,
      },
    },
  });
  if (existing && existing.createdAt.getTime() > Date.now() - IDEMPOTENCY_WINDOW_MS) {
    // A value drawn at creation (a random seed) differs on every request: the retry asked for
    // "a random one", which the first run has. Compare what the client gave.
    const given = (input.inputs ?? {}) as Record<string, unknown>;
    const drawn = creationResolvedParameters(valid.method).filter((name) => !Object.hasOwn(given, name));
    const same =
      existing.instanceId === valid.instance.id &&
      existing.methodName === input.methodName &&
      jsonEqual(withoutKeys(runInputs.parse(existing.inputs), drawn), withoutKeys(valid.inputs, drawn));
    if (!same) throw new IdempotencyKeyReusedError(existing.id);
    return existing;
  }
  if (existing) {
    // The key has expired: free it for this run.
    await db.routineRun.update({ where: { id: existing.id }, data: { idempotencyKey: null } });
  }
  return null;
}

function withoutKeys(values: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(values).filter(([key]) => !keys.includes(key)));
}

/**
 * Writes the run and its CREATED (and QUEUED) events in one transaction, with what it reads
 * (parent, data set locks, pinned config), and announces it.
 */
async function insertRun(
  { db }: ServiceDeps,
  { user, input, valid }: { user: User; input: CreateRunInput; valid: ValidRun },
): Promise<RoutineRun> {
  const { instance, routine, method, signature } = valid;
  // The run records the routine version that executes it: usually the instance's own row.
  const routineRow =
    instance.routine.version === routine.version
      ? instance.routine
      : await db.routine.findUniqueOrThrow({ where: { name_version: { name: routine.name, version: routine.version } } });

  const write = async (tx: Tx, inTransaction: boolean) => {
    let parentRunId = input.parentRunId ?? null;
    if (parentRunId) {
      // The parent may be deleted meanwhile; the re-run then simply has no parent.
      const parent = await tx.routineRun.findUnique({ where: { id: parentRunId }, select: { id: true } });
      if (!parent) parentRunId = null;
    }
    await lockReferencedDatasets(tx, valid.inputs);
    // The config the run executes with is fixed now, read in the transaction that writes the run.
    let pinned: PinnedInstanceConfig | null = null;
    if (routine.stateful) {
      pinned =
        input.instanceConfig ??
        (await tx.routineInstance
          .findUniqueOrThrow({ where: { id: instance.id }, select: { config: true, stateVersion: true } })
          .then((current) => ({ config: current.config, version: current.stateVersion })));
    }
    // The row, its CREATED (and QUEUED) events and the notice, in one go.
    return createRunInTx(tx, {
      inTransaction,
      start: valid.start,
      actorId: user.id,
      createdDetail: parentRunId ? { rerunOf: parentRunId, changedInputs: input.changedInputs ?? {} } : null,
      data: {
        id: randomUUID(),
        instanceId: instance.id,
        workspaceId: instance.workspaceId,
        routineId: routineRow.id,
        routineVersion: routine.version,
        methodName: input.methodName,
        methodKind: method.kind,
        name: input.name ?? null,
        description: input.description ?? null,
        inputs: valid.inputs,
        executionType: valid.executionType,
        invocationMethod: input.invocationMethod ?? 'DIRECT',
        storeArtifacts: valid.storeArtifacts,
        includeStatistics: input.includeStatistics ?? false,
        includePreviews: input.includePreviews ?? false,
        previewRows: input.previewRows ?? null,
        memoryMb: valid.memoryMb,
        memoryOverrideMb: input.memoryOverrideMb ?? null,
        priority: input.priority ?? 0,
        labels: valid.labels,
        attributes: valid.attributes,
        createdById: user.id,
        idempotencyKey: input.idempotencyKey ?? null,
        maxAttempts: signature.retry.maxAttempts,
        timeoutMs: signature.timeoutMs ?? null,
        parentRunId,
        changedInputs: input.changedInputs ?? null,
        instanceConfig: pinned?.config ?? null,
        instanceConfigVersion: pinned?.version ?? null,
        scheduleId: input.scheduleId ?? null,
      },
    });
  };
  // A plain run (no parent to look up, no data set to lock, no config to pin) reads nothing the
  // write depends on: it is one statement, its own transaction, with no BEGIN and COMMIT round
  // trips around it.
  if (!input.parentRunId && !routine.stateful && !referencesDatasets(valid.inputs)) return write(db, false);
  return db.$transaction((tx) => write(tx, true));
}

/**
 * Sets the written run going: an in-memory run executes now (its answer is the finished row), a
 * background run is handed to the launcher after the commit, off the request path.
 */
async function dispatchRun(
  deps: ServiceDeps,
  { run, valid, hold }: { run: RoutineRun; valid: ValidRun; hold: InMemoryHold | null },
): Promise<RoutineRun> {
  // The row as written is the answer, unless the method has just executed in memory.
  let answer = run;
  if (hold) {
    await executeInMemory(deps, { runId: run.id, hold });
    answer = await deps.db.routineRun.findUniqueOrThrow({ where: { id: run.id } });
  }
  // The QUEUED run is committed: answer now and let the workflow start off the request path.
  if (valid.start && valid.executionType === 'BACKGROUND') deps.launcher?.launchSoon(run.id);
  return answer;
}
