import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { type Finding, scanCore } from './core-imports.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir))
    .filter((name) => name.endsWith('.ts') && !name.endsWith('.test.ts') && !name.startsWith('test-'))
    .map((name) => join(ROOT, dir, name));
}

/**
 * The shared core, run by the Node coordinator and the edge Worker alike: routes, the engine, the
 * fleet shell, signing, storage access (queries; the drivers are adapters), the hub, the
 * agent session's protocol and the notification step. The Node adapter (main.ts,
 * ws/agent-session.ts, ws/upgrade.ts, notify/notifier.ts, db/client.ts, metrics/process-metrics.ts)
 * is where Node belongs.
 */
const CORE_ENTRIES = [
  join(ROOT, 'coordinator/src/http/app.ts'),
  join(ROOT, 'coordinator/src/http/routes/admin/notification-ops.ts'),
  join(ROOT, 'coordinator/src/http/routes/metrics.ts'),
  join(ROOT, 'coordinator/src/metrics/create-metrics.ts'),
  join(ROOT, 'coordinator/src/metrics/ups-state-reader.ts'),
  join(ROOT, 'coordinator/src/bootstrap.ts'),
  join(ROOT, 'coordinator/src/notify/delivery.ts'),
  join(ROOT, 'coordinator/src/ws/hub.ts'),
  join(ROOT, 'coordinator/src/ws/session-core.ts'),
  // The edge adapter runs in workerd: it is held to the same rule.
  join(ROOT, 'coordinator/src/edge/worker.ts'),
  join(ROOT, 'shared/src/signing.ts'),
  join(ROOT, 'shared/src/tokens.ts'),
  ...sources('coordinator/src/core'),
  ...sources('coordinator/src/fleet'),
  ...sources('coordinator/src/db/queries'),
];

/**
 * What the core still takes from Node, each to be moved into the Node adapter or replaced by a Web
 * API. This list only shrinks: an entry that no longer occurs fails the test until it is removed.
 * (workerd's `nodejs_compat` provides `node:crypto` and `Buffer`, so these run on the edge today.)
 */
const STILL_ALLOWED: readonly Finding[] = [
  { file: 'coordinator/src/notify/formatters.ts', what: 'import node:crypto' },
  { file: 'coordinator/src/secrets.ts', what: 'import node:crypto' },
];

const key = (finding: Finding) => `${finding.file}: ${finding.what}`;

describe('the shared coordinator core is Web-standard', () => {
  const found = scanCore(CORE_ENTRIES, ROOT).map(key);
  const allowed = STILL_ALLOWED.map(key);

  it('reaches no node: import, Node-only package or Node global beyond the shrinking allow-list', () => {
    expect(found.filter((entry) => !allowed.includes(entry))).toEqual([]);
  });

  it('has no stale allow-list entry (remove what the core no longer does)', () => {
    expect(allowed.filter((entry) => !found.includes(entry))).toEqual([]);
  });

  it("catches a Node import, a Node global and a NodeJS type (the check can fail); prom-client's index is Node-only, its gauge file is not", () => {
    const fixture = fileURLToPath(new URL('./test-fixtures/node-tied.ts', import.meta.url));
    expect(scanCore([fixture], ROOT).map((finding) => finding.what)).toEqual([
      'global Buffer',
      'global process',
      'import node:crypto',
      'import prom-client (Node-only)',
      'import ws (Node-only)',
      'timer .unref()',
      'type import node:http',
      'type NodeJS.Timeout',
    ]);
  });
});
