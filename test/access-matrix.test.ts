// The permission matrix (test/access/matrix.ts) performed: every operation as every kind of
// requester over real HTTP, graphql-ws and SSE against one stack. One `it` per operation; each
// collects the cells where what was observed differs from the table, and fails with all of them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAccessFixtures, type AccessFixtures } from './helpers/access.ts';
import { expectedOutcome, expectedRequirement, OPERATION_NAMES, REQUESTERS, type OperationName } from './access/matrix.ts';
import { OPERATIONS, type Observation } from './access/operations.ts';

interface Mismatch {
  operation: OperationName;
  requester: string;
  expected: string;
  observed: string;
}

const allMismatches: Mismatch[] = [];

function report(mismatches: Mismatch[]): string {
  if (!mismatches.length) return '';
  const rows = mismatches.map((m) => `  ${m.requester.padEnd(20)} expected ${m.expected.padEnd(10)} observed ${m.observed}`);
  return `${mismatches[0].operation}: ${mismatches.length} of ${REQUESTERS.length} cells differ\n${rows.join('\n')}`;
}

describe('permission matrix', () => {
  let fx: AccessFixtures;

  beforeAll(async () => {
    fx = await startAccessFixtures();
  });

  afterAll(async () => {
    if (allMismatches.length) {
      const byOperation = new Map<string, number>();
      for (const m of allMismatches) byOperation.set(m.operation, (byOperation.get(m.operation) ?? 0) + 1);
      console.log(
        `permission matrix: ${allMismatches.length} of ${OPERATION_NAMES.length * REQUESTERS.length} cells differ\n` +
          [...byOperation].map(([operation, count]) => `  ${operation}: ${count}`).join('\n'),
      );
    }
    await fx?.stop();
  });

  it('performs every operation of the table, and only those', () => {
    expect(Object.keys(OPERATIONS).sort()).toEqual([...OPERATION_NAMES].sort());
  });

  for (const operation of OPERATION_NAMES) {
    it(operation, async () => {
      const { perform } = OPERATIONS[operation];
      const observe = async (key: string): Promise<Observation> => {
        try {
          return await perform(fx.clients[key], fx);
        } catch (e) {
          return { outcome: 'error', detail: String(e).slice(0, 300) };
        }
      };
      const observed = await Promise.all(REQUESTERS.map((r) => observe(r.key)));
      const mismatches = REQUESTERS.flatMap((requester, i): Mismatch[] => {
        const expected = expectedOutcome(operation, requester);
        const seen = observed[i];
        const requirement = expectedRequirement(operation, requester);
        // A ForbiddenError must name the rung missing; a forbidden seen otherwise (a skipped bulk delete, a 403) names none.
        const named = requirement === null || seen.requirement === undefined || seen.requirement === requirement;
        if (seen.outcome === expected && named) return [];
        if (seen.outcome === expected)
          return [
            { operation, requester: requester.label, expected: `forbidden (${requirement})`, observed: `forbidden (${seen.requirement})` },
          ];
        return [{ operation, requester: requester.label, expected, observed: seen.outcome + (seen.detail ? ` (${seen.detail})` : '') }];
      });
      allMismatches.push(...mismatches);
      expect(report(mismatches)).toBe('');
    });
  }
});
