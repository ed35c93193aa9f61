import { describe, expect, it } from 'vitest';
import { adminCommand } from './admin-commands.js';

describe('admin commands', () => {
  it('--help (or -h) prints the admin usage and exits 0, asking the coordinator nothing', async () => {
    for (const argv of [['--help'], ['revoke', 'web1', '-h']]) {
      const written: string[] = [];
      // An unreachable URL: a request would make the command fail (exit code 3), not print help.
      const code = await adminCommand(
        'hosts',
        argv,
        { UPSFLEET_URL: 'http://127.0.0.1:1' },
        {
          write: (text) => written.push(text),
        },
      );
      expect(code).toBe(0);
      expect(written.join('')).toMatch(/^Admin commands \(against a running coordinator\):/);
    }
  });
});
