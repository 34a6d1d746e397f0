// A typed GraphQL client over real HTTP and a real graphql-ws socket, for the codegen documents.
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print, type ExecutionResult } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

export class GraphQLTestClient {
  constructor(readonly options: { url: string; token: string | null }) {}

  /** Sends the operation over HTTP and returns the raw response (status and body). */
  async request<TResult, TVariables>(
    document: TypedDocumentNode<TResult, TVariables>,
    variables?: TVariables,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; body: ExecutionResult<TResult> }> {
    const response = await fetch(this.options.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json, application/json',
        ...(this.options.token ? { authorization: `Bearer ${this.options.token}` } : {}),
        ...headers,
      },
      body: JSON.stringify({ query: print(document), variables }),
    });
    return { status: response.status, body: (await response.json()) as ExecutionResult<TResult> };
  }

  /** Sends the operation and returns its data, failing on any GraphQL error. */
  async query<TResult, TVariables>(document: TypedDocumentNode<TResult, TVariables>, variables?: TVariables): Promise<TResult> {
    const { body } = await this.request(document, variables);
    if (body.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(body.errors)}`);
    return body.data as TResult;
  }

  /** A graphql-ws client on a real socket, authenticated in connection_init. */
  ws(options: { token?: string | null } = {}): Client {
    return createClient({
      url: this.options.url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      lazy: true,
      connectionParams: () => {
        const token = options.token === undefined ? this.options.token : options.token;
        return token ? { authorization: `Bearer ${token}` } : {};
      },
    });
  }
}

/** Collects a subscription's results until `until` says stop (or the timeout). */
export async function collect<TResult, TVariables extends Record<string, unknown>>(
  client: Client,
  document: TypedDocumentNode<TResult, TVariables>,
  variables: TVariables,
  until: (items: TResult[]) => boolean,
  timeoutMs = 30_000,
): Promise<TResult[]> {
  const items: TResult[] = [];
  const iterator = client.iterate<TResult>({ query: print(document), variables });
  const timer = setTimeout(() => void iterator.return?.(), timeoutMs);
  try {
    for await (const result of iterator) {
      if (result.errors?.length) throw new Error(`Subscription errors: ${JSON.stringify(result.errors)}`);
      items.push(result.data as TResult);
      if (until(items)) break;
    }
  } finally {
    clearTimeout(timer);
  }
  if (!until(items)) throw new Error(`Subscription ended after ${items.length} results without meeting its condition`);
  return items;
}

export async function waitFor<T>(
  check: () => Promise<T | null | undefined | false>,
  { timeoutMs = 30_000, intervalMs = 100, what = 'a condition' } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
