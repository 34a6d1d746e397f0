// The CLI's only way to the service: the public GraphQL endpoint over HTTP (fetch), and the
// watchRun recipe over graphql-ws for anything live. Every failure to get an answer becomes a
// UsageError, which main.ts prints as one line and turns into exit code 3.
import { readFileSync } from 'node:fs';
import path from 'node:path';

export const DEFAULT_URL = 'http://127.0.0.1:4000/graphql';

/** Bad usage, unreachable service, refused token, unknown id: one line on stderr, exit 3. */
export class UsageError extends Error {}

export interface Connection {
  url: string;
  token: string;
}

/** Flags win over ROUTINES_URL / ROUTINES_TOKEN, which win over the dev token of a local `npm start`. */
export function resolveConnection(flags: { url?: string; token?: string }, env: NodeJS.ProcessEnv = process.env): Connection {
  const url = flags.url ?? env.ROUTINES_URL ?? DEFAULT_URL;
  try {
    new URL(url);
  } catch {
    throw new UsageError(`Not a URL: ${url} (set ROUTINES_URL or --url, e.g. ${DEFAULT_URL})`);
  }
  const token = flags.token ?? env.ROUTINES_TOKEN ?? readDevToken(env);
  return { url, token };
}

function readDevToken(env: NodeJS.ProcessEnv): string {
  const file = path.resolve(env.DATA_DIR ?? '.data', 'dev-token');
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    throw new UsageError(`No token: set ROUTINES_TOKEN or --token (no dev token at ${file}; \`npm start\` writes one)`);
  }
}

interface GraphQLErrorBody {
  message: string;
  extensions?: { code?: string };
}

export class GraphQLClient {
  constructor(readonly connection: Connection) {}

  async request<TData>(query: string, variables: Record<string, unknown> = {}): Promise<TData> {
    let response: Response;
    try {
      response = await fetch(this.connection.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/graphql-response+json, application/json',
          authorization: `Bearer ${this.connection.token}`,
        },
        body: JSON.stringify({ query, variables }),
      });
    } catch (error) {
      throw new UsageError(`Cannot reach ${this.connection.url}: ${networkReason(error)}`);
    }
    const text = await response.text();
    let body: { data?: TData | null; errors?: GraphQLErrorBody[] };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      throw new UsageError(`${this.connection.url} answered HTTP ${response.status}, not GraphQL: ${text.slice(0, 120)}`);
    }
    if (response.status === 401) {
      throw new UsageError(`The service refused the token (401): ${body.errors?.[0]?.message ?? 'unauthenticated'}`);
    }
    if (body.errors?.length) {
      const [first] = body.errors;
      const code = first.extensions?.code ? ` (${first.extensions.code})` : '';
      throw new UsageError(`${first.message}${code}`);
    }
    if (!body.data) throw new UsageError(`${this.connection.url} answered HTTP ${response.status} without data`);
    return body.data;
  }

  /** Streams a GET (a signed download link) with the bearer token; refusals become UsageErrors. */
  async download(url: string): Promise<ReadableStream<Uint8Array>> {
    let response: Response;
    const absolute = new URL(url, this.connection.url);
    try {
      response = await fetch(absolute, { headers: { authorization: `Bearer ${this.connection.token}` } });
    } catch (error) {
      throw new UsageError(`Cannot reach ${absolute.origin}: ${networkReason(error)}`);
    }
    if (!response.ok || !response.body) {
      const text = (await response.text()).slice(0, 200);
      throw new UsageError(`Download refused (HTTP ${response.status}): ${text}`);
    }
    return response.body;
  }
}

export function networkReason(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}
