import { isSid, type LookupNamesResult, type ResolvedSid } from '@scaidrive/smb-client';
import type { SidInfo } from './acl.js';

/** The two LSARPC calls the resolver needs (an `SmbSession` has both). */
export interface LsaLookup {
  lookupSids(sids: string[]): Promise<Map<string, ResolvedSid>>;
  lookupNames(names: string[], o?: { fresh?: boolean }): Promise<Map<string, LookupNamesResult>>;
}

export interface SidResolverOptions {
  /** After a failed LSARPC call, SIDs stay unnamed for this long before the next try (default 5 min). */
  backoffMs?: number;
  now?: () => number;
}

export interface ResolvedName {
  /** As asked. */
  name: string;
  sid: string;
  /** `DOMAIN\name` as the server spells it. */
  fullName: string;
  type: 'user' | 'group' | 'other';
}

function kindOf(type: string): 'user' | 'group' | 'other' {
  if (type === 'user' || type === 'computer') return 'user';
  if (type === 'group' || type === 'alias' || type === 'well-known-group') return 'group';
  return 'other';
}

/**
 * SIDs ↔ `DOMAIN\name` through LSARPC (LsarLookupSids2 / LsarLookupNames on `\pipe\lsarpc`),
 * cached for the life of the resolver (one per pooled session, so per connector and process).
 * Unknown SIDs are cached as unknown; concurrent requests for the same SID share one call. When
 * the server refuses LSARPC, principals stay SIDs (mappings given as SIDs still match) and the
 * resolver waits `backoffMs` before asking again.
 */
export class SidResolver {
  private readonly sids = new Map<string, SidInfo | null>();
  private readonly inflight = new Map<string, Promise<void>>();
  private failedAt = -Infinity;
  private readonly backoffMs: number;
  private readonly now: () => number;
  /** The last LSARPC failure (for diagnostics; never contains credentials). */
  lastError: unknown = null;

  constructor(
    private readonly lsa: LsaLookup,
    options: SidResolverOptions = {},
  ) {
    this.backoffMs = options.backoffMs ?? 5 * 60_000;
    this.now = options.now ?? Date.now;
  }

  /** Names of the given SIDs (only the ones the server knows). Never throws. */
  async names(sids: readonly string[]): Promise<Map<string, SidInfo>> {
    const todo = [...new Set(sids)].filter(
      (s) => !this.sids.has(s) && !this.inflight.has(s) && isSid(s),
    );
    if (todo.length > 0 && this.now() - this.failedAt >= this.backoffMs) {
      const p = this.fetch(todo);
      for (const s of todo) this.inflight.set(s, p);
      void p.finally(() => {
        for (const s of todo) if (this.inflight.get(s) === p) this.inflight.delete(s);
      });
    }
    await Promise.all(sids.map((s) => this.inflight.get(s)));
    const out = new Map<string, SidInfo>();
    for (const s of sids) {
      const info = this.sids.get(s);
      if (info) out.set(s, info);
    }
    return out;
  }

  private async fetch(sids: string[]): Promise<void> {
    try {
      const res = await this.lsa.lookupSids(sids);
      for (const s of sids) {
        const r = res.get(s);
        if (!r) {
          this.sids.set(s, null);
          continue;
        }
        const k = kindOf(r.type);
        const info: SidInfo = { name: r.fullName };
        if (k !== 'other') info.type = k;
        this.sids.set(s, info);
      }
    } catch (err) {
      this.lastError = err;
      this.failedAt = this.now();
    }
  }

  /**
   * `DOMAIN\name` (or a bare name, or a SID) → SID. Names the server does not know are absent from
   * the result. Throws when LSARPC fails (callers decide; nothing is cached then).
   */
  async resolveNames(
    principals: readonly string[],
    o: { fresh?: boolean } = {},
  ): Promise<Map<string, ResolvedName>> {
    const out = new Map<string, ResolvedName>();
    const names: string[] = [];
    for (const p of new Set(principals.map((x) => x.trim()).filter(Boolean))) {
      if (isSid(p.toUpperCase())) {
        const sid = p.toUpperCase();
        const info = (await this.names([sid])).get(sid);
        out.set(p, { name: p, sid, fullName: info?.name ?? sid, type: info?.type ?? 'other' });
      } else names.push(p);
    }
    if (names.length === 0) return out;
    const res = await this.lsa.lookupNames(names, o);
    for (const n of names) {
      const r = res.get(n);
      if (!r) continue;
      const bare = r.name.includes('\\') ? r.name.slice(r.name.indexOf('\\') + 1) : r.name;
      const fullName = r.domain && r.type !== 'domain' ? `${r.domain}\\${bare}` : bare;
      out.set(n, { name: n, sid: r.sid, fullName, type: kindOf(r.type) });
      const k = kindOf(r.type);
      if (!this.sids.has(r.sid))
        this.sids.set(r.sid, k === 'other' ? { name: fullName } : { name: fullName, type: k });
    }
    return out;
  }
}
