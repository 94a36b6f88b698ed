import { otherSide, sideChange, type SideChange, type SideName } from './fingerprint.js';
import type { SyncDirection } from './options.js';
import { originOf } from './options.js';
import type { Entry, FileStateRecord } from './ports.js';

/**
 * DESIGN.md §6, per file. `base` counts only when it recorded both sides (a row that never synced,
 * e.g. one that failed on its first copy, is no base). The content comparison of "changed on both"
 * and "new on both" needs I/O, so the table answers `reconcile` and the executor finishes it.
 */
export type FileDecision =
  | { do: 'nothing' }
  /** Nothing on either side: drop the base row. */
  | { do: 'forget' }
  /** One-way: an item only the destination has and that was never synced. Left alone. */
  | { do: 'untracked' }
  | { do: 'copy'; from: SideName; preserveDest: boolean }
  | { do: 'delete'; on: SideName; preserve: boolean }
  | { do: 'reconcile' };

export interface DecideContext {
  direction: SyncDirection;
  keepsHistory: Record<SideName, boolean>;
}

/** The base row when it recorded both sides, else null. */
export function validBase(b: FileStateRecord | null): FileStateRecord | null {
  return b && b.source && b.target ? b : null;
}

export interface SideChanges {
  source: SideChange;
  target: SideChange;
}

export function changesOf(
  s: Entry | null,
  t: Entry | null,
  b: FileStateRecord | null,
): SideChanges {
  const vb = validBase(b);
  const kind = vb?.kind ?? null;
  return {
    source: sideChange(s, vb?.source ?? null, kind),
    target: sideChange(t, vb?.target ?? null, kind),
  };
}

const live = (c: SideChange): boolean => c === 'new' || c === 'changed';

export function decideFile(ch: SideChanges, ctx: DecideContext): FileDecision {
  const origin = originOf(ctx.direction);
  if (origin === null) return decideBidirectional(ch);
  const dest = otherSide(origin);
  const o = ch[origin];
  const d = ch[dest];
  const preserve = !ctx.keepsHistory[dest];
  if ((o === 'absent' || o === 'deleted') && (d === 'absent' || d === 'deleted'))
    return { do: 'forget' };
  if (o === 'same' && d === 'same') return { do: 'nothing' };
  if (o === 'absent') return { do: 'untracked' }; // d === 'new'
  if (o === 'deleted') return { do: 'delete', on: dest, preserve: d === 'changed' && preserve };
  // Origin has the file (same, changed or new).
  if (live(o) && live(d)) return { do: 'reconcile' };
  if (d === 'changed') return { do: 'copy', from: origin, preserveDest: preserve };
  return { do: 'copy', from: origin, preserveDest: false };
}

function decideBidirectional(ch: SideChanges): FileDecision {
  const s = ch.source;
  const t = ch.target;
  const gone = (c: SideChange): boolean => c === 'absent' || c === 'deleted';
  if (gone(s) && gone(t)) return { do: 'forget' };
  if (s === 'same' && t === 'same') return { do: 'nothing' };
  if (live(s) && live(t)) return { do: 'reconcile' };
  if (live(s)) return { do: 'copy', from: 'source', preserveDest: false }; // t: same / deleted / absent
  if (live(t)) return { do: 'copy', from: 'target', preserveDest: false }; // s: same / deleted / absent
  // One side same, the other deleted: the delete propagates.
  return s === 'deleted'
    ? { do: 'delete', on: 'target', preserve: false }
    : { do: 'delete', on: 'source', preserve: false };
}

/**
 * File on one side, folder on the other (same name key).
 * - `replace_with_folder`: the file side's file becomes a folder (the file was unchanged, or the
 *   folder side is the origin of a one-way run).
 * - `folder_to_file`: the folder (and its contents) goes, the file takes the name — only when the
 *   folder side holds nothing new (checked by walking it) or it is the destination of a one-way run.
 * - `conflict`: both changed — the folder keeps the name, the file gets a conflict name.
 */
export type TypeDecision =
  | { do: 'replace_with_folder'; fileSide: SideName; preserve: boolean }
  | { do: 'folder_to_file'; folderSide: SideName; needsCleanCheck: boolean }
  | { do: 'conflict'; fileSide: SideName };

export function decideTypeMismatch(
  s: Entry,
  t: Entry,
  b: FileStateRecord | null,
  ctx: DecideContext,
): TypeDecision {
  const fileSide: SideName = s.kind === 'file' ? 'source' : 'target';
  const folderSide = otherSide(fileSide);
  const fileEntry = fileSide === 'source' ? s : t;
  const vb = validBase(b);
  const fileChange = sideChange(fileEntry, vb?.[fileSide] ?? null, vb?.kind ?? null);
  const origin = originOf(ctx.direction);
  if (origin !== null) {
    if (origin === folderSide)
      return {
        do: 'replace_with_folder',
        fileSide,
        preserve: fileChange !== 'same' && !ctx.keepsHistory[fileSide],
      };
    return { do: 'folder_to_file', folderSide, needsCleanCheck: false };
  }
  if (fileChange === 'same') return { do: 'replace_with_folder', fileSide, preserve: false };
  if (vb?.kind === 'folder') return { do: 'folder_to_file', folderSide, needsCleanCheck: true };
  return { do: 'conflict', fileSide };
}
