/**
 * `upsfleet hosts nut-credentials NAME [--read-only] [--address HOST:PORT] [--remove]
 * [--username USER --password PASS --from ADDR] [--from ADDR]...`.
 */
import { NutCredentialsRemovedSchema, NutCredentialsSchema } from '../../shared/src/admin-api.js';
import type { CliContext } from './cli-context.js';
import { UsageError } from './usage-error.js';

export const NUT_CREDENTIALS_USAGE =
  'usage: upsfleet hosts nut-credentials NAME [--read-only] [--address HOST:PORT] [--remove] [--username USER --password PASS --from ADDR] [--from ADDR]...';

export async function nutCredentialsCommand(
  ctx: CliContext,
  name: string | undefined,
  flags: {
    readOnly: boolean;
    address: string | undefined;
    remove: boolean;
    username?: string | undefined;
    password?: string | undefined;
    from?: readonly string[] | undefined;
  },
): Promise<number> {
  if (name === undefined) throw new UsageError(NUT_CREDENTIALS_USAGE);
  const path = `/api/v1/hosts/${encodeURIComponent(name)}/nut-credentials`;
  if (flags.remove) {
    if (flags.username !== undefined || flags.password !== undefined || flags.from !== undefined)
      throw new UsageError(`--remove takes no --username, --password or --from\n${NUT_CREDENTIALS_USAGE}`);
    const removed = await ctx.client.delete(path, NutCredentialsRemovedSchema);
    ctx.out(removed, () => `NUT account "${name}" removed: its password is refused from now on.`);
    return 0;
  }
  const created = await ctx.client.post(path, NutCredentialsSchema, {
    ...(flags.readOnly ? { readOnly: true } : {}),
    ...(flags.username === undefined ? {} : { username: flags.username }),
    ...(flags.password === undefined ? {} : { password: flags.password }),
    ...(flags.from === undefined ? {} : { from: flags.from }),
  });
  const address = flags.address ?? created.address;
  const bridgeAddress = address ?? 'BRIDGE-ADDRESS:3493';
  const monitor =
    created.ups === null || created.password === null
      ? null
      : `MONITOR ${created.ups}@${bridgeAddress} 1 ${created.username} ${created.password} secondary`;
  const owner =
    created.host === null ? ' (read-only)' : ` for host ${created.host}, served by bridge ${created.bridge}`;
  const from = created.from === null ? '' : `, logging in from ${created.from.join(', ')} only`;
  ctx.out({ ...created, monitor: monitor ?? created.monitor }, () =>
    [
      `NUT account "${created.username}"${owner}${from}.`,
      created.password === null
        ? 'The password is the one you gave (only its hash is stored).'
        : `The password is shown this once: ${created.password}`,
      '',
      ...(created.password === null
        ? [
            `Its client connects to ${bridgeAddress}${created.ups === null ? '' : ` and monitors UPS "${created.ups}"`} as ${created.username}.`,
          ]
        : monitor === null
          ? [`Read it with: upsc UPS@${bridgeAddress} (user ${created.username})`]
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
