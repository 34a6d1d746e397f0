// Issue 11's fuzz suite, reads: every Query field's arguments and every RunFilter field, generated
// from the schema. Seeded (FUZZ_SEED), bounded (FUZZ_RUNS); see test/fuzz-mutations.test.ts.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { fuzzParameters, openFuzzer, type Fuzzer } from './helpers/fuzz/harness.ts';
import { queriesProperty, runFilterProperty } from './helpers/fuzz/properties.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';

describe('fuzz: queries', () => {
  let stack: TestStack;
  let fuzzer: Fuzzer;

  beforeAll(async () => {
    stack = await startTestStack({ withWorker: false });
    fuzzer = await openFuzzer(stack);
  });

  afterAll(async () => {
    await fuzzer?.close();
    await stack?.stop();
  });

  it('every Query field and argument: no 5xx or INTERNAL_SERVER_ERROR, argument errors name the argument, the canary answers', async () => {
    await fc.assert(queriesProperty(fuzzer), fuzzParameters(150));
  }, 120_000);

  it('every RunFilter field (with orderBy and first): errors name the field, the canary answers', async () => {
    await fc.assert(runFilterProperty(fuzzer), fuzzParameters(150));
  }, 120_000);
});
