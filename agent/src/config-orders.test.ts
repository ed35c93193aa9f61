import { describe, expect, it } from 'vitest';
import { AppError } from '../../shared/src/errors.js';
import { parseAgentConfig } from './config.js';

/** The config keys of wake and UPS power-off orders, and the clock tolerance shared by every order. */

function configError(text: string): AppError {
  try {
    parseAgentConfig(text, '/etc/upsfleet/agent.yaml');
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected a config error');
}

describe('parseAgentConfig: order settings', () => {
  it('reads the top-level clockTolerance, the wake section and powerOff accounts', () => {
    const config = parseAgentConfig(
      [
        'coordinator: http://127.0.0.1:8080',
        'stateDir: /var/lib/upsfleet-agent',
        'clockTolerance: 45s',
        'host:',
        '  shutdown: [/sbin/poweroff]',
        'wake:',
        '  allowed: ["192.0.2.255", "FD00::FF"]',
        'ups:',
        '  - id: nas-ups',
        '    upsd: nas.local',
        '    powerOff: { username: admin, password: "s3cret" }',
      ].join('\n'),
      'agent.yaml',
    );
    expect(config.clockTolerance).toBe(45_000);
    expect(config.host?.clockTolerance).toBe(45_000);
    expect(config.wake).toEqual({ allowed: ['192.0.2.255', 'fd00::ff'] });
    expect(config.ups[0]?.powerOff).toEqual({ username: 'admin', password: 's3cret' });
    expect(Object.isFrozen(config.ups[0]?.powerOff)).toBe(true);
    expect(Object.isFrozen(config.wake?.allowed)).toBe(true);
  });

  it('refuses bad wake and powerOff settings, each with its path, in one error', () => {
    const error = configError(
      [
        'coordinator: http://127.0.0.1:8080',
        'stateDir: s',
        'clockTolerance: 10s',
        'host:',
        '  shutdown: [/sbin/poweroff]',
        '  clockTolerance: 20s',
        'wake:',
        '  allowed: ["192.0.2.255", "lan.example", 7]',
        '  port: 9',
        'ups:',
        '  - id: a',
        '    upsd: nas',
        '    powerOff: { username: admin }',
        '  - id: b',
        '    upsd: nas',
        '    powerOff: { username: "bad name", password: x, role: admin }',
      ].join('\n'),
    );
    const message = error.message;
    expect(message).toContain('wake.allowed.1: must be an IPv4 or IPv6 address');
    expect(message).toContain('wake.allowed.2: must be an IPv4 or IPv6 address');
    expect(message).toContain('wake.port: unknown key');
    expect(message).toContain('ups.0.powerOff.password:');
    expect(message).toContain('ups.1.powerOff.username:');
    expect(message).toContain('ups.1.powerOff.role: unknown key');
    expect(message).toContain('host.clockTolerance: also given at the top level; keep only clockTolerance');
    expect(error.details?.problems).toHaveLength(7);
    expect(configError('coordinator: http://x\nstateDir: s\nwake:\n  allowed: []\n').message).toContain(
      'wake.allowed: list at least one address (leave out wake: to refuse wake orders)',
    );
    expect(configError('coordinator: http://x\nstateDir: s\nwake: {}\n').message).toMatch(
      /wake\.allowed: must be a list/,
    );
  });
});
