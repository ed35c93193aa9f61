/**
 * `upsfleet`: the one command-line program. Subcommands dispatch to the part that owns them, each
 * loaded only when asked for: an admin command never loads the coordinator's server or database code.
 */
import { ADMIN_COMMANDS, ADMIN_USAGE } from '../cli/src/admin-usage.js';
import { describeError, exitCodeOf } from '../cli/src/exit-codes.js';

const USAGE = `upsfleet — staged fleet shutdown when a shared UPS runs on battery

Usage: upsfleet <command> [options]

  demo [--keep]                  a power cut on loopback: coordinator, simulated UPS, three hosts
  coordinator [--listen HOST:PORT] [--data-dir DIR | --database-url URL] [--policy FILE]
  agent --config FILE
  enroll --coordinator URL --token TOKEN --name NAME [--state-dir DIR]
  rotate-key --config FILE       give this agent a new key (then restart it)
  import-nut --upsmon FILE [--upssched FILE] [--notify-script FILE] [--out DIR]
                                 carry a NUT secondary over: agent.yaml, policy.yaml, channels.yaml

${ADMIN_USAGE}
Run "upsfleet <command> --help" for the options of a command.
`;

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'coordinator':
      return (await import('../coordinator/src/cli.js')).coordinatorCommand(rest);
    case 'agent':
      return (await import('../agent/src/cli.js')).agentCommand([...rest]);
    case 'enroll':
      return (await import('../agent/src/cli.js')).enrollCommand([...rest]);
    case 'rotate-key':
      return (await import('../agent/src/cli.js')).rotateKeyCommand([...rest]);
    case 'demo':
      return (await import('../demo/src/demo-command.js')).demoCommand(rest);
    case 'import-nut':
      return (await import('../cli/src/import-nut/command.js')).importNutCommand(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      if (ADMIN_COMMANDS.has(command))
        return (await import('../cli/src/admin-commands.js')).adminCommand(command, rest);
      process.stderr.write(`upsfleet: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`upsfleet: ${describeError(error)}\n`);
    process.exitCode = exitCodeOf(error);
  },
);
