import { availableParallelism } from 'node:os';
import { types } from 'node:util';
import { Worker } from 'node:worker_threads';

/*
 * SHA-256 off the main thread for large content: a few worker threads (shared by every upload of
 * the process) hash chunk buffers that live in SharedArrayBuffers — no copy, no fresh memory per
 * chunk. Each upload's whole-content hash runs in one worker (messages are handled in order), and
 * the same message digests the chunk, so every byte is read twice (both digests are needed) but
 * the main thread only cuts and dispatches. Idle workers are unref'd: they never keep a process alive.
 */

// getBuiltinModule, not require: the source runs as CommonJS or as a module depending on the
// parent's flags (--input-type=module makes an eval'd worker a module).
const WORKER_SOURCE = `
const { parentPort } = process.getBuiltinModule('node:worker_threads');
const { createHash } = process.getBuiltinModule('node:crypto');
const sessions = new Map();
parentPort.on('message', (m) => {
  try {
    if (m.op === 'drop') { sessions.delete(m.sid); return; }
    if (m.op === 'final') {
      const s = sessions.get(m.sid) || createHash('sha256');
      sessions.delete(m.sid);
      parentPort.postMessage({ id: m.id, hex: s.digest('hex') });
      return;
    }
    const view = new Uint8Array(m.buf, m.off, m.len);
    if (m.sid !== 0) {
      let s = sessions.get(m.sid);
      if (!s) sessions.set(m.sid, (s = createHash('sha256')));
      s.update(view);
    }
    parentPort.postMessage({ id: m.id, hex: createHash('sha256').update(view).digest('hex') });
  } catch (err) {
    if (m.sid) sessions.delete(m.sid);
    parentPort.postMessage({ id: m.id, error: String(err && err.message || err) });
  }
});`;

interface Pending {
  resolve: (hex: string) => void;
  reject: (err: Error) => void;
}

class HashThread {
  private worker: Worker | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  /** Bumped per worker started: a session's running hash lives in one worker only. */
  generation = 0;

  private get(): Worker {
    if (this.worker) return this.worker;
    this.generation++;
    const w = new Worker(WORKER_SOURCE, {
      eval: true,
      name: 'scaidrive-sha256',
      // No loaders or flags of the parent (tsx, --conditions…): the worker needs none of them.
      execArgv: [],
    });
    w.on('message', (m: { id: number; hex?: string; error?: string }) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (this.pending.size === 0) w.unref();
      if (m.error !== undefined) p.reject(new Error(`SHA-256 worker: ${m.error}`));
      else p.resolve(m.hex!);
    });
    const fail = (err: Error): void => {
      if (this.worker !== w) return;
      this.worker = null;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`SHA-256 worker exited (${code})`)));
    this.worker = w;
    return w;
  }

  /** Sends `message`; with `generation`, only to the worker of that generation. */
  request(message: Record<string, unknown>, generation?: number): Promise<string> {
    const worker = this.get();
    if (generation !== undefined && generation !== this.generation)
      return Promise.reject(
        new Error('SHA-256 worker restarted during an upload: its content hash is lost'),
      );
    const id = this.nextId++;
    return new Promise<string>((resolve, reject) => {
      // Referenced only while a digest is awaited: an idle worker never keeps the process alive,
      // and a process whose only pending work is a digest does not exit before it arrives.
      if (this.pending.size === 0) worker.ref();
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ ...message, id });
    });
  }

  send(message: Record<string, unknown>): void {
    this.worker?.postMessage(message);
  }

  async stop(): Promise<void> {
    await this.worker?.terminate();
  }
}

let threads: HashThread[] | null = null;
let nextSession = 1;

function pick(sid: number): HashThread {
  threads ??= Array.from(
    { length: Math.max(1, Math.min(4, availableParallelism() - 1)) },
    () => new HashThread(),
  );
  return threads[sid % threads.length]!;
}

/**
 * Terminates the hash threads (awaited digests reject; later ones start new threads, and uploads
 * that were under way fail rather than record a hash of part of their content).
 */
export async function stopHashThreads(): Promise<void> {
  await Promise.all((threads ?? []).map((t) => t.stop()));
}

/** A buffer the hash threads can read without a copy (backed by a SharedArrayBuffer). */
export function sharedBuffer(size: number): Buffer {
  return Buffer.from(new SharedArrayBuffer(size));
}

function parts(data: Buffer): { buf: SharedArrayBuffer; off: number; len: number } {
  if (!types.isSharedArrayBuffer(data.buffer))
    throw new TypeError('hash threads read SharedArrayBuffer-backed buffers only');
  return { buf: data.buffer as SharedArrayBuffer, off: data.byteOffset, len: data.byteLength };
}

/**
 * The whole-content hash of one upload, in a worker thread. `chunk(data)` feeds `data` into it and
 * answers the chunk's own digest; calls are applied in call order. `data` must stay unchanged
 * until the promise settles.
 */
export class ContentHasher {
  private readonly sid = nextSession++;
  private readonly thread = pick(this.sid);
  /** The worker holding this session's running hash; a replacement (after a crash) has none. */
  private generation: number | undefined;

  chunk(data: Buffer): Promise<string> {
    return this.send({ op: 'chunk', sid: this.sid, ...parts(data) });
  }

  /** The whole-content digest (of every `chunk` so far); ends the session. */
  digest(): Promise<string> {
    return this.send({ op: 'final', sid: this.sid });
  }

  private send(message: Record<string, unknown>): Promise<string> {
    const answer = this.thread.request(message, this.generation);
    this.generation ??= this.thread.generation;
    return answer;
  }

  /** Ends the session without a digest. */
  drop(): void {
    this.thread.send({ op: 'drop', sid: this.sid });
  }
}

/** The SHA-256 of one SharedArrayBuffer-backed buffer, in a worker thread. */
export function digestShared(data: Buffer): Promise<string> {
  return pick(nextSession++).request({ op: 'chunk', sid: 0, ...parts(data) });
}
