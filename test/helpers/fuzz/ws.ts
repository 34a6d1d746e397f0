// graphql-ws messages as raw frames over a real socket: garbage JSON, unknown types, huge ids and
// payloads, subscribes with bad documents and hostile variables. Properties: a socket the server
// closes is closed with a documented code (44xx, or 1009 for a frame past the cap), never
// 1011/4500; a well-formed subscribe with a bad document is answered on its own id and leaves the
// socket open (SSE does the same); another socket's subscription and the HTTP canary keep working.
import fc from 'fast-check';
import type { Client } from 'graphql-ws';
import { RawWebSocket } from '../raw-websocket.ts';
import type { Fuzzer } from './harness.ts';
import { settler } from './properties.ts';
import { runFilterRequestArb } from './schema-cases.ts';
import { deepJson, jsonText, nastyJson, nastyString, RawJson } from './values.ts';

interface Frame {
  /** What the frame is, for reports. */
  kind: string;
  text: string;
  /** A subscribe the protocol accepts (string id, string query, object variables): it must not cost the socket. */
  wellFormedSubscribe: boolean;
}

const manyAliases = `subscription { ${Array.from({ length: 3000 }, (_, i) => `a${i}: __typename`).join(' ')} }`;
const manyTokens = `subscription { runsUpdated { ${'run { id } '.repeat(5000)} } }`;

function documentArb(fuzzer: Fuzzer): fc.Arbitrary<{ query: string; variables?: unknown }> {
  return fc.oneof(
    fc.constantFrom(
      { query: 'subscription {' },
      { query: 'subscription { nope }' },
      { query: 'subscription { runUpdated { sequence } }' },
      { query: '{ viewer { nam } }' },
      { query: '{ viewer { id } }' },
      { query: manyAliases },
      { query: manyTokens },
      { query: 'subscription A { runsUpdated { sequence } } subscription B { runsUpdated { sequence } }' },
      { query: 'subscription { __schema { types { name } } }' },
      { query: '' },
    ),
    nastyString.map((query) => ({ query })),
    // The real subscriptions with hostile variables.
    runFilterRequestArb(fuzzer.world).map((request) => ({
      query:
        'subscription Fuzz($filter: RunFilter, $since: DateTime) { runsUpdated(filter: $filter, since: $since) { sequence matchesFilter } }',
      variables: { filter: request.variables.filter, since: null },
    })),
    fc
      .record({ id: nastyString, afterSequence: fc.oneof(fc.integer(), fc.constant(new RawJson('1e400')), nastyString) })
      .map((variables) => ({
        query: 'subscription Fuzz($id: ID!, $afterSequence: Int) { runUpdated(id: $id, afterSequence: $afterSequence) { sequence } }',
        variables,
      })),
  );
}

function frameArb(fuzzer: Fuzzer): fc.Arbitrary<Frame> {
  const idArb = fc.oneof(
    { weight: 6, arbitrary: fc.string({ minLength: 1, maxLength: 8 }) },
    { weight: 1, arbitrary: nastyString.filter((id) => id.length > 0) },
    { weight: 1, arbitrary: fc.constantFrom(100_000, 600_000).map((size) => 'i'.repeat(size)) },
  );
  const subscribe = fc.tuple(idArb, documentArb(fuzzer)).map(([id, document]): Frame => {
    const variables = document.variables;
    const wellFormed =
      variables === undefined ||
      variables === null ||
      (typeof variables === 'object' && !Array.isArray(variables) && !(variables instanceof RawJson));
    return {
      kind: `subscribe ${document.query.slice(0, 60)}`,
      text: jsonText({ id, type: 'subscribe', payload: document }),
      wellFormedSubscribe: wellFormed,
    };
  });
  const garbage = fc
    .oneof(
      nastyString,
      fc.constantFrom(
        '{',
        'null',
        '[]',
        '1e400',
        '"connection_init"',
        '{"type":null}',
        '{"type":"subscribe"}',
        '{"type":"subscribe","id":""}',
      ),
      nastyJson.map(jsonText),
      fc.constant(deepJson(100_000, 'object').text),
      // Past a 1 MiB frame cap, when there is one (item 5): 1009 is a documented answer.
      fc.constant(`{"type":"ping","payload":"${'p'.repeat(2 * 1024 * 1024)}"}`),
    )
    .map((text): Frame => ({ kind: `garbage ${text.slice(0, 40)}`, text, wellFormedSubscribe: false }));
  const unknownType = fc
    .oneof(nastyString, fc.constantFrom('next', 'error', 'connection_ack', 'connection_init', 'start', 'stop', 'complete', 'pong', 'ping'))
    .chain((type) => fc.record({ type: fc.constant(type), id: fc.option(idArb), payload: fc.option(nastyJson) }))
    .map((message): Frame => ({ kind: `type ${String(message.type).slice(0, 30)}`, text: jsonText(message), wellFormedSubscribe: false }));
  return fc.oneof({ weight: 4, arbitrary: subscribe }, { weight: 2, arbitrary: garbage }, { weight: 2, arbitrary: unknownType });
}

const DOCUMENTED_CLOSE = (code: number) => (code >= 4400 && code <= 4499) || code === 1009;

/**
 * A healthy graphql-ws subscriber for the whole property: it must never be closed by what the
 * fuzzed sockets send.
 */
export function healthySubscriber(fuzzer: Fuzzer): { client: Client; closed: () => string | null; stop: () => Promise<void> } {
  const client = fuzzer.user.ws();
  let closedWith: string | null = null;
  client.on('closed', (event) => {
    closedWith = `healthy subscriber closed: ${(event as { code?: number }).code} ${(event as { reason?: string }).reason ?? ''}`;
  });
  const dispose = client.subscribe(
    { query: 'subscription { runsUpdated(filter: { labelsAny: ["fuzz"] }) { sequence } }' },
    { next: () => {}, error: (error) => (closedWith = `healthy subscriber errored: ${JSON.stringify(error)}`), complete: () => {} },
  );
  return {
    client,
    closed: () => closedWith,
    stop: async () => {
      dispose();
      await client.dispose();
    },
  };
}

export function wsFramesProperty(fuzzer: Fuzzer, healthy: () => string | null) {
  const arb = fc.record({
    auth: fc.constantFrom<'token' | 'none' | 'bad' | 'skip-init'>('token', 'token', 'token', 'none', 'bad', 'skip-init'),
    frames: fc.array(frameArb(fuzzer), { minLength: 1, maxLength: 3 }),
  });
  const settle = settler(fuzzer, 'wsFrames');
  return fc.asyncProperty(arb, async ({ auth, frames }) => {
    const wsUrl = fuzzer.stack.url.replace(/^http/, 'ws');
    const violations = await fuzzer.guarded(async () => {
      const started = performance.now();
      const found: string[] = [];
      const labels: string[] = [];
      const socket = await RawWebSocket.connect({ url: wsUrl, protocol: 'graphql-transport-ws' });
      try {
        let acked = false;
        // The server already closed (e.g. 4403 for a bad token): the TCP connection ending after that (1006 to a reader) is the end of that close.
        let initClosed = false;
        if (auth !== 'skip-init') {
          const payload =
            auth === 'token'
              ? { authorization: `Bearer ${fuzzer.user.options.token}` }
              : auth === 'bad'
                ? { authorization: 'Bearer rr_nope' }
                : {};
          socket.sendText(JSON.stringify({ type: 'connection_init', payload }));
          const answer = await socket.nextText(5_000);
          acked = !!answer && 'text' in answer && answer.text.includes('connection_ack');
          if (auth === 'token' && !acked) found.push(`connection_init with a valid token was not acknowledged: ${JSON.stringify(answer)}`);
          if (answer && 'close' in answer) {
            labels.push(`close ${answer.close}`);
            if (!DOCUMENTED_CLOSE(answer.close))
              found.push(`connection_init answered by a close with ${answer.close} (not a documented 44xx/1009)`);
            initClosed = true;
          }
        }
        const ids = new Set<string>();
        for (const [index, frame] of frames.entries()) {
          // Distinct ids: a reused id is a documented 4409, not what this case is about.
          const text = frame.wellFormedSubscribe ? frame.text.replace(/^\{"id":"/, `{"id":"${index}-`) : frame.text;
          if (frame.wellFormedSubscribe) ids.add(String(index));
          socket.sendText(text);
        }
        // Read what comes back for a while: every close must be documented; a well-formed subscribe on an acknowledged socket must not close it.
        const deadline = Date.now() + 400;
        let closed: number | null = null;
        while (Date.now() < deadline) {
          const message = await socket.nextText(deadline - Date.now());
          if (!message) break;
          if ('close' in message) {
            closed = message.close;
            break;
          }
          const parsed = (() => {
            try {
              return JSON.parse(message.text) as { type?: string; payload?: unknown };
            } catch {
              return null;
            }
          })();
          if (!parsed) found.push(`server sent a frame that is not JSON: ${message.text.slice(0, 200)}`);
          else if (parsed.type === 'error') {
            labels.push('ws error');
            const errors = Array.isArray(parsed.payload) ? parsed.payload : [parsed.payload];
            for (const error of errors as { message?: string; extensions?: { code?: string } }[]) {
              if (error?.extensions?.code === 'INTERNAL_SERVER_ERROR' || /^Unexpected error/.test(error?.message ?? '')) {
                found.push(`subscribe answered an internal error: ${JSON.stringify(error).slice(0, 300)}`);
              }
            }
          }
        }
        if (closed !== null && !(initClosed && closed === 1006)) {
          labels.push(`close ${closed}`);
          if (!DOCUMENTED_CLOSE(closed)) found.push(`socket closed with ${closed} (not a documented 44xx/1009)`);
          const onlyWellFormed = frames.every((frame) => frame.wellFormedSubscribe && frame.text.length < 1024 * 1024);
          if (acked && onlyWellFormed) {
            found.push(
              `a well-formed subscribe closed the whole socket with ${closed} (answer that operation with an error instead): ${frames.map((f) => f.kind).join(' | ')}`,
            );
          }
        } else labels.push('open');
      } finally {
        socket.destroy();
      }
      const healthyProblem = healthy();
      if (healthyProblem) found.push(healthyProblem);
      // A socket stores nothing, whatever it sends.
      return { verdict: { violations: found, labels, refused: true }, ms: performance.now() - started };
    });
    settle(
      {
        auth,
        frames: frames.map((frame) => (frame.text.length > 300 ? `${frame.text.slice(0, 300)}… (${frame.text.length} chars)` : frame.text)),
      },
      violations,
    );
  });
}
