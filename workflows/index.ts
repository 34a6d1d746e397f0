// Every workflow the worker runs. Workflow code must stay deterministic and replay-safe.
export { runWorkflow } from './run.workflow.ts';
export { retentionWorkflow, scheduledRunWorkflow } from './schedule.workflow.ts';
