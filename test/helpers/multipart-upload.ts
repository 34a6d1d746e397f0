// A GraphQL multipart upload (the multipart request spec) written by hand over node:http, so the
// caller decides the framing — chunked and streamed as the file is produced, or only a declared
// Content-Length — and sees an early answer (a 413) while it is still sending. Used by the tests
// of the upload limit and by bench/artifacts.
import { randomBytes } from 'node:crypto';
import http from 'node:http';

export interface MultipartUpload {
  url: string;
  token: string;
  query: string;
  variables: Record<string, unknown>;
  /** Where the file goes in the operation, e.g. `variables.input.file`. */
  filePath: string;
  fileName: string;
  /** The file's bytes, sent as they are produced (nothing is held on the client). */
  file: Iterable<Buffer>;
  /** Declare this Content-Length and send no body at all: the server must answer from the headers. */
  declaredLength?: number;
  expectContinue?: boolean;
}

export interface UploadAnswer {
  status: number;
  body: string;
  /** Bytes of the file sent when the answer arrived (or in all). */
  sent: number;
  /** Whether the server said `100 Continue`. */
  continued: boolean;
}

export function postMultipartUpload(upload: MultipartUpload): Promise<UploadAnswer> {
  const boundary = `----rr${randomBytes(8).toString('hex')}`;
  const head =
    `--${boundary}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n${JSON.stringify({ query: upload.query, variables: upload.variables })}\r\n` +
    `--${boundary}\r\nContent-Disposition: form-data; name="map"\r\n\r\n${JSON.stringify({ 0: [upload.filePath] })}\r\n` +
    `--${boundary}\r\nContent-Disposition: form-data; name="0"; filename="${upload.fileName}"\r\nContent-Type: text/csv\r\n\r\n`;
  return new Promise((resolve, reject) => {
    let answered = false;
    let continued = false;
    let sent = 0;
    const request = http.request(upload.url, {
      method: 'POST',
      headers: {
        'content-type': `multipart/form-data; boundary=${boundary}`,
        authorization: `Bearer ${upload.token}`,
        ...(upload.declaredLength !== undefined ? { 'content-length': String(upload.declaredLength) } : {}),
        ...(upload.expectContinue ? { expect: '100-continue' } : {}),
      },
    });
    request.on('continue', () => (continued = true));
    request.on('response', (response) => {
      answered = true;
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (piece: string) => (body += piece));
      response.on('end', () => {
        request.destroy();
        resolve({ status: response.statusCode!, body, sent, continued });
      });
    });
    request.on('error', (error) => {
      if (!answered) reject(error);
    });
    if (upload.declaredLength !== undefined) {
      request.flushHeaders();
      return;
    }
    void (async () => {
      request.write(head);
      for (const piece of upload.file) {
        if (answered) return;
        sent += piece.length;
        if (!request.write(piece)) await new Promise((done) => request.once('drain', done));
        // Let an early answer in between writes, as a client reading its socket would.
        await new Promise((done) => setImmediate(done));
      }
      if (!answered) request.end(`\r\n--${boundary}--\r\n`);
    })().catch(reject);
  });
}
