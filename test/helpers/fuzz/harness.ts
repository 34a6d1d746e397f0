// The fuzz harness over a running stack: builds a small world (instances of every built-in
// routine, runs in several states, a data set), sends generated requests over real HTTP, and
// checks after each one the oracle's properties, that nothing was stored when an error came back
// (row counts of every table and files under DATA_DIR), and that another user's canary query
// still answers. Shared by test/fuzz-*.test.ts and bench/fuzz.ts.
import { readdir } from 'node:fs/promises';
import pg from 'pg';
import { loadRoutineRegistry } from '../../../src/routines/registry.ts';
import type { GraphQLTestClient } from '../graphql.ts';
import type { TestStack } from '../stack.ts';
import { judgeHttp, type HttpAnswer, type Verdict } from './oracle.ts';
import type { FuzzRequest, FuzzWorld } from './schema-cases.ts';
import { jsonText } from './values.ts';

/** Seed and run count: fixed in CI, overridden by FUZZ_SEED / FUZZ_RUNS (a multiplier-free count per property). */
export function fuzzParameters(defaultRuns: number): { seed: number; numRuns: number; endOnFailure: boolean; path?: string } {
  return {
    seed: process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : 20_261_111,
    // Replays one case: the seed and path fast-check (or bench/fuzz) printed.
    ...(process.env.FUZZ_PATH ? { path: process.env.FUZZ_PATH } : {}),
    numRuns: process.env.FUZZ_RUNS ? Number(process.env.FUZZ_RUNS) : defaultRuns,
    // Shrinking replays requests against the live service; it is worth it locally (FUZZ_SHRINK=1), not in CI's budget.
    endOnFailure: !process.env.FUZZ_SHRINK,
  };
}

export class FuzzStats {
  cases = 0;
  readonly byLabel = new Map<string, number>();
  readonly latencies: number[] = [];
  readonly failures: { property: string; path: string; input: string; violations: string[] }[] = [];

  record(labels: string[], ms: number): void {
    this.cases += 1;
    this.latencies.push(ms);
    for (const label of labels) this.byLabel.set(label, (this.byLabel.get(label) ?? 0) + 1);
  }

  p50(): number {
    const sorted = [...this.latencies].sort((a, b) => a - b);
    return sorted.length ? sorted[Math.floor(sorted.length / 2)] : 0;
  }
}

/** Row counts of every table and the number of files under DATA_DIR, read beside the service (its own pool may be broken). */
export class StoreCounter {
  private constructor(
    private readonly client: pg.Client,
    private readonly tables: string[],
    private readonly dataDir: string,
  ) {}

  static async open(stack: TestStack): Promise<StoreCounter> {
    const client = new pg.Client({ connectionString: stack.database.url });
    await client.connect();
    const { rows } = await client.query<{ name: string }>(
      `SELECT table_name AS name FROM information_schema.tables
        WHERE table_schema = 'public' AND table_type = 'BASE TABLE'
          -- Worker heartbeats and token use stamps are the service's own bookkeeping, not stored input;
          -- the audit trail records every mutation, refused ones too, on purpose.
          AND table_name NOT IN ('_prisma_migrations', 'Worker', 'AuditEvent') ORDER BY 1`,
    );
    return new StoreCounter(
      client,
      rows.map((row) => row.name),
      stack.dataDir,
    );
  }

  async snapshot(): Promise<Record<string, number>> {
    const { rows } = await this.client.query<Record<string, string>>(
      `SELECT ${this.tables.map((table) => `(SELECT count(*) FROM "${table}") AS "${table}"`).join(', ')}`,
    );
    const counts = Object.fromEntries(Object.entries(rows[0]).map(([table, count]) => [table, Number(count)]));
    counts['files under DATA_DIR'] = (await readdir(this.dataDir, { recursive: true, withFileTypes: true })).filter((entry) =>
      entry.isFile(),
    ).length;
    return counts;
  }

  close(): Promise<void> {
    return this.client.end();
  }
}

export function countChanges(before: Record<string, number>, after: Record<string, number>): string[] {
  return Object.keys(after)
    .filter((key) => before[key] !== after[key])
    .map((key) => `${key}: ${before[key]} → ${after[key]}`);
}

/** Posts a request with its variables written by jsonText (so 1e400 and deep nesting travel as text). */
export async function postGraphQL(url: string, token: string | null, request: { query: string; variables: unknown }): Promise<HttpAnswer> {
  const started = performance.now();
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json, application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: `{"query":${JSON.stringify(request.query)},"variables":${jsonText(request.variables ?? {})}}`,
      // One request must not hold the service: no answer in time is a failure of its own.
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (error) {
    const ms = performance.now() - started;
    return { status: 599, text: `no answer after ${Math.round(ms)} ms: ${(error as Error).message}`, body: undefined, ms };
  }
  const text = await response.text();
  let body: HttpAnswer['body'];
  try {
    body = JSON.parse(text) as HttpAnswer['body'];
  } catch {
    body = undefined;
  }
  return { status: response.status, text, body, ms: performance.now() - started };
}

const REQUEST_TIMEOUT_MS = Number(process.env.FUZZ_REQUEST_TIMEOUT_MS ?? 10_000);

const CANARY = '{ runs(first: 1) { totalCount } }';

export interface Fuzzer {
  stack: TestStack;
  world: FuzzWorld;
  /** The user whose requests are generated (owns the world). */
  user: GraphQLTestClient;
  stats: FuzzStats;
  store: StoreCounter;
  /** Another user's `runs(first: 1) { totalCount }`: must answer whatever the fuzzed user sent. */
  canary(): Promise<string[]>;
  /**
   * Sends one request and checks every property; returns the violations (empty when all hold).
   * `extra` adds checks of its own on the verdict and answer.
   */
  check(request: FuzzRequest, extra?: (answer: HttpAnswer, verdict: Verdict) => string[]): Promise<string[]>;
  /** Runs `send` between two store snapshots and the canary: the shared tail of every property. */
  guarded(send: () => Promise<{ verdict: Verdict; ms: number }>): Promise<string[]>;
  /**
   * The end of every case: throws the violations (fast-check reports the case, seed and path), or
   * in collect mode (bench/fuzz) records them with the case's path and lets the run go on.
   */
  settle(property: string, index: number, input: unknown, violations: string[]): void;
  close(): Promise<void>;
}

const CreateInstance = `mutation($input: CreateInstanceInput!) { createInstance(input: $input) { __typename ... on CreateInstanceSuccess { instance { id } } ... on Error { message } } }`;
const CreateRun = `mutation($input: CreateRunInput!) { createRun(input: $input) { __typename ... on CreateRunSuccess { run { id } } ... on Error { message } } }`;

async function mustData(client: GraphQLTestClient, query: string, variables: unknown): Promise<Record<string, unknown>> {
  const answer = await postGraphQL(client.options.url, client.options.token, { query, variables });
  if (!answer.body?.data || answer.body.errors?.length) throw new Error(`fuzz world setup failed: ${answer.text}`);
  return answer.body.data;
}

/** An instance of every built-in routine, runs CREATED (a draft among them), QUEUED and CANCELLED, a data set; and the canary's own user. */
export async function openFuzzer(
  stack: TestStack,
  { userName = 'fuzzer', collect = false }: { userName?: string; collect?: boolean } = {},
): Promise<Fuzzer> {
  const user = await stack.clientFor(userName);
  const canaryClient = await stack.clientFor(`${userName}-canary`);
  const registry = await loadRoutineRegistry();
  const world: FuzzWorld = {
    ids: { instances: [], runs: [], datasets: [], artifacts: [], users: [] },
    routines: registry.list().map((routine) => ({ name: routine.name, methods: registry.signatures(routine.name) })),
  };
  const viewer = (await mustData(user, '{ viewer { id } }', {})).viewer as { id: string };
  world.ids.users.push(viewer.id);
  for (const routine of world.routines) {
    const created = (await mustData(user, CreateInstance, { input: { routineName: routine.name, name: `fuzz-${routine.name}` } }))
      .createInstance as {
      instance?: { id: string };
    };
    if (!created.instance) throw new Error(`fuzz world: createInstance ${routine.name}: ${JSON.stringify(created)}`);
    world.ids.instances.push(created.instance.id);
    // A CREATED run of each method (inputs may be incomplete: it is a draft) keeps startRun, setRunParameter, cancelRun… on real rows.
    for (const method of routine.methods) {
      const run = (
        await mustData(user, CreateRun, {
          input: {
            instanceId: created.instance.id,
            methodName: method.name,
            invocationMethod: 'WORKFLOW',
            start: false,
            name: `fuzz ${method.name}`,
            labels: ['fuzz'],
          },
        })
      ).createRun as { run?: { id: string } };
      if (run.run) world.ids.runs.push(run.run.id);
    }
  }
  const store = await StoreCounter.open(stack);
  const stats = new FuzzStats();

  const canary = async (): Promise<string[]> => {
    const answer = await postGraphQL(canaryClient.options.url, canaryClient.options.token, { query: CANARY, variables: {} });
    const total = (answer.body?.data?.runs as { totalCount?: unknown } | undefined)?.totalCount;
    if (answer.status !== 200 || answer.body?.errors?.length || typeof total !== 'number') {
      return [`canary (another user's runs(first: 1) { totalCount }) failed: HTTP ${answer.status} ${answer.text.slice(0, 300)}`];
    }
    return [];
  };

  const guarded: Fuzzer['guarded'] = async (send) => {
    const before = await store.snapshot();
    const { verdict, ms } = await send();
    const violations = [...verdict.violations];
    if (verdict.refused) {
      const changes = countChanges(before, await store.snapshot());
      if (changes.length) violations.push(`an error was answered but the store changed: ${changes.join('; ')}`);
    }
    violations.push(...(await canary()));
    stats.record(verdict.labels, ms);
    return violations;
  };

  return {
    stack,
    world,
    user,
    stats,
    store,
    canary,
    guarded,
    check: (request, extra) =>
      guarded(async () => {
        const answer = await postGraphQL(user.options.url, user.options.token, request);
        const verdict = judgeHttp(request, answer);
        if (extra) verdict.violations.push(...extra(answer, verdict));
        return { verdict, ms: answer.ms };
      }),
    settle: (property, index, input, violations) => {
      if (!violations.length) return;
      if (!collect) throw new Error(`fuzz property violated:\n  - ${violations.join('\n  - ')}`);
      const text = jsonText(input);
      stats.failures.push({
        property,
        path: String(index),
        input: text.length > 2000 ? `${text.slice(0, 2000)}… (${text.length} chars)` : text,
        violations,
      });
    },
    close: () => store.close(),
  };
}
