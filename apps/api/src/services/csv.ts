/** RFC 4180 CSV (quoted fields, "" escapes, CRLF or LF). Returns rows of trimmed cells. */
export function parseCsv(text: string): { rows: string[][]; error?: string } {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  let i = 0;
  const src = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  while (i < src.length) {
    const c = src[i]!;
    if (quoted) {
      if (c === '"') {
        if (src[i + 1] === '"') {
          cell += '"';
          i += 2;
          continue;
        }
        quoted = false;
      } else cell += c;
      i++;
      continue;
    }
    if (c === '"' && cell.trim() === '') {
      quoted = true;
      cell = '';
    } else if (c === ',') {
      row.push(cell.trim());
      cell = '';
    } else if (c === '\n' || c === '\r') {
      row.push(cell.trim());
      cell = '';
      if (row.some((x) => x !== '')) rows.push(row);
      row = [];
      if (c === '\r' && src[i + 1] === '\n') i++;
    } else cell += c;
    i++;
  }
  if (quoted) return { rows, error: 'unterminated quoted field' };
  row.push(cell.trim());
  if (row.some((x) => x !== '')) rows.push(row);
  return { rows };
}
