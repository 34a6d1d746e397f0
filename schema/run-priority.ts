// A run's priority as createRun and rerunRun take it; what it means is admission's (src/runs/admission.ts).
import { z } from 'zod';
import { AGEING_SECONDS_PER_POINT, MAX_PRIORITY, MIN_PRIORITY } from '../src/runs/admission.ts';

const outOfRange = `Priority is a whole number from ${MIN_PRIORITY} to ${MAX_PRIORITY}`;

export const priorityRange = z.number().int(outOfRange).min(MIN_PRIORITY, outOfRange).max(MAX_PRIORITY, outOfRange);

export const priorityDescription =
  `${MIN_PRIORITY} to ${MAX_PRIORITY} (default 0). Among queued runs that fit, higher priority is admitted first. Waiting ages a ` +
  `run up by one point every ${AGEING_SECONDS_PER_POINT} s, so no run waits forever: a run is only passed by runs queued less ` +
  `than (their priority − its priority) × ${AGEING_SECONDS_PER_POINT} s after it (see RoutineRun.queuePosition).`;
