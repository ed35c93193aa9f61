import { chmod, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateSigningKey } from '../../shared/src/signing.js';
import { loadEnrollment, statePath, writeEnrollment } from './state-dir.js';
import { createTempDir } from './test-support.js';

describe('state dir', () => {
  let dir: { path: string; remove(): Promise<void> };
  let stateDir: string;
  beforeEach(async () => {
    dir = await createTempDir('state');
    stateDir = join(dir.path, 'agent');
  });
  afterEach(async () => dir.remove());

  async function enrollHere(): Promise<void> {
    const agent = await generateSigningKey();
    const coordinator = await generateSigningKey();
    await writeEnrollment(stateDir, {
      identity: {
        agentId: 'a-1',
        name: 'web1',
        coordinatorUrl: 'http://127.0.0.1:8080',
        enrolledAt: '2026-11-23T22:00:00.000Z',
      },
      privateKey: agent.stored,
      coordinatorKey: coordinator.keyPair.publicJwk,
    });
  }

  it('says how to enroll when there is no identity', async () => {
    await expect(loadEnrollment(stateDir)).rejects.toThrow(
      /not enrolled: .*run upsfleet enroll --coordinator/,
    );
  });

  it('stores an enrollment privately and loads it back', async () => {
    await enrollHere();
    expect((await stat(stateDir)).mode & 0o777).toBe(0o700);
    expect((await stat(statePath(stateDir, 'agentKey'))).mode & 0o777).toBe(0o600);
    const loaded = await loadEnrollment(stateDir);
    expect(loaded.identity.name).toBe('web1');
    expect(loaded.keyPair.publicJwk.kty).toBe('OKP');
  });

  it('refuses a private key that other users can read', async () => {
    await enrollHere();
    await chmod(statePath(stateDir, 'agentKey'), 0o644);
    await expect(loadEnrollment(stateDir)).rejects.toThrow(
      /readable by other users \(mode 644\); run chmod 600/,
    );
  });
});
