import { ErrorCode, AppError } from '@scaidrive/core';
import type { SmbSession } from '../client.js';
import { ntStatusError, protocolError } from '../errors.js';
import { isSid } from '../dtyp/sid.js';
import { sidTypeName, type SidType } from '../dtyp/types.js';
import { wellKnownSid } from '../dtyp/well-known.js';
import { NtStatus } from '../ntstatus.js';
import type { Tree } from '../tree/tree.js';
import { NdrReader, NdrWriter } from './ndr.js';
import { RpcPipe } from './pipe.js';

export const LSARPC = { uuid: '12345778-1234-abcd-ef00-0123456789ab', major: 0, minor: 0 };

const Opnum = { Close: 0, LookupNames: 14, OpenPolicy2: 44, LookupSids2: 57 } as const;
const LOOKUP_WKSTA = 1;

export interface ResolvedSid {
  sid: string;
  domain: string;
  name: string;
  /** `DOMAIN\name` (or just the name when there is no domain). */
  fullName: string;
  type: SidType;
}

export interface LookupNamesResult {
  name: string;
  sid: string;
  type: SidType;
  domain: string;
}

interface Domain {
  name: string;
  sid: string | null;
}

/** Request stubs and response parsers ([MS-LSAT] 3.1.4). */
export function encodeOpenPolicy2(): Buffer {
  const w = new NdrWriter();
  w.nullPtr(); // SystemName
  // LSAPR_OBJECT_ATTRIBUTES: Length, RootDirectory, ObjectName, Attributes, SecurityDescriptor, QoS
  w.u32(24).nullPtr().nullPtr().u32(0).nullPtr().nullPtr();
  w.u32(0x02000000); // MAXIMUM_ALLOWED
  return w.finish();
}

export function parseHandleAndStatus(stub: Buffer): { handle: Buffer; status: number } {
  const r = new NdrReader(stub);
  const handle = Buffer.from(r.bytes(20));
  return { handle, status: r.u32() };
}

export function encodeLookupSids2(handle: Buffer, sids: string[]): Buffer {
  const w = new NdrWriter();
  w.bytes(handle);
  w.u32(sids.length);
  w.ref();
  w.u32(sids.length);
  for (let i = 0; i < sids.length; i++) w.ref();
  for (const s of sids) w.sid(s);
  w.u32(0).nullPtr(); // TranslatedNames (empty)
  w.u16(LOOKUP_WKSTA);
  w.u32(0); // MappedCount
  w.u32(0); // LookupOptions
  w.u32(2); // ClientRevision
  return w.finish();
}

function parseReferencedDomains(r: NdrReader): Domain[] {
  const ptr = r.u32();
  if (!ptr) return [];
  const entries = r.u32();
  const domPtr = r.u32();
  r.u32(); // MaxEntries
  if (!domPtr) return [];
  const n = r.count(12, 10000);
  if (n !== entries) throw protocolError('LSA domain count mismatch');
  const hdr: { namePtr: number; sidPtr: number }[] = [];
  for (let i = 0; i < n; i++) {
    r.u16();
    r.u16();
    const namePtr = r.u32();
    const sidPtr = r.u32();
    hdr.push({ namePtr, sidPtr });
  }
  return hdr.map((h) => ({
    name: h.namePtr ? r.unicodeBuffer() : '',
    sid: h.sidPtr ? r.sid() : null,
  }));
}

export function parseLookupSids2(stub: Buffer): {
  domains: Domain[];
  names: { use: number; name: string; domainIndex: number }[];
  status: number;
} {
  const r = new NdrReader(stub);
  const domains = parseReferencedDomains(r);
  const entries = r.u32();
  const namesPtr = r.u32();
  const names: { use: number; name: string; domainIndex: number }[] = [];
  if (namesPtr) {
    const n = r.count(20, 100000);
    if (n !== entries) throw protocolError('LSA name count mismatch');
    const hdr: { use: number; ptr: number; domainIndex: number }[] = [];
    for (let i = 0; i < n; i++) {
      const use = r.u16();
      r.u16();
      r.u16();
      const ptr = r.u32();
      const domainIndex = r.i32();
      r.u32(); // Flags
      hdr.push({ use, ptr, domainIndex });
    }
    for (const h of hdr)
      names.push({ use: h.use, name: h.ptr ? r.unicodeBuffer() : '', domainIndex: h.domainIndex });
  }
  r.u32(); // MappedCount
  return { domains, names, status: r.u32() };
}

export function encodeLookupNames(handle: Buffer, names: string[]): Buffer {
  const w = new NdrWriter();
  w.bytes(handle);
  w.u32(names.length);
  w.u32(names.length); // conformance of the Names array
  const deferred = names.map((n) => w.unicodeStringHeader(n));
  for (const d of deferred) d();
  w.u32(0).nullPtr(); // TranslatedSids
  w.u16(LOOKUP_WKSTA);
  w.u32(0); // MappedCount
  return w.finish();
}

export function parseLookupNames(stub: Buffer): {
  domains: Domain[];
  sids: { use: number; rid: number; domainIndex: number }[];
  status: number;
} {
  const r = new NdrReader(stub);
  const domains = parseReferencedDomains(r);
  const entries = r.u32();
  const ptr = r.u32();
  const sids: { use: number; rid: number; domainIndex: number }[] = [];
  if (ptr) {
    const n = r.count(12, 100000);
    if (n !== entries) throw protocolError('LSA SID count mismatch');
    for (let i = 0; i < n; i++) {
      const use = r.u16();
      r.u16();
      sids.push({ use, rid: r.u32(), domainIndex: r.i32() });
    }
  }
  r.u32();
  return { domains, sids, status: r.u32() };
}

/** LSARPC client over IPC$ with a cache of resolved SIDs/names. */
export class LsaClient {
  private tree: Tree | undefined;
  private pipe: RpcPipe | undefined;
  private policy: Buffer | undefined;
  private readonly sidCache = new Map<string, ResolvedSid>();
  private readonly nameCache = new Map<string, LookupNamesResult>();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly session: SmbSession) {}

  /** Calls run one at a time on the pipe. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.queue.then(fn, fn);
    this.queue = p.catch(() => undefined);
    return p;
  }

  private async ensure(): Promise<{ pipe: RpcPipe; policy: Buffer }> {
    if (this.pipe && this.policy && !this.pipe.link.conn.closed)
      return { pipe: this.pipe, policy: this.policy };
    this.pipe = undefined;
    this.policy = undefined;
    this.tree = await this.session.openShare('IPC$');
    const pipe = await RpcPipe.open(this.tree, 'lsarpc', LSARPC);
    const { handle, status } = parseHandleAndStatus(
      await pipe.call(Opnum.OpenPolicy2, encodeOpenPolicy2()),
    );
    if (status !== NtStatus.SUCCESS) {
      await pipe.close();
      throw ntStatusError(status, { command: 'LsarOpenPolicy2' });
    }
    this.pipe = pipe;
    this.policy = handle;
    return { pipe, policy: handle };
  }

  async lookupSids(sids: string[]): Promise<Map<string, ResolvedSid>> {
    const out = new Map<string, ResolvedSid>();
    const todo: string[] = [];
    for (const sid of new Set(sids)) {
      if (!isSid(sid)) throw new AppError(ErrorCode.VALIDATION_ERROR, `Not a SID: ${sid}`);
      const cached = this.sidCache.get(sid);
      if (cached) {
        out.set(sid, cached);
        continue;
      }
      const wk = wellKnownSid(sid);
      if (wk) {
        const r: ResolvedSid = {
          sid,
          ...wk,
          fullName: wk.domain ? `${wk.domain}\\${wk.name}` : wk.name,
        };
        this.sidCache.set(sid, r);
        out.set(sid, r);
        continue;
      }
      todo.push(sid);
    }
    for (let i = 0; i < todo.length; i += 500) {
      const batch = todo.slice(i, i + 500);
      const res = await this.serial(async () => {
        const { pipe, policy } = await this.ensure();
        return parseLookupSids2(
          await pipe.call(Opnum.LookupSids2, encodeLookupSids2(policy, batch)),
        );
      });
      if (
        res.status !== NtStatus.SUCCESS &&
        res.status !== NtStatus.SOME_NOT_MAPPED &&
        res.status !== NtStatus.NONE_MAPPED
      )
        throw ntStatusError(res.status, { command: 'LsarLookupSids2' });
      batch.forEach((sid, k) => {
        const n = res.names[k];
        const type = n ? sidTypeName(n.use) : 'unknown';
        if (!n || type === 'unknown' || type === 'invalid') return;
        const domain = res.domains[n.domainIndex]?.name ?? '';
        const r: ResolvedSid = {
          sid,
          domain,
          name: n.name,
          type,
          fullName: domain && type !== 'domain' ? `${domain}\\${n.name}` : n.name,
        };
        this.sidCache.set(sid, r);
        out.set(sid, r);
      });
    }
    return out;
  }

  /** `fresh`: ask the server even for names looked up before on this session (accounts change). */
  async lookupNames(
    names: string[],
    o: { fresh?: boolean } = {},
  ): Promise<Map<string, LookupNamesResult>> {
    const out = new Map<string, LookupNamesResult>();
    const todo = [...new Set(names)].filter((n) => {
      const c = o.fresh ? undefined : this.nameCache.get(n.toUpperCase());
      if (c) out.set(n, c);
      return !c;
    });
    for (let i = 0; i < todo.length; i += 500) {
      const batch = todo.slice(i, i + 500);
      const res = await this.serial(async () => {
        const { pipe, policy } = await this.ensure();
        return parseLookupNames(
          await pipe.call(Opnum.LookupNames, encodeLookupNames(policy, batch)),
        );
      });
      if (
        res.status !== NtStatus.SUCCESS &&
        res.status !== NtStatus.SOME_NOT_MAPPED &&
        res.status !== NtStatus.NONE_MAPPED
      )
        throw ntStatusError(res.status, { command: 'LsarLookupNames' });
      batch.forEach((name, k) => {
        const s = res.sids[k];
        if (!s) return;
        const type = sidTypeName(s.use);
        if (type === 'unknown' || type === 'invalid') return;
        const dom = res.domains[s.domainIndex];
        if (!dom?.sid) return;
        const sid = type === 'domain' ? dom.sid : `${dom.sid}-${s.rid >>> 0}`;
        const r: LookupNamesResult = { name, sid, type, domain: dom.name };
        this.nameCache.set(name.toUpperCase(), r);
        out.set(name, r);
      });
    }
    return out;
  }

  async close(): Promise<void> {
    const { pipe, policy } = this;
    this.pipe = undefined;
    this.policy = undefined;
    if (pipe && policy && !pipe.link.conn.closed) {
      const w = new NdrWriter().bytes(policy).finish();
      await pipe.call(Opnum.Close, w).catch(() => undefined);
      await pipe.close();
    }
    await this.tree?.disconnect().catch(() => undefined);
  }
}
