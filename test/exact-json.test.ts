// Json columns keep every digit: Prisma's query compiler alone stores 0.1 + 0.2 as 0.3 and the
// largest double as null (src/db/exact-json.ts). Over real HTTP for what users write (inputs,
// attributes, idempotent retries), and on the database client for every write shape.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Prisma } from '../src/generated/prisma/client.ts';
import { graphql } from './gql/index.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';

// Doubles whose shortest form has 17 significant digits, and the extremes.
const TRICKY = [0.1 + 0.2, 123456789.12345678, 1.7976931348623157e308, 5e-324, -0.000001234567890123, 2 ** 53 - 1];

const ExactCreateInstance = graphql(`
  mutation ExactCreateInstance($input: CreateInstanceInput!) {
    createInstance(input: $input) {
      __typename
      ... on CreateInstanceSuccess {
        instance {
          id
        }
      }
    }
  }
`);
const ExactCreateRun = graphql(`
  mutation ExactCreateRun($input: CreateRunInput!) {
    createRun(input: $input) {
      __typename
      ... on CreateRunSuccess {
        deduplicated
        run {
          id
          inputs
        }
      }
      ... on Error {
        message
      }
    }
  }
`);
const ExactSetAttributes = graphql(`
  mutation ExactSetAttributes($input: SetRunAttributesInput!) {
    setRunAttributes(input: $input) {
      __typename
      ... on SetRunAttributesSuccess {
        run {
          attributes
        }
      }
      ... on Error {
        message
      }
    }
  }
`);
const ExactRun = graphql(`
  query ExactRun($id: ID!) {
    run(id: $id) {
      inputs
      attributes
    }
  }
`);

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({ withWorker: false });
});
afterAll(async () => {
  await stack?.stop();
});

describe('numbers in Json columns, over the API', () => {
  let instanceId: string;
  const inputs = { rows: [TRICKY, TRICKY.map((x) => -x), TRICKY.map((x) => x / 3)], method: 'zscore', threshold: 0.30000000000000004 };

  beforeAll(async () => {
    const created = await stack.admin.query(ExactCreateInstance, { input: { routineName: 'anomaly_detection', name: 'exact numbers' } });
    if (created.createInstance.__typename !== 'CreateInstanceSuccess') throw new Error(created.createInstance.__typename);
    instanceId = created.createInstance.instance.id;
  });

  it('a run keeps its inputs digit for digit, and an idempotent retry with the same inputs is the same run', async () => {
    const input = { instanceId, methodName: 'detect', inputs, start: false, idempotencyKey: 'exact-json-1' };
    const first = await stack.admin.query(ExactCreateRun, { input });
    if (first.createRun.__typename !== 'CreateRunSuccess') throw new Error(JSON.stringify(first.createRun));
    expect(first.createRun.run.inputs).toEqual(inputs);
    const read = await stack.admin.query(ExactRun, { id: first.createRun.run.id });
    expect(read.run!.inputs).toEqual(inputs);
    expect((read.run!.inputs as typeof inputs).rows[0]).toEqual(TRICKY);

    // The stored inputs compare equal to the retried ones: no IdempotencyKeyReusedError.
    const retried = await stack.admin.query(ExactCreateRun, { input });
    expect(retried.createRun).toMatchObject({ __typename: 'CreateRunSuccess', deduplicated: true, run: { id: first.createRun.run.id } });
  });

  it('attributes keep their numbers', async () => {
    const created = await stack.admin.query(ExactCreateRun, {
      input: { instanceId, methodName: 'detect', inputs: { rows: [[1], [2], [3]] }, start: false },
    });
    if (created.createRun.__typename !== 'CreateRunSuccess') throw new Error(JSON.stringify(created.createRun));
    const attributes = { score: 0.1 + 0.2, bounds: TRICKY, nested: { deep: [{ x: 123456789.12345678 }] } };
    const set = await stack.admin.query(ExactSetAttributes, { input: { id: created.createRun.run.id, attributes } });
    expect(set.setRunAttributes).toMatchObject({ __typename: 'SetRunAttributesSuccess', run: { attributes } });
    expect((await stack.admin.query(ExactRun, { id: created.createRun.run.id })).run!.attributes).toEqual(attributes);
  });
});

describe('numbers in Json columns, on the database client', () => {
  async function aRun() {
    const instance = await stack.core.db.routineInstance.findFirstOrThrow({ where: { name: 'exact numbers' } });
    return stack.core.db.routineRun.findFirstOrThrow({ where: { instanceId: instance.id } });
  }
  const exactInDatabase = async (sql: string, id: string) => (await stack.core.db.$queryRawUnsafe<{ value: unknown }[]>(sql, id))[0].value;

  it('every write shape keeps them: update, updateMany, upsert, createMany and nested writes', async () => {
    const db = stack.core.db;
    const run = await aRun();
    const value = { values: TRICKY };

    await db.routineRun.update({ where: { id: run.id }, data: { attributes: value } });
    expect((await db.routineRun.findUniqueOrThrow({ where: { id: run.id } })).attributes).toEqual(value);
    // What PostgreSQL holds, not only what Prisma reads back.
    expect(await exactInDatabase(`SELECT attributes #>> '{values,0}' AS value FROM "RoutineRun" WHERE id = $1::uuid`, run.id)).toBe(
      '0.30000000000000004',
    );

    await db.routineRun.updateMany({ where: { id: run.id }, data: { outputs: [0.1 + 0.2] } });
    expect((await db.routineRun.findUniqueOrThrow({ where: { id: run.id } })).outputs).toEqual([0.1 + 0.2]);

    const last = await db.runEvent.findFirst({ where: { runId: run.id }, orderBy: { sequence: 'desc' } });
    const sequence = (last?.sequence ?? 0) + 1;
    await db.runEvent.createMany({ data: [{ runId: run.id, sequence, type: 'ATTRIBUTES_CHANGED', detail: { at: 123456789.12345678 } }] });
    // Nested writes: events created and updated through their run.
    await db.routineRun.update({
      where: { id: run.id },
      data: {
        events: {
          create: { sequence: sequence + 1, type: 'ATTRIBUTES_CHANGED', detail: { x: 0.1 + 0.2 } },
          updateMany: { where: { sequence }, data: { detail: { at: 1.7976931348623157e308 } } },
        },
      },
    });
    const events = await db.runEvent.findMany({ where: { runId: run.id, sequence: { gte: sequence } }, orderBy: { sequence: 'asc' } });
    expect(events.map((e) => e.detail)).toEqual([{ at: 1.7976931348623157e308 }, { x: 0.1 + 0.2 }]);

    const artifact = await db.artifact.upsert({
      where: { runId_name: { runId: run.id, name: 'exact' } },
      create: {
        runId: run.id,
        name: 'exact',
        path: 'routine://exact',
        contentType: 'application/json',
        sizeBytes: 1n,
        checksum: 'x',
        statistics: { mean: 0.1 + 0.2 },
      },
      update: {},
    });
    expect(artifact.statistics).toEqual({ mean: 0.1 + 0.2 });
    await db.artifact.upsert({
      where: { id: artifact.id },
      create: artifact as never,
      update: { statistics: { mean: 123456789.12345678 } },
    });
    expect((await db.artifact.findUniqueOrThrow({ where: { id: artifact.id } })).statistics).toEqual({ mean: 123456789.12345678 });
  });

  it("Prisma's null values keep their meaning: JsonNull is JSON null, DbNull is SQL NULL", async () => {
    const db = stack.core.db;
    const run = await aRun();
    await db.routineRun.update({ where: { id: run.id }, data: { outputs: Prisma.JsonNull } });
    expect(await exactInDatabase(`SELECT jsonb_typeof(outputs) AS value FROM "RoutineRun" WHERE id = $1::uuid`, run.id)).toBe('null');
    await db.routineRun.update({ where: { id: run.id }, data: { outputs: Prisma.DbNull } });
    expect(await exactInDatabase(`SELECT outputs IS NULL AS value FROM "RoutineRun" WHERE id = $1::uuid`, run.id)).toBe(true);
    // Strings, booleans and plain numbers are JSON values too.
    for (const value of ['text', true, 0.1 + 0.2, []]) {
      await db.routineRun.update({ where: { id: run.id }, data: { outputs: value } });
      expect((await db.routineRun.findUniqueOrThrow({ where: { id: run.id } })).outputs).toEqual(value);
    }
  });
});
