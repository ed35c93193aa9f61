import { chmod, readFile, rename, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createNutClient, type NutClient } from '../../agent/src/nut/client.js';
import { deriveEvents, initialWatchState, type Reading } from '../../agent/src/watcher/notify-events.js';
import { interpretStatus, type PowerState, parseStatusWords } from '../../shared/src/nut-status.js';
import { DDL_DIR, ddlMissingReason, describeRequiring } from '../helpers/requirements.js';
import { startUpsd, type UpsdHarness, upsdMissingReason } from '../helpers/upsd.js';
import { until } from './daemon.js';
import { parseDevFile } from './dev-file.js';

/**
 * A sample of DDL dumps served as they are by a real upsd + dummy-ups (one instance for the file):
 * each dump becomes the driver's `.dev` file, is read back with LIST VAR through the project's
 * client, and must give the same status words, power state and first-reading events as the file.
 *
 * dummy-ups 2.8.0 quirks seen here: it never forgets a variable absent from a newer file (so only the
 * sample's own variables are compared); it serves its own `driver.*`; for an empty value it serves the
 * previous line's value; a change of case only is no change to NUT's dstate (`PbAC` left by an
 * earlier sample stays when the file says `PbAc`); upsd 2.8.0 sends `\` unescaped, so a client reads
 * `a \ b` as `a  b`. upsd adds nothing to `ups.status` unless its FSD latch is set (never here).
 */
const BK650 = 'APC/APC__Back-UPS_BK650M2-CH__usbhid-ups__2.8.0__01.dev';
/** Appended to each served file so that the test knows when dummy-ups has read it. */
const MARKER = 'upsfleet.sample';

const SAMPLES: readonly (readonly [file: string, status: string, power: PowerState])[] = [
  [BK650, 'OL DISCHRG', 'online'],
  ['HP/HP__RT3000_G2__snmp-ups__2.6.5__01.dev', 'OL OB', 'online'],
  ['Cyber_Power_Systems/Cyber_Power_Systems__Value_2200E-GP__usbhid-ups__2.4.3__01.dev', 'FSD OL', 'online'],
  ['Tripp_Lite/Tripp_Lite__G1010USB__usbhid-ups__2.4.3__01.dev', 'ALARM OL', 'online'],
  ['APC/APC__Back-UPS_ES_750__usbhid-ups__2.6.4__01.dev', 'OL CHRG LB', 'online'],
  ['Eaton/Eaton__ePDU_MA_1P__snmp-ups__2.7.4__01.dev', '', 'unknown'],
  ['MGE_UPS_SYSTEMS/MGE_UPS_SYSTEMS__Evolution_850__newhidups__2.0.4__01.dev', 'OB DISCHRG', 'battery'],
  ['APC/APC__Smart-UPS_5000_RM__snmp-ups__2.8.0__01.dev', 'OL', 'online'],
];

const readingOf = (vars: Record<string, string>): Reading => ({
  kind: 'ok',
  status: parseStatusWords(vars['ups.status'] ?? ''),
  vars,
});

const firstEvents = (vars: Record<string, string>): readonly string[] =>
  deriveEvents(initialWatchState, readingOf(vars), 0).events;

describeRequiring(
  'DDL dumps served by a real upsd + dummy-ups',
  upsdMissingReason() ?? ddlMissingReason(),
  () => {
    let upsd: UpsdHarness;
    let client: NutClient;
    let devPath: string;
    let round = 0;

    beforeAll(async () => {
      upsd = await startUpsd();
      client = await createNutClient({ host: upsd.host, port: upsd.port, timeoutMs: 3_000, keepAliveMs: 0 });
      const port = (await client.listVar(upsd.ups))['driver.parameter.port'];
      if (port === undefined) throw new Error('dummy-ups does not say which file it serves');
      devPath = port;
    });
    afterAll(async () => {
      await client?.close();
      await upsd?.stop();
    });

    /** Makes `text` the driver's file (strictly newer mtime second) and returns LIST VAR once upsd serves it. */
    async function serve(text: string): Promise<Record<string, string>> {
      round += 1;
      const marker = `round-${round}`;
      const seconds = Math.max(
        Math.floor(Date.now() / 1000),
        Math.floor((await stat(devPath)).mtimeMs / 1000) + 1,
      );
      const tmp = `${devPath}.${process.pid}.tmp`;
      await writeFile(tmp, `${text}\n${MARKER}: ${marker}\n`);
      await chmod(tmp, 0o644);
      await utimes(tmp, seconds, seconds);
      await rename(tmp, devPath);
      let last = 'nothing yet';
      return until(
        async () => {
          const vars = await client.listVar(upsd.ups).catch((error: unknown) => {
            last = String(error);
            return undefined;
          });
          if (vars !== undefined) last = `${MARKER}=${vars[MARKER]}`;
          return vars?.[MARKER] === marker ? vars : undefined;
        },
        () => `upsd did not serve ${marker} within 10 s (last: ${last})`,
        10_000,
      );
    }

    it.each(SAMPLES)('%s: %j is %s, read back through upsd', async (file, status, power) => {
      const text = await readFile(join(DDL_DIR, file), 'utf8');
      const fromFile = parseDevFile(text).vars;
      expect(fromFile['ups.status']).toBe(status);
      const served = await serve(text);

      expect(parseStatusWords(served['ups.status'] ?? '')).toEqual(parseStatusWords(status));
      expect(interpretStatus(parseStatusWords(served['ups.status'] ?? '')).power).toBe(power);
      expect(firstEvents(served)).toEqual(firstEvents(fromFile));

      const differs = Object.entries(fromFile).filter(
        ([name, value]) =>
          !name.startsWith('driver.') &&
          value !== '' &&
          !value.includes('\\') &&
          served[name]?.toLowerCase() !== value.toLowerCase(),
      );
      expect(differs.map(([name, value]) => `${name}: file ${value}, upsd ${served[name]}`)).toEqual([]);
    });

    it('BK650M2-CH: OL DISCHRG → OB DISCHRG → OL DISCHRG through upsd gives [], [ONBATT], [ONLINE]', async () => {
      const text = await readFile(join(DDL_DIR, BK650), 'utf8');
      const onBattery = text.replace(/^ups\.status: OL DISCHRG$/m, 'ups.status: OB DISCHRG');
      let state = initialWatchState;
      const events: string[][] = [];
      for (const [index, version] of [text, onBattery, text].entries()) {
        const derived = deriveEvents(state, readingOf(await serve(version)), index * 5_000);
        state = derived.state;
        events.push(derived.events);
      }
      expect(events).toEqual([[], ['ONBATT'], ['ONLINE']]);
    });
  },
);
