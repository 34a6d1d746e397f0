// The routine:// layout's two forms agree: the text a path is written as in TypeScript, and the SQL
// expression compiled reads build it with, evaluated by PostgreSQL over the same ids. Only a
// SELECT over literal rows: no database is created.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Prisma } from '../src/generated/prisma/client.ts';
import { column } from '../src/reads/sql-json.ts';
import { artifactPath, artifactsPath, datasetPath, instancePath, internalVarsPath, parsePath, runPath } from '../src/storage/layout.ts';
import {
  artifactPathSql,
  artifactsPathSql,
  datasetPathSql,
  instancePathSql,
  internalVarsPathSql,
  runPathSql,
} from '../src/storage/layout-sql.ts';
import { ADMIN_URL } from './helpers/database.ts';

// Rows shaped as the tables hold them: uuid ids (RoutineRun, Dataset) and artifact names.
const CASES = [
  { instanceId: '3f1c2a4e-8b7d-4c6e-9a1b-2d3e4f5a6b7c', otherId: '00000000-0000-0000-0000-000000000000', name: 'cluster_report' },
  { instanceId: 'ffffffff-ffff-4fff-bfff-ffffffffffff', otherId: '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d', name: 'data.v2-final' },
  { instanceId: '0a0b0c0d-0e0f-4a1b-8c2d-3e4f5a6b7c8d', otherId: '11111111-2222-4333-8444-555555555555', name: 'A' },
];

type Form = { text: (ids: (typeof CASES)[number]) => string; sql: (row: string) => Prisma.Sql };
const FORMS: Record<string, Form> = {
  instance: {
    text: ({ instanceId }) => instancePath({ instanceId }),
    sql: (t) => instancePathSql({ instanceId: column(t, 'instanceId') }),
  },
  internalVars: {
    text: ({ instanceId }) => internalVarsPath({ instanceId }),
    sql: (t) => internalVarsPathSql({ instanceId: column(t, 'instanceId') }),
  },
  run: {
    text: ({ instanceId, otherId }) => runPath({ instanceId, runId: otherId }),
    sql: (t) => runPathSql({ instanceId: column(t, 'instanceId'), runId: column(t, 'otherId') }),
  },
  artifacts: {
    text: ({ instanceId, otherId }) => artifactsPath({ instanceId, runId: otherId }),
    sql: (t) => artifactsPathSql({ instanceId: column(t, 'instanceId'), runId: column(t, 'otherId') }),
  },
  artifact: {
    text: ({ instanceId, otherId, name }) => artifactPath({ instanceId, runId: otherId, name }),
    sql: (t) => artifactPathSql({ instanceId: column(t, 'instanceId'), runId: column(t, 'otherId'), name: column(t, 'name') }),
  },
  dataset: {
    text: ({ instanceId, otherId }) => datasetPath({ instanceId, datasetId: otherId }),
    sql: (t) => datasetPathSql({ instanceId: column(t, 'instanceId'), datasetId: column(t, 'otherId') }),
  },
};

let client: pg.Client;

beforeAll(async () => {
  client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
});

afterAll(async () => {
  await client?.end();
});

async function evaluate(form: Form, ids: (typeof CASES)[number]): Promise<string> {
  const query = Prisma.sql`SELECT ${form.sql('t')} AS path
    FROM (VALUES (${ids.instanceId}::uuid, ${ids.otherId}::uuid, ${ids.name}::text)) AS t("instanceId", "otherId", "name")`;
  const { rows } = await client.query<{ path: string }>(query.text, query.values);
  return rows[0].path;
}

describe('routine:// layout', () => {
  for (const [kind, form] of Object.entries(FORMS)) {
    it(`writes the ${kind} path the same in TypeScript and in SQL`, async () => {
      for (const ids of CASES) expect(await evaluate(form, ids)).toBe(form.text(ids));
    });
  }

  it('reads back the artifact and data set paths it writes', () => {
    for (const { instanceId, otherId, name } of CASES) {
      expect(parsePath(artifactPath({ instanceId, runId: otherId, name }))).toEqual({ kind: 'artifact', instanceId, runId: otherId, name });
      expect(parsePath(datasetPath({ instanceId, datasetId: otherId }))).toEqual({ kind: 'dataset', instanceId, datasetId: otherId });
      expect(parsePath(runPath({ instanceId, runId: otherId }))).toBeNull();
    }
  });
});
