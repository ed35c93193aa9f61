/** The imported documents as YAML files, each headed by what its settings came from. */
import { stringify } from 'yaml';
import type { Imported } from './convert.js';

const comment = (lines: readonly string[]) => lines.map((l) => `# ${l}`.trimEnd()).join('\n');

export interface ImportedFiles {
  readonly 'agent.yaml': string;
  readonly 'policy.yaml': string;
  readonly 'channels.yaml': string;
}

export function renderImported(imported: Imported, sources: readonly string[]): ImportedFiles {
  const from = `Written by \`upsfleet import-nut\` from ${sources.join(', ')}.`;
  const unmapped =
    imported.unmapped.length === 0
      ? ['Everything in the NUT files was mapped.']
      : ['Not mapped (carry these over by hand, or drop them):', ...imported.unmapped.map((u) => `  ${u}`)];
  const agent = [
    comment([
      from,
      "This host's agent: install it as /etc/upsfleet/agent.yaml (mode 0600: it holds the upsd password),",
      'set `coordinator`, enroll (upsfleet enroll … --name ' +
        String((imported.agent.host as { name?: unknown }).name) +
        '), start the unit.',
      'host.upsd: the host reads its UPS itself, so that it can follow its offline rule without the coordinator.',
    ]),
    stringify(imported.agent),
  ].join('\n');
  const policy = [
    comment([
      from,
      'The fleet policy: check it with `upsfleet policy validate policy.yaml`, try it with',
      '`upsfleet policy plan --policy policy.yaml`, then `upsfleet policy apply policy.yaml`.',
      'ups[].watcher: the agent that reads this upsd for the fleet (an agent with a `ups:` list, see',
      'infra/examples/watcher.yaml), enrolled under that name. Rename the UPS freely (here and in agent.yaml).',
      '',
      'What each NUT setting became:',
      ...imported.notes.map((n) => `  ${n}`),
      '',
      ...unmapped,
    ]),
    stringify(imported.policy),
  ].join('\n');
  const channels = [
    comment([
      from,
      'Notification channels: `upsfleet notify apply channels.yaml`, then `upsfleet notify test NAME`.',
      'events: the NOTIFYFLAG lines with EXEC; an empty list would mean every kind.',
    ]),
    imported.channels.length === 0 ? '[]\n' : stringify(imported.channels),
  ].join('\n');
  return { 'agent.yaml': agent, 'policy.yaml': policy, 'channels.yaml': channels };
}
