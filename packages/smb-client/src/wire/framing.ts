import { protocolError } from '../errors.js';

/** Largest frame accepted: the 24-bit Direct TCP length field allows 16 MiB - 1. */
export const MAX_FRAME = 0xffffff;

/**
 * Direct TCP transport framing ([MS-SMB2] 2.1): 4-byte header (zero byte + 24-bit big-endian length)
 * then the message. Incoming chunks are kept in a list; a frame is assembled with at most one copy,
 * and none when it lies inside a single chunk — linear in the bytes received.
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private need = -1;

  constructor(
    private readonly onFrame: (frame: Buffer) => void,
    private readonly maxFrame = MAX_FRAME,
  ) {}

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    for (;;) {
      if (this.need < 0) {
        if (this.buffered < 4) return;
        const head = this.take(4);
        if (head[0] !== 0) throw protocolError('bad transport header', { byte0: head[0] });
        const len = (head[1]! << 16) | (head[2]! << 8) | head[3]!;
        if (len > this.maxFrame) throw protocolError('frame too large', { len });
        this.need = len;
      }
      if (this.buffered < this.need) return;
      const frame = this.take(this.need);
      this.need = -1;
      this.onFrame(frame);
    }
  }

  /** Removes n bytes from the front (n <= buffered). */
  private take(n: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length >= n) {
      const out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      this.buffered -= n;
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[0]!;
      const k = Math.min(c.length, n - filled);
      c.copy(out, filled, 0, k);
      filled += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    this.buffered -= n;
    return out;
  }
}

export function frameHeader(length: number): Buffer {
  if (length > MAX_FRAME) throw new RangeError('SMB frame too large');
  const h = Buffer.alloc(4);
  h.writeUInt32BE(length);
  return h;
}
