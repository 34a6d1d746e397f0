// Monte Carlo estimate of π: the share of uniform points in the unit square that fall inside the
// quarter circle is π/4. Cheap per sample and arbitrarily long, so it doubles as the routine for
// watching progress and cancelling a CPU-bound run.
import { randomInt } from 'node:crypto';
import { z } from 'zod';
import { checkpoint, defineMethod, defineRoutine, resolvedAtCreation } from '../sdk.ts';

/** Samples between cancellation checks: ~5-10 ms of work, so a cancel lands quickly. */
const CHUNK = 1 << 20;

const estimatePi = defineMethod({
  kind: 'STANDARD',
  description: 'Estimates π by sampling uniform points in the unit square and counting those inside the quarter circle.',
  allowsInMemory: true,
  defaultMemoryMb: 128,
  input: z
    .object({
      samples: z.number().int().min(1).max(1e10).describe('Number of random points to draw (1 to 10,000,000,000).'),
      batches: z.number().int().min(1).max(1000).default(20).describe('Number of batches; progress is reported after each one.'),
      seed: resolvedAtCreation(z.number().int(), () => randomInt(0, 2 ** 31)).describe(
        'Seed of the random generator; the same seed and sample count give the same estimate. Random when omitted, drawn when the run is created and kept in its inputs.',
      ),
    })
    .strict(),
  run: async (context, input) => {
    const seed = input.seed;
    const batches = Math.min(input.batches, input.samples);
    const generator = new Xoshiro128({ seed });
    const startMessage = `Sampling ${input.samples} points in ${batches} batches (seed=${seed})...`;
    context.progress(10, startMessage);
    context.log('info', `Sampling ${input.samples} points in ${batches} batches with seed ${seed}`);

    let inside = 0;
    let drawn = 0;
    let halfwayAnnounced = false;
    for (let batch = 0; batch < batches; batch++) {
      // Spread the remainder over the first batches so every sample is drawn exactly once.
      const batchSize = Math.floor(input.samples / batches) + (batch < input.samples % batches ? 1 : 0);
      for (let done = 0; done < batchSize; done += CHUNK) {
        await checkpoint({ context });
        inside += generator.countInsideQuarterCircle(Math.min(CHUNK, batchSize - done));
      }
      drawn += batchSize;
      const percent = 10 + (80 * (batch + 1)) / batches;
      if (!halfwayAnnounced && percent >= 50 && batch + 1 < batches) {
        halfwayAnnounced = true;
        context.progress(percent, `Sampling: halfway, running estimate π≈${((4 * inside) / drawn).toFixed(5)}...`);
        context.log('info', `Halfway: ${drawn} points drawn, ${inside} inside the quarter circle`);
      } else {
        // Same message: a percent-only update the event stream may coalesce.
        context.progress(percent);
      }
    }

    context.progress(90, 'Saving artifacts...');
    const estimate = (4 * inside) / input.samples;
    const absoluteError = Math.abs(estimate - Math.PI);
    await context.writeJson('estimate', {
      estimate,
      samples: input.samples,
      inside,
      error: estimate - Math.PI,
      absoluteError,
      batches,
      seed,
    });
    context.log('info', `π ≈ ${estimate} from ${input.samples} points (off by ${absoluteError.toPrecision(3)})`);
    context.progress(100, 'Complete!');
    return { estimate, samples: input.samples, inside, absoluteError, seed };
  },
});

export default defineRoutine({
  name: 'montecarlo',
  version: '1.0.0',
  description: 'Monte Carlo estimation of π; a CPU-bound routine whose length is set by its sample count.',
  stateful: false,
  methods: { estimatePi },
});

/**
 * xoshiro128** (Blackman & Vigna): 32-bit arithmetic only, so V8 keeps it in registers, and a
 * 2^128 period, which mulberry32's 2^32 would not give for 10^10 samples × 2 draws.
 */
export class Xoshiro128 {
  private readonly state = new Int32Array(4);

  constructor({ seed }: { seed: number }) {
    // splitmix32 spreads one integer seed over the 128-bit state (never all zero).
    let mix = (seed >>> 0) ^ Math.imul(Math.floor(seed / 2 ** 32) | 0, 0x9e3779b9);
    for (let i = 0; i < 4; i++) {
      mix = (mix + 0x9e3779b9) | 0;
      let z = mix;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      this.state[i] = z ^ (z >>> 16);
    }
  }

  /** Draws `count` points and returns how many satisfy x² + y² ≤ 1. */
  countInsideQuarterCircle(count: number): number {
    let [s0, s1, s2, s3] = this.state;
    let inside = 0;
    for (let i = 0; i < count; i++) {
      let r = Math.imul(s1, 5);
      let t = s1 << 9;
      const x = (Math.imul((r << 7) | (r >>> 25), 9) >>> 0) * 2.3283064365386963e-10;
      s2 ^= s0;
      s3 ^= s1;
      s1 ^= s2;
      s0 ^= s3;
      s2 ^= t;
      s3 = (s3 << 11) | (s3 >>> 21);

      r = Math.imul(s1, 5);
      t = s1 << 9;
      const y = (Math.imul((r << 7) | (r >>> 25), 9) >>> 0) * 2.3283064365386963e-10;
      s2 ^= s0;
      s3 ^= s1;
      s1 ^= s2;
      s0 ^= s3;
      s2 ^= t;
      s3 = (s3 << 11) | (s3 >>> 21);

      if (x * x + y * y <= 1) inside++;
    }
    this.state[0] = s0;
    this.state[1] = s1;
    this.state[2] = s2;
    this.state[3] = s3;
    return inside;
  }
}
