/**
 * The coordinator's HTTP app in memory, composed the way coordinator/src/main.ts does it, on an
 * in-memory PGlite with a manual clock. Requests go through `app.request()`: no port, no timers.
 */

import { z } from 'zod';
import { ensureAdminToken, loadOrCreateSigningKey } from '../../coordinator/src/bootstrap.js';
import { openDatabase } from '../../coordinator/src/db/client.js';
import { createAgentKeys } from '../../coordinator/src/fleet/agent-keys.js';
import { createKeyRing } from '../../coordinator/src/fleet/coordinator-key.js';
import { createFleet } from '../../coordinator/src/fleet/fleet.js';
import { createApp } from '../../coordinator/src/http/app.js';
import { createLiveFeed } from '../../coordinator/src/live/live-feed.js';
import { createHub } from '../../coordinator/src/ws/hub.js';
import { createManualClock } from '../../shared/src/clock.js';
import { type Logger, silentLogger } from '../../shared/src/logger.js';
import { EnrollResponseSchema } from '../../shared/src/protocol.js';
import { createReplayGuard, generateSigningKey, type SigningKeyPair } from '../../shared/src/signing.js';
import { createAdminApi } from './admin-api.js';

/** A fixed instant on a whole second, so second-granular token claims line up with it. */
export const TEST_START = Date.UTC(2025, 0, 15, 12, 0, 0);
export const TEST_ADMIN_TOKEN = 'ufa_test-admin-token-0123456789abcdef';

const ListSchema = z.object({ items: z.array(z.record(z.string(), z.unknown())) });
const EnrollmentSchema = z.object({ token: z.string() });

export interface EnrolledAgent {
  readonly agentId: string;
  readonly name: string;
  readonly keyPair: SigningKeyPair;
}

export async function createTestCoordinator(options: { adminToken?: string; start?: number } = {}) {
  const adminToken = options.adminToken ?? TEST_ADMIN_TOKEN;
  const database = await openDatabase({ kind: 'memory' });
  const { db } = database;
  const clock = createManualClock(options.start ?? TEST_START);
  /** Errors the app logged: a request that hit the 500 path shows up here. */
  const loggedErrors: string[] = [];
  const logger: Logger = {
    ...silentLogger,
    error: (message, fields) => loggedErrors.push(`${message} ${JSON.stringify(fields ?? {})}`),
  };
  try {
    const signingKey = await createKeyRing(db, await loadOrCreateSigningKey(db));
    await ensureAdminToken(db, adminToken, () => {}, logger);
    const hub = createHub();
    const agentKeys = createAgentKeys(db);
    const live = createLiveFeed({ db, isConnected: (id) => hub.isConnected(id), logger });
    const fleet = await createFleet({
      db,
      hub,
      clock,
      logger,
      signingKey,
      orderTtlMs: 600_000,
      onCommitted: () => live.changed(),
    });
    const app = createApp({
      live,
      db,
      clock,
      logger,
      signingKey,
      agentKeys,
      fleet,
      hub,
      replayGuard: createReplayGuard(),
    });

    async function request(path: string, init: RequestInit = {}): Promise<Response> {
      return app.request(path, init);
    }

    /** An admin API call with the bootstrap token (or `token`); `body` is sent as JSON. */
    const { send: admin } = createAdminApi({ base: '', token: adminToken, fetch: request });

    /** GET an admin list endpoint and return its items. */
    async function list(path: string): Promise<Record<string, unknown>[]> {
      const response = await admin('GET', path);
      if (response.status !== 200)
        throw new Error(`GET ${path}: ${response.status} ${await response.text()}`);
      return ListSchema.parse(await response.json()).items;
    }

    /** Creates an enrollment token for `name` through the admin API. */
    async function createEnrollmentToken(name: string, ttl?: string): Promise<string> {
      const response = await admin('POST', '/api/v1/enrollments', {
        name,
        ...(ttl === undefined ? {} : { ttl }),
      });
      if (response.status !== 201) throw new Error(`enrollment: ${response.status} ${await response.text()}`);
      return EnrollmentSchema.parse(await response.json()).token;
    }

    function postJson(path: string, body: unknown): Promise<Response> {
      return request(path, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    }

    /** The whole enrollment of an agent, as `upsfleet enroll` does it. */
    async function enroll(name: string): Promise<EnrolledAgent> {
      const token = await createEnrollmentToken(name);
      const { keyPair } = await generateSigningKey();
      const response = await postJson('/agent/v1/enroll', { token, name, publicKey: keyPair.publicJwk });
      if (response.status !== 201) throw new Error(`enroll: ${response.status} ${await response.text()}`);
      const { agentId } = EnrollResponseSchema.parse(await response.json());
      return { agentId, name, keyPair };
    }

    return {
      app,
      db,
      clock,
      fleet,
      hub,
      signingKey,
      adminToken,
      loggedErrors,
      request,
      admin,
      list,
      postJson,
      createEnrollmentToken,
      enroll,
      live,
      async close(): Promise<void> {
        live.close();
        await fleet.stop();
        await database.close();
      },
    };
  } catch (error) {
    await database.close();
    throw error;
  }
}

export type TestCoordinator = Awaited<ReturnType<typeof createTestCoordinator>>;
