// The one module that reads the service's settings from process.env. Everything else receives a typed `Env`.
import path from 'node:path';
import { z } from 'zod';
import type { RetentionPolicy } from './services/apply-retention.ts';

// Each kind of value says what it accepts in its one message, so a refused variable names its
// fix ("PORT: must be a whole number from 0 to 65535"), whichever check failed.

/** One of `values`, spelled as the message lists them. */
function oneOf<const Values extends readonly [string, ...string[]]>(values: Values) {
  return z.enum(values, { error: `must be one of ${values.join(', ')}` });
}

const boolean = oneOf(['true', 'false', '1', '0', 'yes', 'no']).transform((value) => value === 'true' || value === '1' || value === 'yes');

/** A whole number from `min` (to `max`, when there is one). */
function wholeNumber(min: number, max?: number) {
  const error = max === undefined ? `must be a whole number ≥ ${min}` : `must be a whole number from ${min} to ${max}`;
  const number = z.coerce.number({ error }).int({ error }).min(min, { error });
  return max === undefined ? number : number.max(max, { error });
}

/** An absolute URL of one of `protocols` (without the colon); `example` shows its form. */
function url(example: string, protocols: RegExp) {
  return z.url({ protocol: protocols, error: `must be a URL like ${example}` });
}

/** Text of at least `length` characters (secrets and tokens). */
function atLeast(length: number) {
  return z.string().min(length, { error: `must be at least ${length} characters long` });
}

/** WORKER_LEASE_MS unset; also the lease of code handed no Env (services whose limits leave it out). */
export const DEFAULT_WORKER_LEASE_MS = 15_000;

const port = wholeNumber(0, 65535);

export const schema = z.object({
  /** Port the API listens on (0: any free port). */
  PORT: port.default(4000),
  /** Address the API listens on. */
  HOST: z.string().default('127.0.0.1'),
  /**
   * Where embedded PostgreSQL, the Temporal dev server's database, artifacts and data sets (`storage/`),
   * pidfiles and the dev token live.
   */
  DATA_DIR: z.string().default('./.data'),
  /** A PostgreSQL server to use. Unset: embedded PostgreSQL under DATA_DIR. */
  DATABASE_URL: url('postgresql://user:password@host:5432/database', /^postgres(ql)?$/).optional(),
  /** Port of the embedded PostgreSQL. */
  EMBEDDED_PG_PORT: port.default(54329),
  /**
   * A Temporal frontend (`host:port`) to use; no server is started. Unset: a local Temporal dev
   * server (the `temporal` CLI) with its database under DATA_DIR.
   */
  TEMPORAL_ADDRESS: z.string().optional(),
  /** Temporal namespace of the run workflows. */
  TEMPORAL_NAMESPACE: z.string().default('default'),
  /** Temporal task queue the run workflows are started on and the workers poll. */
  TEMPORAL_TASK_QUEUE: z.string().default('routine-runs'),
  /** Connect to Temporal over TLS (`true`/`false`, `1`/`0`, `yes`/`no`); an API key implies it. */
  TEMPORAL_TLS: boolean.default(false),
  /** Client certificate for mTLS with Temporal, used together with TEMPORAL_TLS_KEY_PATH. */
  TEMPORAL_TLS_CERT_PATH: z.string().optional(),
  /** Private key of the mTLS client certificate (TEMPORAL_TLS_CERT_PATH). */
  TEMPORAL_TLS_KEY_PATH: z.string().optional(),
  /** API key for Temporal (Temporal Cloud); connects over TLS. */
  TEMPORAL_API_KEY: z.string().optional(),
  /** The `temporal` CLI that runs the dev server. Unset: `temporal` on PATH, otherwise `.tools/bin/temporal`. */
  TEMPORAL_CLI_PATH: z.string().optional(),
  /** Port of the embedded Temporal dev server. */
  TEMPORAL_DEV_PORT: port.default(7233),
  /** Port of the embedded Temporal dev server's web UI. */
  TEMPORAL_UI_PORT: port.default(8233),
  /** Embedded mode: the dev user's token. Unset: one is generated on first start and kept in DATA_DIR/dev-token. */
  ROUTINES_DEV_TOKEN: atLeast(16).optional(),
  /** Base URL used in links the API hands out (download URLs). Unset: http://HOST:PORT */
  PUBLIC_URL: url('https://runs.example.com', /^https?$/).optional(),
  /** Largest memory a run may ask for (memoryOverrideMb), and the most retry.memoryGrowth gives a retried attempt. */
  MAX_RUN_MEMORY_MB: wholeNumber(1).default(16384),
  /** Runs one worker executes at once (its slots in the capacity table). */
  WORKER_MAX_CONCURRENT_RUNS: wholeNumber(1).default(4),
  /** Memory budget of one worker: the memory (default or override) of the runs it executes at once fits in it (admission). */
  WORKER_MEMORY_MB: wholeNumber(1).default(8192),
  /** A worker whose capacity heartbeat is older than this is dead and its capacity released. */
  WORKER_LEASE_MS: wholeNumber(1000).default(DEFAULT_WORKER_LEASE_MS),
  /**
   * How many later runs that fit may start ahead of a queued run waiting for more memory than is
   * free, before capacity is kept for it (0: strict order). See src/runs/admission.ts.
   */
  ADMISSION_MAX_OVERTAKES: wholeNumber(0).default(4),
  /** Pre-started, pre-loaded method processes kept per memory size (0: start one per attempt). */
  WORKER_WARM_PROCESSES: wholeNumber(0).default(2),
  /** Runs one method process serves, one at a time, before it is replaced (1: a fresh process per run). See src/execution/process-pool.ts. */
  METHOD_PROCESS_MAX_RUNS: wholeNumber(1).default(100),
  /** How often the API compares active runs with Temporal and repairs disagreements (also at start-up). */
  RECONCILE_INTERVAL_MS: wholeNumber(200).default(30_000),
  /** Time limit of an in-memory run, executed in the API process's sandbox (or the method's timeout, if shorter). */
  IN_MEMORY_TIMEOUT_MS: wholeNumber(1).default(60_000),
  /** In-memory runs one API process executes at once. */
  IN_MEMORY_MAX_CONCURRENT_RUNS: wholeNumber(1).default(2),
  /** Combined memory (each run's memoryMb) of the in-memory runs one API process executes at once. */
  IN_MEMORY_MEMORY_MB: wholeNumber(1).default(1024),
  /** In-memory runs of one user one API process executes at once. */
  IN_MEMORY_MAX_RUNS_PER_USER: wholeNumber(1).default(1),
  /**
   * Largest uploaded data set (uploadDataset), in bytes. An upload whose body is over this plus 1 MiB
   * (the rest of the form) is refused with 413 before it is read.
   */
  DATASET_MAX_BYTES: wholeNumber(1).default(64 * 1024 * 1024),
  /** Routine folders besides src/routines/library/, separated by the path delimiter (`:`): test fixtures (test/fixtures/routines/), plug-ins. */
  ROUTINES_EXTRA_DIRS: z.string().optional(),
  /** Signs artifact download links; set the same value on every API process. Unset: random per process. */
  ARTIFACT_LINK_SECRET: atLeast(16).optional(),
  /** A WebSocket subscriber with more unsent bytes than this is disconnected (close 1013: retry later). */
  WS_MAX_BUFFERED_BYTES: wholeNumber(1).default(4 * 1024 * 1024),
  /** A WebSocket subscriber whose unsent bytes have not drained for this long is disconnected (close 1013). */
  WS_STALL_TIMEOUT_MS: wholeNumber(1).default(30_000),
  /** The API pings every WebSocket this often; one that has not answered the previous ping is dropped. */
  WS_KEEPALIVE_MS: wholeNumber(100).default(12_000),
  /**
   * Largest WebSocket message the API reads (ws maxPayload); a larger one closes its socket with 1009
   * (checked on the frame header: nothing of it is buffered).
   */
  WS_MAX_PAYLOAD_BYTES: wholeNumber(1024).default(1024 * 1024),
  /** A WebSocket that has not sent connection_init this long after opening is closed with 4408. */
  WS_CONNECTION_INIT_TIMEOUT_MS: wholeNumber(100).default(3000),
  /** Deepest field nesting of one GraphQL operation (GraphQL Armor). */
  GRAPHQL_MAX_DEPTH: wholeNumber(1).default(12),
  /** Most aliases in one GraphQL operation (GraphQL Armor). */
  GRAPHQL_MAX_ALIASES: wholeNumber(1).default(30),
  /** Most tokens in one GraphQL document (GraphQL Armor). */
  GRAPHQL_MAX_TOKENS: wholeNumber(1).default(5000),
  /**
   * Largest estimated size of an answer (GraphQL Armor): 1 per scalar, 2 per object, each list times its
   * `first`/`last`, literal or variable (the 20 × 50 nested run graph of `bench:nested-query`, 1.26 MB,
   * costs 88,612).
   */
  GRAPHQL_MAX_COST: wholeNumber(1).default(150_000),
  /** Most directives in one GraphQL operation (GraphQL Armor). */
  GRAPHQL_MAX_DIRECTIVES: wholeNumber(1).default(50),
  /** How long an API process remembers a valid token; a revoked token stops working at most this late. 0: looked up on every request. */
  AUTH_CACHE_MS: wholeNumber(0).default(5000),
  /**
   * Mutations one token may send per minute, sustained (a token bucket); one user, all its tokens
   * together, twice this, so minting tokens adds nothing. Past either: RateLimitedError naming the
   * limit, nothing written. Per API process: N processes allow N times this. 0: no limit.
   */
  MUTATION_RATE_LIMIT_PER_MINUTE: wholeNumber(0).default(600),
  /** Mutations one token may send at once after being idle (the token bucket's size); one user, all its tokens together, twice this. */
  MUTATION_RATE_BURST: wholeNumber(1).default(60),
  /** The shortest interval a schedule may have (createSchedule's intervalSeconds). */
  SCHEDULE_MIN_INTERVAL_SECONDS: wholeNumber(1).default(60),
  /** Schedules one workspace may have at once (createSchedule refuses more). */
  SCHEDULES_PER_WORKSPACE: wholeNumber(1).default(100),
  /**
   * A cron expression (e.g. `0 3 * * *`, UTC): the retention policy of the RETENTION_* variables is applied on this
   * schedule, as the `retention` user, in every workspace (the Temporal Schedule `retention:<TEMPORAL_TASK_QUEUE>`). Unset: no retention
   * schedule (one left from an earlier start is deleted).
   */
  RETENTION_SCHEDULE: z.string().trim().min(1).optional(),
  /** With RETENTION_SCHEDULE: finished runs older than this many days are deleted. */
  RETENTION_OLDER_THAN_DAYS: z.coerce
    .number({ error: 'must be a number of days ≥ 0' })
    .min(0, { error: 'must be a number of days ≥ 0' })
    .optional(),
  /** With RETENTION_SCHEDULE: FAILED runs are kept this many days instead (default RETENTION_OLDER_THAN_DAYS). */
  RETENTION_FAILED_OLDER_THAN_DAYS: z.coerce
    .number({ error: 'must be a number of days ≥ 0' })
    .min(0, { error: 'must be a number of days ≥ 0' })
    .optional(),
  /** With RETENTION_SCHEDULE: the newest N runs of each instance are kept, whatever their age. */
  RETENTION_KEEP_LAST: wholeNumber(0).optional(),
  /** With RETENTION_SCHEDULE: runs carrying any of these labels (comma-separated) are kept. */
  RETENTION_KEEP_LABELS: z.string().optional(),
  /** Queries over the run graph answered by one SQL statement (src/reads/); `false` answers every query with the resolvers. */
  GRAPHQL_COMPILED_READS: oneOf(['true', 'false'])
    .default('true')
    .transform((value) => value === 'true'),
  /**
   * Unset: run change notices travel over PostgreSQL LISTEN/NOTIFY. Set: over Redis pub/sub (redis:// or
   * rediss://), the same value on every API and worker process; Redis keeps nothing, any Redis ≥ 6 will do.
   */
  REDIS_URL: z.url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL, like redis://host:6379' }).optional(),
  /**
   * Prefix of the Redis channel (`{prefix}:run-events`) and connection names (`CLIENT LIST`), so
   * deployments sharing one Redis do not hear each other.
   */
  REDIS_CHANNEL_PREFIX: z
    .string()
    .regex(/^[\w.:-]+$/, 'must be letters, digits, _ . : - only')
    .default('routine-runs'),
  /**
   * `debug`, `info`, `warn` or `error`: the level of every part's logs (API, worker, Temporal's own
   * lines, src/logger.ts), one JSON object per line on stderr; `debug` also shows Temporal's info
   * and debug lines and one line per GraphQL operation and run attempt.
   */
  LOG_LEVEL: oneOf(['debug', 'info', 'warn', 'error']).default('info'),
  /** `production` keeps the logs JSON lines even when stderr is a terminal (otherwise shown as colored lines there). */
  NODE_ENV: z.string().optional(),
  /**
   * OpenTelemetry traces go to this OTLP/HTTP collector (`/v1/traces` is appended; headers from
   * OTEL_EXPORTER_OTLP_HEADERS). Unset (and OTEL_EXPORTER_OTLP_TRACES_ENDPOINT unset): no tracing,
   * and none of its code is loaded.
   */
  OTEL_EXPORTER_OTLP_ENDPOINT: url('http://collector:4318', /^https?$/).optional(),
  /** The full URL traces are posted to, instead of OTEL_EXPORTER_OTLP_ENDPOINT + `/v1/traces`. */
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: url('http://collector:4318/v1/traces', /^https?$/).optional(),
  /** How traces are sent: `http/protobuf` or `http/json`. */
  OTEL_EXPORTER_OTLP_PROTOCOL: oneOf(['http/protobuf', 'http/json']).default('http/protobuf'),
  /** Overrides OTEL_EXPORTER_OTLP_PROTOCOL for traces. */
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: oneOf(['http/protobuf', 'http/json']).optional(),
  /**
   * The traces' `service.name`. Unset: `routine-runs-api`, `routine-runs-worker` or `routine-runs`
   * (start) by command, and `routine-runs-method` for method processes.
   */
  OTEL_SERVICE_NAME: z.string().optional(),
  /** `true` turns tracing off even with an endpoint set. */
  OTEL_SDK_DISABLED: boolean.default(false),
  /** `otlp` (with an endpoint set) or `none` (tracing off). */
  OTEL_TRACES_EXPORTER: oneOf(['otlp', 'none']).default('otlp'),
  /**
   * Longest a SIGINT/SIGTERM shutdown may take; past it the process kills the servers it started
   * (embedded PostgreSQL, Temporal dev server), names what did not stop and exits 1.
   */
  SHUTDOWN_TIMEOUT_MS: wholeNumber(100).default(10_000),
  /**
   * Prometheus `/metrics` (`true`/`false`). On: served on the API's port, or on METRICS_PORT when that is set.
   * Off: `/metrics` answers 404 everywhere.
   */
  METRICS: boolean.default(true),
  /**
   * A port of its own for `/metrics`, `/healthz` and `/readyz` (on HOST); then the API's port does not
   * serve `/metrics`. A worker process (`npm run worker`) serves these only when it is set.
   */
  METRICS_PORT: port.optional(),
  /** Set (16 characters or more): `/metrics` asks for `Authorization: Bearer <METRICS_TOKEN>` (401 without it). Unset: anyone reaching the port may scrape. */
  METRICS_TOKEN: atLeast(16).optional(),
});

export type Env = z.infer<typeof schema> & { dataDir: string };

/**
 * Every variable's default, for code that is handed no Env (tests building an app, the worker's
 * options): the defaults are written once, in the schema above.
 */
export const ENV_DEFAULTS = schema.parse({});

export class EnvError extends Error {}

export function loadEnv(source: NodeJS.ProcessEnv = process.env): Env {
  const defined = Object.fromEntries(Object.entries(source).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = schema.safeParse(defined);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`).join('\n');
    throw new EnvError(`Invalid environment:\n${problems}`);
  }
  if (parsed.data.METRICS_PORT !== undefined && parsed.data.METRICS_PORT !== 0 && parsed.data.METRICS_PORT === parsed.data.PORT) {
    throw new EnvError(
      `Invalid environment:\n  METRICS_PORT: must differ from PORT (${parsed.data.PORT}); unset it to serve /metrics on the API's port`,
    );
  }
  const retention = parsed.data;
  if (retention.RETENTION_SCHEDULE && retention.RETENTION_OLDER_THAN_DAYS === undefined && retention.RETENTION_KEEP_LAST === undefined) {
    throw new EnvError(
      'Invalid environment:\n  RETENTION_SCHEDULE: needs RETENTION_OLDER_THAN_DAYS or RETENTION_KEEP_LAST (or both): retention without a limit would delete every finished run',
    );
  }
  return { ...parsed.data, dataDir: path.resolve(parsed.data.DATA_DIR) };
}

/** RETENTION_SCHEDULE's policy from the RETENTION_* variables (loadEnv refuses a schedule without a limit); null when unset. */
export function retentionPolicyOf(env: Env): RetentionPolicy | null {
  if (!env.RETENTION_SCHEDULE) return null;
  return {
    olderThanDays: env.RETENTION_OLDER_THAN_DAYS ?? null,
    failedOlderThanDays: env.RETENTION_FAILED_OLDER_THAN_DAYS ?? null,
    keepLastPerInstance: env.RETENTION_KEEP_LAST ?? null,
    keepLabels: (env.RETENTION_KEEP_LABELS ?? '')
      .split(',')
      .map((label) => label.trim())
      .filter(Boolean),
  };
}
