// bench/fuzz: issue 11's fuzz suite at a larger count. Starts its own Temporal dev server, a fresh
// database and the API in this process (no worker: runs the fuzz queues are never executed), runs
// every property of test/helpers/fuzz with FUZZ_RUNS cases each, collecting every failing case
// instead of stopping at the first, and prints cases tried, answers by __typename /
// extensions.code / close code, p50 latency, and each failure with the seed and path that replay
// it in the test files (FUZZ_SEED=… FUZZ_PATH=… npx vitest run test/fuzz-….test.ts).
// It stops everything it started and drops its database, whatever happens.
//
//   npm run bench:fuzz        (FUZZ_RUNS=1000 per property, FUZZ_SEED=random, FUZZ_PROPERTIES=mutations,uploads,…)
import fc from 'fast-check';
import { openFuzzer, type Fuzzer } from '../test/helpers/fuzz/harness.ts';
import {
  methodParametersProperty,
  mutationsProperty,
  queriesProperty,
  runFilterProperty,
  uploadsProperty,
} from '../test/helpers/fuzz/properties.ts';
import { healthySubscriber, wsFramesProperty } from '../test/helpers/fuzz/ws.ts';
import { startTestStack } from '../test/helpers/stack.ts';
import { startTestTemporalServer } from '../test/helpers/temporal-server.ts';

const RUNS = Number(process.env.FUZZ_RUNS ?? 1000);
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Date.now() % 2 ** 31;
const ONLY = process.env.FUZZ_PROPERTIES?.split(',').map((name) => name.trim());

async function main() {
  const temporal = await startTestTemporalServer();
  const stack = await startTestStack({ withWorker: false, temporalAddress: temporal.address }).catch(async (error) => {
    await temporal.stop();
    throw error;
  });
  let fuzzer: Fuzzer | null = null;
  let healthy: ReturnType<typeof healthySubscriber> | null = null;
  try {
    fuzzer = await openFuzzer(stack, { collect: true });
    healthy = healthySubscriber(fuzzer);
    const watched = healthy;
    const properties: [string, (f: Fuzzer) => fc.IAsyncProperty<[unknown]> | fc.IAsyncProperty<never>, string][] = [
      ['mutations', mutationsProperty, 'fuzz-mutations'],
      ['methodParameters', methodParametersProperty, 'fuzz-mutations'],
      ['uploads', uploadsProperty, 'fuzz-mutations'],
      ['queries', queriesProperty, 'fuzz-queries'],
      ['runFilter', runFilterProperty, 'fuzz-queries'],
      ['wsFrames', (f) => wsFramesProperty(f, () => watched.closed()) as unknown as fc.IAsyncProperty<never>, 'fuzz-ws'],
    ];
    const started = performance.now();
    for (const [name, property, file] of properties) {
      if (ONLY && !ONLY.includes(name)) continue;
      const before = fuzzer.stats.failures.length;
      const t0 = performance.now();
      const result = await fc.check(property(fuzzer) as fc.IAsyncProperty<[unknown]>, { seed: SEED, numRuns: RUNS });
      const failed = fuzzer.stats.failures.length - before;
      console.log(
        `${name.padEnd(18)} ${String(result.numRuns).padStart(6)} cases  ${String(failed).padStart(5)} failing  ${((performance.now() - t0) / 1000).toFixed(1)} s  (test/${file}.test.ts)`,
      );
      if (result.failed)
        console.log(
          `  the property itself threw (seed ${result.seed}, path ${result.counterexamplePath}): ${String(result.errorInstance)}`,
        );
    }
    const stats = fuzzer.stats;
    console.log(
      `\ncases tried: ${stats.cases} in ${((performance.now() - started) / 1000).toFixed(1)} s, seed ${SEED}, p50 latency ${stats.p50().toFixed(1)} ms`,
    );
    console.log('answers by type:');
    for (const [label, count] of [...stats.byLabel].sort((a, b) => b[1] - a[1])) console.log(`  ${label.padEnd(32)} ${count}`);
    // Distinct failures first (the same violation text, numbers and ids blurred), then every case.
    const distinct = new Map<string, { count: number; example: (typeof stats.failures)[number] }>();
    for (const failure of stats.failures) {
      for (const violation of failure.violations) {
        // The same violation with its values blurred: quoted text, ids and numbers.
        const blurred = violation
          .replace(/"(?:[^"\\]|\\.)*"|[0-9a-f]{8}-[0-9a-f-]{27}|\d+/g, '#')
          .replace(/got invalid value .*$/, 'got invalid value …');
        const key = `${failure.property}: ${blurred.slice(0, 110)}`;
        const seen = distinct.get(key);
        if (seen) seen.count += 1;
        else distinct.set(key, { count: 1, example: failure });
      }
    }
    console.log(`\nfailures: ${stats.failures.length} cases, ${distinct.size} distinct`);
    for (const [key, { count, example }] of distinct) {
      console.log(
        `\n[${count}×] ${key}\n  replay: FUZZ_SEED=${SEED} FUZZ_PATH=${example.path} (property ${example.property})\n  input: ${example.input.slice(0, 600)}`,
      );
    }
    process.exitCode = stats.failures.length ? 1 : 0;
  } finally {
    await healthy?.stop().catch(() => {});
    await fuzzer?.close().catch(() => {});
    await stack.stop();
    await temporal.stop();
  }
}

await main();
