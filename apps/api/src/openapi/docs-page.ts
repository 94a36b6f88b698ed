import { resolvePointer, type OpenApiDocument } from './assemble.js';

/**
 * A self-contained HTML reference rendered from the document: no scripts, no external assets, so it
 * works offline and under a strict Content-Security-Policy.
 */
type Obj = Record<string, unknown>;
const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

function esc(s: unknown): string {
  return String(s ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

/** Minimal inline markdown: `code`, **bold**, paragraphs and "* " lists. */
function md(s: unknown): string {
  const inline = (t: string) =>
    esc(t)
      .replace(/`([^`]+)`/g, '<code>$1</code>')
      .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>');
  const out: string[] = [];
  let list: string[] = [];
  const flush = () => {
    if (list.length) out.push(`<ul>${list.map((l) => `<li>${inline(l)}</li>`).join('')}</ul>`);
    list = [];
  };
  let para: string[] = [];
  const flushPara = () => {
    if (para.length) out.push(`<p>${inline(para.join(' '))}</p>`);
    para = [];
  };
  for (const line of String(s ?? '').split('\n')) {
    const item = /^\s*[*-] (.*)$/.exec(line);
    if (item) {
      flushPara();
      list.push(item[1]!);
    } else if (/^\s+\S/.test(line) && list.length) {
      list[list.length - 1] += ` ${line.trim()}`;
    } else if (!line.trim()) {
      flushPara();
      flush();
    } else {
      flush();
      para.push(line.trim());
    }
  }
  flushPara();
  flush();
  return out.join('');
}

function refName(ref: string): string {
  return ref.split('/').pop() ?? ref;
}

function deref(doc: OpenApiDocument, v: unknown): Obj {
  let cur = v as Obj;
  for (let i = 0; i < 10 && cur && typeof cur.$ref === 'string'; i++) {
    const { $ref, ...siblings } = cur;
    cur = { ...(resolvePointer(doc, $ref as string) as Obj), ...siblings };
  }
  return cur ?? {};
}

function typeLabel(doc: OpenApiDocument, schema: unknown): string {
  const raw = schema as Obj;
  if (!raw) return '';
  if (typeof raw.$ref === 'string')
    return `<a href="#schema-${esc(refName(raw.$ref))}">${esc(refName(raw.$ref))}</a>`;
  if (raw.const !== undefined) return `<code>${esc(JSON.stringify(raw.const))}</code>`;
  if (Array.isArray(raw.enum)) return raw.enum.map((e) => `<code>${esc(e)}</code>`).join(' | ');
  for (const k of ['oneOf', 'anyOf']) {
    if (Array.isArray(raw[k]))
      return (raw[k] as unknown[]).map((s) => typeLabel(doc, s)).join(' | ');
  }
  const t = Array.isArray(raw.type) ? raw.type.join(' | ') : String(raw.type ?? 'any');
  if (raw.type === 'array') return `array of ${typeLabel(doc, raw.items)}`;
  const extras: string[] = [];
  if (raw.format) extras.push(String(raw.format));
  if (raw.minimum !== undefined) extras.push(`≥ ${raw.minimum}`);
  if (raw.maximum !== undefined) extras.push(`≤ ${raw.maximum}`);
  if (raw.minLength !== undefined) extras.push(`length ≥ ${raw.minLength}`);
  if (raw.maxLength !== undefined) extras.push(`length ≤ ${raw.maxLength}`);
  if (raw.pattern) extras.push(`pattern <code>${esc(raw.pattern)}</code>`);
  if (raw.default !== undefined)
    extras.push(`default <code>${esc(JSON.stringify(raw.default))}</code>`);
  return `${esc(t)}${extras.length ? ` <small>(${extras.join(', ')})</small>` : ''}`;
}

function fieldsTable(doc: OpenApiDocument, schema: unknown): string {
  const s = deref(doc, schema);
  const parts: Obj[] = Array.isArray(s.allOf)
    ? (s.allOf as unknown[]).map((x) => deref(doc, x))
    : [s];
  const rows: string[] = [];
  for (const part of parts) {
    const props = (part.properties ?? {}) as Obj;
    const required = new Set((part.required ?? []) as string[]);
    for (const [name, prop] of Object.entries(props)) {
      const p = deref(doc, prop);
      const flags = [
        required.has(name) ? 'required' : '',
        p.readOnly ? 'read-only' : '',
        p.writeOnly ? 'write-only' : '',
      ]
        .filter(Boolean)
        .join(', ');
      rows.push(
        `<tr><td><code>${esc(name)}</code>${flags ? `<br><small>${flags}</small>` : ''}</td><td>${typeLabel(doc, prop)}</td><td>${md(p.description)}</td></tr>`,
      );
    }
  }
  if (!rows.length) return `<p>${typeLabel(doc, schema)}</p>`;
  return `<table><tr><th>field</th><th>type</th><th>description</th></tr>${rows.join('')}</table>`;
}

export function renderDocsPage(doc: OpenApiDocument): string {
  const info = (doc.info ?? {}) as Obj;
  const byTag = new Map<string, string[]>();
  const toc: string[] = [];
  for (const [p, item] of Object.entries(doc.paths)) {
    for (const method of METHODS) {
      const op = item[method] as Obj | undefined;
      if (!op) continue;
      const tag = ((op.tags as string[]) ?? ['Other'])[0]!;
      const anchor = `op-${esc(op.operationId ?? `${method}-${p}`)}`;
      const params = [
        ...((item.parameters ?? []) as unknown[]),
        ...((op.parameters ?? []) as unknown[]),
      ]
        .map((x) => deref(doc, x))
        .map(
          (x) =>
            `<tr><td><code>${esc(x.name)}</code> <small>${esc(x.in)}${x.required ? ', required' : ''}</small></td><td>${typeLabel(doc, x.schema)}</td><td>${md(x.description)}</td></tr>`,
        );
      const body = op.requestBody ? deref(doc, op.requestBody) : undefined;
      const bodyHtml = body
        ? Object.entries((body.content ?? {}) as Obj)
            .map(
              ([ct, c]) =>
                `<h4>Request body <small>${esc(ct)}${body.required ? ', required' : ''}</small></h4>${md(body.description)}${fieldsTable(doc, (c as Obj).schema)}`,
            )
            .join('')
        : '';
      const responses = Object.entries((op.responses ?? {}) as Obj)
        .map(([status, r]) => {
          const rr = deref(doc, r);
          const content = (rr.content ?? {}) as Obj;
          const schema = Object.values(content)[0] as Obj | undefined;
          return `<tr><td><code>${esc(status)}</code></td><td>${md(rr.description)}</td><td>${schema?.schema ? typeLabel(doc, schema.schema) : ''}</td></tr>`;
        })
        .join('');
      const security =
        Array.isArray(op.security) && op.security.length === 0
          ? ' <span class="pub">public</span>'
          : '';
      const html = `<section class="op" id="${anchor}"><h3><span class="m m-${method}">${method.toUpperCase()}</span> <code>${esc(p)}</code>${security}</h3>
<p><strong>${esc(op.summary)}</strong></p>${md(op.description)}
${params.length ? `<h4>Parameters</h4><table><tr><th>name</th><th>type</th><th>description</th></tr>${params.join('')}</table>` : ''}
${bodyHtml}<h4>Responses</h4><table><tr><th>status</th><th>meaning</th><th>body</th></tr>${responses}</table></section>`;
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag)!.push(html);
      toc.push(
        `<li><a href="#${anchor}"><span class="m m-${method}">${method.toUpperCase()}</span> ${esc(p)}</a></li>`,
      );
    }
  }
  const tagDesc = new Map((doc.tags ?? []).map((t) => [t.name, t.description]));
  const sections = [...byTag.entries()]
    .map(
      ([tag, ops]) =>
        `<h2 id="tag-${esc(tag)}">${esc(tag)}</h2>${md(tagDesc.get(tag))}${ops.join('')}`,
    )
    .join('');
  const schemas = Object.entries((doc.components.schemas ?? {}) as Obj)
    .map(
      ([name, s]) =>
        `<section class="schema" id="schema-${esc(name)}"><h3>${esc(name)}</h3>${md((s as Obj).description)}${fieldsTable(doc, s)}</section>`,
    )
    .join('');
  const base = esc((((doc.servers ?? []) as Obj[])[0]?.url as string) ?? '');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(info.title)} — reference</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:15px/1.5 system-ui,sans-serif;margin:0;display:flex;color:#1d2330}
nav{width:330px;flex:none;height:100vh;overflow:auto;position:sticky;top:0;background:#f4f6fa;padding:12px;box-sizing:border-box;font-size:13px}
nav ul{list-style:none;padding:0;margin:0 0 12px}nav a{color:inherit;text-decoration:none}
main{padding:16px 32px;max-width:1100px;overflow:auto}
code{background:#eef1f6;padding:0 3px;border-radius:3px;font-size:90%}
table{border-collapse:collapse;width:100%;margin:6px 0 12px}td,th{border:1px solid #d9dee8;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f4f6fa}.op,.schema{border-top:1px solid #d9dee8;padding-top:8px;margin-top:16px}
.m{display:inline-block;min-width:52px;text-align:center;border-radius:3px;color:#fff;font-size:11px;font-weight:bold;padding:1px 4px}
.m-get{background:#2f7d32}.m-post{background:#1565c0}.m-patch{background:#8e5a00}.m-put{background:#6a1b9a}.m-delete{background:#b71c1c}
.pub{font-size:11px;background:#ddd;border-radius:3px;padding:1px 4px}
</style></head><body><nav><strong>${esc(info.title)}</strong><br><small>version ${esc(info.version)} · base <code>${base}</code> · <a href="openapi.json">openapi.json</a></small><ul>${toc.join('')}</ul></nav>
<main><h1>${esc(info.title)}</h1>${md(info.description)}${sections}<h2>Schemas</h2>${schemas}</main></body></html>`;
}
