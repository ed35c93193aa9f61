// The single-file agent bundle: dist/upsfleet-agent.mjs runs on a plain Node.js >= 20.11, with no
// node_modules beside it (ws, jose, zod and yaml are inside; only node: built-ins are imported).
import { build } from 'esbuild';
import {
  englishZodOnly,
  externalImports,
  kib,
  NODE_MIN,
  nodeCheck,
  outputBytes,
  requireBanner,
} from './common.mjs';

export async function buildAgent() {
  const result = await build({
    entryPoints: ['agent/src/main.ts'],
    outfile: 'dist/upsfleet-agent.mjs',
    bundle: true,
    platform: 'node',
    target: NODE_MIN.target,
    format: 'esm',
    // 46% of the size, same start-up time; keepNames keeps class names (jose's errors report them).
    minify: true,
    keepNames: true,
    sourcemap: false,
    metafile: true,
    legalComments: 'none',
    plugins: [englishZodOnly],
    banner: { js: ['#!/usr/bin/env node', requireBanner, nodeCheck('upsfleet-agent')].join('\n') },
  });
  const external = externalImports(result.metafile);
  if (external.length > 0)
    throw new Error(`the agent bundle imports packages it does not contain: ${external.join(', ')}`);
  console.log(
    `dist/upsfleet-agent.mjs ${kib(outputBytes(result.metafile))} (Node.js >= ${NODE_MIN.major}.${NODE_MIN.minor})`,
  );
}
