// resolvedAtCreation (src/routines/sdk.ts): a parameter whose default varies is drawn when the
// run's inputs are parsed at creation, and the signature shows it without a default.
import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { creationResolvedParameters, defineMethod, methodSignature, resolvedAtCreation } from '../../src/routines/sdk.ts';
import { parseMethodInputs } from '../../src/services/method-inputs.ts';

let draws = 0;
const method = defineMethod({
  kind: 'STANDARD',
  input: z
    .object({
      samples: z.number().int(),
      batches: z.number().int().default(20),
      seed: resolvedAtCreation(z.number().int(), () => ++draws).describe('Random when omitted.'),
    })
    .strict(),
  run: (_context, input) => ({ seed: input.seed }),
});

describe('resolvedAtCreation', () => {
  it('is found through .describe() and listed in signature order', () => {
    expect(creationResolvedParameters(method)).toEqual(['seed']);
  });

  it('draws a value per parse, stored like a given one; a given value is kept', () => {
    const first = parseMethodInputs(method, { samples: 5 });
    const second = parseMethodInputs(method, { samples: 5 });
    expect(first).toEqual({ samples: 5, batches: 20, seed: expect.any(Number) });
    expect(second.seed).not.toBe(first.seed);
    expect(parseMethodInputs(method, { samples: 5, seed: 42 })).toEqual({ samples: 5, batches: 20, seed: 42 });
  });

  it('shows no default in the signature (a fixed default still shows)', () => {
    const signature = methodSignature('estimate', method);
    expect(signature.parameters.find((parameter) => parameter.name === 'seed')).toMatchObject({ required: false, default: null });
    expect(signature.parameters.find((parameter) => parameter.name === 'batches')).toMatchObject({ required: false, default: 20 });
    expect((signature.inputSchema as { properties: Record<string, object> }).properties.seed).not.toHaveProperty('default');
    // Two signatures of the same method are equal: nothing drawn leaks into them.
    expect(methodSignature('estimate', method)).toEqual(signature);
  });
});
