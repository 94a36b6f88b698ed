import type { RequestHandler } from 'express';
import { ValidationError, type FieldIssue } from '@scaidrive/core';

/**
 * Rejects text PostgreSQL cannot store as sent: a NUL character (not allowed in `text`) or a lone
 * UTF-16 surrogate (not Unicode; it would be stored as U+FFFD, silently changing a name). Checks
 * the path, the query and a JSON body, and answers 400 naming every field, before any handler
 * can hand such a string to the database.
 */
export function textGuard(): RequestHandler {
  return (req, _res, next) => {
    const issues: FieldIssue[] = [];
    let path: string;
    try {
      path = decodeURIComponent(req.path);
    } catch {
      return next(
        new ValidationError('Request path is not valid percent-encoded UTF-8', [
          { field: 'path', reason: 'is not valid percent-encoded UTF-8' },
        ]),
      );
    }
    check(path, 'path', issues);
    walk(req.query, 'query', issues);
    if (typeof req.body === 'string') check(req.body, 'body', issues);
    else if (req.body !== undefined && typeof req.body === 'object') walk(req.body, 'body', issues);
    if (issues.length === 0) return next();
    next(new ValidationError('Request contains text that cannot be stored', issues.slice(0, 20)));
  };
}

function check(value: string, field: string, issues: FieldIssue[]): void {
  if (value.includes('\u0000')) issues.push({ field, reason: 'must not contain NUL characters' });
  else if (!value.isWellFormed())
    issues.push({ field, reason: 'is not valid Unicode (lone surrogate)' });
}

function walk(value: unknown, field: string, issues: FieldIssue[], depth = 0): void {
  if (issues.length >= 20 || depth > 32) return;
  if (typeof value === 'string') return check(value, field, issues);
  if (Array.isArray(value)) {
    value.forEach((v, i) => walk(v, `${field}[${i}]`, issues, depth + 1));
    return;
  }
  if (value && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) {
      check(k, `${field}.${k.replace(/\p{Cc}|\p{Cs}/gu, '?')}`, issues);
      walk(v, `${field}.${k}`, issues, depth + 1);
    }
}
