/** Injectable faults and the request log. */
import { seededRandom } from '../support/random.js';

export type HostName = 'login' | 'graph' | 'sharepoint';

export type RouteClass =
  | 'metadata'
  | 'authorize'
  | 'token'
  | 'sites'
  | 'drives'
  | 'item'
  | 'children'
  | 'delta'
  | 'content'
  | 'simpleUpload'
  | 'createUploadSession'
  | 'uploadChunk'
  | 'uploadStatus'
  | 'download'
  | 'versions'
  | 'permissions'
  | 'fields'
  | 'directory'
  | 'other';

export interface FaultRule {
  /** Route classes the rule applies to (default: every class of every host). */
  routes?: RouteClass[];
  /** HTTP methods (default: any). */
  methods?: string[];
  /** Answer with this status (429, 503, 500, ...). */
  status?: number;
  /** `Retry-After` seconds sent with the status (sent as given: tests use fractions to stay fast). */
  retryAfterSec?: number;
  /** Close the connection without an answer (after reading nothing of the body). */
  drop?: boolean;
  /** Process the request fully, then close the connection instead of answering (lost response). */
  dropResponse?: boolean;
  /**
   * Send the real answer's headers and only this many bytes of its body, then close the
   * connection (a connection lost mid-download).
   */
  cutAfterBytes?: number;
  /** Delay the (real or faulty) answer by this much. */
  delayMs?: number;
  /** How many matching requests the rule hits (default: unlimited). */
  count?: number;
  /** Hit a matching request with this probability (default 1), drawn from a seeded PRNG. */
  probability?: number;
}

export interface RequestLogEntry {
  seq: number;
  at: number;
  host: HostName;
  method: string;
  /** Path and query as received. */
  url: string;
  route: RouteClass;
  status: number;
  remoteAddress: string;
  localAddress: string;
  /** The request's `Range` header, if any. */
  range?: string;
  /** The request carried `Authorization: Bearer …`. */
  bearer: boolean;
  userAgent: string;
  /** Which fault hit it, if any: `status:429`, `drop`, `delay`. */
  fault?: string;
  durationMs: number;
}

export class FaultInjector {
  private rules: (FaultRule & { hits: number })[] = [];
  private readonly random: () => number;

  constructor(seed = 42) {
    this.random = seededRandom(seed);
  }

  add(rule: FaultRule): () => void {
    const r = { ...rule, hits: 0 };
    this.rules.push(r);
    return () => {
      this.rules = this.rules.filter((x) => x !== r);
    };
  }

  clear(): void {
    this.rules = [];
  }

  /** The rule that hits this request, if any (consumes one of its `count`). */
  match(route: RouteClass, method: string): FaultRule | undefined {
    for (const r of this.rules) {
      if (r.routes && !r.routes.includes(route)) continue;
      if (r.methods && !r.methods.includes(method)) continue;
      if (r.count !== undefined && r.hits >= r.count) continue;
      if (r.probability !== undefined && this.random() >= r.probability) continue;
      r.hits++;
      return r;
    }
    return undefined;
  }
}
