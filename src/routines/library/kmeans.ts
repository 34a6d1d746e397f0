// KMeans clustering: `configure` fixes k and the fitting options on the instance, `fit` clusters
// a data set with them and reports inertia, silhouette and cluster sizes.
import { kmeansGenerator } from 'ml-kmeans';
import { z } from 'zod';
import { checkpoint, defineMethod, defineRoutine, NonRetryableRoutineError, numericMatrix, tableRef, type MethodContext } from '../sdk.ts';

// Without a seed the run is still reproducible: re-running the same instance on the same data
// must give the same clusters.
const DEFAULT_SEED = 0;
/** Above this many points the silhouette is computed on a seeded sample (it is O(n²)). */
export const SILHOUETTE_EXACT_LIMIT = 5000;

const configSchema = z.object({
  k: z.number().int().min(2).max(50),
  maxIterations: z.number().int().min(1),
  seed: z.number().int().nullish(),
});
type KMeansConfig = z.output<typeof configSchema>;

const configure = defineMethod({
  kind: 'CONSTRUCTOR',
  description: 'Sets the number of clusters and the fitting options used by every fit on this instance.',
  allowsInMemory: true,
  defaultMemoryMb: 256,
  retry: { maxAttempts: 3 },
  input: z
    .object({
      k: z.number().int().min(2).max(50).describe('Number of clusters to find (2-50).'),
      maxIterations: z
        .number()
        .int()
        .min(1)
        .default(100)
        .describe('Upper bound on Lloyd iterations; fitting stops earlier when the centroids stop moving.'),
      seed: z
        .number()
        .int()
        .optional()
        .describe(`Seed for the k-means++ initialization (default ${DEFAULT_SEED}); the same seed and data give the same clusters.`),
    })
    .strict(),
  run: (_context, input) => ({ k: input.k, maxIterations: input.maxIterations, seed: input.seed ?? null }),
});

const fit = defineMethod({
  kind: 'STANDARD',
  description: 'Clusters the points with k-means (k-means++ initialization) and saves the clusters, centroids and a quality report.',
  allowsInMemory: true,
  defaultMemoryMb: 256,
  retry: { maxAttempts: 3 },
  input: z
    .object({
      points: z
        .union([z.array(z.array(z.number()).min(1)).min(1), tableRef])
        .describe(
          'The data set: one array of numeric features per point, all of the same length; or a stored table { path, columns } — an uploaded data set or an artifact of an earlier run (e.g. its clustered_data with columns ["x0","x1"]).',
        ),
    })
    .strict(),
  run: async (context, input) => {
    context.progress(10, 'Loading input dataset...');
    const config = readConfig({ context });
    const points = Array.isArray(input.points)
      ? input.points
      : numericMatrix({ table: await context.readTable(input.points), columns: input.points.columns, source: input.points.path });
    if (points.length === 0) throw new NonRetryableRoutineError('The data set has no rows', 'NotEnoughPointsError');
    const dimensions = points[0].length;
    const badRow = points.findIndex((point) => point.length !== dimensions);
    if (badRow !== -1) {
      throw new NonRetryableRoutineError(
        `Point ${badRow} has ${points[badRow].length} features but point 0 has ${dimensions}; all points need the same dimension`,
        'DimensionMismatchError',
      );
    }
    if (points.length < config.k) {
      throw new NonRetryableRoutineError(`Cannot find k=${config.k} clusters in ${points.length} points`, 'NotEnoughPointsError');
    }
    context.log('info', `Loaded ${points.length} points with ${dimensions} features`);

    // Features are validated, not rescaled: centroids and inertia stay in the caller's units.
    // Scale before calling fit if features have very different ranges.
    context.progress(25, 'Preprocessing and scaling features...');
    const distinct = countDistinct({ points, atLeast: config.k });
    if (distinct < config.k) {
      throw new NonRetryableRoutineError(`Cannot find k=${config.k} clusters among ${distinct} distinct points`, 'NotEnoughPointsError');
    }
    await checkpoint({ context });

    context.progress(50, `Fitting KMeans model (k=${config.k})...`);
    const seed = config.seed ?? DEFAULT_SEED;
    // ml-kmeans does not export its result type from the package root.
    let model: { clusters: number[]; centroids: number[][]; converged: boolean; iterations: number } | undefined;
    for (const step of kmeansGenerator(points, config.k, { maxIterations: config.maxIterations, seed, initialization: 'kmeans++' })) {
      model = step;
      await checkpoint({ context });
    }
    if (!model) throw new Error('k-means produced no iteration');
    context.log('info', `k-means ${model.converged ? 'converged' : 'stopped without converging'} after ${model.iterations} iterations`);

    context.progress(75, 'Calculating cluster metrics...');
    const labels = model.clusters;
    const centroids = model.centroids;
    const clusterSizes = Array.from({ length: config.k }, () => 0);
    for (const label of labels) clusterSizes[label]++;
    const inertia = computeInertia({ points, labels, centroids });
    const silhouette = await silhouetteScore({ points, labels, k: config.k, seed, onChunk: () => checkpoint({ context }) });

    context.progress(90, 'Saving artifacts...');
    const outputs = { inertia, silhouette, clusterSizes, iterations: model.iterations, converged: model.converged };
    const features = Array.from({ length: dimensions }, (_, index) => `x${index}`);
    await context.writeJson('cluster_report', { ...outputs, k: config.k, seed, points: points.length, dimensions });
    await context.writeTable('clustered_data', {
      columns: [...features, 'cluster'],
      rows: points.map((point, index) => [...point, labels[index]]),
    });
    await context.writeTable('centroids', {
      columns: ['cluster', ...features],
      rows: centroids.map((centroid, cluster) => [cluster, ...centroid]),
    });

    context.progress(100, 'Complete!');
    return outputs;
  },
});

export default defineRoutine({
  name: 'kmeans',
  version: '1.0.0',
  description: 'KMeans clustering: configure k once per instance, then fit data sets and download the clusters.',
  stateful: true,
  methods: { configure, fit },
});

function readConfig({ context }: { context: MethodContext }): KMeansConfig {
  const parsed = configSchema.safeParse(context.instanceConfig);
  if (!parsed.success) {
    throw new NonRetryableRoutineError(
      'This kmeans instance is not configured: run its `configure` method (k, maxIterations, seed) before `fit`',
      'InstanceNotConfiguredError',
    );
  }
  return parsed.data;
}

function countDistinct({ points, atLeast }: { points: number[][]; atLeast: number }): number {
  const seen = new Set<string>();
  for (const point of points) {
    seen.add(point.join(','));
    // Only "fewer than k" matters, so large data sets stop hashing early.
    if (seen.size >= atLeast) return seen.size;
  }
  return seen.size;
}

export function computeInertia({ points, labels, centroids }: { points: number[][]; labels: number[]; centroids: number[][] }): number {
  let total = 0;
  for (let i = 0; i < points.length; i++) {
    const point = points[i];
    const centroid = centroids[labels[i]];
    for (let d = 0; d < point.length; d++) {
      const diff = point[d] - centroid[d];
      total += diff * diff;
    }
  }
  return total;
}

/**
 * Mean silhouette coefficient (Euclidean). Exact up to `maxSamples` points; above that, on a
 * seeded random sample of that size (as scikit-learn's `sample_size`), so it stays O(maxSamples²)
 * and deterministic. A point alone in its cluster scores 0; fewer than two clusters gives null.
 */
export async function silhouetteScore({
  points,
  labels,
  k,
  seed = DEFAULT_SEED,
  maxSamples = SILHOUETTE_EXACT_LIMIT,
  onChunk,
}: {
  points: number[][];
  labels: number[];
  k: number;
  seed?: number;
  maxSamples?: number;
  onChunk?: () => Promise<void> | void;
}): Promise<number | null> {
  const indices = sampleIndices({ n: points.length, size: maxSamples, seed });
  const n = indices.length;
  const dimensions = points[0]?.length ?? 0;
  // Flat typed arrays: the n² inner loop is the whole cost, and this keeps it cache-friendly.
  const flat = new Float64Array(n * dimensions);
  const sampleLabels = new Int32Array(n);
  const counts = new Float64Array(k);
  for (let s = 0; s < n; s++) {
    const point = points[indices[s]];
    for (let d = 0; d < dimensions; d++) flat[s * dimensions + d] = point[d];
    sampleLabels[s] = labels[indices[s]];
    counts[sampleLabels[s]]++;
  }
  if (counts.filter((count) => count > 0).length < 2) return null;

  const sums = new Float64Array(k);
  let total = 0;
  for (let i = 0; i < n; i++) {
    sums.fill(0);
    const offsetI = i * dimensions;
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      const offsetJ = j * dimensions;
      let squared = 0;
      for (let d = 0; d < dimensions; d++) {
        const diff = flat[offsetI + d] - flat[offsetJ + d];
        squared += diff * diff;
      }
      sums[sampleLabels[j]] += Math.sqrt(squared);
    }
    const own = sampleLabels[i];
    if (counts[own] > 1) {
      const a = sums[own] / (counts[own] - 1);
      let b = Infinity;
      for (let c = 0; c < k; c++) {
        if (c !== own && counts[c] > 0) b = Math.min(b, sums[c] / counts[c]);
      }
      const spread = Math.max(a, b);
      total += spread === 0 ? 0 : (b - a) / spread;
    }
    if (onChunk && i % 256 === 255) await onChunk();
  }
  return total / n;
}

/** All indices when n ≤ size, else a seeded partial Fisher–Yates sample of `size` of them. */
function sampleIndices({ n, size, seed }: { n: number; size: number; seed: number }): number[] {
  const all = Array.from({ length: n }, (_, index) => index);
  if (n <= size) return all;
  const random = mulberry32(seed);
  for (let i = 0; i < size; i++) {
    const j = i + Math.floor(random() * (n - i));
    [all[i], all[j]] = [all[j], all[i]];
  }
  return all.slice(0, size).sort((a, b) => a - b);
}

function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
