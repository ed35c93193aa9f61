import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { splitWords } from './config-lines.js';
import { importNut, shutdownArgv } from './convert.js';

const fixture = (path: string) => {
  const url = new URL(`fixtures/${path}`, import.meta.url);
  return { path: `fixtures/${path}`, text: readFileSync(url, 'utf8') };
};
const OPTIONS = { hostName: 'web1', coordinator: 'https://ups.example.net' };

describe('NUT config lines', () => {
  it.each([
    [
      'MONITOR ups@nas 1 monuser secret secondary',
      ['MONITOR', 'ups@nas', '1', 'monuser', 'secret', 'secondary'],
    ],
    ['SHUTDOWNCMD "/sbin/shutdown -h +0"  # now', ['SHUTDOWNCMD', '/sbin/shutdown -h +0']],
    ['NOTIFYMSG ONBATT "say \\"hi\\" # not a comment"', ['NOTIFYMSG', 'ONBATT', 'say "hi" # not a comment']],
    ['   # only a comment', []],
  ])('%s', (line, words) => {
    expect(splitWords(line)).toEqual(words);
  });

  it('an open quote is a bad line', () => {
    expect(splitWords('SHUTDOWNCMD "/sbin/shutdown')).toBeNull();
  });
});

describe('SHUTDOWNCMD as an argv', () => {
  it('splits a plain command and runs shell syntax through /bin/sh -c', () => {
    expect(shutdownArgv('/sbin/shutdown -h +0')).toEqual({
      argv: ['/sbin/shutdown', '-h', '+0'],
      viaShell: false,
    });
    expect(shutdownArgv('sync; /sbin/poweroff')).toEqual({
      argv: ['/bin/sh', '-c', 'sync; /sbin/poweroff'],
      viaShell: true,
    });
  });
});

describe('import-nut: a Linux secondary of a Synology NAS, notifying a WeChat Work robot', () => {
  const imported = importNut(
    { upsmon: fixture('synology/upsmon.conf'), script: fixture('synology/notify-wechat.sh') },
    OPTIONS,
  );

  it('MONITOR becomes the host reading upsd itself and the UPS in the policy', () => {
    expect(imported.agent).toEqual({
      coordinator: 'https://ups.example.net',
      stateDir: '/var/lib/upsfleet-agent',
      host: {
        name: 'web1',
        shutdown: ['/sbin/shutdown', '-h', '+0'],
        upsd: [
          {
            id: 'ups-192.168.1.7',
            upsd: '192.168.1.7',
            name: 'ups',
            username: 'monuser',
            password: 'secret',
            pollInterval: '5s',
            deadTime: '15s',
          },
        ],
      },
    });
    expect(imported.policy).toEqual({
      ups: [{ name: 'ups-192.168.1.7', watcher: 'watcher' }],
      hosts: [{ name: 'web1', ups: ['ups-192.168.1.7'] }],
      stages: [{ name: 'shutdown', hosts: ['web1'], trigger: { lowBattery: true, fsd: true } }],
    });
  });

  it('the robot URL in the NOTIFYCMD script becomes a wechat-work channel with the EXEC events', () => {
    expect(imported.channels).toEqual([
      {
        name: 'wechat-work',
        type: 'wechat-work',
        url: 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7aoc-4bc4-97a0-0ec2sifa5aaa',
        format: 'text',
        events: [
          'online',
          'onbatt',
          'lowbatt',
          'fsd',
          'commok',
          'commbad',
          'stage-fired',
          'replbatt',
          'nocomm',
          'cal',
          'notcal',
          'off',
          'notoff',
          'bypass',
          'notbypass',
        ],
      },
    ]);
  });

  it('explains FINALDELAY, HOSTSYNC and DEADTIME, and lists what it cannot map with file and line', () => {
    const notes = imported.notes.join('\n');
    expect(notes).toMatch(/upsmon\.conf:36: FINALDELAY 5: /);
    expect(notes).toMatch(/upsmon\.conf:9: HOSTSYNC 15: /);
    expect(notes).toMatch(/upsmon\.conf:10: DEADTIME 15 → host\.upsd\[\]\.deadTime/);
    expect(imported.unmapped).toEqual([
      'fixtures/synology/upsmon.conf:11: POWERDOWNFLAG /etc/killpower',
      'fixtures/synology/upsmon.conf:12: RUN_AS_USER root',
      'fixtures/synology/upsmon.conf:14: NOTIFYMSG ONBATT "UPS %s is on battery"',
      'fixtures/synology/upsmon.conf:15: NOTIFYMSG ONLINE "UPS %s is back on mains"',
      'fixtures/synology/upsmon.conf:34: RBWARNTIME 43200',
      'fixtures/synology/upsmon.conf:35: NOCOMMWARNTIME 300',
      'fixtures/synology/upsmon.conf:26: NOTIFYFLAG NOPARENT  SYSLOG+EXEC  (upsfleet has no NOPARENT event)',
    ]);
  });
});

describe('import-nut: upssched timers', () => {
  const imported = importNut(
    {
      upsmon: fixture('upssched/upsmon.conf'),
      upssched: fixture('upssched/upssched.conf'),
      script: fixture('upssched/upssched-cmd'),
    },
    OPTIONS,
  );

  it('a START-TIMER on ONBATT whose CMDSCRIPT branch shuts down becomes the stage delay', () => {
    expect(imported.policy.stages).toEqual([
      { name: 'shutdown', hosts: ['web1'], trigger: { lowBattery: true, fsd: true, onBattery: '120s' } },
    ]);
    expect(imported.agent.host).toMatchObject({ shutdown: ['/usr/bin/systemctl', 'poweroff'] });
  });

  it('a timer that only warns is listed, and the ntfy topic it posts to becomes a channel', () => {
    expect(imported.unmapped).toEqual([
      expect.stringMatching(
        /^fixtures\/upssched\/upssched\.conf:8: AT COMMBAD \* START-TIMER commbad-warn 30 {2}\(fixtures\/upssched\/upssched-cmd:\d+ does not shut down/,
      ),
    ]);
    expect(imported.channels).toEqual([
      {
        name: 'ntfy',
        type: 'ntfy',
        topic: 'homelab-ups',
        baseUrl: 'https://ntfy.sh',
        events: ['onbatt', 'online', 'lowbatt'],
      },
    ]);
  });

  it('without the CMDSCRIPT, a timer cannot be judged and says what to pass', () => {
    const bare = importNut(
      { upsmon: fixture('upssched/upsmon.conf'), upssched: fixture('upssched/upssched.conf') },
      OPTIONS,
    );
    expect(bare.policy.stages).toEqual([
      { name: 'shutdown', hosts: ['web1'], trigger: { lowBattery: true, fsd: true } },
    ]);
    expect(bare.unmapped.join('\n')).toContain('pass CMDSCRIPT with --notify-script');
  });
});
