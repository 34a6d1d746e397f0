// What each Json column holds, as a zod schema: code that reads such a column parses it here once,
// where it comes from the database, instead of casting it where it is used. A row that does not
// hold what its column means fails loudly at the read, not later as a wrong value.
//
// JSON objects are checked, not rebuilt: z.record would copy them and drop a "__proto__" key that
// a user may store in JSON, and inputs and configurations must read back exactly as written.
import { z } from 'zod';
import type { MethodSignature } from '../routines/sdk.ts';
import type { ArtifactPreview } from '../storage/artifact-store.ts';

const jsonObject = z.custom<Record<string, unknown>>(
  (value) => typeof value === 'object' && value !== null && !Array.isArray(value),
  'expected a JSON object',
);

/** RoutineRun.inputs: the method's inputs as given (checked against its signature when written); JSON null reads as none. */
export const runInputs = jsonObject.nullable().transform((inputs) => inputs ?? {});

/** RoutineInstance.config: written by the instance's last completed constructor run; null before one. */
export const instanceConfig = jsonObject.nullable();

/** Artifact.preview and Dataset.preview: the head of the data (src/storage/artifact-store.ts), or null when not asked for. */
export const storedPreview = z
  .object({
    columns: z.array(z.string()).nullable(),
    rows: z.array(z.array(z.unknown())).nullable(),
    text: z.string().nullable(),
    truncated: z.boolean(),
  })
  .nullable() satisfies z.ZodType<ArtifactPreview | null>;

/**
 * Artifact.statistics and Dataset.statistics: per-column statistics (src/storage/column-statistics.ts),
 * or null when not asked for. Each column's entry depends on its kind; what compareRuns reads is checked
 * where it reads it.
 */
export const storedStatistics = z.object({ columns: z.array(jsonObject).default([]) }).nullable();

/** Routine.methods: the signatures of a routine version's methods (src/routines/sync.ts writes them). */
export const methodSignatures = z.array(
  z.object({
    name: z.string(),
    kind: z.enum(['CONSTRUCTOR', 'STANDARD']),
    description: z.string().nullable(),
    allowsInMemory: z.boolean(),
    defaultMemoryMb: z.number(),
    retry: z.object({
      maxAttempts: z.number(),
      initialIntervalMs: z.number(),
      backoffCoefficient: z.number(),
      memoryGrowth: z.number().optional(),
    }),
    timeoutMs: z.number(),
    parameters: z.array(
      z.object({
        name: z.string(),
        type: z.string(),
        required: z.boolean(),
        description: z.string().nullable(),
        default: z.unknown(),
        options: z.array(z.unknown()).nullable(),
      }),
    ),
    inputSchema: jsonObject,
  }),
) satisfies z.ZodType<MethodSignature[]>;
