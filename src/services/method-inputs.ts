// Validates a run's inputs against its method's signature, naming each bad parameter.
import type { z } from 'zod';
import { ValidationError, type FieldError } from '../errors.ts';
import type { MethodDefinition } from '../routines/sdk.ts';
import { MAX_PREVIEW_ROWS } from '../storage/artifact-store.ts';

export function parseMethodInputs(method: MethodDefinition, inputs: unknown): Record<string, unknown> {
  const value = inputs ?? {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw ValidationError.field(['inputs'], 'Inputs must be a JSON object of parameter values');
  }
  const parsed = method.input.safeParse(value);
  if (parsed.success) return parsed.data as Record<string, unknown>;
  throw new ValidationError(inputIssues(parsed.error.issues));
}

export function inputIssues(issues: readonly z.core.$ZodIssue[]): FieldError[] {
  return issues.flatMap((issue): FieldError[] => {
    const path = ['inputs', ...issue.path.map(String)];
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ path: [...path, key], message: 'Unknown parameter' }));
    }
    if (issue.code === 'invalid_type' && issue.input === undefined) {
      return [{ path, message: 'Required parameter is missing' }];
    }
    return [{ path, message: issue.message }];
  });
}

/** The run option `previewRows`: a whole number of rows the storage module can keep in a preview. */
export function previewRowsErrors(previewRows: number | null | undefined): FieldError[] {
  if (previewRows == null) return [];
  if (!Number.isInteger(previewRows) || previewRows < 1 || previewRows > MAX_PREVIEW_ROWS) {
    return [{ path: ['previewRows'], message: `Must be a whole number from 1 to ${MAX_PREVIEW_ROWS} (got ${previewRows})` }];
  }
  return [];
}
