import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { AppError, ErrorCode, UnreachableError } from './errors.js';

/** Resolves a host name to every address it has (injectable for tests). */
export type HostResolver = (host: string) => Promise<string[]>;

export const systemResolver: HostResolver = async (host) =>
  (await dnsLookup(host, { all: true, verbatim: true })).map((a) => a.address);

interface HostRules {
  cidrs: BlockList;
  /** Exact names and `*.suffix` wildcards, lower case. */
  names: string[];
  empty: boolean;
}

function compile(entries: string[]): HostRules {
  const cidrs = new BlockList();
  const names: string[] = [];
  for (const raw of entries) {
    const e = raw.trim().toLowerCase();
    if (!e) continue;
    const slash = e.indexOf('/');
    const addr = stripBrackets(slash >= 0 ? e.slice(0, slash) : e);
    const family = isIP(addr);
    if (family) {
      const prefix = slash >= 0 ? Number(e.slice(slash + 1)) : family === 4 ? 32 : 128;
      if (!Number.isInteger(prefix) || prefix < 0 || prefix > (family === 4 ? 32 : 128))
        throw new Error(`invalid CIDR "${raw}"`);
      cidrs.addSubnet(addr, prefix, family === 4 ? 'ipv4' : 'ipv6');
    } else {
      names.push(e.replace(/\.$/, ''));
    }
  }
  return { cidrs, names, empty: names.length === 0 && entries.every((x) => !x.trim()) };
}

function stripBrackets(s: string): string {
  return s.startsWith('[') && s.endsWith(']') ? s.slice(1, -1) : s;
}

function nameMatches(rules: HostRules, host: string): boolean {
  return rules.names.some((n) =>
    n.startsWith('*.') ? host.endsWith(n.slice(1)) && host.length > n.length - 1 : host === n,
  );
}

function addressMatches(rules: HostRules, address: string): boolean {
  const family = isIP(address);
  if (!family) return false;
  if (rules.cidrs.check(address, family === 4 ? 'ipv4' : 'ipv6')) return true;
  // An IPv4-mapped IPv6 address (::ffff:10.0.0.1) is judged as its IPv4 address too.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped ? rules.cidrs.check(mapped[1]!, 'ipv4') : false;
}

export type HostVerdict =
  | { ok: true; addresses: string[] }
  /** `unresolved`: the name did not resolve (perhaps only for now), rather than being refused. */
  | { ok: false; reason: string; unresolved?: true };

/**
 * SSRF guard for source hosts (`SOURCE_HOST_ALLOWLIST` / `SOURCE_HOST_DENYLIST`: host names,
 * `*.suffix` wildcards, IPv4/IPv6 addresses and CIDRs). A name is checked as written, then resolved
 * and every address checked: any denied address, or (with an allow-list) any address that is not
 * allowed by name or CIDR, rejects the host. Names that do not resolve are rejected.
 */
export class HostGuard {
  private readonly allow: HostRules | undefined;
  private readonly deny: HostRules;

  constructor(
    options: { allow?: string[] | undefined; deny?: string[] | undefined },
    private readonly resolve: HostResolver = systemResolver,
  ) {
    this.allow = options.allow && options.allow.length > 0 ? compile(options.allow) : undefined;
    this.deny = compile(options.deny ?? []);
  }

  async check(rawHost: string): Promise<HostVerdict> {
    const host = stripBrackets(rawHost.trim().toLowerCase()).replace(/\.$/, '');
    if (!host) return { ok: false, reason: 'is empty' };
    const literal = isIP(host) !== 0;
    if (!literal && !/^[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*$/.test(host))
      return { ok: false, reason: 'is not a valid host name or IP address' };
    if (!literal && nameMatches(this.deny, host))
      return { ok: false, reason: 'is on the deny-list (SOURCE_HOST_DENYLIST)' };
    let addresses: string[];
    if (literal) addresses = [host];
    else {
      try {
        addresses = await this.resolve(host);
      } catch {
        return { ok: false, reason: 'does not resolve to an address', unresolved: true };
      }
      if (addresses.length === 0)
        return { ok: false, reason: 'does not resolve to an address', unresolved: true };
    }
    for (const a of addresses)
      if (addressMatches(this.deny, a))
        return {
          ok: false,
          reason: literal
            ? 'is on the deny-list (SOURCE_HOST_DENYLIST)'
            : `resolves to ${a}, which is on the deny-list (SOURCE_HOST_DENYLIST)`,
        };
    if (this.allow) {
      const byName = !literal && nameMatches(this.allow, host);
      if (!byName) {
        const outside = addresses.find((a) => !addressMatches(this.allow!, a));
        if (outside !== undefined)
          return {
            ok: false,
            reason: literal
              ? 'is not on the allow-list (SOURCE_HOST_ALLOWLIST)'
              : `resolves to ${outside}, which is not on the allow-list (SOURCE_HOST_ALLOWLIST)`,
          };
      }
    }
    return { ok: true, addresses };
  }

  /**
   * The addresses to connect to for `host` (in resolver order), checked now — for clients that
   * connect long after the host was saved (a sync, a connection test, a reconnect): the name may
   * resolve elsewhere by then (DNS rebinding). Connecting to these addresses, not the name, closes
   * the gap between check and connect. A host the lists refuse is a `CONFIG_INVALID` error that
   * fails the job; a name that does not resolve (DNS may be down for a moment) is
   * `CONNECTOR_UNREACHABLE`, retried like a refused connection.
   */
  async addressesFor(host: string): Promise<string[]> {
    const verdict = await this.check(host);
    if (verdict.ok) return verdict.addresses;
    if (verdict.unresolved)
      throw new UnreachableError(`server_host "${host}" ${verdict.reason}`, {
        details: { field: 'server_host' },
      });
    throw new AppError(ErrorCode.CONFIG_INVALID, `server_host "${host}" ${verdict.reason}`, {
      action: 'fail_job',
      details: { field: 'server_host' },
    });
  }
}
