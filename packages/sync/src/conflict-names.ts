import type { EntryKind } from './ports.js';

/** `YYYY-MM-DD HHmmss` in UTC. */
export function conflictStamp(ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return (
    `${p(d.getUTCFullYear(), 4)}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ` +
    `${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`
  );
}

/** `report.final.docx` → [`report.final`, `.docx`]; dot-files and folders have no extension. */
export function splitExtension(name: string, kind: EntryKind = 'file'): [string, string] {
  if (kind === 'folder') return [name, ''];
  const i = name.lastIndexOf('.');
  if (i <= 0 || i === name.length - 1) return [name, ''];
  return [name.slice(0, i), name.slice(i)];
}

/**
 * The name a conflict loser is kept under: `name (conflict YYYY-MM-DD HHmmss from <side>).ext`,
 * with ` 2`, ` 3`, … after the side when that name is taken. The time is the loser's modification
 * time (UTC), so a run that is repeated after a crash chooses the same name again.
 */
export function conflictName(
  name: string,
  loserMtimeMs: number,
  side: string,
  attempt = 1,
  kind: EntryKind = 'file',
): string {
  const [stem, ext] = splitExtension(name, kind);
  const n = attempt > 1 ? ` ${attempt}` : '';
  return `${stem} (conflict ${conflictStamp(loserMtimeMs)} from ${side}${n})${ext}`;
}

/** True when `name` looks like a conflict copy made by the engine. */
export function isConflictName(name: string): boolean {
  return /\(conflict \d{4}-\d{2}-\d{2} \d{6} from [^)]+\)/.test(name);
}
