import { parseArgs } from 'node:util';
import { errorMessage } from '../../shared/src/errors.js';
import { createConsoleLogger, isLogLevel } from '../../shared/src/logger.js';
import { NameSchema } from '../../shared/src/protocol.js';
import { loadAgentConfig } from './config.js';
import { enroll } from './enroll.js';
import { rotateAgentKey } from './rotate-key.js';
import { runAgent } from './run-agent.js';

export const DEFAULT_STATE_DIR = '/var/lib/upsfleet-agent';

/** Exit code of an agent the coordinator turned away for good (revoked, other protocol version). */
export const EXIT_GAVE_UP = 3;

const ENROLL_USAGE = `usage: upsfleet enroll --coordinator URL --token TOKEN --name NAME [--state-dir DIR]

  --coordinator URL  the coordinator's base URL (or UPSFLEET_COORDINATOR)
  --token TOKEN      the one-time enrollment token (or UPSFLEET_ENROLL_TOKEN, which keeps it out of ps)
  --name NAME        this host's name, as policies will refer to it
  --state-dir DIR    where the key and identity are kept (default ${DEFAULT_STATE_DIR})
`;

const AGENT_USAGE = `usage: upsfleet agent --config FILE [--log-level debug|info|warn|error]

  --config FILE      the agent config (YAML): coordinator, stateDir, host: { shutdown: [argv…] }
  --log-level LEVEL  default info
`;

export interface CliDeps {
  readonly env?: NodeJS.ProcessEnv;
  readonly stdout?: (text: string) => void;
  readonly stderr?: (text: string) => void;
  readonly fetch?: typeof globalThis.fetch;
  /** Resolves when the agent should stop; defaults to the first SIGINT or SIGTERM. */
  readonly untilStopped?: (cancel: AbortSignal) => Promise<string>;
}

type FlagOptions = NonNullable<NonNullable<Parameters<typeof parseArgs>[0]>['options']>;

/** The flags as strings; `help` when --help (or -h) was given: the usage, on stdout, exit 0. */
function parseFlags(
  argv: string[],
  options: FlagOptions,
): { ok: true; help: boolean; values: Record<string, string | undefined> } | { ok: false; message: string } {
  try {
    const { values } = parseArgs({
      args: argv,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    });
    const strings: Record<string, string | undefined> = {};
    for (const [key, value] of Object.entries(values)) if (typeof value === 'string') strings[key] = value;
    return { ok: true, help: values.help === true, values: strings };
  } catch (error) {
    return { ok: false, message: errorMessage(error) };
  }
}

export async function enrollCommand(argv: string[], deps: CliDeps = {}): Promise<number> {
  const env = deps.env ?? process.env;
  const out = deps.stdout ?? ((text: string) => process.stdout.write(text));
  const err = deps.stderr ?? ((text: string) => process.stderr.write(text));
  const parsed = parseFlags(argv, {
    coordinator: { type: 'string' },
    token: { type: 'string' },
    name: { type: 'string' },
    'state-dir': { type: 'string' },
  });
  if (!parsed.ok) {
    err(`upsfleet enroll: ${parsed.message}\n${ENROLL_USAGE}`);
    return 2;
  }
  if (parsed.help) {
    out(ENROLL_USAGE);
    return 0;
  }
  const coordinatorUrl = parsed.values.coordinator ?? env.UPSFLEET_COORDINATOR;
  const token = parsed.values.token ?? env.UPSFLEET_ENROLL_TOKEN;
  const name = parsed.values.name;
  const missing = [
    coordinatorUrl === undefined ? '--coordinator' : undefined,
    token === undefined ? '--token' : undefined,
    name === undefined ? '--name' : undefined,
  ].filter((flag) => flag !== undefined);
  if (coordinatorUrl === undefined || token === undefined || name === undefined) {
    err(`upsfleet enroll: missing ${missing.join(', ')}\n${ENROLL_USAGE}`);
    return 2;
  }
  if (!NameSchema.safeParse(name).success) {
    err(`upsfleet enroll: invalid --name "${name}": use letters, digits, ".", "_" and "-"\n`);
    return 2;
  }
  const stateDir = parsed.values['state-dir'] ?? DEFAULT_STATE_DIR;
  try {
    const identity = await enroll({
      coordinatorUrl,
      token,
      name,
      stateDir,
      ...(deps.fetch === undefined ? {} : { fetch: deps.fetch }),
    });
    out(
      `enrolled as ${identity.name} (agent ${identity.agentId}); key and pinned coordinator key in ${stateDir}\n` +
        `next: put "coordinator: ${identity.coordinatorUrl}" and "stateDir: ${stateDir}" in the agent config ` +
        'and run the agent with it (upsfleet agent --config FILE, or node upsfleet-agent.mjs agent --config FILE)\n',
    );
    return 0;
  } catch (error) {
    err(`upsfleet enroll: ${errorMessage(error)}\n`);
    return 1;
  }
}

/** The first SIGINT or SIGTERM; the listeners go away when it arrives or when `cancel` aborts. */
function firstSignal(cancel: AbortSignal): Promise<string> {
  return new Promise((resolve) => {
    const done = (): void => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
    };
    const on = (signal: NodeJS.Signals): void => {
      done();
      resolve(signal);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
    cancel.addEventListener('abort', done, { once: true });
  });
}

export async function agentCommand(argv: string[], deps: CliDeps = {}): Promise<number> {
  const out = deps.stdout ?? ((text: string) => process.stdout.write(text));
  const err = deps.stderr ?? ((text: string) => process.stderr.write(text));
  const parsed = parseFlags(argv, { config: { type: 'string' }, 'log-level': { type: 'string' } });
  if (!parsed.ok) {
    err(`upsfleet agent: ${parsed.message}\n${AGENT_USAGE}`);
    return 2;
  }
  if (parsed.help) {
    out(AGENT_USAGE);
    return 0;
  }
  const configPath = parsed.values.config;
  const level = parsed.values['log-level'] ?? 'info';
  if (configPath === undefined || !isLogLevel(level)) {
    err(
      `upsfleet agent: ${configPath === undefined ? 'missing --config' : `bad --log-level ${level}`}\n${AGENT_USAGE}`,
    );
    return 2;
  }
  const logger = createConsoleLogger({ name: 'agent', level, write: err });
  try {
    const config = await loadAgentConfig(configPath);
    const agent = await runAgent({ config, logger });
    const cancel = new AbortController();
    const outcome = await Promise.race([
      (deps.untilStopped ?? firstSignal)(cancel.signal).then((signal) => ({ signal })),
      agent.finished.then((reason) => ({ reason })),
    ]);
    cancel.abort();
    if ('reason' in outcome) {
      await agent.stop();
      err(`upsfleet agent: ${outcome.reason}\n`);
      // Revoked, or another protocol version: only an admin can fix it, so the service manager
      // should not restart it in a loop (RestartPreventExitStatus in the systemd unit).
      return EXIT_GAVE_UP;
    }
    logger.info(`${outcome.signal}: stopping`);
    await agent.stop();
    return 0;
  } catch (error) {
    err(`upsfleet agent: ${errorMessage(error)}\n`);
    return 1;
  }
}

const ROTATE_USAGE = `usage: upsfleet rotate-key --config FILE

  Makes a new key for this agent, registers it with the coordinator (authenticated by the current
  key) and puts it in place. Restart the agent afterwards so that it connects with the new key.
`;

export async function rotateKeyCommand(argv: string[], deps: CliDeps = {}): Promise<number> {
  const out = deps.stdout ?? ((text: string) => process.stdout.write(text));
  const err = deps.stderr ?? ((text: string) => process.stderr.write(text));
  const parsed = parseFlags(argv, { config: { type: 'string' } });
  if (parsed.ok && parsed.help) {
    out(ROTATE_USAGE);
    return 0;
  }
  if (!parsed.ok || parsed.values.config === undefined) {
    err(`upsfleet rotate-key: ${parsed.ok ? 'missing --config' : parsed.message}\n${ROTATE_USAGE}`);
    return 2;
  }
  try {
    const config = await loadAgentConfig(parsed.values.config);
    const { agentId, kid } = await rotateAgentKey({
      coordinatorUrl: config.coordinator,
      stateDir: config.stateDir,
      ...(deps.fetch === undefined ? {} : { fetch: deps.fetch }),
    });
    out(`new key ${kid} registered for agent ${agentId}; restart the agent to use it\n`);
    return 0;
  } catch (error) {
    err(`upsfleet rotate-key: ${errorMessage(error)}\n`);
    return 1;
  }
}
