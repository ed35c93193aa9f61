// Builds the single-file agent bundle: dist/upsfleet-agent.mjs runs on a plain Node.js >= 20.
import { build } from 'esbuild';

const result = await build({
  entryPoints: ['agent/src/main.ts'],
  outfile: 'dist/upsfleet-agent.mjs',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  minify: false,
  sourcemap: false,
  metafile: true,
  legalComments: 'none',
  // ws is CommonJS and require()s Node built-ins: give the ESM bundle a real require.
  banner: {
    js: "#!/usr/bin/env node\nimport { createRequire as __upsfleetCreateRequire } from 'node:module';\nconst require = __upsfleetCreateRequire(import.meta.url);",
  },
});
const bytes = Object.values(result.metafile.outputs).reduce((sum, output) => sum + output.bytes, 0);
console.log(`dist/upsfleet-agent.mjs ${(bytes / 1024).toFixed(1)} KiB`);
