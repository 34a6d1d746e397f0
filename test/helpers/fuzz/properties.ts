// The fuzz properties, each a fast-check async property over a Fuzzer: the test files assert them
// with a bounded count, bench/fuzz.ts runs them with a large one and collects every failure.
import fc from 'fast-check';
import { postMultipartUpload } from '../multipart-upload.ts';
import type { Fuzzer } from './harness.ts';
import { judgeHttp } from './oracle.ts';
import { methodInputsArb, mutationRequestArb, queryRequestArb, runFilterRequestArb, type FuzzRequest } from './schema-cases.ts';
import { describeValue, jsonText, nastyJson, nastyString, wrongTypeFor } from './values.ts';

/** The edge's refusals of text (src/rules/text.ts). */
const TEXT_RULE = /U\+0000|lone UTF-16 surrogate|nested deeper than/;

export type FuzzProperty = (fuzzer: Fuzzer) => fc.IAsyncPropertyWithHooks<[unknown]>;

/** Settles each case of one property with its run index: with the seed, the path that replays it. */
export function settler(fuzzer: Fuzzer, property: string): (input: unknown, violations: string[]) => void {
  let index = 0;
  return (input, violations) => fuzzer.settle(property, index++, input, violations);
}

function requestProperty(name: string, arb: (fuzzer: Fuzzer) => fc.Arbitrary<FuzzRequest>): FuzzProperty {
  return (fuzzer) => {
    const settle = settler(fuzzer, name);
    return fc.asyncProperty(arb(fuzzer) as fc.Arbitrary<unknown>, async (request) =>
      settle(request, await fuzzer.check(request as FuzzRequest)),
    );
  };
}

/** Every mutation's input, generated from the schema. */
export const mutationsProperty = requestProperty('mutations', (fuzzer) => mutationRequestArb(fuzzer.world));

/** Every Query field's arguments, generated from the schema (node/nodes ids, compareRuns, instances, …). */
export const queriesProperty = requestProperty('queries', (fuzzer) => queryRequestArb(fuzzer.world));

/** Every RunFilter field (with orderBy and first). */
export const runFilterProperty = requestProperty('runFilter', (fuzzer) => runFilterRequestArb(fuzzer.world));

/**
 * Wrong types for every parameter of every built-in method: createRun answers a ValidationError at
 * ["inputs", parameter] that says what was wrong with the value given, not that it is missing.
 */
export const methodParametersProperty: FuzzProperty = (fuzzer) => {
  const cases = fuzzer.world.routines.flatMap((routine, index) =>
    routine.methods.flatMap((method) =>
      method.parameters.map((parameter) => ({ instanceId: fuzzer.world.ids.instances[index], methodName: method.name, parameter })),
    ),
  );
  const settle = settler(fuzzer, 'methodParameters');
  const arb = fc
    .constantFrom(...cases)
    .chain((target) =>
      fc.tuple(
        fc.constant(target),
        wrongTypeFor(target.parameter.type),
        methodInputsArb(fuzzer.world),
        fc.constantFrom('DIRECT', 'WORKFLOW'),
      ),
    );
  return fc.asyncProperty(arb as fc.Arbitrary<unknown>, async (generated) => {
    const [target, wrong, others, invocationMethod] = generated as [(typeof cases)[number], unknown, unknown, string];
    const inputs = { ...(others && typeof others === 'object' && !Array.isArray(others) ? others : {}), [target.parameter.name]: wrong };
    const request: FuzzRequest = {
      target: 'Mutation.createRun',
      query: `mutation Fuzz($input: CreateRunInput!) { createRun(input: $input) { __typename ... on ValidationError { message fieldErrors { path message } } ... on Error { message } } }`,
      variables: { input: { instanceId: target.instanceId, methodName: target.methodName, inputs, invocationMethod, start: false } },
    };
    const violations = await fuzzer.check(request, (answer) => {
      const result = answer.body?.data?.createRun as
        { __typename?: string; fieldErrors?: { path: string[]; message: string }[] } | undefined;
      const expected = `${target.methodName}.${target.parameter.name} (${target.parameter.type}) = ${describeValue(wrong)}`;
      if (result?.__typename !== 'ValidationError') return [`${expected}: expected a ValidationError, got ${answer.text.slice(0, 300)}`];
      const mine = result.fieldErrors?.find((error) => error.path[0] === 'inputs' && error.path[1] === target.parameter.name);
      // Text the service refuses everywhere (NUL, lone surrogates, JSON too deep) in another
      // parameter is refused at the edge, before any parameter's type is looked at.
      const refusedText = (error: { path: string[]; message: string }) =>
        TEXT_RULE.test(error.message) && error.path[1] !== target.parameter.name;
      if (!mine && result.fieldErrors?.length && result.fieldErrors.every(refusedText)) return [];
      if (!mine) return [`${expected}: no fieldError at ["inputs","${target.parameter.name}"]: ${JSON.stringify(result.fieldErrors)}`];
      // The value was there: a message about a missing parameter misleads (issue 11 item 3).
      // (A field missing inside the value given, such as a table reference's `path`, is missing.)
      if (mine.path.length === 2 && /missing|required/i.test(mine.message))
        return [`${expected}: "${mine.message}" reads as missing, not as the wrong type it is`];
      return [];
    });
    settle(generated, violations);
  });
};

const csvCell = fc.oneof(nastyString, fc.double().map(String), fc.constantFrom('"', '""', '"a""b"', '"unclosed', '1e400', 'NaN', '-0', ''));
const csvBody = fc
  .tuple(
    fc.array(nastyString, { minLength: 1, maxLength: 4 }),
    fc.array(fc.array(csvCell, { minLength: 0, maxLength: 5 }), { maxLength: 5 }),
    fc.constantFrom('\n', '\r\n', '\r'),
  )
  .map(([header, rows, newline]) => [header, ...rows].map((row) => row.join(',')).join(newline));
const jsonBody = fc.oneof(
  fc.array(fc.dictionary(nastyString, nastyJson, { maxKeys: 3 }), { maxLength: 4 }).map(jsonText),
  fc.array(fc.array(nastyJson, { maxLength: 3 }), { maxLength: 4 }).map(jsonText),
  nastyJson.map(jsonText),
  nastyString,
);

/** Upload bodies (CSV and JSON) with hostile names, cells, keys and formats; now and then a multipart map that points elsewhere. */
export const uploadsProperty: FuzzProperty = (fuzzer) => {
  const arb = fc.record({
    format: fc.constantFrom<'CSV' | 'JSON' | null | 'XML'>('CSV', 'JSON', null, 'XML'),
    body: fc.oneof(csvBody, jsonBody),
    name: fc.oneof(fc.stringMatching(/^[a-z][a-z0-9_.-]{0,10}$/), nastyString),
    fileName: fc.constantFrom('data.csv', 'data.json', 'data', 'd\u0000.csv', '\ud800.json'),
    filePath: fc.oneof(
      { weight: 8, arbitrary: fc.constant('variables.input.file') },
      { weight: 1, arbitrary: fc.constantFrom('variables.input.name', 'variables.input', 'variables.file', 'variables.input.file.x') },
    ),
    instanceId: fc.constantFrom(...fuzzer.world.ids.instances),
  });
  const settle = settler(fuzzer, 'uploads');
  return fc.asyncProperty(arb as fc.Arbitrary<unknown>, async (generated) => {
    const upload = generated as {
      format: string | null;
      body: string;
      name: string;
      fileName: string;
      filePath: string;
      instanceId: string;
    };
    const query = `mutation Fuzz($input: UploadDatasetInput!) { uploadDataset(input: $input) { __typename ... on UploadDatasetSuccess { dataset { id } } ... on ValidationError { message fieldErrors { path message } } ... on Error { message } } }`;
    const variables = { input: { instanceId: upload.instanceId, name: upload.name, format: upload.format ?? undefined, file: null } };
    const request: FuzzRequest = { target: 'Mutation.uploadDataset', query, variables };
    const violations = await fuzzer.guarded(async () => {
      const started = performance.now();
      const answer = await postMultipartUpload({
        url: fuzzer.user.options.url,
        token: fuzzer.user.options.token!,
        query,
        variables,
        filePath: upload.filePath,
        fileName: upload.fileName,
        file: [Buffer.from(upload.body)],
      });
      let body;
      try {
        body = JSON.parse(answer.body);
      } catch {
        body = undefined;
      }
      const ms = performance.now() - started;
      return { verdict: judgeHttp(request, { status: answer.status, text: answer.body, body, ms }), ms };
    });
    settle(generated, violations);
  });
};
