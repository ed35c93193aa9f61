/**
 * The shared coordinator core must run on Node and in workerd alike: Web-standard APIs only. This
 * walks the core's runtime import graph from its entry files and lists every Node-only thing it
 * reaches: a `node:` (or bare built-in) import, a Node-only package, a Node global (`Buffer`,
 * `process`, `__dirname`, `require`), a `NodeJS.*` type or a timer's `.unref()`.
 * Used by runtime-boundary.test.ts; it reads source files, so it is test-only tooling.
 */
import { existsSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, relative, resolve } from 'node:path';
import { transformSync } from 'esbuild';

/** Packages that only run on Node (the Node adapter may use them; the core may not). */
const NODE_ONLY_PACKAGES = ['ws', '@hono/node-server', '@electric-sql/pglite', 'prom-client', 'tsx'];

/**
 * Files of a Node-only package that run in workerd under nodejs_compat (checked there: the edge
 * serves /metrics through them); the package's index stays Node-only.
 */
const RUNS_IN_WORKERD = new Set([
  'prom-client/lib/registry.js',
  'prom-client/lib/gauge.js',
  'prom-client/lib/counter.js',
  'prom-client/lib/histogram.js',
]);

const BUILTINS = new Set(builtinModules);

export interface Finding {
  /** Repository-relative path of the file. */
  readonly file: string;
  /** What was found: `import node:crypto`, `global Buffer`, `type NodeJS.Timeout`, … */
  readonly what: string;
}

const IMPORT_SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)["']([^"']+)["']/g;
const NODE_GLOBALS: readonly [string, RegExp][] = [
  ['global Buffer', /\bBuffer\s*[.(]/],
  ['global process', /\bprocess\s*\./],
  ['global __dirname', /\b__dirname\b/],
  ['global require', /(?<![.\w])require\s*\(/],
  ['global setImmediate', /\bsetImmediate\s*\(/],
  ['timer .unref()', /\.unref\s*\(\s*\)/],
];

function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? specifier);
}

function classify(specifier: string): string | undefined {
  if (specifier.startsWith('node:')) return `import ${specifier}`;
  if (specifier.startsWith('.') || RUNS_IN_WORKERD.has(specifier)) return undefined;
  const pkg = packageOf(specifier);
  if (BUILTINS.has(pkg)) return `import ${specifier} (a Node built-in)`;
  if (NODE_ONLY_PACKAGES.includes(pkg)) return `import ${pkg} (Node-only)`;
  return undefined;
}

function specifiers(code: string): string[] {
  return [...code.matchAll(IMPORT_SPECIFIER)].map((match) => match[1] as string);
}

/** Strips comments and string contents roughly enough to scan for type names. */
function withoutComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}

/**
 * Every Node-only thing the core reaches from `entries` (absolute paths of .ts files), following
 * runtime imports (type-only imports are checked in the importing file, not followed).
 */
export function scanCore(entries: readonly string[], root: string): Finding[] {
  const findings: Finding[] = [];
  const seen = new Set<string>();
  const queue = [...entries];
  while (queue.length > 0) {
    const file = queue.shift() as string;
    if (seen.has(file)) continue;
    seen.add(file);
    const source = readFileSync(file, 'utf8');
    const loader = file.endsWith('.tsx') ? 'tsx' : 'ts';
    const js = transformSync(source, { loader, format: 'esm', target: 'es2023', jsx: 'automatic' }).code;
    const rel = relative(root, file);
    const add = (what: string) => {
      if (!findings.some((f) => f.file === rel && f.what === what)) findings.push({ file: rel, what });
    };
    for (const specifier of specifiers(js)) {
      const what = classify(specifier);
      if (what !== undefined) add(what);
      if (specifier.startsWith('.')) {
        const ts = resolve(dirname(file), specifier.replace(/\.js$/, '.ts'));
        queue.push(existsSync(ts) ? ts : ts.replace(/\.ts$/, '.tsx'));
      }
    }
    // Type-only imports vanish from the JavaScript, but a Node type in the core is still a Node tie.
    const types = withoutComments(source);
    for (const specifier of specifiers(types)) {
      const what = classify(specifier);
      if (what !== undefined && !specifiers(js).includes(specifier)) add(`type ${what}`);
    }
    for (const [what, pattern] of NODE_GLOBALS) if (pattern.test(js)) add(what);
    for (const match of types.matchAll(/\bNodeJS\.(\w+)/g)) add(`type NodeJS.${match[1]}`);
  }
  return findings.sort((a, b) => a.file.localeCompare(b.file) || a.what.localeCompare(b.what));
}
