// Once a socket has unsent bytes, graphql-ws waits for each write before it reads the next
// event (graphql-ws-server.ts), so a reader that stops reading costs a bounded buffer — but it
// would hold its subscriptions forever. Sockets whose unsent bytes pile up or stop draining
// are closed with 1013 (try again later); the client resumes from its last sequence.
import type { WebSocket, WebSocketServer } from 'ws';

/** "Try Again Later": the client may reconnect and resume from its last sequence. */
export const SLOW_CONSUMER_CLOSE_CODE = 1013;
/** How long a stalled peer has to read its close frame before its socket is dropped. */
const STALLED_CLOSE_GRACE_MS = 15_000;

export function closeSlowConsumer(socket: WebSocket): void {
  closeWithGrace(socket, SLOW_CONSUMER_CLOSE_CODE, 'Subscriber too slow: reconnect and resume from your last sequence');
}

/** Closes with a code the peer can read, and drops the socket if the peer never completes the close. */
export function closeWithGrace(socket: WebSocket, code: number, reason: string): void {
  if (socket.readyState !== socket.OPEN) return;
  socket.close(code, reason);
  // A peer that never reads again cannot complete the close handshake: drop it.
  setTimeout(() => socket.terminate(), STALLED_CLOSE_GRACE_MS).unref();
}

/** Sweeps the server's sockets for stalled ones until the returned function is called. */
export function sweepStalledSockets({
  wsServer,
  maxBufferedBytes,
  stallTimeoutMs,
}: {
  wsServer: WebSocketServer;
  maxBufferedBytes: number;
  stallTimeoutMs: number;
}): () => void {
  const stalledSince = new Map<WebSocket, number>();
  const stallCheck = setInterval(
    () => {
      const now = Date.now();
      for (const socket of wsServer.clients) {
        if (socket.readyState !== socket.OPEN) continue;
        if (socket.bufferedAmount === 0) {
          stalledSince.delete(socket);
          continue;
        }
        const since = stalledSince.get(socket) ?? now;
        stalledSince.set(socket, since);
        if (socket.bufferedAmount > maxBufferedBytes || now - since >= stallTimeoutMs) {
          stalledSince.delete(socket);
          closeSlowConsumer(socket);
        }
      }
      for (const socket of stalledSince.keys()) if (socket.readyState !== socket.OPEN) stalledSince.delete(socket);
    },
    Math.min(1000, stallTimeoutMs / 2),
  );
  stallCheck.unref();
  return () => clearInterval(stallCheck);
}
