// What every bundle shares: the Node.js version it needs (from package.json's engines) and the
// banner that checks it and gives an ESM bundle a real require (ws and prom-client are CommonJS).
import { readFile } from 'node:fs/promises';
import { isBuiltin } from 'node:module';
import { dirname, join } from 'node:path';

export const ROOT = new URL('../../', import.meta.url);
export const pkg = JSON.parse(await readFile(new URL('package.json', ROOT), 'utf8'));

const [major, minor] = /(\d+)\.(\d+)/.exec(pkg.engines.node)?.slice(1).map(Number) ?? [];
if (major === undefined || minor === undefined)
  throw new Error(`cannot read engines.node "${pkg.engines.node}"`);
export const NODE_MIN = { major, minor, target: `node${major}.${minor}` };

/**
 * Runs before anything else in the bundle: a too-old Node.js (Debian 12 and Ubuntu 24.04 ship 18)
 * gets one clear line instead of an obscure failure later.
 */
export function nodeCheck(program) {
  return [
    "const [__major, __minor] = process.versions.node.split('.').map(Number);",
    `if (__major < ${major} || (__major === ${major} && __minor < ${minor})) {`,
    `  process.stderr.write(\`${program} needs Node.js >= ${major}.${minor}; \${process.execPath} is \${process.version}\\n\`);`,
    '  process.exit(1);',
    '}',
  ].join('\n');
}

export const requireBanner = [
  "import { createRequire as __upsfleetCreateRequire } from 'node:module';",
  'const require = __upsfleetCreateRequire(import.meta.url);',
].join('\n');

// ws's optional native speed-ups, required inside try/catch: absent is fine.
const OPTIONAL = new Set(['bufferutil', 'utf-8-validate']);

/** The packages a build's output imports without containing them (besides Node's built-ins). */
export function externalImports(metafile) {
  return [
    ...new Set(
      Object.values(metafile.outputs)
        .flatMap((output) => output.imports)
        .filter((entry) => entry.external && !isBuiltin(entry.path) && !OPTIONAL.has(entry.path))
        .map((entry) => entry.path),
    ),
  ];
}

export function outputBytes(metafile) {
  return Object.values(metafile.outputs).reduce((sum, output) => sum + output.bytes, 0);
}

export const kib = (bytes) => `${(bytes / 1024).toFixed(1)} KiB`;

/**
 * zod re-exports every locale (`z.locales`: 40-odd languages, 264 KiB of the bundle, half of zod);
 * upsfleet's messages are English only. Keeps `en` (what zod configures by default) and drops the rest.
 */
export const englishZodOnly = {
  name: 'english-zod-only',
  setup(b) {
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[/\\]zod[/\\]/.test(args.importer)
        ? { path: join(dirname(args.importer), '..', 'locales', 'en.js'), namespace: 'zod-locales' }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({
      contents: `export { default as en } from ${JSON.stringify(args.path)};`,
      resolveDir: dirname(args.path),
    }));
  },
};
