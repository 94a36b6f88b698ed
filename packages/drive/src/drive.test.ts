import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { loadConfig } from '@scaidrive/core';
import { DEFAULT_GC_GRACE_MS, Drive } from './drive.js';
import type { DbClient } from './db.js';

describe('Drive.fromConfig', () => {
  it('takes the GC grace from CHUNK_GC_GRACE_SECONDS (default one hour)', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'drive-config-'));
    try {
      // The constructor only wires services; no query runs.
      const db = {} as DbClient;
      const base = { BLOB_DIR: dir };
      expect(Drive.fromConfig(db, loadConfig(base)).gcGraceMs).toBe(DEFAULT_GC_GRACE_MS);
      expect(
        Drive.fromConfig(db, loadConfig({ ...base, CHUNK_GC_GRACE_SECONDS: '120' })).gcGraceMs,
      ).toBe(120_000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
