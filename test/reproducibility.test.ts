// Reproducible runs on the real stack (PostgreSQL, Temporal, the worker): a re-run without
// overrides gives the same outputs and byte-identical artifacts for every built-in routine; a
// random default (montecarlo's seed) is drawn at creation and kept in `inputs`; a re-run executes
// with the instance config its parent executed with unless asked for the current one; constructor
// runs file each config version under routine://instances_/{id}/internalvars_/ with its sha256.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArtifactStore } from '../src/storage/artifact-store.ts';
import { checksumFile, configVersionFile, internalVarsPath } from '../src/storage/layout.ts';
import { graphql } from './gql/index.ts';
import type { GraphQLTestClient } from './helpers/graphql.ts';
import { waitFor } from './helpers/graphql.ts';
import { rawIdOf } from './helpers/access.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';

const ReproCreateInstance = graphql(`
  mutation ReproCreateInstance($input: CreateInstanceInput!) {
    createInstance(input: $input) {
      __typename
      ... on CreateInstanceSuccess {
        instance {
          id
        }
      }
      ... on Error {
        message
      }
    }
  }
`);

const ReproCreateRun = graphql(`
  mutation ReproCreateRun($input: CreateRunInput!) {
    createRun(input: $input) {
      __typename
      ... on CreateRunSuccess {
        deduplicated
        run {
          id
          status
          inputs
          outputs
        }
      }
      ... on Error {
        message
      }
    }
  }
`);

const ReproRerunRun = graphql(`
  mutation ReproRerunRun($input: RerunRunInput!) {
    rerunRun(input: $input) {
      __typename
      ... on RerunRunSuccess {
        changedInputs
        run {
          id
        }
      }
      ... on Error {
        message
      }
    }
  }
`);

const ReproRun = graphql(`
  query ReproRun($id: ID!) {
    run(id: $id) {
      id
      status
      inputs
      outputs
      instanceConfig
      instanceConfigVersion
      errorMessage: error {
        message
      }
      artifacts {
        name
        checksum
      }
    }
  }
`);

const ReproCompare = graphql(`
  query ReproCompare($ids: [ID!]!) {
    compareRuns(ids: $ids) {
      __typename
      ... on RunComparison {
        differentInputs {
          name
          values
        }
        sameInputs
        differentOutputs {
          name
          values
          deltas
        }
        sameOutputs
        differentInstanceConfig {
          name
          values
          deltas
        }
        sameInstanceConfig
        identicalArtifacts
        artifacts {
          name
          checksums
          identical
        }
      }
      ... on Error {
        message
      }
    }
  }
`);

let stack: TestStack;
let client: GraphQLTestClient;

beforeAll(async () => {
  stack = await startTestStack();
  client = stack.admin;
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

async function createInstance(routineName: string): Promise<string> {
  const { createInstance: result } = await client.query(ReproCreateInstance, {
    input: { routineName, name: `${routineName}-${Math.random().toString(36).slice(2, 8)}` },
  });
  if (result.__typename !== 'CreateInstanceSuccess') throw new Error(`createInstance: ${JSON.stringify(result)}`);
  return result.instance.id;
}

async function createRun(input: { instanceId: string; methodName: string; inputs: Record<string, unknown>; idempotencyKey?: string }) {
  const { createRun: result } = await client.query(ReproCreateRun, { input });
  if (result.__typename !== 'CreateRunSuccess') throw new Error(`createRun: ${JSON.stringify(result)}`);
  return result;
}

async function rerun(id: string, overrides?: Record<string, unknown>): Promise<string> {
  const { rerunRun: result } = await client.query(ReproRerunRun, { input: { id, overrides } });
  if (result.__typename !== 'RerunRunSuccess') throw new Error(`rerunRun: ${JSON.stringify(result)}`);
  return result.run.id;
}

async function finished(id: string) {
  const run = await waitFor(
    async () => {
      const { run: current } = await client.query(ReproRun, { id });
      return current && ['COMPLETED', 'FAILED', 'CANCELLED'].includes(current.status) ? current : null;
    },
    { timeoutMs: 60_000, what: `run ${id} to finish` },
  );
  expect(run.status, JSON.stringify(run.errorMessage)).toBe('COMPLETED');
  return run;
}

async function compare(ids: string[]) {
  const { compareRuns: result } = await client.query(ReproCompare, { ids });
  if (result.__typename !== 'RunComparison') throw new Error(`compareRuns: ${JSON.stringify(result)}`);
  return result;
}

function checksumsByName(run: { artifacts: Array<{ name: string; checksum: string }> }): Record<string, string> {
  return Object.fromEntries(run.artifacts.map((artifact) => [artifact.name, artifact.checksum]));
}

const POINTS = [
  [0, 0],
  [0, 1],
  [1, 0],
  [10, 10],
  [10, 11],
  [11, 10],
  [-10, 10],
  [-10, 11],
  [-11, 10],
];

/** Per built-in routine: the run to reproduce, after whatever configures its instance. */
const ROUTINES: Array<{
  routine: string;
  setup?: { methodName: string; inputs: Record<string, unknown> };
  subject: { methodName: string; inputs: Record<string, unknown> };
}> = [
  { routine: 'montecarlo', subject: { methodName: 'estimatePi', inputs: { samples: 200_000, batches: 4 } } },
  { routine: 'kmeans', setup: { methodName: 'configure', inputs: { k: 3 } }, subject: { methodName: 'fit', inputs: { points: POINTS } } },
  {
    routine: 'regression',
    setup: { methodName: 'fit', inputs: { features: [[1], [2], [3], [4], [5]], target: [2, 4, 5, 4, 5] } },
    subject: { methodName: 'predict', inputs: { features: [[6], [7]], target: [6, 6] } },
  },
  {
    routine: 'anomaly_detection',
    subject: { methodName: 'detect', inputs: { rows: [[1], [2], [3], [4], [100], [2.5]], method: 'modified_zscore' } },
  },
];

describe('a re-run without overrides reproduces its parent', () => {
  it.each(ROUTINES)('$routine: same outputs, byte-identical artifacts', async ({ routine, setup, subject }) => {
    const instanceId = await createInstance(routine);
    if (setup) await finished((await createRun({ instanceId, ...setup })).run.id);

    const original = await finished((await createRun({ instanceId, ...subject })).run.id);
    const again = await finished(await rerun(original.id));

    expect(again.inputs).toEqual(original.inputs);
    expect(again.outputs).toEqual(original.outputs);
    expect(original.artifacts.length).toBeGreaterThan(0);
    expect(checksumsByName(again)).toEqual(checksumsByName(original));
    expect(again.instanceConfig).toEqual(original.instanceConfig);

    const comparison = await compare([original.id, again.id]);
    expect(comparison.differentInputs).toEqual([]);
    expect(comparison.differentOutputs).toEqual([]);
    expect(comparison.sameOutputs).toEqual(Object.keys(original.outputs as object).sort());
    expect(comparison.differentInstanceConfig).toEqual([]);
    expect(comparison.identicalArtifacts).toBe(true);
    expect(comparison.artifacts.map((artifact) => artifact.name).sort()).toEqual(original.artifacts.map((a) => a.name).sort());
    for (const artifact of comparison.artifacts) {
      expect(artifact.identical).toBe(true);
      expect(artifact.checksums).toEqual([checksumsByName(original)[artifact.name], checksumsByName(original)[artifact.name]]);
    }
  });
});

describe('random defaults are drawn at creation', () => {
  it("montecarlo's seed is in the run's inputs as created, before it runs, and the run uses it", async () => {
    const instanceId = await createInstance('montecarlo');
    const created = await createRun({ instanceId, methodName: 'estimatePi', inputs: { samples: 50_000, batches: 2 } });
    expect(created.run.status).not.toBe('COMPLETED');
    expect(created.run.outputs).toBeNull();
    const seed = (created.run.inputs as { seed?: unknown }).seed;
    expect(Number.isInteger(seed)).toBe(true);
    expect(created.run.inputs).toEqual({ samples: 50_000, batches: 2, seed });

    const done = await finished(created.run.id);
    expect(done.inputs).toEqual(created.run.inputs);
    expect((done.outputs as { seed: number }).seed).toBe(seed);

    // Removing the seed in a re-run asks for a fresh one: the run differs from its parent.
    const fresh = await finished(await rerun(created.run.id, { inputs: { seed: null } }));
    const freshSeed = (fresh.inputs as { seed: number }).seed;
    expect(Number.isInteger(freshSeed)).toBe(true);
    expect(freshSeed).not.toBe(seed);
    const comparison = await compare([done.id, fresh.id]);
    expect(comparison.differentInputs).toEqual([{ name: 'seed', values: [seed, freshSeed] }]);
    expect(comparison.differentOutputs.map((difference) => difference.name)).toContain('seed');
    expect(comparison.identicalArtifacts).toBe(false);
  });

  it('a request retried with its idempotency key gets the first run, though its seed was drawn', async () => {
    const instanceId = await createInstance('montecarlo');
    const input = { instanceId, methodName: 'estimatePi', inputs: { samples: 1000, batches: 1 }, idempotencyKey: 'repro-seed-retry' };
    const first = await createRun(input);
    const second = await createRun(input);
    expect(second.deduplicated).toBe(true);
    expect(second.run.id).toBe(first.run.id);
    expect(second.run.inputs).toEqual(first.run.inputs);
  });
});

describe('a run executes with the instance config it was created with', () => {
  it('after reconfiguring, a re-run uses its parent config unless useCurrentConfig; compareRuns shows the difference', async () => {
    const instanceId = await createInstance('kmeans');
    const configuredK3 = await finished((await createRun({ instanceId, methodName: 'configure', inputs: { k: 3 } })).run.id);
    expect(configuredK3.instanceConfig).toBeNull();
    expect(configuredK3.instanceConfigVersion).toBe(0);

    const fitK3 = await finished((await createRun({ instanceId, methodName: 'fit', inputs: { points: POINTS } })).run.id);
    expect(fitK3.instanceConfig).toMatchObject({ k: 3 });
    expect(fitK3.instanceConfigVersion).toBe(1);
    expect((fitK3.outputs as { clusterSizes: number[] }).clusterSizes).toHaveLength(3);

    const configuredK2 = await finished((await createRun({ instanceId, methodName: 'configure', inputs: { k: 2 } })).run.id);
    expect(configuredK2.instanceConfig).toMatchObject({ k: 3 });

    const repeated = await finished(await rerun(fitK3.id));
    expect(repeated.instanceConfig).toEqual(fitK3.instanceConfig);
    expect(repeated.instanceConfigVersion).toBe(1);
    expect(repeated.outputs).toEqual(fitK3.outputs);
    expect(checksumsByName(repeated)).toEqual(checksumsByName(fitK3));

    const current = await finished(await rerun(fitK3.id, { useCurrentConfig: true }));
    expect(current.instanceConfig).toMatchObject({ k: 2 });
    expect(current.instanceConfigVersion).toBe(2);
    expect((current.outputs as { clusterSizes: number[] }).clusterSizes).toHaveLength(2);

    // A new run executes with the current config.
    const fitK2 = await finished((await createRun({ instanceId, methodName: 'fit', inputs: { points: POINTS } })).run.id);
    expect(fitK2.instanceConfig).toEqual(current.instanceConfig);

    const comparison = await compare([repeated.id, current.id]);
    expect(comparison.differentInputs).toEqual([]);
    expect(comparison.sameInputs).toEqual(['points']);
    expect(comparison.differentInstanceConfig).toEqual([{ name: 'k', values: [3, 2], deltas: [0, -1] }]);
    expect(comparison.sameInstanceConfig).toEqual(['maxIterations', 'seed']);
    const clusterSizes = comparison.differentOutputs.find((difference) => difference.name === 'clusterSizes');
    expect(clusterSizes?.values).toEqual([
      (repeated.outputs as { clusterSizes: number[] }).clusterSizes,
      (current.outputs as { clusterSizes: number[] }).clusterSizes,
    ]);
    expect(clusterSizes?.deltas).toEqual([null, null]);
    const inertia = comparison.differentOutputs.find((difference) => difference.name === 'inertia');
    const inertias = [(repeated.outputs as { inertia: number }).inertia, (current.outputs as { inertia: number }).inertia];
    expect(inertia?.deltas).toEqual([0, inertias[1] - inertias[0]]);
    expect(comparison.identicalArtifacts).toBe(false);

    // Each constructor run filed its config version in internalvars_, with its sha256 beside it.
    const store = new ArtifactStore({ rootDir: stack.api.services.storageRoot });
    const folder = internalVarsPath({ instanceId: rawIdOf(instanceId) });
    for (const [version, configured] of [
      [1, configuredK3],
      [2, configuredK2],
    ] as const) {
      const file = `${folder}${configVersionFile(version)}`;
      const bytes = await fs.readFile(store.resolveLocalPath(file));
      expect(JSON.parse(bytes.toString('utf8'))).toEqual(configured.outputs);
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      expect(await fs.readFile(store.resolveLocalPath(checksumFile(file)), 'utf8')).toBe(`${sha256}  ${configVersionFile(version)}\n`);
    }
    expect((await fs.readdir(store.resolveLocalPath(folder))).sort()).toEqual([
      'config-v1.json',
      'config-v1.json.sha256',
      'config-v2.json',
      'config-v2.json.sha256',
    ]);
  });
});
