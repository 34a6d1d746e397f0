// Size limits of request bodies, applied before yoga reads them. Its multipart parser holds every
// uploaded file in memory until the whole request has arrived, so an upload (a GraphQL multipart
// request) may be as large as a data set may be (DATASET_MAX_BYTES) and no larger; any other body
// keeps yoga's usual limit. A body declared larger than its limit is refused before a byte of it is
// read, and a chunked body (no Content-Length) is counted as it streams and cut off once it passes
// the limit. The client gets a 413 with a GraphQL-shaped error naming the limit (and, for an
// upload, the field `file`); nothing reaches a resolver, so nothing is stored.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Transform } from 'node:stream';

/**
 * Room for the rest of a multipart request: the `operations` and `map` fields (busboy, yoga's
 * parser, caps a text field at 1 MiB) and the part boundaries. A file between the limit and the
 * limit plus this is read, then refused by uploadDataset's own check as a ValidationError on `file`.
 */
export const MULTIPART_ALLOWANCE_BYTES = 1024 * 1024;

/** yoga's default `maxRequestBodySize`, kept for bodies that are not uploads (yoga's own limit is off: this is it). */
export const MAX_REQUEST_BODY_BYTES = 25_000_000;

/**
 * After a 413, how long the rest of the body is read and thrown away before the connection is
 * dropped. Closing a socket with unread data makes the kernel send a reset, which can destroy
 * the 413 before the client reads it; a short linger lets a client that stops sending see it.
 */
const LINGER_MS = 5000;

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

interface Limit {
  maxBytes: number;
  /** The error for a body of `size` bytes (declared), or one that passed `maxBytes` (counted). */
  error(body: { size: number } | { passed: number }): { message: string; extensions: Record<string, unknown> };
}

export class UploadLimit {
  private readonly upload: Limit;
  private readonly other: Limit;

  constructor({ maxFileBytes }: { maxFileBytes: number }) {
    this.upload = {
      maxBytes: maxFileBytes + MULTIPART_ALLOWANCE_BYTES,
      error: (body) => ({
        message: `${'size' in body ? `The upload has ${body.size} bytes` : `The upload passed ${body.passed} bytes`}; a file of at most ${maxFileBytes} bytes can be uploaded (DATASET_MAX_BYTES)`,
        extensions: { code: 'REQUEST_ENTITY_TOO_LARGE', field: 'file', maxBytes: maxFileBytes },
      }),
    };
    this.other = {
      maxBytes: MAX_REQUEST_BODY_BYTES,
      error: (body) => ({
        message: `${'size' in body ? `The request body has ${body.size} bytes` : `The request body passed ${body.passed} bytes`}; at most ${MAX_REQUEST_BODY_BYTES} are read (send files as uploads)`,
        extensions: { code: 'REQUEST_ENTITY_TOO_LARGE', maxBytes: MAX_REQUEST_BODY_BYTES },
      }),
    };
  }

  /**
   * The request to hand to yoga, or null when this has already answered it. A body whose
   * Content-Length is within the limit cannot grow past it (Node enforces the length), so only
   * chunked bodies are counted.
   */
  admit(req: IncomingMessage, res: ServerResponse): IncomingMessage | null {
    const limit = this.limitOf(req);
    if (!limit) return req;
    const declared = declaredLength(req);
    if (declared === null && req.headers['transfer-encoding'] === undefined) return req; // no body
    if (declared !== null) {
      if (declared <= limit.maxBytes) return req;
      refuse({ req, res, error: limit.error({ size: declared }) });
      return null;
    }
    return counted({ req, res, limit });
  }

  /**
   * `Expect: 100-continue` (curl sends it for large uploads): a body declared too large is
   * refused before the client is told to send it (Node's `checkContinue` event).
   */
  checkContinue(req: IncomingMessage, res: ServerResponse, handle: Handler): void {
    const limit = this.limitOf(req);
    const declared = declaredLength(req);
    if (limit && declared !== null && declared > limit.maxBytes) {
      refuse({ req, res, error: limit.error({ size: declared }) });
      return;
    }
    res.writeContinue();
    handle(req, res);
  }

  private limitOf(req: IncomingMessage): Limit | null {
    if (req.method === 'GET' || req.method === 'HEAD') return null;
    return /^multipart\/form-data/i.test(req.headers['content-type'] ?? '') ? this.upload : this.other;
  }
}

function counted({ req, res, limit }: { req: IncomingMessage; res: ServerResponse; limit: Limit }): IncomingMessage {
  let received = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      received += chunk.length;
      if (received <= limit.maxBytes) {
        callback(null, chunk);
        return;
      }
      req.unpipe(counter);
      refuse({ req, res, error: limit.error({ passed: limit.maxBytes }) });
      // The parser sees its stream fail and stops; what it held of the body is released.
      callback(new Error(`Request body over ${limit.maxBytes} bytes`));
    },
  });
  req.pipe(counter);
  // @whatwg-node (under yoga) reads a request's `body` property instead of the request itself
  // when one is set, as frameworks that read bodies first do: the parser reads the counted copy.
  return Object.assign(req, { body: counter });
}

function refuse({
  req,
  res,
  error,
}: {
  req: IncomingMessage;
  res: ServerResponse;
  error: { message: string; extensions: Record<string, unknown> };
}): void {
  if (!res.headersSent) {
    const body = JSON.stringify({ errors: [error] });
    res.writeHead(413, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }
  linger(req);
}

function declaredLength(req: IncomingMessage): number | null {
  const header = req.headers['content-length'];
  return header !== undefined && /^\d+$/.test(header) ? Number(header) : null;
}

/** Reads and discards the rest of the body, for LINGER_MS at most, then drops the connection. */
function linger(req: IncomingMessage): void {
  if (req.readableEnded) return;
  const socket = req.socket;
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  timer.unref();
  req.on('end', () => clearTimeout(timer));
  req.on('close', () => clearTimeout(timer));
  req.resume();
}
