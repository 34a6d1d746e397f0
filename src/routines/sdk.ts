// The routine SDK: the one way to define a routine. A routine is plain data plus `run`
// functions; the service mirrors its signature into the database and GraphQL, and the
// execution sandbox (src/execution/) calls `run` in a supervised child process.
import { z } from 'zod';
import { MAX_MEMORY_GROWTH, MIN_MEMORY_GROWTH_EXCLUSIVE } from '../execution/out-of-memory.ts';

export type MethodKind = 'CONSTRUCTOR' | 'STANDARD';

export interface RetryPolicy {
  /** Total attempts including the first. */
  maxAttempts: number;
  initialIntervalMs: number;
  backoffCoefficient: number;
  /**
   * Opt-in: an attempt that runs out of memory is retried with its memory times this factor
   * (above 1, at most 16), bounded by MAX_RUN_MEMORY_MB, within maxAttempts. Without it, running
   * out of memory ends the run at once: another attempt at the same memory would fail the same way.
   */
  memoryGrowth?: number;
}

/** A table artifact: written as CSV, previewed as its first rows, summarized per column. */
export interface TableData {
  columns: string[];
  rows: unknown[][];
}

/**
 * A stored table as a method input: an artifact of an earlier run (`Artifact.path`) or an
 * uploaded data set (`Dataset.path`), with the columns to use. createRun refuses a path that names
 * nothing; the method reads it with `context.readTable`.
 */
export const tableRef = z
  .object({
    path: z.string().startsWith('routine://').describe('routine:// path of an artifact (Artifact.path) or a data set (Dataset.path)'),
    columns: z.array(z.string()).min(1).optional().describe('The columns to use, in order (default: every numeric column).'),
  })
  .strict();
export type TableRef = z.output<typeof tableRef>;

export interface ArtifactInput {
  metadata?: Record<string, unknown>;
  /** Rows kept in the preview when the run asks for previews (default: the run's previewRows, else 100). */
  previewRows?: number;
}

export interface MethodContext {
  readonly runId: string;
  readonly instanceId: string;
  readonly attempt: number;
  /** The memory the run is allocated, in MB (the method's default or the run's override). */
  readonly memoryMb: number;
  /**
   * On a retried attempt, the progress the previous attempt last reported (e.g. after its worker
   * was killed); a method that can continue from there may skip work already done. Null otherwise.
   */
  readonly resumeFrom: { percent: number; message: string | null } | null;
  /** The instance's configuration, written by its last completed constructor run. */
  readonly instanceConfig: Record<string, unknown> | null;
  /** Aborted when the run is cancelled; long loops should check it between steps. */
  readonly signal: AbortSignal;
  progress(percent: number, message?: string): void;
  log(level: 'debug' | 'info' | 'warn' | 'error', message: string): void;
  /** Reads a stored table (an earlier run's artifact or an uploaded data set) by its routine:// path. */
  readTable(ref: TableRef): Promise<TableData>;
  writeTable(name: string, table: TableData, options?: ArtifactInput): Promise<void>;
  writeJson(name: string, value: unknown, options?: ArtifactInput): Promise<void>;
  /**
   * Throws the cancellation if the run was cancelled; call between steps of CPU-bound loops.
   * The cancel arrives as a message, so a loop that never yields cannot see it: use
   * `checkpoint({ context })` between chunks, or the run is killed after the grace period.
   */
  throwIfCancelled(): void;
}

/**
 * The numeric matrix of a table: the given columns (default: every column whose values are all
 * numbers), one array per row. A missing column or a non-numeric cell is a data problem the run
 * cannot retry away, named by row and column.
 */
export function numericMatrix({ table, columns, source }: { table: TableData; columns?: string[]; source: string }): number[][] {
  const chosen =
    columns ?? table.columns.filter((_, index) => table.rows.length > 0 && table.rows.every((row) => typeof row[index] === 'number'));
  if (chosen.length === 0) throw new NonRetryableRoutineError(`${source} has no numeric column`, 'DataFormatError');
  const indices = chosen.map((column) => {
    const index = table.columns.indexOf(column);
    if (index === -1) {
      throw new NonRetryableRoutineError(`${source} has no column "${column}" (columns: ${table.columns.join(', ')})`, 'DataFormatError');
    }
    return index;
  });
  return table.rows.map((row, rowIndex) =>
    indices.map((index) => {
      const value = row[index];
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        throw new NonRetryableRoutineError(
          `${source}: row ${rowIndex + 1}, column "${table.columns[index]}" is ${JSON.stringify(value)}, not a number`,
          'DataFormatError',
        );
      }
      return value;
    }),
  );
}

/** What `throwIfCancelled` throws; the sandbox reports the run CANCELLED, not FAILED. */
export class RunCancelledError extends Error {
  readonly cancelled = true;
  constructor(message = 'Run was cancelled') {
    super(message);
    this.name = 'RunCancelledError';
  }
}

/**
 * Lets pending messages (the cancel) in, then throws if the run was cancelled. A yield costs a
 * few microseconds, so calling it every ~10 ms of work is free.
 */
export async function checkpoint({ context }: { context: MethodContext }): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  context.throwIfCancelled();
}

/**
 * Reproducibility rule for routine authors: a run's `inputs` must be everything its result depends
 * on besides the instance config and the data it reads. A parameter whose default is random (a
 * seed) or otherwise not fixed (a timestamp) must not be drawn inside `run`: declare it with
 * `resolvedAtCreation(schema, resolve)`. `resolve` is called once, when the run is created (for a
 * draft: when it is started), and its value is stored in the run's `inputs` like a value the
 * client gave, so `rerunRun` without overrides repeats it and reproduces the same outputs and
 * artifact checksums. A re-run that removes the parameter (`inputs: { seed: null }`) draws anew.
 * The signature shows no default for such a parameter (its default is a fresh value each time).
 * Plain zod defaults are resolved and stored at creation too; only a varying one needs this marker.
 */
export function resolvedAtCreation<Schema extends z.ZodType>(schema: Schema, resolve: () => z.output<Schema>) {
  const parameter = schema.default(resolve as never);
  // zod clones a schema on .describe()/.meta() but shares its definition: mark the definition.
  creationResolvedDefinitions.add(parameter._zod.def);
  return parameter;
}

const creationResolvedDefinitions = new WeakSet<object>();

/** The method's parameters declared with `resolvedAtCreation`, in signature order. */
export function creationResolvedParameters(method: MethodDefinition): string[] {
  return Object.entries(method.input.shape as Record<string, z.ZodType>)
    .filter(([, schema]) => creationResolvedDefinitions.has(schema._zod.def))
    .map(([name]) => name);
}

export interface MethodDefinition<Input extends z.ZodObject = z.ZodObject> {
  kind: MethodKind;
  description?: string;
  input: Input;
  allowsInMemory?: boolean;
  defaultMemoryMb?: number;
  retry?: Partial<RetryPolicy>;
  /** Start-to-close limit of one attempt. */
  timeoutMs?: number;
  /** Returns the run's outputs (a small JSON object). A constructor's outputs become the instance config. */
  run(context: MethodContext, input: z.output<Input>): Promise<Record<string, unknown>> | Record<string, unknown>;
}

export interface RoutineDefinition {
  name: string;
  version: string;
  description?: string;
  /** Stateful routines have a CONSTRUCTOR method that must complete before their STANDARD methods run. */
  stateful: boolean;
  methods: Record<string, MethodDefinition>;
}

/**
 * The routine's method of this name, or undefined. Method names come from clients, and
 * `methods` is a plain object: `methods["toString"]` would be Object.prototype's function.
 */
export function methodOf(routine: RoutineDefinition | undefined, name: string): MethodDefinition | undefined {
  return routine && Object.hasOwn(routine.methods, name) ? routine.methods[name] : undefined;
}

/** Identity helper that keeps each method's input type attached to its `run`. */
export function defineMethod<Input extends z.ZodObject>(method: MethodDefinition<Input>): MethodDefinition {
  return method as unknown as MethodDefinition;
}

export function defineRoutine(routine: RoutineDefinition): RoutineDefinition {
  const constructors = Object.values(routine.methods).filter((method) => method.kind === 'CONSTRUCTOR');
  if (routine.stateful && constructors.length === 0) {
    throw new Error(`Routine ${routine.name} is stateful but has no CONSTRUCTOR method`);
  }
  if (!routine.stateful && constructors.length > 0) {
    throw new Error(`Routine ${routine.name} has a CONSTRUCTOR method but is not stateful`);
  }
  for (const [name, method] of Object.entries(routine.methods)) {
    const growth = method.retry?.memoryGrowth;
    if (growth === undefined) continue;
    if (typeof growth !== 'number' || !Number.isFinite(growth) || growth <= MIN_MEMORY_GROWTH_EXCLUSIVE || growth > MAX_MEMORY_GROWTH) {
      throw new Error(
        `Routine ${routine.name}, method ${name}: retry.memoryGrowth must be a number above ${MIN_MEMORY_GROWTH_EXCLUSIVE} ` +
          `and at most ${MAX_MEMORY_GROWTH} (got ${String(growth)})`,
      );
    }
  }
  return routine;
}

/**
 * Raised by a method for a problem that retrying cannot fix (bad data, impossible configuration).
 * The run fails at once instead of using its remaining attempts.
 */
export class NonRetryableRoutineError extends Error {
  /** Read by the sandbox instead of `instanceof`, which a second copy of this module would defeat. */
  readonly nonRetryable = true;
  constructor(
    message: string,
    readonly type = 'RoutineDataError',
  ) {
    super(message);
    this.name = type;
  }
}

/**
 * What `progress(percent)` records: 0-100, whatever a method passes (NaN or not a number: 0).
 * The method's process clamps before sending, and its parent again, not trusting the child.
 */
export function clampPercent(percent: number): number {
  if (typeof percent !== 'number' || Number.isNaN(percent)) return 0;
  return Math.min(100, Math.max(0, percent));
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 3, initialIntervalMs: 1000, backoffCoefficient: 2 };
export const DEFAULT_MEMORY_MB = 512;
/** A method's time limit per attempt when neither the method nor the run sets one. */
export const DEFAULT_TIMEOUT_MS = 60 * 60 * 1000;

// ---- The signature as data (GraphQL `RoutineMethod.parameters` and `inputSchema`) ----

export interface MethodParameter {
  name: string;
  type: string;
  required: boolean;
  description: string | null;
  default: unknown;
  options: unknown[] | null;
}

export interface MethodSignature {
  name: string;
  kind: MethodKind;
  description: string | null;
  allowsInMemory: boolean;
  defaultMemoryMb: number;
  retry: RetryPolicy;
  timeoutMs: number;
  parameters: MethodParameter[];
  inputSchema: Record<string, unknown>;
}

type JsonSchema = {
  type?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  anyOf?: JsonSchema[];
  [key: string]: unknown;
};

export function methodSignature(name: string, method: MethodDefinition): MethodSignature {
  const inputSchema = z.toJSONSchema(method.input, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const required = new Set(inputSchema.required ?? []);
  // Generating the schema drew one value of each creation-resolved default: it is no default.
  for (const name of creationResolvedParameters(method)) delete inputSchema.properties?.[name]?.default;
  const parameters = Object.entries(inputSchema.properties ?? {}).map(([parameterName, property]) => ({
    name: parameterName,
    type: property.type ?? property.anyOf?.find((option) => option.type !== 'null')?.type ?? 'object',
    required: required.has(parameterName),
    description: property.description ?? null,
    default: property.default ?? null,
    options: property.enum ?? null,
  }));
  return {
    name,
    kind: method.kind,
    description: method.description ?? null,
    allowsInMemory: method.allowsInMemory ?? false,
    defaultMemoryMb: method.defaultMemoryMb ?? DEFAULT_MEMORY_MB,
    retry: { ...DEFAULT_RETRY, ...method.retry },
    timeoutMs: method.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    parameters,
    inputSchema,
  };
}
