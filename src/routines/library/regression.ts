// Linear regression (ordinary least squares, ml-regression-multivariate-linear): `fit` is the
// constructor — the fitted model is small (one coefficient per feature), so it becomes the
// instance's config like any constructor's outputs, and every `predict` on the instance uses it.
// Fit metrics (R², adjusted R², RMSE, MAE) and the coefficient table with standard errors and t
// statistics are the fit run's outputs and artifacts.
import { Matrix, SVD } from 'ml-matrix';
import MultivariateLinearRegression from 'ml-regression-multivariate-linear';
import { z } from 'zod';
import { checkpoint, defineMethod, defineRoutine, NonRetryableRoutineError, type MethodContext } from '../sdk.ts';

const modelSchema = z.object({
  featureNames: z.array(z.string()).min(1),
  coefficients: z.array(z.number()),
  intercept: z.number(),
  targetName: z.string(),
});
type LinearModel = z.output<typeof modelSchema>;

const FEATURE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

const features = z
  .array(z.array(z.number()).min(1))
  .min(1)
  .describe('The feature matrix: one array of numeric features per observation, all of the same length.');

const fit = defineMethod({
  kind: 'CONSTRUCTOR',
  description:
    'Fits y = intercept + Σ coefficient·x by ordinary least squares, stores the model on the instance and reports R², RMSE and the coefficients.',
  allowsInMemory: true,
  defaultMemoryMb: 256,
  retry: { maxAttempts: 2 },
  input: z
    .object({
      features,
      target: z.array(z.number()).min(2).describe('The observed target value of each observation, in the same order.'),
      featureNames: z
        .array(z.string().regex(FEATURE_NAME))
        .optional()
        .describe('Names of the features (default x0, x1, …), used in the coefficient table and predictions.'),
      targetName: z.string().regex(FEATURE_NAME).default('y').describe('Name of the target column.'),
      intercept: z.boolean().default(true).describe('Fit an intercept (false forces the line through the origin).'),
    })
    .strict(),
  run: async (context, input) => {
    context.progress(10, 'Checking the data...');
    const dimensions = checkMatrix({ rows: input.features });
    if (input.target.length !== input.features.length) {
      throw new NonRetryableRoutineError(
        `features has ${input.features.length} rows but target has ${input.target.length} values`,
        'DimensionMismatchError',
      );
    }
    const featureNames = input.featureNames ?? Array.from({ length: dimensions }, (_, index) => `x${index}`);
    if (featureNames.length !== dimensions || new Set(featureNames).size !== dimensions) {
      throw new NonRetryableRoutineError(`featureNames must name each of the ${dimensions} features once`, 'DimensionMismatchError');
    }
    const parameters = dimensions + (input.intercept ? 1 : 0);
    if (input.features.length <= parameters) {
      throw new NonRetryableRoutineError(
        `${input.features.length} observations cannot determine ${parameters} parameters with a residual: give at least ${parameters + 1}`,
        'NotEnoughPointsError',
      );
    }
    await checkpoint({ context });

    // Collinear features have no unique fit (the solver would quietly return one of infinitely
    // many): refuse them, naming the problem, instead of reporting meaningless coefficients.
    const design = new Matrix(input.features.map((row) => (input.intercept ? [...row, 1] : row)));
    if (new SVD(design, { computeLeftSingularVectors: false, computeRightSingularVectors: false }).rank < parameters) {
      throw new NonRetryableRoutineError(
        'The features are linearly dependent (collinear, or a constant feature with an intercept): no unique least-squares fit exists',
        'SingularMatrixError',
      );
    }
    await checkpoint({ context });

    context.progress(40, 'Fitting the least-squares model...');
    const model = new MultivariateLinearRegression(
      input.features,
      input.target.map((value) => [value]),
      { intercept: input.intercept, statistics: true },
    );
    const coefficients = model.weights.slice(0, dimensions).map((row) => row[0]);
    const intercept = input.intercept ? model.weights[dimensions][0] : 0;
    const linear: LinearModel = { featureNames, coefficients, intercept, targetName: input.targetName };
    await checkpoint({ context });

    context.progress(70, 'Computing metrics...');
    const predicted = input.features.map((row) => predictOne({ model: linear, row }));
    const metrics = regressionMetrics({ actual: input.target, predicted, parameters: dimensions, intercept: input.intercept });
    context.log('info', `R² = ${metrics.r2.toFixed(4)}, RMSE = ${metrics.rmse.toPrecision(4)} on ${metrics.n} observations`);

    context.progress(90, 'Saving artifacts...');
    const terms = [...featureNames, ...(input.intercept ? ['(intercept)'] : [])];
    const estimates = [...coefficients, ...(input.intercept ? [intercept] : [])];
    await context.writeTable('coefficients', {
      columns: ['term', 'estimate', 'std_error', 't_stat'],
      rows: terms.map((term, index) => [term, estimates[index], finite(model.stdErrors?.[index]), finite(model.tStats?.[index])]),
    });
    await context.writeTable('fitted', {
      columns: [...featureNames, input.targetName, 'predicted', 'residual'],
      rows: input.features.map((row, index) => [...row, input.target[index], predicted[index], input.target[index] - predicted[index]]),
    });
    await context.writeJson('model', { ...linear, metrics });
    context.progress(100, 'Complete!');
    // The constructor's outputs are the instance config: the model, and how well it fitted.
    return { model: linear, metrics };
  },
});

const predict = defineMethod({
  kind: 'STANDARD',
  description: "Predicts the target for new observations with the instance's fitted model; with `target`, also scores the predictions.",
  allowsInMemory: true,
  defaultMemoryMb: 256,
  retry: { maxAttempts: 2 },
  input: z
    .object({
      features,
      target: z.array(z.number()).optional().describe('Observed values, to report R² and RMSE of the predictions.'),
    })
    .strict(),
  run: async (context, input) => {
    context.progress(10, 'Loading the model...');
    const model = readModel({ context });
    const dimensions = checkMatrix({ rows: input.features });
    if (dimensions !== model.featureNames.length) {
      throw new NonRetryableRoutineError(
        `The model was fitted on ${model.featureNames.length} features (${model.featureNames.join(', ')}) but the rows have ${dimensions}`,
        'DimensionMismatchError',
      );
    }
    if (input.target && input.target.length !== input.features.length) {
      throw new NonRetryableRoutineError(
        `features has ${input.features.length} rows but target has ${input.target.length} values`,
        'DimensionMismatchError',
      );
    }
    context.progress(50, 'Predicting...');
    const predicted = input.features.map((row) => predictOne({ model, row }));
    const metrics = input.target ? regressionMetrics({ actual: input.target, predicted, parameters: dimensions, intercept: true }) : null;
    context.progress(90, 'Saving artifacts...');
    await context.writeTable('predictions', {
      columns: [...model.featureNames, `predicted_${model.targetName}`, ...(input.target ? [model.targetName, 'residual'] : [])],
      rows: input.features.map((row, index) => [
        ...row,
        predicted[index],
        ...(input.target ? [input.target[index], input.target[index] - predicted[index]] : []),
      ]),
    });
    context.progress(100, 'Complete!');
    return { predictions: input.features.length, metrics, ...(input.features.length <= 100 ? { predicted } : {}) };
  },
});

export default defineRoutine({
  name: 'regression',
  version: '1.0.0',
  description: 'Linear regression: fit a model once per instance (R², RMSE, coefficients), then predict new data with it.',
  stateful: true,
  methods: { fit, predict },
});

export function predictOne({ model, row }: { model: LinearModel; row: number[] }): number {
  let value = model.intercept;
  for (let index = 0; index < row.length; index++) value += model.coefficients[index] * row[index];
  return value;
}

/**
 * R² = 1 − SS_res / SS_tot (1 when the target is constant and fitted exactly), adjusted R² for
 * the number of features, RMSE and MAE, as scikit-learn's r2_score / mean_squared_error.
 */
export function regressionMetrics({
  actual,
  predicted,
  parameters,
  intercept,
}: {
  actual: number[];
  predicted: number[];
  parameters: number;
  intercept: boolean;
}): { n: number; r2: number; adjustedR2: number | null; rmse: number; mae: number } {
  const n = actual.length;
  const mean = actual.reduce((sum, value) => sum + value, 0) / n;
  let residualSquares = 0;
  let totalSquares = 0;
  let absolute = 0;
  for (let i = 0; i < n; i++) {
    const residual = actual[i] - predicted[i];
    residualSquares += residual * residual;
    absolute += Math.abs(residual);
    totalSquares += (actual[i] - mean) ** 2;
  }
  const r2 = totalSquares === 0 ? (residualSquares === 0 ? 1 : 0) : 1 - residualSquares / totalSquares;
  const degrees = n - parameters - (intercept ? 1 : 0);
  return {
    n,
    r2,
    adjustedR2: degrees > 0 ? 1 - ((1 - r2) * (n - 1)) / degrees : null,
    rmse: Math.sqrt(residualSquares / n),
    mae: absolute / n,
  };
}

function checkMatrix({ rows }: { rows: number[][] }): number {
  const dimensions = rows[0].length;
  const bad = rows.findIndex((row) => row.length !== dimensions);
  if (bad !== -1) {
    throw new NonRetryableRoutineError(
      `Row ${bad} has ${rows[bad].length} features but row 0 has ${dimensions}; all rows need the same number`,
      'DimensionMismatchError',
    );
  }
  return dimensions;
}

function readModel({ context }: { context: MethodContext }): LinearModel {
  const parsed = modelSchema.safeParse((context.instanceConfig as { model?: unknown } | null)?.model);
  if (!parsed.success) {
    throw new NonRetryableRoutineError('This regression instance has no model: run its `fit` method first', 'InstanceNotConfiguredError');
  }
  return parsed.data;
}

function finite(value: number | undefined): number | null {
  return value !== undefined && Number.isFinite(value) ? value : null;
}
