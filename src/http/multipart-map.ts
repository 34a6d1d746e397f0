// The `map` of a GraphQL multipart request (uploads) places each file at a path in the variables,
// e.g. `variables.input.file`. Two checks, both naming the map entry (`extensions.mapEntry`):
// - useMultipartParser parses the body in yoga's place: yoga's parser assumes the map is an object
//   of arrays of strings (anything else was a 500), and silently skips __proto__ paths and file
//   parts that are not there (the variable then stays null, and the client is told so, not why).
// - useMultipartMapCheck refuses, before execution, a file placed anywhere but at a File argument
//   (variable coercion would print the parser's internal file object) and a File argument no
//   entry gives a file.
import {
  GraphQLError,
  type GraphQLNamedType,
  getOperationAST,
  isInputObjectType,
  isListType,
  isNonNullType,
  isScalarType,
  typeFromAST,
  type GraphQLInputType,
} from 'graphql';
import { createGraphQLError, type GraphQLParams, type Plugin } from 'graphql-yoga';
import { BAD_USER_INPUT, excerpt } from '../argument-errors.ts';

/** The scalar a file may be placed at (schema/dataset.ts). */
export const FILE_SCALAR = 'File';

/**
 * A file from a multipart upload. yoga's parser hands over its own File implementation
 * (@whatwg-node), not Node's global File: anything shaped like a File is one.
 */
export function isUploadedFile(value: unknown): value is File {
  const file = value as Partial<File> | null;
  return !!file && typeof file === 'object' && typeof file.arrayBuffer === 'function' && typeof file.name === 'string';
}

// ---- Parsing the form ----

/** Path segments that would reach an object's prototype instead of a variable. */
const FORBIDDEN_SEGMENTS = new Set(['__proto__', 'constructor', 'prototype']);

function refused(message: string, mapEntry?: string): GraphQLError {
  // A path may be thousands of segments long: quote its start and end only.
  return createGraphQLError(excerpt(message, 600), {
    extensions: { code: BAD_USER_INPUT, ...(mapEntry === undefined ? {} : { mapEntry: excerpt(mapEntry, 300) }), http: { status: 400 } },
  });
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return !!value && typeof value === 'object' && !Array.isArray(value);
}

function jsonField(form: FormData, name: string): unknown {
  const text = form.get(name);
  if (typeof text !== 'string') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw refused(`Multipart form field "${name}" is not JSON`);
  }
}

/** The map's entries, checked: each file part exists and each path is a `variables.…` path. */
export function mapEntries(map: unknown, form: FormData): Array<{ file: File; path: string[]; entry: string }> {
  const shape = 'a JSON object of file part names to arrays of "variables.…" paths';
  if (!isPlainObject(map)) throw refused(`Multipart form field "map" must be ${shape}`);
  const entries: Array<{ file: File; path: string[]; entry: string }> = [];
  for (const [part, paths] of Object.entries(map)) {
    if (!Array.isArray(paths)) throw refused(`Multipart map entry "${part}" must be an array of "variables.…" paths (${shape})`, part);
    const file = form.get(part);
    if (!isUploadedFile(file)) throw refused(`Multipart map entry "${part}" names no file part "${part}" of the form`, part);
    for (const entry of paths) {
      if (typeof entry !== 'string') throw refused(`Multipart map entry "${part}" must hold only "variables.…" path strings`, part);
      const path = entry.split('.');
      if (path[0] !== 'variables' || path.length < 2 || path.some((segment) => segment === '')) {
        throw refused(`Multipart map entry "${entry}" must be a "variables.…" path`, entry);
      }
      const forbidden = path.find((segment) => FORBIDDEN_SEGMENTS.has(segment));
      if (forbidden) throw refused(`Multipart map entry "${entry}" may not contain "${forbidden}"`, entry);
      entries.push({ file, path, entry });
    }
  }
  return entries;
}

/** Puts the file at its path, creating the objects on the way (the client sent null there). */
function place(operations: Record<string, unknown>, path: string[], file: File): void {
  let current: Record<string, unknown> = operations;
  for (const segment of path.slice(0, -1)) {
    const next = Object.hasOwn(current, segment) ? current[segment] : undefined;
    if (!next || typeof next !== 'object') current[segment] = {};
    current = current[segment] as Record<string, unknown>;
  }
  current[path[path.length - 1]] = file;
}

/** A GraphQL multipart request's operations with its files in place, or a 400 naming what is wrong. */
export async function parseMultipartRequest(request: Request): Promise<GraphQLParams> {
  let form: FormData;
  try {
    form = await request.formData();
  } catch (error) {
    if (error instanceof Error && error.name === 'AbortError') throw error;
    throw refused(`The multipart body could not be read: ${error instanceof Error ? error.message : String(error)}`);
  }
  const operations = jsonField(form, 'operations');
  if (!isPlainObject(operations)) throw refused('Multipart form field "operations" must be a JSON object (one operation)');
  if (form.has('map')) {
    for (const { file, path } of mapEntries(jsonField(form, 'map'), form)) place(operations, path, file);
  }
  return operations as GraphQLParams;
}

function isMultipartRequest(request: Request): boolean {
  return request.method === 'POST' && !!request.headers.get('content-type')?.toLowerCase().startsWith('multipart/form-data');
}

/** Parses multipart requests in yoga's place (yoga's body size limit still wraps it). */
export function useMultipartParser(): Plugin {
  return {
    onRequestParse({ request, setRequestParser }) {
      if (isMultipartRequest(request)) setRequestParser(parseMultipartRequest);
    },
  };
}

// ---- Checking where the files went ----

export interface FileProblem {
  /** The `variables.…` path: the map entry that is wrong, or the one that is missing. */
  entry: string;
  message: string;
}

function isFileScalar(type: GraphQLNamedType | GraphQLInputType | undefined): boolean {
  return !!type && isScalarType(type) && type.name === FILE_SCALAR;
}

/**
 * Files placed anywhere but at a File argument, and File arguments of the operation that hold
 * something else than a file (a null the map never replaced) where a file is required.
 */
export function fileProblems(operationTypes: Map<string, GraphQLInputType | undefined>, variables: Record<string, unknown>): FileProblem[] {
  const misplaced: FileProblem[] = [];
  const missing: FileProblem[] = [];
  const names = [...new Set([...Object.keys(variables), ...operationTypes.keys()])];
  // Iterative: variables are client JSON and may nest deeper than the stack.
  const pending: Array<{ value: unknown; type: GraphQLInputType | undefined; path: string; variable: string }> = names.map((name) => ({
    value: variables[name],
    type: operationTypes.get(name),
    path: `variables.${name}`,
    variable: name,
  }));
  while (pending.length > 0) {
    const { value, type: declared, path, variable } = pending.pop()!;
    const type = declared && isNonNullType(declared) ? declared.ofType : declared;
    if (isFileScalar(type) && !isUploadedFile(value) && (value != null || isNonNullType(declared))) {
      const where = path === `variables.${variable}` ? '' : ` at "${path}"`;
      missing.push({ entry: path, message: `Variable "$${variable}" has no file${where}: no multipart map entry places one at "${path}"` });
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    if (type && isListType(type) && !Array.isArray(value)) {
      // A single value where a list is expected is coerced as a list of one.
      pending.push({ value, type: type.ofType, path, variable });
      continue;
    }
    if (isUploadedFile(value)) {
      if (!isFileScalar(type)) {
        misplaced.push({
          entry: path,
          message: `Multipart map entry "${path}" does not point at an upload: a file can only be placed at a variable or input field of type ${FILE_SCALAR}`,
        });
      }
      continue;
    }
    if (Array.isArray(value)) {
      const item = type && isListType(type) ? type.ofType : undefined;
      value.forEach((element, index) => pending.push({ value: element, type: item, path: `${path}.${index}`, variable }));
      continue;
    }
    const fields = type && isInputObjectType(type) ? type.getFields() : {};
    const keys = new Set([...Object.keys(value), ...Object.keys(fields)]);
    for (const key of keys) {
      pending.push({ value: (value as Record<string, unknown>)[key], type: fields[key]?.type, path: `${path}.${key}`, variable });
    }
  }
  // A misplaced file is the cause of a missing one, so it comes first.
  return [...misplaced.reverse(), ...missing.reverse()];
}

function isMultipart(context: unknown): boolean {
  const request = (context as { request?: Request } | undefined)?.request;
  return !!request?.headers.get('content-type')?.toLowerCase().startsWith('multipart/form-data');
}

/** Refuses a multipart request whose map places a file anywhere but at a File argument, or none at one. */
export function useMultipartMapCheck(): Plugin {
  return {
    onExecute({ args, setResultAndStopExecution }) {
      if (!args.variableValues || !isMultipart(args.contextValue)) return;
      const operation = getOperationAST(args.document, args.operationName);
      if (!operation) return;
      const types = new Map<string, GraphQLInputType | undefined>();
      for (const definition of operation.variableDefinitions ?? []) {
        types.set(definition.variable.name.value, typeFromAST(args.schema, definition.type as never) as GraphQLInputType | undefined);
      }
      const problems = fileProblems(types, args.variableValues);
      if (problems.length === 0) return;
      setResultAndStopExecution({
        // The same 400 as the map's other refusals: the request, not its execution, is wrong.
        errors: problems.map(({ entry, message }) => refused(message, entry)),
      });
    },
  };
}
