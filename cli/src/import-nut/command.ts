/**
 * `upsfleet import-nut --upsmon FILE [--upssched FILE] [--notify-script FILE] [--out DIR]`: reads an
 * existing NUT secondary's files and writes agent.yaml, policy.yaml and channels.yaml.
 */
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { UsageError } from '../usage-error.js';
import { importNut } from './convert.js';
import { renderImported } from './render.js';

export const IMPORT_NUT_USAGE = `usage: upsfleet import-nut --upsmon FILE [--upssched FILE] [--notify-script FILE] [--out DIR]
                          [--name HOST] [--coordinator URL] [--force]

  --upsmon FILE          upsmon.conf of the secondary (MONITOR, SHUTDOWNCMD, NOTIFYFLAG, …)
  --upssched FILE        upssched.conf, when NOTIFYCMD is upssched (its timers become stage delays)
  --notify-script FILE   the script NOTIFYCMD or upssched's CMDSCRIPT runs (webhooks, timer branches)
  --out DIR              where to write agent.yaml, policy.yaml, channels.yaml (default: .)
  --name HOST            this host's name in the fleet (default: the machine's hostname)
  --coordinator URL      the coordinator's URL for agent.yaml (default: https://upsfleet.example)
  --force                overwrite existing files
`;

const FILES = ['agent.yaml', 'policy.yaml', 'channels.yaml'] as const;

export async function importNutCommand(
  argv: readonly string[],
  write: (text: string) => void = (text) => process.stdout.write(text),
): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      upsmon: { type: 'string' },
      upssched: { type: 'string' },
      'notify-script': { type: 'string' },
      out: { type: 'string' },
      name: { type: 'string' },
      coordinator: { type: 'string' },
      force: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    write(IMPORT_NUT_USAGE);
    return 0;
  }
  if (values.upsmon === undefined) throw new UsageError(`${IMPORT_NUT_USAGE}\n--upsmon is required`);
  const read = async (path: string | undefined) =>
    path === undefined ? undefined : { path, text: await readFile(path, 'utf8') };
  const upsmon = await read(values.upsmon);
  if (upsmon === undefined) throw new UsageError('--upsmon is required');
  const imported = importNut(
    { upsmon, upssched: await read(values.upssched), script: await read(values['notify-script']) },
    {
      hostName: (values.name ?? hostname().split('.')[0]) || 'host',
      coordinator: values.coordinator ?? 'https://upsfleet.example',
    },
  );
  const sources = [values.upsmon, values.upssched, values['notify-script']].filter((s) => s !== undefined);
  const files = renderImported(imported, sources);
  const out = values.out ?? '.';
  await mkdir(out, { recursive: true });
  if (!values.force) {
    const existing: string[] = [];
    for (const file of FILES)
      if (
        await access(join(out, file)).then(
          () => true,
          () => false,
        )
      )
        existing.push(join(out, file));
    if (existing.length > 0) throw new UsageError(`${existing.join(', ')} exist: pass --force to overwrite`);
  }
  for (const file of FILES)
    await writeFile(join(out, file), files[file], { mode: file === 'agent.yaml' ? 0o600 : 0o644 });
  write(
    [
      `Wrote ${FILES.map((f) => join(out, f)).join(', ')}.`,
      '',
      'What each NUT setting became:',
      ...imported.notes.map((n) => `  ${n}`),
      '',
      imported.unmapped.length === 0 ? 'Everything was mapped.' : 'Not mapped:',
      ...imported.unmapped.map((u) => `  ${u}`),
      '',
    ].join('\n'),
  );
  return 0;
}
