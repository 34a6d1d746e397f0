// Every field of a type compiled reads know (src/reads/compile.ts) is either compiled or listed
// here as not compiled, with the reason. A field added to RoutineRun and the like fails this test
// until someone decides: compile it (test/compiled-reads.test.ts then compares it with the
// resolvers) or list it below. A field not compiled still answers (a query asking for it goes to
// the resolvers), but the whole query then costs what the resolvers cost.
import { extendSchema, getNamedType, isObjectType, parse, type GraphQLObjectType, type GraphQLSchema } from 'graphql';
import { describe, expect, it } from 'vitest';
import { schema } from '../../schema/index.ts';
import { COMPILED_FIELDS, CONNECTION_PARTS } from '../../src/reads/compile.ts';

const NOT_COMPILED: Record<string, Record<string, string>> = {
  Query: {
    node: 'Node is an interface: the compiler builds object types only',
    nodes: 'Node is an interface: the compiler builds object types only',
    viewer: "the request's own user, already loaded by authentication: nothing to gain",
    instance: 'looks the name up normalized (NFC, trimmed) in TypeScript',
    capacity: 'computed from worker leases and admission state (src/runs/admission.ts)',
    compareRuns: 'compares inputs and statistics in TypeScript',
    workspaces: "a handful of rows scoped by the request's access; not on the run-graph path",
    workspace: "one row scoped by the request's access; not on the run-graph path",
    auditEvents: 'the audit log, read by workspace admins a page at a time: not on the run-graph path (schema/audit.ts)',
    deletedRuns:
      'tombstones of deleted runs, read by workspace admins a page at a time: not on the run-graph path (schema/deleted-runs.ts)',
    schedules: 'schedules, a page at a time; their nextRunAt asks Temporal: not on the run-graph path (schema/schedule.ts)',
  },
  RoutineInstance: {
    workspace: 'not on the run-graph path the compiler was built for; one row per instance through the resolvers',
    datasets: 'not on the run-graph path the compiler was built for; rarely asked with it',
  },
  RoutineRun: {
    logs: 'a connection with before/last cursors; the compiler pages forward only',
    artifactsUnavailableReason: 'a message chosen in TypeScript (schema/run.ts)',
    events: 'the event log connection, filtered by type: its own cursors',
    queuePosition: 'the admission order computed in TypeScript (src/runs/admission.ts)',
    schedule: 'a Schedule row, not on the run-graph path the compiler was built for (schema/schedule.ts)',
    draftStatus: 'validates the draft against the method signature (zod) in TypeScript',
    nextParameter: 'validates the draft against the method signature (zod) in TypeScript',
  },
  User: {
    auditEvents: "the viewer's own audit log, null for anyone else: not on the run-graph path (schema/audit.ts)",
    workspaces: "the user's memberships narrowed by the request's access, in TypeScript (src/access/)",
    tokens: 'only the viewer lists its own tokens (src/access/tokens-admin.ts): a rule decided in TypeScript',
  },
  Artifact: {
    downloadUrl: "a link signed with the API process's secret and the clock",
  },
};

/** `Type.field` of every field of the compiled types, and where each is decided. */
function decisions(builtSchema: GraphQLSchema) {
  const undecided: string[] = [];
  const both: string[] = [];
  for (const typeName of Object.keys(COMPILED_FIELDS)) {
    const type = builtSchema.getType(typeName);
    if (!isObjectType(type)) throw new Error(`${typeName} is compiled but is no object type of the schema`);
    for (const field of Object.keys(type.getFields())) {
      const compiled = COMPILED_FIELDS[typeName].includes(field);
      const notCompiled = field in (NOT_COMPILED[typeName] ?? {});
      if (!compiled && !notCompiled) undecided.push(`${typeName}.${field}`);
      if (compiled && notCompiled) both.push(`${typeName}.${field}`);
    }
  }
  return { undecided: undecided.sort(), both };
}

describe('compiled reads cover their types field by field', () => {
  it('every field of a compiled type is compiled or listed as not compiled, with a reason', () => {
    const { undecided, both } = decisions(schema);
    expect(
      undecided,
      'compile these in src/reads/compile.ts (then ask them in a document of test/compiled-reads.test.ts), or list them with the reason in NOT_COMPILED at the top of test/unit/compiled-coverage.test.ts',
    ).toEqual([]);
    expect(both, 'compiled and listed as not compiled').toEqual([]);
    for (const [type, fields] of Object.entries(NOT_COMPILED)) {
      for (const reason of Object.values(fields)) expect(reason, type).toMatch(/\w{3,}/);
    }
  });

  it('a field added to a compiled type is undecided', () => {
    const grown = extendSchema(schema, parse('extend type RoutineRun { costEstimate: Float } extend type Query { runCount: Int! }'));
    const before = decisions(schema).undecided;
    expect(decisions(grown).undecided).toEqual([...before, 'Query.runCount', 'RoutineRun.costEstimate'].sort());
  });

  it('every field of a connection a compiled field returns (edges, pageInfo, facets) is one the compiler builds', () => {
    const unknown: string[] = [];
    const check = (type: GraphQLObjectType, known: readonly string[]) => {
      for (const name of Object.keys(type.getFields())) if (!known.includes(name)) unknown.push(`${type.name}.${name}`);
    };
    const connections = new Set<GraphQLObjectType>();
    for (const [typeName, fields] of Object.entries(COMPILED_FIELDS)) {
      const type = schema.getType(typeName);
      if (!isObjectType(type)) continue;
      for (const field of fields) {
        const returned = getNamedType(type.getFields()[field].type);
        if (isObjectType(returned) && returned.name.endsWith('Connection')) connections.add(returned);
      }
    }
    expect(connections.size, 'compiled connections found').toBeGreaterThanOrEqual(2);
    for (const connectionType of connections) {
      check(connectionType, CONNECTION_PARTS.connection);
      const parts = connectionType.getFields();
      const edge = getNamedType(parts.edges.type);
      const pageInfo = getNamedType(parts.pageInfo.type);
      if (isObjectType(edge)) check(edge, CONNECTION_PARTS.edge);
      if (isObjectType(pageInfo)) check(pageInfo, CONNECTION_PARTS.pageInfo);
      const facets = parts.facets && getNamedType(parts.facets.type);
      if (facets && isObjectType(facets)) check(facets, CONNECTION_PARTS.facets);
    }
    expect(unknown, 'build these in connection() / runFacets() of src/reads/compile.ts and list them in CONNECTION_PARTS').toEqual([]);
  });

  it('every field named, compiled or not, exists in the schema', () => {
    const stale: string[] = [];
    for (const [typeName, fields] of [
      ...Object.entries(COMPILED_FIELDS),
      ...Object.entries(NOT_COMPILED).map(([t, f]) => [t, Object.keys(f)] as const),
    ]) {
      const type = schema.getType(typeName);
      const known = isObjectType(type) ? type.getFields() : {};
      stale.push(...fields.filter((field) => !(field in known)).map((field) => `${typeName}.${field}`));
    }
    expect(stale).toEqual([]);
  });
});
