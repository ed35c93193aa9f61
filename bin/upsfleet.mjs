#!/usr/bin/env node
// The `upsfleet` program. Installed from the npm package it runs the bundle (dist/cli/); in a
// checkout, where the TypeScript sources sit beside this file, it runs them through tsx instead
// (Node 20 cannot run .ts by itself), so that a checkout never runs a stale build.
import { existsSync } from 'node:fs';

const source = new URL('./upsfleet.ts', import.meta.url);
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(source.href);
} else {
  await import('../dist/cli/upsfleet.mjs');
}
