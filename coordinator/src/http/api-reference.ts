/**
 * The API reference page, rendered on the server from the OpenAPI document: one self-contained HTML
 * page, no scripts, nothing fetched from elsewhere (coordinators often run where there is no internet).
 */

type Json = Record<string, unknown>;

const esc = (text: unknown): string => String(text).replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

/** A little Markdown: `code` and **bold**, on escaped text. */
const inline = (text: unknown): string =>
  esc(text)
    .replace(/`([^`]+)`/g, '<code>$1</code>')
    .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>');

const paragraphs = (text: unknown): string =>
  typeof text === 'string'
    ? text
        .split(/\n{2,}/)
        .map((p) => `<p>${inline(p)}</p>`)
        .join('')
    : '';

function schemaBlock(schema: unknown): string {
  return `<pre>${esc(JSON.stringify(schema, null, 2))}</pre>`;
}

function parametersTable(parameters: readonly Json[]): string {
  if (parameters.length === 0) return '';
  const rows = parameters
    .map((p) => {
      const schema = (p.schema ?? {}) as Json;
      const type = schema.type ?? (schema.enum ? 'enum' : schema.anyOf ? 'one of' : '');
      const values = Array.isArray(schema.enum) ? ` (${schema.enum.map(String).join(' | ')})` : '';
      return `<tr><td><code>${esc(p.name)}</code></td><td>${esc(p.in)}</td><td>${esc(type)}${esc(values)}</td><td>${p.required ? 'yes' : ''}</td><td>${inline(p.description ?? '')}</td></tr>`;
    })
    .join('');
  return `<table><thead><tr><th>Parameter</th><th>In</th><th>Type</th><th>Required</th><th>Description</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function responsesList(responses: Json): string {
  return Object.entries(responses)
    .map(([status, response]) => {
      const r = response as Json;
      if (typeof r.$ref === 'string')
        return `<li><strong>${esc(status)}</strong> problem document (application/problem+json)</li>`;
      const content = (r.content ?? {}) as Json;
      const json = content['application/json'] as Json | undefined;
      const body =
        json?.schema === undefined
          ? ''
          : `<details><summary>schema</summary>${schemaBlock(json.schema)}</details>`;
      return `<li><strong>${esc(status)}</strong> ${inline(r.description ?? '')}${body}</li>`;
    })
    .join('');
}

export function renderApiReference(document: Json): string {
  const info = document.info as Json;
  const paths = document.paths as Record<string, Record<string, Json>>;
  const byTag = new Map<string, string[]>();
  const toc: string[] = [];
  for (const [path, item] of Object.entries(paths)) {
    for (const [method, op] of Object.entries(item)) {
      const tag = ((op.tags as string[] | undefined) ?? ['other'])[0] ?? 'other';
      const id = esc(op.operationId ?? `${method}-${path}`);
      const request = ((op.requestBody as Json | undefined)?.content as Json | undefined)?.[
        'application/json'
      ] as Json | undefined;
      const section = `<section id="${id}">
<h3><span class="method ${esc(method)}">${esc(method.toUpperCase())}</span> <code>${esc(path)}</code></h3>
<p class="summary">${inline(op.summary ?? '')}</p>
${paragraphs(op.description)}
${parametersTable((op.parameters as Json[] | undefined) ?? [])}
${request === undefined ? '' : `<details><summary>Request body</summary>${schemaBlock(request.schema)}</details>`}
<ul class="responses">${responsesList((op.responses ?? {}) as Json)}</ul>
</section>`;
      byTag.set(tag, [...(byTag.get(tag) ?? []), section]);
      toc.push(
        `<li><a href="#${id}"><span class="method ${esc(method)}">${esc(method.toUpperCase())}</span> ${esc(path)}</a></li>`,
      );
    }
  }
  const body = [...byTag.entries()]
    .map(([tag, sections]) => `<h2 id="tag-${esc(tag)}">${esc(tag)}</h2>${sections.join('\n')}`)
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(info.title)} API reference</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;margin:0;display:grid;grid-template-columns:20rem 1fr;color:#1b1f24}
nav{position:sticky;top:0;height:100vh;overflow:auto;background:#f4f5f7;padding:1rem;border-right:1px solid #ddd}
nav ul{list-style:none;padding:0;margin:0;font-size:13px}nav a{color:inherit;text-decoration:none}
main{padding:1rem 2rem;max-width:60rem}section{border-top:1px solid #e3e3e3;padding:.5rem 0}
.method{display:inline-block;min-width:3.5em;font:600 12px monospace;text-align:center;border-radius:3px;padding:1px 4px;color:#fff;background:#555}
.get{background:#2f6fbf}.post{background:#2d8a4e}.put{background:#b7791f}.delete{background:#c53030}.patch{background:#6b46c1}
pre{background:#f6f8fa;padding:.5rem;overflow:auto;font-size:12px}table{border-collapse:collapse;font-size:13px}
td,th{border:1px solid #ddd;padding:2px 6px;text-align:left}code{font-size:90%}
</style></head>
<body><nav><strong>${esc(info.title)}</strong> ${esc(info.version)}<p><a href="/openapi.json">openapi.json</a></p><ul>${toc.join('')}</ul></nav>
<main><h1>${esc(info.title)} API reference</h1>${paragraphs(info.description)}${body}</main></body></html>`;
}
