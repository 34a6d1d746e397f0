// The regression and anomaly-detection routines on data whose answers are known by hand, run the
// way production runs them: in a sandboxed child process writing real artifacts.
import { promises as fs } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ArtifactStore, type StoredArtifact } from '../src/storage/artifact-store.ts';
import { outputs, routineSandbox } from './helpers/routine-sandbox.ts';

const { storageRoot, execute } = routineSandbox({ prefix: 'routines-analysis-' });

async function csvRows(artifact: StoredArtifact): Promise<string[][]> {
  const text = await fs.readFile(await new ArtifactStore({ rootDir: storageRoot() }).dataFilePath(artifact.path), 'utf8');
  return text
    .trim()
    .split('\n')
    .map((line) => line.split(','));
}

describe('regression', () => {
  it('fit recovers an exact linear relation: coefficients, intercept, R² = 1, RMSE = 0', async () => {
    // y = 5 + 2·a − 3·b on a 4 × 4 grid.
    const features = Array.from({ length: 16 }, (_, i) => [i % 4, Math.floor(i / 4)]);
    const target = features.map(([a, b]) => 5 + 2 * a - 3 * b);
    const { result, artifacts } = await execute({
      routineName: 'regression',
      methodName: 'fit',
      inputs: { features, target, featureNames: ['a', 'b'] },
    });
    const fitted = outputs(result) as {
      model: { coefficients: number[]; intercept: number; featureNames: string[] };
      metrics: Record<string, number>;
    };
    expect(fitted.model.featureNames).toEqual(['a', 'b']);
    expect(fitted.model.coefficients[0]).toBeCloseTo(2, 10);
    expect(fitted.model.coefficients[1]).toBeCloseTo(-3, 10);
    expect(fitted.model.intercept).toBeCloseTo(5, 10);
    expect(fitted.metrics.r2).toBeCloseTo(1, 12);
    expect(fitted.metrics.rmse).toBeLessThan(1e-9);
    expect(artifacts.map((a) => a.name)).toEqual(['coefficients', 'fitted', 'model']);
  });

  it('fit matches the textbook example: slope 0.6, intercept 2.2, R² 0.6, RMSE √0.48, standard errors', async () => {
    const { result, artifacts } = await execute({
      routineName: 'regression',
      methodName: 'fit',
      inputs: { features: [[1], [2], [3], [4], [5]], target: [2, 4, 5, 4, 5] },
    });
    const fitted = outputs(result) as { model: { coefficients: number[]; intercept: number }; metrics: Record<string, number> };
    expect(fitted.model.coefficients[0]).toBeCloseTo(0.6, 12);
    expect(fitted.model.intercept).toBeCloseTo(2.2, 12);
    // Residuals −0.8, 0.6, 1, −0.6, −0.2: SS_res 2.4, SS_tot 6.
    expect(fitted.metrics.r2).toBeCloseTo(0.6, 12);
    expect(fitted.metrics.adjustedR2).toBeCloseTo(1 - (0.4 * 4) / 3, 12);
    expect(fitted.metrics.rmse).toBeCloseTo(Math.sqrt(0.48), 12);
    expect(fitted.metrics.mae).toBeCloseTo(0.64, 12);
    // se(slope) = √(2.4/3) / √10; t = 0.6 / se.
    const coefficients = await csvRows(artifacts[0]);
    expect(coefficients[0]).toEqual(['term', 'estimate', 'std_error', 't_stat']);
    const [term, estimate, stdError, tStat] = coefficients[1];
    expect(term).toBe('x0');
    expect(Number(estimate)).toBeCloseTo(0.6, 10);
    expect(Number(stdError)).toBeCloseTo(Math.sqrt(2.4 / 3) / Math.sqrt(10), 10);
    expect(Number(tStat)).toBeCloseTo(0.6 / (Math.sqrt(2.4 / 3) / Math.sqrt(10)), 8);
    expect(coefficients[2][0]).toBe('(intercept)');
    // The fitted table carries predictions and residuals, with statistics per column.
    const statistics = artifacts[1].statistics as { columns: Array<{ name: string; mean: number }> };
    expect(statistics.columns.map((c) => c.name)).toEqual(['x0', 'y', 'predicted', 'residual']);
    expect(statistics.columns[3].mean).toBeCloseTo(0, 12);
  });

  it('predict uses the model stored on the instance by fit, and scores predictions against a target', async () => {
    const fit = await execute({
      routineName: 'regression',
      methodName: 'fit',
      inputs: { features: [[1], [2], [3], [4], [5]], target: [2, 4, 5, 4, 5] },
    });
    const instanceConfig = outputs(fit.result);
    const { result, artifacts } = await execute({
      routineName: 'regression',
      methodName: 'predict',
      inputs: { features: [[6], [7]], target: [6, 6] },
      instanceConfig,
    });
    const predicted = outputs(result) as { predicted: number[]; metrics: { rmse: number } };
    expect(predicted.predicted[0]).toBeCloseTo(5.8, 10);
    expect(predicted.predicted[1]).toBeCloseTo(6.4, 10);
    expect(predicted.metrics.rmse).toBeCloseTo(Math.sqrt((0.04 + 0.16) / 2), 10);
    expect((await csvRows(artifacts[0]))[0]).toEqual(['x0', 'predicted_y', 'y', 'residual']);
  });

  it('refuses, without retrying, a missing model, mismatched shapes, too few observations and collinear features', async () => {
    const model = { model: { featureNames: ['a'], coefficients: [1], intercept: 0, targetName: 'y' } };
    const cases = [
      { methodName: 'predict', inputs: { features: [[1]] }, instanceConfig: null, type: 'InstanceNotConfiguredError' },
      { methodName: 'predict', inputs: { features: [[1, 2]] }, instanceConfig: model, type: 'DimensionMismatchError' },
      { methodName: 'fit', inputs: { features: [[1], [2], [3]], target: [1, 2] }, instanceConfig: null, type: 'DimensionMismatchError' },
      {
        methodName: 'fit',
        inputs: {
          features: [
            [1, 2],
            [2, 1],
          ],
          target: [1, 2],
        },
        instanceConfig: null,
        type: 'NotEnoughPointsError',
      },
      { methodName: 'fit', inputs: { features: [[1]], target: [1] }, instanceConfig: null, type: 'ValidationError' },
      {
        methodName: 'fit',
        inputs: {
          features: [
            [1, 2],
            [2, 4],
            [3, 6],
            [4, 8],
          ],
          target: [1, 2, 3, 4],
        },
        instanceConfig: null,
        type: 'SingularMatrixError',
      },
    ];
    for (const { methodName, inputs, instanceConfig, type } of cases) {
      const { result } = await execute({ routineName: 'regression', methodName, inputs, instanceConfig });
      expect(result, `${methodName} ${JSON.stringify(inputs)}`).toMatchObject({ status: 'FAILED', error: { type, retryable: false } });
    }
  });
});

describe('anomaly_detection', () => {
  it('zscore flags the one value more than 3 sample standard deviations from the mean', async () => {
    const column = [10, 11, 9, 10, 12, 8, 10, 11, 9, 10, 10, 11, 9, 10, 10, 50];
    const rows = column.map((value, index) => [value, index % 2]);
    const { result, artifacts } = await execute({
      routineName: 'anomaly_detection',
      methodName: 'detect',
      inputs: { rows, featureNames: ['amount', 'flag'] },
    });
    const detected = outputs(result) as {
      anomalyCount: number;
      anomalyRows: number[];
      threshold: number;
      rules: Array<{ center: number; spread: number }>;
    };
    expect(detected).toMatchObject({ anomalyCount: 1, anomalyRows: [15], threshold: 3 });
    const mean = column.reduce((a, b) => a + b, 0) / column.length;
    const std = Math.sqrt(column.reduce((sum, v) => sum + (v - mean) ** 2, 0) / (column.length - 1));
    expect(detected.rules[0].center).toBeCloseTo(mean, 12);
    expect(detected.rules[0].spread).toBeCloseTo(std, 12);

    const [scored, anomalies, report] = artifacts;
    expect(scored.name).toBe('scored_data');
    const scoredRows = await csvRows(scored);
    expect(scoredRows[0]).toEqual(['amount', 'flag', 'score', 'label']);
    expect(Number(scoredRows[16][2])).toBeCloseTo((50 - mean) / std, 10);
    expect(scoredRows[16][3]).toBe('anomaly');
    // The label column is summarised as a category: distinct values and their counts.
    const labelStatistics = (scored.statistics as { columns: Array<Record<string, unknown>> }).columns[3];
    expect(labelStatistics).toMatchObject({
      name: 'label',
      type: 'categorical',
      count: 16,
      nulls: 0,
      distinct: 2,
      top: [
        { value: 'normal', count: 15 },
        { value: 'anomaly', count: 1 },
      ],
    });
    expect(anomalies.metadata).toMatchObject({ rows: 1, columns: ['row', 'feature', 'value', 'score'] });
    expect(report.contentType).toBe('application/json');
  });

  it('modified_zscore uses the median and MAD, robust to the outlier itself', async () => {
    // median 3, MAD = median(2, 1, 0, 1, 97) = 1: scores 0.6745 × |x − 3|.
    const { result, artifacts } = await execute({
      routineName: 'anomaly_detection',
      methodName: 'detect',
      inputs: { rows: [[1], [2], [3], [4], [100]], method: 'modified_zscore' },
    });
    expect(outputs(result)).toMatchObject({ anomalyCount: 1, anomalyRows: [4], threshold: 3.5, rules: [{ center: 3, spread: 1 }] });
    const scores = (await csvRows(artifacts[0])).slice(1).map((row) => Number(row[1]));
    [2, 1, 0, 1, 97].forEach((distance, index) => expect(scores[index]).toBeCloseTo(0.6745 * distance, 10));
  });

  it("iqr flags values outside Tukey's fences, with a configurable k", async () => {
    // 1..9 and 100: Q1 3.25, Q3 7.75 (linear interpolation), IQR 4.5, fences −3.5 and 14.5.
    const rows = [1, 2, 3, 4, 5, 6, 7, 8, 9, 100].map((value) => [value]);
    const { result } = await execute({ routineName: 'anomaly_detection', methodName: 'detect', inputs: { rows, method: 'iqr' } });
    const detected = outputs(result) as { anomalyRows: number[]; rules: Array<Record<string, number>> };
    expect(detected.anomalyRows).toEqual([9]);
    expect(detected.rules[0]).toMatchObject({ spread: 4.5, lower: -3.5, upper: 14.5 });
    // With k = 25 the fence is 7.75 + 112.5: nothing is an anomaly.
    const lenient = await execute({
      routineName: 'anomaly_detection',
      methodName: 'detect',
      inputs: { rows, method: 'iqr', threshold: 25 },
    });
    expect(outputs(lenient.result)).toMatchObject({ anomalyCount: 0, anomalyRows: [] });
  });

  it('refuses rows of different widths and unknown methods', async () => {
    const mismatched = await execute({ routineName: 'anomaly_detection', methodName: 'detect', inputs: { rows: [[1, 2], [3], [4, 5]] } });
    expect(mismatched.result).toMatchObject({ status: 'FAILED', error: { type: 'DimensionMismatchError', retryable: false } });
    const unknown = await execute({
      routineName: 'anomaly_detection',
      methodName: 'detect',
      inputs: { rows: [[1], [2], [3]], method: 'magic' },
    });
    expect(unknown.result).toMatchObject({ status: 'FAILED', error: { type: 'ValidationError' } });
  });
});
