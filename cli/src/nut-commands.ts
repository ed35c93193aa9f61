/** `upsfleet hosts nut-credentials NAME [--read-only] [--address HOST:PORT] [--remove]`. */
import { NutCredentialsRemovedSchema, NutCredentialsSchema } from '../../shared/src/admin-api.js';
import type { CliContext } from './cli-context.js';
import { UsageError } from './usage-error.js';

export const NUT_CREDENTIALS_USAGE =
  'usage: upsfleet hosts nut-credentials NAME [--read-only] [--address HOST:PORT] [--remove]';

export async function nutCredentialsCommand(
  ctx: CliContext,
  name: string | undefined,
  flags: { readOnly: boolean; address: string | undefined; remove: boolean },
): Promise<number> {
  if (name === undefined) throw new UsageError(NUT_CREDENTIALS_USAGE);
  const path = `/api/v1/hosts/${encodeURIComponent(name)}/nut-credentials`;
  if (flags.remove) {
    const removed = await ctx.client.delete(path, NutCredentialsRemovedSchema);
    ctx.out(removed, () => `NUT account "${name}" removed: its password is refused from now on.`);
    return 0;
  }
  const created = await ctx.client.post(path, NutCredentialsSchema, flags.readOnly ? { readOnly: true } : {});
  const address = flags.address ?? created.address;
  const monitor =
    created.ups === null
      ? null
      : `MONITOR ${created.ups}@${address ?? 'BRIDGE-ADDRESS:3493'} 1 ${created.username} ${created.password} secondary`;
  ctx.out({ ...created, monitor: monitor ?? created.monitor }, () =>
    [
      `NUT account "${created.username}"${created.host === null ? ' (read-only)' : ` for host ${created.host}, served by bridge ${created.bridge}`}.`,
      `The password is shown this once: ${created.password}`,
      '',
      ...(monitor === null
        ? [`Read it with: upsc UPS@${address ?? 'BRIDGE-ADDRESS:3493'} (user ${created.username})`]
        : [
            "Paste into the host's upsmon.conf:",
            '',
            `  ${monitor}`,
            ...(address === null || address === undefined
              ? [
                  '',
                  `(bridge ${created.bridge} is not connected or listens on every address: put its address in)`,
                ]
              : []),
          ]),
    ].join('\n'),
  );
  return 0;
}
