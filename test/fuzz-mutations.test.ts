// Issue 11's fuzz suite, mutations: every mutation's input generated from the schema, wrong types
// for every parameter of every built-in method, and upload bodies. Seeded (FUZZ_SEED) and bounded
// (FUZZ_RUNS); fast-check prints the seed and path of a failing case. bench/fuzz.ts runs more.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { fuzzParameters, openFuzzer, type Fuzzer } from './helpers/fuzz/harness.ts';
import { methodParametersProperty, mutationsProperty, uploadsProperty } from './helpers/fuzz/properties.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';

describe('fuzz: mutations', () => {
  let stack: TestStack;
  let fuzzer: Fuzzer;

  beforeAll(async () => {
    // No worker: a run the fuzz starts is queued, never executed, so cases stay cheap and counted.
    stack = await startTestStack({ withWorker: false });
    fuzzer = await openFuzzer(stack);
  });

  afterAll(async () => {
    await fuzzer?.close();
    await stack?.stop();
  });

  it('every mutation input: no 5xx or INTERNAL_SERVER_ERROR, errors name the field, nothing stored on error, the canary answers', async () => {
    await fc.assert(mutationsProperty(fuzzer), fuzzParameters(150));
  }, 120_000);

  it('wrong types for every parameter of every built-in method are ValidationErrors at ["inputs", name] saying what was wrong', async () => {
    await fc.assert(methodParametersProperty(fuzzer), fuzzParameters(60));
  }, 120_000);

  it('CSV and JSON upload bodies: a ValidationError naming the field (line and column for content), nothing stored on error', async () => {
    await fc.assert(uploadsProperty(fuzzer), fuzzParameters(60));
  }, 120_000);
});
