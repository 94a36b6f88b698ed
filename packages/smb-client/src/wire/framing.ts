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

/**
 * Zero-copy receiver for `net.connect({ onread })`: while a large frame is being received, the socket
 * reads straight into the frame's own buffer; small frames and headers go through a reused scratch
 * buffer. No per-chunk allocations and at most one copy of small pieces.
 */
export class FrameReceiver {
  private readonly scratch: Buffer;
  private frame: Buffer | null = null;
  private filled = 0;
  private readonly hdr = Buffer.alloc(4);
  private hdrFill = 0;
  private given: Buffer;

  constructor(
    private readonly onFrame: (frame: Buffer) => void,
    scratchSize = 64 * 1024,
    private readonly maxFrame = MAX_FRAME,
    private readonly alloc: (len: number) => Buffer = (len) => Buffer.allocUnsafe(len),
  ) {
    this.scratch = Buffer.allocUnsafe(scratchSize);
    this.given = this.scratch;
  }

  /** The buffer the next socket read should fill. */
  nextBuffer(): Buffer {
    const f = this.frame;
    if (f && f.length - this.filled >= 16 * 1024) {
      this.given = f.subarray(this.filled);
      return this.given;
    }
    this.given = this.scratch;
    return this.scratch;
  }

  /** `nread` bytes arrived in the buffer returned by the last `nextBuffer()`. */
  onRead(nread: number): void {
    if (this.given !== this.scratch) {
      this.filled += nread;
      if (this.filled === this.frame!.length) this.complete();
      return;
    }
    this.consume(this.scratch.subarray(0, nread));
  }

  /** Parses bytes that are not inside a frame buffer yet (copied where they must be kept). */
  consume(bytes: Buffer): void {
    let off = 0;
    while (off < bytes.length) {
      if (this.frame) {
        const k = Math.min(bytes.length - off, this.frame.length - this.filled);
        bytes.copy(this.frame, this.filled, off, off + k);
        this.filled += k;
        off += k;
        if (this.filled === this.frame.length) this.complete();
        continue;
      }
      const k = Math.min(4 - this.hdrFill, bytes.length - off);
      bytes.copy(this.hdr, this.hdrFill, off, off + k);
      this.hdrFill += k;
      off += k;
      if (this.hdrFill < 4) return;
      this.hdrFill = 0;
      if (this.hdr[0] !== 0) throw protocolError('bad transport header', { byte0: this.hdr[0] });
      const len = (this.hdr[1]! << 16) | (this.hdr[2]! << 8) | this.hdr[3]!;
      if (len > this.maxFrame) throw protocolError('frame too large', { len });
      this.frame = this.alloc(len);
      this.filled = 0;
      if (len === 0) this.complete();
    }
  }

  private complete(): void {
    const f = this.frame!;
    this.frame = null;
    this.filled = 0;
    this.onFrame(f);
  }
}
