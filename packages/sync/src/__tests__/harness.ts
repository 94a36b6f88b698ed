import {
  mkdtemp,
  mkdir,
  readFile,
  readdir,
  rm,
  stat,
  utimes,
  writeFile,
  copyFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { ItemError, UnreachableError } from '@scaidrive/core';
import { runSync } from '../engine.js';
import { createLocalTree, type LocalTree } from '../local-tree.js';
import { createMemoryStateStore, type MemoryStateStore } from '../memory-state.js';
import type { SyncOptions } from '../options.js';
import type { SyncEvent, SyncSummary } from '../plan.js';
import type { FileTree, StateStore } from '../ports.js';

export type Side = 'source' | 'target';

export interface SyncResult {
  summary: SyncSummary;
  events: SyncEvent[];
  /** Plan events (what the run decided to do). */
  plan: Extract<SyncEvent, { type: 'plan' }>[];
  writes: number;
}

export interface WorldOptions {
  sourceLabel?: string;
  targetLabel?: string;
  /** The target keeps overwritten/deleted content (models ScaiDrive versions + trash). Default true. */
  targetHistory?: boolean;
  state?: StateStore;
  wrapSource?: (t: LocalTree) => FileTree;
  wrapTarget?: (t: LocalTree) => FileTree;
}

/** Two local trees (source, target) in a temp dir, an in-memory base, and user-side helpers. */
export class World {
  readonly source: LocalTree;
  readonly target: LocalTree;
  sourceTree: FileTree;
  targetTree: FileTree;
  readonly state: StateStore;
  private clock = Date.UTC(2024, 0, 1, 12, 0, 0);

  private constructor(
    readonly root: string,
    opts: WorldOptions,
  ) {
    this.source = createLocalTree(path.join(root, 'src'), {
      label: opts.sourceLabel ?? 'smb',
      fsync: false,
    });
    this.target = createLocalTree(path.join(root, 'tgt'), {
      label: opts.targetLabel ?? 'scaidrive',
      fsync: false,
      ...(opts.targetHistory === false ? {} : { historyDir: path.join(root, 'history') }),
    });
    this.sourceTree = opts.wrapSource ? opts.wrapSource(this.source) : this.source;
    this.targetTree = opts.wrapTarget ? opts.wrapTarget(this.target) : this.target;
    this.state = opts.state ?? createMemoryStateStore();
  }

  static async create(opts: WorldOptions = {}): Promise<World> {
    const root = await mkdtemp(path.join(tmpdir(), 'sd-sync-'));
    await mkdir(path.join(root, 'src'));
    await mkdir(path.join(root, 'tgt'));
    await mkdir(path.join(root, 'history'));
    return new World(root, opts);
  }

  get memState(): MemoryStateStore {
    return this.state as MemoryStateStore;
  }

  dir(side: Side): string {
    return path.join(this.root, side === 'source' ? 'src' : 'tgt');
  }

  abs(side: Side, rel: string): string {
    return path.join(this.dir(side), ...rel.split('/'));
  }

  /** Next modification time (one minute after the previous one), so later edits are newer. */
  tick(): number {
    this.clock += 60_000;
    return this.clock;
  }

  async write(side: Side, rel: string, content: string, mtimeMs = this.tick()): Promise<void> {
    const p = this.abs(side, rel);
    await mkdir(path.dirname(p), { recursive: true });
    if (side === 'target') await this.saveHistory(p);
    await writeFile(p, content);
    await utimes(p, mtimeMs / 1000, mtimeMs / 1000);
  }

  async read(side: Side, rel: string): Promise<string | null> {
    return readFile(this.abs(side, rel), 'utf8').catch(() => null);
  }

  async mkdir(side: Side, rel: string): Promise<void> {
    await mkdir(this.abs(side, rel), { recursive: true });
  }

  /** A user deletes a file or a folder tree (on the target its files go to the history, like trash). */
  async remove(side: Side, rel: string): Promise<void> {
    const p = this.abs(side, rel);
    if (side === 'target') await this.saveHistoryTree(p);
    await rm(p, { recursive: true, force: true });
  }

  async rename(side: Side, from: string, to: string): Promise<void> {
    const { rename } = await import('node:fs/promises');
    const dest = this.abs(side, to);
    await mkdir(path.dirname(dest), { recursive: true });
    if (side === 'target') await this.saveHistoryTree(dest);
    await rm(dest, { recursive: true, force: true });
    await rename(this.abs(side, from), dest);
  }

  private async saveHistory(p: string): Promise<void> {
    const st = await stat(p).catch(() => null);
    if (!st?.isFile()) return;
    const dest = path.join(
      this.root,
      'history',
      `user-${Date.now()}-${Math.random().toString(36).slice(2)}`,
    );
    await copyFile(p, dest); // a copy, not a link: the user then writes in place
  }

  private async saveHistoryTree(p: string): Promise<void> {
    const st = await stat(p).catch(() => null);
    if (!st) return;
    if (st.isFile()) return this.saveHistory(p);
    for (const e of await readdir(p)) await this.saveHistoryTree(path.join(p, e));
  }

  /** Every file (path → content) and folder (path → null) under a side, sorted. */
  async snapshot(side: Side): Promise<Record<string, string | null>> {
    const out: Record<string, string | null> = {};
    const walk = async (abs: string, rel: string): Promise<void> => {
      for (const d of await readdir(abs, { withFileTypes: true })) {
        const r = rel ? `${rel}/${d.name}` : d.name;
        if (d.isDirectory()) {
          out[r] = null;
          await walk(path.join(abs, d.name), r);
        } else out[r] = await readFile(path.join(abs, d.name), 'utf8');
      }
    };
    await walk(this.dir(side), '');
    return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  /** Contents kept in the target's history (versions/trash stand-in). */
  async history(): Promise<string[]> {
    const dir = path.join(this.root, 'history');
    const out: string[] = [];
    for (const n of await readdir(dir)) out.push(await readFile(path.join(dir, n), 'utf8'));
    return out;
  }

  /** Every content present on either side or in the history. */
  async allContents(): Promise<Set<string>> {
    const set = new Set<string>();
    for (const side of ['source', 'target'] as const)
      for (const v of Object.values(await this.snapshot(side))) if (v !== null) set.add(v);
    for (const h of await this.history()) set.add(h);
    return set;
  }

  async sync(options: Partial<SyncOptions> = {}, signal?: AbortSignal): Promise<SyncResult> {
    const events: SyncEvent[] = [];
    const before = this.writeCount();
    const summary = await runSync({
      source: this.sourceTree,
      target: this.targetTree,
      state: this.state,
      options: {
        direction: 'both',
        conflictResolution: 'LAST_WRITER_WINS',
        transferConcurrency: 3,
        retryBaseMs: 1,
        ...options,
      },
      ...(signal ? { signal } : {}),
      onEvent: (e) => events.push(e),
    });
    return {
      summary,
      events,
      plan: events.filter((e): e is Extract<SyncEvent, { type: 'plan' }> => e.type === 'plan'),
      writes: this.writeCount() - before,
    };
  }

  private writeCount(): number {
    const s = (this.state as Partial<MemoryStateStore>).stats;
    return s ? s.upsertedRows + s.removedRows : 0;
  }

  async cleanup(): Promise<void> {
    await rm(this.root, { recursive: true, force: true });
  }
}

/** Temp files of atomic writes left anywhere under a directory. */
export async function leftoverTemps(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (abs: string): Promise<void> => {
    for (const d of await readdir(abs, { withFileTypes: true })) {
      if (d.name.startsWith('.sdtmp-')) out.push(path.join(abs, d.name));
      else if (d.isDirectory()) await walk(path.join(abs, d.name));
    }
  };
  await walk(dir);
  return out;
}

export type FaultKind = 'item' | 'fatal' | 'abort' | 'midstream';

/**
 * Wraps a tree so that its `n`-th mutating or reading call fails: `item` (a per-file error),
 * `fatal` (the side becomes unreachable), `abort` (the run's AbortController fires during the
 * call) or `midstream` (a write gets half its bytes, then the content stream breaks).
 */
export function faulty(
  tree: FileTree,
  fault: { at: number; kind: FaultKind; abort?: AbortController },
): FileTree & { calls(): number } {
  let n = 0;
  const hit = (): boolean => ++n === fault.at;
  return new Proxy(tree as FileTree & { calls(): number }, {
    get(t, prop, receiver) {
      if (prop === 'calls') return () => n;
      const v = Reflect.get(t, prop, receiver);
      if (typeof v !== 'function') return v;
      if (!['write', 'delete', 'mkdir', 'move', 'read'].includes(String(prop))) return v.bind(t);
      return async (...args: unknown[]) => {
        if (hit()) {
          switch (fault.kind) {
            case 'item': {
              if (prop === 'write') (args[1] as Readable).destroy();
              throw new ItemError('ITEM_LOCKED', 'injected: locked');
            }
            case 'fatal': {
              if (prop === 'write') (args[1] as Readable).destroy();
              throw new UnreachableError('injected: unreachable');
            }
            case 'abort':
              fault.abort?.abort('test kill');
              break;
            case 'midstream':
              if (prop === 'write') {
                const src = args[1] as Readable;
                const size = (args[2] as { size: number }).size;
                let seen = 0;
                const broken = new Readable({ read() {} });
                broken.on('error', () => undefined); // the consumer may have given up already
                src.on('data', (c: Buffer) => {
                  seen += c.length;
                  if (seen >= size / 2 || size <= 1) {
                    broken.destroy(new Error('injected: connection reset mid-stream'));
                    src.destroy();
                  } else broken.push(c);
                });
                src.on('error', (e) => broken.destroy(e));
                args[1] = broken;
              }
              break;
          }
        }
        return (v as (...a: unknown[]) => unknown).apply(t, args);
      };
    },
  });
}
