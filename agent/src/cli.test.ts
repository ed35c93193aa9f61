import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { CloseCode } from '../../shared/src/protocol.js';
import { generateSigningKey } from '../../shared/src/signing.js';
import { agentCommand, EXIT_GAVE_UP, enrollCommand, rotateKeyCommand } from './cli.js';
import { writeEnrollment } from './state-dir.js';
import { createTempDir } from './test-support.js';

describe('cli', () => {
  let dir: { path: string; remove(): Promise<void> };
  let out: string[];
  let err: string[];
  const io = () => ({
    stdout: (text: string) => out.push(text),
    stderr: (text: string) => err.push(text),
    env: {},
  });
  beforeEach(async () => {
    dir = await createTempDir('cli');
    out = [];
    err = [];
  });
  afterEach(async () => dir.remove());

  it('enroll: exits 2 with usage on an unknown flag or a missing one', async () => {
    expect(await enrollCommand(['--coordinator', 'http://x', '--bogus'], io())).toBe(2);
    expect(err.join('')).toContain('usage: upsfleet enroll');
    err.length = 0;
    expect(await enrollCommand(['--coordinator', 'http://x', '--name', 'web1'], io())).toBe(2);
    expect(err.join('')).toMatch(/missing --token/);
  });

  it('enroll: takes the token from the environment and reports success', async () => {
    const { publicJwk } = (await generateSigningKey()).keyPair;
    const fetch: typeof globalThis.fetch = async () =>
      Response.json(
        { agentId: 'agent-1', name: 'web1', protocol: 1, coordinatorKey: publicJwk },
        { status: 201 },
      );
    const stateDir = join(dir.path, 'state');
    const code = await enrollCommand(
      ['--coordinator', 'http://127.0.0.1:8080', '--name', 'web1', '--state-dir', stateDir],
      {
        ...io(),
        env: { UPSFLEET_ENROLL_TOKEN: 'enroll-token-0123456789abcdef' },
        fetch,
      },
    );
    expect(code).toBe(0);
    expect(out.join('')).toContain('enrolled as web1 (agent agent-1)');
    expect(
      await enrollCommand(
        [
          '--coordinator',
          'http://127.0.0.1:8080',
          '--name',
          'web1',
          '--token',
          'enroll-token-0123456789abcdef',
          '--state-dir',
          stateDir,
        ],
        { ...io(), fetch },
      ),
    ).toBe(1);
    expect(err.join('')).toMatch(/^upsfleet enroll: .*already enrolled/);
  });

  it('agent, enroll, rotate-key: --help (or -h) prints the usage on stdout and exits 0', async () => {
    expect(await agentCommand(['--help'], io())).toBe(0);
    expect(out.join('')).toMatch(/^usage: upsfleet agent --config FILE/);
    expect(await enrollCommand(['-h'], io())).toBe(0);
    expect(out.join('')).toContain('usage: upsfleet enroll --coordinator URL');
    expect(await rotateKeyCommand(['--help'], io())).toBe(0);
    expect(out.join('')).toContain('usage: upsfleet rotate-key --config FILE');
    expect(err).toEqual([]);
  });

  it('agent: exits 2 without --config and 1 on a bad config', async () => {
    expect(await agentCommand([], io())).toBe(2);
    const file = join(dir.path, 'agent.yaml');
    await writeFile(file, 'coordinator: ftp://x\n');
    expect(await agentCommand(['--config', file], io())).toBe(1);
    expect(err.join('')).toMatch(/invalid agent config/);
  });

  it('agent: runs until told to stop, then stops cleanly and exits 0', async () => {
    const stateDir = join(dir.path, 'state');
    const agent = await generateSigningKey();
    await writeEnrollment(stateDir, {
      identity: {
        agentId: 'a-1',
        name: 'web1',
        coordinatorUrl: 'http://127.0.0.1:1',
        enrolledAt: '2026-11-23T22:00:00Z',
      },
      privateKey: agent.stored,
      coordinatorKey: (await generateSigningKey()).keyPair.publicJwk,
    });
    const file = join(dir.path, 'agent.yaml');
    await writeFile(
      file,
      `coordinator: http://127.0.0.1:1\nstateDir: state\nhost:\n  shutdown: ["${process.execPath}", "-e", "0"]\n`,
    );
    const code = await agentCommand(['--config', file], { ...io(), untilStopped: async () => 'SIGTERM' });
    expect(code).toBe(0);
    expect(err.join('')).toMatch(/SIGTERM: stopping/);
    expect(err.join('')).toMatch(/agent stopped/);
  });

  it('agent: exits 3 when the coordinator turns it away for good (revoked), so systemd does not loop', async () => {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((resolve) => server.once('listening', resolve));
    server.on('connection', (ws) => ws.close(CloseCode.Revoked, 'revoked by an admin'));
    try {
      const address = server.address();
      const url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
      const stateDir = join(dir.path, 'state');
      await writeEnrollment(stateDir, {
        identity: { agentId: 'a-1', name: 'web1', coordinatorUrl: url, enrolledAt: '2026-11-23T22:00:00Z' },
        privateKey: (await generateSigningKey()).stored,
        coordinatorKey: (await generateSigningKey()).keyPair.publicJwk,
      });
      const file = join(dir.path, 'agent.yaml');
      await writeFile(
        file,
        `coordinator: ${url}\nstateDir: state\nhost:\n  shutdown: ["${process.execPath}", "-e", "0"]\n`,
      );
      const code = await agentCommand(['--config', file], {
        ...io(),
        untilStopped: () => new Promise(() => {}),
      });
      expect(code).toBe(EXIT_GAVE_UP);
      expect(err.join('')).toMatch(/Revoked \(4403\)/);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
