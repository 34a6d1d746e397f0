// Automatic persisted queries (the APQ convention Apollo clients and yoga share): a client sends
// `extensions.persistedQuery.sha256Hash` alone, gets PERSISTED_QUERY_NOT_FOUND once, then sends the
// document with its hash, and from then on the hash alone. The document then goes the same way as
// any other (token first, parse, validation, every limit of yoga.ts): persisting saves bytes on
// the wire and nothing else. graphql-ws has no such convention (its `subscribe` must carry the
// document), so this is HTTP and SSE, GET and POST.
import { useAPQ, type APQStore } from '@graphql-yoga/plugin-apq';
import { createGraphQLError, type Plugin } from 'graphql-yoga';
import { LruCache } from '../lru-cache.ts';

/**
 * Per process, bounded: registering needs the document whose hash it is, so a client can make us
 * hold at most this much, however many hashes it makes up. A larger document is answered with an
 * error and not kept (a client may still send it without the extension).
 */
export const PERSISTED_QUERY_LIMITS = {
  maxDocuments: 1000,
  /** Far above any document within GRAPHQL_MAX_TOKENS but for long string literals. */
  maxDocumentBytes: 64 * 1024,
  maxTotalBytes: 16 * 1024 * 1024,
};

export function persistedQueryStore(limits = PERSISTED_QUERY_LIMITS): APQStore & { readonly size: number } {
  const documents = new LruCache<string, string>(limits.maxDocuments, {
    maxWeight: limits.maxTotalBytes,
    weigh: (document) => Buffer.byteLength(document),
  });
  return {
    get size() {
      return documents.size;
    },
    get: (hash) => documents.get(hash),
    set(hash, document) {
      const bytes = Buffer.byteLength(document);
      if (bytes > limits.maxDocumentBytes) {
        throw createGraphQLError(
          `extensions.persistedQuery: the document has ${bytes} bytes; at most ${limits.maxDocumentBytes} are persisted (send it without persistedQuery)`,
          { extensions: { code: 'PERSISTED_QUERY_TOO_LARGE', maxBytes: limits.maxDocumentBytes, http: { status: 413 } } },
        );
      }
      documents.set(hash, document);
    },
  };
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * yoga's APQ plugin, with a bounded store and a clear message for a hash that is no SHA-256 hex
 * digest (the plugin would only say "PersistedQueryNotFound" or "PersistedQueryMismatch").
 */
export function usePersistedQueries(store: APQStore = persistedQueryStore()): Plugin {
  const apq = useAPQ({ store });
  return {
    async onParams(payload) {
      const persisted = (payload.params.extensions as { persistedQuery?: { sha256Hash?: unknown } } | undefined)?.persistedQuery;
      const hash = persisted?.sha256Hash;
      if (typeof hash === 'string' && !SHA256_HEX.test(hash)) {
        throw createGraphQLError(
          'extensions.persistedQuery.sha256Hash: expected the lowercase hex SHA-256 digest of the document (64 characters)',
          {
            extensions: { code: 'PERSISTED_QUERY_MISMATCH', http: { status: 400 } },
          },
        );
      }
      try {
        await apq.onParams!(payload);
      } catch (error) {
        // Clients match PersistedQueryNotFound by its message and code: only the mismatch is reworded.
        if ((error as { extensions?: { code?: unknown } }).extensions?.code !== 'PERSISTED_QUERY_MISMATCH') throw error;
        throw createGraphQLError(
          'PersistedQueryMismatch: extensions.persistedQuery.sha256Hash is not the SHA-256 of the query sent with it (nothing was persisted)',
          { extensions: { code: 'PERSISTED_QUERY_MISMATCH', http: { status: 400 } } },
        );
      }
    },
  };
}
