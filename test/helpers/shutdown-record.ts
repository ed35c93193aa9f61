/**
 * The harmless commands test hosts run instead of a real shutdown: each appends one line to a
 * shared record file, so a test can count executions across agent restarts. `killAgent` makes the
 * command SIGKILL its parent (the agent) afterwards, the way a real poweroff takes the agent down.
 */
import { readFile } from 'node:fs/promises';

export interface RecordedRun {
  readonly host: string;
  readonly at: number;
}

/** argv of a "shutdown" that records `<host> <ms>` in `record` (and kills its agent, if asked). */
export function recordingShutdown(record: string, host: string, options: { killAgent: boolean }): string[] {
  const kill = options.killAgent ? "; process.kill(process.ppid, 'SIGKILL')" : '';
  const script = `require('node:fs').appendFileSync(process.argv[1], process.argv[2] + ' ' + Date.now() + '\\n')${kill}`;
  return [process.execPath, '-e', script, record, host];
}

/**
 * argv of a before hook that appends `hook <ms>` to `log` every time it runs, and SIGKILLs its agent
 * the first time only (it leaves `marker` behind): an agent that dies while carrying out an order.
 */
export function killAgentOnceHook(log: string, marker: string): string[] {
  const script = [
    "const fs = require('node:fs');",
    "fs.appendFileSync(process.argv[1], 'hook ' + Date.now() + '\\n');",
    "if (!fs.existsSync(process.argv[2])) { fs.writeFileSync(process.argv[2], ''); process.kill(process.ppid, 'SIGKILL'); }",
  ].join(' ');
  return [process.execPath, '-e', script, log, marker];
}

/** Every line of a record file, oldest first; an absent file is an empty record. */
export async function readRecord(record: string): Promise<RecordedRun[]> {
  const text = await readFile(record, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [host = '', at = ''] = line.split(' ');
      return { host, at: Number(at) };
    });
}

/** The hosts in a record, in order (a host listed twice ran twice). */
export async function recordedHosts(record: string): Promise<string[]> {
  return (await readRecord(record)).map((entry) => entry.host);
}
