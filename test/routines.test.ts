// The built-in routines do real work: KMeans recovers known clusters, Monte Carlo converges on π.
// Each runs the way production runs it, in a sandboxed child process writing real artifacts.
import { promises as fs } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadRoutineRegistry } from '../src/routines/registry.ts';
import { silhouetteScore } from '../src/routines/library/kmeans.ts';
import { ArtifactStore } from '../src/storage/artifact-store.ts';
import { artifactPath } from '../src/storage/layout.ts';
import { outputs, routineSandbox } from './helpers/routine-sandbox.ts';

const { storageRoot, execute } = routineSandbox({ prefix: 'routines-' });

/** Seeded standard normal (mulberry32 + Box–Muller), so the data set is the same every run. */
function gaussian(seed: number): () => number {
  let state = seed >>> 0;
  const uniform = () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

const CENTERS = [
  [0, 0],
  [10, 10],
  [-10, 10],
];

function blobs({ perBlob, spread }: { perBlob: number; spread: number }): number[][] {
  const normal = gaussian(7);
  return CENTERS.flatMap((center) => Array.from({ length: perBlob }, () => center.map((value) => value + spread * normal())));
}

describe('registry', () => {
  it('discovers the built-in routines from src/routines/library/ with their signatures', async () => {
    const registry = await loadRoutineRegistry();
    expect(registry.list().map((routine) => routine.name)).toEqual(['anomaly_detection', 'kmeans', 'montecarlo', 'regression']);
    expect(await loadRoutineRegistry()).toBe(registry);
    expect(registry.get('kmeans')).toMatchObject({ version: '1.0.0', stateful: true });
    expect(registry.method('kmeans', 'fit')?.kind).toBe('STANDARD');
    expect(registry.method('kmeans', 'toString')).toBeUndefined();
    const [configure] = registry.signatures('kmeans');
    expect(configure).toMatchObject({ name: 'configure', kind: 'CONSTRUCTOR', allowsInMemory: true, defaultMemoryMb: 256 });
    expect(configure.retry.maxAttempts).toBe(3);
    expect(configure.parameters).toEqual([
      expect.objectContaining({ name: 'k', type: 'integer', required: true, description: expect.stringMatching(/clusters/) }),
      expect.objectContaining({ name: 'maxIterations', required: false, default: 100 }),
      expect.objectContaining({ name: 'seed', required: false }),
    ]);
    expect(registry.signatures('montecarlo')[0]).toMatchObject({ name: 'estimatePi', kind: 'STANDARD', defaultMemoryMb: 128 });
  });
});

describe('kmeans', () => {
  it('configure stores k and the fitting options as the instance config, writing no artifacts', async () => {
    const { result, artifacts } = await execute({ routineName: 'kmeans', methodName: 'configure', inputs: { k: 3 } });
    expect(outputs(result)).toEqual({ k: 3, maxIterations: 100, seed: null });
    expect(artifacts).toEqual([]);
  });

  it('configure refuses k outside 2..50 and unknown parameters', async () => {
    for (const inputs of [{ k: 1 }, { k: 51 }, { k: 2.5 }, { k: 3, clusters: 3 }, {}]) {
      const { result } = await execute({ routineName: 'kmeans', methodName: 'configure', inputs });
      expect(result, JSON.stringify(inputs)).toMatchObject({ status: 'FAILED', error: { type: 'ValidationError', retryable: false } });
    }
  });

  it('fit recovers three well-separated blobs: sizes, centroids, silhouette, artifacts', async () => {
    const points = blobs({ perBlob: 100, spread: 1 });
    const configured = await execute({ routineName: 'kmeans', methodName: 'configure', inputs: { k: 3, seed: 1 } });
    const { result, progress, artifacts, request } = await execute({
      routineName: 'kmeans',
      methodName: 'fit',
      inputs: { points },
      instanceConfig: outputs(configured.result),
    });

    const fitted = outputs(result) as {
      inertia: number;
      silhouette: number;
      clusterSizes: number[];
      iterations: number;
      converged: boolean;
    };
    expect(fitted.clusterSizes).toEqual([100, 100, 100]);
    expect(fitted.converged).toBe(true);
    expect(fitted.silhouette).toBeGreaterThan(0.7);
    // 300 points of unit variance in 2 dimensions: inertia ≈ 2 × 300.
    expect(fitted.inertia).toBeGreaterThan(400);
    expect(fitted.inertia).toBeLessThan(800);
    expect(progress.map((update) => [update.percent, update.message])).toEqual([
      [10, 'Loading input dataset...'],
      [25, 'Preprocessing and scaling features...'],
      [50, 'Fitting KMeans model (k=3)...'],
      [75, 'Calculating cluster metrics...'],
      [90, 'Saving artifacts...'],
      [100, 'Complete!'],
    ]);
    expect(result.resources.cpuTimeMs).toBeGreaterThan(0);

    expect(artifacts.map((artifact) => artifact.name)).toEqual(['cluster_report', 'clustered_data', 'centroids']);
    const [report, clustered, centroids] = artifacts;
    expect(report.contentType).toBe('application/json');
    expect(clustered.contentType).toBe('text/csv');
    expect(clustered.metadata).toMatchObject({ rows: 300, columns: ['x0', 'x1', 'cluster'] });
    expect(clustered.preview?.rows).toHaveLength(100);
    expect(clustered.preview?.truncated).toBe(true);

    // Each true center has exactly one fitted centroid within 0.5.
    const store = new ArtifactStore({ rootDir: storageRoot() });
    const csv = await fs.readFile(await store.dataFilePath(centroids.path), 'utf8');
    const rows = csv
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => line.split(',').map(Number));
    const fittedCenters = rows.map(([, x0, x1]) => [x0, x1]);
    for (const center of CENTERS) {
      const near = fittedCenters.filter(([x0, x1]) => Math.hypot(x0 - center[0], x1 - center[1]) < 0.5);
      expect(near, `centroid near ${center}`).toHaveLength(1);
    }
    const reportJson = JSON.parse(await fs.readFile(await store.dataFilePath(report.path), 'utf8'));
    expect(reportJson).toMatchObject({ k: 3, clusterSizes: [100, 100, 100], silhouette: fitted.silhouette, inertia: fitted.inertia });
    expect(report.path).toBe(artifactPath({ instanceId: request.instanceId, runId: request.runId, name: 'cluster_report' }));
    const statistics = clustered.statistics as { columns: { name: string; type: string; distinct?: number; count: number }[] };
    expect(statistics.columns.map((column) => column.name)).toEqual(['x0', 'x1', 'cluster']);
    expect(statistics.columns[2]).toMatchObject({ type: 'numeric', count: 300, min: 0, max: 2 });
  });

  it('fit is deterministic for the same seed', async () => {
    const points = blobs({ perBlob: 50, spread: 4 });
    const config = { k: 4, maxIterations: 100, seed: 11 };
    const first = await execute({
      routineName: 'kmeans',
      methodName: 'fit',
      inputs: { points },
      instanceConfig: config,
      storeArtifacts: false,
    });
    const second = await execute({
      routineName: 'kmeans',
      methodName: 'fit',
      inputs: { points },
      instanceConfig: config,
      storeArtifacts: false,
    });
    expect(outputs(second.result)).toEqual(outputs(first.result));
  });

  it('fit refuses, without retrying, an unconfigured instance, mixed dimensions and fewer points than k', async () => {
    const config = { k: 3, maxIterations: 100, seed: null };
    const cases = [
      {
        inputs: {
          points: [
            [1, 2],
            [3, 4],
            [5, 6],
          ],
        },
        instanceConfig: null,
        type: 'InstanceNotConfiguredError',
      },
      { inputs: { points: [[1, 2], [3], [5, 6]] }, instanceConfig: config, type: 'DimensionMismatchError' },
      {
        inputs: {
          points: [
            [1, 2],
            [3, 4],
          ],
        },
        instanceConfig: config,
        type: 'NotEnoughPointsError',
      },
      {
        inputs: {
          points: [
            [1, 1],
            [1, 1],
            [1, 1],
            [2, 2],
          ],
        },
        instanceConfig: config,
        type: 'NotEnoughPointsError',
      },
      { inputs: { points: [] }, instanceConfig: config, type: 'ValidationError' },
      { inputs: { points: [['a', 1]] }, instanceConfig: config, type: 'ValidationError' },
    ];
    for (const { inputs, instanceConfig, type } of cases) {
      const { result, artifacts } = await execute({ routineName: 'kmeans', methodName: 'fit', inputs, instanceConfig });
      expect(result, type).toMatchObject({ status: 'FAILED', error: { type, retryable: false } });
      expect(artifacts).toEqual([]);
    }
  });

  it('silhouette matches a hand-computed value and samples deterministically above its limit', async () => {
    // Clusters {0, 1} and {4}: a(0)=1, b(0)=4 → 0.75; a(1)=1, b(1)=3 → 2/3; a singleton scores 0.
    const points = [[0], [1], [4]];
    expect(await silhouetteScore({ points, labels: [0, 0, 1], k: 2 })).toBeCloseTo((0.75 + 2 / 3 + 0) / 3, 12);
    expect(await silhouetteScore({ points, labels: [0, 0, 0], k: 2 })).toBeNull();

    const big = blobs({ perBlob: 40, spread: 1 });
    const labels = big.map((_, index) => Math.floor(index / 40));
    const exact = await silhouetteScore({ points: big, labels, k: 3 });
    const sampled = await silhouetteScore({ points: big, labels, k: 3, maxSamples: 60, seed: 3 });
    expect(await silhouetteScore({ points: big, labels, k: 3, maxSamples: 60, seed: 3 })).toBe(sampled);
    expect(Math.abs(sampled! - exact!)).toBeLessThan(0.05);
  });
});

describe('montecarlo', () => {
  it('estimates π within 0.01 from a million samples, with its artifact', async () => {
    const { result, progress, artifacts } = await execute({
      routineName: 'montecarlo',
      methodName: 'estimatePi',
      inputs: { samples: 1_000_000, batches: 10, seed: 42 },
    });
    const estimated = outputs(result) as { estimate: number; samples: number; inside: number; absoluteError: number };
    expect(Math.abs(estimated.estimate - Math.PI)).toBeLessThan(0.01);
    expect(estimated.samples).toBe(1_000_000);
    expect(estimated.estimate).toBe((4 * estimated.inside) / 1_000_000);
    expect(estimated.absoluteError).toBeCloseTo(Math.abs(estimated.estimate - Math.PI), 12);

    // One update per batch between the start and the save, percent never going back.
    expect(progress).toHaveLength(13);
    expect(progress[0]).toMatchObject({ percent: 10, message: expect.stringMatching(/^Sampling 1000000 points in 10 batches/) });
    expect(progress.at(-2)).toEqual({ percent: 90, message: 'Saving artifacts...' });
    expect(progress.at(-1)).toEqual({ percent: 100, message: 'Complete!' });
    expect(progress.map((update) => update.percent)).toEqual([...progress.map((update) => update.percent)].sort((a, b) => a - b));
    expect(new Set(progress.map((update) => update.message)).size).toBe(4);

    expect(artifacts).toHaveLength(1);
    const store = new ArtifactStore({ rootDir: storageRoot() });
    const artifact = JSON.parse(await fs.readFile(await store.dataFilePath(artifacts[0].path), 'utf8'));
    expect(artifact).toMatchObject({ estimate: estimated.estimate, samples: 1_000_000, inside: estimated.inside, batches: 10, seed: 42 });
    expect(artifact.error).toBeCloseTo(estimated.estimate - Math.PI, 12);
  });

  it('gives the same estimate for the same seed, whatever the batching, and another for another seed', async () => {
    const run = (inputs: Record<string, unknown>) =>
      execute({ routineName: 'montecarlo', methodName: 'estimatePi', inputs, storeArtifacts: false }).then(({ result }) => outputs(result));
    const a = await run({ samples: 200_000, seed: 5 });
    const b = await run({ samples: 200_000, seed: 5, batches: 7 });
    const c = await run({ samples: 200_000, seed: 6 });
    expect(b.inside).toBe(a.inside);
    expect(c.inside).not.toBe(a.inside);
  });

  it('refuses sample counts outside 1..1e10 and unknown parameters', async () => {
    for (const inputs of [{ samples: 0 }, { samples: 2e10 }, { samples: 10, batches: 0 }, { samples: 10, extra: 1 }]) {
      const { result } = await execute({ routineName: 'montecarlo', methodName: 'estimatePi', inputs });
      expect(result, JSON.stringify(inputs)).toMatchObject({ status: 'FAILED', error: { type: 'ValidationError' } });
    }
  });
});
