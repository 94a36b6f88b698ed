import { driveNameProblem, type FieldIssue } from '@scaidrive/core';

/** Pure checks the OpenAPI schema cannot express; each returns a reason or null. */

export const MIN_INTERVAL_MINUTES = 5;
export const MAX_INTERVAL_MINUTES = 10_080;

export function intervalProblem(n: number): string | null {
  if (n === 0) return null;
  if (!Number.isInteger(n) || n < MIN_INTERVAL_MINUTES || n > MAX_INTERVAL_MINUTES)
    return `must be 0 (manual only) or between ${MIN_INTERVAL_MINUTES} and ${MAX_INTERVAL_MINUTES} minutes`;
  return null;
}

/** A clean absolute ScaiDrive folder path: `/`, or `/a/b` with valid names. Returns the NFC form. */
export function cleanTargetPath(raw: string): { value: string } | { problem: string } {
  const p = raw.normalize('NFC');
  if (!p.startsWith('/')) return { problem: 'must be an absolute path starting with "/"' };
  if (p === '/') return { value: p };
  if (p.endsWith('/')) return { problem: 'must not end with "/"' };
  const parts = p.slice(1).split('/');
  for (const part of parts) {
    if (part === '') return { problem: 'must not contain empty segments ("//")' };
    if (part === '.' || part === '..') return { problem: 'must not contain "." or ".." segments' };
    const why = driveNameProblem(part);
    if (why) return { problem: `segment "${part.slice(0, 40)}": ${why}` };
    if (part !== part.trim()) return { problem: 'segments must not start or end with spaces' };
  }
  return { value: p };
}

/** A relative folder inside the source (`\` or `/` separated). Returns `a/b` (no leading/trailing slash). */
export function cleanBasePath(raw: string): { value: string } | { problem: string } {
  const parts = raw
    .normalize('NFC')
    .replace(/\\/g, '/')
    .split('/')
    .filter((s) => s.length > 0);
  for (const part of parts) {
    if (part === '.' || part === '..') return { problem: 'must not contain "." or ".." segments' };
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(part))
      return { problem: 'must not contain control characters' };
    if (part !== part.trim()) return { problem: 'segments must not start or end with spaces' };
  }
  return { value: parts.join('/') };
}

export interface PatternSet {
  extensions?: string[];
  patterns?: string[];
}

/** Normalises a pattern set (lower-case extensions, deduplicated); reports bad globs. */
export function cleanPatternSet(
  field: string,
  set: PatternSet,
  issues: FieldIssue[],
): { extensions?: string[]; patterns?: string[] } {
  const out: { extensions?: string[]; patterns?: string[] } = {};
  if (set.extensions) out.extensions = [...new Set(set.extensions.map((e) => e.toLowerCase()))];
  if (set.patterns) {
    set.patterns.forEach((p, i) => {
      // eslint-disable-next-line no-control-regex
      if (/[\u0000-\u001f\u007f]/.test(p))
        issues.push({
          field: `${field}.patterns.${i}`,
          reason: 'must not contain control characters',
        });
      else if (unbalancedBrackets(p))
        issues.push({
          field: `${field}.patterns.${i}`,
          reason: 'has an unclosed "[" character class',
        });
    });
    out.patterns = [...new Set(set.patterns)];
  }
  return out;
}

function unbalancedBrackets(p: string): boolean {
  let open = false;
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === '\\') i++;
    else if (c === '[' && !open) open = true;
    else if (c === ']' && open) open = false;
  }
  return open;
}

const SID = /^S-1-\d{1,15}(-\d{1,10}){1,15}$/i;
const DOMAIN_NAME =
  // eslint-disable-next-line no-control-regex
  /^([^\\/:*?"<>|\u0000-\u001f]{1,255})\\([^\\/[\]:;|=,+*?<>"@\u0000-\u001f]{1,256})$/;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** SMB principal: `DOMAIN\name` or a SID. Returns the matching key (upper-case SID, lower-case name). */
export function smbPrincipalKey(
  raw: string,
): { key: string; sid: string | null } | { problem: string } {
  const s = raw.trim();
  if (SID.test(s)) return { key: s.toUpperCase(), sid: s.toUpperCase() };
  const m = DOMAIN_NAME.exec(s);
  if (m && m[1]!.trim() && m[2]!.trim())
    return { key: s.normalize('NFC').toLowerCase(), sid: null };
  return { problem: 'must be DOMAIN\\name (e.g. CORP\\alice) or a SID (S-1-5-21-…)' };
}

/** SharePoint principal: an Entra object id (GUID), matched in lower case. */
export function entraPrincipalKey(raw: string): { key: string } | { problem: string } {
  const s = raw.trim();
  return GUID.test(s)
    ? { key: s.toLowerCase() }
    : { problem: 'must be an Entra ID object id (GUID)' };
}
