// Builds the single-file agent bundle: dist/upsfleet-agent.mjs runs on a plain Node.js >= 20.11,
// with no node_modules beside it (ws, jose, zod and yaml are inside; only node: built-ins are imported).
import { readFile } from 'node:fs/promises';
import { isBuiltin } from 'node:module';
import { build } from 'esbuild';

const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8'));
const [major, minor] = /(\d+)\.(\d+)/.exec(pkg.engines.node)?.slice(1).map(Number) ?? [];
if (major === undefined || minor === undefined)
  throw new Error(`cannot read engines.node "${pkg.engines.node}"`);

// Runs before anything else in the bundle: a too-old Node.js (Debian 12 and Ubuntu 24.04 ship 18)
// gets one clear line instead of an obscure failure later.
const nodeCheck = [
  "const [__major, __minor] = process.versions.node.split('.').map(Number);",
  `if (__major < ${major} || (__major === ${major} && __minor < ${minor})) {`,
  `  process.stderr.write(\`upsfleet-agent needs Node.js >= ${major}.${minor}; \${process.execPath} is \${process.version}\\n\`);`,
  '  process.exit(1);',
  '}',
].join('\n');

const result = await build({
  entryPoints: ['agent/src/main.ts'],
  outfile: 'dist/upsfleet-agent.mjs',
  bundle: true,
  platform: 'node',
  target: `node${major}.${minor}`,
  format: 'esm',
  // 46% of the size, same start-up time; keepNames keeps class names (jose's errors report them).
  minify: true,
  keepNames: true,
  sourcemap: false,
  metafile: true,
  legalComments: 'none',
  // ws is CommonJS and require()s Node built-ins: give the ESM bundle a real require.
  banner: {
    js: [
      '#!/usr/bin/env node',
      "import { createRequire as __upsfleetCreateRequire } from 'node:module';",
      'const require = __upsfleetCreateRequire(import.meta.url);',
      nodeCheck,
    ].join('\n'),
  },
});
const bytes = Object.values(result.metafile.outputs).reduce((sum, output) => sum + output.bytes, 0);
// ws's optional native speed-ups, required inside try/catch: absent is fine.
const optional = new Set(['bufferutil', 'utf-8-validate']);
const external = Object.values(result.metafile.outputs)
  .flatMap((output) => output.imports)
  .filter((entry) => entry.external && !isBuiltin(entry.path) && !optional.has(entry.path));
if (external.length > 0) {
  throw new Error(
    `the bundle imports packages it does not contain: ${external.map((e) => e.path).join(', ')}`,
  );
}
console.log(`dist/upsfleet-agent.mjs ${(bytes / 1024).toFixed(1)} KiB (Node.js >= ${major}.${minor})`);
