// Anomaly detection on numeric columns, per feature, with the three classic univariate rules
// (statistics from simple-statistics):
//   zscore           |x − mean| / std (sample std)                       > threshold (default 3)
//   modified_zscore  0.6745 · |x − median| / MAD (Iglewicz and Hoaglin)  > threshold (default 3.5)
//   iqr              outside [Q1 − k·IQR, Q3 + k·IQR] (Tukey's fences)   k = threshold (default 1.5)
// A row is an anomaly when any of its features is; its score is its largest per-feature score.
import { mean, medianAbsoluteDeviation, medianSorted, quantileSorted, sampleStandardDeviation } from 'simple-statistics';
import { z } from 'zod';
import { checkpoint, defineMethod, defineRoutine, NonRetryableRoutineError } from '../sdk.ts';

export const DETECTION_METHODS = ['zscore', 'modified_zscore', 'iqr'] as const;
export type DetectionMethod = (typeof DETECTION_METHODS)[number];
const DEFAULT_THRESHOLD: Record<DetectionMethod, number> = { zscore: 3, modified_zscore: 3.5, iqr: 1.5 };
/** The anomalies listed in the outputs; the artifacts hold all of them. */
const OUTPUT_LIMIT = 100;

export interface FeatureRule {
  feature: string;
  center: number;
  spread: number;
  lower: number;
  upper: number;
}

const detect = defineMethod({
  kind: 'STANDARD',
  description: 'Flags the rows whose values lie far from the rest of their column (z-score, modified z-score or IQR fences).',
  allowsInMemory: true,
  defaultMemoryMb: 256,
  retry: { maxAttempts: 2 },
  input: z
    .object({
      rows: z
        .array(z.array(z.number()).min(1))
        .min(3)
        .describe('The data set: one array of numeric features per row, all of the same length (at least 3 rows).'),
      featureNames: z
        .array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/))
        .optional()
        .describe('Names of the features (default x0, x1, …).'),
      method: z.enum(DETECTION_METHODS).default('zscore').describe('The rule that decides what is far.'),
      threshold: z
        .number()
        .positive()
        .optional()
        .describe('How far is too far: z for zscore (default 3), modified z for modified_zscore (default 3.5), k for iqr (default 1.5).'),
    })
    .strict(),
  run: async (context, input) => {
    context.progress(10, 'Checking the data...');
    const dimensions = input.rows[0].length;
    const bad = input.rows.findIndex((row) => row.length !== dimensions);
    if (bad !== -1) {
      throw new NonRetryableRoutineError(
        `Row ${bad} has ${input.rows[bad].length} values but row 0 has ${dimensions}`,
        'DimensionMismatchError',
      );
    }
    const names = input.featureNames ?? Array.from({ length: dimensions }, (_, index) => `x${index}`);
    if (names.length !== dimensions || new Set(names).size !== dimensions) {
      throw new NonRetryableRoutineError(`featureNames must name each of the ${dimensions} features once`, 'DimensionMismatchError');
    }
    const threshold = input.threshold ?? DEFAULT_THRESHOLD[input.method];

    context.progress(30, `Computing ${input.method} per feature...`);
    const rules: FeatureRule[] = [];
    const scores: Float64Array[] = [];
    for (let d = 0; d < dimensions; d++) {
      const column = input.rows.map((row) => row[d]);
      const { rule, score } = scoreColumn({ feature: names[d], values: column, method: input.method, threshold });
      rules.push(rule);
      scores.push(score);
      await checkpoint({ context });
    }

    context.progress(70, 'Flagging anomalies...');
    const findings: Array<{ row: number; feature: string; value: number; score: number }> = [];
    const rowScores = input.rows.map((row, index) => {
      let best = 0;
      for (let d = 0; d < dimensions; d++) {
        const score = scores[d][index];
        best = Math.max(best, score);
        if (score > threshold) findings.push({ row: index, feature: names[d], value: row[d], score });
      }
      return best;
    });
    const anomalyRows = rowScores.flatMap((score, index) => (score > threshold ? [index] : []));
    context.log('info', `${anomalyRows.length} of ${input.rows.length} rows are anomalies (${input.method}, threshold ${threshold})`);

    context.progress(90, 'Saving artifacts...');
    await context.writeTable('scored_data', {
      columns: [...names, 'score', 'label'],
      rows: input.rows.map((row, index) => [...row, rowScores[index], rowScores[index] > threshold ? 'anomaly' : 'normal']),
    });
    await context.writeTable('anomalies', {
      columns: ['row', 'feature', 'value', 'score'],
      rows: findings.map((finding) => [finding.row, finding.feature, finding.value, finding.score]),
    });
    await context.writeJson('detection_report', {
      method: input.method,
      threshold,
      rows: input.rows.length,
      anomalies: anomalyRows.length,
      rules,
    });
    context.progress(100, 'Complete!');
    return {
      method: input.method,
      threshold,
      rows: input.rows.length,
      anomalyCount: anomalyRows.length,
      anomalyRows: anomalyRows.slice(0, OUTPUT_LIMIT),
      rules,
    };
  },
});

export default defineRoutine({
  name: 'anomaly_detection',
  version: '1.0.0',
  description: 'Finds outlying rows in numeric data with z-scores, modified z-scores (median/MAD) or IQR fences.',
  stateful: false,
  methods: { detect },
});

/**
 * The score of each value of one column, on the method's own scale (so `threshold` compares
 * directly), and the rule as numbers: the centre, the spread and the bounds beyond which a value
 * is an anomaly. A column without spread (all values equal) has no anomalies.
 */
export function scoreColumn({
  feature,
  values,
  method,
  threshold,
}: {
  feature: string;
  values: number[];
  method: DetectionMethod;
  threshold: number;
}): { rule: FeatureRule; score: Float64Array } {
  const score = new Float64Array(values.length);
  if (method === 'iqr') {
    const sorted = values.slice().sort((a, b) => a - b);
    const q1 = quantileSorted(sorted, 0.25);
    const q3 = quantileSorted(sorted, 0.75);
    const iqr = q3 - q1;
    const lower = q1 - threshold * iqr;
    const upper = q3 + threshold * iqr;
    // Score in the same unit as k: how many IQRs beyond the quartile, so score > k ⇔ outside the fence.
    values.forEach((value, index) => {
      const beyond = value < q1 ? q1 - value : value > q3 ? value - q3 : 0;
      score[index] = iqr === 0 ? 0 : beyond / iqr;
    });
    return { rule: { feature, center: medianSorted(sorted), spread: iqr, lower, upper }, score };
  }
  if (method === 'modified_zscore') {
    const sorted = values.slice().sort((a, b) => a - b);
    const median = medianSorted(sorted);
    const mad = medianAbsoluteDeviation(values);
    values.forEach((value, index) => {
      score[index] = mad === 0 ? 0 : (0.6745 * Math.abs(value - median)) / mad;
    });
    const halfWidth = mad === 0 ? 0 : (threshold * mad) / 0.6745;
    return { rule: { feature, center: median, spread: mad, lower: median - halfWidth, upper: median + halfWidth }, score };
  }
  const center = mean(values);
  const std = sampleStandardDeviation(values);
  values.forEach((value, index) => {
    score[index] = std === 0 ? 0 : Math.abs(value - center) / std;
  });
  return { rule: { feature, center, spread: std, lower: center - threshold * std, upper: center + threshold * std }, score };
}
