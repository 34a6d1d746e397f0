// The cost limit (GRAPHQL_MAX_COST) once the variables are known. GraphQL Armor estimates an
// operation's cost when the document is validated, before any variables: it multiplies a list by
// its `first`/`last` only when that is a literal, so `runs(first: $n)` counted as one item and a
// document refused with `first: 100` was answered with `first: $n` and `{ "n": 100 }` (38 MB in
// 7 s, found from outside). Before execution, this plugin writes the integer values of such
// variables into the document and asks Armor's own rule again, so both forms cost the same.
import { costLimitRule } from '@escape.tech/graphql-armor-cost-limit';
import { Kind, validate, visit, type DocumentNode, type GraphQLSchema } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { limitExceeded } from '../argument-errors.ts';
import { LruCache } from '../lru-cache.ts';

/** Armor's cost options, shared by its validation-time check and this one. */
export function costOptions(maxCost: number) {
  // Cost ≈ what the answer holds: 1 per scalar, 2 per object, a list multiplied by its `first`;
  // no extra factor per level (Relay's edges/node would square it), the depth limit bounds nesting.
  return { maxCost, depthCostFactor: 1 };
}

const PAGE_ARGUMENTS = new Set(['first', 'last']);

/** The document with `first: $n` / `last: $n` written as literals; null when it has none. */
export function withPageVariablesInlined(document: DocumentNode, variables: Record<string, unknown>): DocumentNode | null {
  let inlined = false;
  const result = visit(document, {
    Argument(node) {
      if (!PAGE_ARGUMENTS.has(node.name.value) || node.value.kind !== Kind.VARIABLE) return undefined;
      const value = variables[node.value.name.value];
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) return undefined;
      inlined = true;
      return { ...node, value: { kind: Kind.INT, value: String(value) } };
    },
  });
  return inlined ? result : null;
}

/** Why the operation with its variables costs too much, or null when it fits. */
function variableCostRefusal(schema: GraphQLSchema, document: DocumentNode, variables: Record<string, unknown>, maxCost: number) {
  const inlined = withPageVariablesInlined(document, variables);
  if (!inlined) return null;
  try {
    const [error] = validate(schema, inlined, [costLimitRule(costOptions(maxCost))]);
    return error ? error.message.replace(/^Syntax Error: /, '') : null;
  } catch (error) {
    // Armor's rule throws its rejection (propagateOnRejection).
    return (error as Error).message.replace(/^Syntax Error: /, '');
  }
}

/** The variables a document passes as `first`/`last`, each named once. */
function pageVariableNames(document: DocumentNode): string[] {
  const names = new Set<string>();
  visit(document, {
    Argument(node) {
      if (PAGE_ARGUMENTS.has(node.name.value) && node.value.kind === Kind.VARIABLE) names.add(node.value.name.value);
    },
  });
  return [...names];
}

/** Page sizes one document is checked with, remembered: a client repeats the same few. */
const VERDICTS_PER_DOCUMENT = 64;

export function useVariableCost({ maxCost }: { maxCost: number }): Plugin {
  // Both keyed by the document: yoga's parse cache hands every request of the same text the same
  // DocumentNode, so a repeated query costs a lookup instead of a walk and a validation of the
  // whole document; a document yoga forgets takes its entries with it.
  const pageVariablesOf = new WeakMap<DocumentNode, string[]>();
  const verdictsOf = new WeakMap<DocumentNode, LruCache<string, string | null>>();
  const check = ({ schema, document, variableValues }: { schema: GraphQLSchema; document: DocumentNode; variableValues?: unknown }) => {
    let names = pageVariablesOf.get(document);
    if (!names) pageVariablesOf.set(document, (names = pageVariableNames(document)));
    if (names.length === 0) return null;
    const variables = (variableValues ?? {}) as Record<string, unknown>;
    // Only what withPageVariablesInlined reads of each variable decides the verdict.
    const key = names
      .map((name) => {
        const value = variables[name];
        return typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : '';
      })
      .join(',');
    let verdicts = verdictsOf.get(document);
    if (!verdicts) verdictsOf.set(document, (verdicts = new LruCache(VERDICTS_PER_DOCUMENT)));
    let refusal = verdicts.get(key);
    if (refusal === undefined) {
      refusal = variableCostRefusal(schema, document, variables, maxCost);
      verdicts.set(key, refusal);
    }
    // A new error each time: errors are located and masked per response.
    return refusal === null ? null : limitExceeded(refusal);
  };
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const error = check(args);
      if (error) setResultAndStopExecution({ errors: [error] });
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      const error = check(args);
      if (error) setResultAndStopExecution({ errors: [error] });
    },
  };
}
