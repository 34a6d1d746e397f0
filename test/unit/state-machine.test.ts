// The run state machine's table: which status may follow which (DESIGN.md's diagram plus
// QUEUED → FAILED for a workflow terminated before its method began). Applying it to the database
// is test/lifecycle-state-machine.test.ts.
import { describe, expect, it } from 'vitest';
import { RunStatus } from '../../src/generated/prisma/enums.ts';
import { ACTIVE_STATUSES, isTerminal, TERMINAL_STATUSES, TRANSITIONS } from '../../src/runs/state-machine.ts';

const ALL = Object.values(RunStatus);

describe('run state machine', () => {
  it('allows exactly these transitions', () => {
    const edges = ALL.flatMap((from) => TRANSITIONS[from].map((to) => `${from} → ${to}`));
    expect(edges.sort()).toEqual(
      [
        'CREATED → QUEUED',
        'CREATED → CANCELLED',
        'QUEUED → RUNNING',
        'QUEUED → CANCELLED',
        'QUEUED → FAILED',
        'RUNNING → COMPLETED',
        'RUNNING → FAILED',
        'RUNNING → CANCELLED',
      ].sort(),
    );
  });

  it('every status is either active or terminal, and only terminal ones have no way out', () => {
    expect([...ACTIVE_STATUSES, ...TERMINAL_STATUSES].sort()).toEqual([...ALL].sort());
    for (const status of ALL) {
      expect(isTerminal(status), status).toBe(TERMINAL_STATUSES.includes(status));
      expect(TRANSITIONS[status].length === 0, status).toBe(isTerminal(status));
    }
  });

  it('no status leads back to CREATED or to itself', () => {
    for (const status of ALL) {
      expect(TRANSITIONS[status], status).not.toContain(RunStatus.CREATED);
      expect(TRANSITIONS[status], status).not.toContain(status);
    }
  });
});
