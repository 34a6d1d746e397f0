// The `map` of a GraphQL multipart request (uploads) places each file at a path in the variables,
// e.g. `variables.input.file`. yoga's parser puts the file wherever the map says; a map that
// points at a String, an ID, a JSON value or an undeclared variable then fails variable coercion
// with a message that prints the parser's internal file object. This plugin refuses such a
// request before execution, naming the map entry.
import {
  GraphQLError,
  getOperationAST,
  isInputObjectType,
  isListType,
  isNonNullType,
  isScalarType,
  typeFromAST,
  type GraphQLInputType,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';

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

/** The map entries (`variables.…` paths) whose file sits anywhere but at a File argument. */
export function misplacedFiles(operationTypes: Map<string, GraphQLInputType | undefined>, variables: Record<string, unknown>): string[] {
  const misplaced: string[] = [];
  // Iterative: variables are client JSON and may nest deeper than the stack.
  const pending: Array<{ value: unknown; type: GraphQLInputType | undefined; path: string }> = Object.entries(variables).map(
    ([name, value]) => ({ value, type: operationTypes.get(name), path: `variables.${name}` }),
  );
  while (pending.length > 0) {
    const { value, type: declared, path } = pending.pop()!;
    if (value === null || typeof value !== 'object') continue;
    const type = declared && isNonNullType(declared) ? declared.ofType : declared;
    if (type && isListType(type) && !Array.isArray(value)) {
      // A single value where a list is expected is coerced as a list of one.
      pending.push({ value, type: type.ofType, path });
      continue;
    }
    if (isUploadedFile(value)) {
      if (!(type && isScalarType(type) && type.name === FILE_SCALAR)) misplaced.push(path);
      continue;
    }
    if (Array.isArray(value)) {
      const item = type && isListType(type) ? type.ofType : undefined;
      value.forEach((element, index) => pending.push({ value: element, type: item, path: `${path}.${index}` }));
      continue;
    }
    const fields = type && isInputObjectType(type) ? type.getFields() : undefined;
    for (const [key, element] of Object.entries(value)) pending.push({ value: element, type: fields?.[key]?.type, path: `${path}.${key}` });
  }
  return misplaced.reverse();
}

function isMultipart(context: unknown): boolean {
  const request = (context as { request?: Request } | undefined)?.request;
  return !!request?.headers.get('content-type')?.toLowerCase().startsWith('multipart/form-data');
}

/** Refuses a multipart request whose map places a file anywhere but at a File argument. */
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
      const misplaced = misplacedFiles(types, args.variableValues);
      if (misplaced.length === 0) return;
      setResultAndStopExecution({
        errors: misplaced.map(
          (entry) =>
            new GraphQLError(
              `Multipart map entry "${entry}" does not point at an upload: a file can only be placed at a variable or input field of type ${FILE_SCALAR}`,
              { extensions: { code: 'BAD_USER_INPUT', mapEntry: entry } },
            ),
        ),
      });
    },
  };
}
