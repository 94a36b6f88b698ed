/**
 * A small free list of large frame buffers, keyed by exact length. Only code that knows a buffer is
 * no longer referenced (the recycling download path) gives buffers back; everything else simply lets
 * them be garbage-collected.
 */
export class BufferPool {
  private readonly free = new Map<number, Buffer[]>();
  private count = 0;

  constructor(
    private readonly minSize = 256 * 1024,
    private readonly maxBuffers = 32,
  ) {}

  take(len: number): Buffer {
    if (len >= this.minSize) {
      const list = this.free.get(len);
      const b = list?.pop();
      if (b) {
        this.count--;
        return b;
      }
    }
    return Buffer.allocUnsafe(len);
  }

  give(buf: Buffer): void {
    if (buf.length < this.minSize || this.count >= this.maxBuffers) return;
    let list = this.free.get(buf.length);
    if (!list) this.free.set(buf.length, (list = []));
    list.push(buf);
    this.count++;
  }
}
