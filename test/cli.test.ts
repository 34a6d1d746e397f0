// The `routines` CLI end to end: the real bin (src/cli/bin.mjs, through tsx) as a child process
// against a real stack, with and without a terminal (util-linux `script` gives it a pty), through
// a TCP proxy that cuts its connections mid-run, and with the exit codes scripts rely on.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSchema, parse, validate } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_DOCUMENTS } from '../src/cli/documents.ts';
import { graphql } from './gql/index.ts';
import { freePort } from './helpers/ports.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';

const BIN = fileURLToPath(new URL('../src/cli/bin.mjs', import.meta.url));
const FIXTURES = [new URL('./fixtures/routines/', import.meta.url), new URL('./fixtures/cli-routines/', import.meta.url)]
  .map((url) => fileURLToPath(url))
  .join(path.delimiter);
const ANSI_ESCAPE = '\u001b[';
const NO_SUCH_RUN = Buffer.from('RoutineRun:00000000-0000-4000-8000-000000000000').toString('base64');

const CliTestCreateInstance = graphql(`
  mutation CliTestCreateInstance($input: CreateInstanceInput!) {
    createInstance(input: $input) {
      __typename
      ... on CreateInstanceSuccess {
        instance {
          id
        }
      }
      ... on Error {
        message
      }
    }
  }
`);

const CliTestArtifacts = graphql(`
  query CliTestArtifacts($id: ID!) {
    run(id: $id) {
      status
      artifacts {
        name
        checksum
        downloadUrl(expiresInSeconds: 60)
      }
    }
  }
`);

const CliTestLogEvents = graphql(`
  query CliTestLogEvents($id: ID!) {
    run(id: $id) {
      finishedAt
      events(types: [LOG]) {
        totalCount
      }
    }
  }
`);

interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface CliProcess {
  child: ChildProcess;
  stdout: () => string;
  finished: Promise<Finished>;
  /** Resolves once stdout matches. */
  waitFor: (pattern: RegExp, timeoutMs?: number) => Promise<void>;
}

let stack: TestStack;
let token: string;
let workDir: string;
const instanceIds: Record<string, string> = {};

function startProcess(command: string, args: string[], env: Record<string, string>): CliProcess {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const waiters: Array<{ pattern: RegExp; resolve: () => void }> = [];
  child.stdout!.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    for (const waiter of waiters.filter((candidate) => candidate.pattern.test(stdout))) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const finished = new Promise<Finished>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  return {
    child,
    stdout: () => stdout,
    finished,
    waitFor: (pattern, timeoutMs = 30_000) =>
      new Promise<void>((resolve, reject) => {
        if (pattern.test(stdout)) return resolve();
        const timer = setTimeout(() => reject(new Error(`no ${pattern} in output:\n${stdout}\n${stderr}`)), timeoutMs);
        waiters.push({ pattern, resolve: () => (clearTimeout(timer), resolve()) });
        void finished.then(() => setTimeout(() => reject(new Error(`ended without ${pattern}:\n${stdout}\n${stderr}`)), 0));
      }),
  };
}

function cliEnv(env: Record<string, string> = {}): Record<string, string> {
  return { ROUTINES_URL: stack.url, ROUTINES_TOKEN: token, ...env };
}

function cli(args: string[], env: Record<string, string> = {}): CliProcess {
  return startProcess(process.execPath, [BIN, ...args], cliEnv(env));
}

async function cliDone(args: string[], env: Record<string, string> = {}): Promise<Finished> {
  return cli(args, env).finished;
}

/** Starts a run through the CLI (`run … --json`) and returns its id. */
async function startRun(args: string[]): Promise<string> {
  const result = await cliDone(['run', ...args, '--json']);
  expect(result.code, result.stderr).toBe(0);
  return (JSON.parse(result.stdout) as { id: string }).id;
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

beforeAll(async () => {
  stack = await startTestStack({ env: { ROUTINES_EXTRA_DIRS: FIXTURES } });
  token = stack.admin.options.token!;
  workDir = await mkdtemp(path.join(os.tmpdir(), 'rr-cli-'));
  for (const [name, routineName] of [
    ['mc', 'montecarlo'],
    ['kit', 'testkit'],
    ['talker', 'chatty'],
  ]) {
    const { createInstance } = await stack.admin.query(CliTestCreateInstance, { input: { name, routineName } });
    if (createInstance.__typename !== 'CreateInstanceSuccess') throw new Error(JSON.stringify(createInstance));
    instanceIds[name] = createInstance.instance.id;
  }
});

afterAll(async () => {
  await stack?.stop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe('routines CLI', () => {
  it('every GraphQL document of the CLI is valid against the printed schema', async () => {
    const schema = buildSchema(await readFile(new URL('../schema/schema.graphql', import.meta.url), 'utf8'));
    for (const document of ALL_DOCUMENTS) expect(validate(schema, parse(document)).map((error) => error.message)).toEqual([]);
  });

  it('run --watch of a short run: exit 0, outputs and artifacts listed, plain lines without ANSI; the artifact downloads byte for byte', async () => {
    const inputsFile = path.join(workDir, 'inputs.json');
    await writeFile(inputsFile, JSON.stringify({ samples: 200000, seed: 1 }));
    const result = await cliDone([
      'run',
      'montecarlo',
      'estimatePi',
      '--instance',
      'mc',
      '--inputs-file',
      inputsFile,
      '--input',
      'seed=7',
      '--label',
      'from-file',
      '--watch',
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^created \S+ \(QUEUED\)$/m);
    expect(result.stdout).toMatch(/^\d+% Sampling 200000 points/m);
    expect(result.stdout).toMatch(/^COMPLETED in /m);
    expect(result.stdout).toMatch(/^outputs:\n\{\n[^}]*\n {2}"estimate": 3\.\d+,\n/m);
    expect(result.stdout).toMatch(/^artifacts:\n {2}estimate {2}application\/json {2}\d+ B {2}sha256:[0-9a-f]{12}$/m);
    expect(result.stdout).toMatch(/^ {2}"seed": 7,$/m);
    expect(result.stdout).not.toContain(ANSI_ESCAPE);
    const runId = /^created (\S+)/m.exec(result.stdout)![1];

    const file = path.join(workDir, 'estimate.json');
    const download = await cliDone(['artifacts', 'download', runId, 'estimate', '-o', file]);
    expect(download.code, download.stderr).toBe(0);
    const { run } = await stack.admin.query(CliTestArtifacts, { id: runId });
    const artifact = run!.artifacts.find((candidate) => candidate.name === 'estimate')!;
    const written = await readFile(file);
    expect(sha256(written)).toBe(artifact.checksum);
    const direct = await fetch(artifact.downloadUrl);
    expect(Buffer.from(await direct.arrayBuffer()).equals(written)).toBe(true);

    const missing = await cliDone(['artifacts', 'download', runId, 'nope']);
    expect(missing.code).toBe(3);
    expect(missing.stderr.trim()).toBe(`routines: Run ${runId} has no artifact named nope (it has: estimate)`);
  });

  it('a failing run (instance given by id) exits 1 with its error; --json streams NDJSON ending in the result', async () => {
    const [result, json] = await Promise.all([
      cliDone(['run', 'testkit', 'failHard', '--instance', instanceIds.kit, '--watch']),
      cliDone(['run', 'testkit', 'failHard', '--instance', 'kit', '--watch', '--json']),
    ]);
    expect(result.code, result.stderr).toBe(1);
    expect(result.stdout).toMatch(/^FAILED in /m);
    expect(result.stdout).toContain('error (METHOD, attempt 1): BadDataError: column "age" has negative values');

    expect(json.code).toBe(1);
    const lines = json.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string; sequence?: number; run?: { status: string } });
    const events = lines.slice(0, -1);
    expect(events.map((event) => event.sequence)).toEqual(events.map((_, index) => index + 1));
    expect(lines.at(-1)).toMatchObject({ type: 'RESULT', run: { status: 'FAILED' } });
  });

  it('runs watch waits while another invocation cancels a long montecarlo run: exit 2', async () => {
    const runId = await startRun([
      'montecarlo',
      'estimatePi',
      '--instance',
      'mc',
      '--input',
      'samples=10000000000',
      '--input',
      'batches=1000',
    ]);
    const watch = cli(['runs', 'watch', runId]);
    await watch.waitFor(/^\d+% Sampling/m);
    const cancel = await cliDone(['cancel', runId, '--reason', 'enough']);
    expect(cancel.code, cancel.stderr).toBe(0);
    expect(cancel.stdout).toMatch(new RegExp(`^cancel requested: ${runId} \\(`, 'm'));
    const watched = await watch.finished;
    expect(watched.code, watched.stderr).toBe(2);
    expect(watched.stdout).toMatch(/^CANCELLED in /m);
  });

  it('logs --follow prints every line once, in order, and ends with the run; logs pages the same lines', async () => {
    const runId = await startRun(['chatty', 'talk', '--instance', 'talker', '--input', 'lines=30', '--input', 'pauseMs=30']);
    const following = cli(['logs', runId, '--follow']);
    await following.waitFor(/line 1 of 30$/m);
    const firstLineAt = Date.now();
    const follow = await following.finished;
    expect(follow.code, follow.stderr).toBe(0);
    const numbers = (output: string) => [...output.matchAll(/INFO +\[1\] line (\d+) of 30$/gm)].map((match) => Number(match[1]));
    const expected = Array.from({ length: 30 }, (_, index) => index + 1);
    expect(numbers(follow.stdout)).toEqual(expected);
    // Live, not after the fact, where the service announces entries as LOG events (without them
    // the CLI pages the entries in once the run has ended, as checked above).
    const { run } = await stack.admin.query(CliTestLogEvents, { id: runId });
    if (run!.events.totalCount > 0) expect(firstLineAt).toBeLessThan(Date.parse(run!.finishedAt!));

    const stored = await cliDone(['logs', runId, '--json']);
    expect(stored.code).toBe(0);
    const entries = stored.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { message: string });
    expect(entries.flatMap((entry) => entry.message.split('\n'))).toEqual(expected.map((n) => `line ${n} of 30`));
  });

  it('runs list: a table, and --json that parses, filtered by status', async () => {
    const table = await cliDone(['runs', 'list', '--first', '5']);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/^ID +RUN +STATUS +PROGRESS +CREATED +DURATION$/);
    expect(table.stdout).toMatch(/ montecarlo\.estimatePi +(COMPLETED|CANCELLED) +\d+% /);

    const json = await cliDone(['runs', 'list', '--status', 'COMPLETED,FAILED', '--json']);
    expect(json.code, json.stderr).toBe(0);
    const parsed = JSON.parse(json.stdout) as { totalCount: number; runs: Array<{ status: string; routine: { name: string } }> };
    expect(parsed.runs.length).toBeGreaterThanOrEqual(3);
    expect(parsed.totalCount).toBe(parsed.runs.length);
    expect(new Set(parsed.runs.map((run) => run.status))).toEqual(new Set(['COMPLETED', 'FAILED']));

    const byRoutine = await cliDone(['runs', 'list', '--routine', 'montecarlo', '--method', 'estimatePi', '--json']);
    expect(byRoutine.code, byRoutine.stderr).toBe(0);
    const montecarloRuns = (JSON.parse(byRoutine.stdout) as { runs: Array<{ routine: { name: string }; methodName: string }> }).runs;
    expect(montecarloRuns.length).toBeGreaterThan(0);
    expect(new Set(montecarloRuns.map((run) => `${run.routine.name}.${run.methodName}`))).toEqual(new Set(['montecarlo.estimatePi']));
    const none = await cliDone(['runs', 'list', '--routine', 'kmeans', '--search', 'no run is named like this', '--json']);
    expect((JSON.parse(none.stdout) as { runs: unknown[] }).runs).toEqual([]);

    const labelled = await cliDone(['runs', 'list', '--label', 'from-file', '--json']);
    expect((JSON.parse(labelled.stdout) as { runs: Array<{ labels: string[]; methodName: string }> }).runs).toEqual([
      expect.objectContaining({ labels: ['from-file'], methodName: 'estimatePi' }),
    ]);
  });

  it('instances create and list: a new instance is named by run --instance; a stateful one says it needs its constructor; a duplicate name is refused', async () => {
    const created = await cliDone(['instances', 'create', 'montecarlo', 'from-the-cli']);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(/^created instance montecarlo\/from-the-cli \S+\n$/);
    const stateful = await cliDone(['instances', 'create', 'kmeans', 'clusters-from-the-cli']);
    expect(stateful.stdout).toContain('kmeans is stateful: run its constructor method first');

    const listed = await cliDone(['instances', 'list', '--routine', 'montecarlo', '--json']);
    expect(listed.code, listed.stderr).toBe(0);
    const instances = (JSON.parse(listed.stdout) as { instances: Array<{ name: string; routine: { name: string } }> }).instances;
    expect(instances.map((instance) => instance.name)).toContain('from-the-cli');
    expect(new Set(instances.map((instance) => instance.routine.name))).toEqual(new Set(['montecarlo']));
    const table = await cliDone(['instances', 'list']);
    expect(table.stdout.split('\n')[0]).toMatch(/^ID +ROUTINE +NAME +WORKSPACE +STATE$/);
    expect(table.stdout).toMatch(/ kmeans +clusters-from-the-cli +\S+ +needs its constructor run/);

    const run = await cliDone(['run', 'montecarlo', 'estimatePi', '--instance', 'from-the-cli', '--input', 'samples=1000', '--watch']);
    expect(run.code, run.stderr).toBe(0);

    const again = await cliDone(['instances', 'create', 'montecarlo', 'from-the-cli']);
    expect(again.code).toBe(3);
    expect(again.stderr).toMatch(/^routines: .*from-the-cli/);
  });

  it('usage errors, refused inputs, a wrong token and an unreachable URL: one line on stderr, exit 3', async () => {
    const port = await freePort();
    const [noInstance, badInput, twoBadInputs, unknownMethod, wrongToken, unreachable, unknownRun, unknownCancel, missingRun] =
      await Promise.all([
        cliDone(['run', 'montecarlo', 'estimatePi']),
        cliDone(['run', 'montecarlo', 'estimatePi', '--instance', 'mc', '--input', 'samples=-5']),
        cliDone(['run', 'montecarlo', 'estimatePi', '--instance', 'mc', '--input', 'samples=many', '--input', 'batches=0']),
        cliDone(['run', 'montecarlo', 'guess', '--instance', 'mc']),
        cliDone(['runs', 'list'], { ROUTINES_TOKEN: 'rr_not_a_real_token_at_all' }),
        cliDone(['runs', 'list'], { ROUTINES_URL: `http://127.0.0.1:${port}/graphql` }),
        cliDone(['runs', 'watch', 'not-a-run']),
        cliDone(['cancel', 'not-a-run']),
        cliDone(['logs', NO_SUCH_RUN]),
      ]);
    for (const result of [
      noInstance,
      badInput,
      twoBadInputs,
      unknownMethod,
      wrongToken,
      unreachable,
      unknownRun,
      unknownCancel,
      missingRun,
    ]) {
      expect(result.code, result.stderr).toBe(3);
      expect(result.stdout).toBe('');
    }
    expect(noInstance.stderr).toMatch(/^error: required option '--instance <name\|id>' not specified$/m);
    expect(badInput.stderr).toMatch(/^routines: .*inputs\.samples: .+\n( {2}.+\n)*$/);
    expect(twoBadInputs.stderr).toMatch(/inputs\.samples: [^\n]+\n(.|\n)*inputs\.batches: /);
    expect(unknownMethod.stderr.trim()).toBe('routines: Routine montecarlo has no method guess (it has: estimatePi)');
    expect(wrongToken.stderr).toMatch(/^routines: The service refused the token \(401\): .+\n$/);
    expect(unreachable.stderr).toBe(`routines: Cannot reach http://127.0.0.1:${port}/graphql: ECONNREFUSED\n`);
    expect(unknownRun.stderr).toMatch(/^routines: .+\n$/);
    expect(unknownCancel.stderr).toMatch(/^routines: .+\n$/);
    expect(missingRun.stderr).toBe(`routines: Run not found: ${NO_SUCH_RUN}\n`);
  });

  it('in a pseudo-terminal, a watched run draws a progress bar with its percent and message', async () => {
    const command = [
      process.execPath,
      BIN,
      'run',
      'chatty',
      'talk',
      '--instance',
      'talker',
      '--input',
      'lines=20',
      '--input',
      'pauseMs=60',
      '--watch',
    ]
      .map((word) => `'${word}'`)
      .join(' ');
    const result = await startProcess('/usr/bin/script', ['-qfec', command, '/dev/null'], cliEnv()).finished;
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain(ANSI_ESCAPE);
    expect(result.stdout).toMatch(/[█░]{40} \d{1,3}% \| talking \(\d+\/20\)/);
    expect(result.stdout).toMatch(/COMPLETED in /);
  });

  it('a watch resumes across cut connections and still sees each progress step at most once, in order', async () => {
    const proxy = await cuttableProxy(new URL(stack.url).port);
    try {
      const watch = cli(['run', 'chatty', 'talk', '--instance', 'talker', '--input', 'lines=40', '--input', 'pauseMs=50', '--watch'], {
        ROUTINES_URL: `http://127.0.0.1:${proxy.port}/graphql`,
      });
      await watch.waitFor(/talking \(([5-9]|\d\d)\/40\)/);
      expect(proxy.cut()).toBeGreaterThan(0);
      const result = await watch.finished;
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).toMatch(/^connection lost; reconnecting \(attempt 1, after event \d+\)$/m);
      const steps = [...result.stdout.matchAll(/talking \((\d+)\/40\)/g)].map((match) => Number(match[1]));
      expect(steps).toEqual([...steps].sort((a, b) => a - b));
      expect(new Set(steps).size).toBe(steps.length);
      expect(steps.at(-1)).toBe(40);
    } finally {
      await proxy.close();
    }
  });
});

/** A TCP proxy to the API whose live connections can all be cut at once (a dropped network). */
async function cuttableProxy(targetPort: string): Promise<{ port: number; cut: () => number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = createConnection({ host: '127.0.0.1', port: Number(targetPort) });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {});
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    cut: () => {
      const count = sockets.size;
      for (const socket of sockets) socket.destroy();
      return count;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
