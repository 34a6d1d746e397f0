// The console's only door to the service: queries and mutations with fetch, everything live over
// one graphql-ws socket, both on the public /graphql endpoint with the tab's token.
import { createClient, type Client } from 'graphql-ws';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { TypedDocumentString } from './gql/graphql.ts';
import { forgetToken, storedToken } from './token.ts';

const ENDPOINT = '/graphql';

/** The token was refused: the app asks for another. */
export class Unauthenticated extends Error {}

const unauthenticatedListeners = new Set<() => void>();

export function onUnauthenticated(listener: () => void): () => void {
  unauthenticatedListeners.add(listener);
  return () => unauthenticatedListeners.delete(listener);
}

function refuseToken(): Unauthenticated {
  forgetToken();
  resetSocket();
  for (const listener of unauthenticatedListeners) listener();
  return new Unauthenticated('The token was refused; enter a valid one.');
}

interface GraphQLErrorBody {
  message: string;
  extensions?: { code?: string };
}

export async function request<TResult, TVariables>(
  document: TypedDocumentString<TResult, TVariables>,
  ...[variables]: TVariables extends Record<string, never> ? [] | [TVariables] : [TVariables]
): Promise<TResult> {
  const response = await fetch(ENDPOINT, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
      authorization: `Bearer ${storedToken() ?? ''}`,
    },
    body: JSON.stringify({ query: document.toString(), variables }),
  });
  const body = (await response.json().catch(() => ({}))) as { data?: TResult; errors?: GraphQLErrorBody[] };
  if (response.status === 401 || body.errors?.some((error) => error.extensions?.code === 'UNAUTHENTICATED')) throw refuseToken();
  if (body.errors?.length) throw new Error(body.errors.map((error) => error.message).join('; '));
  if (!response.ok || !body.data) throw new Error(`The API answered HTTP ${response.status}`);
  return body.data;
}

let socket: Client | null = null;

function resetSocket(): void {
  void socket?.dispose();
  socket = null;
}

function liveClient(): Client {
  socket ??= createClient({
    url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${ENDPOINT}`,
    connectionParams: () => ({ authorization: `Bearer ${storedToken() ?? ''}` }),
    lazy: true,
    // Reconnects for as long as the page is open (live views resume where they left off), except
    // when the service refused or ended the token's access: then the token is asked for again.
    retryAttempts: Infinity,
    shouldRetry: (closed) => !isAccessRefusal(closed),
    on: {
      closed: (closed) => {
        if (isAccessRefusal(closed)) refuseToken();
      },
    },
  });
  return socket;
}

/** The service closes a socket with 4403 when a token is refused, revoked or expired. */
const ACCESS_REFUSED_CLOSE_CODE = 4403;

function isAccessRefusal(closed: unknown): boolean {
  return (closed as { code?: number } | null)?.code === ACCESS_REFUSED_CLOSE_CODE;
}

/** Streams a subscription to `onData` until the returned function is called. */
export function subscribe<TResult, TVariables>(
  document: TypedDocumentString<TResult, TVariables>,
  variables: TVariables,
  onData: (data: TResult) => void,
): () => void {
  return liveClient().subscribe<TResult>(
    { query: document.toString(), variables: variables as Record<string, unknown> },
    {
      next: (result) => {
        if (result.errors?.some((error) => error.extensions?.code === 'UNAUTHENTICATED')) refuseToken();
        else if (result.data) onData(result.data);
      },
      error: () => {},
      complete: () => {},
    },
  );
}

export interface Loaded<T> {
  data: T | null;
  error: string | null;
  loading: boolean;
  reload: () => void;
}

/** Runs a query whenever `key` changes; `reload` runs it again (after a mutation or a live change). */
export function useQuery<TResult, TVariables>(
  document: TypedDocumentString<TResult, TVariables>,
  variables: TVariables,
  key: string = JSON.stringify(variables),
): Loaded<TResult> {
  const [state, setState] = useState<{ data: TResult | null; error: string | null; loading: boolean }>({
    data: null,
    error: null,
    loading: true,
  });
  const [generation, setGeneration] = useState(0);
  const variablesRef = useRef(variables);
  variablesRef.current = variables;
  useEffect(() => {
    let current = true;
    setState((previous) => ({ ...previous, loading: true }));
    request(document, ...([variablesRef.current] as never)).then(
      (data) => current && setState({ data, error: null, loading: false }),
      (error: unknown) => current && setState((previous) => ({ ...previous, error: errorMessage(error), loading: false })),
    );
    return () => {
      current = false;
    };
  }, [document, key, generation]);
  return { ...state, reload: () => setGeneration((value) => value + 1) };
}

/** Subscribes while the component shows and `key` stays the same. */
export function useSubscription<TResult, TVariables>(
  document: TypedDocumentString<TResult, TVariables>,
  variables: TVariables,
  onData: (data: TResult) => void,
  key: string = JSON.stringify(variables),
): void {
  const handler = useRef(onData);
  handler.current = onData;
  const variablesRef = useRef(variables);
  variablesRef.current = variables;
  useEffect(() => subscribe(document, variablesRef.current, (data) => handler.current(data)), [document, key]);
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The message and field errors of a mutation's error result (any member of its union but the success). */
export interface Refusal {
  message: string;
  fields: Record<string, string>;
}

export function refusalOf(result: { __typename?: string; message?: string; fieldErrors?: { path: string[]; message: string }[] }): Refusal {
  const fields: Record<string, string> = {};
  for (const fieldError of result.fieldErrors ?? []) fields[fieldError.path[fieldError.path.length - 1]] = fieldError.message;
  return { message: result.message ?? result.__typename ?? 'Refused', fields };
}
