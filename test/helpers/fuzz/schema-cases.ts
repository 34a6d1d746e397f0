// Requests generated from the built schema itself (schema/index.ts): every mutation and its input
// type, every Query field and its arguments, every RunFilter field. A field added to the schema is
// fuzzed without editing the suite; names the world knows (ids, routine and method names, the
// built-in methods' parameters) make the values reach past the edge's first checks.
import { randomUUID } from 'node:crypto';
import { encodeGlobalID } from '@pothos/plugin-relay';
import fc from 'fast-check';
import {
  getNamedType,
  getNullableType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  isUnionType,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLNamedType,
  type GraphQLOutputType,
} from 'graphql';
import { schema } from '../../../schema/index.ts';
import type { MethodSignature } from '../../../src/routines/sdk.ts';
import { anyValue, nastyJson, nastyNumber, nastyString, RawJson, wrongTypeFor } from './values.ts';

/** What exists on the stack: real ids and names, so generated requests reach real rows. */
export interface FuzzWorld {
  ids: { instances: string[]; runs: string[]; datasets: string[]; artifacts: string[]; users: string[] };
  routines: { name: string; methods: MethodSignature[] }[];
}

/** One generated GraphQL request. */
export interface FuzzRequest {
  /** The root field it exercises (Mutation.createRun, Query.runs, ...). */
  target: string;
  query: string;
  variables: Record<string, unknown>;
}

const NODE_TYPES = ['RoutineRun', 'RoutineInstance', 'Artifact', 'Dataset', 'User', 'Routine', 'RunEvent', 'Nope'];

function idArb(world: FuzzWorld): fc.Arbitrary<string> {
  const real = Object.values(world.ids).flat();
  return fc.oneof(
    { weight: 4, arbitrary: real.length ? fc.constantFrom(...real) : fc.constant('') },
    // Well-formed global ids of rows that do not exist (item 9's shape).
    { weight: 2, arbitrary: fc.constantFrom(...NODE_TYPES).map((type) => encodeGlobalID(type, randomUUID())) },
    { weight: 1, arbitrary: fc.constantFrom(...NODE_TYPES).chain((type) => nastyString.map((raw) => encodeGlobalID(type, raw))) },
    {
      weight: 1,
      arbitrary: fc.constantFrom('', 'x', '=', Buffer.from('RoutineRun:').toString('base64'), Buffer.from(':::').toString('base64')),
    },
    { weight: 1, arbitrary: nastyString },
  );
}

/** Method inputs shaped by the built-in signatures: real parameter names with right, wrong or hostile values. */
export function methodInputsArb(world: FuzzWorld): fc.Arbitrary<unknown> {
  const parameters = world.routines.flatMap((routine) => routine.methods.flatMap((method) => method.parameters));
  const valueFor = (type: string) =>
    fc.oneof(
      wrongTypeFor(type),
      anyValue,
      type === 'integer' || type === 'number' ? nastyNumber : type === 'string' ? nastyString : nastyJson,
      // A stored-table reference: the routine:// paths item 9 names.
      fc.record(
        {
          path: fc.oneof(
            fc.constantFrom('routine://', 'routine://instances_/x/', 'routine://../../etc/passwd'),
            nastyString.map((s) => `routine://${s}`),
          ),
          columns: fc.array(nastyString, { maxLength: 3 }),
        },
        { requiredKeys: ['path'] },
      ),
    );
  const shaped = fc
    .subarray(parameters, { maxLength: 4 })
    .chain((chosen) => fc.tuple(...chosen.map((parameter) => valueFor(parameter.type).map((value) => [parameter.name, value] as const))))
    .map((entries) => Object.fromEntries(entries));
  return fc.oneof({ weight: 4, arbitrary: shaped }, { weight: 1, arbitrary: nastyJson });
}

/**
 * A value for an input position. `name` is the field or argument name: the few names the world
 * knows get real values some of the time, everything else is generated from its type. Now and
 * then any position gets a value of another type (a GraphQL variable error, BAD_USER_INPUT).
 */
export function inputValueArb(type: GraphQLInputType, name: string | null, world: FuzzWorld, depth = 0): fc.Arbitrary<unknown> {
  const typed = typedValueArb(type, name, world, depth);
  return fc.oneof({ weight: 12, arbitrary: typed }, { weight: 1, arbitrary: anyValue });
}

function typedValueArb(type: GraphQLInputType, name: string | null, world: FuzzWorld, depth: number): fc.Arbitrary<unknown> {
  if (isNonNullType(type)) {
    return fc.oneof({ weight: 20, arbitrary: typedValueArb(type.ofType, name, world, depth) }, { weight: 1, arbitrary: fc.constant(null) });
  }
  const nullable = (arbitrary: fc.Arbitrary<unknown>) => fc.oneof({ weight: 8, arbitrary }, { weight: 1, arbitrary: fc.constant(null) });
  if (isListType(type)) {
    const item = inputValueArb(type.ofType as GraphQLInputType, name, world, depth + 1);
    // GraphQL coerces a single item to a list of one: both forms are sent.
    // Now and then far more entries than any list argument takes (each may fan out to a lookup).
    // (Entries are kept small: a list of 70,000-character strings would only measure the body limit.)
    const small = item.map((value) => (typeof value === 'string' && value.length > 100 ? value.slice(0, 100) : value));
    const long = fc.integer({ min: 101, max: 5_000 }).chain((length) => small.map((value) => Array.from({ length }, () => value)));
    return nullable(
      fc.oneof({ weight: 8, arbitrary: fc.array(item, { maxLength: 4 }) }, { weight: 2, arbitrary: item }, { weight: 1, arbitrary: long }),
    );
  }
  if (isInputObjectType(type)) {
    if (depth > 4) return fc.constant(null);
    const fields = Object.values(type.getFields());
    const record = Object.fromEntries(
      fields.map((field) => [
        field.name,
        // Stay clear of execution: a started run executes its method on this shared machine (and an
        // IN_MEMORY one inside the API). Starting is fuzzed through startRun on the world's runs.
        field.name === 'start' ? fc.constant(false) : inputValueArb(field.type, field.name, world, depth + 1),
      ]),
    );
    const required = fields.filter((field) => isNonNullType(field.type) || field.name === 'start').map((field) => field.name);
    const object = fc.record(record, { requiredKeys: required });
    // An unknown field is a variable error too.
    return nullable(
      fc.oneof({ weight: 8, arbitrary: object }, { weight: 1, arbitrary: object.map((value) => ({ ...(value as object), notAField: 1 })) }),
    );
  }
  return nullable(leafArb(type as GraphQLNamedType, name, world));
}

function leafArb(type: GraphQLNamedType, name: string | null, world: FuzzWorld): fc.Arbitrary<unknown> {
  const routineNames = world.routines.map((routine) => routine.name);
  const methodNames = world.routines.flatMap((routine) => routine.methods.map((method) => method.name));
  const parameterNames = world.routines.flatMap((routine) => routine.methods.flatMap((method) => method.parameters.map((p) => p.name)));
  if (isEnumType(type))
    return fc.oneof(
      { weight: 8, arbitrary: fc.constantFrom(...type.getValues().map((value) => value.name)) },
      { weight: 1, arbitrary: nastyString },
    );
  switch (type.name) {
    case 'ID':
      return idArb(world);
    case 'Boolean':
      return fc.boolean();
    case 'Int':
    case 'SafeInt':
      return fc.oneof(fc.integer({ min: -5, max: 200 }), nastyNumber);
    case 'Float':
      return fc.oneof(fc.double({ min: -5, max: 400, noNaN: true }), nastyNumber);
    case 'DateTime':
      return fc.oneof(
        fc.date({ min: new Date('1900-01-01'), max: new Date('2200-01-01'), noInvalidDate: true }).map((date) => date.toISOString()),
        fc.constantFrom(
          '2026-02-30T00:00:00Z',
          '0000-00-00',
          '0000-01-01T00:00:00Z',
          '-000001-01-01T00:00:00Z',
          '+010000-01-01T00:00:00Z',
          '+275760-09-13T00:00:00.001Z',
          '2026-01-01T00:00:00\u0000Z',
          '',
        ),
        nastyString,
        nastyNumber,
      );
    case 'JSON':
      if (name === 'inputs') return methodInputsArb(world);
      if (name === 'value') return anyValue;
      return fc.oneof({ weight: 3, arbitrary: fc.dictionary(nastyString, nastyJson, { maxKeys: 4 }) }, { weight: 2, arbitrary: nastyJson });
    case 'String':
      if (name === 'routineName') return fc.oneof(fc.constantFrom(...routineNames), nastyString);
      if (name === 'methodName')
        return fc.oneof(
          fc.constantFrom(...methodNames),
          fc.constantFrom('toString', '__proto__', 'constructor', 'hasOwnProperty'),
          nastyString,
        );
      if (name === 'name') return fc.oneof(fc.constantFrom(...parameterNames), nastyString);
      return nastyString;
    default:
      return anyValue;
  }
}

/** A selection of a result's leaf fields (and, one level down, of its objects' leaves): enough to run every resolver a client would. */
export function selectionFor(type: GraphQLOutputType, depth = 0): string {
  const named = getNamedType(type);
  if (isLeafType(named)) return '';
  if (isUnionType(named) || isInterfaceType(named)) {
    const members = isUnionType(named) ? named.getTypes() : schema.getPossibleTypes(named);
    return `{ __typename ${members.map((member) => `... on ${member.name} ${selectionFor(member, depth)}`).join(' ')} }`;
  }
  if (!isObjectType(named)) return '';
  const parts = ['__typename'];
  for (const field of Object.values(named.getFields())) {
    if (field.args.some((arg) => isNonNullType(arg.type) && arg.defaultValue === undefined)) continue;
    const fieldType = getNamedType(field.type);
    if (isLeafType(fieldType)) parts.push(field.name);
    else if (depth < 1 && !isInterfaceType(fieldType) && !isUnionType(fieldType)) {
      const sub = selectionFor(field.type, depth + 1);
      if (sub) parts.push(`${field.name} ${sub}`);
    }
  }
  return `{ ${parts.join(' ')} }`;
}

function requestFor(operation: 'query' | 'mutation', field: GraphQLField<unknown, unknown>, world: FuzzWorld): fc.Arbitrary<FuzzRequest> {
  const declarations = field.args.map((arg) => `$${arg.name}: ${String(arg.type)}`).join(', ');
  const argumentList = field.args.map((arg) => `${arg.name}: $${arg.name}`).join(', ');
  const query = `${operation} Fuzz${declarations ? `(${declarations})` : ''} { ${field.name}${argumentList ? `(${argumentList})` : ''} ${selectionFor(field.type)} }`;
  const variables = fc.record(Object.fromEntries(field.args.map((arg) => [arg.name, inputValueArb(arg.type, arg.name, world)])), {
    requiredKeys: field.args.filter((arg) => isNonNullType(arg.type)).map((arg) => arg.name),
  });
  return variables.map((values) => ({ target: `${operation === 'query' ? 'Query' : 'Mutation'}.${field.name}`, query, variables: values }));
}

/** Mutations that take a File go through multipart (see uploadsProperty in properties.ts), not JSON variables. */
function takesFile(field: GraphQLField<unknown, unknown>): boolean {
  const seen = new Set<string>();
  const walk = (type: GraphQLInputType): boolean => {
    const named = getNamedType(type);
    if (named.name === 'File') return true;
    if (!isInputObjectType(named) || seen.has(named.name)) return false;
    seen.add(named.name);
    return Object.values(named.getFields()).some((inner) => walk(inner.type));
  };
  return field.args.some((arg) => walk(arg.type));
}

export function mutationFields(): GraphQLField<unknown, unknown>[] {
  return Object.values(schema.getMutationType()!.getFields()).filter((field) => !takesFile(field));
}

export function queryFields(): GraphQLField<unknown, unknown>[] {
  return Object.values(schema.getQueryType()!.getFields());
}

/** Every mutation (but uploads) with a generated input. */
export function mutationRequestArb(world: FuzzWorld): fc.Arbitrary<FuzzRequest> {
  return fc.oneof(...mutationFields().map((field) => requestFor('mutation', field, world)));
}

/** Every Query field with generated arguments. */
export function queryRequestArb(world: FuzzWorld): fc.Arbitrary<FuzzRequest> {
  return fc.oneof(...queryFields().map((field) => requestFor('query', field, world)));
}

/** Query.runs with every RunFilter field (and orderBy, first, after) generated, one field at a time or several. */
export function runFilterRequestArb(world: FuzzWorld): fc.Arbitrary<FuzzRequest> {
  const runs = schema.getQueryType()!.getFields().runs;
  const filterType = getNullableType(runs.args.find((arg) => arg.name === 'filter')!.type) as GraphQLInputType;
  if (!isInputObjectType(filterType)) throw new Error('RunFilter is not an input object');
  const fields = Object.values(filterType.getFields());
  const oneField = fc
    .constantFrom(...fields)
    .chain((field) => inputValueArb(field.type, field.name, world).map((value) => ({ [field.name]: value })));
  const filter = fc.oneof(oneField, inputValueArb(filterType, 'filter', world));
  return fc
    .record({
      filter,
      first: fc.option(inputValueArb(runs.args.find((a) => a.name === 'first')!.type, 'first', world)),
      orderBy: fc.option(inputValueArb(runs.args.find((a) => a.name === 'orderBy')!.type, 'orderBy', world)),
    })
    .map(({ filter: value, first, orderBy }) => ({
      target: `Query.runs(filter.${Object.keys(value ?? {}).join(',') || 'null'})`,
      query: `query Fuzz($filter: RunFilter, $first: Int, $orderBy: RunOrder) { runs(filter: $filter, first: $first, orderBy: $orderBy) { totalCount edges { cursor node { id name labels attributes status } } } }`,
      variables: { filter: value, first: first ?? undefined, orderBy: orderBy ?? undefined },
    }));
}

/** Names an error may mention to name the field or operation: the document's identifiers and the variables' keys. */
export function namesInRequest(request: { query: string; variables: Record<string, unknown> }): Set<string> {
  const names = new Set(request.query.match(/[A-Za-z_][A-Za-z0-9_]*/g) ?? []);
  const walk = (value: unknown, depth: number) => {
    if (depth > 3 || value === null || typeof value !== 'object' || value instanceof RawJson) return;
    for (const [key, inner] of Object.entries(value)) {
      if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) names.add(key);
      walk(inner, depth + 1);
    }
  };
  walk(request.variables, 0);
  for (const noise of ['query', 'mutation', 'Fuzz', 'on', '__typename']) names.delete(noise);
  return names;
}

/** The input fields a ValidationError's path may start with, for a root field's arguments. */
export function pathRootsFor(target: string): Set<string> {
  const [rootType, rest] = target.split('.');
  const fieldName = rest.replace(/\(.*$/, '');
  const root = rootType === 'Mutation' ? schema.getMutationType() : schema.getQueryType();
  const field = root?.getFields()[fieldName];
  const roots = new Set<string>();
  for (const arg of field?.args ?? []) {
    roots.add(arg.name);
    const named = getNamedType(arg.type);
    if (isInputObjectType(named)) for (const inner of Object.keys(named.getFields())) roots.add(inner);
  }
  return roots;
}
