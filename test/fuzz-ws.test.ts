// Issue 11's fuzz suite, graphql-ws: raw frames over real sockets. Seeded (FUZZ_SEED), bounded
// (FUZZ_RUNS); see test/fuzz-mutations.test.ts.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { fuzzParameters, openFuzzer, type Fuzzer } from './helpers/fuzz/harness.ts';
import { healthySubscriber, wsFramesProperty } from './helpers/fuzz/ws.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';

describe('fuzz: graphql-ws frames', () => {
  let stack: TestStack;
  let fuzzer: Fuzzer;
  let healthy: ReturnType<typeof healthySubscriber>;

  beforeAll(async () => {
    stack = await startTestStack({ withWorker: false });
    fuzzer = await openFuzzer(stack);
    healthy = healthySubscriber(fuzzer);
  });

  afterAll(async () => {
    await healthy?.stop();
    await fuzzer?.close();
    await stack?.stop();
  });

  it('closes only with documented codes, keeps the socket for a bad subscribe, other sockets and the canary keep working', async () => {
    await fc.assert(
      wsFramesProperty(fuzzer, () => healthy.closed()),
      fuzzParameters(60),
    );
  }, 120_000);
});
