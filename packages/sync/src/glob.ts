/**
 * Glob patterns as the connector API documents them: `*` any characters but `/`, `**` any
 * characters including `/` (a `**` segment followed by `/` also matches zero folders), `?` one character but `/`,
 * `[abc]` / `[!abc]` / `[a-z]` a character class, `{a,b}` alternatives, `\x` a literal `x`.
 * Matching is case-insensitive and on NFC-normalised text, like every name comparison.
 */
export function globToRegExp(pattern: string): RegExp {
  const src = pattern.normalize('NFC');
  let out = '';
  let braceDepth = 0;
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    switch (c) {
      case '\\': {
        const next = src[i + 1];
        if (next !== undefined) {
          out += escapeRe(next);
          i++;
        } else out += '\\\\';
        break;
      }
      case '*': {
        if (src[i + 1] === '*') {
          const atSegmentStart = i === 0 || src[i - 1] === '/';
          i++;
          if (atSegmentStart && src[i + 1] === '/') {
            out += '(?:.*/)?';
            i++;
          } else out += '.*';
        } else out += '[^/]*';
        break;
      }
      case '?':
        out += '[^/]';
        break;
      case '[': {
        const end = src.indexOf(']', i + 2);
        if (end === -1) {
          out += '\\[';
          break;
        }
        let body = src.slice(i + 1, end);
        let negate = false;
        if (body.startsWith('!') || body.startsWith('^')) {
          negate = true;
          body = body.slice(1);
        }
        body = body.replace(/[\\\]^]/g, (m) => `\\${m}`);
        out += negate ? `[^/${body}]` : `[${body}]`;
        i = end;
        break;
      }
      case '{':
        braceDepth++;
        out += '(?:';
        break;
      case '}':
        if (braceDepth > 0) {
          braceDepth--;
          out += ')';
        } else out += '\\}';
        break;
      case ',':
        out += braceDepth > 0 ? '|' : ',';
        break;
      default:
        out += escapeRe(c);
    }
  }
  while (braceDepth-- > 0) out += ')';
  return new RegExp(`^${out}$`, 'iu');
}

function escapeRe(c: string): string {
  return /[.*+?^${}()|[\]\\/]/.test(c) ? `\\${c}` : c;
}
