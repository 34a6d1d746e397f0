import { ExecutionType, InvocationMethod, MethodKind, RunEventType, RunStatus } from '../src/generated/prisma/enums.ts';
import { builder } from './builder.ts';

export const RunStatusEnum = builder.enumType(RunStatus, {
  name: 'RunStatus',
  description:
    'CREATED → QUEUED → RUNNING → COMPLETED | FAILED | CANCELLED; CREATED | QUEUED → CANCELLED; QUEUED → FAILED when the workflow was terminated (or lost) before the method began.',
});
export const ExecutionTypeEnum = builder.enumType(ExecutionType, {
  name: 'ExecutionType',
  description: 'BACKGROUND (default): durable, asynchronous. IN_MEMORY: executes at once; the answer carries the result.',
});
export const InvocationMethodEnum = builder.enumType(InvocationMethod, {
  name: 'InvocationMethod',
  description: 'WORKFLOW: parameters collected step by step (guided). DIRECT: parameters given at once.',
});
export const MethodKindEnum = builder.enumType(MethodKind, { name: 'MethodKind' });
export const RunEventTypeEnum = builder.enumType(RunEventType, { name: 'RunEventType' });
