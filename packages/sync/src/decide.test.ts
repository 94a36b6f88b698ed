import { describe, expect, it } from '@jest/globals';
import { decideFile, type FileDecision } from './decide.js';
import type { SideChange } from './fingerprint.js';
import type { SyncDirection } from './options.js';

/** DESIGN.md §6 as a table: [source vs base, target vs base] → decision per direction. */
type Row = [SideChange, SideChange, FileDecision, FileDecision, FileDecision];
const copy = (from: 'source' | 'target', preserveDest = false): FileDecision => ({
  do: 'copy',
  from,
  preserveDest,
});
const del = (on: 'source' | 'target', preserve = false): FileDecision => ({
  do: 'delete',
  on,
  preserve,
});
const nothing: FileDecision = { do: 'nothing' };
const forget: FileDecision = { do: 'forget' };
const untracked: FileDecision = { do: 'untracked' };
const reconcile: FileDecision = { do: 'reconcile' };

// The source keeps no history, the target does (ScaiDrive).
// prettier-ignore
const TABLE: Row[] = [
  // source     target      bidirectional    source → target   target → source
  ['same',    'same',      nothing,         nothing,          nothing],
  ['changed', 'same',      copy('source'),  copy('source'),   copy('target', true)],
  ['same',    'changed',   copy('target'),  copy('source'),   copy('target')],
  ['changed', 'changed',   reconcile,       reconcile,        reconcile],
  ['deleted', 'same',      del('target'),   del('target'),    copy('target')],
  ['same',    'deleted',   del('source'),   copy('source'),   del('source')],
  ['deleted', 'changed',   copy('target'),  del('target'),    copy('target')],
  ['changed', 'deleted',   copy('source'),  copy('source'),   del('source', true)],
  ['deleted', 'deleted',   forget,          forget,           forget],
  ['new',     'new',       reconcile,       reconcile,        reconcile],
  ['new',     'absent',    copy('source'),  copy('source'),   untracked],
  ['absent',  'new',       copy('target'),  untracked,        copy('target')],
  ['absent',  'absent',    forget,          forget,           forget],
];

describe('decideFile (DESIGN.md §6)', () => {
  const dirs: SyncDirection[] = ['both', 'source_to_target', 'target_to_source'];
  it.each(TABLE)('%s | %s', (s, t, ...expected) => {
    dirs.forEach((direction, i) => {
      const got = decideFile(
        { source: s, target: t },
        { direction, keepsHistory: { source: false, target: true } },
      );
      expect([direction, got]).toEqual([direction, expected[i]]);
    });
  });
});
