import type { ItemErrorSample, PlanAction, SyncEvent, SyncProgress } from './plan.js';
import type { SourcePrincipal } from './ports.js';

const MAX_ERROR_SAMPLES = 100;
const MAX_WARNINGS = 50;
const MAX_UNMAPPED = 200;

export function zeroProgress(): SyncProgress {
  return {
    filesScanned: 0,
    filesSynced: 0,
    bytesTransferred: 0,
    errorCount: 0,
    conflicts: 0,
    deletes: 0,
    foldersScanned: 0,
    foldersCreated: 0,
    adopted: 0,
    excluded: 0,
  };
}

/**
 * Counters, samples and the event sink of one run. `onProgress` is throttled to
 * `intervalMs` (plus a final call), so the worker can write every call to the job row.
 */
export class RunAccounting {
  readonly progress = zeroProgress();
  readonly plan: Partial<Record<PlanAction, number>> = {};
  readonly errors: ItemErrorSample[] = [];
  readonly warnings: string[] = [];
  private readonly unmapped = new Map<string, SourcePrincipal>();
  /** Keys of every distinct unmapped principal (the map above keeps the first 200 in full). */
  private readonly unmappedKeys = new Set<string>();
  private lastProgressAt = 0;

  constructor(
    private readonly intervalMs: number,
    private readonly onProgress: ((p: SyncProgress) => void) | undefined,
    private readonly onEvent: ((e: SyncEvent) => void) | undefined,
  ) {}

  emit(e: SyncEvent): void {
    if (!this.onEvent) return;
    try {
      this.onEvent(e);
    } catch {
      // A failing sink must not break the run.
    }
  }

  count(key: keyof SyncProgress, n = 1): void {
    this.progress[key] += n;
    this.tick();
  }

  planned(action: PlanAction, path: string, kind: 'file' | 'folder', detail?: string): void {
    this.plan[action] = (this.plan[action] ?? 0) + 1;
    const e: SyncEvent = { type: 'plan', action, path, kind };
    if (detail !== undefined) e.detail = detail;
    this.emit(e);
  }

  itemError(path: string, code: string, message: string): void {
    this.progress.errorCount++;
    if (this.errors.length < MAX_ERROR_SAMPLES) this.errors.push({ path, code, message });
    this.emit({ type: 'item_error', path, code, message });
    this.tick();
  }

  warn(message: string, path?: string): void {
    if (this.warnings.length < MAX_WARNINGS)
      this.warnings.push(path ? `${path}: ${message}` : message);
    const e: SyncEvent = { type: 'warning', message };
    if (path !== undefined) e.path = path;
    this.emit(e);
  }

  addUnmapped(principals: SourcePrincipal[]): void {
    for (const p of principals) {
      const k = `${p.kind}:${p.id}`;
      this.unmappedKeys.add(k);
      if (!this.unmapped.has(k) && this.unmapped.size < MAX_UNMAPPED) this.unmapped.set(k, p);
    }
  }

  unmappedPrincipals(): SourcePrincipal[] {
    return [...this.unmapped.values()];
  }

  unmappedPrincipalCount(): number {
    return this.unmappedKeys.size;
  }

  tick(force = false): void {
    if (!this.onProgress) return;
    const now = Date.now();
    if (!force && now - this.lastProgressAt < this.intervalMs) return;
    this.lastProgressAt = now;
    try {
      this.onProgress({ ...this.progress });
    } catch {
      // ignore sink failures
    }
  }
}
