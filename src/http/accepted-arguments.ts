// The text rules (src/rules/text.ts) applied to a field's GraphQL arguments, following
// their types: every String and ID (lists and input objects included) and every JSON scalar value,
// whose depth is counted from the value itself; and the length of every list. The schema applies
// it to every field before its resolver runs (schema/plugins/accepted-arguments.ts); compiled
// reads apply it too (src/reads/).
import {
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  type GraphQLArgument,
  type GraphQLError,
  type GraphQLInputType,
} from 'graphql';
import type { FieldError } from '../errors.ts';
import { badInput } from '../argument-errors.ts';
import { FieldErrorList, MAX_LIST_ENTRIES } from '../rules/text.ts';

export function argumentErrors(definitions: readonly GraphQLArgument[], args: Record<string, unknown>): FieldError[] {
  const list = new FieldErrorList();
  for (const definition of definitions) {
    if (list.full) break;
    walk(list, definition.type, args[definition.name], [definition.name]);
  }
  return list.errors;
}

function walk(list: FieldErrorList, type: GraphQLInputType, value: unknown, path: string[]): void {
  if (value === null || value === undefined || list.full) return;
  if (isNonNullType(type)) return walk(list, type.ofType, value, path);
  if (isListType(type)) {
    // A single value where a list is expected is coerced to a list of one by graphql-js already.
    if (!Array.isArray(value)) return walk(list, type.ofType, value, path);
    if (value.length > MAX_LIST_ENTRIES) return list.add(path, `may have at most ${MAX_LIST_ENTRIES} entries (got ${value.length})`);
    value.forEach((item, index) => walk(list, type.ofType, item, [...path, String(index)]));
    return;
  }
  if (isInputObjectType(type)) {
    const fields = type.getFields();
    for (const [name, field] of Object.entries(fields)) walk(list, field.type, (value as Record<string, unknown>)[name], [...path, name]);
    return;
  }
  if (isEnumType(type)) return;
  if (type.name === 'JSON') list.json(value, path);
  else if (typeof value === 'string') list.text(value, path);
}

/**
 * The error for a field without a typed ValidationError result (queries, subscriptions):
 * BAD_USER_INPUT, its message naming each argument path.
 */
export function refusedArgumentsError(errors: FieldError[]): GraphQLError {
  return badInput(`Invalid input: ${errors.map((error) => `argument ${error.path.join('.')} ${error.message}`).join('; ')}`, errors);
}
