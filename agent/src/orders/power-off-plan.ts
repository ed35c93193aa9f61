import { errorMessage } from '../../../shared/src/errors.js';
import type { Logger } from '../../../shared/src/logger.js';
import type { UpsWatchConfig } from '../config.js';
import type { NutClient, NutClientOptions } from '../nut/client.js';
import { formatTarget } from '../nut/connection.js';
import { NutError } from '../nut/errors.js';
import { accept, type FinalResult, type OrderDecision, type OrderOf, refuse } from './order-plan.js';

/** What a watcher needs to carry out UPS power-off orders. */
export interface PowerOffAbility {
  /** The watcher's UPS entries; only those with a `powerOff` account can be powered off. */
  readonly ups: readonly UpsWatchConfig[];
  readonly connect: (options: NutClientOptions) => Promise<NutClient>;
  /** Bounds the connect and each request to upsd, ms. */
  readonly timeoutMs: number;
  readonly logger: Logger;
}

type PowerOffAccount = NonNullable<UpsWatchConfig['powerOff']>;

/** The status words that allow a power-off: on battery, low battery, forced shutdown. */
const POWER_OFF_STATUS = new Set(['OB', 'LB', 'FSD']);

/** Why the UPS must not be powered off with this `ups.status`; undefined when it may be. */
export function powerOffRefusal(status: string): string | undefined {
  const words = status.split(/\s+/).filter((word) => word !== '');
  if (words.some((word) => POWER_OFF_STATUS.has(word))) return undefined;
  const shown = words.join(' ');
  return words.includes('OL')
    ? `power is back (ups.status ${shown}): not powering the UPS off`
    : `the UPS is not on battery (ups.status ${shown === '' ? 'empty' : shown}): not powering the UPS off`;
}

/**
 * Reads `ups.status` on the logged-in connection and sends the INSTCMD only while the UPS is on
 * battery (OB, LB or FSD): a power-off must never reach a UPS that is back on mains.
 */
async function instcmdOnBattery(
  client: NutClient,
  entry: UpsWatchConfig,
  command: string,
  where: string,
): Promise<FinalResult> {
  const status = await client.getVar(entry.name, 'ups.status');
  const refusal = powerOffRefusal(status);
  if (refusal !== undefined) return { outcome: 'failed', error: refusal };
  const reply = await client.instcmd(entry.name, command);
  const tracking = reply.tracking === undefined ? '' : ` (tracking ${reply.tracking})`;
  return {
    outcome: 'succeeded',
    output: `upsd OK${tracking} for INSTCMD ${command} on ${where} (ups.status ${status})`,
  };
}

/** Logs in with the power-off account, checks the UPS is on battery and sends one INSTCMD; upsd's answer becomes the result. */
async function sendInstcmd(
  entry: UpsWatchConfig,
  account: PowerOffAccount,
  command: string,
  ability: PowerOffAbility,
): Promise<FinalResult> {
  const where = `${entry.name}@${formatTarget(entry.upsd)}`;
  let client: NutClient | undefined;
  try {
    client = await ability.connect({ ...entry.upsd, timeoutMs: ability.timeoutMs, keepAliveMs: 0 });
    await client.authenticate(account.username, account.password);
    return await instcmdOnBattery(client, entry, command, where);
  } catch (error) {
    // A NutError's message names upsd's code: "upsd ERR ACCESS-DENIED for INSTCMD ups shutdown.return".
    const detail = error instanceof NutError ? error.message : `upsd at ${where}: ${errorMessage(error)}`;
    return { outcome: 'failed', error: detail };
  } finally {
    await client?.close().catch(() => undefined);
  }
}

/** A power-off order sends a NUT instant command to one of this watcher's UPSes, with its powerOff account. */
export function planPowerOff(order: OrderOf<'ups-power-off'>, ability: PowerOffAbility): OrderDecision {
  const { orderId, claims } = order;
  const entry = ability.ups.find((ups) => ups.id === claims.ups);
  if (entry === undefined) {
    const watched = ability.ups.map((ups) => ups.id).join(', ');
    return refuse(
      `UPS ${claims.ups} is not watched by this agent (${watched === '' ? 'no ups: list' : `it watches ${watched}`})`,
    );
  }
  const account = entry.powerOff;
  if (account === undefined) {
    return refuse(
      `UPS ${claims.ups} has no powerOff account in this agent's config, so it cannot send INSTCMD`,
    );
  }
  const what = `INSTCMD ${claims.command} on UPS ${claims.ups} (${entry.name}@${formatTarget(entry.upsd)}) as ${account.username}`;
  return accept({
    summary: `sending ${what}, run ${claims.runId}`,
    recordAs: 'accepted',
    // A repeat after a restart could cut the power again once it has come back.
    whenUnrecorded: 'refuse',
    // Likewise for a copy after an agent restart: answered as a duplicate, never sent twice.
    whenInterrupted: 'duplicate',
    act: async () => {
      const result = await sendInstcmd(entry, account, claims.command, ability);
      if (result.outcome === 'succeeded') ability.logger.info(`${what}: ${result.output}`, { orderId });
      else ability.logger.error(`${what} failed: ${result.error}`, { orderId });
      return result;
    },
  });
}
