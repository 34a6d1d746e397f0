// Guided (WORKFLOW) invocation: a run built step by step as a CREATED draft. Its `inputs` hold the
// parameters set so far, each validated on its own when it was set; the whole signature (required
// parameters, defaults, cross-parameter rules) is checked when the draft starts.
import { ValidationError, type FieldError } from '../errors.ts';
import type { MethodDefinition, MethodParameter } from '../routines/sdk.ts';
import { parameterErrors } from './method-inputs.ts';

export interface RunDraftStatus {
  /** Every required parameter is set: startRun will accept the draft (if the values agree with each other). */
  complete: boolean;
  /** Required parameters not set yet, in signature order. */
  missing: string[];
  /** Parameters set so far. */
  set: string[];
  /** What to ask for next: the first missing required parameter, or null when none is missing. */
  next: MethodParameter | null;
}

export function draftStatus({ parameters, inputs }: { parameters: MethodParameter[]; inputs: unknown }): RunDraftStatus {
  const values = isObject(inputs) ? inputs : {};
  const isSet = (name: string) => Object.hasOwn(values, name) && values[name] !== undefined;
  const missing = parameters.filter((parameter) => parameter.required && !isSet(parameter.name));
  return {
    complete: missing.length === 0,
    missing: missing.map((parameter) => parameter.name),
    set: parameters.filter((parameter) => isSet(parameter.name)).map((parameter) => parameter.name),
    next: missing[0] ?? null,
  };
}

/**
 * Validates only the parameters present, each against its own schema, and returns them as given
 * (not parsed: defaults and transforms are applied once, when the draft starts). Unknown
 * parameters are refused like in a full validation.
 */
export function parseDraftInputs(method: MethodDefinition, inputs: unknown): Record<string, unknown> {
  const value = inputs ?? {};
  if (!isObject(value)) throw ValidationError.field(['inputs'], 'Inputs must be a JSON object of parameter values');
  const errors: FieldError[] = [];
  for (const [name, parameterValue] of Object.entries(value)) errors.push(...parameterErrors({ method, name, value: parameterValue }));
  if (errors.length > 0) throw new ValidationError(errors);
  return { ...value };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
