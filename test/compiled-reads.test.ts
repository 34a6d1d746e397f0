// Compiled reads (src/reads/) answer exactly what the resolvers answer. Two yoga servers on one
// database, one compiling queries into SQL and one resolving them with Pothos and Prisma, get the
// same requests: every compiled field, every order and direction paged to the end with cursors,
// every filter dimension, facets, fragments, aliases, directives, empty and missing results. The
// answers must be equal, key order included; requests it does not compile, and bad arguments,
// get the resolvers' answers and errors. Equal as JSON values, not as bytes: what differs on the
// wire is pinned below ('the compiled text is the resolvers' JSON values…').
import {
  getNamedType,
  isObjectType,
  parse,
  print,
  TypeInfo,
  visit,
  visitWithTypeInfo,
  type DocumentNode,
  type ExecutionResult,
} from 'graphql';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schema } from '../schema/index.ts';
import { createToken, DEFAULT_WORKSPACE } from '../src/auth/tokens.ts';
import { COMPILED_FIELDS } from '../src/reads/compile.ts';
import { SeenFallbacks } from '../src/reads/plugin.ts';
import { graphql } from './gql/index.ts';
import type { CompiledEveryRunFieldQueryVariables, RunFilter, RunOrderField } from './gql/graphql.ts';
import { countedGraphQL, type CountedGraphQL, type RecordedStatement } from './helpers/counted-graphql.ts';
import { collect } from './helpers/graphql.ts';
import { seedRunGraph } from './helpers/seed-runs.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';

const EveryRunField = graphql(`
  query CompiledEveryRunField($filter: RunFilter, $orderBy: RunOrder, $first: Int, $after: String) {
    runs(first: $first, after: $after, filter: $filter, orderBy: $orderBy) {
      __typename
      totalCount
      totalCountIsApproximate
      facets {
        __typename
        approximate
        status {
          __typename
          status
          count
        }
        labels {
          __typename
          label
          count
        }
      }
      pageInfo {
        __typename
        hasNextPage
        hasPreviousPage
        startCursor
        endCursor
      }
      edges {
        __typename
        cursor
        node {
          __typename
          id
          name
          description
          routineVersion
          methodName
          status
          inputs
          outputs
          executionType
          invocationMethod
          storeArtifacts
          includeStatistics
          includePreviews
          previewRows
          memoryMb
          memoryOverrideMb
          priority
          labels
          attributes
          createdAt
          queuedAt
          startedAt
          finishedAt
          updatedAt
          admittedAt
          durationMs
          cancelRequestedAt
          cancelReason
          changedInputs
          instanceConfig
          instanceConfigVersion
          attempt
          maxAttempts
          lastSequence
          storagePath
          workflowId
          resources {
            requestedMemoryMb
            peakMemoryMb
            cpuTimeMs
          }
          progress {
            percent
            message
            at
            sequence
          }
          error {
            type
            message
            attempt
            retryable
            at
            phase
            method
            workerId
            host
            suggestedMemoryMb
          }
          createdBy {
            id
            name
            isAdmin
          }
          parentRun {
            id
            name
            parentRun {
              id
            }
          }
          method {
            name
            kind
            description
            allowsInMemory
            defaultMemoryMb
            maxAttempts
            memoryGrowth
            timeoutMs
            inputSchema
            parameters {
              name
              type
              required
              description
              default
              options
            }
          }
          routine {
            id
            name
            version
            description
            stateful
          }
          instance {
            id
            name
            description
            constructed
            constructedAt
            config
            createdAt
            updatedAt
            createdBy {
              name
            }
            routine {
              name
            }
          }
          artifacts {
            id
            name
            path
            contentType
            sizeBytes
            checksum
            metadata
            statistics
            createdAt
            preview {
              columns
              rows
              text
              truncated
            }
            run {
              id
            }
          }
        }
      }
    }
  }
`);

const Nested = graphql(`
  query CompiledNested($instances: Int, $runs: Int, $filter: RunFilter, $orderBy: RunOrder, $after: String) {
    routines {
      id
      name
      methods {
        name
        parameters {
          name
        }
      }
      instances(first: $instances) {
        totalCount
        pageInfo {
          hasNextPage
          hasPreviousPage
          startCursor
          endCursor
        }
        edges {
          cursor
          node {
            id
            name
            runs(first: $runs, filter: $filter, orderBy: $orderBy, after: $after) {
              totalCount
              totalCountIsApproximate
              facets {
                approximate
                status {
                  status
                  count
                }
                labels {
                  label
                  count
                }
              }
              pageInfo {
                hasNextPage
                hasPreviousPage
                startCursor
                endCursor
              }
              edges {
                cursor
                node {
                  id
                  name
                  status
                  durationMs
                  finishedAt
                  artifacts {
                    name
                    sizeBytes
                  }
                }
              }
            }
          }
        }
      }
    }
  }
`);

const Lookups = graphql(`
  query CompiledLookups($routine: String!, $run: ID!, $missingRun: ID!) {
    routine(name: $routine) {
      name
      instances(first: 2) {
        edges {
          node {
            name
          }
        }
      }
    }
    missing: routine(name: "no such routine") {
      name
    }
    run(id: $run) {
      id
      name
      status
    }
    missingRun: run(id: $missingRun) {
      id
    }
    instances(routineName: $routine, first: 3) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        cursor
        node {
          id
          name
        }
      }
    }
    allInstances: instances {
      totalCount
      edges {
        node {
          name
        }
      }
    }
  }
`);

const Shapes = graphql(`
  query CompiledShapes($withName: Boolean!, $skipStatus: Boolean!) {
    first: runs(first: 3) {
      edges {
        node {
          ...RunBits
          ... on RoutineRun {
            labels
          }
          again: id
          status @skip(if: $skipStatus)
          name @include(if: $withName)
        }
      }
    }
    none: runs(first: 0) {
      totalCount
      pageInfo {
        hasNextPage
        startCursor
        endCursor
      }
      edges {
        cursor
      }
    }
    nothing: runs(filter: { search: "no run is called this" }) {
      totalCount
      facets {
        status {
          status
          count
        }
        labels {
          label
          count
        }
      }
      pageInfo {
        hasNextPage
        startCursor
      }
      edges {
        cursor
      }
    }
    countsOnly: runs(first: 2) {
      totalCount
      facets {
        status {
          count
        }
      }
    }
    noCounts: runs(first: 1, filter: { search: "no run is called this" }) {
      totalCount
    }
  }
  fragment RunBits on RoutineRun {
    id
    createdAt
    progress {
      percent
    }
  }
`);

const NotCompiled = graphql(`
  query CompiledNotCompiled($run: ID!) {
    run(id: $run) {
      id
      artifacts {
        name
        downloadUrl(expiresInSeconds: 60)
      }
      events(first: 2) {
        totalCount
      }
    }
  }
`);

const PageOf = graphql(`
  query CompiledPageOf($first: Int, $after: String, $orderBy: RunOrder) {
    runs(first: $first, after: $after, orderBy: $orderBy) {
      edges {
        node {
          id
        }
      }
    }
  }
`);

describe('compiled reads answer exactly what the resolvers answer', () => {
  let stack: TestStack;
  let compiled: CountedGraphQL;
  let resolvers: CountedGraphQL;
  const fallbacks: string[] = [];
  /** What the compiled server logged. */
  const logged: string[] = [];
  let runIds: string[];
  let instanceIds: string[];
  let adminId: string;
  /** The same data in a workspace the admin is no member of: its runs and instances. */
  let otherRunIds: string[];
  let otherInstanceIds: string[];
  /** Both servers for each kind of user, by name. */
  const asUser = new Map<string, { compiled: CountedGraphQL; resolvers: CountedGraphQL }>();

  beforeAll(async () => {
    // The seeded QUEUED and RUNNING runs have no workflow: a reconciler pass (every 30 s) would fail
    // them between the two requests of a comparison (seen when the machine was busy).
    stack = await startTestStack({ withWorker: false, env: { RECONCILE_INTERVAL_MS: String(24 * 3600_000) } });
    const base = { databaseUrl: stack.database.url, services: stack.api.services, token: stack.admin.options.token! };
    compiled = countedGraphQL({
      ...base,
      onCompiledReadFallback: (reason) => fallbacks.push(reason),
      log: (message) => logged.push(message),
    });
    resolvers = countedGraphQL({ ...base, compiledReads: false });
    adminId = (await stack.core.db.user.findUniqueOrThrow({ where: { name: 'admin' } })).id;
    const db = stack.core.db;
    instanceIds = [
      ...(await seedRunGraph(db, { routineName: 'kmeans', createdById: adminId, instances: 3, runsPerInstance: 14, artifactsPerRun: 2 })),
      ...(await seedRunGraph(db, {
        routineName: 'montecarlo',
        createdById: adminId,
        instances: 2,
        runsPerInstance: 9,
        artifactsPerRun: 0,
        instancePrefix: 'mc',
      })),
    ];
    // The seed names every run's method `fit`: montecarlo's is estimatePi.
    await db.$executeRaw`UPDATE "RoutineRun" SET "methodName" = 'estimatePi' WHERE "instanceId" = ANY(${instanceIds.slice(3)}::uuid[])`;
    // What seeded rows lack: every optional column set somewhere, awkward text and numbers.
    await db.$executeRaw`
      UPDATE "RoutineRun" SET
        outputs = jsonb_build_object('inertia', 0.30000000000000004, 'big', 12345678901234567890, 'list', jsonb_build_array(1, 'two', null),
          'ratio', 2.50, 'tiny', 0.0000001),
        inputs = '{"k": 3, "seed": 1.5e300, "note": "quote \\" and \\\\ and \\u00e9 and \\n"}'::jsonb,
        "queuedAt" = "createdAt" + interval '1.5 seconds', "startedAt" = "createdAt" + interval '2.001 seconds',
        "admittedAt" = "createdAt" + interval '1.999 seconds',
        "peakMemoryMb" = 12.345678901234567, "cpuTimeMs" = 1e-7,
        "progressPercent" = 33.333333333333336, "progressMessage" = 'step "2" of 3', "progressAt" = "createdAt" + interval '3 seconds',
        "progressSequence" = 4, "lastSequence" = 7, attempt = 2, "maxAttempts" = 3, "memoryOverrideMb" = 2048, priority = -42,
        "workflowId" = 'run-' || id, "previewRows" = 5, "includePreviews" = true, "storeArtifacts" = false
      WHERE (extract(epoch FROM "createdAt")::bigint / 60) % 3 = 0`;
    await db.$executeRaw`
      UPDATE "RoutineRun" SET "errorType" = 'ValueError', "errorMessage" = 'bad k', "errorAttempt" = 1, "errorRetryable" = true,
        "errorAt" = "createdAt" + interval '4 seconds', "errorPhase" = 'METHOD', "errorWorkerId" = 'host:1:w', "errorHost" = 'host',
        "errorSuggestedMemoryMb" = 512, "cancelRequestedAt" = "createdAt" + interval '5 seconds', "cancelReason" = 'tired'
      WHERE status IN ('FAILED', 'CANCELLED')`;
    // A method that opts into retrying with more memory (retry.memoryGrowth, a float).
    await db.$executeRaw`
      UPDATE "Routine" SET methods = jsonb_set(methods, '{0,retry,memoryGrowth}', '1.5')
      WHERE id = (SELECT id FROM "Routine" ORDER BY name LIMIT 1)`;
    // An error without its optional parts, and a phase the schema does not know (shown as METHOD).
    await db.$executeRaw`
      UPDATE "RoutineRun" SET "errorType" = 'Lost', "errorPhase" = 'SOMEWHERE', "progressPercent" = 50
      WHERE id = (SELECT id FROM "RoutineRun" WHERE status = 'RUNNING' ORDER BY id LIMIT 1)`;
    await db.$executeRaw`
      UPDATE "RoutineRun" r SET "parentRunId" = p.id, "changedInputs" = '{"k": null}'::jsonb, name = 'ünïcode "quoted" \\ run'
      FROM (SELECT id FROM "RoutineRun" ORDER BY id LIMIT 1) p WHERE r.id IN (SELECT id FROM "RoutineRun" ORDER BY id OFFSET 1 LIMIT 3)`;
    // The config a run executed with: set on some runs (nested, numbers spelled as PostgreSQL keeps them), null on the rest.
    await db.$executeRaw`
      UPDATE "RoutineRun" SET "instanceConfig" = '{"k": 3, "seed": null, "model": {"slope": 0.5e1, "names": ["ä"]}}'::jsonb, "instanceConfigVersion" = 2
      WHERE id IN (SELECT id FROM "RoutineRun" ORDER BY id OFFSET 2 LIMIT 4)`;
    await db.$executeRaw`
      UPDATE "Artifact" SET
        preview = CASE WHEN name = 'artifact_1' THEN '{"columns": ["a", "b"], "rows": [[1, "x"], [2.5, null]], "text": null, "truncated": true}'::jsonb
                       ELSE '{"columns": null, "rows": null, "text": "head", "truncated": false}'::jsonb END,
        statistics = '{"a": {"mean": 1.75}}'::jsonb, metadata = '{"rows": 2, "n": 1, "10": "ten"}'::jsonb, "sizeBytes" = 9007199254740991
      WHERE "runId" IN (SELECT id FROM "RoutineRun" ORDER BY id LIMIT 10)`;
    await db.$executeRaw`
      UPDATE "RoutineInstance" SET config = '{"k": 3}'::jsonb, description = 'configured' WHERE id = ${instanceIds[0]}::uuid`;
    await db.$executeRaw`UPDATE "RoutineInstance" SET "constructedAt" = NULL WHERE id = ${instanceIds[1]}::uuid`;
    runIds = (await db.routineRun.findMany({ select: { id: true }, orderBy: { id: 'asc' } })).map((r) => r.id);

    // Another workspace with the same instance names and seeded runs, and a user of each kind:
    // each role of the workspace holding the data above, a member of the other workspace only,
    // and a member of both whose token is bound to the other one.
    const tokens: Record<string, string> = {};
    for (const role of ['VIEWER', 'OPERATOR', 'MAINTAINER', 'ADMIN'] as const) {
      tokens[role] = (await createToken({ db, userName: role.toLowerCase(), workspace: DEFAULT_WORKSPACE, role })).token;
    }
    const outsider = await createToken({ db, userName: 'outsider', workspace: 'other', role: 'ADMIN' });
    tokens.outsider = outsider.token;
    await createToken({ db, userName: 'both', workspace: DEFAULT_WORKSPACE, role: 'ADMIN' });
    tokens.bound = (await createToken({ db, userName: 'both', tokenName: 'bound', workspace: 'other', role: 'VIEWER', bind: true })).token;
    otherInstanceIds = await seedRunGraph(db, {
      routineName: 'kmeans',
      createdById: outsider.user.id,
      instances: 2,
      runsPerInstance: 5,
      artifactsPerRun: 1,
      workspaceId: outsider.workspace!.id,
    });
    otherRunIds = (await db.routineRun.findMany({ where: { instanceId: { in: otherInstanceIds } }, select: { id: true } })).map(
      (r) => r.id,
    );
    for (const [name, token] of Object.entries(tokens)) {
      const own = { databaseUrl: stack.database.url, services: stack.api.services, token };
      asUser.set(name, { compiled: countedGraphQL(own), resolvers: countedGraphQL({ ...own, compiledReads: false }) });
    }
  });
  afterAll(async () => {
    for (const servers of asUser.values()) {
      await servers.compiled.close();
      await servers.resolvers.close();
    }
    await compiled?.close();
    await resolvers?.close();
    await stack?.stop();
  });

  /**
   * Both answers, which must be the same JSON (key order included); the compiled one must not have
   * fallen back. `as`: the servers of that kind of user (default: the admin's, with fallbacks recorded).
   */
  async function same<TResult, TVariables>(
    document: TypedDocumentNode<TResult, TVariables>,
    variables?: TVariables,
    { expectCompiled = true, as }: { expectCompiled?: boolean; as?: string } = {},
  ): Promise<{
    body: ExecutionResult<TResult>;
    texts: [compiled: string, resolvers: string];
    statements: RecordedStatement[];
    reasons: string[];
  }> {
    const servers = as ? asUser.get(as)! : { compiled, resolvers };
    fallbacks.length = 0;
    const a = await servers.compiled.request(document, variables);
    const reasons = [...fallbacks];
    const b = await servers.resolvers.request(document, variables);
    // A signed link's expiry is the clock's second when it was made: the two requests may fall on
    // either side of a second. Everything else, the link's target included, must be the same.
    const link = (text: string) => text.replace(/expires=\d+(&token=[\w-]+)?&signature=[\w-]+/g, 'expires=…$1&signature=…');
    expect(JSON.parse(link(a.text))).toEqual(JSON.parse(link(b.text)));
    // The resolvers' bytes are the compiled answer read as JSON (numbers as doubles) and written again.
    expect(link(JSON.stringify(a.body))).toBe(link(b.text));
    if (expectCompiled) expect(reasons).toEqual([]);
    return { body: a.body, texts: [a.text, b.text], statements: a.statements, reasons };
  }

  const gid = (type: string, id: string) => Buffer.from(`${type}:${id}`).toString('base64');

  it('every compiled field of a run, with its relations, facets and page info', async () => {
    const { body, statements } = await same(EveryRunField, { first: 100 });
    expect(body.errors).toBeUndefined();
    expect(body.data!.runs.edges).toHaveLength(60);
    // The optional data is there to compare: errors, progress, previews, parents.
    const nodes = body.data!.runs.edges.map((e) => e.node);
    expect(nodes.some((n) => n.error?.phase === 'METHOD' && n.error.workerId === null)).toBe(true);
    expect(nodes.some((n) => n.progress && n.progress.percent > 33)).toBe(true);
    expect(nodes.some((n) => n.parentRun !== null)).toBe(true);
    expect(nodes.some((n) => n.artifacts.some((a) => a.preview?.truncated))).toBe(true);
    // One statement reads the page and builds the answer.
    expect(statements).toHaveLength(1);
  });

  it('pages through every order in both directions with the same cursors to the same end', async () => {
    const fields: RunOrderField[] = ['CREATED_AT', 'UPDATED_AT', 'FINISHED_AT', 'DURATION', 'NAME'];
    for (const field of fields) {
      for (const direction of ['ASC', 'DESC'] as const) {
        const seen: string[] = [];
        let after: string | null = null;
        for (let page = 0; page < 20; page++) {
          const { body } = await same(Nested, { instances: 5, runs: 7, orderBy: { field, direction }, after });
          const variables: CompiledEveryRunFieldQueryVariables = { first: 7, after, orderBy: { field, direction } };
          const top = await same(EveryRunField, variables);
          const connection = top.body.data!.runs;
          seen.push(...connection.edges.map((e) => e.node.id));
          expect(body.errors).toBeUndefined();
          if (!connection.pageInfo.hasNextPage) break;
          after = connection.pageInfo.endCursor;
        }
        expect(new Set(seen).size).toBe(60);
        expect(seen).toHaveLength(60);
      }
    }
  });

  it('every filter dimension, alone and combined, at the top and nested', async () => {
    const filters: RunFilter[] = [
      { status: ['COMPLETED', 'FAILED'] },
      { labelsAll: ['all', 'even'] },
      { labelsAny: ['mod3-1', 'nothing'] },
      { attributes: { team: 'beta', nested: { flag: true } } },
      { routineName: 'montecarlo' },
      { methodName: 'fit' },
      { instanceId: gid('RoutineInstance', instanceIds[0]) },
      { createdBy: [gid('User', adminId)] },
      { createdAfter: new Date(Date.now() - 20 * 60_000).toISOString(), createdBefore: new Date().toISOString() },
      { search: 'NEEDLE' },
      { search: '100%_\\' },
      { status: ['RUNNING', 'CREATED'], labelsAny: ['even'], attributes: { n: 2 }, routineName: 'kmeans', search: 'run' },
    ];
    // A filter the planner cannot estimate (labels, attributes) reads its page with an
    // index-ordered probe inside the statement: one statement when the probe holds a full page…
    const probed = await same(EveryRunField, { filter: { labelsAny: ['all'] }, first: 5 });
    expect(probed.statements).toHaveLength(1);
    // …and when it does not, the page is read first (selectRunPage), then the answer: the same one.
    const notFull = await same(EveryRunField, { filter: { labelsAll: ['all', 'even'] }, first: 50 });
    expect(notFull.body.data!.runs.edges.length).toBeGreaterThan(0);
    expect(notFull.body.data!.runs.pageInfo.hasNextPage).toBe(false);
    expect(notFull.statements.length).toBeGreaterThan(1);
    for (const filter of filters) {
      const top = await same(EveryRunField, { filter, first: 50 });
      expect(top.body.errors).toBeUndefined();
      const nested = await same(Nested, { filter, runs: 4 });
      expect(nested.body.errors).toBeUndefined();
    }
  });

  it('lookups, connections of instances, empty and missing results', async () => {
    const { body } = await same(Lookups, {
      routine: 'kmeans',
      run: gid('RoutineRun', runIds[0]),
      missingRun: gid('RoutineRun', '00000000-0000-4000-8000-000000000000'),
    });
    expect(body.data!.missing).toBeNull();
    expect(body.data!.missingRun).toBeNull();
    expect(body.data!.run!.id).toBe(gid('RoutineRun', runIds[0]));
    expect(body.data!.instances.totalCount).toBe(3);
  });

  it('fragments, aliases, __typename, @skip and @include', async () => {
    for (const [withName, skipStatus] of [
      [true, false],
      [false, true],
    ]) {
      const { body } = await same(Shapes, { withName, skipStatus });
      expect(body.errors).toBeUndefined();
      expect(body.data!.none.edges).toEqual([]);
      expect(body.data!.nothing.totalCount).toBe(0);
      expect(body.data!.countsOnly.totalCount).toBe(60);
      expect(body.data!.noCounts.totalCount).toBe(0);
    }
  });

  // The admin above is ADMIN of the workspace holding the data; the same answers for every role of
  // it, and for users who see only the other workspace (its own runs, never these).
  it.each([
    ['VIEWER', 'data'],
    ['OPERATOR', 'data'],
    ['MAINTAINER', 'data'],
    ['ADMIN', 'data'],
    ['outsider', 'other'],
    ['bound', 'other'],
  ] as const)('as %s: the same answers, scoped to what it sees (%s workspace)', async (as, sees) => {
    const [visibleRuns, hiddenRuns] = sees === 'data' ? [runIds, otherRunIds] : [otherRunIds, runIds];
    const hiddenIds = new Set([
      ...hiddenRuns.map((id) => gid('RoutineRun', id)),
      ...(sees === 'data' ? otherInstanceIds : instanceIds).map((id) => gid('RoutineInstance', id)),
    ]);
    const shown = (body: unknown) => [...JSON.stringify(body).matchAll(/"id":"([^"]+)"/g)].map((m) => m[1]);

    const top = await same(EveryRunField, { first: 100 }, { as });
    expect(top.body.errors).toBeUndefined();
    expect(top.body.data!.runs.totalCount).toBe(visibleRuns.length);
    expect(top.body.data!.runs.edges.map((e) => e.node.id).sort()).toEqual(visibleRuns.map((id) => gid('RoutineRun', id)).sort());
    const facetTotal = top.body.data!.runs.facets.status.reduce((sum, f) => sum + f.count, 0);
    expect(facetTotal).toBe(visibleRuns.length);
    expect(top.statements).toHaveLength(1);

    const nested = await same(Nested, { instances: 5, runs: 3 }, { as });
    const probed = await same(EveryRunField, { filter: { labelsAny: ['all'] }, first: 5 }, { as });
    const filtered = await same(EveryRunField, { filter: { status: ['COMPLETED'], search: 'run' }, first: 50 }, { as });
    const lookups = await same(
      Lookups,
      { routine: 'kmeans', run: gid('RoutineRun', runIds[0]), missingRun: gid('RoutineRun', otherRunIds[0]) },
      { as },
    );
    expect(lookups.body.data!.run === null).toBe(sees === 'other');
    expect(lookups.body.data!.missingRun === null).toBe(sees === 'data');
    expect(lookups.body.data!.allInstances.totalCount).toBe(sees === 'data' ? instanceIds.length : otherInstanceIds.length);
    for (const answer of [top, nested, probed, filtered, lookups]) {
      const leaked = shown(answer.body).filter((id) => hiddenIds.has(id));
      expect(leaked).toEqual([]);
    }
    const nestedRuns = nested.body.data!.routines.flatMap((r) => r.instances.edges.flatMap((e) => e.node.runs.edges));
    expect(nestedRuns.length).toBeGreaterThan(0);
  });

  it('hands what it does not compile to the resolvers, and bad arguments get their errors', async () => {
    const withArtifacts = (await stack.core.db.artifact.findFirstOrThrow({ where: { runId: { in: runIds } } })).runId;
    const notCompiled = await same(NotCompiled, { run: gid('RoutineRun', withArtifacts) }, { expectCompiled: false });
    expect(notCompiled.reasons).toEqual(['not compiled: Artifact.downloadUrl']);
    expect(notCompiled.body.data!.run!.artifacts[0].downloadUrl).toContain('/artifacts/');

    const bad: [Record<string, unknown>, string][] = [
      [{ first: 101 }, '"first" must be between 0 and 100'],
      [{ first: -1 }, '"first" must be between 0 and 100'],
      [{ after: 'not-a-cursor' }, 'Invalid cursor'],
      [
        { after: Buffer.from(JSON.stringify(['NAME', 'ASC', null, runIds[0]])).toString('base64url') },
        'Invalid cursor: it belongs to a list ordered by NAME ASC',
      ],
    ];
    for (const [variables, message] of bad) {
      const { body, reasons } = await same(PageOf, variables, { expectCompiled: false });
      expect(reasons).toHaveLength(1);
      expect(body.errors?.[0].message).toContain(message);
      expect(body.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    }
    const wrongType = await same(
      Lookups,
      { routine: 'kmeans', run: gid('Artifact', runIds[0]), missingRun: gid('RoutineRun', runIds[0]) },
      { expectCompiled: false },
    );
    expect(wrongType.body.errors?.[0].message).toMatch(/^Argument "id" of Query\.run: ".*" is not of type: RoutineRun/);
    expect(wrongType.body.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
  });

  it("a compiled statement that fails is an error answer, masked like a resolver's database failure, and not run again", async () => {
    const run = gid('RoutineRun', (await stack.core.db.artifact.findFirstOrThrow({ where: { runId: { in: runIds } } })).runId);
    const RunArtifacts = parse(`query RunArtifacts($run: ID!) { run(id: $run) { id artifacts { name } } }`);
    const TwoRoots = parse(`query TwoRoots($run: ID!) { __typename one: run(id: $run) { id } all: runs(first: 1) { totalCount } }`);
    fallbacks.length = 0;
    logged.length = 0;
    await stack.core.db.$executeRawUnsafe('ALTER TABLE "Artifact" RENAME TO "ArtifactAway"');
    let answers;
    try {
      // (Lookups reads no artifact: it compiles and answers.)
      expect((await compiled.request(Lookups, { routine: 'kmeans', run, missingRun: run })).body.errors).toBeUndefined();
      answers = {
        list: [await compiled.request(EveryRunField, { first: 2 }), await resolvers.request(EveryRunField, { first: 2 })],
        nullable: [await compiled.request(RunArtifacts, { run }), await resolvers.request(RunArtifacts, { run })],
      };
    } finally {
      await stack.core.db.$executeRawUnsafe('ALTER TABLE "ArtifactAway" RENAME TO "Artifact"');
    }
    // One root field: byte for byte what the resolvers answer when the database fails them.
    for (const [fromCompiled, fromResolvers] of Object.values(answers)) {
      expect(fromCompiled.text).toBe(fromResolvers.text);
      expect(fromCompiled.body.errors?.map((error) => [error.message, error.extensions?.code])).toEqual([
        ['Unexpected error.', 'INTERNAL_SERVER_ERROR'],
      ]);
      expect(fromCompiled.text).not.toMatch(/Artifact|postgres|\.ts:/);
      // The failed statement is all that ran: the resolvers did not read it all again.
      expect(fromCompiled.statements).toEqual([]);
    }
    expect(answers.list[0].body).toMatchObject({ data: null, errors: [{ path: ['runs'] }] });
    expect(answers.nullable[0].body).toMatchObject({ data: { run: null }, errors: [{ path: ['run'] }] });
    expect(fallbacks).toEqual([]);
    // Logged each time, with the database's reason.
    expect(logged).toEqual([
      expect.stringMatching(
        /^compiled read failed \(operation CompiledEveryRunField\), answered as an error: .*relation "Artifact" does not exist \[SQLSTATE 42P01\]$/,
      ),
      expect.stringMatching(/^compiled read failed \(operation RunArtifacts\), answered as an error: .*relation "Artifact" does not exist/),
    ]);

    // Several root fields: the statement answers all of them, so each fails, as graphql-js reports
    // root fields that threw: null where a field may be null, `data: null` at the first that may not.
    await stack.core.db.$executeRawUnsafe('ALTER TABLE "RoutineRun" RENAME TO "RoutineRunAway"');
    let twoRoots;
    try {
      twoRoots = await compiled.request(TwoRoots, { run });
    } finally {
      await stack.core.db.$executeRawUnsafe('ALTER TABLE "RoutineRunAway" RENAME TO "RoutineRun"');
    }
    expect(twoRoots.body).toEqual({
      errors: [
        { message: 'Unexpected error.', locations: [{ line: 3, column: 3 }], path: ['one'], extensions: { code: 'INTERNAL_SERVER_ERROR' } },
        { message: 'Unexpected error.', locations: [{ line: 6, column: 3 }], path: ['all'], extensions: { code: 'INTERNAL_SERVER_ERROR' } },
      ],
      data: null,
    });
  });

  it('logs why a query goes to the resolvers once per document and kind of reason, not per request', async () => {
    // A server of its own: the one above has seen these documents already.
    const ownLog: string[] = [];
    const ownReasons: string[] = [];
    const own = countedGraphQL({
      databaseUrl: stack.database.url,
      services: stack.api.services,
      token: stack.admin.options.token!,
      onCompiledReadFallback: (reason) => ownReasons.push(reason),
      log: (message) => ownLog.push(message),
    });
    try {
      const withArtifacts = (await stack.core.db.artifact.findFirstOrThrow({ where: { runId: { in: runIds } } })).runId;
      for (let i = 0; i < 3; i++) await own.request(NotCompiled, { run: gid('RoutineRun', withArtifacts) });
      for (const first of [101, 102, -1]) await own.request(PageOf, { first });
      expect((await own.request(PageOf, { first: 2 })).body.errors).toBeUndefined(); // compiled: nothing to log
    } finally {
      await own.close();
    }
    expect(ownReasons).toHaveLength(6); // every request is still told
    expect(ownLog).toEqual([
      'compiled reads: query CompiledNotCompiled goes to the resolvers (logged once per document): not compiled: Artifact.downloadUrl',
      expect.stringMatching(
        /^compiled reads: query CompiledPageOf goes to the resolvers \(logged once per document\): argument: .*"first" must be between 0 and 100/,
      ),
    ]);
  });

  it("the compiled text is the resolvers' JSON values, with PostgreSQL's spelling of numbers, key order and whitespace", async () => {
    const { texts } = await same(EveryRunField, { first: 100 });
    const [compiledText, resolverText] = texts;
    expect(compiledText).not.toBe(resolverText);
    // Number tokens (outside strings) the compiled text spells differently from JSON.stringify,
    // each the same double: Json columns (numeric in jsonb) as stored — every digit, no exponent,
    // trailing zeros kept; Float columns as PostgreSQL's float8 text.
    const respelled = new Map<string, string>();
    for (const token of compiledText.match(/"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g)!) {
      if (token.startsWith('"')) continue;
      const asJavaScript = JSON.stringify(Number(token));
      if (asJavaScript !== token) respelled.set(token, asJavaScript);
    }
    expect(Object.fromEntries(respelled)).toEqual({
      '12345678901234567890': '12345678901234567000', // outputs.big: more digits than a double holds
      [`15${'0'.repeat(299)}`]: '1.5e+300', // inputs.seed, written as 1.5e300
      '2.50': '2.5', // outputs.ratio
      '0.0000001': '1e-7', // outputs.tiny
      '1e-07': '1e-7', // resources.cpuTimeMs, a Float column
    });
    // In a Json value, jsonb orders keys shorter first; JSON.parse moves integer-like keys first.
    expect(compiledText).toContain('"metadata" : {"n": 1, "10": "ten", "rows": 2}');
    expect(resolverText).toContain('"metadata":{"10":"ten","n":1,"rows":2}');
  });

  it('the running API answers the same over HTTP, SSE and graphql-ws', async () => {
    const variables = { instances: 3, runs: 4, orderBy: { field: 'NAME' as const, direction: 'ASC' as const } };
    const expected = (await resolvers.request(Nested, variables)).body;
    expect(expected.errors).toBeUndefined();
    // HTTP, to the stack's API (compiled reads on by default).
    const overHttp = await stack.admin.request(Nested, variables);
    expect(overHttp.status).toBe(200);
    expect(JSON.stringify(overHttp.body)).toBe(JSON.stringify(expected));
    // SSE: one `next` event carrying the same answer.
    const sse = await fetch(stack.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${stack.admin.options.token}` },
      body: JSON.stringify({ query: print(Nested), variables }),
    });
    const event = (await sse.text()).split('\n').find((line) => line.startsWith('data: {'));
    expect(JSON.parse(event!.slice('data: '.length))).toEqual(expected);
    // graphql-ws: a query on a socket.
    const ws = stack.admin.ws();
    try {
      const [overWs] = await collect(ws, Nested, variables, (items) => items.length === 1, 10_000);
      expect(JSON.stringify({ data: overWs })).toBe(JSON.stringify(expected));
    } finally {
      await ws.dispose();
    }
  });

  it('the tests above compare every field it compiles', () => {
    const asked = new Set<string>();
    const documents: DocumentNode[] = [EveryRunField, Nested, Lookups, Shapes];
    for (const document of documents) {
      const typeInfo = new TypeInfo(schema);
      visit(
        document,
        visitWithTypeInfo(typeInfo, {
          Field() {
            const parent = typeInfo.getParentType();
            const field = typeInfo.getFieldDef();
            if (parent && field && isObjectType(getNamedType(parent))) asked.add(`${parent.name}.${field.name}`);
          },
        }),
      );
    }
    const compiledFields = Object.entries(COMPILED_FIELDS).flatMap(([type, fields]) => fields.map((field) => `${type}.${field}`));
    expect(
      compiledFields.filter((field) => !asked.has(field)),
      'every compiled field must be asked by a document of this file, so it is compared with the resolvers: add it to one',
    ).toEqual([]);
  });
});

describe('SeenFallbacks', () => {
  it('remembers the newest documents up to its limit, per kind and operation', () => {
    const seen = new SeenFallbacks(2);
    const [a, b, c] = ['{ a }', '{ b }', '{ c }'].map((text) => parse(text));
    expect(seen.firstTime(a, null, 'argument')).toBe(true);
    expect(seen.firstTime(parse('{ a }'), null, 'argument')).toBe(false); // the same text, parsed again
    expect(seen.firstTime(a, null, 'variables')).toBe(true);
    expect(seen.firstTime(a, 'Named', 'argument')).toBe(true); // forgets { a } argument, the oldest
    expect(seen.firstTime(a, null, 'argument')).toBe(true);
    expect(seen.firstTime(b, null, 'argument')).toBe(true);
    expect(seen.firstTime(c, null, 'argument')).toBe(true);
    expect(seen.firstTime(c, null, 'argument')).toBe(false);
  });
});
