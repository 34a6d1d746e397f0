// Validates a run's inputs against its method's signature, naming each bad parameter and saying
// what was expected and what came (zod's own messages name neither the parameter's real type —
// "expected number" for an integer — nor the value).
import type { z } from 'zod';
import { ValidationError, type FieldError } from '../errors.ts';
import type { MethodDefinition } from '../routines/sdk.ts';
import { MAX_PREVIEW_ROWS } from '../storage/artifact-store.ts';

export function parseMethodInputs(method: MethodDefinition, inputs: unknown): Record<string, unknown> {
  const value = inputs ?? {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw ValidationError.field(['inputs'], 'Inputs must be a JSON object of parameter values');
  }
  const checked = checkValue(method.input, value, ['inputs']);
  if (!checked.ok) throw new ValidationError(checked.errors);
  return checked.data as Record<string, unknown>;
}

/** The problems of one parameter's value (a draft's step), with paths ["inputs", name, …]. */
export function parameterErrors({ method, name, value }: { method: MethodDefinition; name: string; value: unknown }): FieldError[] {
  const shape = method.input.shape as Record<string, z.ZodType>;
  if (!Object.hasOwn(shape, name)) return [{ path: ['inputs', name], message: 'Unknown parameter' }];
  const checked = checkValue(shape[name], value, ['inputs', name]);
  return checked.ok ? [] : checked.errors;
}

function checkValue(schema: z.ZodType, value: unknown, path: string[]): { ok: true; data: unknown } | { ok: false; errors: FieldError[] } {
  // reportInput: each issue carries the value it is about (undefined for a missing key: JSON has no undefined).
  const parsed = schema.safeParse(value, { reportInput: true });
  if (parsed.success) return { ok: true, data: parsed.data };
  return { ok: false, errors: parsed.error.issues.flatMap((issue) => issueErrors(issue, schema, path)) };
}

type Issue = z.core.$ZodIssue & { input?: unknown };
type Schema = z.core.$ZodType;

function issueErrors(issue: Issue, root: Schema, base: string[]): FieldError[] {
  const path = [...base, ...issue.path.map(String)];
  const parameter = path.length === 2 && path[0] === 'inputs';
  const at = () => schemaAt(root, issue.path);
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) => ({ path: [...path, key], message: path.length === 1 ? 'Unknown parameter' : 'Unknown field' }));
    case 'invalid_type': {
      if (issue.input === undefined) {
        const expected = describeSchema(at());
        return [{ path, message: parameter ? 'Required parameter is missing' : `Required field is missing: expected ${expected}` }];
      }
      return [{ path, message: `expected ${describeSchema(at())}, got ${describeType(issue.input)}` }];
    }
    case 'invalid_value':
      return [{ path, message: `expected ${describeSchema(at())}, got ${describeValue(issue.input)}` }];
    case 'invalid_union': {
      // The branch whose type the value has explains the problem better than "no branch fits".
      const options = unionOptions(at());
      const fitting = issue.errors
        .map((branch, index) => ({ branch, option: options[index] }))
        .filter(({ branch }) => !branch.some((inner) => inner.code === 'invalid_type' && inner.path.length === 0));
      if (fitting.length === 1 && fitting[0].option) {
        return fitting[0].branch.flatMap((inner) => issueErrors(inner as Issue, fitting[0].option!, path));
      }
      return [{ path, message: `expected ${describeSchema(at())}, got ${describeType(issue.input)}` }];
    }
    case 'too_small':
    case 'too_big': {
      const bound = issue.code === 'too_small' ? issue.minimum : issue.maximum;
      const word = issue.code === 'too_small' ? (issue.inclusive ? 'at least' : 'more than') : issue.inclusive ? 'at most' : 'less than';
      const unit = issue.origin === 'array' || issue.origin === 'set' ? ' items' : issue.origin === 'string' ? ' characters' : '';
      const got = Array.isArray(issue.input)
        ? `${issue.input.length} items`
        : typeof issue.input === 'string'
          ? `${issue.input.length} characters`
          : describeValue(issue.input);
      return [{ path, message: `expected ${word} ${String(bound)}${unit}, got ${got}` }];
    }
    case 'invalid_format':
      return [{ path, message: `${issue.message}, got ${describeValue(issue.input)}` }];
    default:
      return [{ path, message: issue.message }];
  }
}

/** The schema a value at `path` (relative to `schema`) is checked against; null when it cannot be told. */
function schemaAt(schema: Schema, path: readonly PropertyKey[]): Schema | null {
  let current: Schema | null = unwrap(schema);
  for (const key of path) {
    if (!current) return null;
    const def = current._zod.def as { type: string; shape?: Record<string, Schema>; element?: Schema };
    if (def.type === 'object' && typeof key === 'string' && def.shape && Object.hasOwn(def.shape, key)) current = unwrap(def.shape[key]);
    else if (def.type === 'array' && typeof key === 'number' && def.element) current = unwrap(def.element);
    else return null;
  }
  return current;
}

/** Strips optional, nullable, default and the like: what a present value must be. */
function unwrap(schema: Schema): Schema {
  let current = schema;
  for (;;) {
    const def = current._zod.def as { type: string; innerType?: Schema; in?: Schema };
    if (def.innerType && ['optional', 'nullable', 'default', 'prefault', 'readonly', 'catch', 'nonoptional'].includes(def.type))
      current = def.innerType;
    else if (def.type === 'pipe' && def.in) current = def.in;
    else return current;
  }
}

function unionOptions(schema: Schema | null): Schema[] {
  const def = schema?._zod.def as { type: string; options?: Schema[] } | undefined;
  return def?.type === 'union' && def.options ? def.options.map(unwrap) : [];
}

/** What a schema accepts, in words: "an integer", "one of "a", "b"", "an array or an object {path, columns}". */
function describeSchema(schema: Schema | null): string {
  if (!schema) return 'another value';
  const def = schema._zod.def as { type: string; shape?: Record<string, Schema>; entries?: Record<string, unknown>; values?: unknown[] };
  switch (def.type) {
    case 'number': {
      const format = (schema as unknown as { format?: string | null }).format;
      return format && /int/.test(format) ? 'an integer' : 'a number';
    }
    case 'int':
      return 'an integer';
    case 'string':
      return 'a string';
    case 'boolean':
      return 'true or false';
    case 'null':
      return 'null';
    case 'array':
      return 'an array';
    case 'object':
      return `an object {${Object.keys(def.shape ?? {}).join(', ')}}`;
    case 'record':
      return 'an object';
    case 'enum':
      return `one of ${Object.values(def.entries ?? {})
        .map((option) => JSON.stringify(option))
        .join(', ')}`;
    case 'literal':
      return `one of ${(def.values ?? []).map((option) => JSON.stringify(option)).join(', ')}`;
    case 'union':
      return unionOptions(schema).map(describeSchema).join(' or ');
    default:
      return 'another value';
  }
}

/** The kind of a value that has the wrong type: a number is given as itself, the rest by kind. */
function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'string':
      return 'a string';
    case 'number':
    case 'boolean':
      return String(value);
    case 'object':
      return 'an object';
    default:
      return typeof value;
  }
}

/** A value of the right type but refused: shown as itself (shortened), since that is what matters. */
function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  return describeType(value);
}

/** The run option `previewRows`: a whole number of rows the storage module can keep in a preview. */
export function previewRowsErrors(previewRows: number | null | undefined): FieldError[] {
  if (previewRows == null) return [];
  if (!Number.isInteger(previewRows) || previewRows < 1 || previewRows > MAX_PREVIEW_ROWS) {
    return [{ path: ['previewRows'], message: `Must be a whole number from 1 to ${MAX_PREVIEW_ROWS} (got ${previewRows})` }];
  }
  return [];
}
