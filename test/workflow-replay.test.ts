// Safe deploys: workflow histories recorded from real runs of every earlier workflow version
// (test/fixtures/histories/, recorded by record.ts next to them) must replay on the current
// workflow code, or runs in flight during a deploy would fail with a non-determinism error.
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { describe, expect, it } from 'vitest';
import { workflowBundle } from '../workflows/worker.ts';

// Replay workers log every state change at INFO; only problems matter here.
Runtime.install({ logger: new DefaultLogger('WARN') });

const HISTORIES = fileURLToPath(new URL('./fixtures/histories/', import.meta.url));
const files = readdirSync(HISTORIES)
  .filter((file) => file.endsWith('.json'))
  .sort();

// The SDK's own historyFromJSON fails in this install ("type must be a Type"): npm nests two
// copies of protobufjs 8 (under @temporalio/common and @temporalio/proto, because @grpc pins 7 at
// the top level), and its ProtoJSON parser checks `instanceof Type` against the other copy. So the
// CLI's JSON is parsed with the parser of the copy that @temporalio/proto's types belong to.
const require = createRequire(import.meta.url);
const protoRequire = createRequire(require.resolve('@temporalio/proto'));
const { fromJson } = protoRequire('protobufjs/ext/protojson') as { fromJson(type: unknown, json: unknown, options?: object): unknown };
const { temporal } = require('@temporalio/proto') as { temporal: { api: { history: { v1: { History: unknown } } } } };

function history(file: string): unknown {
  const json = JSON.parse(readFileSync(`${HISTORIES}${file}`, 'utf8'));
  return fromJson(temporal.api.history.v1.History, json, { ignoreUnknownFields: true });
}

describe('workflow replay', () => {
  it('has recorded histories of each version: completed, cancelled and failed runs, a schedule fire and a retention fire', () => {
    for (const version of ['v1', 'v2', 'v3']) {
      for (const outcome of ['completed', 'cancelled', 'failed']) expect(files).toContain(`${version}-${outcome}.json`);
    }
    // v3 (memory-growth-v1): a run admitted again with more memory after an attempt ran out of it.
    expect(files).toContain('v3-grown.json');
    // workflows/schedule.workflow.ts, recorded by record-schedules.ts.
    for (const fire of ['fired', 'retention']) expect(files).toContain(`schedule-v1-${fire}.json`);
  });

  it.each(files)('replays %s on the current workflow code', async (file) => {
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history(file), file);
  });

  // Turning tracing on (OTEL_*) between deploys adds the OpenTelemetry workflow interceptors: they
  // must add no command.
  it.each(files)('replays %s with the tracing interceptors', async (file) => {
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle({ tracing: true }) }, history(file), file);
  });

  it('catches a change that is not replay-safe (the admission step without patched())', async () => {
    const unpatched = await bundleWorkflowCode({
      workflowsPath: fileURLToPath(new URL('./fixtures/workflows/unpatched.workflow.ts', import.meta.url)),
      logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} },
    });
    await expect(Worker.runReplayHistory({ workflowBundle: unpatched }, history('v1-completed.json'))).rejects.toBeInstanceOf(
      DeterminismViolationError,
    );
  });
});
