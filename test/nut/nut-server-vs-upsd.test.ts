import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createNutClient } from '../../agent/src/nut/client.js';
import { createNutServer, type NutServer } from '../../agent/src/nut-server/server.js';
import {
  createStaticAuth,
  createStaticSource,
  type StaticSource,
} from '../../agent/src/nut-server/static-source.js';
import type { NutServerEvent } from '../../agent/src/nut-server/types.js';
import { startUpsmon, upsmonMissingReason } from '../bench/upsmon.js';
import { describeUpsd, startUpsd, type UpsdHarness } from '../helpers/upsd.js';
import { openRawNut } from './raw-nut.js';
import { ups, users } from './upsd-config.js';

/**
 * The NUT server beside Debian's real upsd 2.8.0, serving the same UPS (its variables read from that
 * upsd) and the same accounts: the same bytes in give the same bytes out, NUT's own `upsc` prints
 * the same, and a real `upsmon` secondary logs in to it and shuts down when it shows FSD.
 */

const run = promisify(execFile);

/** One conversation: each step is the exact bytes written and how many replies they get. */
type Conversation = readonly (readonly [bytes: string, replies: number])[];

const long = (n: number, ch = 'x'): string => ch.repeat(n);

const CONVERSATIONS: Record<string, Conversation> = {
  'over-long words and lines (cut at 512 characters and 32 words, never refused)': [
    [`GET VAR ups ${long(5000)}\n`, 1],
    [`${long(3000, 'Z')}\n`, 1],
    [`GET VAR ups ups.status ${Array.from({ length: 40 }, (_, i) => `w${i}`).join(' ')}\n`, 1],
    [`VER ${'a '.repeat(5000)}\n`, 1],
    [`LIST VAR ${long(700, 'u')}\n`, 1],
    ['VER\n', 1],
  ],
  'odd bytes, separators, quoting and comments': [
    ['GET VAR ups ups.st\xe9atus\n', 1],
    ['GET\tVAR\tups\tups.status\r\n', 1],
    ['GET VAR ups \\\nups.status\n', 1],
    ['GET VAR ups ups.status # a comment\n', 1],
    ['# only a comment\n', 1],
    ['   \n', 1],
    ['GET VAR ups "ups.status\nmore"\n', 1],
    ['GET VAR ups=ups.status\n', 1],
    ['GET VAR ups ups.status\x00\x01\n', 1],
    ['GET VAR "" ""\n', 1],
    ['LIST UPS\nGET VAR ups battery.charge\nGET NUMLOGINS ups\nHELP\nGET UPSDESC ups\n', 5],
  ],
  'every refusal and argument error': [
    ['INSTCMD\nSET\nFSD\nPRIMARY\nMASTER\nLOGIN\n', 6],
    ['USERNAME\nUSERNAME a b\nPASSWORD x y\nLOGOUT x\nSTARTTLS\nSTARTTLS x\n', 6],
    ['GET NUMLOGINS\nGET NUMLOGINS nosuch\nGET TYPE ups no.var\nGET DESC ups no.var\n', 4],
    ['GET TYPE nosuch ups.status\nGET DESC nosuch x\nGET TRACKING\nGET TRACKING abc\n', 4],
    ['LIST CMD\nLIST CMD nosuch\nLIST RW nosuch\nLIST CLIENT\nLIST ENUM ups\nLIST RANGE ups x\n', 6],
    ['LIST ENUM nosuch x\nLIST ENUM ups no.var\nLIST UPS extra\nVER extra\nNETVER x\nPROTVER\n', 6],
    ['GET VAR nosuch server.info\nGET VAR ups server.version\nGET VAR ups server.nope\n', 3],
    ['GET CMDDESC ups\nGET CMDDESC nosuch load.off\nGET UPSDESC\nGET UPSDESC nosuch\n', 4],
  ],
  'a secondary logged in, and what it may not do': [
    ['USERNAME monsec\nINSTCMD ups load.off\nFSD ups\nSET VAR ups a b\nPRIMARY ups\n', 5],
    ['PASSWORD secpass\nINSTCMD ups load.off\nINSTCMD nosuch load.off\nINSTCMD ups nosuch\n', 4],
    ['FSD nosuch\nSET VAR nosuch a b\nSET VAR ups x\nSET FOO\nINSTCMD\nFSD\nSET\n', 7],
    ['SET VAR ups battery.charge 5\nSET TRACKING ON\nGET TRACKING\nGET TRACKING abc\n', 4],
    ['SET TRACKING MAYBE\nSET TRACKING OFF\nGET TRACKING x\n', 3],
    ['LOGIN nosuch\nLOGIN UPS\nLOGIN ups\nGET NUMLOGINS UPS\nLIST CLIENT UPS\nLIST CLIENT ups\n', 6],
    ['LOGOUT\n', 1],
  ],
  'wrong and escaped passwords': [
    ['USERNAME monsec\nPASSWORD bad\nGET VAR ups ups.status\nINSTCMD ups load.off\n', 4],
    ['FSD ups\nLOGIN ups\nLOGIN ups\nPASSWORD secpass\nGET NUMLOGINS ups\n', 5],
  ],
  'a password with every escape': [
    [`USERNAME ${users.escaped.username}\nPASSWORD "p\\#ss \\"w\\\\rd\\" x"\nLOGIN ups\n`, 3],
  ],
};

describeUpsd('NUT server beside the real upsd 2.8.0', () => {
  let upsd: UpsdHarness;
  let server: NutServer;
  let source: StaticSource;
  const events: NutServerEvent[] = [];

  beforeAll(async () => {
    upsd = await startUpsd();
    const client = await createNutClient({ host: upsd.host, port: upsd.port, timeoutMs: 3_000 });
    const vars = await client.listVar(ups);
    const commands = await client.listCmd(ups);
    await client.close();
    source = createStaticSource([{ name: ups, description: 'upsfleet test UPS', vars, commands }]);
    server = await createNutServer({
      source,
      auth: createStaticAuth([users.monitor, users.escaped]),
      port: 0,
      onEvent: (event) => events.push(event),
    });
  });
  afterAll(async () => {
    await server?.close();
    await upsd?.stop();
  });

  async function converse(port: number, steps: Conversation): Promise<string[][]> {
    const raw = await openRawNut(port);
    try {
      const replies: string[][] = [];
      for (const [bytes, count] of steps) replies.push(await raw.send(bytes, count));
      return replies;
    } finally {
      raw.close();
    }
  }

  it.each(Object.entries(CONVERSATIONS))('%s: the same replies as upsd', async (_name, steps) => {
    const fromUpsd = await converse(upsd.port, steps);
    const fromServer = await converse(server.port, steps);
    expect(fromServer).toEqual(fromUpsd);
  });

  it('answers like upsd for the edge cases, spot-checked', async () => {
    const [cut, unknown, extraWords] = await converse(
      server.port,
      CONVERSATIONS[
        'over-long words and lines (cut at 512 characters and 32 words, never refused)'
      ] as Conversation,
    );
    expect(cut).toEqual(['ERR VAR-NOT-SUPPORTED\n']);
    expect(unknown).toEqual(['ERR UNKNOWN-COMMAND\n']);
    expect(extraWords).toEqual(['VAR ups ups.status "OL"\n']);
  });

  it('differs knowingly: a reply over 512 bytes is sent whole, where upsd cuts it and its line end', async () => {
    const desc = `DESC ups ${long(512, 'v')} "Description unavailable"`;
    const ver = 'Network UPS Tools upsd 2.8.0 - http://www.networkupstools.org/\n';
    const request = `GET DESC ups ${long(600, 'v')}\nVER\n`;
    expect(await converse(upsd.port, [[request, 1]])).toEqual([[`${desc.slice(0, 512)}${ver}`]]);
    expect(await converse(server.port, [[request, 2]])).toEqual([[`${desc}\n`, ver]]);
  });

  it('drops the rest of a read after a raw # inside quotes, as upsd does, and goes on', async () => {
    // upsd reads 512 bytes at a time: the broken line, a VER that is dropped with it, padding.
    const broken = 'GET VAR "u#ps" x\nVER\n'.padEnd(512, ' ');
    for (const port of [upsd.port, server.port]) {
      expect(await converse(port, [[`${broken}NETVER\n`, 1]])).toEqual([['1.3\n']]);
    }
  });

  it('upsc prints the same for both servers', async () => {
    const upsc = async (args: string[]) => {
      const result = await run('upsc', args).catch((error: { stdout: string; code: number }) => error);
      return { stdout: result.stdout, code: 'code' in result ? result.code : 0 };
    };
    for (const args of [
      (port: number) => [`${ups}@127.0.0.1:${port}`],
      (port: number) => [`${ups}@127.0.0.1:${port}`, 'ups.status'],
      (port: number) => ['-l', `127.0.0.1:${port}`],
      (port: number) => ['-L', `127.0.0.1:${port}`],
      (port: number) => ['-c', `${ups}@127.0.0.1:${port}`],
      (port: number) => [`nosuch@127.0.0.1:${port}`],
      (port: number) => [`${ups}@127.0.0.1:${port}`, 'no.such.var'],
    ]) {
      const real = await upsc(args(upsd.port));
      const ours = await upsc(args(server.port));
      expect(ours).toEqual(real);
    }
    const listing = await upsc([`${ups}@127.0.0.1:${server.port}`]);
    expect(listing.stdout).toContain('ups.status: OL\n');
    expect(listing.stdout).toContain('battery.charge: 100\n');
  });

  it.runIf(upsmonMissingReason() === undefined)(
    'a real upsmon secondary logs in, shuts down when FSD shows, and its leaving is reported',
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'upsfleet-nut-server-upsmon-'));
      const seen = events.length;
      const upsmon = await startUpsmon(
        dir,
        { port: server.port, ups },
        { pollFreq: 1, pollFreqAlert: 1, hostSync: 5, deadTime: 15, finalDelay: 1 },
      );
      try {
        expect(server.clients().filter((c) => c.loggedInTo === ups)).toHaveLength(1);
        expect(await upsmon.shutdownAt()).toBeUndefined();
        source.set(ups, { 'ups.status': 'FSD OL' });
        await upsmon.exited;
        expect(await upsmon.shutdownAt()).toBeGreaterThan(0);
        await expect
          .poll(() => events.slice(seen).filter((e) => e.type === 'logout'))
          .toEqual([expect.objectContaining({ username: users.monitor.username, ups })]);
      } finally {
        source.set(ups, { 'ups.status': 'OL' });
        await upsmon.stop();
        await rm(dir, { recursive: true, force: true });
      }
    },
  );
});
