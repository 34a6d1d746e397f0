// The one module that reads process.env. Everything else receives a typed `Env`.
import path from 'node:path';
import { z } from 'zod';

const boolean = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((value) => value === 'true' || value === '1' || value === 'yes');

/** WORKER_LEASE_MS unset; also the lease of code handed no Env (services whose limits leave it out). */
export const DEFAULT_WORKER_LEASE_MS = 15_000;

const port = z.coerce.number().int().min(0).max(65535);

const schema = z.object({
  PORT: port.default(4000),
  HOST: z.string().default('127.0.0.1'),
  /** Where embedded PostgreSQL, the Temporal dev server's database, artifacts and pidfiles live. */
  DATA_DIR: z.string().default('./.data'),
  /** Unset: embedded PostgreSQL under DATA_DIR. */
  DATABASE_URL: z.string().url().optional(),
  EMBEDDED_PG_PORT: port.default(54329),
  /** Unset: a local Temporal dev server (the `temporal` CLI) with its database under DATA_DIR. */
  TEMPORAL_ADDRESS: z.string().optional(),
  TEMPORAL_NAMESPACE: z.string().default('default'),
  TEMPORAL_TASK_QUEUE: z.string().default('routine-runs'),
  TEMPORAL_TLS: boolean.default(false),
  TEMPORAL_TLS_CERT_PATH: z.string().optional(),
  TEMPORAL_TLS_KEY_PATH: z.string().optional(),
  TEMPORAL_API_KEY: z.string().optional(),
  TEMPORAL_CLI_PATH: z.string().optional(),
  TEMPORAL_DEV_PORT: port.default(7233),
  TEMPORAL_UI_PORT: port.default(8233),
  /** Embedded mode: the dev user's token. Unset: one is generated on first start and kept in DATA_DIR. */
  ROUTINES_DEV_TOKEN: z.string().min(16).optional(),
  /** Base URL used in links the API hands out (download URLs). Default: http://HOST:PORT */
  PUBLIC_URL: z.string().url().optional(),
  /** Largest memory a run may ask for (memoryOverrideMb). */
  MAX_RUN_MEMORY_MB: z.coerce.number().int().positive().default(16384),
  /** Runs one worker executes at once. */
  WORKER_MAX_CONCURRENT_RUNS: z.coerce.number().int().positive().default(4),
  /** Memory budget of one worker for the runs it executes at once (admission). */
  WORKER_MEMORY_MB: z.coerce.number().int().positive().default(8192),
  /** A worker whose capacity heartbeat is older than this is dead and its capacity released. */
  WORKER_LEASE_MS: z.coerce.number().int().min(1000).default(DEFAULT_WORKER_LEASE_MS),
  /**
   * How many later runs that fit may start ahead of a queued run waiting for more memory than is
   * free, before capacity is kept for it (0: strict order). See src/runs/admission.ts.
   */
  ADMISSION_MAX_OVERTAKES: z.coerce.number().int().min(0).default(4),
  /** Pre-started, pre-loaded method processes kept per memory size (0: start one per run). */
  WORKER_WARM_PROCESSES: z.coerce.number().int().min(0).default(2),
  /** How often the API compares running runs with Temporal and repairs disagreements. */
  RECONCILE_INTERVAL_MS: z.coerce.number().int().min(200).default(30_000),
  /** Time limit of an in-memory run, executed in the API process's sandbox. */
  IN_MEMORY_TIMEOUT_MS: z.coerce.number().int().positive().default(60_000),
  /** Bounds of the in-memory runs one API process executes at once: runs, their memory (MB), runs per user. */
  IN_MEMORY_MAX_CONCURRENT_RUNS: z.coerce.number().int().positive().default(2),
  IN_MEMORY_MEMORY_MB: z.coerce.number().int().positive().default(1024),
  IN_MEMORY_MAX_RUNS_PER_USER: z.coerce.number().int().positive().default(1),
  /** Largest uploaded data set (uploadDataset), in bytes. */
  DATASET_MAX_BYTES: z.coerce.number().int().positive().default(64 * 1024 * 1024),
  /** Routine folders besides src/routines/library/, separated by the path delimiter (test fixtures, plug-ins). */
  ROUTINES_EXTRA_DIRS: z.string().optional(),
  /** Signs artifact download links; set the same value on every API process. Default: random per process. */
  ARTIFACT_LINK_SECRET: z.string().min(16).optional(),
  /** A WebSocket subscriber with more unsent bytes than this is disconnected (close 1013: retry later). */
  WS_MAX_BUFFERED_BYTES: z.coerce.number().int().positive().default(4 * 1024 * 1024),
  /** …or whose unsent bytes have not drained for this long. */
  WS_STALL_TIMEOUT_MS: z.coerce.number().int().positive().default(30_000),
  /** The API pings every WebSocket this often; one that has not answered the previous ping is dropped. */
  WS_KEEPALIVE_MS: z.coerce.number().int().min(100).default(12_000),
  /** Largest WebSocket message the API reads (ws maxPayload); a larger one closes its socket with 1009. */
  WS_MAX_PAYLOAD_BYTES: z.coerce.number().int().min(1024).default(1024 * 1024),
  /** A WebSocket that has not sent connection_init this long after opening is closed with 4408. */
  WS_CONNECTION_INIT_TIMEOUT_MS: z.coerce.number().int().min(100).default(3000),
  /** Limits of one GraphQL operation (GraphQL Armor): nesting depth, aliases, tokens, estimated cost, directives. */
  GRAPHQL_MAX_DEPTH: z.coerce.number().int().positive().default(12),
  GRAPHQL_MAX_ALIASES: z.coerce.number().int().positive().default(30),
  GRAPHQL_MAX_TOKENS: z.coerce.number().int().positive().default(5000),
  GRAPHQL_MAX_COST: z.coerce.number().int().positive().default(150_000),
  GRAPHQL_MAX_DIRECTIVES: z.coerce.number().int().positive().default(50),
  /** How long an API process remembers a valid token; a revoked token stops working at most this late. 0: looked up on every request. */
  AUTH_CACHE_MS: z.coerce.number().int().min(0).default(5000),
  /** Queries over the run graph answered by one SQL statement (src/reads/); `false` answers every query with the resolvers. */
  GRAPHQL_COMPILED_READS: z.enum(['true', 'false']).default('true').transform((value) => value === 'true'),
  /** Unset: run change notices travel over PostgreSQL LISTEN/NOTIFY. Set: over Redis pub/sub (redis:// or rediss://). */
  REDIS_URL: z
    .string()
    .url()
    .refine((url) => /^rediss?:$/.test(new URL(url).protocol), 'must be a redis:// or rediss:// URL')
    .optional(),
  /** Prefix of the Redis channel names, so deployments sharing one Redis do not hear each other. */
  REDIS_CHANNEL_PREFIX: z.string().regex(/^[\w.:-]+$/, 'letters, digits, _ . : - only').default('routine-runs'),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
});

export type Env = z.infer<typeof schema> & { dataDir: string };

export class EnvError extends Error {}

export function loadEnv(source: NodeJS.ProcessEnv = process.env): Env {
  const defined = Object.fromEntries(Object.entries(source).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = schema.safeParse(defined);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`).join('\n');
    throw new EnvError(`Invalid environment:\n${problems}`);
  }
  return { ...parsed.data, dataDir: path.resolve(parsed.data.DATA_DIR) };
}
