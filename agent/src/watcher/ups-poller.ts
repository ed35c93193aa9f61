/**
 * Reads one UPS from upsd every poll interval and turns each answer into a `Reading`. upsd's
 * refusals (DATA-STALE, DRIVER-NOT-CONNECTED, WAIT, a lost connection) become `unknown` readings
 * with a reason — never a guess at the power state. Login is attempted as upsmon does it; a refused
 * login is reported loudly but, like upsmon, reading goes on without it.
 */
import { readFileSync } from 'node:fs';
import type { Clock } from '../../../shared/src/clock.js';
import { errorMessage } from '../../../shared/src/errors.js';
import type { Logger } from '../../../shared/src/logger.js';
import { parseStatusWords } from '../../../shared/src/nut-status.js';
import type { UpsWatchConfig } from '../config.js';
import type { NutClient } from '../nut/client.js';
import { NutConnectionError, NutError } from '../nut/errors.js';
import { createNutSession, type NutSession, type NutSessionOptions } from '../nut/session.js';
import type { TlsOptions } from '../nut/starttls.js';
import type { Reading } from './notify-events.js';

type UnknownReason = Extract<Reading, { kind: 'unknown' }>['reason'];

/** What reading one UPS takes (a watcher's `ups:` entry, or a host's `host.upsd:` entry). */
export type UpsReadConfig = Pick<
  UpsWatchConfig,
  'id' | 'upsd' | 'name' | 'username' | 'password' | 'pollInterval' | 'tls'
>;

export interface UpsPollerOptions {
  readonly ups: UpsReadConfig;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Every reading, in order, with the time it was taken. */
  readonly onReading: (reading: Reading, at: number) => void;
  /** Seam for tests. */
  readonly createSession?: (options: NutSessionOptions) => NutSession;
}

export interface UpsPoller {
  stop(): Promise<void>;
}

function reasonOf(error: unknown): UnknownReason {
  if (error instanceof NutError) {
    switch (error.nutCode) {
      case 'DATA-STALE':
        return 'data-stale';
      case 'DRIVER-NOT-CONNECTED':
        return 'driver-not-connected';
      case 'ACCESS-DENIED':
        return 'access-denied';
      case 'UNKNOWN-UPS':
        return 'unknown-ups';
      default:
        return 'error';
    }
  }
  return error instanceof NutConnectionError ? 'connection' : 'error';
}

const EXPLAIN: Record<UnknownReason, string> = {
  'data-stale': 'upsd says the data is stale (ERR DATA-STALE): the driver has not updated it',
  'driver-not-connected': 'upsd has no driver for it (ERR DRIVER-NOT-CONNECTED)',
  wait: 'upsd is waiting for the driver (status WAIT)',
  connection: 'cannot reach upsd',
  'access-denied':
    'upsd refused access (ERR ACCESS-DENIED): is this address allowed by upsd (Synology: permitted devices)?',
  'unknown-ups': 'upsd does not know this UPS name (ERR UNKNOWN-UPS): check `name` against `upsc -l`',
  error: 'unexpected answer from upsd',
};

/** The watcher's tls setting as the client takes it (the CA file is read here, once). */
function toTlsOptions(tls: NonNullable<UpsWatchConfig['tls']>): TlsOptions {
  return {
    mode: tls.mode,
    ...(tls.ca === undefined ? {} : { ca: readFileSync(tls.ca, 'utf8') }),
    ...(tls.servername === undefined ? {} : { servername: tls.servername }),
  };
}

export function startUpsPoller(options: UpsPollerOptions): UpsPoller {
  const { ups, clock, logger } = options;
  const where = `${ups.name}@${ups.upsd.host}:${ups.upsd.port}`;
  const log = { ups: ups.id, upsd: where };
  let client: NutClient | undefined;
  let lastError: unknown;
  let lastKind: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const session = (options.createSession ?? createNutSession)({
    client: {
      host: ups.upsd.host,
      port: ups.upsd.port,
      timeoutMs: Math.max(1_000, Math.min(5_000, ups.pollInterval * 3)),
      ...(ups.tls === undefined ? {} : { tls: toTlsOptions(ups.tls) }),
    },
    onState: (state) => {
      if (state.kind === 'ready') {
        client = state.client;
        logger.info(`connected to upsd for UPS ${ups.id}`, log);
        if (ups.username !== undefined && ups.password !== undefined)
          void login(state.client, ups.username, ups.password);
      } else {
        client = undefined;
        if (state.kind === 'waiting') lastError = state.error;
      }
    },
  });

  async function login(nut: NutClient, username: string, password: string): Promise<void> {
    try {
      await nut.login(username, password, ups.name);
      logger.info(`logged in to upsd as ${username} (counted by the primary like an upsmon secondary)`, log);
    } catch (error) {
      if (error instanceof NutConnectionError) return;
      logger.error(
        `login to upsd as ${username} failed for UPS ${ups.id}: ${errorMessage(error)}; reading without login`,
        log,
      );
    }
  }

  function report(reading: Reading): void {
    const kind = reading.kind === 'ok' ? 'ok' : reading.reason;
    if (kind !== lastKind) {
      if (reading.kind === 'unknown') {
        logger.warn(
          `UPS ${ups.id}: state unknown — ${EXPLAIN[reading.reason]}${reading.detail ? ` (${reading.detail})` : ''}`,
          log,
        );
      } else if (lastKind !== undefined) {
        logger.info(`UPS ${ups.id}: readable again`, log);
      }
      lastKind = kind;
    }
    options.onReading(reading, clock.now());
  }

  async function poll(): Promise<void> {
    const nut = client;
    if (nut === undefined && lastError === undefined) return; // the first connection is still being made
    if (nut === undefined) {
      report({
        kind: 'unknown',
        reason: 'connection',
        detail: lastError === undefined ? 'connecting' : errorMessage(lastError),
      });
      return;
    }
    try {
      const vars = await nut.listVar(ups.name);
      const status = parseStatusWords(vars['ups.status'] ?? '');
      if (status.length === 1 && status[0] === 'WAIT') report({ kind: 'unknown', reason: 'wait' });
      else report({ kind: 'ok', status, vars });
    } catch (error) {
      if (stopped) return; // our own stop closed the connection: that is not a lost UPS
      report({ kind: 'unknown', reason: reasonOf(error), detail: errorMessage(error) });
    }
  }

  const loop = async (): Promise<void> => {
    if (stopped) return;
    const started = clock.now();
    await poll();
    if (stopped) return;
    timer = setTimeout(() => void loop(), Math.max(0, ups.pollInterval - (clock.now() - started)));
  };
  timer = setTimeout(() => void loop(), 0);

  return {
    async stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      await session.close();
    },
  };
}
