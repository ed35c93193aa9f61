/**
 * Entry point of the standalone agent bundle (dist/upsfleet-agent.mjs): the agent's own
 * subcommands only, so the bundle carries no coordinator or database code.
 */
import { agentCommand, enrollCommand, rotateKeyCommand } from './cli.js';

const USAGE = `Usage: upsfleet-agent <command>

  agent --config FILE                                              run the agent
  enroll --coordinator URL --token TOKEN --name NAME [--state-dir DIR]   one-time enrollment
  rotate-key --config FILE                                         a new key for this agent (then restart it)
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'agent') return agentCommand(rest);
  if (command === 'enroll') return enrollCommand(rest);
  if (command === 'rotate-key') return rotateKeyCommand(rest);
  process.stdout.write(USAGE);
  return command === '--help' || command === '-h' || command === 'help' ? 0 : 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`upsfleet-agent: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
