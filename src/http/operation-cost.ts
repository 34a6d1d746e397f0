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

/** The cost error for the operation with its variables, or null when it fits. */
export function variableCostError(schema: GraphQLSchema, document: DocumentNode, variables: Record<string, unknown>, maxCost: number) {
  const inlined = withPageVariablesInlined(document, variables);
  if (!inlined) return null;
  try {
    const [error] = validate(schema, inlined, [costLimitRule(costOptions(maxCost))]);
    return error ? limitExceeded(error.message.replace(/^Syntax Error: /, '')) : null;
  } catch (error) {
    // Armor's rule throws its rejection (propagateOnRejection).
    return limitExceeded((error as Error).message.replace(/^Syntax Error: /, ''));
  }
}

export function useVariableCost({ maxCost }: { maxCost: number }): Plugin {
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const error = variableCostError(args.schema, args.document, (args.variableValues ?? {}) as Record<string, unknown>, maxCost);
      if (error) setResultAndStopExecution({ errors: [error] });
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      const error = variableCostError(args.schema, args.document, (args.variableValues ?? {}) as Record<string, unknown>, maxCost);
      if (error) setResultAndStopExecution({ errors: [error] });
    },
  };
}
