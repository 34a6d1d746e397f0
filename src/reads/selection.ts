// The fields a selection asks of one object type, as graphql-js's executor collects them
// (fragments spread, @skip/@include applied, fields of the same response key merged), with their
// arguments coerced. Anything the compiled read path does not handle is NotCompilable: the
// request then goes to the resolvers, which answer it (or report its error) as always.
import {
  getArgumentValues,
  getDirectiveValues,
  GraphQLIncludeDirective,
  GraphQLSkipDirective,
  isAbstractType,
  Kind,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLObjectType,
  type GraphQLSchema,
  type SelectionSetNode,
} from 'graphql';
import { argumentErrors, refusedArgumentsError } from '../http/accepted-arguments.ts';

export class NotCompilable extends Error {}

export interface SelectionScope {
  schema: GraphQLSchema;
  fragments: Record<string, FragmentDefinitionNode>;
  variables: Record<string, unknown>;
}

export interface CollectedField {
  responseKey: string;
  name: string;
  args: Record<string, unknown>;
  definition: GraphQLField<unknown, unknown>;
  /** Every node of this response key, for errors located as graphql-js locates them. */
  nodes: FieldNode[];
  /** The selection sets of every node of this response key, for the field's own type. */
  selections: SelectionSetNode[];
}

function included(scope: SelectionScope, node: Parameters<typeof getDirectiveValues>[1]): boolean {
  if (!node.directives?.length) return true;
  for (const directive of node.directives) {
    if (directive.name.value !== 'skip' && directive.name.value !== 'include') throw new NotCompilable(`@${directive.name.value}`);
  }
  if (getDirectiveValues(GraphQLSkipDirective, node, scope.variables)?.if === true) return false;
  if (getDirectiveValues(GraphQLIncludeDirective, node, scope.variables)?.if === false) return false;
  return true;
}

function appliesTo(scope: SelectionScope, typeCondition: string | undefined, type: GraphQLObjectType): boolean {
  if (!typeCondition || typeCondition === type.name) return true;
  const conditionType = scope.schema.getType(typeCondition);
  return !!conditionType && isAbstractType(conditionType) && scope.schema.isSubType(conditionType, type);
}

export function collectFields(
  scope: SelectionScope,
  type: GraphQLObjectType,
  selectionSets: readonly SelectionSetNode[],
): CollectedField[] {
  const nodesByKey = new Map<string, FieldNode[]>();
  const visitedFragments = new Set<string>();
  const visit = (selectionSet: SelectionSetNode) => {
    for (const selection of selectionSet.selections) {
      if (!included(scope, selection)) continue;
      if (selection.kind === Kind.FIELD) {
        const key = selection.alias?.value ?? selection.name.value;
        const nodes = nodesByKey.get(key);
        if (nodes) nodes.push(selection);
        else nodesByKey.set(key, [selection]);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        if (appliesTo(scope, selection.typeCondition?.name.value, type)) visit(selection.selectionSet);
      } else {
        const name = selection.name.value;
        if (visitedFragments.has(name)) continue;
        visitedFragments.add(name);
        const fragment = scope.fragments[name];
        if (!fragment) throw new NotCompilable(`fragment ${name}`);
        if (appliesTo(scope, fragment.typeCondition.name.value, type)) visit(fragment.selectionSet);
      }
    }
  };
  selectionSets.forEach(visit);
  const fields = type.getFields();
  return [...nodesByKey].map(([responseKey, nodes]) => {
    const name = nodes[0].name.value;
    if (name === '__typename') {
      return { responseKey, name, args: {}, definition: undefined as never, nodes, selections: [] };
    }
    const definition = fields[name];
    if (!definition) throw new NotCompilable(`${type.name}.${name}`);
    // Throws the executor's own error for a bad argument: the resolvers then report it.
    const args = getArgumentValues(definition, nodes[0], scope.variables);
    // Refused text too: PostgreSQL would get U+FFFD in place of a lone surrogate and answer.
    const refused = argumentErrors(definition.args, args);
    if (refused.length > 0) throw refusedArgumentsError(refused);
    return {
      responseKey,
      name,
      args,
      definition,
      nodes,
      selections: nodes.flatMap((node) => (node.selectionSet ? [node.selectionSet] : [])),
    };
  });
}
