// deleteDataset: refused with DatasetInUseError while a run that has not finished names the data
// set in its inputs (a draft, a QUEUED run: this stack has no worker, so it stays queued);
// allowed once they are gone, and then the file, the row and the download are gone too.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../src/auth/tokens.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';

const CSV = 'a,b\n0,0\n0,1\n1,0\n10,10\n10,11\n11,10\n';
const ERRORS = '__typename ... on Error { message } ... on ForbiddenError { requiredRole }';
const DELETE = `mutation($input: DeleteDatasetInput!) { deleteDataset(input: $input) {
  ${ERRORS} ... on DeleteDatasetSuccess { deletedDatasetId } ... on DatasetInUseError { runIds runCount } } }`;

describe('deleteDataset', () => {
  let stack: TestStack;
  const tokens: Record<string, string> = {};
  let instanceId: string;

  async function gql(who: string, query: string, variables: Record<string, unknown> = {}) {
    const response = await fetch(stack.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens[who]}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as { data?: Record<string, Record<string, unknown>>; errors?: unknown };
    if (body.errors || !body.data) throw new Error(JSON.stringify(body));
    return body.data;
  }

  async function upload(name: string): Promise<{ id: string; path: string }> {
    const form = new FormData();
    form.append(
      'operations',
      JSON.stringify({
        query: `mutation($input: UploadDatasetInput!) { uploadDataset(input: $input) { ${ERRORS} ... on UploadDatasetSuccess { dataset { id path } } } }`,
        variables: { input: { instanceId, name, file: null } },
      }),
    );
    form.append('map', JSON.stringify({ 0: ['variables.input.file'] }));
    form.append('0', new Blob([CSV], { type: 'text/csv' }), `${name}.csv`);
    const response = await fetch(stack.url, { method: 'POST', body: form, headers: { authorization: `Bearer ${tokens.operator}` } });
    const body = (await response.json()) as { data?: { uploadDataset: { dataset?: { id: string; path: string } } } };
    if (!body.data?.uploadDataset.dataset) throw new Error(JSON.stringify(body));
    return body.data.uploadDataset.dataset;
  }

  async function fitRun(datasetPath: string, start: boolean): Promise<{ id: string; status: string }> {
    const data = await gql(
      'operator',
      `mutation($input: CreateRunInput!) { createRun(input: $input) { ${ERRORS} ... on CreateRunSuccess { run { id status } } } }`,
      {
        input: {
          instanceId,
          methodName: 'fit',
          executionType: 'BACKGROUND',
          start,
          inputs: { points: { path: datasetPath, columns: ['a', 'b'] } },
        },
      },
    );
    const run = data.createRun.run as { id: string; status: string } | undefined;
    if (!run) throw new Error(JSON.stringify(data));
    return run;
  }

  async function cancel(id: string): Promise<void> {
    const data = await gql('operator', `mutation($input: CancelRunInput!) { cancelRun(input: $input) { ${ERRORS} } }`, { input: { id } });
    expect(data.cancelRun.__typename).toBe('CancelRunSuccess');
  }

  function download(id: string): Promise<Response> {
    return fetch(`${new URL(stack.url).origin}/datasets/${id}/data`, { headers: { authorization: `Bearer ${tokens.operator}` } });
  }

  const rawId = (globalId: string) => Buffer.from(globalId, 'base64').toString('utf8').split(':')[1];
  const storedDir = (dataset: { path: string }) => path.join(stack.core.storageRoot, dataset.path.replace(/^routine:\/\//, ''));

  beforeAll(async () => {
    stack = await startTestStack({ withWorker: false });
    const db = stack.core.db;
    for (const [who, role] of [
      ['operator', 'OPERATOR'],
      ['viewer', 'VIEWER'],
    ] as const)
      tokens[who] = (await createToken({ db, userName: `ds-${who}`, workspace: 'ds-a', role, bind: true })).token;
    tokens.outsider = (await createToken({ db, userName: 'ds-outsider', workspace: 'ds-b', role: 'ADMIN', bind: true })).token;
    tokens.maintainer = (await createToken({ db, userName: 'ds-maintainer', workspace: 'ds-a', role: 'MAINTAINER', bind: true })).token;
    const created = await gql(
      'maintainer',
      `mutation($input: CreateInstanceInput!) { createInstance(input: $input) { ${ERRORS} ... on CreateInstanceSuccess { instance { id } } } }`,
      { input: { name: 'ds-km', routineName: 'kmeans' } },
    );
    instanceId = (created.createInstance.instance as { id: string }).id;
    const configured = await gql(
      'maintainer',
      `mutation($input: CreateRunInput!) { createRun(input: $input) { ${ERRORS} ... on CreateRunSuccess { run { status } } } }`,
      { input: { instanceId, methodName: 'configure', executionType: 'IN_MEMORY', inputs: { k: 2, seed: 1 } } },
    );
    expect(configured.createRun.run).toEqual({ status: 'COMPLETED' });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('is refused while a draft or a queued run names the data set, and allowed once they are cancelled', async () => {
    const dataset = await upload('points');
    const draft = await fitRun(dataset.path, false);
    const queued = await fitRun(dataset.path, true);
    expect([draft.status, queued.status]).toEqual(['CREATED', 'QUEUED']);

    const refused = (await gql('operator', DELETE, { input: { id: dataset.id } })).deleteDataset;
    expect(refused).toMatchObject({ __typename: 'DatasetInUseError', runCount: 2, message: expect.stringContaining('2 runs') });
    expect(refused.runIds).toEqual([draft.id, queued.id]);
    expect((await download(rawId(dataset.id))).status).toBe(200);

    await cancel(queued.id);
    const stillDraft = (await gql('operator', DELETE, { input: { id: dataset.id } })).deleteDataset;
    expect(stillDraft).toMatchObject({ __typename: 'DatasetInUseError', runCount: 1, runIds: [draft.id] });

    await cancel(draft.id);
    expect(existsSync(storedDir(dataset))).toBe(true);
    const deleted = (await gql('operator', DELETE, { input: { id: dataset.id } })).deleteDataset;
    expect(deleted).toEqual({ __typename: 'DeleteDatasetSuccess', deletedDatasetId: dataset.id });
    expect(existsSync(storedDir(dataset))).toBe(false);
    expect((await download(rawId(dataset.id))).status).toBe(404);
    expect((await gql('operator', `query($id: ID!) { node(id: $id) { id } }`, { id: dataset.id })).node).toBeNull();
    const again = (await gql('operator', DELETE, { input: { id: dataset.id } })).deleteDataset;
    expect(again.__typename).toBe('NotFoundError');
    const audited = await stack.core.db.auditEvent.findMany({ where: { operation: 'deleteDataset' }, orderBy: { at: 'asc' } });
    expect(audited.map((event) => [event.resultType, event.targetIds.includes(dataset.id)])).toEqual([
      ['DatasetInUseError', true],
      ['DatasetInUseError', true],
      ['DeleteDatasetSuccess', true],
      ['NotFoundError', true],
    ]);
  });

  it('is not held up by finished runs that read the data set', async () => {
    const dataset = await upload('finished');
    const read = await gql(
      'operator',
      `mutation($input: CreateRunInput!) { createRun(input: $input) { ${ERRORS} ... on CreateRunSuccess { run { status } } } }`,
      {
        input: {
          instanceId,
          methodName: 'fit',
          executionType: 'IN_MEMORY',
          inputs: { points: { path: dataset.path, columns: ['a', 'b'] } },
        },
      },
    );
    expect(read.createRun.run).toEqual({ status: 'COMPLETED' });
    const deleted = (await gql('operator', DELETE, { input: { id: dataset.id } })).deleteDataset;
    expect(deleted.__typename).toBe('DeleteDatasetSuccess');
  });

  it('never lets a run be queued on a data set deleted at the same moment: one of the two is refused', async () => {
    for (let round = 0; round < 12; round++) {
      const dataset = await upload(`race-${round}`);
      const [created, deleted] = await Promise.all([
        gql(
          'operator',
          `mutation($input: CreateRunInput!) { createRun(input: $input) { ${ERRORS}
            ... on CreateRunSuccess { run { id status } } ... on ValidationError { fieldErrors { path message } } } }`,
          { input: { instanceId, methodName: 'fit', inputs: { points: { path: dataset.path, columns: ['a', 'b'] } } } },
        ).then((data) => data.createRun),
        // Staggered over the rounds so the delete lands before, inside and after createRun's transaction.
        new Promise((resolve) => setTimeout(resolve, round * 3)).then(() =>
          gql('operator', DELETE, { input: { id: dataset.id } }).then((data) => data.deleteDataset),
        ),
      ]);
      const outcome = `${created.__typename} + ${deleted.__typename}`;
      expect(['CreateRunSuccess + DatasetInUseError', 'ValidationError + DeleteDatasetSuccess']).toContain(outcome);
      if (created.__typename === 'ValidationError') {
        expect(created.fieldErrors).toEqual([{ path: ['inputs', 'points', 'path'], message: `No data set is stored at ${dataset.path}` }]);
      } else {
        await cancel((created.run as { id: string }).id);
      }
    }
  });

  it('needs the uploadDataset right: a VIEWER is forbidden, another workspace does not find it', async () => {
    const dataset = await upload('guarded');
    expect((await gql('viewer', DELETE, { input: { id: dataset.id } })).deleteDataset).toMatchObject({
      __typename: 'ForbiddenError',
      requiredRole: 'OPERATOR',
    });
    expect((await gql('outsider', DELETE, { input: { id: dataset.id } })).deleteDataset.__typename).toBe('NotFoundError');
    expect((await download(rawId(dataset.id))).status).toBe(200);
  });
});
