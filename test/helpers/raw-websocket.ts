// A WebSocket client on a bare TCP socket, for tests that need a reader which truly stops
// reading (the `ws` client resumes its socket by itself).
import { randomBytes } from 'node:crypto';
import net from 'node:net';

export class RawWebSocket {
  private chunks: Buffer[] = [];

  private constructor(private readonly socket: net.Socket) {}

  static async connect({ url, protocol }: { url: string; protocol: string }): Promise<RawWebSocket> {
    const target = new URL(url);
    const socket = net.connect({ host: target.hostname, port: Number(target.port) });
    await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    socket.write(
      [
        `GET ${target.pathname} HTTP/1.1`,
        `Host: ${target.host}`,
        'Upgrade: websocket',
        'Connection: Upgrade',
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
        'Sec-WebSocket-Version: 13',
        `Sec-WebSocket-Protocol: ${protocol}`,
        '',
        '',
      ].join('\r\n'),
    );
    const client = new RawWebSocket(socket);
    socket.on('data', (chunk) => client.chunks.push(chunk));
    await client.until((bytes) => bytes.includes('\r\n\r\n'));
    const response = Buffer.concat(client.chunks);
    const headerEnd = response.indexOf('\r\n\r\n') + 4;
    if (!response.subarray(0, headerEnd).toString().startsWith('HTTP/1.1 101')) throw new Error('upgrade refused');
    client.chunks = [response.subarray(headerEnd)];
    return client;
  }

  sendText(text: string): void {
    const payload = Buffer.from(text);
    const mask = randomBytes(4);
    const length =
      payload.length < 126
        ? Buffer.from([0x80 | payload.length])
        : payload.length < 65536
          ? Buffer.from([0x80 | 126, payload.length >> 8, payload.length & 0xff])
          : (() => {
              const b = Buffer.alloc(9);
              b[0] = 0x80 | 127;
              b.writeBigUInt64BE(BigInt(payload.length), 1);
              return b;
            })();
    const masked = Buffer.from(payload.map((byte, index) => byte ^ mask[index % 4]));
    this.socket.write(Buffer.concat([Buffer.from([0x81]), length, mask, masked]));
  }

  /** Stops reading: the kernel's receive buffer fills, then the server's send buffer. */
  stopReading(): void {
    this.socket.removeAllListeners('data');
    this.socket.pause();
  }

  resumeReading(): void {
    this.socket.on('data', (chunk) => this.chunks.push(chunk));
    this.socket.resume();
  }

  /** Reads frames until a close frame arrives; returns its code and how many text frames came first. */
  async closeCode(timeoutMs = 30_000): Promise<{ code: number; textFrames: number }> {
    const deadline = Date.now() + timeoutMs;
    let pending = Buffer.alloc(0);
    let textFrames = 0;
    for (;;) {
      if (this.chunks.length > 0) {
        pending = Buffer.concat([pending, ...this.chunks]);
        this.chunks = [];
        const parsed = parseFrames(pending);
        textFrames += parsed.textFrames;
        if (parsed.close !== null) return { code: parsed.close, textFrames };
        pending = pending.subarray(parsed.consumed);
      }
      if (Date.now() > deadline) throw new Error('no close frame');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /**
   * The next text frame's payload, or the close code when a close frame comes first; null when
   * nothing arrives in time. Pings are skipped. Bytes past the frame stay for the next read.
   */
  async nextText(timeoutMs = 5_000): Promise<{ text: string } | { close: number } | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const pending = Buffer.concat(this.chunks);
      this.chunks = [pending];
      const frame = firstFrame(pending);
      if (frame) {
        this.chunks = [pending.subarray(frame.end)];
        if (frame.opcode === 0x8) return { close: frame.payload.length >= 2 ? frame.payload.readUInt16BE(0) : 1005 };
        if (frame.opcode === 0x1) return { text: frame.payload.toString('utf8') };
        continue;
      }
      if (this.socket.destroyed || this.socket.readableEnded) return { close: 1006 };
      if (Date.now() > deadline) return null;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** Resolves when the server has closed the TCP connection. */
  ended(): Promise<void> {
    if (this.socket.readableEnded || this.socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => this.socket.once('close', () => resolve()));
  }

  private async until(check: (bytes: Buffer) => boolean): Promise<void> {
    while (!check(Buffer.concat(this.chunks))) await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function parseFrames(bytes: Buffer): { close: number | null; textFrames: number; consumed: number } {
  let offset = 0;
  let textFrames = 0;
  while (offset + 2 <= bytes.length) {
    const opcode = bytes[offset] & 0x0f;
    let length = bytes[offset + 1] & 0x7f;
    let header = 2;
    if (length === 126) {
      if (offset + 4 > bytes.length) break;
      length = bytes.readUInt16BE(offset + 2);
      header = 4;
    } else if (length === 127) {
      if (offset + 10 > bytes.length) break;
      length = Number(bytes.readBigUInt64BE(offset + 2));
      header = 10;
    }
    if (offset + header + length > bytes.length) break;
    if (opcode === 0x8) return { close: bytes.readUInt16BE(offset + header), textFrames, consumed: offset };
    if (opcode === 0x1) textFrames += 1;
    offset += header + length;
  }
  return { close: null, textFrames, consumed: offset };
}

function firstFrame(bytes: Buffer): { opcode: number; payload: Buffer; end: number } | null {
  if (bytes.length < 2) return null;
  let length = bytes[1] & 0x7f;
  let header = 2;
  if (length === 126) {
    if (bytes.length < 4) return null;
    length = bytes.readUInt16BE(2);
    header = 4;
  } else if (length === 127) {
    if (bytes.length < 10) return null;
    length = Number(bytes.readBigUInt64BE(2));
    header = 10;
  }
  if (bytes.length < header + length) return null;
  return { opcode: bytes[0] & 0x0f, payload: bytes.subarray(header, header + length), end: header + length };
}
