import { parseArgs } from 'node:util';
import { createConsoleLogger } from '../../shared/src/logger.js';
import { ConfigError, loadConfig } from './config.js';
import { StoredDataError } from './db/errors.js';
import { startCoordinator } from './main.js';

export const COORDINATOR_USAGE = `Usage: upsfleet coordinator [options]

Starts the coordinator. Embedded PGlite in --data-dir unless --database-url names PostgreSQL.

Options:
  --listen HOST:PORT      address to listen on (env UPSFLEET_LISTEN, default 127.0.0.1:8080)
  --data-dir DIR          embedded database directory (env UPSFLEET_DATA_DIR, default ./data)
  --database-url URL      PostgreSQL URL (env DATABASE_URL); overrides --data-dir
  --policy FILE           apply this policy file (YAML) at start (env UPSFLEET_POLICY)
  -h, --help              show this help
`;

/** `upsfleet coordinator`: runs until SIGINT/SIGTERM. Returns the process exit code. */
export async function coordinatorCommand(argv: readonly string[], env = process.env): Promise<number> {
  let values: {
    listen?: string;
    'data-dir'?: string;
    'database-url'?: string;
    policy?: string;
    help?: boolean;
  };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        listen: { type: 'string' },
        'data-dir': { type: 'string' },
        'database-url': { type: 'string' },
        policy: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n\n${COORDINATOR_USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(COORDINATOR_USAGE);
    return 0;
  }
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(
      {
        listen: values.listen,
        dataDir: values['data-dir'],
        databaseUrl: values['database-url'],
        policy: values.policy,
      },
      env,
    );
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`upsfleet coordinator: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  const logger = createConsoleLogger({ name: 'coordinator', level: config.logLevel });
  let running: Awaited<ReturnType<typeof startCoordinator>>;
  try {
    running = await startCoordinator(config, {
      logger,
      announceAdminToken: (token) => {
        process.stdout.write(
          `\nAdmin token (shown once, only its hash is stored — keep it now):\n\n  ${token}\n\n` +
            'Use it as UPSFLEET_TOKEN for the upsfleet admin commands, or as "Authorization: Bearer <token>".\n\n',
        );
      },
    });
  } catch (error) {
    // Data this version cannot read: stop, saying so, rather than act on it.
    if (error instanceof StoredDataError) {
      process.stderr.write(`upsfleet coordinator: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
  await new Promise<void>((resolve) => {
    // Kept for the whole stop, not `once`: a signal sent to the process group (Ctrl-C, systemd,
    // a test) also reaches npm and tsx, and tsx relays it, so the same signal arrives twice. With a
    // `once` handler the second one killed the process half-way through its graceful stop.
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) {
        logger.info('already stopping', { signal });
        return;
      }
      stopping = true;
      logger.info('stopping', { signal });
      resolve();
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
  });
  await running.close();
  return 0;
}
